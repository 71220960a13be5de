// Message catalogues and locale-aware formatting. Every UI string is a key in locales/<locale>.json
// (English is the reference and the fallback), so a translation is one file away. Placeholders are
// written {name}; a key with plural forms has variants "<key>.one", "<key>.other" … chosen by
// Intl.PluralRules for params.count. Dates, times and numbers are formatted with Intl for the
// user's locale and time zone.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export type Params = Record<string, string | number>
export type Translate = (key: string, params?: Params) => string

export interface Formatter {
  dateTime: (ms: number) => string
  date: (ms: number) => string
  time: (ms: number) => string
  number: (n: number) => string
  relative: (ms: number) => string
}

export const baseLocale = 'en'
const rtlLanguages = new Set(['ar', 'he', 'fa', 'ur', 'ps', 'sd', 'yi'])

export class I18n {
  private readonly catalogues: Map<string, Record<string, string>>
  private readonly translators = new Map<string, Translate>()

  /** Reads every locales/<tag>.json; throws if the base catalogue is missing or a file is not flat JSON. */
  constructor (localesDir: string, readonly defaultLocale = baseLocale) {
    this.catalogues = new Map()
    for (const file of readdirSync(localesDir).filter(f => f.endsWith('.json')).sort()) {
      const data = JSON.parse(readFileSync(join(localesDir, file), 'utf8')) as unknown
      if (typeof data !== 'object' || data === null || Object.values(data).some(v => typeof v !== 'string')) {
        throw new Error(`${file}: a catalogue must be a flat JSON object of strings`)
      }
      this.catalogues.set(file.slice(0, -5), data as Record<string, string>)
    }
    if (!this.catalogues.has(baseLocale)) throw new Error(`locales/${baseLocale}.json is missing`)
    if (!this.catalogues.has(defaultLocale)) this.defaultLocale = baseLocale
  }

  /** The locales with a catalogue. */
  get locales (): string[] {
    return [...this.catalogues.keys()]
  }

  /** The keys of a catalogue (for completeness checks). */
  keys (locale: string): string[] {
    return Object.keys(this.catalogues.get(locale) ?? {})
  }

  /** Picks the best available locale for an Accept-Language header (or a stored preference). */
  negotiate (acceptLanguage: string | undefined): string {
    const wanted = (acceptLanguage ?? '')
      .split(',')
      .map(part => {
        const [tag = '', ...rest] = part.trim().split(';')
        const q = rest.find(r => r.trim().startsWith('q='))
        return { tag: tag.trim(), q: q === undefined ? 1 : Number(q.trim().slice(2)) || 0 }
      })
      .filter(w => w.tag !== '' && w.tag !== '*' && w.q > 0)
      .sort((a, b) => b.q - a.q)
    const available = this.locales
    for (const { tag } of wanted) {
      const exact = available.find(l => l.toLowerCase() === tag.toLowerCase())
      if (exact !== undefined) return exact
      const language = tag.split('-')[0]!.toLowerCase()
      const sameLanguage = available.find(l => l.toLowerCase() === language) ?? available.find(l => l.split('-')[0]!.toLowerCase() === language)
      if (sameLanguage !== undefined) return sameLanguage
    }
    return this.defaultLocale
  }

  /** A translate function for `locale`, falling back to its language, then English, then the key. */
  translator (locale: string): Translate {
    let t = this.translators.get(locale)
    if (t !== undefined) return t
    const chain = [this.catalogues.get(locale), this.catalogues.get(locale.split('-')[0]!), this.catalogues.get(baseLocale)]
      .filter((c): c is Record<string, string> => c !== undefined)
    const plural = new Intl.PluralRules(locale)
    let numbers: Intl.NumberFormat | undefined
    t = (key, params) => {
      let k = key
      if (typeof params?.count === 'number') {
        const variant = `${key}.${plural.select(params.count)}`
        if (chain.some(c => c[variant] !== undefined)) k = variant
        else if (chain.some(c => c[`${key}.other`] !== undefined)) k = `${key}.other`
      }
      let text: string | undefined
      for (const c of chain) {
        text = c[k]
        if (text !== undefined) break
      }
      if (text === undefined) return key
      if (params === undefined) return text
      return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
        const v = params[name]
        if (v === undefined) return whole
        return typeof v === 'number' ? (numbers ??= new Intl.NumberFormat(locale)).format(v) : v
      })
    }
    this.translators.set(locale, t)
    return t
  }
}

/** Text direction for a locale. */
export function direction (locale: string): 'ltr' | 'rtl' {
  return rtlLanguages.has(locale.split('-')[0]!.toLowerCase()) ? 'rtl' : 'ltr'
}

const formatters = new Map<string, Formatter>()

/** Formats dates, times and numbers for a locale and an IANA time zone; `now` anchors relative times. */
export function formatter (locale: string, timeZone: string, now: () => number = Date.now): Formatter {
  const cacheKey = `${locale}|${timeZone}`
  const cached = formatters.get(cacheKey)
  if (cached !== undefined && now === Date.now) return cached
  // Intl objects are created on first use: a zoned formatter costs tens of milliseconds to build.
  const lazy = <T>(make: () => T): (() => T) => { let v: T | undefined; return () => (v ??= make()) }
  const dateTime = lazy(() => new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'medium', timeStyle: 'short' }))
  const date = lazy(() => new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'medium' }))
  const time = lazy(() => new Intl.DateTimeFormat(locale, { timeZone, timeStyle: 'short' }))
  const number = lazy(() => new Intl.NumberFormat(locale))
  const relative = lazy(() => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }))
  const f: Formatter = {
    dateTime: ms => dateTime().format(ms),
    date: ms => date().format(ms),
    time: ms => time().format(ms),
    number: n => number().format(n),
    relative: ms => {
      const seconds = Math.round((ms - now()) / 1000)
      const abs = Math.abs(seconds)
      if (abs < 45) return relative().format(0, 'second')
      if (abs < 45 * 60) return relative().format(Math.round(seconds / 60), 'minute')
      if (abs < 22 * 3600) return relative().format(Math.round(seconds / 3600), 'hour')
      if (abs < 26 * 86400) return relative().format(Math.round(seconds / 86400), 'day')
      if (abs < 320 * 86400) return relative().format(Math.round(seconds / (30 * 86400)), 'month')
      return relative().format(Math.round(seconds / (365 * 86400)), 'year')
    }
  }
  if (now === Date.now) formatters.set(cacheKey, f)
  return f
}

// Loads, validates and freezes the configuration. Pure apart from the injected file reader, so every
// case is testable. Precedence: built-in defaults < config file < WELTRA_SECTION__KEY environment
// < CLI flags. Every problem is collected with its key path; the caller exits 2 before binding a port.
import { isIP } from 'node:net'
import { parse as parseToml, TomlError } from 'smol-toml'
import { ConfigSchema, listKeys, type Config, type KeySchema, type SectionName } from './config.schema.js'

export interface ConfigInput {
  /** `--config FILE` from the command line, if given. */
  configPath?: string | undefined
  /** `--set section.key=value` and the named shortcut flags, as raw strings. */
  flags?: Record<string, string> | undefined
  /** The process environment (only WELTRA_* is read). */
  env: Record<string, string | undefined>
  /** Reads a whole text file; throws (ENOENT …) like fs.readFileSync. */
  readFile: (path: string) => string
  /** Whether a file exists (used to find ./config.toml). */
  exists: (path: string) => boolean
}

export type Source = 'default' | 'file' | 'env' | 'flag'

export type LoadResult =
  | { ok: true, config: Config, file: string | undefined, sources: Record<string, Source> }
  | { ok: false, errors: string[] }

const envPrefix = 'WELTRA_'
const keysByPath = new Map(listKeys().map(k => [`${k.section}.${k.key}`, k]))
const sections = new Set(Object.keys(ConfigSchema.properties))

interface RawValue { value: unknown, source: Source, label: string }

/** Loads the configuration from defaults, file, environment and flags; never throws. */
export function loadConfig (input: ConfigInput): LoadResult {
  const errors: string[] = []
  const raw = new Map<string, RawValue>()

  const explicit = input.configPath ?? input.env.WELTRA_CONFIG
  const file = explicit ?? (input.exists('config.toml') ? 'config.toml' : undefined)
  if (file !== undefined) {
    let text: string | undefined
    try {
      text = input.readFile(file)
    } catch (err) {
      errors.push(`${file}: cannot read the config file (${describeFsError(err)})`)
    }
    if (text !== undefined) {
      try {
        collectFile(parseToml(text), file, raw, errors, input)
      } catch (err) {
        if (err instanceof TomlError) errors.push(`${file}:${err.line}:${err.column}: ${err.message.split('\n')[0]}`)
        else errors.push(`${file}: ${(err as Error).message}`)
      }
    }
  }

  collectEnv(input, raw, errors)
  for (const [path, value] of Object.entries(input.flags ?? {})) {
    setRaw(raw, path, value, 'flag', `--set ${path}`, errors, input)
  }

  const config: Record<string, Record<string, unknown>> = {}
  const sources: Record<string, Source> = {}
  const failed = new Set<string>()
  for (const { section, key, schema } of listKeys()) {
    const path = `${section}.${key}`
    const given = raw.get(path)
    config[section] ??= {}
    sources[path] = given?.source ?? 'default'
    if (given === undefined) {
      config[section][key] = structuredClone(schema.default)
      continue
    }
    const converted = convert(schema, given.value, given.source !== 'file')
    if ('error' in converted) {
      errors.push(`${given.label}: ${converted.error}`)
      failed.add(path)
      // Validate the rest against the default so every problem is reported in one go.
      config[section][key] = structuredClone(schema.default)
    } else config[section][key] = converted.value
  }
  errors.push(...validate(config as unknown as Config).filter(e => ![...failed].some(p => e.startsWith(`${p}:`))))
  if (errors.length > 0) return { ok: false, errors }
  return { ok: true, config: deepFreeze(config) as unknown as Config, file, sources }
}

function collectFile (doc: Record<string, unknown>, file: string, raw: Map<string, RawValue>, errors: string[], input: ConfigInput): void {
  for (const [section, table] of Object.entries(doc)) {
    if (!sections.has(section)) {
      errors.push(`${file}: [${section}]: unknown section (known: ${[...sections].join(', ')})`)
      continue
    }
    if (typeof table !== 'object' || table === null || Array.isArray(table)) {
      errors.push(`${file}: ${section}: must be a table ([${section}])`)
      continue
    }
    for (const [key, value] of Object.entries(table)) {
      setRaw(raw, `${section}.${key}`, value, 'file', `${file}: ${section}.${key}`, errors, input)
    }
  }
}

function collectEnv (input: ConfigInput, raw: Map<string, RawValue>, errors: string[]): void {
  for (const [name, value] of Object.entries(input.env)) {
    if (!name.startsWith(envPrefix) || value === undefined || name === 'WELTRA_CONFIG') continue
    const parts = name.slice(envPrefix.length).toLowerCase().split('__')
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      errors.push(`${name}: not a configuration variable (expected WELTRA_<SECTION>__<KEY>, e.g. WELTRA_SERVER__LISTEN)`)
      continue
    }
    setRaw(raw, `${parts[0]}.${parts[1]}`, value, 'env', name, errors, input)
  }
}

/** Records one given value, resolving `<key>_file` for secrets. A later layer replaces an earlier one. */
function setRaw (raw: Map<string, RawValue>, path: string, value: unknown, source: Source, label: string, errors: string[], input: ConfigInput): void {
  let target = path
  let resolved = value
  if (!keysByPath.has(path) && path.endsWith('_file') && keysByPath.get(path.slice(0, -5))?.schema.secret === true) {
    target = path.slice(0, -5)
    if (typeof value !== 'string' || value === '') {
      errors.push(`${label}: must be the path of a file holding the secret`)
      return
    }
    try {
      const text = input.readFile(value)
      const schema = keysByPath.get(target)!.schema
      resolved = schema.type === 'array'
        ? text.split(/\r?\n/).map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
        : text.replace(/\r?\n$/, '')
    } catch (err) {
      errors.push(`${label}: cannot read ${value} (${describeFsError(err)})`)
      return
    }
  } else if (!keysByPath.has(path)) {
    const [section] = path.split('.')
    errors.push(sections.has(section ?? '')
      ? `${label}: unknown key ${path}${suggest(path)}`
      : `${label}: unknown section ${section ?? ''}`)
    return
  }
  const previous = raw.get(target)
  if (previous !== undefined && previous.source === source && previous.label !== label) {
    errors.push(`${label}: ${target} is given twice (${previous.label} and ${label}); give the value or the file, once`)
    return
  }
  raw.set(target, { value: resolved, source, label })
}

function suggest (path: string): string {
  const [section, key] = path.split('.')
  const candidates = listKeys().filter(k => k.section === section).map(k => k.key)
  const close = candidates.find(c => editDistance(c, key ?? '') <= 2)
  return close === undefined ? ` (known: ${candidates.join(', ')})` : ` (did you mean ${section}.${close}?)`
}

function editDistance (a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
  }
  return d[a.length]![b.length]!
}

type Converted = { value: unknown } | { error: string }

/** Converts a raw value to the key's type. Strings from env/flags are parsed; TOML values must already match. */
function convert (schema: KeySchema, value: unknown, fromString: boolean): Converted {
  const type = schema.type as string | undefined
  if (schema.anyOf !== undefined) {
    const allowed = (schema.anyOf as Array<{ const: string }>).map(s => s.const)
    return typeof value === 'string' && allowed.includes(value)
      ? { value }
      : { error: `must be one of ${allowed.join(', ')} (got ${show(value)})` }
  }
  if (type === 'string') {
    return typeof value === 'string' ? { value } : { error: `must be a string (got ${show(value)})` }
  }
  if (type === 'boolean') {
    if (typeof value === 'boolean') return { value }
    if (fromString && typeof value === 'string' && /^(true|false|1|0)$/i.test(value)) return { value: /^(true|1)$/i.test(value) }
    return { error: `must be true or false (got ${show(value)})` }
  }
  if (type === 'integer') {
    let n: unknown = value
    if (fromString && typeof value === 'string' && /^-?\d+$/.test(value.trim())) n = Number(value.trim())
    if (typeof n === 'bigint') n = Number(n)
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) return { error: `must be a whole number (got ${show(value)})` }
    const min = schema.minimum as number | undefined
    const max = schema.maximum as number | undefined
    if (min !== undefined && n < min) return { error: `must be at least ${min} (got ${n})` }
    if (max !== undefined && n > max) return { error: `must be at most ${max} (got ${n})` }
    return { value: n }
  }
  if (type === 'array') {
    let list: unknown = value
    if (fromString && typeof value === 'string') list = value.split(',').map(s => s.trim()).filter(s => s !== '')
    if (!Array.isArray(list) || list.some(v => typeof v !== 'string')) return { error: `must be a list of strings (got ${show(value)})` }
    return { value: list }
  }
  return { error: 'has an unsupported type' }
}

function show (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (Array.isArray(value)) return 'a list'
  if (value !== null && typeof value === 'object') return 'a table'
  return String(value)
}

/** Checks the meaning of values whose type is already right. */
function validate (c: Config): string[] {
  const errors: string[] = []
  if (parseListen(c.server.listen) === undefined) {
    errors.push(`server.listen: must be "host:port" with a port from 1 to 65535, e.g. "127.0.0.1:8080" (got ${show(c.server.listen)})`)
  }
  if (c.server.public_url !== '') {
    let url: URL | undefined
    try { url = new URL(c.server.public_url) } catch { url = undefined }
    if (url === undefined || !/^https?:$/.test(url.protocol) || url.search !== '' || url.hash !== '' || url.username !== '') {
      errors.push(`server.public_url: must be an http:// or https:// URL without query, e.g. "https://crm.example.com" (got ${show(c.server.public_url)})`)
    }
  }
  c.server.trusted_proxies.forEach((p, i) => {
    if (!isAddressOrCidr(p)) errors.push(`server.trusted_proxies[${i}]: must be an IP address or CIDR range, e.g. "127.0.0.1" or "10.0.0.0/8" (got ${show(p)})`)
  })
  if ((c.server.tls_cert_file === '') !== (c.server.tls_key_file === '')) {
    errors.push('server.tls_cert_file, server.tls_key_file: give both to serve HTTPS, or neither')
  }
  if (c.storage.data_dir.trim() === '') errors.push('storage.data_dir: must not be empty')
  if (c.security.master_key !== '' && !isKey(c.security.master_key)) {
    errors.push('security.master_key: must be 32 random bytes in base64 (44 characters); create one with `weltra keys generate`')
  }
  c.security.previous_master_keys.forEach((k, i) => {
    if (!isKey(k)) errors.push(`security.previous_master_keys[${i}]: must be 32 bytes in base64`)
  })
  if (c.email.transport === 'smtp' && c.email.smtp_host === '') errors.push('email.smtp_host: required when email.transport is "smtp"')
  if (c.email.transport === 'resend' && c.email.resend_api_key === '') errors.push('email.resend_api_key: required when email.transport is "resend" (or use resend_api_key_file)')
  if (!/^[^\r\n]*<?[^\s@<>]+@[^\s@<>]+>?$/.test(c.email.from)) errors.push(`email.from: must be an address like "Weltra <crm@example.com>" (got ${show(c.email.from)})`)
  try {
    const u = new URL(c.email.resend_base_url)
    if (!/^https?:$/.test(u.protocol)) throw new Error('scheme')
  } catch { errors.push(`email.resend_base_url: must be an http(s) URL (got ${show(c.email.resend_base_url)})`) }
  if (!isTimeZone(c.ui.default_time_zone)) errors.push(`ui.default_time_zone: unknown IANA time zone ${show(c.ui.default_time_zone)}, e.g. "Europe/Madrid"`)
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(c.ui.default_locale)) errors.push(`ui.default_locale: must be a language tag such as "en" or "pt-BR" (got ${show(c.ui.default_locale)})`)
  return errors
}

/** Splits "host:port" (IPv6 as "[::1]:8080"); undefined when malformed. */
export function parseListen (listen: string): { host: string, port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(listen)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port < 1 || port > 65535) return undefined
  return { host: m[1] ?? m[2]!, port }
}

/** The public base URL without a trailing slash; defaults to http://localhost:<port>. */
export function publicUrl (c: Config): string {
  if (c.server.public_url !== '') return c.server.public_url.replace(/\/+$/, '')
  const listen = parseListen(c.server.listen)
  const scheme = c.server.tls_cert_file !== '' ? 'https' : 'http'
  return `${scheme}://localhost:${listen?.port ?? 8080}`
}

function isKey (value: string): boolean {
  return /^[A-Za-z0-9+/_-]{43}=?$/.test(value.trim()) && Buffer.from(value.trim(), 'base64').length === 32
}

function isAddressOrCidr (value: string): boolean {
  const [addr, bits, extra] = value.split('/')
  if (extra !== undefined || addr === undefined) return false
  const family = isIP(addr)
  if (family === 0) return false
  if (bits === undefined) return true
  if (!/^\d{1,3}$/.test(bits)) return false
  return Number(bits) <= (family === 4 ? 32 : 128)
}

function isTimeZone (tz: string): boolean {
  // Creating a zoned formatter loads ICU's time zone data (~30 ms): skip it for the default.
  if (tz === 'UTC') return true
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz }).format(0)
    return true
  } catch {
    return false
  }
}

function describeFsError (err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EISDIR') return 'is a directory'
  return code ?? (err as Error).message
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/** Returns a copy for display, every secret replaced by a mask that keeps nothing of it. */
export function maskSecrets (c: Config): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const { section, key, schema } of listKeys()) {
    const value = (c[section] as Record<string, unknown>)[key]
    out[section] ??= {}
    out[section][key] = schema.secret === true
      ? (Array.isArray(value) ? value.map(() => '********') : (value === '' ? '' : '********'))
      : value
  }
  return out
}

export type { Config, SectionName }

// Marketing consent of contacts (issue 6 item 3). Each contact is 'unknown' until someone records
// otherwise: a member records an opt-in with the wording the contact agreed to, or an opt-out; an
// import may carry it; an inbound text that is exactly one of the workspace's opt-out keywords
// ("STOP", any case, any accents) opts the contact out by itself. Every change is a 'consent_changed'
// event on the contact's timeline (with who, when, the source and the wording); a member's change is
// in the audit log too (ids and states only). An opted-out contact gets no business-initiated
// message: the composer refuses templates to them (inbox/composer.service.ts).
//
// Also here: the workspace's contact settings (Settings → Contacts): the default country of numbers
// written without a country code, and the opt-out keywords.
import { getCountries } from 'libphonenumber-js'
import type { Db } from '../../db/open.js'
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import { recordContactEvent } from './contact-events.store.js'
import { findContactSettings, lastConsentActor, updateConsent, updateContactSettings } from './consent.store.js'
import { findContact, type Contact } from './contacts.store.js'
import { isCountry } from './phone.js'

export const consentStates = ['unknown', 'opted_in', 'opted_out'] as const
export type ConsentState = typeof consentStates[number]
export const consentSources = ['manual', 'import', 'keyword', 'api'] as const
export type ConsentSource = typeof consentSources[number]

export interface ConsentInput { state: ConsentState, source: ConsentSource, wording: string | null }

export const wordingMaxLength = 1000
export const keywordMaxLength = 40
export const keywordsMax = 20

export type FieldErrors = Record<string, string>
export type ConsentResult = { ok: true, contact: Contact, changed: boolean } | { ok: false, errors: FieldErrors }

function cleanWording (wording: string | null): string | null {
  const text = (wording ?? '').replace(/\r\n?/g, '\n').trim()
  return text === '' ? null : text
}

/** What is wrong with a consent change (field → catalogue key); an opt-in a member records needs its wording. */
export function consentProblems (input: { state: string, source: string, wording: string | null }): FieldErrors {
  const errors: FieldErrors = {}
  if (!(consentStates as readonly string[]).includes(input.state)) errors.state = 'consent.errors.state'
  if (!(consentSources as readonly string[]).includes(input.source)) errors.state ??= 'consent.errors.state'
  const wording = cleanWording(input.wording)
  if (wording !== null && wording.length > wordingMaxLength) errors.wording = 'consent.errors.wordingTooLong'
  else if (input.state === 'opted_in' && input.source === 'manual' && wording === null) errors.wording = 'consent.errors.wordingRequired'
  return errors
}

/**
 * Records a contact's consent state. `actorId` is the member who did it (null: the contact themselves,
 * through a keyword, or the system). A change to the same state, source and wording records nothing.
 * Another workspace's (or a merged or deleted) contact is a 404. Runs in a transaction of its own
 * (nested inside the caller's when there is one).
 */
export function setConsent (db: Db, workspaceId: string, contactId: string, input: ConsentInput, actorId: string | null, now: number, ip?: string): ConsentResult {
  const contact = findContact(db, workspaceId, contactId)
  if (contact === undefined) throw new NotFoundError()
  const errors = consentProblems(input)
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const wording = cleanWording(input.wording)
  if (contact.consent === input.state && contact.consentSource === input.source && contact.consentWording === wording) return { ok: true, contact, changed: false }
  const set = { consent: input.state, consentSource: input.state === 'unknown' ? null : input.source, consentAt: input.state === 'unknown' ? null : now, consentWording: input.state === 'unknown' ? null : wording }
  db.transaction((tx) => {
    updateConsent(tx, workspaceId, contactId, set, now)
    recordContactEvent(tx, { workspaceId, contactId, kind: 'consent_changed', actorId, data: { from: contact.consent, to: input.state, source: input.source, wording }, at: now })
    if (actorId !== null) {
      recordAudit(tx, { action: 'contact_consent_changed', workspaceId, actorUserId: actorId, details: { contactId, from: contact.consent, to: input.state, source: input.source }, ip }, now)
    }
  })
  return { ok: true, contact: { ...contact, ...set, updatedAt: now }, changed: true }
}

/** What views/contacts/_consent.eta shows. */
export interface ConsentView {
  contactId: string
  state: ConsentState
  source: string | null
  at: number | null
  wording: string | null
  /** The member who recorded the current state (null: the contact, an import or the system). */
  by: string | null
}

/** The consent panel of a contact of the workspace (pass the contact row you already have). */
export function consentView (db: Db, workspaceId: string, contact: Pick<Contact, 'id' | 'workspaceId' | 'consent' | 'consentSource' | 'consentAt' | 'consentWording'>): ConsentView {
  if (contact.workspaceId !== workspaceId) throw new NotFoundError()
  const by = contact.consent === 'unknown' ? null : lastConsentActor(db, workspaceId, contact.id)
  return { contactId: contact.id, state: contact.consent, source: contact.consentSource, at: contact.consentAt, wording: contact.consentWording, by: by?.name ?? null }
}

/** The consent panel of a contact found by id (404 for another workspace's). */
export function consentViewOf (db: Db, workspaceId: string, contactId: string): ConsentView {
  const contact = findContact(db, workspaceId, contactId)
  if (contact === undefined) throw new NotFoundError()
  return consentView(db, workspaceId, contact)
}

/** True when the contact opted out: nothing business-initiated may be sent to them. */
export function isOptedOut (db: Db, workspaceId: string, contactId: string): boolean {
  return findContact(db, workspaceId, contactId)?.consent === 'opted_out'
}

// ── opt-out keywords ──

/** A word as keywords compare it: letters without accents, lower case, single spaces. */
export function keywordKey (text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim()
}

/** The keywords of the setting ("STOP, UNSUBSCRIBE"): trimmed, empty ones dropped, each once. */
export function parseKeywords (csv: string): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const raw of csv.split(/[,\n]/)) {
    const word = raw.replace(/\s+/g, ' ').trim()
    const key = keywordKey(word)
    if (key === '' || seen.has(key)) continue
    seen.add(key)
    out.push(word)
  }
  return out
}

/** The keyword an inbound text is (its whole trimmed body, any case, any accents), or undefined. */
export function matchOptOutKeyword (text: string, keywords: readonly string[]): string | undefined {
  if (text.length > 200) return undefined
  const key = keywordKey(text)
  if (key === '') return undefined
  return keywords.find(k => keywordKey(k) === key)
}

/**
 * Called by webhook processing for each new inbound text: when it is an opt-out keyword, the contact
 * is opted out (source 'keyword', the keyword as the wording, at the message's time). True when it did.
 */
export function optOutByKeyword (db: Db, workspaceId: string, contact: Pick<Contact, 'id' | 'consent'>, text: string, at: number): boolean {
  if (contact.consent === 'opted_out') return false
  const settings = findContactSettings(db, workspaceId)
  if (settings === undefined) return false
  const keyword = matchOptOutKeyword(text, parseKeywords(settings.optOutKeywords))
  if (keyword === undefined) return false
  const result = setConsent(db, workspaceId, contact.id, { state: 'opted_out', source: 'keyword', wording: keyword }, null, at)
  return result.ok && result.changed
}

// ── Settings → Contacts ──

export interface ContactSettings { defaultCountry: string, optOutKeywords: string }

/** The workspace's contact settings (defaults for a workspace that does not exist). */
export function contactSettings (db: Db, workspaceId: string): ContactSettings {
  const row = findContactSettings(db, workspaceId)
  return { defaultCountry: row?.defaultCountry ?? 'US', optOutKeywords: row?.optOutKeywords ?? 'STOP, UNSUBSCRIBE' }
}

/** The countries a workspace may choose, with their names in `locale`, sorted by name. */
export function countryOptions (locale: string): Array<{ code: string, name: string }> {
  let names: Intl.DisplayNames | undefined
  try { names = new Intl.DisplayNames([locale, 'en'], { type: 'region' }) } catch { names = undefined }
  return getCountries()
    .map(code => ({ code: code as string, name: names?.of(code) ?? code }))
    .sort((a, b) => a.name.localeCompare(b.name, locale))
}

/**
 * Saves Settings → Contacts (the caller checked the admin role): the country must be one
 * libphonenumber knows; keywords are comma-separated, at most 20 of at most 40 characters (none turns
 * keyword opt-out off). What changed goes to the audit log, old → new, in the same transaction.
 */
export function saveContactSettings (deps: Pick<Deps, 'db' | 'clock'>, actor: { workspaceId: string, userId: string, ip?: string | undefined }, raw: { defaultCountry: string, optOutKeywords: string }): { ok: true } | { ok: false, errors: FieldErrors } {
  const errors: FieldErrors = {}
  const defaultCountry = raw.defaultCountry.trim().toUpperCase()
  if (!isCountry(defaultCountry)) errors.defaultCountry = 'contactSettings.errors.country'
  const keywords = parseKeywords(raw.optOutKeywords)
  if (keywords.some(k => k.length > keywordMaxLength)) errors.optOutKeywords = 'contactSettings.errors.keywordTooLong'
  else if (keywords.length > keywordsMax) errors.optOutKeywords = 'contactSettings.errors.tooManyKeywords'
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const next: ContactSettings = { defaultCountry, optOutKeywords: keywords.join(', ') }
  const now = deps.clock.now()
  deps.db.transaction((tx) => {
    const before = contactSettings(tx, actor.workspaceId)
    const changed = (Object.keys(next) as Array<keyof ContactSettings>).filter(k => before[k] !== next[k])
    updateContactSettings(tx, actor.workspaceId, next, now)
    if (changed.length === 0) return
    recordAudit(tx, {
      action: 'contact_settings_changed',
      workspaceId: actor.workspaceId,
      actorUserId: actor.userId,
      details: { changes: changed.map(k => `${k}: ${before[k] === '' ? '—' : before[k]} → ${next[k] === '' ? '—' : next[k]}`).join('; ') },
      ip: actor.ip
    }, now)
  }, { behavior: 'immediate' })
  return { ok: true }
}

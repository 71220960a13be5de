// Phone numbers: one spelling per number. Whatever a person typed (spaces, dashes, brackets, "00"
// or "+" prefixes, fullwidth or Arabic-Indic digits, a national number in the workspace's country) or
// what WhatsApp sent (wa_id: digits, no "+") becomes E.164, and the blind index is computed over its
// digits, so every spelling of one number finds the same contact. libphonenumber-js does the parsing.
import { parsePhoneNumberFromString, type CountryCode, isSupportedCountry } from 'libphonenumber-js'
import { blindIndex } from '../../platform/crypto/index.js'

export type PhoneResult = { ok: true, e164: string, digits: string } | { ok: false, reason: 'empty' | 'invalid' | 'too_long' }

/** Digits of every script folded to ASCII (NFKC covers fullwidth; Arabic-Indic and Persian by hand). */
export function foldDigits (input: string): string {
  return input.normalize('NFKC')
    .replace(/[\u0660-\u0669]/g, d => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06F0-\u06F9]/g, d => String(d.charCodeAt(0) - 0x06F0))
}

/** True for an ISO 3166 alpha-2 code libphonenumber knows (the workspace's default country). */
export function isCountry (code: string): code is CountryCode {
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code)
}

/**
 * A typed or received number as E.164. A number with "+" or "00" is international; one without is
 * national to `defaultCountry`, unless it only makes sense as international digits (a wa_id like
 * "5511987654321"), which is tried second.
 */
export function normalisePhone (input: string, defaultCountry: string): PhoneResult {
  const folded = foldDigits(input).trim()
  if (folded.length > 64) return { ok: false, reason: 'too_long' }
  const compact = folded.replace(/[\s\-().\u00A0/]/g, '')
  if (compact === '') return { ok: false, reason: 'empty' }
  let text = compact.startsWith('00') ? '+' + compact.slice(2) : compact
  if (!/^\+?[0-9]+$/.test(text.replace(/(ext|x|#).*$/i, ''))) return { ok: false, reason: 'invalid' }
  text = text.replace(/(ext|x|#).*$/i, '')
  const country = isCountry(defaultCountry) ? defaultCountry : undefined
  const candidates = text.startsWith('+') ? [text] : [text, '+' + text]
  // A valid number first; then one that only has a possible length (reserved ranges such as +1 555 01xx,
  // numbers newer than the metadata).
  for (const test of ['isValid', 'isPossible'] as const) {
    for (const candidate of candidates) {
      const parsed = candidate.startsWith('+') ? parsePhoneNumberFromString(candidate) : country === undefined ? undefined : parsePhoneNumberFromString(candidate, country)
      if (parsed !== undefined && parsed[test]()) return { ok: true, e164: parsed.number, digits: parsed.number.slice(1) }
    }
  }
  // WhatsApp ids of old Brazilian and Mexican mobiles are not valid numbers today but are real ids.
  if (/^[0-9]{8,15}$/.test(text.replace(/^\+/, ''))) {
    const digits = text.replace(/^\+/, '')
    const alt = legacyVariant(digits)
    if (alt !== undefined && parsePhoneNumberFromString('+' + alt)?.isValid() === true) return { ok: true, e164: '+' + digits, digits }
  }
  return { ok: false, reason: 'invalid' }
}

/**
 * The other spelling WhatsApp or people use for the same mobile, as digits, or undefined:
 * Brazil with and without the 9th digit (55 AA 9XXXXXXXX ↔ 55 AA XXXXXXXX), Mexico with and
 * without the "1" after 52, Argentina with and without the "9" after 54.
 */
export function legacyVariant (digits: string): string | undefined {
  let m = /^55([1-9][0-9])9([6-9][0-9]{7})$/.exec(digits)
  if (m !== null) return `55${m[1]}${m[2]}`
  m = /^55([1-9][0-9])([6-9][0-9]{7})$/.exec(digits)
  if (m !== null) return `55${m[1]}9${m[2]}`
  m = /^521([0-9]{10})$/.exec(digits)
  if (m !== null) return `52${m[1]}`
  m = /^52([0-9]{10})$/.exec(digits)
  if (m !== null) return `521${m[1]}`
  m = /^549([0-9]{10})$/.exec(digits)
  if (m !== null) return `54${m[1]}`
  m = /^54([0-9]{10})$/.exec(digits)
  if (m !== null) return `549${m[1]}`
  return undefined
}

/** Every digits spelling of one number: itself and its legacy variant (for duplicate detection). */
export function phoneSpellings (digits: string): string[] {
  const alt = legacyVariant(digits)
  return alt === undefined ? [digits] : [digits, alt]
}

/** The blind index of a number's digits for the extra phone numbers of contacts. */
export function phoneIndex (workspaceId: string, digits: string): string {
  return blindIndex('contact.phone', workspaceId, digits)
}

/** The blind index of a WhatsApp id (contacts.wa_id_index): the same digits under WhatsApp's purpose. */
export function waIdIndexOf (workspaceId: string, digits: string): string {
  return blindIndex('contact.wa_id', workspaceId, digits)
}

/** A number for people to read: international format ("+55 11 98765-4321"), or the input when it does not parse. */
export function formatPhone (e164OrDigits: string): string {
  const text = e164OrDigits.startsWith('+') ? e164OrDigits : '+' + e164OrDigits
  const parsed = parsePhoneNumberFromString(text)
  return parsed === undefined ? e164OrDigits : parsed.formatInternational()
}

/** An email address as the blind index sees it, or undefined when it is not an address. */
export function normaliseEmail (input: string): string | undefined {
  const text = input.normalize('NFKC').trim().toLowerCase()
  if (text.length > 254 || !/^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/.test(text)) return undefined
  return text
}

export function emailIndex (workspaceId: string, email: string): string {
  return blindIndex('contact.email', workspaceId, email)
}

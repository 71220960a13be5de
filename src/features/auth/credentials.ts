// What a valid email address and a valid password are (NIST SP 800-63B): passwords are taken exactly
// as typed, at least 8 characters, at most 1,024 bytes, no composition rules, and not one of ~18,000
// commonly used passwords (resources/common-passwords.txt ships inside the program; nothing is looked up online).
import { readFileSync } from 'node:fs'
import { blindIndex } from '../../platform/crypto/index.js'
import { hasControlCharacters } from '../../platform/text.js'

export const minPasswordLength = 8
export const maxPasswordBytes = 1024
let common: Set<string> | undefined
let commonFile: string | undefined

/** Where the common-passwords list is (resources/common-passwords.txt); read on first use. Set at start. */
export function setCommonPasswordsFile (file: string): void {
  commonFile = file
  common = undefined
}

/** Normalises an email for comparison: trimmed, Unicode NFC, lower case. */
export function normaliseEmail (email: string): string {
  return email.trim().normalize('NFC').toLowerCase()
}

/** The blind index of an email (instance-wide), for lookups on the encrypted column. */
export function emailIndex (email: string): string {
  return blindIndex('email', 'instance', normaliseEmail(email))
}

/** A catalogue key describing what is wrong with an email, or undefined when it is acceptable. */
export function emailProblem (email: string): string | undefined {
  const e = normaliseEmail(email)
  if (e === '') return 'auth.email.required'
  if (e.length > 254 || /[\s<>,;"]/.test(e) || hasControlCharacters(e)) return 'auth.email.invalid'
  const at = e.lastIndexOf('@')
  if (at < 1 || at === e.length - 1 || e.indexOf('@') !== at) return 'auth.email.invalid'
  const domain = e.slice(at + 1)
  if (domain !== 'localhost' && !/^[^.]+(\.[^.]+)+$/.test(domain)) return 'auth.email.invalid'
  return undefined
}

/** A catalogue key describing why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem (password: string, context: { email?: string, name?: string } = {}): string | undefined {
  if ([...password].length < minPasswordLength) return 'auth.password.tooShort'
  if (Buffer.byteLength(password, 'utf8') > maxPasswordBytes) return 'auth.password.tooLong'
  if (commonFile === undefined) throw new Error('the common-passwords list is not configured')
  common ??= new Set(readFileSync(commonFile, 'utf8').split('\n').filter(p => p.length >= minPasswordLength))
  const lower = password.toLowerCase()
  if (common.has(lower)) return 'auth.password.common'
  if (context.email !== undefined && lower === normaliseEmail(context.email)) return 'auth.password.likeEmail'
  if (/^(.)\1+$/u.test(password)) return 'auth.password.common'
  return undefined
}

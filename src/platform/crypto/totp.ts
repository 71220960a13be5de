// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) with HMAC-SHA1, 30-second steps and
// 6 digits — what every authenticator app speaks — and RFC 4648 base32 (no padding) for the shared
// secret. Codes are compared in constant time; verification accepts the neighbouring steps (±1) for
// clock drift and says WHICH step matched, so the caller can refuse a step that was already used.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export const totpPeriodSeconds = 30
export const totpDigits = 6

/** RFC 4648 base32 of the bytes, upper case, without "=" padding. */
export function base32Encode (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
    value &= (1 << bits) - 1
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31]
  return out
}

/**
 * Decodes RFC 4648 base32. Case, spaces, dashes and trailing "=" padding are ignored (people type
 * secrets by hand); any other character, or an impossible length, throws.
 */
export function base32Decode (text: string): Buffer {
  const clean = text.toUpperCase().replace(/[\s-]/g, '').replace(/=+$/, '')
  if ([1, 3, 6].includes(clean.length % 8)) throw new Error('base32: invalid length')
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const ch of clean) {
    const index = alphabet.indexOf(ch)
    if (index < 0) throw new Error('base32: invalid character')
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255)
      bits -= 8
    }
    value &= (1 << bits) - 1
  }
  return Buffer.from(out)
}

/** A new random TOTP secret: 20 bytes (160 bits, the HMAC-SHA1 block recommendation of RFC 4226). */
export function newTotpSecret (): Buffer {
  return randomBytes(20)
}

/** The RFC 6238 time step (counter) for a moment in milliseconds. */
export function totpStep (timeMs: number, periodSeconds = totpPeriodSeconds): number {
  return Math.floor(timeMs / 1000 / periodSeconds)
}

/** The RFC 4226 HOTP value of `counter`, zero-padded to `digits` digits. */
export function hotp (secret: Uint8Array, counter: number, digits = totpDigits): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new Error('hotp: invalid counter')
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', secret).update(message).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!
  return String(binary % 10 ** digits).padStart(digits, '0')
}

/** The TOTP code for a moment in milliseconds. */
export function totpCode (secret: Uint8Array, timeMs: number, digits = totpDigits, periodSeconds = totpPeriodSeconds): string {
  return hotp(secret, totpStep(timeMs, periodSeconds), digits)
}

/**
 * Checks a code against the steps around `timeMs` (±`window`, default 1). Returns the matching step,
 * or undefined. Every candidate is computed and compared in constant time, so timing reveals nothing
 * about which step (if any) matched. Anything but exactly `digits` ASCII digits is refused.
 */
export function verifyTotp (secret: Uint8Array, code: string, timeMs: number, options: { window?: number, digits?: number, periodSeconds?: number } = {}): number | undefined {
  const digits = options.digits ?? totpDigits
  const window = options.window ?? 1
  if (code.length !== digits || !/^[0-9]+$/.test(code)) return undefined
  const given = Buffer.from(code, 'ascii')
  const current = totpStep(timeMs, options.periodSeconds)
  let matched: number | undefined
  for (let step = current - window; step <= current + window; step++) {
    if (step < 0) continue
    const expected = Buffer.from(hotp(secret, step, digits), 'ascii')
    if (timingSafeEqual(expected, given) && matched === undefined) matched = step
  }
  return matched
}

/** The otpauth:// URI authenticator apps read from a QR code (Key URI format). */
export function totpUri (input: { issuer: string, account: string, secret: Uint8Array }): string {
  const label = `${encodeURIComponent(input.issuer)}:${encodeURIComponent(input.account)}`
  const params = `secret=${base32Encode(input.secret)}&issuer=${encodeURIComponent(input.issuer)}&algorithm=SHA1&digits=${totpDigits}&period=${totpPeriodSeconds}`
  return `otpauth://totp/${label}?${params}`
}

// No 0/o, 1/l/i: recovery codes are read off paper and typed by hand.
const recoveryAlphabet = 'abcdefghjkmnpqrstuvwxyz23456789'

/** A random one-time recovery code, "xxxx-xxxx-xx" (10 characters from 31: about 49 bits). */
export function newRecoveryCode (): string {
  let raw = ''
  for (let i = 0; i < 10; i++) raw += recoveryAlphabet[randomInt(recoveryAlphabet.length)]
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`
}

// Hashes, MACs and constant-time comparison for the rest of the code base.
import { createHash, createHmac, timingSafeEqual, type KeyObject } from 'node:crypto'

/** SHA-256 of text or bytes, as lowercase hex. */
export function sha256Hex (data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** SHA-256 of text or bytes, as base64url. */
export function sha256Base64Url (data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('base64url')
}

/** HMAC-SHA256 as lowercase hex. */
export function hmacSha256Hex (key: string | Uint8Array, data: string | Uint8Array): string {
  return createHmac('sha256', key).update(data).digest('hex')
}

/** HMAC-SHA256 as raw bytes. */
export function hmacSha256 (key: string | Uint8Array | KeyObject, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

/** Compares two strings in time that depends only on their lengths; false when lengths differ. */
export function timingSafeEqualStr (a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  if (x.length !== y.length) return false
  return timingSafeEqual(x, y)
}

/** Compares two byte arrays in constant time; false when lengths differ. */
export function timingSafeEqualBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  return timingSafeEqual(a, b)
}

/**
 * A 53-bit key of `value` (the first 53 bits of its SHA-256), exact in a JS number and in a SQLite
 * integer. Used to index long opaque ids (wamids) compactly; callers compare the full value on a hit.
 */
export function hash53 (value: string): number {
  const d = createHash('sha256').update(value).digest()
  return d.readUIntBE(0, 6) * 32 + (d[6]! >> 3)
}

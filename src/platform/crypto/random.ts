// Random identifiers and tokens. Ids are time-sortable (48-bit millisecond time + 80 random bits,
// Crockford base32, 26 characters) so that keyset pagination by id follows creation order.
import { randomBytes, randomInt } from 'node:crypto'

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** A new 26-character, time-sortable, URL-safe random id. `now` is injectable for tests. */
export function newId (now: number = Date.now()): string {
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = crockford[t % 32]! + time
    t = Math.floor(t / 32)
  }
  const rand = randomBytes(10)
  let bits = 0n
  for (const byte of rand) bits = (bits << 8n) | BigInt(byte)
  let tail = ''
  for (let i = 0; i < 16; i++) {
    tail = crockford[Number(bits & 31n)]! + tail
    bits >>= 5n
  }
  return time + tail
}

/** The creation time encoded in an id from newId(), or undefined for anything else. */
export function idTime (id: string): number | undefined {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) return undefined
  let t = 0
  for (const ch of id.slice(0, 10)) t = t * 32 + crockford.indexOf(ch)
  return t
}

/** A random secret of `bytes` bytes (default 32), base64url without padding. */
export function randomToken (bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** Raw random bytes. */
export function randomKey (bytes = 32): Buffer {
  return randomBytes(bytes)
}

/** A uniformly random integer in [min, max). */
export function randomIntBetween (min: number, max: number): number {
  return randomInt(min, max)
}

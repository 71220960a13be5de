// Random identifiers and tokens. Ids are time-sortable (48-bit millisecond time + 80 random bits,
// Crockford base32, 26 characters) so that keyset pagination by id follows creation order.
import { randomBytes, randomFillSync, randomInt } from 'node:crypto'

// Small random values (ids, nonces) come from a pool refilled 4 KiB at a time: one call into the
// CSPRNG per ~400 ids instead of one each (~3 µs apiece — a bulk import makes hundreds of thousands).
// Every byte is handed out once: the pool is refilled, never rewound.
const pool = Buffer.alloc(4096)
let poolAt = pool.length

/** `n` (≤ 256) fresh random bytes, copied out of the pool. */
export function pooledRandomBytes (n: number): Buffer {
  if (n > 256) return randomBytes(n)
  if (poolAt + n > pool.length) { randomFillSync(pool); poolAt = 0 }
  const out = Buffer.from(pool.subarray(poolAt, poolAt + n))
  poolAt += n
  return out
}

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** A new 26-character, time-sortable, URL-safe random id. `now` is injectable for tests. */
export function newId (now: number = Date.now()): string {
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = crockford[t % 32]! + time
    t = Math.floor(t / 32)
  }
  // 80 random bits as 16 base32 characters, most significant first (two 40-bit halves: exact in a double).
  if (poolAt + 10 > pool.length) { randomFillSync(pool); poolAt = 0 }
  let tail = ''
  for (let half = 0; half < 2; half++) {
    const at = poolAt + half * 5
    let bits = pool[at]! * 2 ** 32 + pool.readUInt32BE(at + 1)
    let chars = ''
    for (let i = 0; i < 8; i++) {
      chars = crockford[bits % 32]! + chars
      bits = Math.floor(bits / 32)
    }
    tail += chars
  }
  poolAt += 10
  return time + tail
}

/** True for a string shaped like newId()'s ids (26 Crockford base-32 characters): safe to look up. */
export function isId (value: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value)
}

/** The creation time encoded in an id from newId(), or undefined for anything else. */
export function idTime (id: string): number | undefined {
  if (!isId(id)) return undefined
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

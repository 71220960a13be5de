// Blind indexes: keyed hashes of normalised values (phone numbers, emails) so encrypted columns can be
// found by equality without decrypting. HMAC-SHA256 with a per-workspace key derived from the index
// root secret. The root is random, stored in the database sealed under the master key, so rotating
// the master key re-seals the root and leaves every index unchanged. Limit (see README): whoever holds
// both the database and the master key can brute-force small spaces such as phone numbers.
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto'
import { hmacSha256 } from './hash.js'

let root: Buffer | undefined
// KeyObjects, not Buffers: createHmac with a Buffer key builds a KeyObject on every call (~30 µs vs ~5 µs).
const perScope = new Map<string, KeyObject>()

/** Installs the index root secret (32 bytes) read at boot. */
export function setIndexRoot (secret: Uint8Array): void {
  if (secret.length !== 32) throw new Error('the index root must be 32 bytes')
  root = Buffer.from(secret)
  perScope.clear()
}

/**
 * The blind index of an already normalised `value` for `purpose` (e.g. "contact.phone") in a
 * workspace: 43 characters of base64url. Deterministic for the same inputs; different per workspace.
 */
export function blindIndex (purpose: string, workspaceId: string, value: string): string {
  if (root === undefined) throw new Error('the index root is not initialised')
  let key = perScope.get(workspaceId)
  if (key === undefined) {
    key = createSecretKey(Buffer.from(hkdfSync('sha256', root, 'weltra/blind-index/v1', workspaceId, 32)))
    perScope.set(workspaceId, key)
  }
  return hmacSha256(key, `${purpose}\u0000${value}`).toString('base64url')
}

// The master key and everything derived from it.
//
// Hierarchy: the master key (config / env / file, never in the database) derives, with HKDF-SHA256,
// one sub-key per purpose (and per workspace where a purpose is per workspace). A ciphertext names the
// master key it was sealed under by a short key id, so previous keys keep opening old data while
// `weltra keys rotate` re-seals it. A stored key-check value lets startup refuse a wrong key.
//
// The active keyring is the code base's single piece of module-level state: drizzle column types are
// static, so `encryptedText` columns reach the cipher through it. Set it once at boot (setKeyring).
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto'
import { hmacSha256, timingSafeEqualStr } from './hash.js'

export class KeyError extends Error {
  override name = 'KeyError'
}

interface MasterKey { id: string, bytes: Buffer }

export class Keyring {
  readonly current: MasterKey
  readonly previous: readonly MasterKey[]
  private readonly derived = new Map<string, Buffer>()
  private readonly keyObjects = new Map<string, KeyObject>()

  /** Builds a keyring from 32-byte keys; throws KeyError on a malformed key. */
  constructor (current: Uint8Array, previous: readonly Uint8Array[] = []) {
    this.current = toMaster(current)
    this.previous = previous.map(toMaster).filter(k => k.id !== this.current.id)
  }

  /** Parses base64 key strings (as found in config or key files). */
  static fromBase64 (current: string, previous: readonly string[] = []): Keyring {
    return new Keyring(decodeKey(current), previous.map(decodeKey))
  }

  /** The master key with this id, current or previous. */
  master (id: string): MasterKey | undefined {
    if (id === this.current.id) return this.current
    return this.previous.find(k => k.id === id)
  }

  /** A 32-byte sub-key for `purpose` (and `scope`, e.g. a workspace id) under the given master key. */
  subKey (purpose: string, scope = '', keyId: string = this.current.id): Buffer {
    const cacheKey = `${keyId}\u0000${purpose}\u0000${scope}`
    let key = this.derived.get(cacheKey)
    if (key === undefined) {
      const master = this.master(keyId)
      if (master === undefined) throw new KeyError(`unknown key id ${keyId}`)
      key = Buffer.from(hkdfSync('sha256', master.bytes, 'weltra/v1', `${purpose}\u0000${scope}`, 32))
      this.derived.set(cacheKey, key)
    }
    return key
  }

  /** The same sub-key as a KeyObject, cached: ciphers built from it skip re-importing raw key bytes. */
  subKeyObject (purpose: string, scope = '', keyId: string = this.current.id): KeyObject {
    const cacheKey = `${keyId}\u0000${purpose}\u0000${scope}`
    let key = this.keyObjects.get(cacheKey)
    if (key === undefined) {
      key = createSecretKey(this.subKey(purpose, scope, keyId))
      this.keyObjects.set(cacheKey, key)
    }
    return key
  }

  /** The value stored to recognise this keyring's current master key at the next start. */
  keyCheck (keyId: string = this.current.id): string {
    return `${keyId}.${hmacSha256(this.subKey('key-check', '', keyId), 'weltra key check v1').toString('base64url')}`
  }

  /** Which key (current or previous) a stored key-check value belongs to; undefined if none. */
  matchKeyCheck (stored: string): 'current' | 'previous' | undefined {
    const [id] = stored.split('.')
    if (id === undefined) return undefined
    const master = this.master(id)
    if (master === undefined || !timingSafeEqualStr(this.keyCheck(id), stored)) return undefined
    return master.id === this.current.id ? 'current' : 'previous'
  }
}

function toMaster (bytes: Uint8Array): MasterKey {
  if (bytes.length !== 32) throw new KeyError(`a master key must be 32 bytes (got ${bytes.length})`)
  const buf = Buffer.from(bytes)
  return { id: hmacSha256(buf, 'weltra key id v1').toString('base64url').slice(0, 8).replace(/[-_]/g, 'x'), bytes: buf }
}

/** Decodes a base64 (or base64url) 32-byte key; throws KeyError otherwise. */
export function decodeKey (text: string): Buffer {
  const trimmed = text.trim()
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) throw new KeyError('a master key must be 32 bytes in base64 (44 characters)')
  return Buffer.from(trimmed, 'base64')
}

let active: Keyring | undefined

/** Installs the process-wide keyring used by encrypted columns. */
export function setKeyring (keyring: Keyring): void {
  active = keyring
}

/** The process-wide keyring; throws if boot has not installed one. */
export function keyring (): Keyring {
  if (active === undefined) throw new KeyError('the keyring is not initialised')
  return active
}

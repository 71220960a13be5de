// AES-256-GCM field encryption with a versioned envelope:
//   v1.<key id>.<12-byte nonce, base64url>.<ciphertext + 16-byte tag, base64url>
// The additional authenticated data binds a ciphertext to where it belongs (table.column, and the
// workspace where the caller knows it), so a value copied to another column or tenant fails to open.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { keyring, type Keyring } from './keyring.js'
import { pooledRandomBytes } from './random.js'

const version = 'v1'
const purpose = 'field-encryption'

export class DecryptError extends Error {
  override name = 'DecryptError'
}

/** Encrypts `plaintext` under the current master key. Every call uses a fresh random nonce. */
export function seal (plaintext: string, aad: string, ring: Keyring = keyring()): string {
  const nonce = pooledRandomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', ring.subKeyObject(purpose), nonce)
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return `${version}.${ring.current.id}.${nonce.toString('base64url')}.${body.toString('base64url')}`
}

/** Decrypts an envelope from seal(). Throws DecryptError (never partial plaintext) on any mismatch. */
export function open (envelope: string, aad: string, ring: Keyring = keyring()): string {
  const parts = envelope.split('.')
  if (parts.length !== 4 || parts[0] !== version) throw new DecryptError('not a sealed value')
  const [, keyId, nonceText, bodyText] = parts as [string, string, string, string]
  if (ring.master(keyId) === undefined) throw new DecryptError(`sealed with an unknown key (${keyId})`)
  const nonce = Buffer.from(nonceText, 'base64url')
  const body = Buffer.from(bodyText, 'base64url')
  if (nonce.length !== 12 || body.length < 16) throw new DecryptError('malformed sealed value')
  try {
    const decipher = createDecipheriv('aes-256-gcm', ring.subKeyObject(purpose, '', keyId), nonce)
    decipher.setAAD(Buffer.from(aad, 'utf8'))
    decipher.setAuthTag(body.subarray(body.length - 16))
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8')
  } catch {
    throw new DecryptError('sealed value failed authentication')
  }
}

/** The key id an envelope was sealed under, or undefined if it is not an envelope. */
export function sealedKeyId (envelope: string): string | undefined {
  const parts = envelope.split('.')
  return parts.length === 4 && parts[0] === version ? parts[1] : undefined
}

/** Seals raw bytes (files): nonce ‖ ciphertext ‖ tag, prefixed by the key id. */
export function sealBytes (data: Uint8Array, aad: string, ring: Keyring = keyring()): Buffer {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', ring.subKeyObject(purpose), nonce)
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const kid = Buffer.from(ring.current.id.padEnd(8, '0').slice(0, 8), 'utf8')
  return Buffer.concat([Buffer.from('W1'), kid, nonce, cipher.update(data), cipher.final(), cipher.getAuthTag()])
}

/** Opens bytes from sealBytes(); throws DecryptError on any mismatch. */
export function openBytes (data: Uint8Array, aad: string, ring: Keyring = keyring()): Buffer {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (buf.length < 2 + 8 + 12 + 16 || buf.subarray(0, 2).toString() !== 'W1') throw new DecryptError('not a sealed file')
  const keyId = buf.subarray(2, 10).toString('utf8')
  if (ring.master(keyId) === undefined) throw new DecryptError(`sealed with an unknown key (${keyId})`)
  try {
    const decipher = createDecipheriv('aes-256-gcm', ring.subKeyObject(purpose, '', keyId), buf.subarray(10, 22))
    decipher.setAAD(Buffer.from(aad, 'utf8'))
    decipher.setAuthTag(buf.subarray(buf.length - 16))
    return Buffer.concat([decipher.update(buf.subarray(22, buf.length - 16)), decipher.final()])
  } catch {
    throw new DecryptError('sealed file failed authentication')
  }
}

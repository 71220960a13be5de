// Streaming authenticated encryption for files (media): a file is never held in memory whole.
//
// Layout ("WMF1"):
//   header (76 bytes) = magic "WMF1" (4) ‖ master key id (8, ASCII) ‖ chunk size (u32 BE)
//                       ‖ wrap nonce (12) ‖ wrapped file key (32 + 16-byte tag)
//   chunk i           = AES-256-GCM(file key, nonce = 0x00000000 ‖ u64 BE i, AAD = "WMF1 chunk" ‖ u64 BE i ‖ final flag)
//                       (ciphertext of at most `chunk size` bytes, then its 16-byte tag)
//
// Every file gets a fresh random 256-bit file key, so the counter nonces never repeat under one key.
// The file key is wrapped (AES-256-GCM) with a sub-key derived by HKDF from the master key for a
// purpose and a scope (media: purpose "media-file", scope = the workspace id); the wrap's AAD binds the
// header fields (magic, key id, chunk size) and the caller's context (e.g. "media/<workspace>/<id>"),
// so a file copied to another workspace or id, or a tampered header, fails to open. The chunk index in
// each chunk's AAD stops reordering, the final flag stops truncation at a chunk boundary (and trailing
// bytes after the final chunk are refused).
//
// Master-key rotation: only the 48-byte wrapped key depends on the master key. rewrapFileHeader() re-wraps
// it under the current master key without touching the chunks (the file key stays the same), so rotating
// costs one small header rewrite per file; until then, files keep opening with the previous key listed in
// security.previous_master_keys (the header names the key id it was wrapped under).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { DecryptError } from './field-cipher.js'
import { keyring, type Keyring } from './keyring.js'

const magic = Buffer.from('WMF1', 'ascii')
/** Bytes of the header in front of the first chunk. */
export const fileHeaderLength = 4 + 8 + 4 + 12 + 32 + 16
/** Authentication tag bytes after each chunk. */
export const fileChunkOverhead = 16
/** Plaintext bytes per chunk unless told otherwise (64 KiB). */
export const defaultFileChunkSize = 64 * 1024
const maxChunkSize = 16 * 1024 * 1024

/** Who a file belongs to: the sub-key purpose and scope, and the context its header is bound to. */
export interface FileKeyScope {
  /** HKDF purpose of the wrapping key, e.g. "media-file". */
  purpose: string
  /** HKDF scope of the wrapping key, e.g. a workspace id. */
  scope: string
  /** Where the file belongs, e.g. "media/<workspace id>/<media id>"; bound into the header. */
  context: string
}

function keyIdBytes (id: string): Buffer {
  const b = Buffer.from(id.padEnd(8, '0').slice(0, 8), 'ascii')
  if (b.length !== 8) throw new DecryptError('key id is not 8 ASCII characters')
  return b
}

function wrapAad (fixed: Buffer, scope: FileKeyScope): Buffer {
  return Buffer.concat([Buffer.from('WMF1 key\u0000', 'ascii'), fixed, Buffer.from(`\u0000${scope.purpose}\u0000${scope.scope}\u0000${scope.context}`, 'utf8')])
}

function chunkNonce (index: number): Buffer {
  const n = Buffer.alloc(12)
  n.writeBigUInt64BE(BigInt(index), 4)
  return n
}

function chunkAad (index: number, final: boolean): Buffer {
  const a = Buffer.alloc(10 + 8 + 1)
  a.write('WMF1 chunk', 0, 'ascii')
  a.writeBigUInt64BE(BigInt(index), 10)
  a[18] = final ? 1 : 0
  return a
}

function wrapKey (fileKey: Buffer, chunkSize: number, scope: FileKeyScope, ring: Keyring): Buffer {
  const fixed = Buffer.alloc(16)
  magic.copy(fixed, 0)
  keyIdBytes(ring.current.id).copy(fixed, 4)
  fixed.writeUInt32BE(chunkSize, 12)
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', ring.subKeyObject(scope.purpose, scope.scope), nonce)
  cipher.setAAD(wrapAad(fixed, scope))
  const wrapped = Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()])
  return Buffer.concat([fixed, nonce, wrapped])
}

/** What a header says and the file key it unwraps to. */
interface OpenedHeader { keyId: string, chunkSize: number, fileKey: Buffer }

function unwrapHeader (header: Uint8Array, scope: FileKeyScope, ring: Keyring): OpenedHeader {
  const h = Buffer.from(header.buffer, header.byteOffset, header.byteLength)
  if (h.length < fileHeaderLength || !h.subarray(0, 4).equals(magic)) throw new DecryptError('not a sealed file')
  const keyId = h.subarray(4, 12).toString('ascii')
  const chunkSize = h.readUInt32BE(12)
  if (chunkSize < 1 || chunkSize > maxChunkSize) throw new DecryptError('sealed file has a bad chunk size')
  if (ring.master(keyId) === undefined) throw new DecryptError(`sealed file uses an unknown key (${keyId})`)
  try {
    const decipher = createDecipheriv('aes-256-gcm', ring.subKeyObject(scope.purpose, scope.scope, keyId), h.subarray(16, 28))
    decipher.setAAD(wrapAad(h.subarray(0, 16), scope))
    decipher.setAuthTag(h.subarray(60, 76))
    const fileKey = Buffer.concat([decipher.update(h.subarray(28, 60)), decipher.final()])
    return { keyId, chunkSize, fileKey }
  } catch {
    throw new DecryptError('sealed file header failed authentication')
  }
}

/** Seals a stream of bytes chunk by chunk: write `header`, then what update() and final() return, in order. */
export interface FileSealer {
  readonly header: Buffer
  readonly chunkSize: number
  /** Takes plaintext; returns the sealed chunks completed by it (possibly none). */
  update: (data: Uint8Array) => Buffer[]
  /** Seals what is left as the final chunk (empty for an empty file) and returns it. */
  final: () => Buffer
}

/** Starts sealing a new file for `scope` under the current master key. */
export function createFileSealer (scope: FileKeyScope, ring: Keyring = keyring(), chunkSize: number = defaultFileChunkSize): FileSealer {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > maxChunkSize) throw new RangeError('chunk size out of range')
  const fileKey = randomBytes(32)
  const header = wrapKey(fileKey, chunkSize, scope, ring)
  let pending: Buffer[] = []
  let pendingBytes = 0
  let index = 0
  let done = false
  const sealChunk = (plain: Buffer, final: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', fileKey, chunkNonce(index))
    cipher.setAAD(chunkAad(index, final))
    index++
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
  }
  return {
    header,
    chunkSize,
    update (data) {
      if (done) throw new Error('file sealer already finished')
      const out: Buffer[] = []
      let rest = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      while (rest.length > 0) {
        // A full chunk is sealed only once more data arrives: the last chunk must carry the final flag.
        if (pendingBytes === chunkSize) {
          out.push(sealChunk(Buffer.concat(pending, pendingBytes), false))
          pending = []
          pendingBytes = 0
        }
        const take = Math.min(chunkSize - pendingBytes, rest.length)
        pending.push(Buffer.from(rest.subarray(0, take)))
        pendingBytes += take
        rest = rest.subarray(take)
      }
      return out
    },
    final () {
      if (done) throw new Error('file sealer already finished')
      done = true
      const last = sealChunk(Buffer.concat(pending, pendingBytes), true)
      pending = []
      fileKey.fill(0)
      return last
    }
  }
}

/** Opens the chunks of one sealed file (random access: any chunk by index). */
export interface FileOpener {
  readonly keyId: string
  readonly chunkSize: number
  /** Bytes of a sealed full chunk on disk (chunk size + tag). */
  readonly sealedChunkSize: number
  /** Decrypts chunk `index` (sealed bytes, tag included); `final` must say whether it is the last chunk. */
  openChunk: (index: number, sealed: Uint8Array, final: boolean) => Buffer
}

/** Reads a header (the first fileHeaderLength bytes); throws DecryptError for a wrong key, scope or context. */
export function openFileHeader (header: Uint8Array, scope: FileKeyScope, ring: Keyring = keyring()): FileOpener {
  const { keyId, chunkSize, fileKey } = unwrapHeader(header, scope, ring)
  return {
    keyId,
    chunkSize,
    sealedChunkSize: chunkSize + fileChunkOverhead,
    openChunk (index, sealed, final) {
      const s = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
      if (s.length < fileChunkOverhead || s.length > chunkSize + fileChunkOverhead) throw new DecryptError('sealed chunk has a bad length')
      if (!final && s.length !== chunkSize + fileChunkOverhead) throw new DecryptError('sealed file is truncated')
      try {
        const decipher = createDecipheriv('aes-256-gcm', fileKey, chunkNonce(index))
        decipher.setAAD(chunkAad(index, final))
        decipher.setAuthTag(s.subarray(s.length - fileChunkOverhead))
        return Buffer.concat([decipher.update(s.subarray(0, s.length - fileChunkOverhead)), decipher.final()])
      } catch {
        throw new DecryptError('sealed file chunk failed authentication')
      }
    }
  }
}

/**
 * The chunk layout of a sealed file of `sealedLength` bytes: how many chunks, and the plaintext size.
 * Throws DecryptError when the length cannot be a whole sealed file (cut inside a tag, no chunk at all).
 */
export function sealedFileLayout (sealedLength: number, chunkSize: number): { chunks: number, plaintextSize: number } {
  const body = sealedLength - fileHeaderLength
  if (body < fileChunkOverhead) throw new DecryptError('sealed file is truncated')
  const sealedChunk = chunkSize + fileChunkOverhead
  const chunks = Math.ceil(body / sealedChunk)
  const lastSealed = body - (chunks - 1) * sealedChunk
  if (lastSealed < fileChunkOverhead) throw new DecryptError('sealed file is truncated')
  return { chunks, plaintextSize: body - chunks * fileChunkOverhead }
}

/** Re-wraps a file key under the current master key (rotation); returns the new header (same length). */
export function rewrapFileHeader (header: Uint8Array, scope: FileKeyScope, ring: Keyring = keyring()): Buffer {
  const { chunkSize, fileKey } = unwrapHeader(header, scope, ring)
  try {
    return wrapKey(fileKey, chunkSize, scope, ring)
  } finally {
    fileKey.fill(0)
  }
}

/** The master key id a sealed file header names, or undefined when it is not a sealed file header. */
export function fileHeaderKeyId (header: Uint8Array): string | undefined {
  const h = Buffer.from(header.buffer, header.byteOffset, header.byteLength)
  if (h.length < fileHeaderLength || !h.subarray(0, 4).equals(magic)) return undefined
  return h.subarray(4, 12).toString('ascii')
}

/** Seals a whole buffer (small files and tests). */
export function sealFile (data: Uint8Array, scope: FileKeyScope, ring: Keyring = keyring(), chunkSize: number = defaultFileChunkSize): Buffer {
  const sealer = createFileSealer(scope, ring, chunkSize)
  return Buffer.concat([sealer.header, ...sealer.update(data), sealer.final()])
}

/** Opens a whole sealed buffer; throws DecryptError on any tampering, truncation or wrong scope. */
export function openFile (sealed: Uint8Array, scope: FileKeyScope, ring: Keyring = keyring()): Buffer {
  const s = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  const opener = openFileHeader(s.subarray(0, fileHeaderLength), scope, ring)
  const { chunks } = sealedFileLayout(s.length, opener.chunkSize)
  const out: Buffer[] = []
  for (let i = 0; i < chunks; i++) {
    const start = fileHeaderLength + i * opener.sealedChunkSize
    out.push(opener.openChunk(i, s.subarray(start, Math.min(s.length, start + opener.sealedChunkSize)), i === chunks - 1))
  }
  return Buffer.concat(out)
}

/** An incremental SHA-256 (media checks the bytes while they stream in). */
export interface Sha256Stream {
  update: (data: Uint8Array) => void
  /** Lowercase hex of everything given to update(). */
  hex: () => string
}

/** Starts an incremental SHA-256. */
export function createSha256 (): Sha256Stream {
  const h = createHash('sha256')
  return {
    update (data) { h.update(data) },
    hex () { return h.digest('hex') }
  }
}

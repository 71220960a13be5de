// The streaming file format: round trips at every size around chunk boundaries, and refusal of every
// kind of tampering — truncation (inside a chunk and at a boundary), reordered or duplicated chunks,
// trailing bytes, a flipped byte anywhere, another workspace's or file's scope, an unknown key — plus
// header re-wrapping for master-key rotation.
import t from 'tap'
import { DecryptError, Keyring } from './index.js'
import { createFileSealer, createSha256, defaultFileChunkSize, fileChunkOverhead, fileHeaderKeyId, fileHeaderLength, openFile, openFileHeader, rewrapFileHeader, sealedFileLayout, sealFile, type FileKeyScope } from './file-cipher.js'
import { createHash, randomBytes } from 'node:crypto'

const ring = new Keyring(Buffer.alloc(32, 1))
const scope: FileKeyScope = { purpose: 'media-file', scope: 'WS_A', context: 'media/WS_A/M1' }
const small = 64

t.test('round trip at sizes around chunk boundaries, streamed in odd pieces', async (t) => {
  for (const size of [0, 1, small - 1, small, small + 1, 2 * small, 3 * small + 7, 10_000]) {
    const plain = randomBytes(size)
    const sealer = createFileSealer(scope, ring, small)
    const parts: Buffer[] = [sealer.header]
    for (let i = 0; i < plain.length; i += 13) parts.push(...sealer.update(plain.subarray(i, i + 13)))
    parts.push(sealer.final())
    const sealed = Buffer.concat(parts)
    t.equal(sealed.length, fileHeaderLength + size + Math.max(1, Math.ceil(size / small)) * fileChunkOverhead, `${size}: one tag per chunk`)
    t.same(sealedFileLayout(sealed.length, small), { chunks: Math.max(1, Math.ceil(size / small)), plaintextSize: size })
    t.ok(openFile(sealed, scope, ring).equals(plain), `${size} bytes round-trip`)
  }
  const big = randomBytes(3 * defaultFileChunkSize + 5)
  t.ok(openFile(sealFile(big, scope, ring), scope, ring).equals(big), 'default 64 KiB chunks')
})

t.test('the plaintext is not in the sealed bytes, and two seals of the same data differ', async (t) => {
  const plain = Buffer.from('CANARY-plaintext-'.repeat(100))
  const a = sealFile(plain, scope, ring, small)
  const b = sealFile(plain, scope, ring, small)
  t.equal(a.indexOf('CANARY'), -1)
  t.notOk(a.equals(b), 'a fresh file key and wrap nonce every time')
})

t.test('truncation, reordering, duplication, trailing bytes and bit flips are all refused', async (t) => {
  const plain = randomBytes(5 * small)
  const sealed = sealFile(plain, scope, ring, small)
  const sc = small + fileChunkOverhead
  const chunk = (i: number): Buffer => sealed.subarray(fileHeaderLength + i * sc, fileHeaderLength + (i + 1) * sc)
  const header = sealed.subarray(0, fileHeaderLength)
  const bad: Array<[string, Buffer]> = [
    ['cut at a chunk boundary (last chunk dropped)', sealed.subarray(0, sealed.length - sc)],
    ['cut inside a chunk', sealed.subarray(0, sealed.length - 20)],
    ['cut inside a tag', sealed.subarray(0, fileHeaderLength + sc + 5)],
    ['header only', Buffer.from(header)],
    ['two chunks swapped', Buffer.concat([header, chunk(1), chunk(0), chunk(2), chunk(3), chunk(4)])],
    ['a chunk duplicated over another', Buffer.concat([header, chunk(0), chunk(0), chunk(2), chunk(3), chunk(4)])],
    ['final chunk moved to the middle', Buffer.concat([header, chunk(0), chunk(4), chunk(2), chunk(3), chunk(1)])],
    ['trailing bytes after the final chunk', Buffer.concat([sealed, Buffer.alloc(fileChunkOverhead + 1)])],
    ['a whole extra chunk appended', Buffer.concat([sealed, chunk(1)])]
  ]
  for (const [what, buf] of bad) t.throws(() => openFile(buf, scope, ring), DecryptError, what)
  for (let i = 0; i < sealed.length; i += 7) {
    const flipped = Buffer.from(sealed)
    flipped[i] = flipped[i]! ^ 0x01
    t.throws(() => openFile(flipped, scope, ring), DecryptError, `byte ${i} flipped`)
  }
})

t.test('another workspace, another file, another purpose or an unknown key cannot open it', async (t) => {
  const sealed = sealFile(Buffer.from('hello'), scope, ring, small)
  t.throws(() => openFile(sealed, { ...scope, scope: 'WS_B' }, ring), DecryptError, 'other workspace key')
  t.throws(() => openFile(sealed, { ...scope, context: 'media/WS_A/M2' }, ring), DecryptError, 'other file id')
  t.throws(() => openFile(sealed, { ...scope, purpose: 'field-encryption' }, ring), DecryptError, 'other purpose')
  t.throws(() => openFile(sealed, scope, new Keyring(Buffer.alloc(32, 2))), /unknown key/, 'a keyring without that master key')
  t.throws(() => openFile(Buffer.from('WMF0' + 'x'.repeat(200)), scope, ring), /not a sealed file/)
})

t.test('random access: any chunk opens on its own, and only with its own index and final flag', async (t) => {
  const plain = randomBytes(3 * small + 10)
  const sealed = sealFile(plain, scope, ring, small)
  const opener = openFileHeader(sealed.subarray(0, fileHeaderLength), scope, ring)
  const sc = opener.sealedChunkSize
  const { chunks } = sealedFileLayout(sealed.length, opener.chunkSize)
  t.equal(chunks, 4)
  const c2 = sealed.subarray(fileHeaderLength + 2 * sc, fileHeaderLength + 3 * sc)
  t.ok(opener.openChunk(2, c2, false).equals(plain.subarray(2 * small, 3 * small)))
  t.throws(() => opener.openChunk(1, c2, false), DecryptError, 'wrong index')
  t.throws(() => opener.openChunk(2, c2, true), DecryptError, 'claimed final')
  const last = sealed.subarray(fileHeaderLength + 3 * sc)
  t.ok(opener.openChunk(3, last, true).equals(plain.subarray(3 * small)))
  t.throws(() => opener.openChunk(3, last, false), DecryptError, 'a short chunk that is not final is a truncation')
})

t.test('rotation: the header is re-wrapped under the new master key; the chunks are untouched', async (t) => {
  const oldKey = Buffer.alloc(32, 3)
  const newKey = Buffer.alloc(32, 4)
  const before = new Keyring(oldKey)
  const plain = randomBytes(2 * small + 3)
  const sealed = sealFile(plain, scope, before, small)
  t.equal(fileHeaderKeyId(sealed), before.current.id)
  const during = new Keyring(newKey, [oldKey])
  t.ok(openFile(sealed, scope, during).equals(plain), 'still opens with the old key listed as previous')
  const header = rewrapFileHeader(sealed.subarray(0, fileHeaderLength), scope, during)
  t.equal(header.length, fileHeaderLength)
  t.equal(fileHeaderKeyId(header), during.current.id)
  const rotated = Buffer.concat([header, sealed.subarray(fileHeaderLength)])
  t.ok(rotated.subarray(fileHeaderLength).equals(sealed.subarray(fileHeaderLength)), 'chunks unchanged')
  const after = new Keyring(newKey)
  t.ok(openFile(rotated, scope, after).equals(plain), 'opens once the old key is gone')
  t.throws(() => openFile(sealed, scope, after), /unknown key/, 'the un-rotated copy needs the old key')
  t.throws(() => rewrapFileHeader(header, { ...scope, scope: 'WS_B' }, during), DecryptError, 're-wrapping checks the scope too')
  t.equal(fileHeaderKeyId(Buffer.from('nope')), undefined)
})

t.test('createSha256 matches a one-shot hash over pieces', async (t) => {
  const data = randomBytes(100_000)
  const h = createSha256()
  for (let i = 0; i < data.length; i += 999) h.update(data.subarray(i, i + 999))
  t.equal(h.hex(), createHash('sha256').update(data).digest('hex'))
})

t.test('the sealer refuses misuse', async (t) => {
  t.throws(() => createFileSealer(scope, ring, 0), RangeError)
  const s = createFileSealer(scope, ring, small)
  s.final()
  t.throws(() => s.update(Buffer.from('x')))
  t.throws(() => s.final())
})

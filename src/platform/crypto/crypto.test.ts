import t from 'tap'
import {
  blindIndex, DecryptError, hashPassword, hashingLoad, idTime, Keyring, needsRehash, newId, open, openBytes,
  parsePhc, randomToken, seal, sealBytes, sealedKeyId, setIndexRoot, timingSafeEqualStr, verifyPassword
} from './index.js'

const k1 = Buffer.alloc(32, 1)
const k2 = Buffer.alloc(32, 2)
const ring = new Keyring(k1)

t.test('a sealed value opens to the same text, and looks nothing like it', async (t) => {
  for (const text of ['', 'hello', 'Olá, São Paulo 🇧🇷', 'x'.repeat(100_000)]) {
    const sealed = seal(text, 'contacts.notes', ring)
    t.equal(open(sealed, 'contacts.notes', ring), text)
    if (text.length > 3) t.notMatch(sealed, text.slice(0, 4))
    t.match(sealed, /^v1\.[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/)
  }
})

t.test('sealing the same text twice gives different ciphertexts', async (t) => {
  t.not(seal('same', 'a.b', ring), seal('same', 'a.b', ring))
})

t.test('100,000 seals never reuse a nonce', async (t) => {
  const nonces = new Set<string>()
  for (let i = 0; i < 100_000; i++) nonces.add(seal('x', 'a.b', ring).split('.')[2]!)
  t.equal(nonces.size, 100_000)
})

t.test('changing any character of a sealed value makes it fail to open', async (t) => {
  const sealed = seal('secret text', 'a.b', ring)
  const body = sealed.lastIndexOf('.') + 1
  for (let i = body; i < sealed.length; i++) {
    const c = sealed[i] === 'A' ? 'B' : 'A'
    const tampered = sealed.slice(0, i) + c + sealed.slice(i + 1)
    // The last base64 character may carry padding bits only: skip changes that decode to the same bytes.
    if (Buffer.from(tampered.slice(body), 'base64url').equals(Buffer.from(sealed.slice(body), 'base64url'))) continue
    t.throws(() => open(tampered, 'a.b', ring), DecryptError)
  }
  const nonceAt = sealed.indexOf('.', 3) + 1
  t.throws(() => open(sealed.slice(0, nonceAt) + (sealed[nonceAt] === 'A' ? 'B' : 'A') + sealed.slice(nonceAt + 1), 'a.b', ring), DecryptError)
  t.throws(() => open('garbage', 'a.b', ring), DecryptError)
  t.throws(() => open('v1.abc.def', 'a.b', ring), DecryptError)
})

t.test('a value moved to another column or workspace (other AAD) fails to open', async (t) => {
  const sealed = seal('phone', 'contacts.phone|ws1', ring)
  t.throws(() => open(sealed, 'contacts.notes|ws1', ring), DecryptError)
  t.throws(() => open(sealed, 'contacts.phone|ws2', ring), DecryptError)
})

t.test('a wrong key cannot open, and says so without leaking the text', async (t) => {
  const sealed = seal('private', 'a.b', ring)
  const other = new Keyring(k2)
  const err = t.throws(() => open(sealed, 'a.b', other)) as Error
  t.type(err, DecryptError)
  t.notMatch(err.message, 'private')
})

t.test('after rotation the previous key still opens old values; new values use the new key', async (t) => {
  const old = seal('kept', 'a.b', ring)
  const rotated = new Keyring(k2, [k1])
  t.equal(open(old, 'a.b', rotated), 'kept')
  const fresh = seal('new', 'a.b', rotated)
  t.equal(sealedKeyId(fresh), rotated.current.id)
  t.not(sealedKeyId(old), rotated.current.id)
  t.throws(() => open(fresh, 'a.b', ring), DecryptError)
})

t.test('the key check recognises the current and previous keys only', async (t) => {
  const check = ring.keyCheck()
  t.equal(ring.matchKeyCheck(check), 'current')
  t.equal(new Keyring(k2, [k1]).matchKeyCheck(check), 'previous')
  t.equal(new Keyring(k2).matchKeyCheck(check), undefined)
  t.equal(ring.matchKeyCheck('nonsense'), undefined)
  t.equal(ring.matchKeyCheck(check.slice(0, -2) + 'xx'), undefined)
})

t.test('sub-keys differ per purpose and per scope, and are stable', async (t) => {
  t.not(ring.subKey('a').toString('hex'), ring.subKey('b').toString('hex'))
  t.not(ring.subKey('a', 'ws1').toString('hex'), ring.subKey('a', 'ws2').toString('hex'))
  t.equal(new Keyring(k1).subKey('a', 'ws1').toString('hex'), ring.subKey('a', 'ws1').toString('hex'))
})

t.test('malformed master keys are refused', async (t) => {
  t.throws(() => new Keyring(Buffer.alloc(16)))
  t.throws(() => Keyring.fromBase64('too-short'))
  t.ok(Keyring.fromBase64(k1.toString('base64') + '\n'))
})

t.test('sealed bytes round-trip and fail on tamper or wrong AAD', async (t) => {
  const data = Buffer.from('binary\u0000data'.repeat(1000))
  const sealed = sealBytes(data, 'media:ws1:m1', ring)
  t.same(openBytes(sealed, 'media:ws1:m1', ring), data)
  t.throws(() => openBytes(sealed, 'media:ws1:m2', ring), DecryptError)
  const tampered = Buffer.from(sealed)
  tampered[40] = tampered[40]! ^ 1
  t.throws(() => openBytes(tampered, 'media:ws1:m1', ring), DecryptError)
})

t.test('blind indexes are deterministic per workspace and differ across workspaces and purposes', async (t) => {
  setIndexRoot(Buffer.alloc(32, 9))
  const a = blindIndex('contact.phone', 'ws1', '+5511987654321')
  t.equal(blindIndex('contact.phone', 'ws1', '+5511987654321'), a)
  t.not(blindIndex('contact.phone', 'ws2', '+5511987654321'), a)
  t.not(blindIndex('contact.email', 'ws1', '+5511987654321'), a)
  t.equal(a.length, 43)
  t.notMatch(a, '5511')
})

t.test('ids are 26 characters, time-sortable and unique', async (t) => {
  const ids = Array.from({ length: 10_000 }, (_, i) => newId(1_700_000_000_000 + i))
  t.equal(new Set(ids).size, ids.length)
  t.same([...ids].sort(), ids)
  t.equal(idTime(ids[5]!), 1_700_000_000_005)
  t.equal(idTime('not an id'), undefined)
  t.match(newId(), /^[0-9A-HJKMNP-TV-Z]{26}$/)
})

t.test('the 80 random bits of an id use every character in every position, and ids of one millisecond never repeat', async (t) => {
  const ids = Array.from({ length: 5000 }, () => newId(1_700_000_000_000))
  t.equal(new Set(ids).size, ids.length)
  for (let pos = 10; pos < 26; pos++) t.equal(new Set(ids.map(id => id[pos])).size, 32, `position ${pos}: all 32 characters`)
})

t.test('random tokens carry at least 128 bits and never repeat', async (t) => {
  const tokens = new Set(Array.from({ length: 100_000 }, () => randomToken(16)))
  t.equal(tokens.size, 100_000)
  t.ok(Buffer.from(randomToken(), 'base64url').length >= 16)
})

t.test('timing-safe comparison is exact', async (t) => {
  t.ok(timingSafeEqualStr('abc', 'abc'))
  t.notOk(timingSafeEqualStr('abc', 'abd'))
  t.notOk(timingSafeEqualStr('abc', 'abcd'))
})

t.test('passwords hash with argon2id and OWASP parameters, verify exactly as typed', async (t) => {
  const pw = 'correct horse battery staple ' + 'é'.repeat(60)
  const hash = await hashPassword(pw)
  t.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  t.same(parsePhc(hash)?.params, { memory: 19456, passes: 2, parallelism: 1 })
  t.ok(await verifyPassword(pw, hash))
  t.notOk(await verifyPassword(pw.trim() + ' ', hash))
  t.notOk(await verifyPassword(pw.slice(0, 72), hash), 'no truncation at 72 bytes')
  t.notOk(await verifyPassword('', hash))
  t.notOk(await verifyPassword(pw, 'not a hash'))
})

t.test('weaker stored parameters ask for a rehash', async (t) => {
  const weak = await hashPassword('pw', { memory: 1024, passes: 1, parallelism: 1 })
  t.ok(needsRehash(weak))
  t.notOk(needsRehash(await hashPassword('pw')))
  t.ok(needsRehash('garbage'))
})

t.test('a burst of hashes runs at most two at a time', async (t) => {
  let peak = 0
  const timer = setInterval(() => { peak = Math.max(peak, hashingLoad().running) }, 1)
  await Promise.all(Array.from({ length: 8 }, (_, i) => hashPassword(`pw${i}`)))
  clearInterval(timer)
  t.ok(peak <= 2, `peak concurrency ${peak}`)
  t.same(hashingLoad(), { running: 0, queued: 0 })
})

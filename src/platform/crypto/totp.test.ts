import t from 'tap'
import { base32Decode, base32Encode, hotp, newRecoveryCode, newTotpSecret, totpCode, totpStep, totpUri, verifyTotp } from './index.js'

// RFC 6238 Appendix B, SHA1 rows: the seed is the ASCII string "12345678901234567890".
const seed = Buffer.from('12345678901234567890', 'ascii')
const vectors: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130']
]

t.test('the RFC 6238 test vectors (SHA1) come out right with 8 digits, and their last 6 with 6 digits', async (t) => {
  for (const [seconds, expected] of vectors) {
    t.equal(totpCode(seed, seconds * 1000, 8), expected, `T=${seconds} (8 digits)`)
    t.equal(totpCode(seed, seconds * 1000), expected.slice(2), `T=${seconds} (6 digits)`)
    t.not(verifyTotp(seed, expected.slice(2), seconds * 1000), undefined, `T=${seconds} verifies`)
  }
})

t.test('the RFC 4226 HOTP test values come out right', async (t) => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489']
  expected.forEach((code, counter) => t.equal(hotp(seed, counter), code, `counter ${counter}`))
})

t.test('a code is accepted one step early or late, not two, and the matching step is returned', async (t) => {
  const now = 1_700_000_000_000
  const step = totpStep(now)
  t.equal(verifyTotp(seed, hotp(seed, step), now), step)
  t.equal(verifyTotp(seed, hotp(seed, step - 1), now), step - 1)
  t.equal(verifyTotp(seed, hotp(seed, step + 1), now), step + 1)
  t.equal(verifyTotp(seed, hotp(seed, step - 2), now), undefined)
  t.equal(verifyTotp(seed, hotp(seed, step + 2), now), undefined)
  t.equal(verifyTotp(seed, hotp(seed, step - 1), now, { window: 0 }), undefined)
})

t.test('anything but exactly six ASCII digits is refused without guessing', async (t) => {
  const now = 1_700_000_000_000
  const code = totpCode(seed, now)
  for (const bad of ['', code.slice(1), code + '0', ` ${code}`, code.replace(/./, 'a'), '１２３４５６', '12345.']) {
    t.equal(verifyTotp(seed, bad, now), undefined, JSON.stringify(bad))
  }
})

t.test('base32 follows RFC 4648 (section 10 vectors, without padding) and round-trips any bytes', async (t) => {
  const cases: Array<[string, string]> = [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']]
  for (const [plain, encoded] of cases) {
    t.equal(base32Encode(Buffer.from(plain)), encoded)
    t.equal(base32Decode(encoded).toString(), plain)
  }
  t.equal(base32Encode(seed), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
  for (let i = 0; i < 50; i++) {
    const bytes = newTotpSecret().subarray(0, i % 21)
    t.same(base32Decode(base32Encode(bytes)), bytes)
  }
})

t.test('base32 decoding forgives case, spaces, dashes and padding, and refuses other characters', async (t) => {
  t.equal(base32Decode('mzxw 6ytb-oi==').toString(), 'foobar')
  t.throws(() => base32Decode('MZXW1'), /invalid character/)
  t.throws(() => base32Decode('M'), /invalid length/)
})

t.test('a new secret has 160 random bits', async (t) => {
  const a = newTotpSecret()
  t.equal(a.length, 20)
  t.not(a.toString('hex'), newTotpSecret().toString('hex'))
  t.match(base32Encode(a), /^[A-Z2-7]{32}$/)
})

t.test('the otpauth URI names the issuer and account and carries the parameters apps expect', async (t) => {
  const uri = totpUri({ issuer: 'Weltra', account: 'ana@example.com', secret: seed })
  t.equal(uri, 'otpauth://totp/Weltra:ana%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Weltra&algorithm=SHA1&digits=6&period=30')
})

t.test('recovery codes look like xxxx-xxxx-xx, avoid look-alike characters and do not repeat', async (t) => {
  const codes = Array.from({ length: 2000 }, () => newRecoveryCode())
  t.same(codes.filter(c => !/^[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{2}$/.test(c)), [])
  t.equal(new Set(codes).size, 2000)
})

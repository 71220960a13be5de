// Webhook signature checks against the shared fixtures' exact bytes and the SECURITY §3.1 header corpus.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { hmacSha256Hex } from '../crypto/index.js'
import { signatureHeader, verifySignature } from './webhook-signature.js'

const repoRoot = join(import.meta.dirname, '..', '..', '..')
const webhooksDir = join(repoRoot, 'test', 'fixtures', 'whatsapp', 'webhooks')
// The fixtures are copied byte-for-byte from shared/whatsapp into test/fixtures (they are signed as bytes).

const secret = 'fixture-app-secret-NOT-REAL-7f3c2a91'
const oldSecret = 'previous-secret-during-rotation'
const fixtureFiles = readdirSync(webhooksDir).filter(f => f.endsWith('.json')).sort()

t.test('every fixture verifies over its exact bytes, and fails once re-serialised or padded', async (t) => {
  t.ok(fixtureFiles.length >= 20, 'fixtures found')
  for (const file of fixtureFiles) {
    const raw = readFileSync(join(webhooksDir, file))
    const header = 'sha256=' + hmacSha256Hex(secret, raw)
    t.equal(signatureHeader(raw, secret), header, `${file}: signatureHeader`)
    t.ok(verifySignature(raw, header, [secret]), `${file}: exact bytes verify`)
    t.ok(verifySignature(raw, header, [oldSecret, secret]), `${file}: verifies with the current secret among several`)
    // What a JSON body parser + JSON.stringify would hash: compact, `/` and non-ASCII unescaped.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8')
    t.notOk(reserialised.equals(raw), `${file}: re-serialised bytes differ`)
    t.notOk(verifySignature(reserialised, header, [secret]), `${file}: re-serialised JSON fails`)
    for (const extra of ['\n', ' ', '\ufeff']) {
      t.notOk(verifySignature(Buffer.concat([raw, Buffer.from(extra, 'utf8')]), header, [secret]), `${file}: trailing ${JSON.stringify(extra)} fails`)
    }
    t.notOk(verifySignature(Buffer.concat([Buffer.from('\ufeff', 'utf8'), raw]), header, [secret]), `${file}: leading BOM fails`)
  }
})

t.test('the non-ASCII fixture is signed over its escaped form, not the decoded text', async (t) => {
  const raw = readFileSync(join(webhooksDir, '23-non-ascii-text.json'))
  t.ok(raw.every(b => b < 0x80), 'the wire bytes are pure ASCII')
  const header = signatureHeader(raw, secret)
  t.notOk(verifySignature(Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8'), header, [secret]))
})

t.test('the §3.1 header corpus is refused', async (t) => {
  const raw = Buffer.from('{"object":"whatsapp_business_account","entry":[]}')
  const hex = hmacSha256Hex(secret, raw)
  const good = `sha256=${hex}`
  t.ok(verifySignature(raw, good, [secret]), 'control: the good header passes')
  t.ok(verifySignature(raw, `sha256=${hex.toUpperCase()}`, [secret]), 'uppercase hex compares case-insensitively')
  t.ok(verifySignature(raw, good, [oldSecret, secret]), 'rotation: old + new secret configured')
  t.ok(verifySignature(raw, `sha256=${hmacSha256Hex(oldSecret, raw)}`, [secret, oldSecret]), 'the old secret passes while still configured')
  t.notOk(verifySignature(raw, `sha256=${hmacSha256Hex(oldSecret, raw)}`, [secret]), 'the old secret fails once removed')
  const bad: Array<[string, string | string[] | undefined]> = [
    ['missing', undefined],
    ['empty', ''],
    ['prefix only', 'sha256='],
    ['sha1', `sha1=${hmacSha256Hex(secret, raw).slice(0, 40)}`],
    ['sha1 prefix with a sha256 value', `sha1=${hex}`],
    ['uppercase prefix', `SHA256=${hex}`],
    ['63 hex', `sha256=${hex.slice(0, 63)}`],
    ['65 hex', `sha256=${hex}0`],
    ['no prefix', hex],
    ['leading space', ` ${good}`],
    ['trailing space', `${good} `],
    ['trailing newline', `${good}\n`],
    ['non-hex char', `sha256=${hex.slice(0, 63)}g`],
    ['two headers', [good, good]],
    ['one header in an array', [good]],
    ['comma-joined duplicates', `${good}, ${good}`],
    ['another secret', `sha256=${hmacSha256Hex('some-other-secret', raw)}`],
    ['another body', `sha256=${hmacSha256Hex(secret, Buffer.from('{}'))}`],
    ['non-ASCII junk', `sha256=${'é'.repeat(64)}`]
  ]
  for (const [name, header] of bad) t.notOk(verifySignature(raw, header, [secret]), name)
  t.notOk(verifySignature(raw, good, []), 'no secret configured')
  t.notOk(verifySignature(raw, `sha256=${hmacSha256Hex('', raw)}`, ['']), 'an empty secret never verifies')
  t.notOk(verifySignature(Buffer.alloc(0), `sha256=${hmacSha256Hex(secret, Buffer.alloc(0))}`, ['']), 'empty body with an empty secret')
})

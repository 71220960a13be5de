// The webhook endpoint's contract (SECURITY.md F34–F36, F39): only correctly signed exact bytes are
// stored, they are stored encrypted before the 200, and nothing else is ever stored.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createUser } from '../../../test/helpers/accounts.js'
import { deliver, fixtureSecret as secret, fixturesDir as fixtures, withChannel } from '../../../test/helpers/whatsapp.js'
import { signatureHeader } from '../../platform/whatsapp/webhook-signature.js'
import { createChannel } from '../channels/channels.service.js'
import { listWebhookEvents, payloadBytes } from './webhook-events.store.js'

t.test('every fixture, posted byte for byte with its signature, is acknowledged and stored exactly', async (t) => {
  const env = await withChannel(t)
  const files = readdirSync(fixtures).filter(f => f.endsWith('.json')).sort()
  t.ok(files.length >= 20)
  for (const f of files) {
    const body = readFileSync(join(fixtures, f))
    const res = await deliver(env, env.url, body)
    t.equal(res.statusCode, 200, f)
  }
  const stored = listWebhookEvents(env.deps.db, env.channel.workspaceId)
  t.equal(stored.length, files.length)
  t.ok(payloadBytes(stored[0]!).equals(readFileSync(join(fixtures, files[0]!))), 'the exact bytes are kept')
  const raw = JSON.stringify(env.deps.sqlite.prepare('SELECT payload FROM webhook_events').all())
  t.notMatch(raw, /wamid|messaging_product|whatsapp_business_account/, 'payloads are encrypted at rest')
  t.ok(env.deps.sqlite.prepare('SELECT last_webhook_at FROM channels').get(), 'the channel records the delivery')
})

t.test('bad or missing signatures are refused with 401 and nothing is stored', async (t) => {
  const env = await withChannel(t)
  const body = readFileSync(join(fixtures, '01-text.json'))
  const good = signatureHeader(body, secret)
  const hex = good.slice(7)
  const cases: Array<[string, string | string[] | null, Buffer]> = [
    ['no header', null, body],
    ['empty', '', body],
    ['sha1 only', 'sha1=' + hex.slice(0, 40), body],
    ['63 hex', 'sha256=' + hex.slice(1), body],
    ['65 hex', 'sha256=' + hex + '0', body],
    ['two headers', [good, good], body],
    ['another body', good, Buffer.concat([body, Buffer.from(' ')])],
    ['re-serialised JSON', good, Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))))],
    ['another secret', signatureHeader(body, 'not-the-secret'), body]
  ]
  for (const [name, signature, payload] of cases) {
    t.equal((await deliver(env, env.url, payload, signature)).statusCode, 401, name)
  }
  t.equal(env.count('webhook_events'), 0)
})

t.test("a delivery signed with channel A's secret is refused at channel B's URL", async (t) => {
  const env = await withChannel(t)
  const owner = await createUser(env.deps, { workspace: 'Other shop' })
  const b = createChannel(env.deps.db, owner.workspaceId!, { name: 'B', wabaId: '2', phoneNumberId: '3', accessToken: 'EAAG-other-9999', appSecret: 'secret-of-b', graphApiVersion: 'v25.0' }, env.clock.now())
  const body = readFileSync(join(fixtures, '01-text.json'))
  t.equal((await deliver(env, `/webhooks/whatsapp/${b.publicId}`, body)).statusCode, 401)
  t.equal((await deliver(env, '/webhooks/whatsapp/unknown-channel-id', body)).statusCode, 404)
  t.equal(env.count('webhook_events'), 0)
})

t.test('any content type is taken as raw bytes; 2.9 MB is accepted, over 4 MiB is 413', async (t) => {
  const env = await withChannel(t)
  const small = Buffer.from('{"object":"whatsapp_business_account","entry":[]}')
  t.equal((await deliver(env, env.url, small, null, { 'content-type': 'text/plain' })).statusCode, 401)
  t.equal((await deliver(env, env.url, small, signatureHeader(small, secret), { 'content-type': 'text/plain' })).statusCode, 200)
  const big = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(2_900_000) }))
  t.equal((await deliver(env, env.url, big)).statusCode, 200, '2.9 MB batch')
  const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)
  t.equal((await deliver(env, env.url, huge)).statusCode, 413)
  const invalidUtf8 = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
  t.equal((await deliver(env, env.url, invalidUtf8)).statusCode, 200, 'signed garbage is still acknowledged (stored for the dead-letter view)')
  t.equal(env.count('webhook_events'), 3)
})

t.test('a full disk answers 503 so Meta retries, and nothing is acknowledged', async (t) => {
  const env = await withChannel(t)
  const body = readFileSync(join(fixtures, '01-text.json'))
  const pages = Number(env.deps.sqlite.pragma('page_count', { simple: true }))
  env.deps.sqlite.pragma(`max_page_count = ${pages}`)
  const res = await deliver(env, env.url, Buffer.concat([body, Buffer.alloc(0)]).subarray(0), signatureHeader(Buffer.from(JSON.stringify({ pad: 'y'.repeat(20_000) })), secret))
  t.equal(res.statusCode, 401, 'signature first')
  const padded = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'y'.repeat(50_000) }))
  t.equal((await deliver(env, env.url, padded)).statusCode, 503)
  env.deps.sqlite.pragma('max_page_count = 1073741823')
  t.equal((await deliver(env, env.url, padded)).statusCode, 200, 'the retry is stored once space is back')
})

t.test('the verification handshake echoes a numeric challenge only for the channel token', async (t) => {
  const env = await withChannel(t)
  const token = env.channel.verifyToken
  const q = (params: string): Promise<{ statusCode: number, body: string }> => env.app.inject({ url: `${env.url}?${params}` })
  const ok = await q(`hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`)
  t.equal(ok.statusCode, 200)
  t.equal(ok.body, '1158201444')
  t.ok(env.deps.sqlite.prepare('SELECT webhook_verified_at FROM channels WHERE webhook_verified_at IS NOT NULL').get(), 'the channel shows "webhook verified"')
  for (const bad of [
    'hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1',
    `hub.mode=unsubscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1`,
    `hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}`,
    `hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=%3Cscript%3Ealert(1)%3C%2Fscript%3E`,
    `hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=${'9'.repeat(10_000)}`,
    `hub.mode=subscribe&hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1`
  ]) {
    const res = await q(bad)
    t.equal(res.statusCode, 403, bad.slice(0, 60))
    t.notMatch(res.body, /script|999/)
  }
})

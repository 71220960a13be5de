// Graph client against the fake Graph server over real HTTP on 127.0.0.1: every call, every scripted fault,
// the media download guards, and that the access token never appears in an error.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { sha256Hex } from '../crypto/index.js'
import { startFakeGraph, type FakeGraph } from './fake-graph.js'
import { createGraphClient, GraphError, type GraphClient } from './graph-client.js'

const token = 'EAAG-test-token-NOT-REAL-c0ffee1234'
const pnid = '109876543210001'
const waba = '209876543210001'
const version = 'v25.0'

let fake: FakeGraph
let client: GraphClient

t.before(async () => {
  fake = await startFakeGraph({ accessToken: token })
})
t.teardown(async () => { await fake.close() })
t.beforeEach(() => {
  fake.reset()
  fake.addPhoneNumber({ id: pnid, display: '+1 555-010-0001', verifiedName: 'Weltra Demo', wabaId: waba })
  client = createGraphClient({ baseUrl: fake.url, version, accessToken: token, timeoutMs: 2000 })
})

// Awaits a rejection, checks it is a GraphError without the token anywhere, and returns it.
async function graphError (t: Test, p: Promise<unknown>): Promise<GraphError> {
  try {
    await p
  } catch (err) {
    t.ok(err instanceof GraphError, `a GraphError, got ${String(err)}`)
    const e = err as GraphError
    t.notOk(e.message.includes(token), 'the token is not in the message')
    t.notOk(JSON.stringify(e).includes(token), 'the token is not in any field')
    t.notOk(String(e.stack).includes(token), 'the token is not in the stack')
    return e
  }
  t.fail('expected a rejection')
  throw new Error('no rejection')
}

t.test('every call sends the Bearer token and a JSON accept header', async (t) => {
  await client.getPhoneNumber(pnid)
  await client.subscribeApp(waba)
  await client.listTemplates(waba)
  t.equal(fake.requests.length, 3)
  for (const r of fake.requests) {
    t.equal(r.headers.authorization, `Bearer ${token}`)
    t.equal(r.headers.accept, 'application/json')
    t.ok(r.path.startsWith(`/${version}/`), 'versioned path')
  }
})

t.test('getPhoneNumber returns the display number, name, quality and tier', async (t) => {
  const p = await client.getPhoneNumber(pnid)
  t.match(p, { id: pnid, displayPhoneNumber: '+1 555-010-0001', verifiedName: 'Weltra Demo', qualityRating: 'GREEN', messagingLimitTier: 'TIER_1K', throughputLevel: 'STANDARD', nameStatus: 'APPROVED' })
  t.match(fake.requests[0]!.query.get('fields'), /display_phone_number/)
})

t.test('an unknown phone number id is a not-found GraphError 100/33', async (t) => {
  const e = await graphError(t, client.getPhoneNumber('1880000000000099'))
  t.match(e, { code: 100, subcode: 33, httpStatus: 400, ambiguous: false, classification: { retry: 'no', userMessageKey: 'whatsapp.error.notFound' } })
  t.ok(e.fbtraceId)
})

t.test('subscribeApp posts subscribed_apps for the WABA', async (t) => {
  await client.subscribeApp(waba)
  t.ok(fake.subscribedWabas.has(waba))
  t.equal(fake.requests[0]!.method, 'POST')
  t.equal(fake.requests[0]!.path, `/${version}/${waba}/subscribed_apps`)
})

t.test('sendMessage adds messaging_product and returns the wamid and the resolved contact', async (t) => {
  const sent = await client.sendMessage(pnid, { to: '+1 555-010-0111', type: 'text', text: { body: 'Hello' } })
  t.match(sent.wamid, /^wamid\.FAKE/)
  t.equal(sent.input, '+1 555-010-0111')
  t.equal(sent.waId, '15550100111')
  t.equal(fake.sentMessages.length, 1)
  t.equal(fake.sentMessages[0]!.wamid, sent.wamid)
  t.same(fake.sentMessages[0]!.body, { to: '+1 555-010-0111', type: 'text', text: { body: 'Hello' }, messaging_product: 'whatsapp' })
  t.equal(fake.requests[0]!.headers['content-type'], 'application/json')
  const second = await client.sendMessage(pnid, { to: '15550100111', type: 'text', text: { body: 'Again' } })
  t.not(second.wamid, sent.wamid, 'wamids are unique')
})

t.test('sendMessage to a BSUID recipient returns user_id and a template send its message_status', async (t) => {
  const bs = await client.sendMessage(pnid, { recipient: 'US.13491208655302741918', type: 'text', text: { body: 'Hi' } })
  t.equal(bs.userId, 'US.13491208655302741918')
  t.equal(bs.waId, undefined)
  const tpl = await client.sendMessage(pnid, { to: '15550100111', type: 'template', template: { name: 'appointment_reminder', language: { code: 'en_US' } } })
  t.equal(tpl.messageStatus, 'accepted')
})

t.test('a 200 without messages[0].id is an ambiguous GraphError', async (t) => {
  fake.script('/messages', { error: { status: 200, body: { messaging_product: 'whatsapp', contacts: [], messages: [] } } })
  const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.equal(e.httpStatus, 200)
  t.equal(e.ambiguous, true)
})

t.test('markRead posts status read for the wamid, with an optional typing indicator', async (t) => {
  await client.markRead(pnid, 'wamid.IN1')
  await client.markRead(pnid, 'wamid.IN2', { typing: true })
  t.same(fake.readReceipts, [{ phoneNumberId: pnid, wamid: 'wamid.IN1' }, { phoneNumberId: pnid, wamid: 'wamid.IN2' }])
  t.same(JSON.parse(fake.requests[1]!.body.toString('utf8')), { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.IN2', typing_indicator: { type: 'text' } })
  t.equal(fake.sentMessages.length, 0, 'a read receipt is not a sent message')
})

t.test('media metadata and download return the bytes with the Bearer token', async (t) => {
  const bytes = Buffer.from('\x89PNG fake image bytes '.repeat(100), 'latin1')
  fake.setMedia('1880000000000002', { bytes, mimeType: 'image/png' })
  const meta = await client.getMediaMetadata('1880000000000002')
  t.match(meta, { id: '1880000000000002', mimeType: 'image/png', sha256: sha256Hex(bytes), fileSize: bytes.length })
  t.ok(meta.url.startsWith(fake.url + '/media-bytes/'), 'the url points back at the fake')
  const got = await client.downloadMedia(meta.url, { maxBytes: 1_000_000 })
  t.ok(got.bytes.equals(bytes))
  t.equal(got.contentType, 'image/png')
  t.equal(fake.requests.at(-1)!.headers.authorization, `Bearer ${token}`)
})

t.test('uploadMedia sends multipart form data and returns a media id the fake can serve', async (t) => {
  const bytes = Buffer.from('%PDF-1.4 fake document')
  const { id } = await client.uploadMedia(pnid, { bytes, mimeType: 'application/pdf', filename: 'invoice.pdf' })
  t.match(id, /^\d+$/)
  t.match(String(fake.requests[0]!.headers['content-type']), /^multipart\/form-data; boundary=/)
  t.ok(fake.getMedia(id)?.bytes.equals(bytes), 'stored bytes are the uploaded bytes')
  t.equal(fake.getMedia(id)?.mimeType, 'application/pdf')
  const meta = await client.getMediaMetadata(id)
  t.equal(meta.sha256, sha256Hex(bytes))
})

t.test('listTemplates follows the after cursor until the last page', async (t) => {
  const first = await client.listTemplates(waba)
  t.same(first.templates.map(x => x.name), ['appointment_reminder', 'order_shipped'])
  t.equal(first.templates[1]!.parameterFormat, 'NAMED')
  t.ok(first.after)
  const second = await client.listTemplates(waba, { after: first.after! })
  t.same(second.templates.map(x => `${x.name}:${x.status}`), ['autumn_sale:PAUSED', 'login_code:REJECTED'])
  t.equal(second.after, undefined, 'no next page')
  t.equal(fake.requests[1]!.query.get('after'), first.after)
})

t.test('scripted Graph error fixtures become GraphErrors with their code and classification', async (t) => {
  const cases: Array<[string, number, number, string]> = [
    ['error-131047-reengagement', 131047, 400, 'no'],
    ['error-130429-throughput', 130429, 400, 'backoff'],
    ['error-131056-pair-rate', 131056, 400, 'recipient-backoff'],
    ['error-132001-template-missing', 132001, 404, 'no'],
    ['error-368-policy-block', 368, 403, 'pause-channel'],
    ['error-131000-generic', 131000, 500, 'backoff']
  ]
  for (const [fixture, code, status, retry] of cases) {
    fake.script('/messages', { error: fixture })
    const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
    t.match(e, { code, httpStatus: status, ambiguous: false, classification: { retry } }, fixture)
    t.match(e.message, `#${code}`)
  }
  t.equal(fake.sentMessages.length, 0, 'a scripted error means the message was not taken')
})

t.test('a wrong token gives 401 error 190, classified pause-channel', async (t) => {
  const bad = createGraphClient({ baseUrl: fake.url, version, accessToken: 'EAAG-wrong-token-NOT-REAL', timeoutMs: 2000 })
  const e = await graphError(t, bad.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.match(e, { code: 190, httpStatus: 401, ambiguous: false, classification: { retry: 'pause-channel', userMessageKey: 'whatsapp.error.tokenExpired' } })
  t.notOk(e.message.includes('EAAG-wrong-token-NOT-REAL'))
})

t.test('a token echoed by Meta in an error message is redacted', async (t) => {
  fake.script('/messages', { error: { status: 400, body: { error: { message: `Invalid OAuth access token - Cannot parse access token ${token}`, type: 'OAuthException', code: 190, error_data: { details: `token ${token}` } } } } })
  const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.equal(e.code, 190)
  t.match(e.message, '[redacted]')
})

t.test('a bare 5xx without a Graph body is temporary and ambiguous', async (t) => {
  for (const status of [500, 502, 503]) {
    fake.script('/messages', { status })
    const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
    t.match(e, { code: undefined, httpStatus: status, ambiguous: true, classification: { retry: 'backoff' } }, String(status))
  }
})

t.test('an HTML error page is a GraphError, not a JSON exception', async (t) => {
  fake.script('/messages', { html: true })
  const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.match(e, { httpStatus: 502, ambiguous: true, classification: { retry: 'backoff' } })
  t.match(e.message, 'HTML')
  fake.script(`/${pnid}`, { html: true, status: 404 })
  const e404 = await graphError(t, client.getPhoneNumber(pnid))
  t.match(e404, { httpStatus: 404, ambiguous: false })
})

t.test('a truncated JSON success is an ambiguous GraphError', async (t) => {
  fake.script('/messages', { truncate: true })
  const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.match(e, { httpStatus: 200, ambiguous: true })
  t.equal(fake.sentMessages.length, 1, 'the fake did take the message')
})

t.test('a stalled answer times out as an ambiguous GraphError', async (t) => {
  const quick = createGraphClient({ baseUrl: fake.url, version, accessToken: token, timeoutMs: 150 })
  fake.script('/messages', { delayMs: 2000 })
  const started = Date.now()
  const e = await graphError(t, quick.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.ok(Date.now() - started < 1500, 'gave up at the deadline')
  t.match(e, { httpStatus: 0, ambiguous: true, classification: { retry: 'backoff' } })
  t.match(e.message, 'timed out')
})

t.test('a connection reset after the request was read is ambiguous', async (t) => {
  fake.script('/messages', { reset: 'after' })
  const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.match(e, { httpStatus: 0, ambiguous: true, classification: { retry: 'backoff' } })
  t.equal(fake.sentMessages.length, 1, 'the fake did take the message')
})

t.test('a connection reset before the body was read is also reported ambiguous (a client cannot tell it apart)', async (t) => {
  fake.script('/messages', { reset: 'before' })
  const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.match(e, { httpStatus: 0, ambiguous: true })
  t.equal(fake.sentMessages.length, 0)
})

t.test('a refused connection is not ambiguous', async (t) => {
  const probe = await startFakeGraph()
  const deadUrl = probe.url
  await probe.close()
  const dead = createGraphClient({ baseUrl: deadUrl, version, accessToken: token, timeoutMs: 2000 })
  const e = await graphError(t, dead.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.match(e, { httpStatus: 0, ambiguous: false, classification: { retry: 'backoff' } })
  t.match(e.message, 'ECONNREFUSED')
})

t.test('Retry-After is read into retryAfterSeconds', async (t) => {
  fake.script('/messages', { retryAfter: 7 })
  const e = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.match(e, { httpStatus: 503, retryAfterSeconds: 7, ambiguous: true })
  fake.script('/messages', { error: 'error-130429-throughput', retryAfter: 2 })
  const e2 = await graphError(t, client.sendMessage(pnid, { to: '1555', type: 'text', text: { body: 'x' } }))
  t.match(e2, { code: 130429, retryAfterSeconds: 2, ambiguous: false })
})

t.test('downloadMedia refuses bodies above maxBytes, by header and while streaming', async (t) => {
  fake.setMedia('m1', { bytes: Buffer.alloc(5000, 7), mimeType: 'video/mp4' })
  const meta = await client.getMediaMetadata('m1')
  const e = await graphError(t, client.downloadMedia(meta.url, { maxBytes: 4999 }))
  t.match(e, { ambiguous: false, classification: { retry: 'no', userMessageKey: 'whatsapp.error.media' } })
  t.match(e.message, 'limit')
  t.notOk(e.message.includes('?'), 'no query string in the message')
  // A server that sends no Content-Length (chunked) is cut off by counting.
  const chunked = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    let n = 0
    const timer = setInterval(() => { res.write(Buffer.alloc(1024)); if (++n === 20) { clearInterval(timer); res.end() } }, 1)
  })
  const c = createGraphClient({ baseUrl: chunked.url, version, accessToken: token, timeoutMs: 2000 })
  const e2 = await graphError(t, c.downloadMedia(`${chunked.url}/file?hash=secret`, { maxBytes: 4096 }))
  t.match(e2.message, 'limit')
  const ok = await c.downloadMedia(`${chunked.url}/file`, { maxBytes: 1_000_000 })
  t.equal(ok.bytes.length, 20 * 1024)
  await chunked.close()
})

t.test('downloadMedia refuses redirects', async (t) => {
  const redirector = await listen((_req, res) => {
    res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' })
    res.end()
  })
  const c = createGraphClient({ baseUrl: redirector.url, version, accessToken: token, timeoutMs: 2000 })
  const e = await graphError(t, c.downloadMedia(`${redirector.url}/media`, { maxBytes: 1000 }))
  t.match(e, { httpStatus: 302, ambiguous: false, classification: { retry: 'no' } })
  t.match(e.message, 'redirect')
  await redirector.close()
})

t.test('downloadMedia refuses http URLs on any origin but the configured base URL', async (t) => {
  fake.setMedia('m2', { bytes: Buffer.from('abc'), mimeType: 'text/plain' })
  const other = await startFakeGraph({ accessToken: token })
  other.setMedia('m2', { bytes: Buffer.from('abc'), mimeType: 'text/plain' })
  const e = await graphError(t, client.downloadMedia(`${other.url}/media-bytes/m2`, { maxBytes: 1000 }))
  t.match(e, { httpStatus: 0, ambiguous: false, classification: { retry: 'no' } })
  t.match(e.message, 'not https')
  t.equal(other.requests.length, 0, 'no request went out')
  await graphError(t, client.downloadMedia('ftp://127.0.0.1/x', { maxBytes: 1000 }))
  await graphError(t, client.downloadMedia('not a url', { maxBytes: 1000 }))
  const same = await client.downloadMedia(`${fake.url}/media-bytes/m2`, { maxBytes: 1000 })
  t.equal(same.bytes.toString(), 'abc')
  await other.close()
})

t.test('a media download error answer (token expired) is classified like any Graph call', async (t) => {
  fake.setMedia('m3', { bytes: Buffer.from('abc'), mimeType: 'text/plain' })
  const bad = createGraphClient({ baseUrl: fake.url, version, accessToken: 'EAAG-other-NOT-REAL', timeoutMs: 2000 })
  const e = await graphError(t, bad.downloadMedia(`${fake.url}/media-bytes/m3`, { maxBytes: 1000 }))
  t.match(e, { code: 190, httpStatus: 401, classification: { retry: 'pause-channel' } })
})

t.test('options are validated', async (t) => {
  t.throws(() => createGraphClient({ version: '25', accessToken: token }), TypeError)
  t.throws(() => createGraphClient({ version, accessToken: '' }), TypeError)
  await t.rejects(client.getPhoneNumber(''), TypeError)
  await client.getPhoneNumber(pnid)
  t.equal(createGraphClient({ version, accessToken: token }) !== undefined, true, 'defaults to graph.facebook.com without a request')
})

async function listen (handler: Parameters<typeof createServer>[1]): Promise<{ url: string, close: () => Promise<void> }> {
  const server: Server = createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

t.test('downloadMedia: hosts off the allowlist, other ports and credentials are refused before any lookup', async (t) => {
  let lookups = 0
  const c = createGraphClient({ baseUrl: fake.url, version, accessToken: token, timeoutMs: 2000, resolveHost: async () => { lookups++; return [{ address: '157.240.1.1', family: 4 }] } })
  for (const url of ['https://evil.example.com/x', 'https://fbsbx.com.evil.test/x', 'https://lookaside.fbsbx.com:8443/x', 'https://u:p@lookaside.fbsbx.com/x', 'https://127.0.0.1/x', `https://127.0.0.1:${fake.port}/media-bytes/x`, 'http://lookaside.fbsbx.com/x']) {
    const e = await graphError(t, c.downloadMedia(url, { maxBytes: 1000 }))
    t.match(e, { httpStatus: 0, ambiguous: false, classification: { retry: 'no', userMessageKey: 'whatsapp.error.media' } }, url)
    t.match(e.message, /refused/, url)
  }
  t.equal(lookups, 0, 'nothing was resolved')
  t.equal(fake.requests.length, 0, 'nothing was sent')
  const custom = await graphError(t, c.downloadMedia('https://lookaside.fbsbx.com/x', { maxBytes: 1000, allowedHosts: ['*.example.net'] }))
  t.match(custom.message, 'not an allowed media host', 'the caller\'s allowlist replaces the default')
})

t.test('downloadMedia: an allowed host that resolves to a non-public address is refused without connecting', async (t) => {
  const answers: Record<string, string[]> = {
    'lookaside.fbsbx.com': ['10.0.0.7'],
    'a.fbcdn.net': ['157.240.1.1', '127.0.0.1'],
    'b.fbcdn.net': ['169.254.169.254'],
    'c.fbcdn.net': ['::ffff:127.0.0.1'],
    'd.fbcdn.net': ['fd00::1'],
    'e.fbcdn.net': ['100.64.0.1'],
    'f.fbcdn.net': ['0.0.0.0']
  }
  const c = createGraphClient({ baseUrl: fake.url, version, accessToken: token, timeoutMs: 2000, resolveHost: async (h) => (answers[h] ?? []).map(address => ({ address, family: address.includes(':') ? 6 : 4 })) })
  for (const host of Object.keys(answers)) {
    const e = await graphError(t, c.downloadMedia(`https://${host}/v/t62?hash=secret`, { maxBytes: 1000 }))
    t.match(e, { ambiguous: false, classification: { retry: 'no' } }, host)
    t.match(e.message, /resolves to a (private|loopback|link-local|unique-local|shared|unspecified) address/, host)
    t.notOk(e.message.includes('secret'), 'no query string')
  }
  const literals = ['https://127.0.0.1/x', 'https://[::1]/x', 'https://[::ffff:127.0.0.1]/x', 'https://2130706433/x', 'https://0x7f.1/x', 'https://169.254.169.254/latest/meta-data/', 'https://[fe80::1]/x', 'https://0.0.0.0/x']
  for (const url of literals) {
    const e = await graphError(t, c.downloadMedia(url, { maxBytes: 1000, allowedHosts: ['127.0.0.1', '::1', '::ffff:7f00:1', '169.254.169.254', 'fe80::1', '0.0.0.0'] }))
    t.match(e.message, /resolves to a (loopback|link-local|unspecified) address/, `${url} (allowlisted, still refused)`)
  }
  const dns = createGraphClient({ baseUrl: fake.url, version, accessToken: token, timeoutMs: 2000, resolveHost: async () => { throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' }) } })
  const e = await graphError(t, dns.downloadMedia('https://lookaside.fbsbx.com/x', { maxBytes: 1000 }))
  t.match(e, { httpStatus: 0, classification: { retry: 'backoff' } }, 'a DNS failure is temporary')
  t.match(e.message, 'ENOTFOUND')
})

t.test('downloadMedia connects to the address it vetted: one resolution, pinned (no DNS rebinding)', async (t) => {
  // The base URL uses a name no real resolver knows; the download only works through the pinned lookup.
  let lookups = 0
  const c = createGraphClient({ baseUrl: `http://graph.weltra.invalid:${fake.port}`, version, accessToken: token, timeoutMs: 2000, resolveHost: async () => { lookups++; return [{ address: '127.0.0.1', family: 4 }] } })
  fake.setMedia('pin', { bytes: Buffer.from('pinned bytes'), mimeType: 'image/png' })
  const got = await c.downloadMedia(`http://graph.weltra.invalid:${fake.port}/media-bytes/pin`, { maxBytes: 1000 })
  t.equal(got.bytes.toString(), 'pinned bytes')
  t.equal(lookups, 1, 'resolved once')
  t.equal(fake.requests[0]!.headers.host, `graph.weltra.invalid:${fake.port}`, 'the Host header keeps the name')
  t.equal(fake.requests[0]!.headers.authorization, `Bearer ${token}`)
  t.equal(fake.requests[0]!.headers['accept-encoding'], 'identity', 'no compression (no decompression bombs)')
})

t.test('downloadMedia streams into a sink with its SHA-256 and size, and checks the Content-Type', async (t) => {
  const bytes = Buffer.alloc(200_000, 3)
  fake.setMedia('s1', { bytes, mimeType: 'video/mp4', download: { chunkBytes: 16_384 } })
  const seen: Buffer[] = []
  const got = await client.downloadMedia(`${fake.url}/media-bytes/s1`, { maxBytes: 1_000_000, allowedTypes: ['video/mp4'], onChunk: (c) => { seen.push(c) } })
  t.equal(got.bytes.length, 0, 'nothing buffered')
  t.equal(got.size, bytes.length)
  t.equal(got.sha256, sha256Hex(bytes))
  t.ok(Buffer.concat(seen).equals(bytes))
  t.ok(seen.length > 1, 'several chunks')
  t.equal(got.contentType, 'video/mp4')

  fake.setMedia('s2', { bytes: Buffer.from('<html>'), mimeType: 'image/jpeg', download: { contentType: 'text/html; charset=utf-8' } })
  const e = await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/s2`, { maxBytes: 1000, allowedTypes: ['image/jpeg'] }))
  t.match(e, { httpStatus: 200, classification: { retry: 'no' } })
  t.match(e.message, 'content type text/html is not allowed')
  fake.setMedia('s3', { bytes: Buffer.from('x'), mimeType: 'image/jpeg', download: { contentType: null } })
  t.equal((await client.downloadMedia(`${fake.url}/media-bytes/s3`, { maxBytes: 1000, allowedTypes: ['image/jpeg'] })).contentType, undefined, 'a missing Content-Type passes (the bytes are checked by hash)')

  // Refused at the headers while the body is still coming: the connection is dropped, nothing crashes.
  fake.setMedia('s4', { bytes: Buffer.alloc(50_000, 1), mimeType: 'image/jpeg', download: { contentType: 'text/html', chunkBytes: 1000, chunkDelayMs: 10 } })
  t.match((await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/s4`, { maxBytes: 100_000, allowedTypes: ['image/jpeg'] }))).message, 'not allowed')
  fake.setMedia('s5', { bytes: Buffer.alloc(50_000, 1), mimeType: 'image/jpeg', download: { chunkBytes: 1000, chunkDelayMs: 10 } })
  t.match((await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/s5`, { maxBytes: 10_000 }))).message, 'exceeds', 'refused by Content-Length mid-stream')
  fake.script('/media-bytes/s5', { status: 500 })
  t.match(await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/s5`, { maxBytes: 10_000 })), { httpStatus: 500 })
  await new Promise(resolve => setTimeout(resolve, 100))

  const full = new Error('ENOSPC: the disk is full')
  await t.rejects(client.downloadMedia(`${fake.url}/media-bytes/s1`, { maxBytes: 1_000_000, onChunk: () => { throw full } }), full, 'a sink failure comes back as itself')
})

t.test('downloadMedia: stall, deadline and abort are temporary failures', async (t) => {
  fake.setMedia('slow', { bytes: Buffer.alloc(1000, 1), mimeType: 'image/png', download: { stallAfterBytes: 10 } })
  const stalled = await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/slow`, { maxBytes: 10_000, stallMs: 150 }))
  t.match(stalled, { httpStatus: 200, classification: { retry: 'backoff' } })
  t.match(stalled.message, 'stalled')

  fake.setMedia('trickle', { bytes: Buffer.alloc(1000, 1), mimeType: 'image/png', download: { chunkBytes: 10, chunkDelayMs: 30 } })
  const late = await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/trickle`, { maxBytes: 10_000, stallMs: 1000, deadlineMs: 300 }))
  t.match(late, { classification: { retry: 'backoff' } })
  t.match(late.message, 'timed out after 300 ms')

  fake.script('/media-bytes/trickle', { delayMs: 5000 })
  const early = await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/trickle`, { maxBytes: 10_000, deadlineMs: 200 }))
  t.match(early, { httpStatus: 0, classification: { retry: 'backoff' } })
  t.match(early.message, 'timed out', 'no answer at all before the deadline')

  const controller = new AbortController()
  const p = client.downloadMedia(`${fake.url}/media-bytes/slow`, { maxBytes: 10_000, stallMs: 5000, signal: controller.signal })
  setTimeout(() => controller.abort(), 50)
  const aborted = await graphError(t, p)
  t.match(aborted.message, 'aborted')

  fake.setMedia('liar', { bytes: Buffer.alloc(10, 1), mimeType: 'image/png', download: { contentLength: 5000 } })
  const cut = await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/liar`, { maxBytes: 10_000, stallMs: 150 }))
  t.match(cut, { classification: { retry: 'backoff' } }, 'a body shorter than its Content-Length never completes')
})

t.test('downloadMedia: a redirect to a private address, and 5xx / HTML answers', async (t) => {
  fake.setMedia('r1', { bytes: Buffer.from('x'), mimeType: 'image/png', download: { redirect: 'http://169.254.169.254/latest/meta-data/' } })
  const e = await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/r1`, { maxBytes: 1000 }))
  t.match(e, { httpStatus: 302, classification: { retry: 'no' } })
  t.match(e.message, 'redirect')
  t.equal(fake.requests.filter(r => r.path.includes('meta-data')).length, 0)
  fake.script('/media-bytes/r1', { status: 503 })
  t.match(await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/r1`, { maxBytes: 1000 })), { httpStatus: 503, classification: { retry: 'backoff' } })
  fake.setMedia('h1', { bytes: Buffer.from('x'), mimeType: 'image/png', download: { htmlStatus: 404 } })
  t.match(await graphError(t, client.downloadMedia(`${fake.url}/media-bytes/h1`, { maxBytes: 1000 })), { httpStatus: 404, classification: { retry: 'no' } })
})

t.test('getMediaMetadata normalises sha256 to lowercase hex (hex or base64 given) and drops anything else', async (t) => {
  const bytes = Buffer.from('abc')
  const hex = sha256Hex(bytes)
  fake.setMedia('h-upper', { bytes, mimeType: 'image/png', metadata: { sha256: hex.toUpperCase() } })
  t.equal((await client.getMediaMetadata('h-upper')).sha256, hex)
  fake.setMedia('h-b64', { bytes, mimeType: 'image/png', metadata: { sha256: Buffer.from(hex, 'hex').toString('base64') } })
  t.equal((await client.getMediaMetadata('h-b64')).sha256, hex)
  fake.setMedia('h-bad', { bytes, mimeType: 'image/png', metadata: { sha256: 'not a hash' } })
  t.equal((await client.getMediaMetadata('h-bad')).sha256, undefined)
  fake.setMedia('h-none', { bytes, mimeType: 'image/png', metadata: { sha256: null, fileSize: null } })
  t.match(await client.getMediaMetadata('h-none'), { sha256: undefined, fileSize: undefined })
})

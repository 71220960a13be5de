// The fake Graph server itself over real HTTP on 127.0.0.1: token check, routes, scripted faults, reset,
// and signed webhooks that verifySignature accepts over the exact bytes.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { sha256Hex } from '../crypto/index.js'
import { startFakeGraph } from './fake-graph.js'
import { verifySignature } from './webhook-signature.js'

const token = 'fake-graph-test-token-NOT-REAL'
const secret = 'fake-graph-app-secret-NOT-REAL'
const auth = { authorization: `Bearer ${token}` }

t.test('every route requires the configured Bearer token and answers 401 with error 190 otherwise', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: '111', display: '+1 555-010-0001', verifiedName: 'Demo', wabaId: '222' })
  fake.setMedia('333', { bytes: Buffer.from('x'), mimeType: 'text/plain' })
  for (const path of ['/v25.0/111', '/v25.0/222/message_templates', '/media-bytes/333']) {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: token }] as Array<Record<string, string>>) {
      const res = await fetch(fake.url + path, { headers })
      t.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`)
      t.match(await res.json(), { error: { code: 190 } })
    }
    t.equal((await fetch(fake.url + path, { headers: auth })).status, 200, `${path} with the token`)
  }
  t.equal(fake.requests.length, 12, 'every request is recorded')
  t.match(fake.requests[0], { method: 'GET', path: '/v25.0/111' })
})

t.test('without a configured token any non-empty Bearer token is accepted', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: '111', display: '+1 555', verifiedName: 'Demo', quality: 'YELLOW', wabaId: '222' })
  const res = await fetch(`${fake.url}/v24.0/111`, { headers: { authorization: 'Bearer anything' } })
  t.match(await res.json(), { id: '111', quality_rating: 'YELLOW' })
  t.equal((await fetch(`${fake.url}/v24.0/111`)).status, 401)
})

t.test('unknown ids answer the object-not-found fixture and messages need a known phone number', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  const res = await fetch(`${fake.url}/v25.0/999`, { headers: auth })
  t.equal(res.status, 400)
  t.match(await res.json(), { error: { code: 100, error_subcode: 33 } })
  const send = await fetch(`${fake.url}/v25.0/999/messages`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ messaging_product: 'whatsapp', to: '1', type: 'text' }) })
  t.match(await send.json(), { error: { code: 100, error_subcode: 33 } })
})

t.test('messages without messaging_product or recipient are invalid parameters', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: '111', display: '+1 555', verifiedName: 'Demo', wabaId: '222' })
  for (const body of ['{', JSON.stringify({ to: '1', type: 'text' }), JSON.stringify({ messaging_product: 'whatsapp', type: 'text' }), JSON.stringify({ messaging_product: 'whatsapp', status: 'read' })]) {
    const res = await fetch(`${fake.url}/v25.0/111/messages`, { method: 'POST', headers: auth, body })
    t.equal(res.status, 400, body)
    t.match(await res.json(), { error: { code: 100 } })
  }
  t.equal(fake.sentMessages.length, 0)
})

t.test('a script hits the next N matching requests only, and reset forgets scripts and records', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: '111', display: '+1 555', verifiedName: 'Demo', wabaId: '222' })
  fake.script(/\/111$/, { error: 'error-4-app-rate-limit', times: 2 })
  fake.script(req => req.method === 'POST', { status: 503 })
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await fetch(`${fake.url}/v25.0/111`, { headers: auth })).status)
  t.same(statuses, [400, 400, 200])
  const post = await fetch(`${fake.url}/v25.0/222/subscribed_apps`, { method: 'POST', headers: auth })
  t.equal(post.status, 503)
  t.equal(await post.text(), 'Service Unavailable')
  t.notOk(fake.subscribedWabas.has('222'), 'a replaced answer means not processed')
  fake.script('/subscribed_apps', { html: true })
  fake.reset()
  const again = await fetch(`${fake.url}/v25.0/222/subscribed_apps`, { method: 'POST', headers: auth })
  t.same(await again.json(), { success: true })
  t.equal(fake.requests.length, 1, 'reset cleared the records')
  t.ok(fake.phoneNumbers.has('111'), 'reset keeps phone numbers')
})

t.test('truncate halves the body and html answers an HTML page', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  fake.script('/subscribed_apps', { truncate: true })
  const res = await fetch(`${fake.url}/v25.0/222/subscribed_apps`, { method: 'POST', headers: auth })
  t.equal(await res.text(), '{"succes', 'the first 8 of 16 bytes')
  fake.script('/subscribed_apps', { html: true })
  const html = await fetch(`${fake.url}/v25.0/222/subscribed_apps`, { method: 'POST', headers: auth })
  t.equal(html.status, 502)
  t.match(html.headers.get('content-type'), 'text/html')
})

t.test('reset before and after destroy the socket; only after processes the request', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  fake.script('/subscribed_apps', { reset: 'before' })
  await t.rejects(fetch(`${fake.url}/v25.0/222/subscribed_apps`, { method: 'POST', headers: auth }))
  t.notOk(fake.subscribedWabas.has('222'))
  fake.script('/subscribed_apps', { reset: 'after' })
  await t.rejects(fetch(`${fake.url}/v25.0/222/subscribed_apps`, { method: 'POST', headers: auth }))
  t.ok(fake.subscribedWabas.has('222'))
})

t.test('close ends a stalled request', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  fake.script('/subscribed_apps', { delayMs: 60_000 })
  const pending = fetch(`${fake.url}/v25.0/222/subscribed_apps`, { method: 'POST', headers: auth })
  await new Promise(resolve => setTimeout(resolve, 50))
  const started = Date.now()
  await fake.close()
  await t.rejects(pending)
  t.ok(Date.now() - started < 2000)
})

t.test('templates come in pages of two with a cursor', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  const first = await (await fetch(`${fake.url}/v25.0/222/message_templates`, { headers: auth })).json() as { data: unknown[], paging: { cursors: { after: string }, next?: string } }
  t.equal(first.data.length, 2)
  t.ok(first.paging.next?.startsWith(fake.url))
  const second = await (await fetch(first.paging.next!, { headers: auth })).json() as { data: unknown[], paging: { next?: string } }
  t.equal(second.data.length, 2)
  t.equal(second.paging.next, undefined)
})

t.test('postWebhook signs the exact bytes and verifySignature accepts them', async (t) => {
  const fake = await startFakeGraph({ appSecret: secret, verifyToken: 'vt-NOT-REAL' })
  t.teardown(() => fake.close())
  const received: Array<{ raw: Buffer, header: string | string[] | undefined, url: string }> = []
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      received.push({ raw, header: req.headers['x-hub-signature-256'], url: req.url ?? '' })
      const u = new URL(req.url ?? '/', 'http://x')
      if (req.method === 'GET') {
        const ok = u.searchParams.get('hub.verify_token') === 'vt-NOT-REAL' && u.searchParams.get('hub.mode') === 'subscribe'
        res.writeHead(ok ? 200 : 403).end(ok ? u.searchParams.get('hub.challenge') ?? '' : '')
        return
      }
      res.writeHead(verifySignature(raw, req.headers['x-hub-signature-256'], [secret]) ? 200 : 401).end('done')
    })
  })
  await new Promise<void>(resolve => receiver.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { receiver.closeAllConnections(); receiver.close() })
  const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/whatsapp`

  const payload = { object: 'whatsapp_business_account', entry: [{ id: '222', changes: [{ field: 'messages', value: { text: 'héllo / ünïcode' } }] }] }
  t.same(await fake.postWebhook(target, payload), { status: 200, body: 'done' })
  t.ok(received[0]!.raw.equals(Buffer.from(JSON.stringify(payload), 'utf8')))
  const escaped = Buffer.from('{"object":"whatsapp_business_account","text":"h\\u00e9llo \\/ x"}', 'utf8')
  t.equal((await fake.postWebhook(target, escaped)).status, 200, 'a Buffer is sent byte for byte')
  t.ok(received[1]!.raw.equals(escaped))
  t.ok(verifySignature(received[1]!.raw, received[1]!.header, [secret]))
  t.equal((await fake.postWebhook(target, payload, { secret: 'another-secret' })).status, 401, 'a different secret fails')

  const hs = await fake.handshake(target, { challenge: '1158201444' })
  t.same(hs, { status: 200, body: '1158201444' })
  t.equal((await fake.handshake(target, { verifyToken: 'wrong' })).status, 403)
})

t.test('postWebhook without any secret refuses', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  await t.rejects(fake.postWebhook('http://127.0.0.1:9/', {}), TypeError)
})

t.test('media metadata and download can lie and misbehave as scripted', async (t) => {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  const bytes = Buffer.from('0123456789abcdef')
  fake.setMedia('m1', { bytes, mimeType: 'image/png' })
  const meta = await (await fetch(`${fake.url}/v25.0/m1`, { headers: auth })).json() as Record<string, unknown>
  t.same(meta, { messaging_product: 'whatsapp', url: `${fake.url}/media-bytes/m1`, mime_type: 'image/png', sha256: sha256Hex(bytes), file_size: '16', id: 'm1' })

  fake.setMedia('m2', { bytes, mimeType: 'image/png', metadata: { url: 'https://127.0.0.1/x', sha256: null, fileSize: 99, mimeType: 'text/html' } })
  t.same(await (await fetch(`${fake.url}/v25.0/m2`, { headers: auth })).json(), { messaging_product: 'whatsapp', url: 'https://127.0.0.1/x', mime_type: 'text/html', file_size: 99, id: 'm2' })

  fake.setMedia('m3', { bytes, mimeType: 'image/png', download: { contentType: 'text/html', contentLength: 'omit' } })
  const d3 = await fetch(`${fake.url}/media-bytes/m3`, { headers: auth })
  t.equal(d3.headers.get('content-type'), 'text/html')
  t.equal(d3.headers.get('content-length'), null, 'chunked, no length')
  t.equal(d3.headers.get('transfer-encoding'), 'chunked')
  t.ok(Buffer.from(await d3.arrayBuffer()).equals(bytes))

  fake.setMedia('m4', { bytes, mimeType: 'image/png', download: { redirect: 'http://169.254.169.254/latest/meta-data/' } })
  const d4 = await fetch(`${fake.url}/media-bytes/m4`, { headers: auth, redirect: 'manual' })
  t.equal(d4.status, 302)
  t.equal(d4.headers.get('location'), 'http://169.254.169.254/latest/meta-data/')

  fake.setMedia('m5', { bytes, mimeType: 'image/png', download: { htmlStatus: 200 } })
  const d5 = await fetch(`${fake.url}/media-bytes/m5`, { headers: auth })
  t.equal(d5.status, 200)
  t.match(await d5.text(), '<html>')

  fake.setMedia('m6', { bytes, mimeType: 'image/png', download: { chunkBytes: 4, chunkDelayMs: 20 } })
  const started = Date.now()
  const d6 = await fetch(`${fake.url}/media-bytes/m6`, { headers: auth })
  t.ok(Buffer.from(await d6.arrayBuffer()).equals(bytes), 'slow but complete')
  t.ok(Date.now() - started >= 50, 'paused between pieces')

  fake.setMedia('m7', { bytes, mimeType: 'image/png', download: { stallAfterBytes: 5 } })
  const d7 = await fetch(`${fake.url}/media-bytes/m7`, { headers: auth })
  const reader = d7.body!.getReader()
  const first = await reader.read()
  t.equal(Buffer.from(first.value!).toString(), '01234', 'the first bytes arrive, then nothing')
  const next = await Promise.race([reader.read().then(() => 'data'), new Promise(resolve => setTimeout(() => resolve('stalled'), 200))])
  t.equal(next, 'stalled')
  await reader.cancel()

  fake.script('/media-bytes/m1', { redirect: 'http://127.0.0.1:9/' })
  t.equal((await fetch(`${fake.url}/media-bytes/m1`, { headers: auth, redirect: 'manual' })).status, 302, 'redirect as a scripted fault')

  fake.deleteMedia('m1')
  t.match(await (await fetch(`${fake.url}/v25.0/m1`, { headers: auth })).json(), { error: { code: 100, error_subcode: 33 } }, 'an expired media id is not found')
})

// Webhook subscriptions in the public API, over app.inject and real SQLite: every endpoint with an admin
// key; agent keys refused (403), another workspace's key told nothing exists (404), revoked keys 401;
// the secret only in the create and rotate answers; URLs refused by the default SSRF policy with the
// field named, in the caller's language; and end to end with private http allowed: a receiver on
// 127.0.0.1 gets a signed contact.created whose data is the contacts API's own JSON, a failing
// receiver is retried after the backoff, a replay carries the same event id, a rotation signs twice.
import t, { type Test } from 'tap'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createUser, get } from '../../../test/helpers/accounts.js'
import { deliver, envelope, message, messagesValue, withChannel } from '../../../test/helpers/whatsapp.js'
import { auditLog } from '../../db/schema.js'
import { createApiKey, revokeApiKey } from '../apikeys/apikeys.service.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { hookEventTypes, maxSubscriptions } from './hooks.service.js'
import { receiverExample } from './hooks.api.js'
import { startHooksWorker } from './hooks.worker.js'
import { signPayload, verifySignature } from './signature.js'

interface World extends TestApp { ws: string, adminKey: string, adminKeyId: string, agentKey: string, otherKey: string, revokedKey: string }

async function world (t: Test, set: Record<string, string> = {}): Promise<World> {
  const env = await buildTestApp(t, { set })
  const owner = await createUser(env.deps, { workspace: 'Loja Souza' })
  const other = await createUser(env.deps, { workspace: 'Other shop' })
  const key = (ws: string, name: string, role: 'agent' | 'admin'): { token: string, id: string } => {
    const made = createApiKey(env.deps, { userId: null, workspaceId: ws }, { name, role })
    if (!made.ok) throw new Error(JSON.stringify(made.errors))
    return { token: made.token, id: made.key.id }
  }
  const admin = key(owner.workspaceId!, 'Integration', 'admin')
  const revoked = key(owner.workspaceId!, 'Old script', 'admin')
  revokeApiKey(env.deps, { userId: owner.id, workspaceId: owner.workspaceId! }, revoked.id)
  return {
    ...env,
    ws: owner.workspaceId!,
    adminKey: admin.token,
    adminKeyId: admin.id,
    agentKey: key(owner.workspaceId!, 'Agent sync', 'agent').token,
    otherKey: key(other.workspaceId!, 'Their admin', 'admin').token,
    revokedKey: revoked.token
  }
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
async function api (w: TestApp, method: Method, url: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await w.app.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) })
}
const errorOf = (res: LightMyRequestResponse): { code: string, message: string, details?: Array<{ field: string, message: string }> } => (res.json() as { error: { code: string, message: string, details?: Array<{ field: string, message: string }> } }).error

interface Sub { id: string, url: string, description: string, events: string[], active: boolean, created_at: string, updated_at: string, previous_secret_expires_at: string | null, last_delivery: { status: string, response_status: number | null, at: string | null } | null, waiting: number }
interface Delivery { id: string, event_id: string, event_type: string, status: string, attempts: number, response_status: number | null, duration_ms: number | null, error: string | null, replay_of: string | null, created_at: string, settled_at: string | null, next_attempt_at: string | null }

// A public address literal: allowed by the default policy without any DNS lookup (nothing is sent to it here).
const publicUrl = 'https://93.184.216.34/weltra-events'

t.test('every endpoint works with an admin key; the secret is only in the create and rotate answers', async (t) => {
  const w = await world(t)
  const created = await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: publicUrl, description: '  Shop sync ', events: ['contact.updated', 'message.received', 'contact.updated'] })
  t.equal(created.statusCode, 201)
  const sub = created.json() as Sub & { secret: string }
  t.match(sub.secret, /^whsec_.{20,}$/)
  t.match(sub, { url: publicUrl, description: 'Shop sync', events: ['message.received', 'contact.updated'], active: true, previous_secret_expires_at: null, last_delivery: null, waiting: 0 }, 'trimmed, de-duplicated, in catalogue order')
  t.equal(sub.created_at, new Date(w.clock.now()).toISOString())

  const audit = w.deps.db.select().from(auditLog).where(eq(auditLog.action, 'webhook_created')).all()
  t.equal(audit.length, 1)
  t.match(audit[0], { workspaceId: w.ws, actorUserId: null, details: { subscriptionId: sub.id, apiKeyId: w.adminKeyId, host: '93.184.216.34' } }, 'audited with the key\'s id')

  const list = await api(w, 'GET', '/api/v1/webhooks', w.adminKey)
  t.equal(list.statusCode, 200)
  t.match(list.json(), { data: [{ id: sub.id, url: publicUrl, events: ['message.received', 'contact.updated'] }] })
  t.notOk(list.body.includes(sub.secret), 'the list never holds the secret')
  t.notOk(list.body.includes('"secret"'), 'nor a secret field')
  const one = await api(w, 'GET', `/api/v1/webhooks/${sub.id}`, w.adminKey)
  t.equal(one.statusCode, 200)
  t.notOk(one.body.includes(sub.secret), 'GET never holds the secret')
  t.same(Object.keys(one.json() as object).sort(), ['active', 'created_at', 'description', 'events', 'id', 'last_delivery', 'previous_secret_expires_at', 'updated_at', 'url', 'waiting'])

  w.clock.advance(1000)
  const paused = await api(w, 'PATCH', `/api/v1/webhooks/${sub.id}`, w.adminKey, { active: false, description: 'Paused for maintenance', events: ['conversation.resolved'] })
  t.equal(paused.statusCode, 200)
  t.match(paused.json(), { active: false, description: 'Paused for maintenance', events: ['conversation.resolved'], url: publicUrl, updated_at: new Date(w.clock.now()).toISOString() })
  t.notOk(paused.body.includes(sub.secret))
  t.equal((await api(w, 'PATCH', `/api/v1/webhooks/${sub.id}`, w.adminKey, {})).statusCode, 400, 'an empty change is not a change')
  t.equal((await api(w, 'PATCH', `/api/v1/webhooks/${sub.id}`, w.adminKey, { secret: 'whsec_mine' })).statusCode, 400, 'the secret cannot be set')
  t.match((await api(w, 'PATCH', `/api/v1/webhooks/${sub.id}`, w.adminKey, { active: true })).json(), { active: true, events: ['conversation.resolved'] })

  const rotated = await api(w, 'POST', `/api/v1/webhooks/${sub.id}/rotate-secret`, w.adminKey)
  t.equal(rotated.statusCode, 200)
  const r = rotated.json() as { secret: string, previous_secret_expires_at: string }
  t.match(r.secret, /^whsec_/)
  t.not(r.secret, sub.secret)
  t.equal(r.previous_secret_expires_at, new Date(w.clock.now() + 24 * 3_600_000).toISOString())
  const afterRotation = await api(w, 'GET', `/api/v1/webhooks/${sub.id}`, w.adminKey)
  t.equal((afterRotation.json() as Sub).previous_secret_expires_at, r.previous_secret_expires_at, 'the grace period shows')
  t.notOk(afterRotation.body.includes(r.secret) || afterRotation.body.includes(sub.secret), 'neither secret')
  w.clock.advance(24 * 3_600_000 + 1)
  t.equal(((await api(w, 'GET', `/api/v1/webhooks/${sub.id}`, w.adminKey)).json() as Sub).previous_secret_expires_at, null, 'and ends')
  t.equal(w.deps.db.select().from(auditLog).where(eq(auditLog.action, 'webhook_secret_rotated')).all()[0]?.details.apiKeyId, w.adminKeyId)

  // Test events make deliveries; the log pages them newest first, without payloads.
  const test = await api(w, 'POST', `/api/v1/webhooks/${sub.id}/test`, w.adminKey)
  t.equal(test.statusCode, 202)
  const first = test.json() as Delivery
  t.match(first, { event_type: 'webhook.test', status: 'pending', attempts: 0, response_status: null, replay_of: null, settled_at: null, next_attempt_at: new Date(w.clock.now()).toISOString() })
  const ids = [first.id]
  for (let i = 0; i < 50; i++) {
    w.clock.advance(1)
    ids.push((await api(w, 'POST', `/api/v1/webhooks/${sub.id}/test`, w.adminKey)).json().id as string)
  }
  const page1 = await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries`, w.adminKey)
  t.equal(page1.statusCode, 200)
  const p1 = page1.json() as { data: Delivery[], next_cursor: string | null }
  t.equal(p1.data.length, 50)
  t.equal(p1.data[0]!.id, ids[50], 'newest first')
  t.notOk(page1.body.includes('"payload"') || page1.body.includes('A test event'), 'no payloads in the log')
  t.type(p1.next_cursor, 'string')
  const p2 = (await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries?cursor=${p1.next_cursor!}`, w.adminKey)).json() as { data: Delivery[], next_cursor: string | null }
  t.same(p2.data.map(d => d.id), [first.id], 'the oldest on the last page')
  t.equal(p2.next_cursor, null)
  const bad = await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries?cursor=nonsense`, w.adminKey)
  t.equal(bad.statusCode, 422)
  t.equal(errorOf(bad).details?.[0]?.field, 'cursor')
  t.equal(((await api(w, 'GET', '/api/v1/webhooks', w.adminKey)).json() as { data: Sub[] }).data[0]!.waiting, 51, 'waiting counts them')

  const detail = await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries/${first.id}`, w.adminKey)
  t.equal(detail.statusCode, 200)
  const d = detail.json() as Delivery & { payload: { id: string, type: string, created_at: string, workspace_id: string, data: { message: string } } }
  t.match(d, { id: first.id, event_type: 'webhook.test', payload: { id: first.event_id, type: 'webhook.test', workspace_id: w.ws, data: { message: /test event/ } } })

  const replay = await api(w, 'POST', `/api/v1/webhooks/${sub.id}/deliveries/${first.id}/replay`, w.adminKey)
  t.equal(replay.statusCode, 202)
  t.match(replay.json(), { event_id: first.event_id, event_type: 'webhook.test', replay_of: first.id, status: 'pending', attempts: 0 })
  t.not((replay.json() as Delivery).id, first.id, 'a new delivery')

  // A delivery of one subscription is not found under another.
  const second = (await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: publicUrl, events: ['contact.created'] })).json() as Sub
  t.equal((await api(w, 'GET', `/api/v1/webhooks/${second.id}/deliveries/${first.id}`, w.adminKey)).statusCode, 404)
  t.equal((await api(w, 'POST', `/api/v1/webhooks/${second.id}/deliveries/${first.id}/replay`, w.adminKey)).statusCode, 404)

  const deleted = await api(w, 'DELETE', `/api/v1/webhooks/${sub.id}`, w.adminKey)
  t.equal(deleted.statusCode, 204)
  t.equal((await api(w, 'GET', `/api/v1/webhooks/${sub.id}`, w.adminKey)).statusCode, 404)
  t.equal((await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries/${first.id}`, w.adminKey)).statusCode, 404, 'its log went with it')
  t.same(((await api(w, 'GET', '/api/v1/webhooks', w.adminKey)).json() as { data: Sub[] }).data.map(s => s.id), [second.id])
  t.equal(w.deps.db.select().from(auditLog).where(eq(auditLog.action, 'webhook_deleted')).all()[0]?.details.apiKeyId, w.adminKeyId)
})

t.test('agent keys are refused, another workspace sees nothing, revoked keys are unknown', async (t) => {
  const w = await world(t)
  const sub = (await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: publicUrl, events: ['contact.created'] })).json() as Sub & { secret: string }
  const delivery = (await api(w, 'POST', `/api/v1/webhooks/${sub.id}/test`, w.adminKey)).json() as Delivery
  const calls: Array<[Method, string, unknown?]> = [
    ['GET', '/api/v1/webhooks'],
    ['POST', '/api/v1/webhooks', { url: publicUrl, events: ['contact.created'] }],
    ['GET', `/api/v1/webhooks/${sub.id}`],
    ['PATCH', `/api/v1/webhooks/${sub.id}`, { active: false }],
    ['POST', `/api/v1/webhooks/${sub.id}/rotate-secret`],
    ['POST', `/api/v1/webhooks/${sub.id}/test`],
    ['GET', `/api/v1/webhooks/${sub.id}/deliveries`],
    ['GET', `/api/v1/webhooks/${sub.id}/deliveries/${delivery.id}`],
    ['POST', `/api/v1/webhooks/${sub.id}/deliveries/${delivery.id}/replay`],
    ['DELETE', `/api/v1/webhooks/${sub.id}`]
  ]
  for (const [method, url, body] of calls) {
    const agent = await api(w, method, url, w.agentKey, body)
    t.equal(agent.statusCode, 403, `${method} ${url} with an agent key`)
    t.equal(errorOf(agent).code, 'forbidden')
    t.equal((await api(w, method, url, w.revokedKey, body)).statusCode, 401, `${method} ${url} with a revoked key`)
    const outsider = await api(w, method, url, w.otherKey, body)
    if (url.includes(sub.id)) t.equal(outsider.statusCode, 404, `${method} ${url} with another workspace's key`)
    else t.ok(outsider.statusCode === 200 || outsider.statusCode === 201, `${method} ${url} works in their own workspace`)
    t.notOk(outsider.body.includes(sub.id) || outsider.body.includes(sub.secret), 'and learns nothing of ours')
  }
  // Nothing the refused callers sent changed anything.
  const after = (await api(w, 'GET', `/api/v1/webhooks/${sub.id}`, w.adminKey)).json() as Sub
  t.match(after, { active: true, previous_secret_expires_at: null, waiting: 1 })
  t.equal(((await api(w, 'GET', '/api/v1/webhooks', w.adminKey)).json() as { data: Sub[] }).data.length, 1, 'their create went to their workspace')
})

t.test('URLs the default policy refuses, bad input, and the limit', async (t) => {
  const w = await world(t)
  const refused: Array<[string, RegExp]> = [
    ['http://93.184.216.34/hook', /https/],
    ['https://127.0.0.1/hook', /private network|this server/],
    ['https://169.254.169.254/latest/meta-data', /private network|this server/],
    ['https://localhost/hook', /private network|this server/],
    ['https://[::1]:8443/hook', /private network|this server/],
    ['ftp://example.com/hook', /https/],
    ['not a url', /not a valid URL/],
    ['https://user:pw@93.184.216.34/hook', /user name and password/]
  ]
  for (const [url, message] of refused) {
    const res = await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url, events: ['contact.created'] })
    t.equal(res.statusCode, 422, url)
    t.equal(errorOf(res).code, 'invalid')
    t.match(errorOf(res).details, [{ field: 'url', message }], `${url}: the url field, and why`)
  }
  const pt = await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: 'https://169.254.169.254/', events: ['contact.created'] }, { 'accept-language': 'pt-BR' })
  t.match(errorOf(pt).details, [{ field: 'url', message: /rede privada/ }], 'in the caller\'s language')

  const several = await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: '', description: 'a\nb', events: ['order.paid'] })
  t.equal(several.statusCode, 422)
  t.same(errorOf(several).details?.map(d => d.field).sort(), ['description', 'events', 'url'], 'every field at once')
  t.match(errorOf(await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: publicUrl, events: [] })).details, [{ field: 'events', message: /at least one/ }])
  t.match(errorOf(await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: publicUrl + '/' + 'x'.repeat(2000), events: ['contact.created'] })).details, [{ field: 'url', message: /2,000/ }])
  t.equal((await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: publicUrl })).statusCode, 400, 'events are required')
  t.equal(w.count('webhook_subscriptions'), 0, 'nothing was saved')

  const sub = (await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: publicUrl, events: ['contact.created'] })).json() as Sub
  const patched = await api(w, 'PATCH', `/api/v1/webhooks/${sub.id}`, w.adminKey, { url: 'https://10.0.0.5/hook', events: ['contact.created'] })
  t.equal(patched.statusCode, 422)
  t.match(errorOf(patched).details, [{ field: 'url' }])
  t.equal(((await api(w, 'GET', `/api/v1/webhooks/${sub.id}`, w.adminKey)).json() as Sub).url, publicUrl, 'a refused change changes nothing')

  for (let i = 1; i < maxSubscriptions; i++) t.equal((await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: `${publicUrl}/${i}`, events: ['contact.created'] })).statusCode, 201)
  const full = await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: publicUrl, events: ['contact.created'] })
  t.equal(full.statusCode, 409, 'the limit is a conflict with what exists, not bad input')
  t.equal(errorOf(full).code, 'limit_reached')
  t.match(errorOf(full).message, /at most 20 webhooks/)
  t.equal(w.count('webhook_subscriptions'), maxSubscriptions)
})

interface Received { headers: IncomingHttpHeaders, body: string }

async function receiver (t: Test): Promise<{ url: string, got: Received[], answers: number[] }> {
  const got: Received[] = []
  const answers: number[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(answers.shift() ?? 200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/weltra?token=abc`, got, answers }
}

t.test('end to end: a signed delivery to 127.0.0.1, retries, replay and rotation', async (t) => {
  const w = await world(t, { 'outgoing_webhooks.allow_private_addresses': 'true', 'outgoing_webhooks.allow_http': 'true' })
  const rx = await receiver(t)
  const worker = startHooksWorker(w.deps, { pollMs: 60_000 })
  t.teardown(() => worker.stop())

  const created = await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: rx.url, events: ['message.received', 'contact.created'] })
  t.equal(created.statusCode, 201)
  const sub = created.json() as Sub & { secret: string }

  const contact = await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: 'Ana Souza', phones: ['+55 11 98765-4321'], emails: ['ana@example.com'] })
  t.equal(contact.statusCode, 201)
  const contactId = (contact.json() as { id: string }).id
  t.equal(await worker.runOnce(), 1, 'one delivery attempted')
  t.equal(rx.got.length, 1)
  const hit = rx.got[0]!
  const nowS = Math.floor(w.clock.now() / 1000)
  const header = String(hit.headers['weltra-signature'])
  t.match(header, /^t=\d+,v1=[0-9a-f]{64}$/, 'one signature before any rotation')
  t.ok(verifySignature(header, sub.secret, hit.body, nowS), 'the signature verifies with the secret from the create answer')
  t.notOk(verifySignature(header, sub.secret, hit.body.replace('Ana', 'Ann'), nowS), 'and not for another body')
  t.notOk(verifySignature(header, sub.secret, hit.body, nowS + 301), 'nor more than 5 minutes later')
  const body = JSON.parse(hit.body) as { id: string, type: string, created_at: string, workspace_id: string, data: { contact: Record<string, unknown> } }
  t.match(body, { type: 'contact.created', workspace_id: w.ws })
  t.equal(hit.headers['weltra-event'], 'contact.created')
  t.equal(hit.headers['weltra-event-id'], body.id)
  t.match(String(hit.headers['user-agent']), /^Weltra-Webhooks\//)
  t.equal(hit.headers['content-type'], 'application/json')
  t.same(body.data.contact, (await api(w, 'GET', `/api/v1/contacts/${contactId}`, w.adminKey)).json(), 'data.contact is the contacts API\'s JSON')

  const log1 = (await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries`, w.adminKey)).json() as { data: Delivery[] }
  t.equal(log1.data.length, 1)
  const delivered = log1.data[0]!
  t.match(delivered, { event_id: body.id, event_type: 'contact.created', status: 'delivered', attempts: 1, response_status: 200, error: null, next_attempt_at: null, settled_at: new Date(w.clock.now()).toISOString() })
  t.equal(hit.headers['weltra-delivery'], delivered.id)
  const detail = (await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries/${delivered.id}`, w.adminKey)).json() as Delivery & { payload: unknown }
  t.same(detail.payload, body, 'the detail holds what was posted')
  t.match((await api(w, 'GET', `/api/v1/webhooks/${sub.id}`, w.adminKey)).json(), { last_delivery: { status: 'delivered', response_status: 200, at: delivered.settled_at }, waiting: 0 })

  // A receiver that fails: retried after the backoff, not before.
  rx.answers.push(500, 200)
  const second = await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: 'Bruno Lima' })
  t.equal(second.statusCode, 201)
  t.equal(await worker.runOnce(), 1)
  t.equal(rx.got.length, 2)
  const failing = ((await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries`, w.adminKey)).json() as { data: Delivery[] }).data[0]!
  t.match(failing, { event_type: 'contact.created', status: 'pending', attempts: 1, response_status: 500, error: 'HTTP 500', settled_at: null })
  t.ok(failing.next_attempt_at !== null && Date.parse(failing.next_attempt_at) > w.clock.now(), 'the next attempt is later')
  t.match((await api(w, 'GET', `/api/v1/webhooks/${sub.id}`, w.adminKey)).json(), { waiting: 1, last_delivery: { status: 'delivered' } })
  t.equal(await worker.runOnce(), 0, 'nothing is due before the backoff')
  t.equal(rx.got.length, 2)
  w.clock.advance(3_600_000)
  t.equal(await worker.runOnce(), 1)
  t.equal(rx.got.length, 3)
  t.equal(rx.got[2]!.headers['weltra-event-id'], rx.got[1]!.headers['weltra-event-id'], 'the retry is the same event')
  t.equal(rx.got[2]!.body, rx.got[1]!.body, 'with the same body')
  t.ok(verifySignature(String(rx.got[2]!.headers['weltra-signature']), sub.secret, rx.got[2]!.body, Math.floor(w.clock.now() / 1000)), 'signed anew at the time it was sent')
  t.match((await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries/${failing.id}`, w.adminKey)).json(), { status: 'delivered', attempts: 2, response_status: 200, error: null, next_attempt_at: null })

  // Replay: the same event id again, as a new delivery.
  const replay = await api(w, 'POST', `/api/v1/webhooks/${sub.id}/deliveries/${delivered.id}/replay`, w.adminKey)
  t.equal(replay.statusCode, 202)
  const replayed = replay.json() as Delivery
  t.equal(await worker.runOnce(), 1)
  t.equal(rx.got.length, 4)
  t.equal(rx.got[3]!.headers['weltra-event-id'], body.id, 'the receiver gets the same event id again')
  t.equal((JSON.parse(rx.got[3]!.body) as { id: string }).id, body.id)
  t.equal(rx.got[3]!.headers['weltra-delivery'], replayed.id, 'in a new delivery')
  t.match((await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries/${replayed.id}`, w.adminKey)).json(), { status: 'delivered', replay_of: delivered.id, event_id: body.id, attempts: 1 })
  const log = ((await api(w, 'GET', `/api/v1/webhooks/${sub.id}/deliveries`, w.adminKey)).json() as { data: Delivery[] }).data
  t.same(log.map(d => d.id), [replayed.id, failing.id, delivered.id], 'the log, newest first')

  // Rotation: both secrets verify for 24 hours.
  const rotated = (await api(w, 'POST', `/api/v1/webhooks/${sub.id}/rotate-secret`, w.adminKey)).json() as { secret: string }
  t.equal((await api(w, 'POST', `/api/v1/webhooks/${sub.id}/test`, w.adminKey)).statusCode, 202)
  t.equal(await worker.runOnce(), 1)
  const test = rx.got[4]!
  t.equal(test.headers['weltra-event'], 'webhook.test')
  const twice = String(test.headers['weltra-signature'])
  t.match(twice, /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/)
  const at = Math.floor(w.clock.now() / 1000)
  t.ok(verifySignature(twice, rotated.secret, test.body, at), 'the new secret verifies')
  t.ok(verifySignature(twice, sub.secret, test.body, at), 'and so does the previous one, for now')
  w.clock.advance(24 * 3_600_000 + 1000)
  t.equal((await api(w, 'POST', `/api/v1/webhooks/${sub.id}/test`, w.adminKey)).statusCode, 202)
  t.equal(await worker.runOnce(), 1)
  const later = rx.got[5]!
  const laterAt = Math.floor(w.clock.now() / 1000)
  t.ok(verifySignature(String(later.headers['weltra-signature']), rotated.secret, later.body, laterAt))
  t.notOk(verifySignature(String(later.headers['weltra-signature']), sub.secret, later.body, laterAt), 'the previous secret no longer signs after 24 hours')

  // Paused: events are not queued for it.
  t.equal((await api(w, 'PATCH', `/api/v1/webhooks/${sub.id}`, w.adminKey, { active: false })).statusCode, 200)
  t.equal((await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: 'Carla Dias' })).statusCode, 201)
  t.equal(await worker.runOnce(), 0)
  t.equal(rx.got.length, 6, 'nothing sent while paused')
})

t.test('a customer\'s WhatsApp message reaches the receiver as message.received, with the API\'s records', async (t) => {
  const env = await withChannel(t, { set: { 'outgoing_webhooks.allow_private_addresses': 'true', 'outgoing_webhooks.allow_http': 'true' } })
  const made = createApiKey(env.deps, { userId: null, workspaceId: env.channel.workspaceId }, { name: 'Hooks', role: 'admin' })
  if (!made.ok) throw new Error('key')
  const key = made.token
  const rx = await receiver(t)
  const worker = startHooksWorker(env.deps, { pollMs: 60_000 })
  t.teardown(() => worker.stop())
  const sub = (await api(env, 'POST', '/api/v1/webhooks', key, { url: rx.url, events: ['message.received', 'contact.created'] })).json() as Sub & { secret: string }

  const res = await deliver(env, env.url, envelope(messagesValue([{ waId: '15550100111', name: 'Ana Souza' }], {
    messages: [message('wamid.HOOK1', { waId: '15550100111' }, 'text', { body: 'Is my order on its way?' }, {}, Math.floor(env.clock.now() / 1000) - 10)]
  })))
  t.equal(res.statusCode, 200)
  processAllPending(env.deps)
  t.equal(await worker.runOnce(), 2, 'the new contact and the message')
  const byType = new Map(rx.got.map(r => [String(r.headers['weltra-event']), r]))
  t.same([...byType.keys()].sort(), ['contact.created', 'message.received'])
  const hit = byType.get('message.received')!
  t.ok(verifySignature(String(hit.headers['weltra-signature']), sub.secret, hit.body, Math.floor(env.clock.now() / 1000)))
  const data = (JSON.parse(hit.body) as { data: { message: { id: string, conversation_id: string }, conversation: unknown, contact: { id: string } } }).data
  const conversationId = data.message.conversation_id
  const messages = (await api(env, 'GET', `/api/v1/conversations/${conversationId}/messages`, key)).json() as { data: unknown[] }
  t.same(data.message, messages.data[0], 'data.message is the messages API\'s JSON')
  t.match(data.message, { text: 'Is my order on its way?', direction: 'in' })
  t.same(data.conversation, (await api(env, 'GET', `/api/v1/conversations/${conversationId}`, key)).json(), 'data.conversation is the conversations API\'s JSON')
  t.same(data.contact, (await api(env, 'GET', `/api/v1/contacts/${data.contact.id}`, key)).json(), 'data.contact is the contacts API\'s JSON')
  t.same((JSON.parse(byType.get('contact.created')!.body) as { data: { contact: unknown } }).data.contact, data.contact, 'the same contact in contact.created')
})

t.test('the reference page documents receiving webhooks, and its Node example verifies real deliveries', async (t) => {
  const w = await world(t, { 'outgoing_webhooks.allow_private_addresses': 'true', 'outgoing_webhooks.allow_http': 'true' })
  const page = await get(w.app, '/api/v1/docs')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'id="webhooks"')
  for (const type of [...hookEventTypes, 'webhook.test']) t.match(page.body, `id="event-${type}"`, `${type} is in the catalogue`)
  for (const header of ['Weltra-Signature', 'Weltra-Event', 'Weltra-Event-Id', 'Weltra-Delivery', 'User-Agent']) t.match(page.body, `<code>${header}</code>`)
  t.match(page.body, /5 minutes/)
  t.match(page.body, /30 seconds up to 1 hour/)
  t.match(page.body, /After 24 hours of failures/)
  t.match(page.body, /Redirects are not followed/)
  t.match(page.body, /at least once/)
  t.match(page.body, /Order is not guaranteed/)
  t.match(page.body, /two v1 signatures/)
  t.match(page.body, 'timingSafeEqual', 'the Node example')
  const pt = await get(w.app, '/api/v1/docs', undefined, { 'accept-language': 'pt-BR' })
  t.match(pt.body, 'Como receber webhooks')
  t.match(pt.body, /5 minutos/)

  // The example, run as a receiver would run it, on a real delivery.
  const file = join(t.testdirName, 'verify-weltra.mjs')
  t.testdir({})
  writeFileSync(file, receiverExample)
  const { verifyWeltra } = await import(pathToFileURL(file).href) as { verifyWeltra: (header: string, raw: Buffer, secret: string, tolerance?: number) => boolean }
  const rx = await receiver(t)
  const worker = startHooksWorker(w.deps, { pollMs: 60_000 })
  t.teardown(() => worker.stop())
  const sub = (await api(w, 'POST', '/api/v1/webhooks', w.adminKey, { url: rx.url, events: ['contact.created'] })).json() as Sub & { secret: string }
  t.equal((await api(w, 'POST', `/api/v1/webhooks/${sub.id}/test`, w.adminKey)).statusCode, 202)
  t.equal(await worker.runOnce(), 1)
  const hit = rx.got[0]!
  const header = String(hit.headers['weltra-signature'])
  // The test clock is not the wall clock the example reads: widen its tolerance for the delivery…
  t.ok(verifyWeltra(header, Buffer.from(hit.body), sub.secret, Infinity), 'the example accepts a real delivery')
  t.notOk(verifyWeltra(header, Buffer.from(hit.body), 'whsec_wrong', Infinity), 'not with another secret')
  t.notOk(verifyWeltra(header, Buffer.from(hit.body + ' '), sub.secret, Infinity), 'not another body')
  t.notOk(verifyWeltra(header, Buffer.from(hit.body), sub.secret), 'and refuses a timestamp far from its clock')
  // …and check its 5-minute window on the wall clock.
  const wall = Math.floor(Date.now() / 1000)
  t.ok(verifyWeltra(signPayload([sub.secret], wall - 200, hit.body), Buffer.from(hit.body), sub.secret))
  t.notOk(verifyWeltra(signPayload([sub.secret], wall - 400, hit.body), Buffer.from(hit.body), sub.secret))
  t.ok(verifyWeltra(signPayload(['whsec_new', sub.secret], wall, hit.body), Buffer.from(hit.body), sub.secret), 'either v1 after a rotation')
})

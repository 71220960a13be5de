// Outgoing webhooks, the core: what is queued (and when nothing is), the payloads, signatures, the
// SSRF guard at save time and at delivery time, retries with backoff, giving up, redirects, timeouts,
// replays, pausing, secret rotation and the log's retention. A real receiver on 127.0.0.1.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { deliver, envelope as waEnvelope, message, messagesValue, status, withChannel, type ChannelApp, type Sender } from '../../../test/helpers/whatsapp.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { assignConversation, setStatus } from '../inbox/conversations.service.js'
import { attachWamid, insertOutbound } from '../inbox/messaging.service.js'
import { renameContact } from '../contacts/contact-edit.service.js'
import { contactJson } from '../contacts/contact-json.js'
import { contactRecords } from '../contacts/contact-records.service.js'
import {
  createSubscription, deliveryLog, queueTestDelivery, replayDelivery, rotateSecret, updateSubscriptionOf, type HookActor, type SubscriptionInput
} from './hooks.service.js'
import { startHooksWorker, type HooksWorker } from './hooks.worker.js'
import { verifySignature } from './signature.js'
import type { HostResolver } from '../../platform/net/outbound.js'

const ana: Sender = { waId: '15550100111', userId: 'US.1000000000000000111', name: 'Ana Souza' }
const open = { 'outgoing_webhooks.allow_private_addresses': 'true', 'outgoing_webhooks.allow_http': 'true', 'outgoing_webhooks.timeout_seconds': '1' }

interface Received { headers: IncomingMessage['headers'], body: string, json: { id: string, type: string, created_at: string, workspace_id: string, data: Record<string, any> } }

/** A receiver on 127.0.0.1: answers with `answer()` (status, or 'hang' to never answer). */
async function receiver (t: Test, answer: (r: Received) => number | 'hang' = () => 200): Promise<{ url: string, got: Received[] }> {
  const got: Received[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString('utf8') })
    req.on('end', () => {
      const r = { headers: req.headers, body, json: JSON.parse(body) }
      got.push(r)
      const a = answer(r)
      if (a === 'hang') return
      res.writeHead(a, a >= 300 && a < 400 ? { location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/elsewhere` } : {})
      res.end('ok')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, got }
}

function actorOf (env: ChannelApp): HookActor {
  return { userId: env.ownerId, workspaceId: env.channel.workspaceId }
}

async function subscribe (env: ChannelApp, input: Partial<SubscriptionInput> & { url: string }, resolve?: HostResolver): Promise<{ id: string, secret: string }> {
  const r = await createSubscription(env.deps, actorOf(env), { description: '', events: ['message.received', 'message.status', 'conversation.created', 'conversation.assigned', 'conversation.resolved', 'contact.created', 'contact.updated'], ...input }, resolve)
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return { id: r.subscription.id, secret: r.secret }
}

function worker (t: Test, env: ChannelApp, resolve?: HostResolver): HooksWorker {
  const w = startHooksWorker(env.deps, { pollMs: 3_600_000, ...(resolve !== undefined ? { resolve } : {}) })
  t.teardown(() => w.stop())
  return w
}

async function inbound (env: ChannelApp, wamid: string, text: string): Promise<void> {
  const res = await deliver(env, env.url, waEnvelope(messagesValue([ana], { messages: [message(wamid, ana, 'text', { body: text })] })))
  if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}`)
  processAllPending(env.deps)
}

function deliveries (env: ChannelApp): Array<{ id: string, event_type: string, status: string, attempts: number, response_status: number | null, last_error: string | null, next_attempt_at: number, replay_of: string | null, event_id: string }> {
  return env.deps.sqlite.prepare('SELECT * FROM webhook_deliveries ORDER BY id').all() as any
}

t.test('an inbound message tells the receiver about the new contact, conversation and message, signed', async (t) => {
  const env = await withChannel(t, { set: open })
  const r = await receiver(t)
  const sub = await subscribe(env, { url: r.url })
  const w = worker(t, env)
  await inbound(env, 'wamid.HOOK1', 'Is the blue backpack in stock?')
  t.equal(env.count('webhook_queue'), 3, 'three events queued with the message, in its transaction')
  const attempted = await w.runOnce()
  t.equal(attempted, 3)
  t.equal(env.count('webhook_queue'), 0, 'the queue is empty once dispatched')
  t.same(r.got.map(g => g.json.type).sort(), ['contact.created', 'conversation.created', 'message.received'])
  const now = Math.floor(env.clock.now() / 1000)
  for (const g of r.got) {
    t.ok(verifySignature(String(g.headers['weltra-signature']), sub.secret, g.body, now), `${g.json.type}: the signature verifies with the secret`)
    t.notOk(verifySignature(String(g.headers['weltra-signature']), sub.secret, g.body + ' ', now), 'a changed body does not verify')
    t.notOk(verifySignature(String(g.headers['weltra-signature']), sub.secret, g.body, now + 301), 'an old signature is refused after 5 minutes')
    t.equal(g.headers['weltra-event'], g.json.type)
    t.equal(g.headers['weltra-event-id'], g.json.id)
    t.match(String(g.headers['user-agent']), /^Weltra-Webhooks\//)
    t.equal(g.headers['content-type'], 'application/json')
    t.equal(g.json.workspace_id, env.channel.workspaceId)
  }
  const received = r.got.find(g => g.json.type === 'message.received')!.json
  t.equal(received.data.message.text, 'Is the blue backpack in stock?')
  t.equal(received.data.message.direction, 'in')
  t.equal(received.data.contact.whatsapp, '+15550100111')
  t.equal(received.data.conversation.id, received.data.message.conversation_id)
  const contactId = received.data.contact.id
  t.same(r.got.find(g => g.json.type === 'contact.created')!.json.data.contact, contactJson(contactRecords(env.deps.db, env.channel.workspaceId, [contactId])[0]!), 'the contact is the API\'s record')
  t.same(deliveries(env).map(d => d.status), ['delivered', 'delivered', 'delivered'])
  const raw = JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM webhook_deliveries').all()) + JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM webhook_subscriptions').all())
  t.notMatch(raw, /blue backpack/, 'payloads are encrypted at rest')
  t.notMatch(raw, /127\.0\.0\.1/, 'the URL is encrypted at rest')
  t.notMatch(raw, new RegExp(sub.secret), 'the secret is encrypted at rest')
  t.notMatch(env.logs.join('\n'), /blue backpack|whsec_|127\.0\.0\.1:\d+\/hooks/, 'logs hold no payload, secret or URL')

  await inbound(env, 'wamid.HOOK1', 'Is the blue backpack in stock?')
  t.equal(env.count('webhook_queue'), 0, 'a redelivered message announces nothing again')
})

t.test('only wanted events are queued; a workspace without webhooks queues nothing', async (t) => {
  const env = await withChannel(t, { set: open })
  await inbound(env, 'wamid.NONE', 'hello')
  t.equal(env.count('webhook_queue'), 0, 'no subscription: nothing is written')
  const r = await receiver(t)
  await subscribe(env, { url: r.url, events: ['contact.updated'] })
  await inbound(env, 'wamid.NONE2', 'hello again')
  t.equal(env.count('webhook_queue'), 0, 'a message is not queued for a contact.updated subscription')
})

t.test('assignment, resolution, contact edits and statuses are announced; repeats before dispatch coalesce', async (t) => {
  const env = await withChannel(t, { set: open })
  const ws = env.channel.workspaceId
  const r = await receiver(t)
  await inbound(env, 'wamid.A1', 'hi')
  const sub = await subscribe(env, { url: r.url })
  t.ok(sub.id)
  const w = worker(t, env)
  const conversationId = (env.deps.sqlite.prepare('SELECT id FROM conversations').get() as { id: string }).id
  const contactId = (env.deps.sqlite.prepare('SELECT id FROM contacts').get() as { id: string }).id
  assignConversation(env.deps, { workspaceId: ws }, conversationId, env.ownerId)
  setStatus(env.deps, { workspaceId: ws }, conversationId, 'resolved')
  renameContact(env.deps.db, ws, contactId, 'Ana S.', env.ownerId, env.clock.now())
  renameContact(env.deps.db, ws, contactId, 'Ana Souza (VIP)', env.ownerId, env.clock.now())
  const out = insertOutbound(env.deps.db, { workspaceId: ws, conversationId, channelId: env.channel.id, type: 'text', content: { body: { type: 'text', text: 'Yes!' } } as any, authorId: env.ownerId }, env.clock.now())
  attachWamid(env.deps.db, ws, out.id, 'wamid.OUT1', env.clock.now())
  await deliver(env, env.url, waEnvelope(messagesValue([], { statuses: [status('wamid.OUT1', 'sent', 1_789_200_100), status('wamid.OUT1', 'delivered', 1_789_200_101)] })))
  processAllPending(env.deps)
  await w.runOnce()
  const types = r.got.map(g => g.json.type)
  t.same(types.filter(x => x === 'contact.updated').length, 1, 'two renames before dispatch: one contact.updated')
  t.equal(r.got.find(g => g.json.type === 'contact.updated')!.json.data.contact.name, 'Ana Souza (VIP)', 'with the latest state')
  const assigned = r.got.find(g => g.json.type === 'conversation.assigned')!.json.data.conversation
  t.equal(assigned.assignee.id, env.ownerId)
  t.equal(r.got.find(g => g.json.type === 'conversation.resolved')!.json.data.conversation.status, 'resolved')
  const statuses = r.got.filter(g => g.json.type === 'message.status').map(g => g.json.data.status).sort()
  t.same(statuses, ['delivered', 'sent'], 'each status is its own event')
  t.equal(r.got.find(g => g.json.type === 'message.status')!.json.data.message.id, out.id)
})

t.test('a failing receiver is retried with backoff until it answers; after 24 h the delivery is given up', async (t) => {
  const env = await withChannel(t, { set: open })
  let answer = 500
  const r = await receiver(t, () => answer)
  const sub = await subscribe(env, { url: r.url })
  const w = worker(t, env)
  queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  await w.runOnce()
  let d = deliveries(env)[0]!
  t.match(d, { status: 'pending', attempts: 1, response_status: 500, last_error: 'HTTP 500' })
  t.ok(d.next_attempt_at > env.clock.now(), 'the next attempt is later')
  t.equal(await w.runOnce(), 0, 'not retried before its time')
  env.clock.advance(3_600_000)
  answer = 200
  await w.runOnce()
  d = deliveries(env)[0]!
  t.match(d, { status: 'delivered', attempts: 2, response_status: 200, last_error: null })
  t.equal(r.got.length, 2)
  t.equal(r.got[0]!.json.id, r.got[1]!.json.id, 'a retry carries the same event id')
  t.equal(r.got[0]!.body, r.got[1]!.body, 'and the same body')

  answer = 503
  queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  for (let i = 0; i < 40 && deliveries(env)[1]!.status !== 'failed'; i++) {
    await w.runOnce()
    env.clock.advance(3_600_000)
  }
  d = deliveries(env)[1]!
  t.equal(d.status, 'failed', 'given up')
  t.match(d.last_error, /gave up after 24 h: HTTP 503/)
  t.ok(d.attempts >= 24 && d.attempts <= 30, `hourly-capped backoff: ${d.attempts} attempts in a day`)
})

t.test('redirects are not followed; a receiver that hangs times out', async (t) => {
  const env = await withChannel(t, { set: open })
  let mode: number | 'hang' = 302
  const r = await receiver(t, () => mode)
  const sub = await subscribe(env, { url: r.url })
  const w = worker(t, env)
  queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  await w.runOnce()
  t.equal(r.got.length, 1, 'the redirect target was never called')
  t.match(deliveries(env)[0]!, { status: 'pending', response_status: 302, last_error: /redirects are not followed/ })
  mode = 'hang'
  env.clock.advance(3_600_000)
  await w.runOnce()
  t.match(deliveries(env)[0]!, { status: 'pending', response_status: null, last_error: 'no answer within 1 s' })
})

t.test('URLs: https and public addresses only by default, checked when saved and again when sent', async (t) => {
  const env = await withChannel(t)
  const resolveTo = (address: string): HostResolver => async () => [{ address, family: address.includes(':') ? 6 : 4 }]
  const refused = async (url: string, resolve?: HostResolver): Promise<string | undefined> => {
    const res = await createSubscription(env.deps, actorOf(env), { url, description: '', events: ['contact.created'] }, resolve)
    return res.ok ? undefined : res.errors.url
  }
  t.equal(await refused('http://hooks.example.com/x', resolveTo('93.184.216.34')), 'hooks.errors.url.http')
  t.equal(await refused('https://127.0.0.1/x'), 'hooks.errors.url.private')
  t.equal(await refused('https://169.254.169.254/latest/meta-data'), 'hooks.errors.url.private')
  t.equal(await refused('https://[::1]/x'), 'hooks.errors.url.private')
  t.equal(await refused('https://localhost/x'), 'hooks.errors.url.private')
  t.equal(await refused('https://internal.example.com/x', resolveTo('10.0.0.5')), 'hooks.errors.url.private', 'a name resolving to a private address')
  t.equal(await refused('https://user:pw@hooks.example.com/x', resolveTo('93.184.216.34')), 'hooks.errors.url.credentials')
  t.equal(await refused('ftp://hooks.example.com/x'), 'hooks.errors.url.scheme')
  t.equal(await refused('not a url'), 'hooks.errors.url.invalid')
  t.equal(await refused('https://nxdomain.example.com/x', async () => { throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' }) }), 'hooks.errors.url.unresolvable')
  t.equal(await refused('https://hooks.example.com/x', resolveTo('93.184.216.34')), undefined, 'a public https URL is accepted')

  // DNS rebinding: saved while public, resolving to this machine when sent → refused, never requested.
  const r = await receiver(t)
  const id = (env.deps.sqlite.prepare('SELECT id FROM webhook_subscriptions').get() as { id: string }).id
  const w = worker(t, env, resolveTo('127.0.0.1'))
  queueTestDelivery(env.deps, env.channel.workspaceId, id)
  await w.runOnce()
  t.match(deliveries(env)[0]!, { status: 'failed', attempts: 1, last_error: /refused: .*loopback/ })
  t.equal(r.got.length, 0, 'nothing reached the private address')
  t.match(env.logs.join('\n'), /"reason":"private"/, 'the log says why, as a code')
  t.notMatch(env.logs.join('\n'), /hooks\.example\.com/, 'without the receiver\'s host')
})

t.test('replay sends the same event again; a paused webhook queues nothing and its deliveries wait', async (t) => {
  const env = await withChannel(t, { set: open })
  const r = await receiver(t)
  const sub = await subscribe(env, { url: r.url })
  const w = worker(t, env)
  const first = queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  await w.runOnce()
  const replay = replayDelivery(env.deps, env.channel.workspaceId, sub.id, first.id)
  t.equal(replay.eventId, first.eventId)
  t.equal(replay.replayOf, first.id)
  await w.runOnce()
  t.equal(r.got.length, 2)
  t.equal(r.got[1]!.json.id, r.got[0]!.json.id, 'the receiver sees the same event id (it can dedupe)')
  t.not(r.got[1]!.headers['weltra-delivery'], r.got[0]!.headers['weltra-delivery'], 'as another delivery')
  t.equal(deliveryLog(env.deps, env.channel.workspaceId, sub.id).rows.length, 2)

  const paused = await updateSubscriptionOf(env.deps, actorOf(env), sub.id, { active: false })
  t.ok(paused.ok)
  await inbound(env, 'wamid.P1', 'while paused')
  t.equal(env.count('webhook_queue'), 0, 'a paused webhook wants nothing')
  queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  t.equal(await w.runOnce(), 0, 'its waiting delivery is not sent')
  await updateSubscriptionOf(env.deps, actorOf(env), sub.id, { active: true })
  t.equal(await w.runOnce(), 1, 'resumed: it goes out')
})

t.test('after a rotation both secrets sign for 24 hours, then only the new one', async (t) => {
  const env = await withChannel(t, { set: open })
  const r = await receiver(t)
  const sub = await subscribe(env, { url: r.url })
  const w = worker(t, env)
  const { secret } = rotateSecret(env.deps, actorOf(env), sub.id)
  t.not(secret, sub.secret)
  queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  await w.runOnce()
  let g = r.got[0]!
  const now = (): number => Math.floor(env.clock.now() / 1000)
  t.equal(String(g.headers['weltra-signature']).split('v1=').length - 1, 2, 'two signatures')
  t.ok(verifySignature(String(g.headers['weltra-signature']), secret, g.body, now()), 'the new secret verifies')
  t.ok(verifySignature(String(g.headers['weltra-signature']), sub.secret, g.body, now()), 'the old one too, for now')
  env.clock.advance(24 * 3_600_000 + 1)
  queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  await w.runOnce()
  g = r.got[1]!
  t.ok(verifySignature(String(g.headers['weltra-signature']), secret, g.body, now()))
  t.notOk(verifySignature(String(g.headers['weltra-signature']), sub.secret, g.body, now()), 'the old secret no longer signs')
})

t.test('settled deliveries leave the log after 30 days', async (t) => {
  const env = await withChannel(t, { set: open })
  const r = await receiver(t)
  const sub = await subscribe(env, { url: r.url })
  queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  const w1 = worker(t, env)
  await w1.runOnce()
  t.equal(env.count('webhook_deliveries'), 1)
  await w1.stop()
  env.clock.advance(31 * 24 * 3_600_000)
  const w2 = worker(t, env)
  await w2.runOnce()
  t.equal(env.count('webhook_deliveries'), 0, 'pruned')
})

t.test('a receiver that is down costs one attempt per backoff window, not one per waiting event', async (t) => {
  const env = await withChannel(t, { set: open })
  let answer = 500
  const r = await receiver(t, () => answer)
  const sub = await subscribe(env, { url: r.url })
  const w = startHooksWorker(env.deps, { pollMs: 3_600_000, batch: 1 })
  t.teardown(() => w.stop())
  for (let i = 0; i < 5; i++) queueTestDelivery(env.deps, env.channel.workspaceId, sub.id)
  t.equal(await w.runOnce(), 1, 'one attempt; the other four wait with it')
  const waiting = deliveries(env).filter(d => d.attempts === 0)
  t.equal(waiting.length, 4)
  t.ok(waiting.every(d => d.next_attempt_at > env.clock.now()), 'postponed to the retry time')
  answer = 200
  env.clock.advance(3_600_000)
  t.equal(await w.runOnce(), 5, 'back up: all five go out')
  t.equal(r.got.length, 6)
})

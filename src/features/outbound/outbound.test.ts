// The outbound engine end to end over real HTTP: messages queued through the service (real SQLite), sent
// by the worker to the fake Graph API on 127.0.0.1, statuses coming back as signed webhooks processed by
// the real pipeline. Idempotent client ids, accepted-not-sent, replies, retries by code with the fake
// clock, permanent failures with Meta's reason, 190 pausing the number with one admin email per incident
// and resuming after the reconnect, ambiguous sends reconciled through biz_opaque_callback_data (and
// re-sent once when nothing comes back), per-conversation order, per-number rate and per-recipient
// spacing (real time, recorded request times), media upload + send, templates, reactions, BSUID
// recipients, crash recovery, and read receipts.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import { addMember, createUser, get, goodPassword, signIn } from '../../../test/helpers/accounts.js'
import { waitFor } from '../../../test/helpers/process.js'
import { deliver, envelope, fixturePhoneNumberId, fixtureSecret, fixtureWaba, message, messagesValue, status, withChannel, type ChannelApp, type Sender } from '../../../test/helpers/whatsapp.js'
import { channelIssues, channels, conversations, mailOutbox, media, messageOutbox, messages, workspaces } from '../../db/schema.js'
import { startFakeGraph, type FakeGraph, type FakeGraphRequest } from '../../platform/whatsapp/fake-graph.js'
import { checkChannel } from '../channels/channels.service.js'
import { readContent } from '../inbox/messaging.service.js'
import { mediaFilePath } from '../media/media.files.js'
import { syncTemplates } from '../templates/templates.service.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { renderChannelAlert } from './outbound.alert.js'
import {
  failureKey, markConversationRead, queueMediaSend, queueReactionSend, queueSend, queueTemplateSend, queueTextSend, type OutboundContent, type SendResult, type SendTarget
} from './outbound.service.js'
import { reconcileWindowMs, startOutboundWorker, type OutboundWorker, type OutboundWorkerOptions } from './outbound.worker.js'

const ana: Sender = { waId: '15550100111', userId: 'US.ana0000000001', name: 'Ana' }
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('CANARY-outbound-image-bytes-3c9d'), Buffer.alloc(64, 1)])
const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n')

interface World extends ChannelApp {
  fake: FakeGraph
  ws: string
  base: string
  dataDir: string
  worker: OutboundWorker
  /** The conversation of Ana, who wrote in at the start. */
  conversationId: string
  /** Customers write in (one inbound text each, now); returns their conversation ids in order. */
  customers: (senders: Sender[]) => Promise<string[]>
  target: (conversationId?: string) => SendTarget
  /** Queues a text (must succeed) and returns its message id. */
  text: (text: string, conversationId?: string) => string
  row: (messageId: string) => typeof messages.$inferSelect
  outbox: (messageId: string) => typeof messageOutbox.$inferSelect
  /** Requests the fake got on POST …/messages (sends and read receipts). */
  sends: () => FakeGraphRequest[]
  /** Posts signed status webhooks for our number (through the fake, over HTTP) and processes them. */
  statusHook: (items: unknown[]) => Promise<void>
}

let clientIds = 0
const clientId = (): string => `client-${Date.now().toString(36)}-${++clientIds}`

async function world (t: Test, options: { set?: Record<string, string>, worker?: OutboundWorkerOptions } = {}): Promise<World> {
  const fake = await startFakeGraph({ appSecret: fixtureSecret })
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: fixturePhoneNumberId, display: '+1 555-010-0100', verifiedName: 'Shop', wabaId: fixtureWaba })
  const dataDir = join(t.testdir({}), 'data')
  const env = await withChannel(t, { set: { 'whatsapp.graph_base_url': fake.url, 'whatsapp.graph_timeout_seconds': '2', 'storage.data_dir': dataDir, ...options.set } })
  await env.app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(env.app.server.address() as { port: number }).port}`
  const ws = env.channel.workspaceId
  const worker = startOutboundWorker(env.deps, { pollMs: 3_600_000, recipientSpacingMs: 0, ...options.worker })
  t.teardown(() => worker.stop())
  let seq = 0
  const w = { ...env, fake, ws, base, dataDir, worker } as World
  w.customers = async (senders) => {
    const ts = Math.floor(env.clock.now() / 1000)
    const wamids = senders.map(s => `wamid.IN.${++seq}.${s.waId ?? s.userId}`)
    const payload = envelope(messagesValue(senders, { messages: senders.map((s, i) => message(wamids[i]!, s, 'text', { body: `hello ${i}` }, {}, ts)) }))
    const res = await deliver(env, env.url, payload)
    if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}`)
    processAllPending(env.deps)
    return wamids.map(wamid => env.deps.db.select().from(messages).where(eq(messages.wamid, wamid)).get()!.conversationId)
  }
  w.target = (conversationId = w.conversationId) => ({ workspaceId: ws, conversationId, authorId: env.ownerId, clientId: clientId() })
  w.text = (text, conversationId) => {
    const r = queueTextSend(env.deps, { ...w.target(conversationId), text })
    if (!r.ok) throw new Error(JSON.stringify(r.errors))
    return r.message.id
  }
  w.row = (id) => env.deps.db.select().from(messages).where(eq(messages.id, id)).get()!
  w.outbox = (id) => env.deps.db.select().from(messageOutbox).where(eq(messageOutbox.messageId, id)).get()!
  w.sends = () => fake.requests.filter(r => r.method === 'POST' && r.path.endsWith('/messages'))
  w.statusHook = async (items) => {
    const res = await fake.postWebhook(`${base}${env.url}`, envelope(messagesValue([], { statuses: items })))
    if (res.status !== 200) throw new Error(`status webhook answered ${res.status}`)
    processAllPending(env.deps)
  }
  w.conversationId = (await w.customers([ana]))[0]!
  return w
}

function ok (t: Test, r: SendResult): Extract<SendResult, { ok: true }> {
  if (!r.ok) t.fail(`expected ok, got ${JSON.stringify(r.errors)}`)
  return r as Extract<SendResult, { ok: true }>
}

const seconds = (ms: number): number => Math.floor(ms / 1000)

t.test('ten submissions with one client id queue one message and Meta gets it once', async (t) => {
  const w = await world(t)
  const target = w.target()
  const results = await Promise.all(Array.from({ length: 10 }, async () => queueTextSend(w.deps, { ...target, text: 'Your order ships today' })))
  const ids = new Set(results.map(r => ok(t, r).message.id))
  t.equal(ids.size, 1, 'one message')
  t.equal(results.filter(r => r.ok && !r.duplicate).length, 1, 'nine duplicates')
  // The low-level queueSend keeps the same contract.
  const again = queueSend(w.deps, { workspaceId: w.ws, conversationId: w.conversationId, channelId: w.channel.id, authorId: null, clientId: target.clientId, type: 'text', content: { body: { type: 'text', text: 'x' } } })
  t.same([again.duplicate, again.message.id], [true, [...ids][0]])
  t.equal(w.count('message_outbox'), 1)
  await w.worker.runOnce()
  await w.worker.runOnce()
  t.equal(w.fake.sentMessages.length, 1, 'one send on the fake')

  // Five concurrent uploads with one client id: one message, one media row, one file.
  const mediaTarget = w.target()
  const uploads = await Promise.all(Array.from({ length: 5 }, () => queueMediaSend(w.deps, { ...mediaTarget, file: { bytes: png, mimeType: 'image/png', filename: 'menu.png' } })))
  t.equal(new Set(uploads.map(r => ok(t, r).message.id)).size, 1)
  t.equal(w.count('media'), 1)
  t.equal(readdirSync(join(w.dataDir, 'media', w.ws)).length, 1, 'the other files were removed')
})

t.test('a text is accepted (never "sent" from the send answer); status webhooks then move it forward', async (t) => {
  const w = await world(t)
  const events: string[] = []
  w.deps.events.on('message.updated', (e) => events.push(e.messageId))
  const id = w.text('Hi Ana! See https://shop.example.com/o/1')
  t.match(w.row(id), { status: 'queued', wamid: null })
  t.equal(await w.worker.runOnce(), 1)
  const sent = w.fake.sentMessages[0]!
  t.same(sent.body, {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: ana.waId,
    type: 'text',
    text: { body: 'Hi Ana! See https://shop.example.com/o/1', preview_url: true },
    biz_opaque_callback_data: id
  })
  t.match(w.row(id), { status: 'accepted', wamid: sent.wamid, sentAt: null })
  t.match(w.outbox(id), { status: 'done', attempts: 1, lastError: null })
  t.ok(events.includes(id), 'message.updated after acceptance')

  const ts = seconds(w.clock.now())
  await w.statusHook([status(sent.wamid, 'sent', ts)])
  t.match(w.row(id), { status: 'sent', sentAt: ts * 1000 })
  await w.statusHook([status(sent.wamid, 'read', ts + 5), status(sent.wamid, 'delivered', ts + 2)])
  t.match(w.row(id), { status: 'read', deliveredAt: (ts + 2) * 1000, readAt: (ts + 5) * 1000 })
})

t.test('a reply quotes the message it answers; a reaction targets one; a BSUID-only contact gets `recipient`', async (t) => {
  const w = await world(t)
  const inbound = w.deps.db.select().from(messages).where(eq(messages.conversationId, w.conversationId)).get()!
  const reply = ok(t, queueTextSend(w.deps, { ...w.target(), text: 'Sure!', replyTo: inbound.id }))
  t.equal(reply.message.replyToWamid, inbound.wamid)
  const reaction = ok(t, queueReactionSend(w.deps, { ...w.target(), targetMessageId: inbound.id, emoji: '👍' }))
  t.same(queueReactionSend(w.deps, { ...w.target(), targetMessageId: inbound.id, emoji: 'thumbs up' }), { ok: false, errors: { emoji: 'outbound.error.emojiInvalid' } })
  t.same(queueTextSend(w.deps, { ...w.target(), text: 'x', replyTo: 'NOPE' }), { ok: false, errors: { replyTo: 'outbound.error.replyNotFound' } })
  const [bsuidOnly] = await w.customers([{ userId: 'BR.user0000000009', name: 'Caio' }])
  const toBsuid = w.text('Olá Caio', bsuidOnly)
  await w.worker.runOnce()
  await w.worker.runOnce()
  const bodies = w.fake.sentMessages.map(m => m.body)
  t.match(bodies.find(b => b.biz_opaque_callback_data === reply.message.id), { type: 'text', context: { message_id: inbound.wamid }, to: ana.waId })
  const r = bodies.find(b => b.biz_opaque_callback_data === reaction.message.id)!
  t.same(r.reaction, { message_id: inbound.wamid, emoji: '👍' })
  t.equal(r.context, undefined)
  const b = bodies.find(b => b.biz_opaque_callback_data === toBsuid)!
  t.equal(b.recipient, 'BR.user0000000009')
  t.equal(b.to, undefined)
})

t.test('free-form messages need the 24-hour window; bad input is refused with catalogue keys', async (t) => {
  const w = await world(t)
  t.same(queueTextSend(w.deps, { ...w.target(), text: '   ' }), { ok: false, errors: { text: 'outbound.error.textRequired' } })
  t.same(queueTextSend(w.deps, { ...w.target(), text: 'x'.repeat(4097) }), { ok: false, errors: { text: 'outbound.error.textTooLong' } })
  t.same(queueTextSend(w.deps, { ...w.target(), clientId: 'a b', text: 'x' }), { ok: false, errors: { form: 'outbound.error.clientId' } })
  t.same(queueTextSend(w.deps, { ...w.target('01JUNKNOWNCONVERSATION0000'), text: 'x' }), { ok: false, errors: { form: 'outbound.error.conversationNotFound' } })
  t.same(queueTextSend(w.deps, { ...w.target(), channelId: 'another', text: 'x' }), { ok: false, errors: { form: 'outbound.error.conversationNotFound' } })
  w.clock.advance(24 * 3_600_000 + 1)
  t.same(queueTextSend(w.deps, { ...w.target(), text: 'late' }), { ok: false, errors: { form: 'outbound.error.windowClosed' } })
  t.equal(w.count('message_outbox'), 0, 'nothing queued')
})

t.test('a 131000 (HTTP 500) is retried after a full-jitter backoff that honours Retry-After, then accepted', async (t) => {
  const w = await world(t)
  const id = w.text('one')
  w.fake.script('/messages', { error: 'error-131000-generic', retryAfter: 120 })
  await w.worker.runOnce()
  const first = w.outbox(id)
  t.match(first, { status: 'pending', attempts: 1, ambiguousSince: null, lastError: /#131000/ })
  t.ok(first.nextAttemptAt - w.clock.now() >= 120_000, 'Retry-After honoured')
  t.equal(w.row(id).status, 'queued', 'still queued, not failed')
  await w.worker.runOnce()
  t.equal(w.sends().length, 1, 'not due yet: no second request')
  w.clock.set(first.nextAttemptAt)
  await w.worker.runOnce()
  t.match(w.outbox(id), { status: 'done', attempts: 2 })
  t.equal(w.row(id).status, 'accepted')
  t.equal(w.sends().length, 2)
})

t.test('130429 (throughput) backs off within the first ceiling and succeeds; giving up after 24 h fails the message', async (t) => {
  const w = await world(t)
  const id = w.text('throttled')
  w.fake.script('/messages', { error: 'error-130429-throughput' })
  await w.worker.runOnce()
  const first = w.outbox(id)
  const wait = first.nextAttemptAt - w.clock.now()
  t.ok(wait >= 1000 && wait <= 2000, `first retry in 1–2 s (${wait})`)
  w.clock.set(first.nextAttemptAt)
  await w.worker.runOnce()
  t.equal(w.row(id).status, 'accepted')

  const later = w.text('flaky')
  w.fake.script('/messages', { error: 'error-131000-generic', times: 100 })
  await w.worker.runOnce()
  w.clock.advance(24 * 3_600_000)
  await w.worker.runOnce()
  t.match(w.outbox(later), { status: 'failed', attempts: 2 })
  t.match(w.row(later), { status: 'failed', errorCode: 131000, errorDetail: /unknown error/ })
})

t.test('a permanent error (131047) fails at once with Meta\'s reason and is never retried', async (t) => {
  const w = await world(t)
  const events: string[] = []
  w.deps.events.on('message.updated', (e) => events.push(e.messageId))
  const id = w.text('late reply')
  w.fake.script('/messages', { error: 'error-131047-reengagement' })
  await w.worker.runOnce()
  t.match(w.row(id), { status: 'failed', errorCode: 131047, errorTitle: /Re-engagement message/, errorDetail: /more than 24 hours/, failedAt: w.clock.now(), wamid: null })
  // Meta's message is "(#131047) Re-engagement message": the code is kept apart, so it is not repeated in the title.
  t.equal(w.row(id).errorTitle, 'Re-engagement message', 'the title without the code Meta repeats in it')
  t.equal(w.outbox(id).lastError, '#131047 Re-engagement message')
  t.equal(failureKey(w.row(id)), 'whatsapp.error.windowClosed', 'the thread explains it with the catalogue')
  t.match(w.outbox(id), { status: 'failed', attempts: 1 })
  t.ok(events.includes(id))
  w.clock.advance(3_600_000)
  await w.worker.runOnce()
  t.equal(w.sends().length, 1, 'attempted once')
})

t.test('190 marks the number, keeps messages pending, emails the admins once per incident, and resumes after the reconnect', async (t) => {
  const w = await world(t)
  const admin = await createUser(w.deps, { name: 'Ada Admin' })
  addMember(w.deps, w.ws, admin.id, 'admin')
  const agent = await createUser(w.deps, { name: 'Agnes Agent' })
  addMember(w.deps, w.ws, agent.id, 'agent')
  const convs = await w.customers([{ waId: '15550100201', name: 'B' }, { waId: '15550100202', name: 'C' }])
  const ids = [w.text('one'), w.text('two', convs[0]), w.text('three', convs[1])]
  w.fake.script('/messages', { error: 'error-190-token-expired', times: 3 })
  const changed: string[] = []
  w.deps.events.on('channel.changed', e => changed.push(e.channelId))
  await w.worker.runOnce()
  t.equal(w.sends().length, 3, 'a burst of three sends hit the expired token')
  const channel = w.deps.db.select().from(channels).where(eq(channels.id, w.channel.id)).get()!
  t.equal(channel.status, 'needs_reconnect')
  t.equal(w.deps.db.select().from(channelIssues).where(eq(channelIssues.channelId, w.channel.id)).all().filter(i => i.code === 190).length, 1, 'one issue on the health panel')
  t.same(changed, [w.channel.id])
  for (const id of ids) {
    t.match(w.row(id), { status: 'queued', errorCode: null })
    t.match(w.outbox(id), { status: 'pending', attempts: 0, lastError: /reconnected/ })
  }
  const mails = w.deps.db.select().from(mailOutbox).where(eq(mailOutbox.kind, 'channel_needs_attention')).all()
  t.same(mails.map(m => m.toAddress).sort(), [admin.email, await ownerEmail(w)].sort(), 'owner and admin, not the agent')
  t.match(mails[0]!.subject, /Main number/)
  t.match(mails[0]!.textBody, /Error validating access token/)
  t.match(mails[0]!.textBody, new RegExp(`/settings/channels/${w.channel.id}`))
  t.notMatch(mails[0]!.html, /<script/)

  await w.worker.runOnce()
  t.equal(w.sends().length, 3, 'nothing is sent while the number needs reconnecting')

  // The admin fixes the token ("check now" succeeds): the channel is active again and its messages go out, in order.
  t.equal(await checkChannel(w.deps, w.ws, w.channel.id), 'ok')
  w.deps.events.emit('channel.changed', { workspaceId: w.ws, channelId: w.channel.id })
  await waitFor(() => ids.every(id => w.row(id).status === 'accepted'), 'the waiting messages to go out', 5000)
  t.equal(w.fake.sentMessages.length, 3)

  // A new incident later is a new email.
  w.text('four')
  w.fake.script('/messages', { error: 'error-190-token-expired' })
  await w.worker.runOnce()
  t.equal(w.deps.db.select().from(mailOutbox).where(eq(mailOutbox.kind, 'channel_needs_attention')).all().length, 4)
})

async function ownerEmail (w: World): Promise<string> {
  const { listTeam } = await import('../workspaces/team.service.js')
  return listTeam(w.deps, w.ws).members.find(m => m.role === 'owner')!.email
}

t.test('an ambiguous send (connection reset after Meta took it) is reconciled by the status webhook: exactly one message at Meta', async (t) => {
  const w = await world(t)
  const id = w.text('did it arrive?')
  const next = w.text('second in line')
  w.fake.script('/messages', { reset: 'after' })
  await w.worker.runOnce()
  t.equal(w.fake.sentMessages.length, 1, 'Meta recorded the message')
  const row = w.outbox(id)
  t.match(row, { status: 'pending', ambiguousSince: w.clock.now(), nextAttemptAt: w.clock.now() + reconcileWindowMs })
  t.match(w.row(id), { status: 'queued', wamid: null })
  t.equal(w.row(next).status, 'queued', 'the next message of the conversation waits')
  await w.worker.runOnce()
  t.equal(w.fake.sentMessages.length, 1, 'no re-send inside the window')

  const wamid = w.fake.sentMessages[0]!.wamid
  await w.statusHook([status(wamid, 'sent', seconds(w.clock.now()), { biz_opaque_callback_data: id })])
  t.match(w.row(id), { wamid, status: 'sent' })
  t.match(w.outbox(id), { status: 'done' })
  await waitFor(() => w.row(next).status === 'accepted', 'the conversation to move on', 5000)
  w.clock.advance(reconcileWindowMs + 1)
  await w.worker.runOnce()
  t.same(w.fake.sentMessages.map(m => m.body.biz_opaque_callback_data), [id, next], 'exactly one copy of each')
})

t.test('an ambiguous send with no status within the window is sent again, once', async (t) => {
  const w = await world(t)
  const id = w.text('lost answer')
  w.fake.script('/messages', { reset: 'after' })
  await w.worker.runOnce()
  w.clock.advance(reconcileWindowMs - 1000)
  await w.worker.runOnce()
  t.equal(w.fake.sentMessages.length, 1)
  w.clock.advance(1000)
  await w.worker.runOnce()
  t.equal(w.fake.sentMessages.length, 2, 're-sent after the window')
  t.match(w.row(id), { status: 'accepted', wamid: w.fake.sentMessages[1]!.wamid })
  t.match(w.outbox(id), { status: 'done', attempts: 2 })
  await w.worker.runOnce()
  t.equal(w.fake.sentMessages.length, 2)

  // A timeout (the answer stalls past graph_timeout_seconds) is ambiguous too.
  const slow = w.text('slow')
  w.fake.script('/messages', { delayMs: 3000 })
  await w.worker.runOnce()
  t.match(w.outbox(slow), { status: 'pending', ambiguousSince: w.clock.now() })
})

t.test('a send interrupted by a crash (lease expired while sending) waits for reconciliation instead of re-sending', async (t) => {
  const w = await world(t)
  const id = w.text('interrupted')
  w.deps.db.update(messageOutbox).set({ status: 'sending', attempts: 1, leaseUntil: w.clock.now() - 1 }).where(eq(messageOutbox.messageId, id)).run()
  await w.worker.runOnce()
  t.equal(w.fake.sentMessages.length, 0)
  t.match(w.outbox(id), { status: 'pending', ambiguousSince: w.clock.now(), nextAttemptAt: w.clock.now() + reconcileWindowMs })
})

t.test('messages of one conversation go out in order: #2 waits while #1 is retried', async (t) => {
  const w = await world(t, { worker: { concurrency: 1 } })
  const [other] = await w.customers([{ waId: '15550100301', name: 'D' }])
  const ids = [w.text('first'), w.text('second'), w.text('third')]
  const elsewhere = w.text('another conversation', other)
  w.fake.script('/messages', { error: 'error-131000-generic' })
  await w.worker.runOnce()
  t.match(w.outbox(ids[0]!), { status: 'pending', attempts: 1 })
  t.match(w.outbox(ids[1]!), { status: 'pending', attempts: 0 })
  t.equal(w.row(elsewhere).status, 'accepted', 'other conversations are not held up')
  w.clock.set(w.outbox(ids[0]!).nextAttemptAt)
  await w.worker.runOnce()
  const texts = w.fake.sentMessages.filter(m => m.body.to === ana.waId).map(m => (m.body.text as { body: string }).body)
  t.same(texts, ['first', 'second', 'third'])
})

t.test('131056 (pair rate) delays only that conversation, by at least a few seconds', async (t) => {
  const w = await world(t)
  const [other] = await w.customers([{ waId: '15550100401', name: 'E' }])
  const id = w.text('to Ana')
  w.fake.script('/messages', { error: 'error-131056-pair-rate' })
  await w.worker.runOnce()
  const wait = w.outbox(id).nextAttemptAt - w.clock.now()
  t.ok(wait >= 3000 && wait <= 6000, `first pair-rate backoff 3–6 s (${wait})`)
  const elsewhere = w.text('to E', other)
  await w.worker.runOnce()
  t.equal(w.row(elsewhere).status, 'accepted')
  t.equal(w.row(id).status, 'queued')
})

t.test('the per-number rate limit and the per-recipient spacing hold (request times at the fake)', async (t) => {
  const w = await world(t, { set: { 'whatsapp.send_rate_per_second': '5' }, worker: { recipientSpacingMs: 0 } })
  const senders = Array.from({ length: 10 }, (_, i) => ({ waId: `1555020${String(i).padStart(4, '0')}`, name: `C${i}` }))
  const convs = await w.customers(senders)
  const times: number[] = []
  w.fake.script((req) => { if (req.method === 'POST' && req.path.endsWith('/messages')) times.push(performance.now()); return false }, { times: 1_000_000 })
  convs.forEach((c, i) => w.text(`hello ${i}`, c))
  await w.worker.runOnce()
  t.equal(times.length, 10)
  const span = times[9]! - times[0]!
  t.ok(span >= 1500, `10 sends at 5/s take ≥ 1.8 s (${Math.round(span)} ms)`)
  for (const start of times) {
    const inWindow = times.filter(x => x >= start && x < start + 1000).length
    t.ok(inWindow <= 6, `≤ 5 (+1 tolerance) per second, saw ${inWindow}`)
  }

  // Same recipient, default spacing (1 s): three messages to Ana are ≥ ~1 s apart.
  const spaced = await world(t, { worker: { recipientSpacingMs: 1000 } })
  const at: number[] = []
  spaced.fake.script((req) => { if (req.path.endsWith('/messages')) at.push(performance.now()); return false }, { times: 1_000_000 })
  spaced.text('a'); spaced.text('b'); spaced.text('c')
  await spaced.worker.runOnce()
  t.equal(at.length, 3)
  t.ok(at[1]! - at[0]! >= 900 && at[2]! - at[1]! >= 900, `spacing ${Math.round(at[1]! - at[0]!)} / ${Math.round(at[2]! - at[1]!)} ms`)
})

t.test('an image is checked, stored encrypted, uploaded to Meta and sent by media id', async (t) => {
  const w = await world(t)
  const r = ok(t, await queueMediaSend(w.deps, { ...w.target(), file: { bytes: png, mimeType: 'image/png', filename: '../menu.png' }, caption: 'Our menu' }))
  t.equal(r.message.type, 'image')
  const item = w.deps.db.select().from(media).where(eq(media.messageId, r.message.id)).get()!
  t.match(item, { status: 'stored', kind: 'image', mimeType: 'image/png', size: png.length, fileName: 'menu.png', graphMediaId: null })
  const onDisk = readFileSync(mediaFilePath(w.dataDir, w.ws, item.id))
  t.notOk(onDisk.includes('CANARY-outbound-image-bytes'), 'the file is encrypted at rest')
  const cookie = await signIn(w.app, { email: await ownerEmail(w), password: goodPassword })
  const served = await get(w.app, `/media/${item.id}`, cookie)
  t.equal(served.statusCode, 200, 'the thread can show it at once')
  t.equal(served.headers['content-type'], 'image/png')
  t.ok(served.rawPayload.equals(png))

  await w.worker.runOnce()
  const upload = w.fake.requests.find(q => q.path.endsWith('/media'))
  t.ok(upload, 'uploaded first')
  const sent = w.fake.sentMessages[0]!
  const graphId = (sent.body.image as { id: string }).id
  t.same(sent.body.image, { id: graphId, caption: 'Our menu' })
  t.ok(w.fake.getMedia(graphId)!.bytes.equals(png), 'Meta got the exact bytes')
  t.equal(w.fake.getMedia(graphId)!.mimeType, 'image/png')
  t.equal(w.row(r.message.id).status, 'accepted')
  t.match((readContent(w.row(r.message.id)) as unknown as OutboundContent).upload, { id: graphId })

  // A PDF goes as a document with its file name; a voice note as audio with voice: true.
  const doc = ok(t, await queueMediaSend(w.deps, { ...w.target(), file: { bytes: pdf, mimeType: 'application/pdf', filename: 'invoice 42.pdf' }, caption: 'Invoice' }))
  const ogg = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(40, 2)])
  const voice = ok(t, await queueMediaSend(w.deps, { ...w.target(), file: { bytes: ogg, mimeType: 'audio/ogg; codecs=opus', filename: 'note.ogg' }, voice: true }))
  await w.worker.runOnce()
  t.match(w.fake.sentMessages.find(m => m.body.biz_opaque_callback_data === doc.message.id)!.body, { type: 'document', document: { caption: 'Invoice', filename: 'invoice 42.pdf' } })
  t.match(w.fake.sentMessages.find(m => m.body.biz_opaque_callback_data === voice.message.id)!.body, { type: 'audio', audio: { voice: true } })
})

t.test('attachments are refused with the composer\'s catalogue keys', async (t) => {
  const w = await world(t)
  const send = (file: { bytes: Buffer, mimeType: string, filename: string }, extra: { caption?: string, asDocument?: boolean, voice?: boolean } = {}) => queueMediaSend(w.deps, { ...w.target(), file, ...extra })
  t.same(await send({ bytes: Buffer.alloc(5 * 1024 * 1024 + 1, 0xff), mimeType: 'image/jpeg', filename: 'big.jpg' }), { ok: false, errors: { file: 'outbound.error.fileTooLarge.image' } })
  t.same(await send({ bytes: Buffer.from('<html><script>alert(1)</script>'), mimeType: 'image/jpeg', filename: 'x.jpg' }), { ok: false, errors: { file: 'outbound.error.fileContent' } })
  t.same(await send({ bytes: Buffer.from('<svg/>'), mimeType: 'image/svg+xml', filename: 'x.svg' }), { ok: false, errors: { file: 'outbound.error.fileType' } })
  t.same(await send({ bytes: Buffer.alloc(0), mimeType: 'image/png', filename: 'x.png' }), { ok: false, errors: { file: 'outbound.error.fileEmpty' } })
  t.same(await send({ bytes: Buffer.alloc(10, 1), mimeType: 'audio/mpeg', filename: 'a.mp3' }, { caption: 'no' }), { ok: false, errors: { caption: 'outbound.error.captionNotAllowed' } })
  t.same(await send({ bytes: png, mimeType: 'image/png', filename: 'x.png' }, { caption: 'c'.repeat(1025) }), { ok: false, errors: { caption: 'outbound.error.captionTooLong' } })
  t.same(await send({ bytes: Buffer.alloc(10, 1), mimeType: 'audio/mpeg', filename: 'a.mp3' }, { voice: true }), { ok: false, errors: { file: 'outbound.error.voiceType' } })
  const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 '), Buffer.alloc(120 * 1024)])
  t.same(await send({ bytes: webp, mimeType: 'image/webp', filename: 's.webp' }), { ok: false, errors: { file: 'outbound.error.fileTooLarge.sticker' } }, 'a static sticker is at most 100 KB')
  const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(6 * 1024 * 1024)])
  ok(t, await send({ bytes: big, mimeType: 'image/jpeg', filename: 'photo.jpg' }, { asDocument: true }))
  t.equal(w.count('media'), 1, 'only the valid one was stored')
})

t.test('templates: only APPROVED ones from the cache, variables checked, rendered text stored, sent outside the window', async (t) => {
  const w = await world(t)
  await syncTemplates(w.deps, { workspaceId: w.ws, wabaId: fixtureWaba, accessToken: 'EAAG-test-token-1234', graphApiVersion: 'v25.0' })
  w.clock.advance(25 * 3_600_000)
  const send = (templateName: string, language: string, parameters?: Parameters<typeof queueTemplateSend>[1]['parameters']) => queueTemplateSend(w.deps, { ...w.target(), templateName, language, parameters })
  t.same(await send('no_such', 'en_US'), { ok: false, errors: { templateName: 'outbound.error.templateNotFound' } })
  t.same(await send('appointment_reminder', 'en'), { ok: false, errors: { language: 'outbound.error.templateLanguage' } })
  t.same(await send('autumn_sale', 'en_US', { body: ['Priya'] }), { ok: false, errors: { template: 'outbound.error.templateNotApproved' } })
  t.same(await send('appointment_reminder', 'en_US', { body: ['Ana'] }), { ok: false, errors: { 'body.2': 'outbound.error.parameterRequired' } })
  t.same(await send('appointment_reminder', 'en_US', { body: ['Ana', 'Tue\n3 PM', 'extra'] }), { ok: false, errors: { 'body.2': 'outbound.error.parameterInvalid', 'body.3': 'outbound.error.parameterUnexpected' } })
  t.same(await send('order_shipped', 'en', { body: { first_name: 'Kenji', order_id: '58213' }, buttons: { 0: '58213' } }), { ok: false, errors: { header: 'outbound.error.headerMediaRequired' } })
  t.same(await send('order_shipped', 'en', { header: { link: 'http://cdn.example.com/x.jpg' }, body: { first_name: 'Kenji', order_id: '58213', coupon: 'x' }, buttons: { 0: '58213' } }), { ok: false, errors: { header: 'outbound.error.headerLinkInvalid', 'body.coupon': 'outbound.error.parameterUnexpected' } })
  t.same(await send('order_shipped', 'en', { header: { link: 'https://cdn.example.com/x.jpg' }, body: { first_name: 'Kenji' } }), { ok: false, errors: { 'body.order_id': 'outbound.error.parameterRequired', 'button.0': 'outbound.error.parameterRequired' } })

  const positional = ok(t, await send('appointment_reminder', 'en_US', { body: ['Ana', 'Tue 15 Sep, 3:00 PM'] }))
  t.equal(positional.message.type, 'template')
  t.match(readContent(positional.message).body, { type: 'template', name: 'appointment_reminder', header: 'Appointment reminder', text: 'Hi Ana, this is a reminder of your appointment on Tue 15 Sep, 3:00 PM. Reply below to confirm or reschedule.', footer: 'Reply STOP to opt out', buttons: ['Confirm', 'Reschedule'] })
  const named = ok(t, await send('order_shipped', 'en', { header: { file: { bytes: png, mimeType: 'image/png', filename: 'box.png' } }, body: { first_name: 'Kenji', order_id: '58213' }, buttons: { 0: '58213' } }))
  t.match(readContent(named.message).body, { text: 'Good news Kenji! Order 58213 is on its way.', headerMedia: 'image' })
  await w.worker.runOnce()
  await w.worker.runOnce()
  t.same(w.fake.sentMessages.find(m => m.body.biz_opaque_callback_data === positional.message.id)!.body.template, {
    name: 'appointment_reminder',
    language: { code: 'en_US' },
    components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'Tue 15 Sep, 3:00 PM' }] }]
  })
  const sentNamed = w.fake.sentMessages.find(m => m.body.biz_opaque_callback_data === named.message.id)!.body.template as { components: Array<Record<string, unknown>> }
  const headerId = ((sentNamed.components[0]!.parameters as Array<{ image: { id: string } }>)[0]!.image.id)
  t.ok(w.fake.getMedia(headerId)?.bytes.equals(png), 'the header image was uploaded and sent by id')
  t.same(sentNamed.components.slice(1), [
    { type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Kenji' }, { type: 'text', parameter_name: 'order_id', text: '58213' }] },
    { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: '58213' }] }
  ])
  t.equal(w.row(positional.message.id).status, 'accepted')
})

t.test('opening a conversation resets its unread count and sends one read receipt for the newest message', async (t) => {
  const w = await world(t)
  const updates: string[] = []
  w.deps.events.on('conversation.updated', e => updates.push(e.conversationId))
  const unread = (): number => w.deps.db.select().from(conversations).where(eq(conversations.id, w.conversationId)).get()!.unreadCount
  t.equal(unread(), 1)
  t.equal(await markConversationRead(w.deps, w.ws, w.conversationId), 'sent')
  t.equal(unread(), 0)
  t.same(updates, [w.conversationId])
  const newest = w.deps.db.select().from(messages).where(eq(messages.conversationId, w.conversationId)).get()!
  t.same(w.fake.readReceipts, [{ phoneNumberId: fixturePhoneNumberId, wamid: newest.wamid }])
  t.equal(await markConversationRead(w.deps, w.ws, w.conversationId), 'skipped', 'once per message')
  t.equal(w.fake.readReceipts.length, 1)
  t.equal(updates.length, 1)

  await w.customers([ana])
  w.fake.script('/messages', { status: 503 })
  t.equal(await markConversationRead(w.deps, w.ws, w.conversationId), 'failed', 'a failure is reported, not thrown')
  t.equal(await markConversationRead(w.deps, w.ws, w.conversationId), 'sent', 'and tried again at the next opening')
  t.equal(w.fake.readReceipts.length, 2)

  w.deps.db.update(workspaces).set({ sendReadReceipts: false }).where(eq(workspaces.id, w.ws)).run()
  await w.customers([ana])
  t.equal(await markConversationRead(w.deps, w.ws, w.conversationId), 'skipped', 'the workspace turned read receipts off')
  t.equal(unread(), 0)
  t.equal(w.fake.readReceipts.length, 2)
})

t.test('messages queued on a number that was then disconnected fail with a reason instead of waiting forever', async (t) => {
  const w = await world(t)
  const id = w.text('too late')
  w.deps.db.update(channels).set({ deletedAt: w.clock.now() }).where(eq(channels.id, w.channel.id)).run()
  await w.worker.runOnce()
  t.match(w.row(id), { status: 'failed', errorCode: null, errorTitle: /disconnected/ })
  t.equal(failureKey(w.row(id)), 'outbound.error.sendFailed')
  t.equal(w.fake.sentMessages.length, 0)
})

t.test('the channel alert email renders in en and pt-BR with user data escaped and only the given link', async (t) => {
  const w = await world(t)
  const evil = '<script>alert(1)</script>'
  const url = 'https://crm.example.com/settings/channels/01JCHANNEL'
  for (const locale of ['en', 'pt-BR']) {
    const mail = renderChannelAlert(w.deps.views, w.deps.i18n.translator(locale), { name: evil, workspaceName: `Shop ${evil}`, channelName: `Main ${evil}`, phoneNumber: '+1 555', reason: `Token expired ${evil}`, advice: 'Paste a new token.', channelUrl: url })
    for (const body of [mail.subject, mail.html, mail.text]) {
      t.notMatch(body, /\bmail\.[a-z_]+\.[a-zA-Z.]+/, `${locale}: no untranslated key`)
      t.notMatch(body, /\{[a-zA-Z]+\}/, `${locale}: no unfilled placeholder`)
      t.notMatch(body, /undefined|\[object Object\]/)
    }
    t.notMatch(mail.subject, /[\r\n]/)
    t.notOk(mail.html.includes('<script>'), 'escaped in the HTML')
    t.ok(mail.text.includes(evil), 'plain in the text version')
    t.same([...mail.html.matchAll(/href="([^"]*)"/g)].map(m => m[1]), [url, url])
    t.match(mail.html, new RegExp(`<html lang="${locale}">`))
  }
  t.throws(() => renderChannelAlert(w.deps.views, w.deps.i18n.translator('en'), { name: 'a', workspaceName: 'b', channelName: 'c', phoneNumber: 'd', reason: 'e', advice: 'f', channelUrl: 'javascript:alert(1)' }))
})

t.test('stopping the worker puts back a row that was waiting for its pacing slot, uncounted and unsent', async (t) => {
  const w = await world(t, { worker: { recipientSpacingMs: 3000 } })
  const first = w.text('first')
  const second = w.text('second')
  const pass = w.worker.runOnce()
  await waitFor(() => w.row(first).status === 'accepted' && w.outbox(second).status === 'sending', 'the second message to wait for its slot', 5000)
  const started = performance.now()
  await w.worker.stop()
  await pass
  t.ok(performance.now() - started < 2000, 'stop does not wait out the spacing')
  t.match(w.outbox(second), { status: 'pending', attempts: 0, leaseUntil: null })
  t.equal(w.row(second).status, 'queued')
  t.equal(w.fake.sentMessages.length, 1)
})

// Processing stored deliveries (SPEC §3–5, issue "WhatsApp channel" part 2–3): every fixture's stored
// result, batches, identity (BSUID first, number and user-id changes, merges), conversations and the
// 24-hour window, statuses that only move forward, parking, reactions, failures and replay.
import { readdirSync } from 'node:fs'
import t from 'tap'
import { deliver, envelope, fixture, fixturesDir, message, messagesValue, status, withChannel, type ChannelApp, type Sender } from '../../../test/helpers/whatsapp.js'
import { createChannel } from '../channels/channels.service.js'
import { conversationMessages, insertOutbound, readContent, attachWamid, statusHistory, reactionsTo } from '../inbox/messaging.service.js'
import { processAllPending } from './webhook-processor.js'
import { listWebhookEvents, requeueWebhookEvents } from './webhook-events.store.js'

const ana: Sender = { waId: '15550100111', userId: 'US.1000000000000000111', name: 'Ana Souza' }

async function post (env: ChannelApp, body: Buffer | object): Promise<void> {
  const res = await deliver(env, env.url, body)
  if (res.statusCode !== 200) throw new Error(`delivery answered ${res.statusCode}`)
}

function rows<T = Record<string, unknown>> (env: ChannelApp, sql: string, ...params: unknown[]): T[] {
  return env.deps.sqlite.prepare(sql).all(...params) as T[]
}

function contacts (env: ChannelApp): Array<{ id: string, profile_name: string | null, username: string | null, deleted_at: number | null, merged_into_id: string | null }> {
  return rows(env, 'SELECT id, profile_name, username, deleted_at, merged_into_id FROM contacts ORDER BY created_at, id')
}

function messagesOf (env: ChannelApp): Array<{ id: string, wamid: string, type: string, conversation_id: string, status: string, unknown: number, reply_to_wamid: string | null, forwarded: number }> {
  return rows(env, 'SELECT id, wamid, type, conversation_id, status, unknown, reply_to_wamid, forwarded FROM messages ORDER BY timestamp, id')
}

t.test('every shared fixture is processed into what it means', async (t) => {
  const env = await withChannel(t)
  const files = readdirSync(fixturesDir).filter(f => f.endsWith('.json')).sort()
  for (const f of files) await post(env, fixture(f))
  const summary = processAllPending(env.deps)
  t.same(summary.failed, 0, 'nothing failed')
  const events = listWebhookEvents(env.deps.db, env.channel.workspaceId)
  t.equal(events.filter(e => e.status === 'pending').length, 0, 'nothing left pending')
  t.same(events.filter(e => e.status === 'failed').map(e => e.lastError), [])

  const msgs = messagesOf(env)
  const byType = new Map<string, number>()
  for (const m of msgs) byType.set(m.type, (byType.get(m.type) ?? 0) + 1)
  for (const type of ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'interactive', 'button', 'order', 'unsupported']) {
    t.ok((byType.get(type) ?? 0) >= 1, `a ${type} message is stored`)
  }
  t.notOk(byType.has('reaction'), 'reactions are not messages')
  t.equal(new Set(msgs.map(m => m.wamid)).size, msgs.length, 'each wamid once')
  t.ok(msgs.find(m => m.type === 'unsupported')?.unknown === 1, 'unsupported content is kept and marked')
  t.ok(msgs.some(m => m.reply_to_wamid !== null), 'reply context kept')

  const ws = env.channel.workspaceId
  const first = msgs.find(m => m.wamid === 'wamid.HBgLRkFLRS5JTi4wMDAx')!
  const stored = conversationMessages(env.deps.db, ws, first.conversation_id).find(m => m.id === first.id)!
  t.same(readContent(stored).body, { type: 'text', text: 'Hi! Is the blue backpack still in stock?' })
  const raw = JSON.stringify(rows(env, 'SELECT * FROM messages')) + JSON.stringify(rows(env, 'SELECT * FROM contacts'))
  t.notMatch(raw, /blue backpack/, 'message bodies are encrypted at rest')
  t.notMatch(raw, /15550100111/, 'phone numbers are encrypted at rest')
  t.notMatch(raw, /US\.1000000000000000111/, 'BSUIDs are encrypted at rest')

  // Ana's reaction was added then removed (both removal forms): nothing remains set.
  t.same(reactionsTo(env.deps.db, ws, 'wamid.HBgLRkFLRS5PVVQuMDAwMQ=='), [], 'the reaction was removed')
  // Statuses for our (unknown) outbound wamid are parked, once each.
  const parked = statusHistory(env.deps.db, ws, 'wamid.HBgLRkFLRS5PVVQuMDAwMQ==')
  t.ok(parked.length >= 3, 'statuses parked')
  t.ok(parked.every(s => s.appliedAt === null))
  // The template update reached the template cache.
  t.same(rows(env, 'SELECT name, language, status FROM templates'), [{ name: 'appointment_reminder', language: 'en_US', status: 'PAUSED' }])
  t.ok(env.count('media') >= 5, 'every media item is queued for download')
  t.equal(rows(env, "SELECT count(*) AS n FROM conversations WHERE status <> 'resolved'").length, 1)

  // A second delivery of everything changes nothing.
  const before = { messages: env.count('messages'), contacts: env.count('contacts'), statuses: env.count('message_statuses'), conversations: env.count('conversations'), media: env.count('media') }
  for (const f of files) await post(env, fixture(f))
  processAllPending(env.deps)
  t.same({ messages: env.count('messages'), contacts: env.count('contacts'), statuses: env.count('message_statuses'), conversations: env.count('conversations'), media: env.count('media') }, before, 'redelivery is idempotent')
})

t.test('a batch of several entries, changes, messages and statuses is processed whole', async (t) => {
  const env = await withChannel(t)
  const bob: Sender = { waId: '5511987654321', userId: 'BR.bob', name: 'Bob' }
  const body = {
    object: 'whatsapp_business_account',
    entry: [0, 1].map(e => ({
      id: '109876543210001',
      changes: [0, 1].map(c => ({
        field: 'messages',
        value: messagesValue([ana, bob], {
          messages: [message(`wamid.E${e}C${c}A`, ana, 'text', { body: `a ${e}${c}` }), message(`wamid.E${e}C${c}B`, bob, 'text', { body: `b ${e}${c}` })],
          statuses: [status(`wamid.OUT${e}${c}`, 'delivered', 1_789_200_100)]
        })
      }))
    }))
  }
  await post(env, body)
  processAllPending(env.deps)
  t.equal(env.count('messages'), 8, 'all 8 messages')
  t.equal(env.count('message_statuses'), 4, 'all 4 statuses')
  t.equal(env.count('contacts'), 2)
  t.equal(env.count('conversations'), 2, 'one conversation per contact')
})

t.test('a change for another phone number id is ignored and logged', async (t) => {
  const env = await withChannel(t)
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.X1', ana, 'text', { body: 'hi' })] }, '999999999999')))
  const s = processAllPending(env.deps)
  t.equal(s.ignored, 1)
  t.equal(env.count('messages'), 0)
  t.match(listWebhookEvents(env.deps.db, env.channel.workspaceId)[0]!.lastError, /999999999999.*not this channel/)
  t.ok(env.logs.some(l => l.includes('not this channel') && l.includes('999999999999')), 'logged')
})

t.test('contacts: BSUID first; username users without a phone; number and user-id changes keep one contact', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  // A username user: no phone at all.
  const zoe: Sender = { userId: 'US.zoe', username: 'zoe.codes', name: 'Zoe' }
  await post(env, envelope(messagesValue([zoe], { messages: [message('wamid.Z1', zoe, 'text', { body: 'hello' })] })))
  // Later Meta also reports her number: same contact.
  const zoeWithPhone: Sender = { ...zoe, waId: '15550100999' }
  await post(env, envelope(messagesValue([zoeWithPhone], { messages: [message('wamid.Z2', zoeWithPhone, 'text', { body: 'again' }, {}, 1_789_200_100)] })))
  processAllPending(env.deps)
  t.equal(contacts(env).length, 1, 'one contact for both')
  t.same(rows(env, 'SELECT username, profile_name FROM contacts'), [{ username: 'zoe.codes', profile_name: 'Zoe' }])
  t.ok(rows(env, 'SELECT wa_id_index FROM contacts WHERE wa_id_index IS NOT NULL').length === 1, 'the phone was added')

  // She changes her number (new wa_id and a new BSUID): a system message on the same contact.
  const change = message('wamid.Z3', zoeWithPhone, 'system', { body: 'Zoe changed her number', type: 'user_changed_number', wa_id: '15550100888', user_id: 'US.zoe2', previous_user_id: 'US.zoe' }, {}, 1_789_200_200)
  await post(env, envelope(messagesValue([], { messages: [change] })))
  // Then writes from the new identity.
  const zoeNew: Sender = { waId: '15550100888', userId: 'US.zoe2', name: 'Zoe' }
  await post(env, envelope(messagesValue([zoeNew], { messages: [message('wamid.Z4', zoeNew, 'text', { body: 'new phone' }, {}, 1_789_200_300)] })))
  processAllPending(env.deps)
  t.equal(contacts(env).filter(c => c.deleted_at === null).length, 1, 'still one contact')
  t.equal(env.count('conversations'), 1, 'one conversation holds the whole history')
  t.same(messagesOf(env).map(m => m.type), ['text', 'text', 'system', 'text'])

  // A user-id change only (no phone).
  const idChange = message('wamid.Z5', { userId: 'US.zoe2' }, 'system', { body: 'id changed', type: 'user_changed_user_id', user_id: 'US.zoe3', previous_user_id: 'US.zoe2' }, {}, 1_789_200_400)
  await post(env, envelope(messagesValue([], { messages: [idChange] })))
  const zoe3: Sender = { userId: 'US.zoe3', name: 'Zoe' }
  await post(env, envelope(messagesValue([zoe3], { messages: [message('wamid.Z6', zoe3, 'text', { body: 'after id change' }, {}, 1_789_200_500)] })))
  processAllPending(env.deps)
  t.equal(contacts(env).filter(c => c.deleted_at === null).length, 1, 'still one contact after a user-id change')
  t.equal(env.count('conversations'), 1)

  // Two contacts that turn out to be one person (first seen by phone only, then by BSUID only) merge.
  const byPhone: Sender = { waId: '15550100777', name: 'Carla' }
  const byId: Sender = { userId: 'US.carla', name: 'Carla' }
  await post(env, envelope(messagesValue([byPhone], { messages: [message('wamid.C1', byPhone, 'text', { body: 'one' }, {}, 1_789_200_600)] })))
  await post(env, envelope(messagesValue([byId], { messages: [message('wamid.C2', byId, 'text', { body: 'two' }, {}, 1_789_200_700)] })))
  const both: Sender = { waId: '15550100777', userId: 'US.carla', name: 'Carla' }
  await post(env, envelope(messagesValue([both], { messages: [message('wamid.C3', both, 'text', { body: 'three' }, {}, 1_789_200_800)] })))
  processAllPending(env.deps)
  const live = contacts(env).filter(c => c.deleted_at === null)
  t.equal(live.length, 2, 'Zoe and one Carla')
  const merged = contacts(env).filter(c => c.merged_into_id !== null)
  t.equal(merged.length, 1, 'the duplicate Carla was merged')
  const carla = live.find(c => c.profile_name === 'Carla')!
  const convs = rows<{ id: string }>(env, 'SELECT id FROM conversations WHERE contact_id = ?', carla.id)
  t.equal(convs.length, 1, "Carla's two open conversations were folded into one")
  t.equal(conversationMessages(env.deps.db, ws, convs[0]!.id).length, 3)
})

t.test('a recycled number (same wa_id, a different BSUID) is a new person', async (t) => {
  const env = await withChannel(t)
  const old: Sender = { waId: '15550100500', userId: 'US.old', name: 'Old owner' }
  const next: Sender = { waId: '15550100500', userId: 'US.new', name: 'New owner' }
  await post(env, envelope(messagesValue([old], { messages: [message('wamid.R1', old, 'text', { body: 'x' })] })))
  await post(env, envelope(messagesValue([next], { messages: [message('wamid.R2', next, 'text', { body: 'y' }, {}, 1_789_200_100)] })))
  processAllPending(env.deps)
  t.equal(contacts(env).length, 2)
  t.equal(env.count('conversations'), 2)
})

t.test('conversations: one open per contact and number; the 24-hour window follows message timestamps', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.W2', ana, 'text', { body: 'later' }, {}, 1_789_203_600)] })))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.W1', ana, 'text', { body: 'earlier, delivered late' }, {}, 1_789_200_000)] })))
  processAllPending(env.deps)
  const [conv] = rows<{ id: string, last_inbound_at: number, last_message_at: number, unread_count: number }>(env, 'SELECT id, last_inbound_at, last_message_at, unread_count FROM conversations')
  t.equal(conv!.last_inbound_at, 1_789_203_600_000, 'the window runs from the latest message, not the latest delivery')
  t.equal(conv!.unread_count, 2)
  t.same(conversationMessages(env.deps.db, ws, conv!.id).map(m => m.wamid), ['wamid.W1', 'wamid.W2'], 'thread in message-time order')

  // On a second number, the same customer has a separate conversation.
  const second = createChannel(env.deps.db, ws, { name: 'Second', wabaId: '109876543210001', phoneNumberId: '110000000000202', accessToken: 'EAAG-x-5678', appSecret: 'second-secret', graphApiVersion: 'v25.0' }, env.clock.now())
  const res = await deliver(env, `/webhooks/whatsapp/${second.publicId}`, envelope(messagesValue([ana], { messages: [message('wamid.W3', ana, 'text', { body: 'other number' })] }, '110000000000202')), undefined, {}, 'second-secret')
  t.equal(res.statusCode, 200)
  processAllPending(env.deps)
  t.equal(env.count('conversations'), 2)
  t.equal(env.count('contacts'), 1)

  // Resolved: by default the next message reopens the conversation…
  env.deps.sqlite.prepare("UPDATE conversations SET status = 'resolved', resolved_at = 1").run()
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.W3b', ana, 'text', { body: 'one more thing' }, {}, 1_789_280_000)] })))
  processAllPending(env.deps)
  t.equal(rows(env, "SELECT id FROM conversations WHERE status = 'open' AND resolved_at IS NULL").length, 1, 'reopened')
  t.equal(env.count('conversations'), 2)
  // …or, with the workspace setting "start a new one", a new conversation.
  env.deps.sqlite.prepare("UPDATE conversations SET status = 'resolved', resolved_at = 1").run()
  env.deps.sqlite.prepare("UPDATE workspaces SET resolved_reply = 'new'").run()
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.W4', ana, 'text', { body: 'new topic' }, {}, 1_789_290_000)] })))
  processAllPending(env.deps)
  t.equal(rows(env, "SELECT id FROM conversations WHERE status = 'open'").length, 1)
  t.equal(env.count('conversations'), 3)
  // A click-to-WhatsApp referral opens the 72-hour free entry window.
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.W5', ana, 'text', { body: 'from the ad' }, { referral: { source_url: 'https://fb.me/x', source_type: 'ad', source_id: '1', ctwa_clid: 'c' } }, 1_789_290_100)] })))
  processAllPending(env.deps)
  t.same(rows(env, "SELECT entry_point_until FROM conversations WHERE status = 'open'"), [{ entry_point_until: (1_789_290_100 + 72 * 3600) * 1000 }])
})

t.test('statuses only move forward, tolerate any order and duplicates, and parked ones apply later', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.IN1', ana, 'text', { body: 'hi' })] })))
  processAllPending(env.deps)
  const conversationId = rows<{ id: string }>(env, 'SELECT id FROM conversations')[0]!.id
  const send = (): string => insertOutbound(env.deps.db, { workspaceId: ws, conversationId, channelId: env.channel.id, type: 'text', content: { body: { type: 'text', text: 'reply' } }, authorId: null }, env.clock.now()).id
  const state = (id: string) => rows<{ status: string, delivered_at: number | null, read_at: number | null, error_code: number | null, pricing_category: string | null }>(env, 'SELECT status, delivered_at, read_at, error_code, pricing_category FROM messages WHERE id = ?', id)[0]!

  // read arrives before delivered; sent arrives last and twice.
  const m1 = send()
  attachWamid(env.deps.db, ws, m1, 'wamid.OUT1', env.clock.now())
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT1', 'read', 1_789_200_030)] })))
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT1', 'delivered', 1_789_200_020, { pricing: { pricing_model: 'PMP', type: 'regular', category: 'utility' } })] })))
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT1', 'sent', 1_789_200_010), status('wamid.OUT1', 'sent', 1_789_200_010)] })))
  processAllPending(env.deps)
  t.same(state(m1), { status: 'read', delivered_at: 1_789_200_020_000, read_at: 1_789_200_030_000, error_code: null, pricing_category: 'utility' }, 'read stays; the late delivered fills its time')
  t.equal(statusHistory(env.deps.db, ws, 'wamid.OUT1').length, 3, 'sent stored once')

  // failed overrides sent, keeps Meta's reason; a later delivered (multi-device) wins but keeps the error.
  const m2 = send()
  attachWamid(env.deps.db, ws, m2, 'wamid.OUT2', env.clock.now())
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT2', 'sent', 1_789_200_010)] })))
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT2', 'failed', 1_789_200_011, { errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'More than 24 hours have passed' } }] })] })))
  processAllPending(env.deps)
  t.match(state(m2), { status: 'failed', error_code: 131047 })
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT2', 'delivered', 1_789_200_012)] })))
  processAllPending(env.deps)
  t.match(state(m2), { status: 'delivered', error_code: 131047 })
  // failed after read changes nothing but the error record.
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT1', 'failed', 1_789_200_040, { errors: [{ code: 131026, title: 'Undeliverable' }] })] })))
  processAllPending(env.deps)
  t.equal(state(m1).status, 'read')

  // Statuses that arrive before the send returned are parked, then applied when the wamid is known.
  const m3 = send()
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT3', 'delivered', 1_789_200_020), status('wamid.OUT3', 'sent', 1_789_200_010)] })))
  processAllPending(env.deps)
  t.equal(state(m3).status, 'queued', 'nothing to apply yet')
  attachWamid(env.deps.db, ws, m3, 'wamid.OUT3', env.clock.now())
  t.equal(state(m3).status, 'delivered', 'parked statuses applied')
  t.ok(statusHistory(env.deps.db, ws, 'wamid.OUT3').every(s => s.appliedAt !== null))

  // A send whose response was lost is reconciled through biz_opaque_callback_data = our message id.
  const m4 = send()
  await post(env, envelope(messagesValue([], { statuses: [status('wamid.OUT4', 'sent', 1_789_200_010, { biz_opaque_callback_data: m4 })] })))
  processAllPending(env.deps)
  t.same(rows(env, 'SELECT wamid, status FROM messages WHERE id = ?', m4), [{ wamid: 'wamid.OUT4', status: 'sent' }])
})

t.test('reactions attach to their target, change, and are removed in either form, whatever the order', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  const react = (wamid: string, emoji: string | undefined, ts: number) => envelope(messagesValue([ana], { messages: [message(wamid, ana, 'reaction', { message_id: 'wamid.TARGET', ...(emoji === undefined ? {} : { emoji }) }, {}, ts)] }))
  await post(env, react('wamid.r1', '👍', 100))
  processAllPending(env.deps)
  t.same(reactionsTo(env.deps.db, ws, 'wamid.TARGET').map(r => r.emoji), ['👍'], 'a reaction to an unknown target is kept for it')
  await post(env, react('wamid.r3', '❤️', 300))
  await post(env, react('wamid.r2', undefined, 200)) // an older removal, delivered late
  processAllPending(env.deps)
  t.same(reactionsTo(env.deps.db, ws, 'wamid.TARGET').map(r => r.emoji), ['❤️'], 'the latest reaction wins')
  await post(env, react('wamid.r4', '', 400))
  processAllPending(env.deps)
  t.same(reactionsTo(env.deps.db, ws, 'wamid.TARGET'), [], 'empty emoji removes it')
  t.equal(env.count('messages'), 0)
})

t.test('edits and revokes (Coexistence numbers) change the original message', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.E1', ana, 'text', { body: 'tpyo' })] })))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.E2', ana, 'edit', { original_message_id: 'wamid.E1', message: { type: 'text', text: { body: 'typo' } } }, {}, 1_789_200_060)] })))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.E2', ana, 'edit', { original_message_id: 'wamid.E1', message: { type: 'text', text: { body: 'typo' } } }, {}, 1_789_200_060)] })))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.E3', ana, 'text', { body: 'my card number is 4111' }, {}, 1_789_200_100)] })))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.E4', ana, 'revoke', { original_message_id: 'wamid.E3' }, {}, 1_789_200_120)] })))
  processAllPending(env.deps)
  const conv = rows<{ id: string }>(env, 'SELECT id FROM conversations')[0]!.id
  const [edited, revoked] = conversationMessages(env.deps.db, ws, conv)
  t.same(readContent(edited!).body, { type: 'text', text: 'typo' })
  t.equal(readContent(edited!).edits, 1, 'a redelivered edit applies once')
  t.ok(edited!.editedAt)
  t.same(readContent(revoked!).body, { type: 'revoked' }, 'the deleted text is wiped')
  t.ok(revoked!.revokedAt)
  t.equal(env.count('messages'), 2)
})

t.test('value-level errors go to channel health; a token error marks the channel for reconnecting', async (t) => {
  const env = await withChannel(t)
  await post(env, envelope(messagesValue([], { errors: [{ code: 130429, title: 'Rate limit hit', message: 'Rate limit hit', error_data: { details: 'Cloud API message throughput has been reached.' } }] })))
  processAllPending(env.deps)
  t.same(rows(env, 'SELECT code, title, source FROM channel_issues'), [{ code: 130429, title: 'Rate limit hit', source: 'webhook' }])
  t.same(rows(env, 'SELECT status FROM channels'), [{ status: 'active' }])
  await post(env, envelope(messagesValue([], { errors: [{ code: 190, title: 'Access token has expired' }] })))
  processAllPending(env.deps)
  t.same(rows(env, 'SELECT status, status_detail FROM channels'), [{ status: 'needs_reconnect', status_detail: 'Access token has expired' }])
})

t.test('unknown fields, types and garbage are kept and marked, never failed', async (t) => {
  const env = await withChannel(t)
  await post(env, envelope({ field: 'calls', value: { calls: [{ id: 'c1' }] } }))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.U1', ana, 'hologram', { shape: 'cube' })] })))
  await post(env, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))
  await post(env, Buffer.from('{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"from":"1555","id":"wamid.BAD","type":"location","location":{"latitude":91,"longitude":0}}],"metadata":{"phone_number_id":"110000000000101"},"contacts":[{"wa_id":"1555"}]}}]}]}'))
  const s = processAllPending(env.deps)
  t.equal(s.failed, 0)
  const events = listWebhookEvents(env.deps.db, env.channel.workspaceId)
  t.match(events[0], { status: 'ignored', lastError: /calls/ })
  t.match(events[2], { status: 'ignored', lastError: /invalid-utf8/ })
  t.same(messagesOf(env).map(m => [m.type, m.unknown]).sort(), [['invalid', 1], ['other', 1]], 'kept and marked')
})

t.test('a delivery that fails stays visible with its error, and a replay processes it once', async (t) => {
  const env = await withChannel(t)
  // A storage-level fault for one message: the delivery fails, the others go through.
  env.deps.sqlite.exec("CREATE TRIGGER fail_once BEFORE INSERT ON messages WHEN NEW.wamid = 'wamid.F1' BEGIN SELECT RAISE(ABORT, 'simulated fault'); END")
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.F0', ana, 'text', { body: 'ok' })] })))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.F1', ana, 'text', { body: 'boom' }, {}, 1_789_200_001)] })))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.F2', ana, 'text', { body: 'ok too' }, {}, 1_789_200_002)] })))
  const s = processAllPending(env.deps)
  t.same(s, { processed: 2, ignored: 0, failed: 1 })
  const failed = listWebhookEvents(env.deps.db, env.channel.workspaceId, 'failed')
  t.equal(failed.length, 1)
  t.match(failed[0]!.lastError, /simulated fault/)
  t.notMatch(failed[0]!.lastError, /boom/, 'the error never carries message content')
  t.equal(env.count('messages'), 2, 'nothing of the failed delivery was half-applied')
  env.deps.sqlite.exec('DROP TRIGGER fail_once')
  t.equal(requeueWebhookEvents(env.deps.db, { workspaceId: env.channel.workspaceId, statuses: ['failed'] }), 1)
  processAllPending(env.deps)
  t.equal(env.count('messages'), 3)
  t.equal(listWebhookEvents(env.deps.db, env.channel.workspaceId, 'failed').length, 0)
  t.equal(listWebhookEvents(env.deps.db, env.channel.workspaceId)[1]!.attempts, 2)
})

t.test('an unreadable stored payload fails alone instead of blocking the queue', async (t) => {
  const env = await withChannel(t)
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.Q1', ana, 'text', { body: 'a' })] })))
  await post(env, envelope(messagesValue([ana], { messages: [message('wamid.Q2', ana, 'text', { body: 'b' }, {}, 1_789_200_001)] })))
  const first = listWebhookEvents(env.deps.db, env.channel.workspaceId)[0]!
  env.deps.sqlite.prepare("UPDATE webhook_events SET payload = 'v1.x.broken' WHERE id = ?").run(first.id)
  const s = processAllPending(env.deps)
  t.same(s, { processed: 1, ignored: 0, failed: 1 })
})

// Conversations, messages, templates and channels in the public API, over real HTTP and real SQLite, on
// a workspace whose customer wrote through a real signed webhook: the inbox's filters and paging,
// status, assignment and labels, messages newest first, sends with an Idempotency-Key (a retry returns
// the same message; the same key for another text is refused), the 24-hour window and opt-outs
// refused as the composer refuses them, and nothing of another workspace reachable.
import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { addMember, createUser } from '../../../test/helpers/accounts.js'
import { deliver, envelope, fixtureWaba, message, messagesValue, withChannel, type ChannelApp } from '../../../test/helpers/whatsapp.js'
import { contacts, labels, media, messageOutbox, templates } from '../../db/schema.js'
import { createApiKey } from '../apikeys/apikeys.service.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { startFakeGraph } from '../../platform/whatsapp/fake-graph.js'

interface World extends ChannelApp { key: string, otherKey: string, agentId: string, conversationId: string, workspaceId: string }

async function world (t: Test, options: { inboundAgoMs?: number, graphUrl?: string } = {}): Promise<World> {
  const env = await withChannel(t, options.graphUrl === undefined ? {} : { set: { 'whatsapp.graph_base_url': options.graphUrl } })
  const workspaceId = env.channel.workspaceId
  const agent = await createUser(env.deps, { name: 'Bruno Lima' })
  addMember(env.deps, workspaceId, agent.id, 'agent')
  const other = await createUser(env.deps, { workspace: 'Other shop' })
  const at = Math.floor((env.clock.now() - (options.inboundAgoMs ?? 3_600_000)) / 1000)
  const res = await deliver(env, env.url, envelope(messagesValue([{ waId: '15550100111', name: 'Ana Souza' }], {
    messages: [
      message('wamid.API1', { waId: '15550100111' }, 'text', { body: 'Hi, is my order on its way?' }, {}, at - 60),
      message('wamid.API2', { waId: '15550100111' }, 'text', { body: 'Order 4521' }, {}, at)
    ]
  })))
  if (res.statusCode !== 200) throw new Error(`delivery ${res.statusCode}`)
  processAllPending(env.deps)
  const key = (ws: string, role: 'agent' | 'admin'): string => {
    const made = createApiKey(env.deps, { userId: null, workspaceId: ws }, { name: `Key ${role}`, role })
    if (!made.ok) throw new Error('key')
    return made.token
  }
  const conversation = env.deps.sqlite.prepare('SELECT id FROM conversations').get() as { id: string }
  return { ...env, workspaceId, agentId: agent.id, conversationId: conversation.id, key: key(workspaceId, 'agent'), otherKey: key(other.workspaceId!, 'admin') }
}

async function api (w: World, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await w.app.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) })
}
const code = (res: LightMyRequestResponse): string => (res.json() as { error: { code: string } }).error.code

t.test('conversations: list with the inbox filters, read, status, assignee and labels', async (t) => {
  const w = await world(t)
  const list = await api(w, 'GET', '/api/v1/conversations', w.key)
  t.equal(list.statusCode, 200)
  const page = list.json() as { data: Array<Record<string, unknown> & { id: string }>, next_cursor: string | null }
  t.equal(page.data.length, 1)
  t.match(page.data[0], { id: w.conversationId, status: 'open', channel_id: w.channel.id, contact: { display_name: 'Ana Souza', whatsapp: '+15550100111' }, assignee: null, unread_count: 2, window: { state: 'open' } })
  t.equal(page.next_cursor, null)
  t.equal(((await api(w, 'GET', '/api/v1/conversations?status=resolved', w.key)).json() as { data: unknown[] }).data.length, 0)
  t.equal(((await api(w, 'GET', '/api/v1/conversations?q=15550100111', w.key)).json() as { data: unknown[] }).data.length, 1, 'by phone')
  t.equal(((await api(w, 'GET', '/api/v1/conversations?q=souza', w.key)).json() as { data: unknown[] }).data.length, 1, 'by name')
  t.equal(((await api(w, 'GET', '/api/v1/conversations?unassigned=true', w.key)).json() as { data: unknown[] }).data.length, 1)
  t.equal((await api(w, 'GET', `/api/v1/conversations?unassigned=true&assignee_id=${w.agentId}`, w.key)).statusCode, 422, 'both at once is a contradiction')
  t.equal((await api(w, 'GET', '/api/v1/conversations?cursor=nonsense', w.key)).statusCode, 422)

  const assigned = await api(w, 'PATCH', `/api/v1/conversations/${w.conversationId}`, w.key, { assignee_id: w.agentId })
  t.equal(assigned.statusCode, 200)
  t.match(assigned.json(), { assignee: { id: w.agentId, name: 'Bruno Lima' } })
  t.equal(((await api(w, 'GET', `/api/v1/conversations?assignee_id=${w.agentId}`, w.key)).json() as { data: unknown[] }).data.length, 1, 'by assignee')
  t.equal(((await api(w, 'GET', '/api/v1/conversations?unassigned=true', w.key)).json() as { data: unknown[] }).data.length, 0)
  const stranger = await createUser(w.deps, { workspace: 'Elsewhere' })
  const notMember = await api(w, 'PATCH', `/api/v1/conversations/${w.conversationId}`, w.key, { assignee_id: stranger.id })
  t.equal(notMember.statusCode, 422, 'only members can be assigned')

  const snoozeAt = new Date(w.clock.now() + 86_400_000).toISOString()
  const snoozed = await api(w, 'PATCH', `/api/v1/conversations/${w.conversationId}`, w.key, { status: 'snoozed', snoozed_until: snoozeAt })
  t.match(snoozed.json(), { status: 'snoozed', snoozed_until: snoozeAt })
  t.equal((await api(w, 'PATCH', `/api/v1/conversations/${w.conversationId}`, w.key, { status: 'snoozed', snoozed_until: '2001-01-01T00:00:00Z' })).statusCode, 422, 'in the past')
  t.equal((await api(w, 'PATCH', `/api/v1/conversations/${w.conversationId}`, w.key, { status: 'resolved' })).json().status, 'resolved')
  t.equal((await api(w, 'PATCH', `/api/v1/conversations/${w.conversationId}`, w.key, { status: 'closed' })).statusCode, 400, 'an unknown status')

  const label = w.deps.db.insert(labels).values({ workspaceId: w.workspaceId, name: 'Urgent', createdAt: 1 }).returning().get()
  t.same((await api(w, 'PUT', `/api/v1/conversations/${w.conversationId}/labels/${label.id}`, w.key)).json().labels, [{ id: label.id, name: 'Urgent' }])
  t.same((await api(w, 'DELETE', `/api/v1/conversations/${w.conversationId}/labels/${label.id}`, w.key)).json().labels, [])

  // Another workspace's key: nothing of ours exists.
  t.same((await api(w, 'GET', '/api/v1/conversations?status=resolved', w.otherKey)).json().data, [])
  for (const [method, url] of [['GET', `/api/v1/conversations/${w.conversationId}`], ['PATCH', `/api/v1/conversations/${w.conversationId}`], ['GET', `/api/v1/conversations/${w.conversationId}/messages`], ['POST', `/api/v1/conversations/${w.conversationId}/messages`], ['PUT', `/api/v1/conversations/${w.conversationId}/labels/${label.id}`]] as const) {
    const body = method === 'PATCH' ? { status: 'open' } : method === 'POST' ? { type: 'note', text: 'hello' } : undefined
    t.equal((await api(w, method, url, w.otherKey, body)).statusCode, 404, `${method} ${url} with another workspace's key`)
  }
})

t.test('messages: newest first, and a send with an Idempotency-Key goes once', async (t) => {
  const w = await world(t)
  const listed = (await api(w, 'GET', `/api/v1/conversations/${w.conversationId}/messages?limit=1`, w.key)).json() as { data: Array<{ text: string, direction: string, status: string, body: { type: string } }>, next_cursor: string }
  t.match(listed.data, [{ text: 'Order 4521', direction: 'in', body: { type: 'text' } }])
  const older = (await api(w, 'GET', `/api/v1/conversations/${w.conversationId}/messages?limit=1&cursor=${encodeURIComponent(listed.next_cursor)}`, w.key)).json() as { data: Array<{ text: string }>, next_cursor: string | null }
  t.match(older.data, [{ text: 'Hi, is my order on its way?' }])
  t.equal(older.next_cursor, null)

  const headers = { 'idempotency-key': 'order-4521-reply' }
  const sent = await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'text', text: 'It ships today!' }, headers)
  t.equal(sent.statusCode, 201)
  const first = sent.json() as { id: string, direction: string, status: string, author_id: string | null, text: string }
  t.match(first, { direction: 'out', text: 'It ships today!', author_id: null })
  const again = await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'text', text: 'It ships today!' }, headers)
  t.equal(again.statusCode, 200, 'a retry answers with the message already queued')
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal((again.json() as { id: string }).id, first.id)
  t.equal(w.deps.db.select().from(messageOutbox).all().length, 1, 'queued once')
  const conflict = await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'text', text: 'Something else' }, headers)
  t.equal(conflict.statusCode, 409)
  t.equal(code(conflict), 'idempotency_conflict')
  t.equal(w.deps.db.select().from(messageOutbox).all().length, 1, 'and nothing more queued')

  const note = await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'note', text: 'Customer is a VIP' })
  t.equal(note.statusCode, 201)
  t.equal((note.json() as { direction: string }).direction, 'note')
  t.equal(w.deps.db.select().from(messageOutbox).all().length, 1, 'a note is never sent')
  t.equal((await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'text', text: '' })).statusCode, 400, 'empty text')
  t.equal((await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'text', text: 'x' }, { 'idempotency-key': 'short' })).statusCode, 400, 'a key under 8 characters')
  t.equal((await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'fax', text: 'x' })).statusCode, 400, 'an unknown type')
})

t.test('the 24-hour window and opt-outs are refused as in the composer; templates are listed with their parameters', async (t) => {
  const w = await world(t, { inboundAgoMs: 30 * 3_600_000 })
  const closed = await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'text', text: 'Hello?' })
  t.equal(closed.statusCode, 409)
  t.equal(code(closed), 'send_refused')
  t.match((closed.json() as { error: { message: string } }).error.message, /24-hour|template/i)

  const components = [{ type: 'BODY', text: 'Hi {{1}}, your order {{2}} shipped.', example: { body_text: [['Ana', '4521']] } }]
  const tpl = w.deps.db.insert(templates).values({ workspaceId: w.workspaceId, wabaId: fixtureWaba, name: 'order_shipped', language: 'en_US', status: 'APPROVED', category: 'UTILITY', parameterFormat: 'POSITIONAL', components, updatedAt: 1 }).returning().get()
  const listed = (await api(w, 'GET', '/api/v1/templates', w.key)).json() as { data: Array<Record<string, unknown>> }
  t.match(listed.data, [{ id: tpl.id, channel_id: w.channel.id, name: 'order_shipped', language: 'en_US', body: 'Hi {{1}}, your order {{2}} shipped.', parameters: [{ name: 'body.1', example: 'Ana' }, { name: 'body.2', example: '4521' }], sendable: true }])
  t.same((await api(w, 'GET', '/api/v1/templates', w.otherKey)).json().data, [], 'not another workspace\'s')

  const missing = await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'template', template_id: tpl.id, parameters: { 'body.1': 'Ana' } })
  t.equal(missing.statusCode, 422, 'a parameter left out')
  const sent = await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'template', template_id: tpl.id, parameters: { 'body.1': 'Ana', 'body.2': '4521' } }, { 'idempotency-key': 'tpl-4521-shipped' })
  t.equal(sent.statusCode, 201)
  t.equal((sent.json() as { type: string }).type, 'template')

  const contactId = (w.deps.sqlite.prepare('SELECT contact_id AS id FROM conversations WHERE id = ?').get(w.conversationId) as { id: string }).id
  w.deps.db.update(contacts).set({ consent: 'opted_out' }).where(eq(contacts.id, contactId)).run()
  const optedOut = await api(w, 'POST', `/api/v1/conversations/${w.conversationId}/messages`, w.key, { type: 'template', template_id: tpl.id, parameters: { 'body.1': 'Ana', 'body.2': '4521' } })
  t.equal(optedOut.statusCode, 409, 'never a template to a contact who opted out')
  t.equal(code(optedOut), 'send_refused')
})

t.test('channels: health without credentials', async (t) => {
  const w = await world(t)
  const res = await api(w, 'GET', '/api/v1/channels', w.key)
  t.equal(res.statusCode, 200)
  const data = (res.json() as { data: Array<Record<string, unknown>> }).data
  t.match(data, [{ id: w.channel.id, waba_id: fixtureWaba, status: 'active', webhook: { state: 'receiving' } }])
  t.notMatch(res.body, /fixture-app-secret|EAAG/, 'no secret, no token')
  t.equal((await api(w, 'GET', `/api/v1/channels/${w.channel.id}`, w.key)).statusCode, 200)
  t.equal((await api(w, 'GET', `/api/v1/channels/${w.channel.id}`, w.otherKey)).statusCode, 404)
  t.same((await api(w, 'GET', '/api/v1/channels', w.otherKey)).json().data, [])
})

t.test('a file is sent as multipart: checked, stored, queued once per Idempotency-Key', async (t) => {
  const w = await world(t)
  const url = `/api/v1/conversations/${w.conversationId}/media`
  const upload = async (file: { filename: string, type: string, bytes: Buffer } | undefined, fields: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> => {
    const boundary = '----weltra-api-' + Math.random().toString(16).slice(2)
    const parts: Buffer[] = []
    for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`))
    if (file !== undefined) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`), file.bytes, Buffer.from('\r\n'))
    parts.push(Buffer.from(`--${boundary}--\r\n`))
    return await w.app.inject({ method: 'POST', url, payload: Buffer.concat(parts), headers: { authorization: `Bearer ${w.key}`, 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers } })
  }
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 1)])
  const sent = await upload({ filename: 'parcel.jpg', type: 'image/jpeg', bytes: jpeg }, { caption: 'Your parcel' }, { 'idempotency-key': 'parcel-photo-4521' })
  t.equal(sent.statusCode, 201)
  t.match(sent.json(), { direction: 'out', type: 'image', text: 'Your parcel', media: { kind: 'image', mime_type: 'image/jpeg', file_name: 'parcel.jpg', size: 2052 } })
  const again = await upload({ filename: 'parcel.jpg', type: 'image/jpeg', bytes: jpeg }, { caption: 'Your parcel' }, { 'idempotency-key': 'parcel-photo-4521' })
  t.equal(again.statusCode, 200)
  t.equal((again.json() as { id: string }).id, (sent.json() as { id: string }).id)
  t.equal(w.deps.db.select().from(messageOutbox).all().length, 1, 'queued once')

  // The file comes back through the API, decrypted; another workspace cannot read it.
  const mediaId = (sent.json() as { media: { id: string } }).media.id
  const file = await api(w, 'GET', `/api/v1/media/${mediaId}`, w.key)
  t.equal(file.statusCode, 200)
  t.equal(file.headers['content-type'], 'image/jpeg')
  t.same(file.rawPayload, jpeg, 'the same bytes')
  t.equal((await api(w, 'GET', `/api/v1/media/${mediaId}`, w.otherKey)).statusCode, 404)
  const inbound = (w.deps.sqlite.prepare("SELECT id FROM messages WHERE direction = 'in' LIMIT 1").get() as { id: string }).id
  const pendingId = w.deps.db.insert(media).values({ workspaceId: w.workspaceId, messageId: inbound, channelId: w.channel.id, kind: 'image', mimeType: 'image/jpeg', status: 'pending', nextAttemptAt: 0, createdAt: 1 }).returning().get().id
  const pending = await api(w, 'GET', `/api/v1/media/${pendingId}`, w.key)
  t.equal(pending.statusCode, 202, 'not downloaded yet')
  t.equal(pending.headers['retry-after'], '5')

  const disguised = await upload({ filename: 'photo.jpg', type: 'image/jpeg', bytes: Buffer.from('<html>not a jpeg</html>') })
  t.equal(disguised.statusCode, 422, 'the bytes must be what the type says')
  t.same((disguised.json() as { error: { details: Array<{ field: string }> } }).error.details.map(d => d.field), ['file'])
  t.equal((await upload({ filename: 'notes.exe', type: 'application/x-msdownload', bytes: Buffer.from('MZ') })).statusCode, 422, 'a type WhatsApp does not take')
  t.equal((await upload(undefined, { caption: 'nothing attached' })).statusCode, 422, 'no file')
  const json = await api(w, 'POST', url, w.key, { caption: 'x' })
  t.equal(json.statusCode, 415)
  t.equal(code(json), 'unsupported_media_type')
  t.equal(w.deps.db.select().from(messageOutbox).all().length, 1, 'nothing refused was queued')
})

t.test('an admin key connects a number with the settings page\'s checks; secrets never come back', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: '110000000000303', display: '+1 555-010-0303', verifiedName: 'Souza Imports', wabaId: fixtureWaba })
  const w = await world(t, { graphUrl: fake.url })
  const admin = createApiKey(w.deps, { userId: null, workspaceId: w.workspaceId }, { name: 'Provisioning', role: 'admin' })
  if (!admin.ok) throw new Error('key')
  const body = { name: 'Support', waba_id: fixtureWaba, phone_number_id: '110000000000303', access_token: 'EAAGm0PAYVERYSECRETtoken1234567890WXYZ', app_secret: 'f3c2a9187d6e5b4a3c2d1e0f9a8b7c6d' }
  t.equal((await api(w, 'POST', '/api/v1/channels', w.key, body)).statusCode, 403, 'an agent key may not')
  const made = await api(w, 'POST', '/api/v1/channels', admin.token, body)
  t.equal(made.statusCode, 201)
  const out = made.json() as { channel: { id: string, display_phone_number: string, access_token_last4: string }, webhook: { callback_url: string, verify_token: string } }
  t.match(out.channel, { display_phone_number: '+1 555-010-0303', access_token_last4: 'WXYZ' })
  t.match(out.webhook.callback_url, /\/webhooks\/whatsapp\/[A-Za-z0-9_-]+$/)
  t.ok(out.webhook.verify_token.length >= 16)
  t.notMatch(made.body, /VERYSECRET|f3c2a9187d6e/, 'neither the token nor the app secret')
  const again = await api(w, 'POST', '/api/v1/channels', admin.token, body)
  t.equal(again.statusCode, 422, 'the same number twice')
  t.same((again.json() as { error: { details: Array<{ field: string }> } }).error.details.map(d => d.field), ['phone_number_id'])
  const unknown = await api(w, 'POST', '/api/v1/channels', admin.token, { ...body, phone_number_id: '999999999999' })
  t.equal(unknown.statusCode, 422, 'Meta does not know the number')
  t.equal((await api(w, 'GET', '/api/v1/channels', w.key)).json().data.length, 2)
  const audit = w.deps.sqlite.prepare("SELECT details FROM audit_log WHERE action = 'channel_connected'").all() as Array<{ details: string }>
  t.equal(audit.length, 1)
  t.match(JSON.parse(audit[0]!.details), { apiKeyId: admin.key.id }, 'the audit names the key')
})

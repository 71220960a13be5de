// The composer: replies (text, attachments, reply context, reactions), private notes with @mentions,
// canned responses (settings and variables), the template picker and its preview, the 24-hour window,
// channels that cannot send, and tenancy (another workspace's conversation is a 404).
import t, { type Test } from 'tap'
import { and, eq } from 'drizzle-orm'
import { messageOutbox, messages, noteMentions, templates } from '../../db/schema.js'
import { addMember, createUser, get, post, signIn, origin } from '../../../test/helpers/accounts.js'
import { deliver, envelope, message, messagesValue, withChannel, fixtureWaba, type ChannelApp } from '../../../test/helpers/whatsapp.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { startFakeGraph } from '../../platform/whatsapp/fake-graph.js'
import { createChannel } from '../channels/channels.service.js'
import { createCannedResponse, fillCannedVariables, firstName } from '../canned/canned.service.js'
import { detectMentions, noteSegments, templateForm, windowState } from './composer.service.js'
import { readContent } from './messaging.service.js'

const hx = { 'hx-request': 'true' }
/** A response body with HTML-escaped apostrophes and quotes read back. */
const plain = (res: { body: string }): string => res.body.replaceAll('&#39;', "'").replaceAll('&quot;', '"')

interface World extends ChannelApp {
  agent: { id: string, email: string, password: string, name: string }
  agentCookie: string
  conversationId: string
  inboundId: string
  workspaceId: string
}

/** A workspace with a number, an owner and an agent ("Bruno Lima"), and a conversation the customer "Ana Souza" opened an hour ago. */
async function world (t: Test, options: { inboundAgoMs?: number } = {}): Promise<World> {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const env = await withChannel(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  const workspaceId = env.channel.workspaceId
  const agent = await createUser(env.deps, { name: 'Bruno Lima' })
  addMember(env.deps, workspaceId, agent.id, 'agent')
  const at = Math.floor((env.clock.now() - (options.inboundAgoMs ?? 3_600_000)) / 1000)
  const res = await deliver(env, env.url, envelope(messagesValue([{ waId: '15550100111', name: 'Ana Souza' }], { messages: [message('wamid.INBOUND1', { waId: '15550100111' }, 'text', { body: 'Hi, is my order on its way?' }, {}, at)] })))
  if (res.statusCode !== 200) throw new Error(`delivery ${res.statusCode}`)
  processAllPending(env.deps)
  const conversation = env.deps.sqlite.prepare('SELECT id FROM conversations').get() as { id: string }
  const inbound = env.deps.sqlite.prepare("SELECT id FROM messages WHERE direction = 'in'").get() as { id: string }
  return {
    ...env,
    agent,
    agentCookie: await signIn(env.app, agent),
    conversationId: conversation.id,
    inboundId: inbound.id,
    workspaceId
  }
}

/** A multipart/form-data body (fields, then at most one file). */
function multipart (fields: Record<string, string>, file?: { name: string, filename: string, type: string, bytes: Buffer }): { payload: Buffer, headers: Record<string, string> } {
  const boundary = '----weltra-test-' + Math.random().toString(16).slice(2)
  const parts: Buffer[] = []
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`))
  if (file !== undefined) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`))
    parts.push(file.bytes, Buffer.from('\r\n'))
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

function postMultipart (env: World, url: string, cookie: string, fields: Record<string, string>, file?: Parameters<typeof multipart>[1], headers: Record<string, string> = hx) {
  const body = multipart(fields, file)
  return env.app.inject({ method: 'POST', url, payload: body.payload, headers: { ...body.headers, origin, cookie, ...headers } })
}

const outboxCount = (env: World): number => env.count('message_outbox')
const outbound = (env: World) => env.deps.db.select().from(messages).where(and(eq(messages.workspaceId, env.workspaceId), eq(messages.direction, 'out'))).all()

function addTemplate (env: World, row: { name: string, language: string, status: string, components: unknown[], parameterFormat?: string | null, category?: string, wabaId?: string }): string {
  const now = env.clock.now()
  return env.deps.db.insert(templates).values({
    workspaceId: env.workspaceId,
    wabaId: row.wabaId ?? fixtureWaba,
    name: row.name,
    language: row.language,
    status: row.status,
    category: row.category ?? 'UTILITY',
    parameterFormat: row.parameterFormat === undefined ? 'POSITIONAL' : row.parameterFormat,
    components: row.components,
    syncedAt: now,
    updatedAt: now
  }).returning({ id: templates.id }).get().id
}

const reminder = [
  { type: 'HEADER', format: 'TEXT', text: 'Appointment reminder' },
  { type: 'BODY', text: 'Hi {{1}}, this is a reminder of your appointment on {{2}}.', example: { body_text: [['Ana', 'Tue 15 Sep']] } },
  { type: 'FOOTER', text: 'Reply STOP to opt out' },
  { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Confirm' }] }
]
const shipped = [
  { type: 'HEADER', format: 'IMAGE', example: { header_handle: ['https://example.invalid/h.jpg'] } },
  { type: 'BODY', text: 'Good news {{first_name}}! Order {{order_id}} is on its way.', example: { body_text_named_params: [{ param_name: 'first_name', example: 'Kenji' }, { param_name: 'order_id', example: '58213' }] } },
  { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Track package', url: 'https://track.example.invalid/{{1}}', example: ['58213'] }] }
]

t.test('a reply is queued once: message + outbox row, the same client id twice is one message', async (t) => {
  const env = await world(t)
  const url = `/inbox/${env.conversationId}/messages`
  const res = await post(env.app, url, { mode: 'reply', text: 'Yes, it left this morning!', clientId: 'client-0001-aaaa' }, env.agentCookie, { headers: hx })
  t.equal(res.statusCode, 200)
  t.match(String(res.headers['hx-trigger']), /message-sent/)
  t.match(res.body, /id="composer-/, 'the composer comes back')
  t.notMatch(res.body, /Yes, it left this morning/, 'empty again')
  t.notMatch(res.body, /client-0001-aaaa/, 'with a new client id')
  const sent = outbound(env)
  t.equal(sent.length, 1)
  t.equal(sent[0]!.type, 'text')
  t.equal(sent[0]!.status, 'queued')
  t.equal(sent[0]!.authorId, env.agent.id)
  t.same(readContent(sent[0]!).body, { type: 'text', text: 'Yes, it left this morning!' })
  t.equal(outboxCount(env), 1)

  const again = await post(env.app, url, { mode: 'reply', text: 'Yes, it left this morning!', clientId: 'client-0001-aaaa' }, env.agentCookie, { headers: hx })
  t.equal(again.statusCode, 200, 'a double submit answers like the first')
  t.equal(outbound(env).length, 1, 'still one message')
  t.equal(outboxCount(env), 1, 'still one outbox row')

  // Without htmx (no JavaScript): the form posts and the browser goes back to the thread.
  const plain = await post(env.app, url, { mode: 'reply', text: 'Plain form', clientId: 'client-0002-bbbb' }, env.agentCookie)
  t.equal(plain.statusCode, 303)
  t.equal(plain.headers.location, `/inbox/${env.conversationId}`)
  t.equal(outbound(env).length, 2)
})

t.test('line breaks count once; 4097 characters are refused with the text kept; blank is refused', async (t) => {
  const env = await world(t)
  const url = `/inbox/${env.conversationId}/messages`
  const ok = await post(env.app, url, { text: 'line one\r\nline two', clientId: 'client-crlf-0001' }, env.agentCookie, { headers: hx })
  t.equal(ok.statusCode, 200)
  t.same(readContent(outbound(env)[0]!).body, { type: 'text', text: 'line one\nline two' })

  const exact = 'x'.repeat(4094) + '\r\ny'
  t.equal((await post(env.app, url, { text: exact, clientId: 'client-4096-0001' }, env.agentCookie, { headers: hx })).statusCode, 200, '4096 characters once CRLF is one')

  const long = 'a'.repeat(4097)
  const res = await post(env.app, url, { text: long, clientId: 'client-long-0001' }, env.agentCookie, { headers: hx })
  t.equal(res.statusCode, 422)
  t.match(res.body, long, 'the text is kept')
  t.match(res.body, /at most 4,096 characters long; this one has 4,097/)
  t.match(res.body, /client-long-0001/, 'the same client id is kept for the retry')
  t.match(res.body, /aria-invalid="true"/)
  t.equal(outbound(env).length, 2)

  const blank = await post(env.app, url, { text: '   ', clientId: 'client-blank-001' }, env.agentCookie, { headers: hx })
  t.equal(blank.statusCode, 422)
  t.match(blank.body, /Write a message first/)

  const page = await post(env.app, url, { text: long, clientId: 'client-long-0002' }, env.agentCookie)
  t.equal(page.statusCode, 422, 'without JavaScript: the composer page')
  t.match(page.body, /<html/)
  t.match(page.body, /Back to the conversation/)
  t.equal(outboxCount(env), 2)
})

t.test('attachments: wrong type, too large and disguised files are refused before anything is queued', async (t) => {
  const env = await world(t)
  const url = `/inbox/${env.conversationId}/messages`
  const html = await postMultipart(env, url, env.agentCookie, { text: '', clientId: 'client-file-0001' }, { name: 'file', filename: 'page.html', type: 'text/html', bytes: Buffer.from('<html><script>alert(1)</script></html>') })
  t.equal(html.statusCode, 422)
  t.match(plain(html), /can't send this type of file/)

  const big = Buffer.alloc(5 * 1024 * 1024 + 1, 0)
  big[0] = 0xff; big[1] = 0xd8; big[2] = 0xff
  const large = await postMultipart(env, url, env.agentCookie, { text: 'Look', clientId: 'client-file-0002' }, { name: 'file', filename: 'photo.jpg', type: 'image/jpeg', bytes: big })
  t.equal(large.statusCode, 422)
  t.match(large.body, /Images can be at most 5 MB/)
  t.match(large.body, />Look</, 'the caption is kept')

  const disguised = await postMultipart(env, url, env.agentCookie, { text: '', clientId: 'client-file-0003' }, { name: 'file', filename: 'photo.jpg', type: 'image/jpeg', bytes: Buffer.from('<html>not a jpeg</html>') })
  t.equal(disguised.statusCode, 422)
  t.match(plain(disguised), /content doesn't match its type/)

  const empty = await postMultipart(env, url, env.agentCookie, { text: '', clientId: 'client-file-0004' }, { name: 'file', filename: 'empty.pdf', type: 'application/pdf', bytes: Buffer.alloc(0) })
  t.equal(empty.statusCode, 422)
  t.match(empty.body, /This file is empty/)

  const audioCaption = await postMultipart(env, url, env.agentCookie, { text: 'A caption', clientId: 'client-file-0005' }, { name: 'file', filename: 'a.mp3', type: 'audio/mpeg', bytes: Buffer.from('ID3fake-audio') })
  t.equal(audioCaption.statusCode, 422)
  t.match(audioCaption.body, /Only images, videos and documents can have a caption/)

  const caption = await postMultipart(env, url, env.agentCookie, { text: 'c'.repeat(1025), clientId: 'client-file-0006' }, { name: 'file', filename: 'doc.pdf', type: 'application/pdf', bytes: Buffer.from('%PDF-1.4 fake') })
  t.equal(caption.statusCode, 422)
  t.match(caption.body, /Captions can be at most 1,024 characters/)

  t.equal(outboxCount(env), 0, 'nothing was queued')
  t.equal(outbound(env).length, 0)

  // A multipart text message (the form always posts multipart) is queued as usual.
  const text = await postMultipart(env, url, env.agentCookie, { mode: 'reply', text: 'multipart text', clientId: 'client-file-0007' })
  t.equal(text.statusCode, 200)
  t.equal(outbound(env).length, 1)
})

t.test('a private note with an @mention: stored, never queued, the mention recorded and highlighted', async (t) => {
  const env = await world(t)
  const created: string[] = []
  env.deps.events.on('message.created', (e) => { created.push(e.messageId) })
  const res = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'note', text: `@${env.agent.name.toUpperCase()} can you check the <b>courier</b>? @Nobody`, clientId: 'client-note-0001' }, await signIn(env.app, await ownerOf(env)), { headers: hx })
  t.equal(res.statusCode, 200)
  t.match(res.body, /composer-mode-note/, 'the composer stays on notes')
  const note = env.deps.db.select().from(messages).where(eq(messages.direction, 'note')).get()!
  t.ok(note, 'the note is stored')
  t.equal(note.status, 'note')
  t.equal(outboxCount(env), 0, 'a note is never sent')
  const mentions = env.deps.db.select().from(noteMentions).all()
  t.same(mentions.map(m => m.userId), [env.agent.id], 'the agent is mentioned')
  t.same(created, [note.id], 'message.created was emitted')
  const segments = noteSegments(readContent(note))
  t.same(segments.filter(s => s.mention).map(s => s.text), ['@BRUNO LIMA'])
  t.equal(segments.map(s => s.text).join(''), readContent(note).body.type === 'text' ? (readContent(note).body as { text: string }).text : '')

  // The thread renders it with the mention highlighted and the rest escaped.
  const { Eta } = await import('eta')
  const eta = new Eta({ views: new URL('../../../views', import.meta.url).pathname, autoEscape: true })
  const html = eta.render('/inbox/_composer-note', { segments })
  t.match(html, /<mark class="mention">@BRUNO LIMA<\/mark>/)
  t.match(html, /&lt;b&gt;courier&lt;\/b&gt;/)
  t.equal(segments.find(s => s.mention)?.userId, env.agent.id, 'a mention knows whom it names')
  const forBruno = eta.render('/inbox/_composer-note', { segments, viewerId: env.agent.id, t: (k: string) => k })
  t.match(forBruno, /<mark class="mention is-me" title="composer.note.mentionsYou">@BRUNO LIMA<\/mark>/, 'the mentioned member sees it emphasised')

  const blank = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'note', text: ' ', clientId: 'client-note-0002' }, env.agentCookie, { headers: hx })
  t.equal(blank.statusCode, 422)
  t.match(blank.body, /Write the note first/)
})

/** Another owner of the workspace (withChannel's owner has no password the test knows). */
async function ownerOf (env: World): Promise<{ email: string, password: string }> {
  const owner = await createUser(env.deps, { name: 'Olga Owner' })
  addMember(env.deps, env.workspaceId, owner.id, 'owner')
  return owner
}

t.test('mentions: full names, longest first, not inside a longer word', async (t) => {
  const members = [{ userId: 'u1', name: 'Ana' }, { userId: 'u2', name: 'Ana Souza' }, { userId: 'u3', name: 'Bo' }]
  t.same(detectMentions('hi @ana souza and @Bo!', members).map(m => m.userId), ['u2', 'u3'])
  t.same(detectMentions('hi @Anastasia', members), [], 'not a prefix of a longer word')
  t.same(detectMentions('mail me at bo@example.com', members), [])
  t.same(detectMentions('@Ana, @Ana', members).map(m => m.userId), ['u1'], 'once')
})

t.test('a reply quotes the message as its WhatsApp context; only this conversation\'s messages can be quoted', async (t) => {
  const env = await world(t)
  const url = `/inbox/${env.conversationId}/messages`
  const chip = await get(env.app, `/inbox/${env.conversationId}/reply-target?messageId=${env.inboundId}`, env.agentCookie, hx)
  t.equal(chip.statusCode, 200)
  t.match(chip.body, /Replying to the customer/)
  t.match(chip.body, /Hi, is my order on its way\?/)
  t.match(chip.body, new RegExp(`name="replyTo" value="${env.inboundId}"`))

  const res = await post(env.app, url, { text: 'It is!', replyTo: env.inboundId, clientId: 'client-reply-001' }, env.agentCookie, { headers: hx })
  t.equal(res.statusCode, 200)
  const content = readContent(outbound(env)[0]!)
  t.equal(content.context?.messageId, 'wamid.INBOUND1', 'context.message_id is the quoted wamid')

  const gone = await post(env.app, url, { text: 'Hm', replyTo: 'not-a-message-id', clientId: 'client-reply-002' }, env.agentCookie, { headers: hx })
  t.equal(gone.statusCode, 422)
  t.match(gone.body, /no longer in this conversation/)

  // ?replyTo= on the composer (the thread page's no-JavaScript link) renders the chip inside the form.
  const composer = await get(env.app, `/inbox/${env.conversationId}/composer?replyTo=${env.inboundId}`, env.agentCookie, hx)
  t.match(composer.body, /composer-quote/)
})

t.test('a reaction to a customer\'s message is queued', async (t) => {
  const env = await world(t)
  const res = await post(env.app, `/inbox/${env.conversationId}/reactions`, { messageId: env.inboundId, emoji: '👍' }, env.agentCookie, { headers: hx })
  t.equal(res.statusCode, 204)
  t.match(String(res.headers['hx-trigger']), /message-sent/)
  const sent = outbound(env)
  t.equal(sent.length, 1)
  t.equal(sent[0]!.type, 'reaction')
  t.same(readContent(sent[0]!).body, { type: 'reaction', messageId: 'wamid.INBOUND1', emoji: '👍' })
  t.equal(outboxCount(env), 1)

  const bad = await post(env.app, `/inbox/${env.conversationId}/reactions`, { messageId: env.inboundId, emoji: 'hello' }, env.agentCookie, { headers: hx })
  t.equal(bad.statusCode, 422)
  t.equal(bad.headers['hx-retarget'], '#flash')
  const unknown = await post(env.app, `/inbox/${env.conversationId}/reactions`, { messageId: 'nope', emoji: '👍' }, env.agentCookie, { headers: hx })
  t.equal(unknown.statusCode, 404)
  // Our own message cannot be reacted to from here.
  const own = outbound(env)[0]!
  const ownRes = await post(env.app, `/inbox/${env.conversationId}/reactions`, { messageId: own.id, emoji: '👍' }, env.agentCookie, { headers: hx })
  t.equal(ownRes.statusCode, 422)
  t.equal(outboxCount(env), 1)
})

t.test('canned responses: variables with fallbacks, and they reach the composer filled in', async (t) => {
  const ctx = { contactName: 'Ana Souza', agentName: 'Bruno Lima', workspaceName: 'Shop' }
  t.equal(fillCannedVariables('Hi {{contact.first_name}}, {{agent.name}} from {{workspace.name}} here.', ctx), 'Hi Ana, Bruno Lima from Shop here.')
  t.equal(fillCannedVariables('Hi {{ contact.name | there }}!', ctx), 'Hi Ana Souza!')
  t.equal(fillCannedVariables('Hi {{contact.first_name|there}}!', { ...ctx, contactName: null }), 'Hi there!', 'fallback')
  t.equal(fillCannedVariables('Hi {{contact.first_name}}!', { ...ctx, contactName: '  ' }), 'Hi !', 'no fallback: nothing')
  t.equal(fillCannedVariables('{{contact.phone}} {{7*7}}', ctx), '{{contact.phone}} {{7*7}}', 'unknown variables stay as written')
  t.equal(firstName(' Ana  Souza '), 'Ana')

  const env = await world(t)
  const made = createCannedResponse(env.deps, { userId: env.agent.id, workspaceId: env.workspaceId }, { shortcut: '/Greet', body: 'Hi {{contact.first_name|there}}, this is {{agent.first_name}} from {{workspace.name}} <3' })
  t.ok(made.ok)
  if (made.ok) t.equal(made.value.shortcut, 'greet', 'the leading slash and capitals are tidied')
  const res = await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)
  t.equal(res.statusCode, 200)
  t.match(res.body, 'data-shortcut="greet" data-body="Hi Ana, this is Bruno from Shop &lt;3"')
})

t.test('canned responses settings: agents see, admins manage; validation', async (t) => {
  const env = await world(t)
  const admin = await createUser(env.deps, { name: 'Ada Admin' })
  addMember(env.deps, env.workspaceId, admin.id, 'admin')
  const adminCookie = await signIn(env.app, admin)

  const empty = await get(env.app, '/settings/canned', env.agentCookie)
  t.equal(empty.statusCode, 200)
  t.match(empty.body, /No canned responses yet/)
  t.match(empty.body, /Ask an admin/)
  t.notMatch(empty.body, /action="\/settings\/canned"/, 'agents get no form')
  t.equal((await post(env.app, '/settings/canned', { shortcut: 'x', body: 'y' }, env.agentCookie)).statusCode, 403, 'agents cannot create')

  const created = await post(env.app, '/settings/canned', { shortcut: 'hours', body: 'We open 9–18, Monday to Friday.' }, adminCookie)
  t.equal(created.statusCode, 303)
  t.equal(created.headers.location, '/settings/canned?done=created')
  const list = await get(env.app, '/settings/canned?done=created', env.agentCookie)
  t.match(list.body, /\/hours/)
  t.match(list.body, /We open 9–18/)
  t.match(list.body, /Canned response added/)

  for (const [shortcut, body, problem] of [
    ['', 'body', /Give the response a shortcut/],
    ['with space', 'body', /lowercase letters, digits/],
    ['x'.repeat(33), 'body', /lowercase letters, digits/],
    ['hours', 'body', /already uses this shortcut/],
    ['ok', '   ', /Write the message/],
    ['ok', 'b'.repeat(4097), /at most 4,096 characters/]
  ] as const) {
    const res = await post(env.app, '/settings/canned', { shortcut, body }, adminCookie)
    t.equal(res.statusCode, 422, `"${shortcut.slice(0, 10)}" refused`)
    t.match(res.body, problem)
  }
  const row = env.deps.sqlite.prepare('SELECT id FROM canned_responses').get() as { id: string }
  t.equal((await get(env.app, `/settings/canned/${row.id}`, env.agentCookie)).statusCode, 403, 'agents cannot edit')
  const edit = await get(env.app, `/settings/canned/${row.id}`, adminCookie)
  t.equal(edit.statusCode, 200)
  t.match(edit.body, /Edit \/hours/)
  t.equal((await post(env.app, `/settings/canned/${row.id}`, { shortcut: 'opening-hours', body: 'We open at 9.' }, adminCookie)).statusCode, 303)
  t.match((await get(env.app, '/settings/canned', adminCookie)).body, /\/opening-hours/)
  t.equal((await post(env.app, `/settings/canned/${row.id}/delete`, {}, env.agentCookie)).statusCode, 403, 'agents cannot delete')
  t.equal((await post(env.app, `/settings/canned/${row.id}/delete`, {}, adminCookie)).statusCode, 303)
  t.equal(env.count('canned_responses'), 0)
  t.equal((await post(env.app, `/settings/canned/${row.id}/delete`, {}, adminCookie)).statusCode, 404, 'gone')

  // Another workspace's admin cannot see or touch them.
  const outsider = await createUser(env.deps, { workspace: 'Other' })
  const outsiderCookie = await signIn(env.app, outsider)
  const again = createCannedResponse(env.deps, { userId: admin.id, workspaceId: env.workspaceId }, { shortcut: 'secret', body: 'CANARY-canned' })
  t.ok(again.ok)
  const id = again.ok ? again.value.id : ''
  t.notMatch((await get(env.app, '/settings/canned', outsiderCookie)).body, /CANARY-canned/)
  t.equal((await get(env.app, `/settings/canned/${id}`, outsiderCookie)).statusCode, 404)
  t.equal((await post(env.app, `/settings/canned/${id}`, { shortcut: 'x', body: 'y' }, outsiderCookie)).statusCode, 404)
  t.equal((await post(env.app, `/settings/canned/${id}/delete`, {}, outsiderCookie)).statusCode, 404)
  t.equal(env.count('canned_responses'), 1)
})

t.test('window closed: the template picker replaces the text box and lists only APPROVED templates of the number', async (t) => {
  const env = await world(t, { inboundAgoMs: 25 * 3_600_000 })
  const approved = addTemplate(env, { name: 'appointment_reminder', language: 'en_US', status: 'APPROVED', components: reminder })
  addTemplate(env, { name: 'appointment_reminder', language: 'pt_BR', status: 'APPROVED', components: reminder })
  addTemplate(env, { name: 'autumn_sale', language: 'en_US', status: 'PAUSED', components: reminder })
  addTemplate(env, { name: 'pending_one', language: 'en_US', status: 'PENDING', components: reminder })
  addTemplate(env, { name: 'other_waba', language: 'en_US', status: 'APPROVED', components: reminder, wabaId: '999' })
  const res = await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)
  t.equal(res.statusCode, 200)
  t.match(res.body, /composer-mode-template/)
  t.match(res.body, /24-hour window closed/)
  t.notMatch(res.body, /value="reply"/, 'no free-form reply')
  t.match(res.body, /appointment_reminder/)
  t.match(res.body, /en_US · pt_BR/, 'one entry, two languages')
  t.notMatch(res.body, /autumn_sale|pending_one|other_waba/, 'only approved templates of this number')

  const chosen = await get(env.app, `/inbox/${env.conversationId}/composer?mode=template&template=${approved}`, env.agentCookie, hx)
  t.match(chosen.body, /name="p\.body\.1"/)
  t.match(chosen.body, /name="p\.body\.2"/)
  t.match(chosen.body, /placeholder="e\.g\. Ana"/, 'Meta\'s example as a hint')
  t.match(chosen.body, /<option value="[^"]+" selected>en_US<\/option>/, 'the language choice')
  t.match(chosen.body, /tpl-bubble/, 'the preview')

  const text = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'reply', text: 'Free text', clientId: 'client-closed-01' }, env.agentCookie, { headers: hx })
  t.equal(text.statusCode, 422, 'free-form text is refused once the window closed')
  t.match(text.body, /only accepts an approved template now/)
  t.match(text.body, /Free text/, 'kept (it can become a note)')
  t.equal(outboxCount(env), 0)
  const note = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'note', text: 'Customer went quiet', clientId: 'client-closed-02' }, env.agentCookie, { headers: hx })
  t.equal(note.statusCode, 200, 'notes still work')

  const never = await world(t)
  never.deps.sqlite.prepare('UPDATE conversations SET last_inbound_at = NULL').run()
  const neverRes = await get(never.app, `/inbox/${never.conversationId}/composer`, never.agentCookie, hx)
  t.match(plain(neverRes), /hasn't written yet/)
})

t.test('no approved template: an empty state that says where templates come from (admins get a link to sync)', async (t) => {
  const env = await world(t, { inboundAgoMs: 30 * 3_600_000 })
  const res = await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)
  t.match(plain(res), /Create templates in Meta's WhatsApp Manager/)
  t.notMatch(res.body, /Sync now/, 'agents cannot sync')
  const admin = await createUser(env.deps, { name: 'Ada Admin' })
  addMember(env.deps, env.workspaceId, admin.id, 'admin')
  const adminRes = await get(env.app, `/inbox/${env.conversationId}/composer`, await signIn(env.app, admin), hx)
  t.match(adminRes.body, new RegExp(`href="/settings/channels/${env.channel.id}"[^>]*>.*Sync now`, 's'))
})

t.test('Meta refused a reply with 131047 while our clock said the window was open: the composer offers templates', async (t) => {
  const env = await world(t, { inboundAgoMs: 20 * 3_600_000 })
  const sent = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'reply', text: 'Your order ships today', clientId: 'client-refused-1' }, env.agentCookie, { headers: hx })
  t.equal(sent.statusCode, 200)
  t.match((await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)).body, /composer-mode-reply/, 'open by our clock')
  // The worker recorded Meta's refusal on the message (as it does for a 131047 answer).
  env.deps.sqlite.prepare("UPDATE messages SET status = 'failed', error_code = 131047, error_title = 'Re-engagement message' WHERE direction = 'out'").run()
  const res = await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)
  t.match(res.body, /composer-mode-template/, 'templates instead of a reply that would fail again')
  t.notMatch(res.body, /composer-mode-reply/)
  t.match((await get(env.app, `/inbox/${env.conversationId}`, env.agentCookie)).body, /window-closed/, 'the header says closed too')
  const again = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'reply', text: 'Hello?', clientId: 'client-refused-2' }, env.agentCookie, { headers: hx })
  t.equal(again.statusCode, 422, 'a free-form reply is refused before it is queued')
  t.equal(outboxCount(env), 1)
  // The customer writes again: a new window, by both clocks.
  const at = Math.floor(env.clock.now() / 1000)
  await deliver(env, env.url, envelope(messagesValue([{ waId: '15550100111', name: 'Ana Souza' }], { messages: [message('wamid.INBOUND2', { waId: '15550100111' }, 'text', { body: 'Still there?' }, {}, at)] })))
  processAllPending(env.deps)
  t.match((await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)).body, /composer-mode-reply/, 'replies are back')
})

t.test('template parameters are validated; the preview escapes what the agent typed', async (t) => {
  const env = await world(t, { inboundAgoMs: 25 * 3_600_000 })
  const id = addTemplate(env, { name: 'appointment_reminder', language: 'en_US', status: 'APPROVED', components: reminder })
  const named = addTemplate(env, { name: 'order_shipped', language: 'en', status: 'APPROVED', components: shipped, parameterFormat: 'NAMED' })
  const url = `/inbox/${env.conversationId}/templates`

  const missing = await postMultipart(env, url, env.agentCookie, { template: id, clientId: 'client-tpl-00001', 'p.body.1': 'Ana' })
  t.equal(missing.statusCode, 422)
  t.match(missing.body, /Fill in this field/)
  t.match(missing.body, /value="Ana"/, 'typed values are kept')
  const newline = await post(env.app, url, { template: id, clientId: 'client-tpl-00002', 'p.body.1': 'Ana', 'p.body.2': 'Tue\nWed' }, env.agentCookie, { headers: hx })
  t.equal(newline.statusCode, 422)
  t.match(plain(newline), /can't contain line breaks/)
  const noHeader = await post(env.app, url, { template: named, clientId: 'client-tpl-00003', 'p.body.first_name': 'Kenji', 'p.body.order_id': '1', 'p.button.0': 'abc' }, env.agentCookie, { headers: hx })
  t.equal(noHeader.statusCode, 422)
  t.match(plain(noHeader), /Choose the file for the template's header/)
  const badHeader = await postMultipart(env, url, env.agentCookie, { template: named, clientId: 'client-tpl-00004', 'p.body.first_name': 'Kenji', 'p.body.order_id': '1', 'p.button.0': 'abc' }, { name: 'headerFile', filename: 'x.pdf', type: 'application/pdf', bytes: Buffer.from('%PDF-1.4') })
  t.equal(badHeader.statusCode, 422)
  t.match(plain(badHeader), /can't send this type of file/)
  const unknown = await post(env.app, url, { template: 'nope', clientId: 'client-tpl-00005' }, env.agentCookie, { headers: hx })
  t.equal(unknown.statusCode, 422)
  t.match(unknown.body, /no longer approved/)
  t.equal(outboxCount(env), 0)

  const preview = await get(env.app, `/inbox/${env.conversationId}/templates/preview?template=${id}&p.body.1=${encodeURIComponent('<script>alert(1)</script>')}`, env.agentCookie, hx)
  t.equal(preview.statusCode, 200)
  t.match(preview.body, '<mark class="tpl-param">&lt;script&gt;alert(1)&lt;/script&gt;</mark>')
  t.notMatch(preview.body, /<script>/)
  t.match(preview.body, /<mark class="tpl-param is-empty">\{\{2\}\}<\/mark>/, 'an empty parameter shows its placeholder')
  t.match(preview.body, /Appointment reminder/)
  t.match(preview.body, /Reply STOP to opt out/)
  const namedPreview = await get(env.app, `/inbox/${env.conversationId}/templates/preview?template=${named}&p.body.first_name=Kenji`, env.agentCookie, hx)
  t.match(namedPreview.body, /Good news <mark class="tpl-param">Kenji<\/mark>!/)
  t.match(namedPreview.body, /Image header/)
  t.match(namedPreview.body, /Track package/)
})

t.test('template forms read Meta\'s components defensively', async (t) => {
  const base = { id: 'x', workspaceId: 'w', wabaId: 'b', graphTemplateId: null, name: 'n', language: 'en', status: 'APPROVED', category: 'UTILITY', quality: null, reason: null, syncedAt: null, updatedAt: 0 }
  const form = templateForm({ ...base, parameterFormat: 'NAMED', components: shipped })
  t.same(form.params.map(p => p.key), ['body.first_name', 'body.order_id', 'button.0'])
  t.equal(form.headerFormat, 'IMAGE')
  t.equal(form.unsupported, null)
  t.equal(templateForm({ ...base, parameterFormat: null, components: [{ type: 'BODY', text: 'Code {{1}}', add_security_recommendation: true }, { type: 'BUTTONS', buttons: [{ type: 'OTP', otp_type: 'COPY_CODE' }] }] }).unsupported, 'composer.template.unsupported.authentication')
  t.same(templateForm({ ...base, parameterFormat: null, components: [null, 'x', { type: 'BODY' }] as unknown[] }).params, [], 'junk is ignored')
  t.equal(templateForm({ ...base, parameterFormat: null, components: null }).body, '')
})

t.test('the window countdown and a channel that cannot send', async (t) => {
  t.same(windowState({ lastInboundAt: 1000 }, 1000 + 3_600_000), { closesAt: 1000 + 86_400_000, open: true, neverOpened: false })
  t.same(windowState({ lastInboundAt: 1000 }, 1000 + 86_400_000), { closesAt: null, open: false, neverOpened: false })
  t.same(windowState({ lastInboundAt: null }, 5), { closesAt: null, open: false, neverOpened: true })

  const env = await world(t, { inboundAgoMs: 23.5 * 3_600_000 })
  const res = await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)
  t.match(res.body, /Window closes in 30 min/)
  t.match(res.body, /composer-window is-closing/, 'amber under an hour')
  env.clock.advance(-2 * 3_600_000)
  t.match((await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)).body, /Window closes in 2 h 30 min/)

  env.deps.sqlite.prepare("UPDATE channels SET status = 'needs_reconnect', status_detail = 'Error validating access token' WHERE id = ?").run(env.channel.id)
  const blocked = await get(env.app, `/inbox/${env.conversationId}/composer`, env.agentCookie, hx)
  t.match(blocked.body, /This number needs reconnecting/)
  t.match(blocked.body, /Error validating access token/)
  t.match(blocked.body, /Ask an admin/)
  t.notMatch(blocked.body, /href="\/settings\/channels\//, 'agents get no link')
  t.notMatch(blocked.body, /value="reply"/)
  const admin = await createUser(env.deps, { name: 'Ada Admin' })
  addMember(env.deps, env.workspaceId, admin.id, 'admin')
  const adminView = await get(env.app, `/inbox/${env.conversationId}/composer`, await signIn(env.app, admin), hx)
  t.match(adminView.body, new RegExp(`href="/settings/channels/${env.channel.id}"`), 'admins get the fix')
  t.match(adminView.body, /Reconnect the number/)
  const refused = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'reply', text: 'Hello', clientId: 'client-block-001' }, env.agentCookie, { headers: hx })
  t.equal(refused.statusCode, 422)
  t.equal(outboxCount(env), 0)
  t.equal((await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'note', text: 'Token expired, told the admin', clientId: 'client-block-002' }, env.agentCookie, { headers: hx })).statusCode, 200, 'notes still work')
})

t.test('another workspace\'s conversation is a 404 on every composer route', async (t) => {
  const env = await world(t)
  const outsider = await createUser(env.deps, { workspace: 'Other' })
  const cookie = await signIn(env.app, outsider)
  createChannel(env.deps.db, outsider.workspaceId!, { name: 'Other number', wabaId: '2', phoneNumberId: '3', accessToken: 'EAAG-other-0000', appSecret: 'other-secret', graphApiVersion: 'v25.0' }, env.clock.now())
  const base = `/inbox/${env.conversationId}`
  for (const [method, url, fields] of [
    ['POST', `${base}/messages`, { text: 'x', clientId: 'client-out-00001' }],
    ['POST', `${base}/messages`, { mode: 'note', text: 'x', clientId: 'client-out-00002' }],
    ['POST', `${base}/templates`, { template: 'x' }],
    ['POST', `${base}/reactions`, { messageId: env.inboundId, emoji: '👍' }],
    ['GET', `${base}/composer`, {}],
    ['GET', `${base}/reply-target?messageId=${env.inboundId}`, {}],
    ['GET', `${base}/templates/preview?template=x`, {}]
  ] as const) {
    const res = method === 'GET' ? await get(env.app, url, cookie, hx) : await post(env.app, url, fields, cookie, { headers: hx })
    t.equal(res.statusCode, 404, `${method} ${url}`)
  }
  const multi = await postMultipart(env, `${base}/messages`, cookie, { text: 'x', clientId: 'client-out-00003' }, { name: 'file', filename: 'a.pdf', type: 'application/pdf', bytes: Buffer.from('%PDF-1.4') })
  t.equal(multi.statusCode, 404, 'multipart too')
  t.equal(env.count('messages'), 1, 'nothing was stored')
  t.equal(env.count('message_outbox'), 0)
  t.equal(env.deps.db.select().from(messageOutbox).all().length, 0)
})

t.test('an attachment with its caption is stored and queued; replying assigns the conversation, a note does not', async (t) => {
  const env = await world(t)
  const assignee = (): string | null => (env.deps.sqlite.prepare('SELECT assignee_id AS a FROM conversations WHERE id = ?').get(env.conversationId) as { a: string | null }).a
  const note = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'note', text: 'Checking with the courier', clientId: 'client-assign-01' }, env.agentCookie, { headers: hx })
  t.equal(note.statusCode, 200)
  t.equal(assignee(), null, 'a note does not assign')

  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 1)])
  const res = await postMultipart(env, `/inbox/${env.conversationId}/messages`, env.agentCookie, { mode: 'reply', text: 'Your parcel', clientId: 'client-image-001', replyTo: env.inboundId }, { name: 'file', filename: 'parcel.jpg', type: 'image/jpeg', bytes: jpeg })
  t.equal(res.statusCode, 200)
  const sent = outbound(env)
  t.equal(sent.length, 1)
  t.equal(sent[0]!.type, 'image')
  const content = readContent(sent[0]!) as unknown as { body: { type: string, caption: string }, attachment: { fileName: string, size: number }, context: { messageId: string } }
  t.equal(content.body.caption, 'Your parcel')
  t.equal(content.attachment.fileName, 'parcel.jpg')
  t.equal(content.attachment.size, jpeg.length)
  t.equal(content.context.messageId, 'wamid.INBOUND1')
  t.equal(env.count('media'), 1, 'the file is stored like inbound media')
  t.equal(outboxCount(env), 1)
  t.equal(assignee(), env.agent.id, 'the reply assigned the conversation to the agent')

  const again = await postMultipart(env, `/inbox/${env.conversationId}/messages`, env.agentCookie, { mode: 'reply', text: 'Your parcel', clientId: 'client-image-001' }, { name: 'file', filename: 'parcel.jpg', type: 'image/jpeg', bytes: jpeg })
  t.equal(again.statusCode, 200)
  t.equal(outbound(env).length, 1, 'the same client id uploads once')
  t.equal(env.count('media'), 1)
})

t.test('a template is queued with its parameters (text and image header), outside the window', async (t) => {
  const env = await world(t, { inboundAgoMs: 48 * 3_600_000 })
  const id = addTemplate(env, { name: 'appointment_reminder', language: 'en_US', status: 'APPROVED', components: reminder })
  const named = addTemplate(env, { name: 'order_shipped', language: 'en', status: 'APPROVED', components: shipped, parameterFormat: 'NAMED' })
  const url = `/inbox/${env.conversationId}/templates`
  const res = await postMultipart(env, url, env.agentCookie, { template: id, clientId: 'client-tpl-ok-01', 'p.body.1': 'Ana', 'p.body.2': 'Tue 15 Sep, 3 PM' })
  t.equal(res.statusCode, 200)
  t.match(String(res.headers['hx-trigger']), /message-sent/)
  t.match(res.body, /composer-mode-template/, 'back to the picker')
  let sent = outbound(env)
  t.equal(sent.length, 1)
  t.equal(sent[0]!.type, 'template')
  const body = readContent(sent[0]!).body as unknown as { name: string, language: string, text: string }
  t.same([body.name, body.language, body.text], ['appointment_reminder', 'en_US', 'Hi Ana, this is a reminder of your appointment on Tue 15 Sep, 3 PM.'])
  t.equal(outboxCount(env), 1)

  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(512, 2)])
  const withHeader = await postMultipart(env, url, env.agentCookie, { template: named, clientId: 'client-tpl-ok-02', 'p.body.first_name': 'Kenji', 'p.body.order_id': '58213', 'p.button.0': '58213' }, { name: 'headerFile', filename: 'box.png', type: 'image/png', bytes: png })
  t.equal(withHeader.statusCode, 200)
  sent = outbound(env)
  t.equal(sent.length, 2)
  const content = readContent(sent[1]!) as unknown as { body: { text: string, headerMedia: string }, template: { headerUpload: string }, attachment: { fileName: string } }
  t.equal(content.body.text, 'Good news Kenji! Order 58213 is on its way.')
  t.equal(content.template.headerUpload, 'image')
  t.equal(content.attachment.fileName, 'box.png')
  t.equal(env.count('media'), 1)
})

t.test('the bubble actions partial: Reply on real messages, reactions on the customer\'s, nothing on notes', async (t) => {
  const { Eta } = await import('eta')
  const eta = new Eta({ views: new URL('../../../views', import.meta.url).pathname, autoEscape: true })
  const base = { t: (k: string) => k, asset: (p: string) => p, conversationId: 'c1' }
  const inbound = eta.render('/inbox/_composer-bubble-actions', { ...base, message: { id: 'm1', direction: 'in', wamid: 'wamid.X' } })
  t.match(inbound, 'hx-get="/inbox/c1/reply-target?messageId=m1" hx-target="#composer-reply-c1"')
  t.match(inbound, 'href="/inbox/c1?replyTo=m1"', 'without JavaScript: the thread page quotes it')
  t.match(inbound, 'action="/inbox/c1/reactions"')
  t.match(inbound, 'name="messageId" value="m1"')
  t.equal((inbound.match(/name="emoji"/g) ?? []).length, 6)
  const reacted = eta.render('/inbox/_composer-bubble-actions', { ...base, message: { id: 'm1', direction: 'in', wamid: 'wamid.X', reacted: true } })
  t.equal((reacted.match(/name="emoji"/g) ?? []).length, 7, 'after our reaction: a seventh button takes it back')
  t.match(reacted, /name="emoji" value="" aria-label="composer.react.remove"/)
  const ours = eta.render('/inbox/_composer-bubble-actions', { ...base, message: { id: 'm2', direction: 'out', wamid: 'wamid.Y' } })
  t.match(ours, /reply-target/)
  t.notMatch(ours, /reactions/, 'no reactions on our own messages')
  t.equal(eta.render('/inbox/_composer-bubble-actions', { ...base, message: { id: 'm3', direction: 'out', wamid: null } }).trim(), '', 'not yet at WhatsApp: nothing')
  t.equal(eta.render('/inbox/_composer-bubble-actions', { ...base, message: { id: 'm4', direction: 'note', wamid: null } }).trim(), '')
})

/** The HTML of one message of a thread page (from its element to the next message's). */
function bubbleOf (html: string, messageId: string): string {
  const at = html.indexOf(`id="m-${messageId}"`)
  if (at === -1) return ''
  const start = html.lastIndexOf('<div', at)
  const next = html.indexOf('id="m-', at + 10)
  return html.slice(start, next === -1 ? undefined : html.lastIndexOf('<div', next))
}

t.test('the thread\'s bubbles: Reply and React where WhatsApp has the message, a sent reply shows its quote, a reaction its badge', async (t) => {
  const env = await world(t)
  const page = async (): Promise<string> => (await get(env.app, `/inbox/${env.conversationId}`, env.agentCookie)).body
  let inbound = bubbleOf(await page(), env.inboundId)
  t.match(inbound, /data-bubble-actions/, 'the customer\'s message has the actions')
  t.match(inbound, `hx-get="/inbox/${env.conversationId}/reply-target?messageId=${env.inboundId}"`)
  t.match(inbound, `href="/inbox/${env.conversationId}?replyTo=${env.inboundId}"`, 'Reply works without JavaScript')
  t.match(inbound, `action="/inbox/${env.conversationId}/reactions"`)
  t.match(inbound, /aria-label="React with 👍"/)
  t.match(inbound, /class="msg msg-in msg-type-text has-actions"/)

  // Reply: the chip, then the send carries the context and the new bubble quotes the customer.
  const res = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'reply', text: 'It left this morning!', replyTo: env.inboundId, clientId: 'client-bubble-0001' }, env.agentCookie, { headers: hx })
  t.equal(res.statusCode, 200)
  const reply = outbound(env)[0]!
  t.equal(readContent(reply).context?.messageId, 'wamid.INBOUND1')
  let mine = bubbleOf(await page(), reply.id)
  t.match(mine, /class="msg-quote" href="#m-/, 'the reply quotes the message')
  t.match(mine, /Ana Souza/)
  t.match(mine, /Hi, is my order on its way\?/)
  t.notMatch(mine, /data-bubble-actions/, 'not at WhatsApp yet (no wamid): no actions')

  // Accepted by Meta: it can be quoted, but a reaction is only for the customer's messages.
  env.deps.sqlite.prepare('UPDATE messages SET wamid = ?, status = ? WHERE id = ?').run('wamid.OUT1', 'sent', reply.id)
  mine = bubbleOf(await page(), reply.id)
  t.match(mine, /data-composer-reply/)
  t.notMatch(mine, /data-bubble-react/)

  // React: queued, and the customer's bubble shows the badge as ours.
  const react = await post(env.app, `/inbox/${env.conversationId}/reactions`, { messageId: env.inboundId, emoji: '❤️' }, env.agentCookie, { headers: hx })
  t.equal(react.statusCode, 204)
  inbound = bubbleOf(await page(), env.inboundId)
  t.match(inbound, /<span class="reaction is-mine" title="Your reaction">❤️<\/span>/)
  t.match(inbound, /name="emoji" value="" aria-label="Remove your reaction"/, 'our reaction can be taken back')

  // Taking it back: an empty emoji goes to WhatsApp, and the badge is gone.
  const removed = await post(env.app, `/inbox/${env.conversationId}/reactions`, { messageId: env.inboundId, emoji: '' }, env.agentCookie, { headers: hx })
  t.equal(removed.statusCode, 204)
  const back = outbound(env).filter(m => m.type === 'reaction').at(-1)!
  t.same(readContent(back).body, { type: 'reaction', messageId: 'wamid.INBOUND1', emoji: null }, 'WhatsApp removes a reaction with an empty emoji')
  inbound = bubbleOf(await page(), env.inboundId)
  t.notMatch(inbound, /reaction is-mine/, 'no badge once it is taken back')
  t.notMatch(inbound, /Remove your reaction/)

  // A deleted message gets no actions.
  env.deps.sqlite.prepare('UPDATE messages SET revoked_at = ? WHERE id = ?').run(env.clock.now(), env.inboundId)
  inbound = bubbleOf(await page(), env.inboundId)
  t.match(inbound, /msg-deleted/)
  t.notMatch(inbound, /data-bubble-actions/)
})

t.test('a note in the thread: @mentions highlighted (escaped), the viewer\'s own mention stands out, no bubble actions', async (t) => {
  const env = await world(t)
  const owner = await ownerOf(env)
  const ownerCookie = await signIn(env.app, owner)
  const res = await post(env.app, `/inbox/${env.conversationId}/messages`, { mode: 'note', text: '@Bruno Lima <i>please</i> call her\nback', clientId: 'client-note-bubble-1' }, ownerCookie, { headers: hx })
  t.equal(res.statusCode, 200)
  const note = env.deps.db.select().from(messages).where(eq(messages.direction, 'note')).get()!
  const seenByBruno = bubbleOf((await get(env.app, `/inbox/${env.conversationId}`, env.agentCookie)).body, note.id)
  t.match(seenByBruno, /<p class="msg-text note-text" dir="auto"><mark class="mention is-me" title="Mentions you">@Bruno Lima<\/mark> &lt;i&gt;please&lt;\/i&gt; call her\nback<\/p>/)
  t.notMatch(seenByBruno, /data-bubble-actions/, 'a note is never sent: nothing to reply to or react to')
  const seenByOwner = bubbleOf((await get(env.app, `/inbox/${env.conversationId}`, ownerCookie)).body, note.id)
  t.match(seenByOwner, /<mark class="mention">@Bruno Lima<\/mark>/, 'others see the mention highlighted, not as theirs')
  // The thread fragment (live refresh) renders it the same way.
  const fragment = await get(env.app, `/inbox/${env.conversationId}/thread`, env.agentCookie, hx)
  t.match(bubbleOf(fragment.body, note.id), /mention is-me/)
  t.match(fragment.body, new RegExp(`data-bubble-actions[\\s\\S]*reply-target\\?messageId=${env.inboundId}`), 'and the bubble actions')
})

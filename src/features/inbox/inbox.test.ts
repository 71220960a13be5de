// The inbox over HTTP: the list (filters, search, keyset pages), every WhatsApp message type in the
// thread (the shared webhook fixtures, through the real pipeline), formatting that can't inject
// markup, ticks and failure reasons, the workflow routes, another workspace's ids answered 404
// everywhere, the settings page for admins only, and the live stream (a real listening server).
import { readdirSync } from 'node:fs'
import { request, type IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import { and, eq } from 'drizzle-orm'
import { withChannel, deliver, envelope, fixture, fixturePhoneNumberId, fixtureWaba, fixturesDir, message, messagesValue, type ChannelApp } from '../../../test/helpers/whatsapp.js'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { inlineCode } from '../../../test/helpers/html.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { startFakeGraph, type FakeGraph } from '../../platform/whatsapp/fake-graph.js'
import { createChannel } from '../channels/channels.service.js'
import { cannedResponses, contacts, conversations, memberships, users, workspaces } from '../../db/schema.js'
import { attachWamid, insertOutbound } from './messaging.service.js'
import { insertContact } from '../contacts/contacts.service.js'

interface World extends ChannelApp {
  ws: string
  cookies: { owner: string, admin: string, agent: string, outsider: string }
  agentId: string
  adminId: string
  /** A conversation of another workspace (its id must be unknown here). */
  theirs: string
}

async function world (t: Test): Promise<World & { fake: FakeGraph }> {
  // Opening a conversation sends a read receipt: to a local fake of the Graph API, never to Meta.
  const fake = await startFakeGraph({ accessToken: 'EAAG-test-token-1234' })
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: fixturePhoneNumberId, display: '+1 555-010-0100', verifiedName: 'Shop', wabaId: fixtureWaba })
  const env = await withChannel(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  const ws = env.channel.workspaceId
  const owner = env.deps.db.select().from(users).where(eq(users.id, env.ownerId)).get()!
  const admin = await createUser(env.deps, { name: 'Ada Admin' })
  const agent = await createUser(env.deps, { name: 'Agnes Agent' })
  addMember(env.deps, ws, admin.id, 'admin')
  addMember(env.deps, ws, agent.id, 'agent')
  const outsider = await createUser(env.deps, { name: 'Otto Outsider', workspace: 'Other shop' })
  const now = env.clock.now()
  const ch = createChannel(env.deps.db, outsider.workspaceId!, { name: 'Theirs', wabaId: '3', phoneNumberId: '4', accessToken: 'other-token-0000', appSecret: 'other-secret', graphApiVersion: 'v25.0' }, now)
  const c = insertContact(env.deps.db, { workspaceId: outsider.workspaceId!, profileName: 'Their customer', createdAt: now, updatedAt: now })
  const theirs = env.deps.db.insert(conversations).values({ workspaceId: outsider.workspaceId!, channelId: ch.id, contactId: c.id, lastMessageAt: now, createdAt: now, updatedAt: now }).returning().get()
  return {
    ...env,
    fake,
    ws,
    agentId: agent.id,
    adminId: admin.id,
    theirs: theirs.id,
    cookies: {
      owner: await signIn(env.app, { email: owner.email, password: 'correct horse battery staple' }),
      admin: await signIn(env.app, admin),
      agent: await signIn(env.app, agent),
      outsider: await signIn(env.app, outsider)
    }
  }
}

let seq = 0
/** A customer writes (a signed webhook, processed); returns their conversation id. */
async function writes (w: ChannelApp, who: { waId: string, name?: string }, body: string | Record<string, unknown>, at = Math.floor(w.clock.now() / 1000)): Promise<string> {
  seq++
  const item = typeof body === 'string' ? message(`wamid.T.${seq}`, who, 'text', { body }, {}, at) : { ...message(`wamid.T.${seq}`, who, String(body.type), body[String(body.type)], {}, at), ...body }
  const res = await deliver(w, w.url, envelope(messagesValue([who], { messages: [item] })))
  if (res.statusCode !== 200) throw new Error(`webhook ${res.statusCode}`)
  processAllPending(w.deps)
  return conversationOf(w, who.waId)
}

function conversationOf (w: ChannelApp, waId: string): string {
  const contact = w.deps.db.select().from(contacts).all().find(c => c.waId === waId)
  if (contact === undefined) throw new Error(`no contact ${waId}`)
  return w.deps.db.select().from(conversations).where(eq(conversations.contactId, contact.id)).get()!.id
}

const rowIds = (html: string): string[] => [...html.matchAll(/id="row-([0-9A-Z]{26})"/g)].map(m => m[1]!)
const listOf = async (w: World, query: string, cookie = w.cookies.owner): Promise<string[]> => {
  const res = await get(w.app, `/inbox${query}`, cookie, { 'hx-request': 'true', 'hx-target': 'div#inbox-list' })
  if (res.statusCode !== 200) throw new Error(`list ${res.statusCode}`)
  return rowIds(res.body)
}
const htmx = { 'hx-request': 'true' }

t.test('the list: mine / unassigned / all, statuses, labels and numbers, newest activity first', async (t) => {
  const w = await world(t)
  const a = await writes(w, { waId: '15550200001', name: 'Alba' }, 'first')
  w.clock.advance(60_000)
  const b = await writes(w, { waId: '15550200002', name: 'Bento' }, 'second', Math.floor(w.clock.now() / 1000))
  w.clock.advance(60_000)
  const c = await writes(w, { waId: '15550200003', name: 'Cora' }, 'third', Math.floor(w.clock.now() / 1000))
  t.same(await listOf(w, ''), [c, b, a], 'newest activity first')
  t.equal((await post(w.app, `/inbox/${a}/assign`, { assignee: 'me' }, w.cookies.owner)).statusCode, 303)
  t.equal((await post(w.app, `/inbox/${b}/assign`, { assignee: w.agentId }, w.cookies.owner)).statusCode, 303)
  t.same(await listOf(w, '?view=mine'), [a])
  t.same(await listOf(w, '?view=mine', w.cookies.agent), [b], 'mine is the viewer\'s')
  t.same(await listOf(w, '?view=unassigned'), [c])
  t.equal((await post(w.app, `/inbox/${c}/status`, { status: 'pending' }, w.cookies.owner)).statusCode, 303)
  t.same(await listOf(w, ''), [b, a], 'open only by default')
  t.same(await listOf(w, '?status=pending'), [c])
  t.same(await listOf(w, '?status=resolved'), [])
  t.equal((await post(w.app, `/inbox/${a}/labels`, { name: 'Returns' }, w.cookies.owner)).statusCode, 303)
  const label = (await get(w.app, '/inbox', w.cookies.owner)).body.match(/<option value="([0-9A-Z]{26})">Returns<\/option>/)![1]!
  t.same(await listOf(w, `?label=${label}`), [a], 'by label')
  t.same(await listOf(w, `?channel=${w.channel.id}`), [b, a], 'by number')
  t.same(await listOf(w, '?view=../../etc&status=<script>&label=x&channel=y'), [b, a], 'nonsense filters fall back to the defaults')

  const page = await get(w.app, '/inbox?view=unassigned', w.cookies.owner)
  t.match(page.body, /No unassigned conversations — nice/, 'an empty view says so, kindly')
  t.same(inlineCode(page.body), [], 'no inline code')
  // A customer writes again: their conversation moves to the top, unread and bold.
  w.clock.advance(60_000)
  await writes(w, { waId: '15550200001', name: 'Alba' }, 'news!', Math.floor(w.clock.now() / 1000))
  const list = (await get(w.app, '/inbox', w.cookies.owner, { ...htmx, 'hx-target': 'div#inbox-list' })).body
  t.same(rowIds(list), [a, b])
  t.match(list, new RegExp(`<li class="row is-unread" id="row-${a}"`), 'unread rows are marked')
  t.match(list, /<span class="badge badge-count row-unread"[^>]*>2</, 'with their unread count')
  t.notMatch(list, /<html/, 'a fragment, not a page')
})

t.test('keyset pagination: "load more" continues right after the last row; a refresh returns everything shown', async (t) => {
  const w = await world(t)
  const senders = Array.from({ length: 45 }, (_, i) => ({ waId: `1555030${String(i).padStart(4, '0')}`, name: `Customer ${i}` }))
  const base = Math.floor(w.clock.now() / 1000)
  await deliver(w, w.url, envelope(messagesValue(senders, { messages: senders.map((s, i) => message(`wamid.P.${i}`, s, 'text', { body: `hi ${i}` }, {}, base + (i % 3 === 0 ? 0 : i))) })))
  processAllPending(w.deps)
  const first = await get(w.app, '/inbox', w.cookies.owner)
  const page1 = rowIds(first.body)
  t.equal(page1.length, 40, 'a page of 40')
  const more = first.body.match(/hx-get="(\/inbox\?after=[^"]+)"/)
  t.ok(more, 'a "load more" link with a cursor')
  const next = await get(w.app, more![1]!.replace(/&amp;/g, '&'), w.cookies.owner, { ...htmx, 'hx-target': 'li#list-more' })
  const page2 = rowIds(next.body)
  t.equal(page2.length, 5, 'the rest')
  t.same(page1.filter(id => page2.includes(id)), [], 'no row twice')
  t.notMatch(next.body, /hx-get="\/inbox\?after=/, 'no more after the last page')
  const all = w.deps.db.select().from(conversations).where(eq(conversations.workspaceId, w.ws)).all()
    .sort((x, y) => y.lastMessageAt - x.lastMessageAt || (y.id < x.id ? -1 : 1)).map(c => c.id)
  t.same([...page1, ...page2], all, 'in order: last activity, then id (ties broken the same way every time)')
  const upto = next.body.match(/id="list-upto" name="upto" value="([^"]+)"/)![1]!
  const refresh = rowIds((await get(w.app, `/inbox?upto=${upto}`, w.cookies.owner, { ...htmx, 'hx-target': 'div#inbox-list' })).body)
  t.same(refresh, all, 'a refresh brings back everything down to the last row shown')
  t.equal((await get(w.app, '/inbox?after=garbage', w.cookies.owner)).statusCode, 200, 'a bad cursor is the first page')
})

t.test('tab counts stop at 999+ (counting costs the same at any size)', async (t) => {
  const w = await world(t)
  const now = w.clock.now()
  const contact = insertContact(w.deps.db, { workspaceId: w.ws, profileName: 'Many', createdAt: now, updatedAt: now })
  // 1,200 resolved, unassigned conversations of one contact (resolved ones may repeat), and 3 of them mine.
  const insert = w.deps.sqlite.prepare('INSERT INTO conversations (id, workspace_id, channel_id, contact_id, status, assignee_id, last_message_at, unread_count, created_at, updated_at) VALUES (?, ?, ?, ?, \'resolved\', ?, ?, 0, ?, ?)')
  w.deps.sqlite.transaction(() => {
    for (let i = 0; i < 1200; i++) insert.run(`01TESTCOUNT${String(i).padStart(15, '0')}`, w.ws, w.channel.id, contact.id, i < 3 ? w.ownerId : null, now - i, now, now)
  })()
  const page = (await get(w.app, '/inbox?status=resolved', w.cookies.owner)).body
  t.match(page, /id="count-unassigned"[^>]*>999\+</, 'past 1,000: 999+')
  t.match(page, /id="count-mine"[^>]*>3</, 'small counts exactly')
})

t.test('search: by name (LIKE, wildcards are literal) or by exact phone number', async (t) => {
  const w = await world(t)
  const maria = await writes(w, { waId: '15550400001', name: 'Maria Souza' }, 'hello')
  const marcos = await writes(w, { waId: '15550400002', name: 'Marcos 100% Real' }, 'hey')
  const ji = await writes(w, { waId: '447700900123', name: '王 芳' }, 'hi')
  t.same((await listOf(w, '?q=mar')).sort(), [maria, marcos].sort())
  t.same(await listOf(w, '?q=souza'), [maria], 'case does not matter')
  t.same(await listOf(w, '?q=%25'), [marcos], '% is a character, not a wildcard')
  t.same(await listOf(w, '?q=_'), [], '_ too')
  t.same(await listOf(w, '?q=%2B1%20555-040-0002'), [marcos], 'a phone number, formatted any way, finds the contact exactly')
  t.same(await listOf(w, '?q=555040'), [], 'part of a number does not (numbers are encrypted, matched by blind index)')
  t.same(await listOf(w, '?q=%E7%8E%8B'), [ji], 'names in any script')
  const none = await get(w.app, '/inbox?q=nobody', w.cookies.owner)
  t.match(none.body, /No conversations match/)
  t.match(none.body, /value="nobody"/, 'the search box keeps the query')
})

t.test('every message type of the shared fixtures renders in its thread, with ticks and failure reasons', async (t) => {
  const w = await world(t)
  const files = readdirSync(fixturesDir).filter(f => f.endsWith('.json')).sort()
  // Ana and Kenji write first; then "Weltra" sends the outbound messages the status fixtures refer to.
  for (const f of files.filter(f => f.startsWith('01-') || f.startsWith('05-'))) await deliver(w, w.url, fixture(f))
  processAllPending(w.deps)
  const ana = conversationOf(w, '15550100111')
  const kenji = conversationOf(w, '15550100155')
  const out = (conversationId: string, wamid: string, body: Record<string, unknown>, type = 'text'): void => {
    const m = insertOutbound(w.deps.db, { workspaceId: w.ws, conversationId, channelId: w.channel.id, type, content: { body: body as never }, authorId: w.agentId }, w.clock.now())
    attachWamid(w.deps.db, w.ws, m.id, wamid, w.clock.now())
  }
  out(ana, 'wamid.HBgLRkFLRS5PVVQuMDAwMQ==', { type: 'template', name: 'appointment_reminder', header: 'Appointment <reminder>', text: 'Reminder: your appointment is on Tuesday at 3pm.', footer: 'Reply STOP to opt out', buttons: ['Confirm', 'Reschedule'] }, 'template')
  out(kenji, 'wamid.HBgLRkFLRS5PVVQuMDAwMg==', { type: 'text', text: 'Your order shipped.' })
  out(kenji, 'wamid.HBgLRkFLRS5PVVQuMDAwNA==', { type: 'template', name: 'order_update', text: 'Order update' }, 'template')
  for (const f of files.filter(f => !f.startsWith('01-') && !f.startsWith('05-'))) await deliver(w, w.url, fixture(f))
  const summary = processAllPending(w.deps)
  t.equal(summary.failed, 0, 'every fixture processed')

  const thread = async (id: string): Promise<string> => {
    const res = await get(w.app, `/inbox/${id}`, w.cookies.agent)
    t.equal(res.statusCode, 200)
    t.same(inlineCode(res.body), [], 'no inline code')
    return res.body
  }
  const anaHtml = await thread(ana)
  t.match(anaHtml, /Hi! Is the blue backpack still in stock\?/, 'text')
  t.match(anaHtml, /class="msg msg-in msg-type-image/, 'image')
  t.match(anaHtml, /This one, size M/, 'with its caption')
  t.match(anaHtml, /Downloading photo…/, 'pending media says so (no broken image)')
  t.match(anaHtml, /msg-type-sticker/, 'sticker')
  t.match(anaHtml, /Bruno Lima[\s\S]*Lima Logistics[\s\S]*\+1 555-010-0177/, 'contact card with name, company and phone')
  t.match(anaHtml, /Tapped a button[\s\S]*Confirm/, 'template quick-reply button')
  t.match(anaHtml, /class="msg-quote" href="#m-[0-9A-Z]{26}"[\s\S]*?Reminder: your appointment/, 'a reply quotes the message it answers')
  t.match(anaHtml, /Yes, Tuesday at 3pm works for me\./)
  t.match(anaHtml, /class="msg msg-out msg-type-template[\s\S]*?Template: appointment_reminder/, 'outbound template with its name')
  t.match(anaHtml, /Template: appointment_reminder[\s\S]*?msg-tpl-header" dir="auto">Appointment &lt;reminder&gt;[\s\S]*?Tuesday at 3pm[\s\S]*?msg-tpl-footer" dir="auto">Reply STOP to opt out[\s\S]*?<li dir="auto">Confirm<\/li><li dir="auto">Reschedule<\/li>/, 'the header (escaped), footer and buttons the customer saw')
  t.match(anaHtml, /<span class="tick tick-read" title="Read">/, 'read ticks (sent → delivered → read)')
  t.notMatch(anaHtml, /class="reaction"/, 'the reaction was added and removed again')

  const priya = await thread(conversationOf(w, '15550100333'))
  t.match(priya, /<video class="msg-video"|Downloading video…/, 'video')
  t.match(priya, /msg-audio is-voice/, 'a voice note is styled as voice')
  t.match(priya, /Exchange item/, 'interactive button reply')
  t.match(priya, /Mon 10:00[\s\S]*Store pickup, counter 2/, 'list reply with its description')
  t.match(priya, /Replying to a message that isn&#39;t here|Replying to a message that isn't here/, 'a reply to an unknown message says so')

  const kenjiHtml = await thread(kenji)
  t.match(kenjiHtml, /invoice-58213\.pdf/, 'document with its file name')
  t.match(kenjiHtml, /https:\/\/www\.openstreetmap\.org\/\?mlat=40\.748817&amp;mlon=-73\.985428/, 'location with a map link')
  t.match(kenjiHtml, /Pickup point 3[\s\S]*20 W 34th St/)
  t.match(kenjiHtml, /Sent a form[\s\S]*reason[\s\S]*wrong_size/, 'flow reply with its answers')
  t.notMatch(kenjiHtml, /ft-return-58213/, 'but not its flow token')
  t.match(kenjiHtml, /SKU-BKP-BLUE-M[\s\S]*\$59\.90[\s\S]*Total[\s\S]*\$74\.90/, 'order lines and total')
  t.match(kenjiHtml, /Please deliver after 6pm/)
  t.match(kenjiHtml, /This message type isn(&#39;|')t supported yet — open WhatsApp on your phone to see it/, 'unsupported types say what to do')
  t.match(kenjiHtml, /More than 24 hours have passed since the customer(&#39;|')s last message\. Send an approved template instead\./, '131047 in plain words')
  t.match(kenjiHtml, /data-focus-composer data-template>Send a template</, 'with the action that fixes it')
  t.match(kenjiHtml, /Meta error #131047/)
  t.match(kenjiHtml, /WhatsApp couldn(&#39;|')t deliver this message/, '131026 in plain words')
  t.match(kenjiHtml, /<span class="tick tick-failed"/, 'failed tick')

  const omar = await thread(conversationOf(w, '447700900222'))
  t.match(omar, /<bdi class="conv-name">عمر حداد<\/bdi>/, 'a right-to-left name is isolated')
  t.match(omar, /<p class="msg-text" dir="auto">مرحبا 👋 नमस्ते! Preço: 10€ — ok\? 😊<\/p>/, 'non-ASCII text, direction from its content')

  const list = (await get(w.app, '/inbox', w.cookies.agent)).body
  const previews = [...list.matchAll(/<span class="row-preview">([\s\S]*?)<\/span>\n/g)].map(m => m[1]!.replace(/<[^>]+>/g, '').trim())
  t.same(previews, ['مرحبا 👋 नमस्ते! Preço: 10€ — ok? 😊', 'Yes, Tuesday at 3pm works for me.', 'Unsupported message', 'Mon 10:00'], 'one-line previews of the last messages')
  t.match(list, /<span class="row-kind">[\s\S]{0,400}?Unsupported message/, 'with an icon for what is not plain text')

  // Our own reaction (the composer queues it as an outbound "reaction" row): a badge under its target.
  const reaction = insertOutbound(w.deps.db, { workspaceId: w.ws, conversationId: ana, channelId: w.channel.id, type: 'reaction', content: { body: { type: 'reaction', messageId: 'wamid.HBgLRkFLRS5JTi4wMDAx', emoji: '🙏' } }, authorId: w.agentId }, w.clock.now())
  const reacted = await thread(ana)
  t.match(reacted, /id="m-[0-9A-Z]{26}">[\s\S]*?Hi! Is the blue backpack still in stock\?[\s\S]*?<span class="reaction is-mine" title="Your reaction">🙏<\/span>/, 'shown under the message it reacts to')
  t.notMatch(reacted, /msg-type-reaction/, 'never as a bubble of its own')
  t.notMatch(reacted, new RegExp(`id="m-${reaction.id}"`))
  t.match((await get(w.app, '/inbox', w.cookies.agent)).body, /Reacted 🙏/, 'the list says what happened last')
})

t.test('formatting is escaped first: an injection corpus stays text', async (t) => {
  const w = await world(t)
  const corpus = [
    '<script>alert("x")</script>',
    '<img src=x onerror=alert(1)>',
    '"><svg/onload=alert(2)>',
    '*<b>bold</b>* _<i onclick="x()">it</i>_',
    '[click](javascript:alert(3)) javascript:alert(4) JaVaScRiPt:alert(5)',
    'https://example.com/"onmouseover="alert(6)',
    'http://example.com/<script>',
    '```<style>body{}</style>``` `<iframe src=//evil>`',
    'safe \u202eevil.exe\u202c name',
    '{{7*7}} $' + '{7*7} <%= 7*7 %>'
  ]
  const id = await writes(w, { waId: '15550500001', name: '<b>Mallory</b>\u202e' }, corpus.join('\n'))
  const html = (await get(w.app, `/inbox/${id}`, w.cookies.owner)).body
  const thread = html.slice(html.indexOf('id="thread"'), html.indexOf('class="new-pill"'))
  t.notMatch(thread, /<script|<img src=x|<svg\/|<b>bold|<i onclick|<style|<iframe/i, 'no tag from the message')
  const tags = [...thread.matchAll(/<[a-z][^>]*>/gi)].map(m => m[0])
  t.same(tags.filter(tag => /\son[a-z]+=/i.test(tag)), [], 'no event handler attribute on any tag')
  t.notMatch(thread, /href="javascript:/i, 'no javascript: link')
  t.match(thread, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/, 'shown as text')
  t.match(thread, /<strong>&lt;b&gt;bold&lt;\/b&gt;<\/strong>/, 'formatting still applies, around escaped text')
  t.match(thread, /<a class="msg-link" href="https:\/\/example\.com\/" rel="noopener nofollow ugc" target="_blank">https:\/\/example\.com\/<\/a>&quot;onmouseover=&quot;alert\(6\)/, 'a link ends at a quote; the rest is text')
  t.match(thread, /<p class="msg-text" dir="auto">(?:(?!<\/p>)[\s\S])*safe \u202eevil\.exe\u202c name/, 'a bidi override in a message stays inside its own paragraph')
  t.match(thread, /<code class="msg-mono">&lt;style&gt;body\{\}&lt;\/style&gt;<\/code>/)
  t.match(thread, /\{\{7\*7\}\} \$\{7\*7\} &lt;%= 7\*7 %&gt;/, 'template syntax is text')
  t.notMatch(html, /<b>Mallory/, 'the profile name is escaped too')
  t.match(html, /<bdi class="conv-name">&lt;b&gt;Mallory&lt;\/b&gt;<\/bdi>/, 'the name is isolated, and bidi overrides in profile names were dropped on the way in')
  t.match(thread, /dir="auto">/, 'message text is isolated by direction')
  const pageTags = [...html.matchAll(/<[a-z][^>]*>/gi)].map(m => m[0])
  t.same(pageTags.filter(tag => /\son[a-z]+=|\sstyle=|^<script(?![^>]*\ssrc=)/i.test(tag)), [], 'anywhere on the page (list preview, title, panel): no handler, style or inline script')
})

t.test('workflow routes: assign, status, snooze, labels, bulk; htmx gets fragments, forms get redirects', async (t) => {
  const w = await world(t)
  const id = await writes(w, { waId: '15550600001', name: 'Nina' }, 'hello')
  const events: string[] = []
  w.deps.events.on('conversation.updated', e => events.push(e.conversationId))

  const assigned = await post(w.app, `/inbox/${id}/assign`, { assignee: w.agentId }, w.cookies.agent, { headers: htmx })
  t.equal(assigned.statusCode, 200)
  t.match(assigned.body, /<header id="conv-header"/, 'the header, updated')
  t.match(assigned.body, /<aside id="contact-panel"[^>]*hx-swap-oob="outerMorph"/, 'and the contact panel out of band')
  t.match(assigned.body, /title="Assign this conversation">[\s\S]*?AA[\s\S]*?You/, 'assigned to the agent, shown as "You" to them')
  const stranger = await createUser(w.deps, { name: 'Stranger' })
  const refused = await post(w.app, `/inbox/${id}/assign`, { assignee: stranger.id }, w.cookies.agent, { headers: htmx })
  t.equal(refused.statusCode, 422, 'only members can be assigned')
  t.equal(refused.headers['hx-retarget'], '#flash')
  t.match(refused.body, /not a member of this workspace/)
  t.equal((await post(w.app, `/inbox/${id}/assign`, { assignee: '' }, w.cookies.agent)).headers.location, `/inbox/${id}`, 'no JS: back to the conversation')

  t.equal((await post(w.app, `/inbox/${id}/status`, { status: 'snoozed', snooze: 'tomorrow' }, w.cookies.agent)).statusCode, 303)
  const snoozed = w.deps.db.select().from(conversations).where(eq(conversations.id, id)).get()!
  t.equal(snoozed.status, 'snoozed')
  t.ok(snoozed.snoozedUntil! > w.clock.now())
  const past = await post(w.app, `/inbox/${id}/status`, { status: 'snoozed', snooze: 'custom', until: '2020-01-01T10:00' }, w.cookies.agent)
  t.equal(past.statusCode, 422, 'a snooze in the past is refused')
  t.match(past.body, /Choose a time in the future/)
  t.equal((await post(w.app, `/inbox/${id}/status`, { status: 'closed' }, w.cookies.agent, { headers: htmx })).statusCode, 422, 'unknown statuses are refused')
  t.equal((await post(w.app, `/inbox/${id}/status`, { status: 'resolved' }, w.cookies.agent, { headers: htmx })).statusCode, 200)
  t.match((await get(w.app, `/inbox/${id}?status=resolved`, w.cookies.agent)).body, /Reopen/, 'a resolved conversation offers to reopen')

  const created = await post(w.app, `/inbox/${id}/labels`, { name: 'Wholesale' }, w.cookies.agent, { headers: htmx })
  t.match(created.body, /<span class="label-chip label-c\d">Wholesale<\/span>/, 'a label created inline and added')
  const labelId = created.body.match(/name="label" value="([0-9A-Z]{26})"/)![1]!
  t.notMatch((await post(w.app, `/inbox/${id}/labels`, { label: labelId, on: '0' }, w.cookies.agent, { headers: htmx })).body, /label-chip label-c\d">Wholesale/, 'and removed')
  t.equal((await post(w.app, `/inbox/${id}/labels`, { name: '   ' }, w.cookies.agent, { headers: htmx })).statusCode, 422)
  t.ok(events.length >= 5 && events.every(e => e === id), 'every change announced')

  const other = await writes(w, { waId: '15550600002', name: 'Otis' }, 'hi')
  const bulk = await post(w.app, '/inbox/bulk', {}, w.cookies.agent, { headers: htmx, payload: `ids=${id}&ids=${other}&ids=${w.theirs}&op=assign%3A${w.adminId}&status=resolved` })
  t.equal(bulk.statusCode, 200)
  t.match(String(bulk.headers['hx-trigger']), /2 conversations updated/)
  t.match(bulk.body, /<div id="inbox-list"/, 'the list, refreshed with the filter it was sent with')
  t.same(w.deps.db.select().from(conversations).where(eq(conversations.workspaceId, w.ws)).all().map(c => c.assigneeId), [w.adminId, w.adminId])
  t.equal(w.deps.db.select().from(conversations).where(eq(conversations.id, w.theirs)).get()!.assigneeId, null, 'another workspace\'s id is ignored')

  const away = await post(w.app, '/inbox/availability', {}, w.cookies.agent, { headers: htmx })
  t.match(away.body, /Away/)
  t.equal(w.deps.db.select().from(memberships).where(and(eq(memberships.workspaceId, w.ws), eq(memberships.userId, w.agentId))).get()!.available, false)
  t.match((await post(w.app, '/inbox/availability', { available: '1' }, w.cookies.agent, { headers: htmx })).body, /Available/)
})

t.test('opening a conversation marks it read; a refresh in a visible tab too', async (t) => {
  const w = await world(t)
  const id = await writes(w, { waId: '15550700001', name: 'Rita' }, 'one')
  await writes(w, { waId: '15550700001', name: 'Rita' }, 'two')
  const unread = (): number => w.deps.db.select().from(conversations).where(eq(conversations.id, id)).get()!.unreadCount
  t.equal(unread(), 2)
  const events: string[] = []
  w.deps.events.on('conversation.updated', e => events.push(e.conversationId))
  await get(w.app, `/inbox/${id}`, w.cookies.agent)
  t.equal(unread(), 0)
  t.same(events, [id], 'announced (the list updates everywhere)')
  t.ok(await until(() => w.fake.readReceipts.length === 1), 'and the customer gets a read receipt (the outbound feature sends it)')
  t.match(w.fake.readReceipts[0], { wamid: `wamid.T.${seq}` }, 'for their newest message')
  await writes(w, { waId: '15550700001', name: 'Rita' }, 'three')
  await get(w.app, `/inbox/${id}/thread`, w.cookies.agent, { ...htmx, 'x-inbox-visible': '0' })
  t.equal(unread(), 1, 'a background tab leaves it unread')
  const refreshed = await get(w.app, `/inbox/${id}/thread`, w.cookies.agent, { ...htmx, 'x-inbox-visible': '1' })
  t.equal(unread(), 0, 'a visible one reads it')
  t.match(refreshed.body, /<div id="thread"/)
  t.match(refreshed.body, /<header id="conv-header" class="conv-header" hx-swap-oob="outerMorph">/, 'with the header out of band')
  t.equal((await get(w.app, `/inbox/${id}/thread`, w.cookies.agent)).statusCode, 303, 'without htmx: the conversation page')
})

t.test('another workspace\'s conversation is unknown on every route', async (t) => {
  const w = await world(t)
  const mine = await writes(w, { waId: '15550800001', name: 'Tess' }, 'hello')
  // Session routes (the API's take keys: test/api-matrix.test.ts checks them the same way).
  const routes = w.app.routeTable.filter(r => r.url.includes(':conversationId') && r.method !== 'HEAD' && !r.policy.startsWith('api:'))
  t.ok(routes.length >= 7, `${routes.length} conversation routes`)
  for (const r of routes) {
    const url = r.url.replace(':conversationId', w.theirs)
    const res = r.method === 'GET' ? await get(w.app, url, w.cookies.owner) : await post(w.app, url, { assignee: 'me', status: 'open', name: 'x', label: 'x', text: 'x' }, w.cookies.owner)
    t.equal(res.statusCode, 404, `${r.method} ${r.url}: 404`)
    const own = r.method === 'GET' ? await get(w.app, r.url.replace(':conversationId', mine), w.cookies.outsider) : await post(w.app, r.url.replace(':conversationId', mine), {}, w.cookies.outsider)
    t.equal(own.statusCode, 404, `${r.method} ${r.url} as the other workspace: 404`)
  }
  t.notMatch((await get(w.app, '/inbox', w.cookies.outsider)).body, /Tess/, 'their list never shows it')
})

t.test('Settings → Inbox: admins change how conversations are handled; agents cannot', async (t) => {
  const w = await world(t)
  t.equal((await get(w.app, '/settings/inbox', w.cookies.agent)).statusCode, 403)
  t.equal((await post(w.app, '/settings/inbox', { autoAssign: 'round_robin' }, w.cookies.agent)).statusCode, 403)
  const page = await get(w.app, '/settings/inbox', w.cookies.admin)
  t.equal(page.statusCode, 200)
  t.match(page.body, /Assign them in turn/)
  t.match(page.body, /<a class="tab" href="\/settings\/inbox" aria-current="page">/, 'its own settings tab')
  const saved = await post(w.app, '/settings/inbox', { autoAssign: 'round_robin', resolvedReply: 'new', sendReadReceipts: '1' }, w.cookies.admin)
  t.equal(saved.headers.location, '/settings/inbox?done=saved')
  t.match(w.deps.db.select().from(workspaces).where(eq(workspaces.id, w.ws)).get()!, { autoAssign: 'round_robin', resolvedReply: 'new', sendReadReceipts: true, selfAssignOnReply: false })
  t.match((await get(w.app, '/settings/inbox?done=saved', w.cookies.admin)).body, /Inbox settings saved/)
  t.notMatch((await get(w.app, '/settings/members', w.cookies.agent)).body, /href="\/settings\/inbox"/, 'agents do not see the tab')
  const audit = (await get(w.app, '/settings/audit', w.cookies.admin)).body
  t.match(audit, /changed the inbox settings \(selfAssignOnReply: true → false, autoAssign: none → round_robin, resolvedReply: reopen → new\)/, 'what changed is in the audit log, old → new')
  await post(w.app, '/settings/inbox', { autoAssign: 'round_robin', resolvedReply: 'new', sendReadReceipts: '1' }, w.cookies.admin)
  t.equal(((await get(w.app, '/settings/audit', w.cookies.admin)).body.match(/changed the inbox settings/g) ?? []).length, 1, 'saving without a change records nothing')
})

t.test('canned responses: adding, changing and deleting one is in the audit log (the shortcut, never the text)', async (t) => {
  const w = await world(t)
  t.equal((await post(w.app, '/settings/canned', { shortcut: 'hours', body: 'We open 9–18, secret-ish text.' }, w.cookies.admin)).statusCode, 303)
  const row = w.deps.db.select().from(cannedResponses).where(eq(cannedResponses.workspaceId, w.ws)).get()!
  t.equal((await post(w.app, `/settings/canned/${row.id}`, { shortcut: 'opening-hours', body: 'We open at 9.' }, w.cookies.admin)).statusCode, 303)
  t.equal((await post(w.app, `/settings/canned/${row.id}`, { shortcut: 'opening-hours', body: 'We open at 9.' }, w.cookies.admin)).statusCode, 303)
  t.equal((await post(w.app, `/settings/canned/${row.id}/delete`, {}, w.cookies.admin)).statusCode, 303)
  const audit = (await get(w.app, '/settings/audit', w.cookies.admin)).body
  t.match(audit, /added the canned response \/hours/)
  t.match(audit, /changed the canned response \/opening-hours/)
  t.equal((audit.match(/changed the canned response/g) ?? []).length, 1, 'an unchanged save records nothing')
  t.match(audit, /deleted the canned response \/opening-hours/)
  t.notMatch(audit, /We open/, 'bodies stay out of the log')
})

t.test('a workspace without a number: the inbox says to connect one (admins get the way there)', async (t) => {
  const w = await world(t)
  const owner = await createUser(w.deps, { name: 'Nova', workspace: 'Brand new' })
  const page = (await get(w.app, '/inbox', await signIn(w.app, owner))).body
  t.match(page, /Connect a WhatsApp number/)
  t.match(page, /href="\/settings\/channels"/)
})

// ── the live stream ──

interface Stream { status: number, headers: IncomingMessage['headers'], text: () => string, events: () => string[], close: () => void, ended: Promise<void> }

function openStream (base: string, cookie: string, accept = 'text/event-stream'): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let buf = ''
    let endedResolve: () => void = () => {}
    const ended = new Promise<void>(resolve => { endedResolve = resolve })
    const req = request(`${base}/live`, { headers: { cookie, accept } }, (res) => {
      res.setEncoding('utf8')
      res.on('data', (d: string) => { buf += d })
      res.on('end', () => endedResolve())
      res.on('close', () => endedResolve())
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text: () => buf, events: () => [...buf.matchAll(/^event: (.+)$/gm)].map(m => m[1]!), close: () => req.destroy(), ended })
    })
    req.on('error', (err) => { if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err) })
    req.end()
  })
}

const until = async (check: () => boolean, ms = 3000): Promise<boolean> => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (check()) return true
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return check()
}

t.test('the live stream rings members of the workspace, and nobody else', async (t) => {
  const w = await world(t)
  const base = await w.app.listen({ host: '127.0.0.1', port: 0 })
  const id = await writes(w, { waId: '15550900001', name: 'Uma' }, 'first')
  const agent = await openStream(base, w.cookies.agent)
  t.equal(agent.status, 200)
  t.match(String(agent.headers['content-type']), /^text\/event-stream/)
  t.equal(agent.headers['cache-control'], 'no-store')
  t.match(String(agent.headers['content-security-policy']), /script-src 'self'/, 'the usual headers')
  t.ok(await until(() => agent.text().includes('retry: 3000')), 'a reconnect delay first')
  const outsider = await openStream(base, w.cookies.outsider)
  t.equal(outsider.status, 200)

  await writes(w, { waId: '15550900001', name: 'Uma' }, 'second')
  t.ok(await until(() => agent.events().includes(`conversation-${id}`)), 'the member hears about the conversation')
  t.ok(agent.events().includes('inbox'), 'and the list')
  t.ok(agent.events().includes('ding'), 'and a ding: nobody is assigned')
  t.match(agent.text(), new RegExp(`event: ding\\ndata: ${id}\\n`), 'doorbells carry ids only')
  t.notMatch(agent.text(), /second|Uma/, 'never names or text')
  await new Promise(resolve => setTimeout(resolve, 150))
  t.same(outsider.events(), [], 'a member of another workspace hears nothing')

  // Assigned: only the assignee gets the ding, as "mine"; everyone still gets the doorbell.
  const owner = await openStream(base, w.cookies.owner)
  await post(w.app, `/inbox/${id}/assign`, { assignee: w.agentId }, w.cookies.owner)
  await writes(w, { waId: '15550900001', name: 'Uma' }, 'third')
  t.ok(await until(() => agent.events().includes('ding-mine')), 'the assignee: ding-mine')
  t.ok(await until(() => owner.events().includes(`conversation-${id}`)))
  t.notOk(owner.events().some(e => e.startsWith('ding')), 'the others: no ding')

  // Removed from the workspace: the next ring ends the stream.
  w.deps.db.delete(memberships).where(and(eq(memberships.workspaceId, w.ws), eq(memberships.userId, w.agentId))).run()
  const before = agent.events().length
  await writes(w, { waId: '15550900001', name: 'Uma' }, 'fourth')
  const closed = await Promise.race([agent.ended.then(() => true), new Promise<boolean>(resolve => setTimeout(() => resolve(false), 2000))])
  t.ok(closed, 'their stream was closed')
  t.equal(agent.events().length, before, 'nothing more for a former member')
  for (const s of [outsider, owner]) s.close()
})

t.test('the live stream: not a stream for plain requests, a cap per person, and closed promptly on shutdown', async (t) => {
  const w = await world(t)
  const plain = await get(w.app, '/live', w.cookies.agent)
  t.equal(plain.statusCode, 406, 'a plain GET (a link, a crawler) is not held open')
  t.equal((await get(w.app, '/live')).statusCode, 303, 'signed out: to the sign-in page')
  const base = await w.app.listen({ host: '127.0.0.1', port: 0 })
  const streams: Stream[] = []
  for (let i = 0; i < 20; i++) streams.push(await openStream(base, w.cookies.agent))
  t.ok(streams.every(s => s.status === 200))
  const extra = await openStream(base, w.cookies.agent)
  t.equal(extra.status, 429, 'twenty tabs at most')
  const started = Date.now()
  await w.app.close()
  t.ok(Date.now() - started < 2000, `the server closed in ${Date.now() - started} ms with ${streams.length} streams open`)
  await Promise.all(streams.map(s => s.ended))
  t.pass('every stream ended')
})

// The inbox's workflow and text handling without HTTP: WhatsApp formatting into escaped segments,
// times in the viewer's zone, round robin, snooze and its wake-up, self-assign on reply, labels and
// bulk updates — each change announced once on the event bus.
import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { withChannel, deliver, envelope, message, messagesValue, type ChannelApp } from '../../../test/helpers/whatsapp.js'
import { addMember, createUser } from '../../../test/helpers/accounts.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { conversations, contacts, memberships, workspaces } from '../../db/schema.js'
import { insertContact } from '../contacts/contacts.service.js'
import {
  assignConversation, bulkUpdate, createLabel, formatWhatsApp, parseBulkOp, phoneOf, timeLeft, parseLocalDateTime, previewKind, previewOf, selfAssignIfUnassigned, setAvailability, setLabel,
  setStatus, shortWhen, snoozeUntil, wakeSnoozed, zonedTime, type InboxActor, type Segment
} from './conversations.service.js'

const text = (segments: Segment[]): string => segments.map(s => s.text).join('')

t.test('WhatsApp formatting becomes styled segments, never markup', async (t) => {
  t.same(formatWhatsApp('plain'), [{ text: 'plain' }])
  t.same(formatWhatsApp('*bold* _it_ ~gone~'), [{ text: 'bold', b: true }, { text: ' ' }, { text: 'it', i: true }, { text: ' ' }, { text: 'gone', s: true }])
  t.same(formatWhatsApp('*_both_*'), [{ text: 'both', b: true, i: true }], 'styles nest')
  t.same(formatWhatsApp('use `npm ci` or ```\nmulti *line*\n```'), [{ text: 'use ' }, { text: 'npm ci', code: true }, { text: ' or ' }, { text: '\nmulti *line*\n', mono: true }], 'code keeps its markers as text')
  t.same(formatWhatsApp('2*3*4 and snake_case_name'), [{ text: '2*3*4 and snake_case_name' }], 'markers inside words are text')
  t.same(formatWhatsApp('* not bold*'), [{ text: '* not bold*' }], 'an opening marker must touch its word')
  t.same(formatWhatsApp('*open\nclose*'), [{ text: '*open\nclose*' }], 'styles stay on one line')
  t.same(formatWhatsApp('see https://example.com/a_b_c_d?x=*y* now.'), [{ text: 'see ' }, { text: 'https://example.com/a_b_c_d?x=*y', href: 'https://example.com/a_b_c_d?x=*y' }, { text: '* now.' }], 'links are opaque to styles, trailing punctuation stays out')
  t.same(formatWhatsApp('*https://example.com*'), [{ text: 'https://example.com', href: 'https://example.com', b: true }], 'a bold link')
  t.same(formatWhatsApp('javascript:alert(1) and JAVASCRIPT://x and data:text/html,<b>'), [{ text: 'javascript:alert(1) and JAVASCRIPT://x and data:text/html,<b>' }], 'only http and https become links')
  const hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> *"><svg onload=alert(3)>*'
  t.equal(text(formatWhatsApp(hostile)), '<script>alert(1)</script><img src=x onerror=alert(2)> "><svg onload=alert(3)>', 'text passes through as text (the template escapes it)')
  t.ok(formatWhatsApp(hostile).every(s => s.href === undefined))
  const long = 'a'.repeat(20_000)
  t.ok(text(formatWhatsApp(long)).length < 10_100, 'very long messages are cut, the work stays bounded')
  for (const many of ['*a '.repeat(3300), '_'.repeat(9000), '`a` '.repeat(2400), 'http://a.bc/_x '.repeat(600) + '`b` '.repeat(1000), '*a\n'.repeat(3000)]) {
    const started = performance.now()
    formatWhatsApp(many)
    t.ok(performance.now() - started < 500, `pathological input stays fast (${many.slice(0, 12)}…)`)
  }
})

t.test('times read like a chat app in the viewer\'s time zone', async (t) => {
  const now = Date.UTC(2026, 2, 12, 14, 30) // Thursday
  const v = { locale: 'en-GB', timeZone: 'Europe/Lisbon', now }
  t.equal(shortWhen(Date.UTC(2026, 2, 12, 9, 5), v), '09:05', 'today: the time')
  t.equal(shortWhen(Date.UTC(2026, 2, 10, 9, 5), v), 'Tue', 'this week: the day')
  t.equal(shortWhen(Date.UTC(2026, 0, 2, 9, 5), v), '2 Jan', 'this year: day and month')
  t.equal(shortWhen(Date.UTC(2025, 0, 2, 9, 5), v), '2 Jan 2025', 'before: with the year')
  t.equal(shortWhen(Date.UTC(2026, 2, 11, 16, 0), v), 'Wed', 'yesterday in Lisbon…')
  t.equal(shortWhen(Date.UTC(2026, 2, 11, 16, 0), { ...v, timeZone: 'Asia/Tokyo' }), '01:00', '…is today in Tokyo')
  t.equal(shortWhen(Date.UTC(2026, 2, 12, 9, 5), { ...v, locale: 'en-US' }), '9:05 AM', 'the locale decides the clock')
  t.equal(zonedTime(2026, 8, 1, 9, 0, 'America/Sao_Paulo'), Date.UTC(2026, 7, 1, 12, 0), 'wall clock → instant')
  t.equal(zonedTime(2026, 7, 1, 9, 0, 'Europe/Lisbon'), Date.UTC(2026, 6, 1, 8, 0), 'summer time')
  t.equal(snoozeUntil('tomorrow', now, 'Europe/Lisbon'), Date.UTC(2026, 2, 13, 9, 0), 'tomorrow 09:00')
  t.equal(snoozeUntil('week', now, 'Europe/Lisbon'), Date.UTC(2026, 2, 16, 9, 0), 'next Monday 09:00')
  t.equal(snoozeUntil('later', now, 'UTC'), now + 3 * 3_600_000)
  t.equal(parseLocalDateTime('2026-03-20T08:15', 'America/New_York'), Date.UTC(2026, 2, 20, 12, 15))
  t.equal(parseLocalDateTime('2026-13-20T08:15', 'UTC'), undefined)
  t.equal(parseLocalDateTime('yesterday', 'UTC'), undefined)
})

t.test('the window\'s time left reads like the composer\'s countdown (minutes rounded up)', async (t) => {
  const tr = (key: string, p: Record<string, unknown> = {}): string => `${key}:${JSON.stringify(p)}`
  t.equal(timeLeft(23 * 3_600_000 + 11 * 60_000 + 1, tr), 'inbox.duration.hoursMinutes:{"hours":23,"minutes":12}', 'no rounding to whole hours')
  t.equal(timeLeft(2 * 3_600_000, tr), 'inbox.duration.hours:{"count":2}')
  t.equal(timeLeft(59 * 60_000 + 1, tr), 'inbox.duration.hours:{"count":1}', '59 min and a bit is the composer\'s "1 h"')
  t.equal(timeLeft(1000, tr), 'inbox.duration.minutes:{"count":1}')
})

t.test('WhatsApp numbers are shown the international way people read them', async (t) => {
  t.equal(phoneOf('5511987654321'), '+55 11 98765 4321')
  t.equal(phoneOf('447700900123'), '+44 7700 900123')
  t.equal(phoneOf(null), null)
  t.equal(phoneOf(''), null)
  t.equal(phoneOf('999'), '999', 'digits that are no number stay as they are')
})

t.test('bulk operations parse strictly', async (t) => {
  t.same(parseBulkOp('unassign'), { kind: 'assign', userId: null })
  t.same(parseBulkOp('status:resolved'), { kind: 'status', status: 'resolved' })
  t.equal(parseBulkOp('status:snoozed'), undefined, 'snoozing needs a time')
  t.equal(parseBulkOp('assign:nobody'), undefined)
  t.equal(parseBulkOp('label:1 OR 1=1'), undefined)
  t.equal(parseBulkOp('drop table'), undefined)
})

t.test('previews say what a message is', async (t) => {
  const tr = (key: string, p?: Record<string, string | number>): string => p === undefined ? key : `${key}${JSON.stringify(p)}`
  const m = (body: unknown, direction: 'in' | 'out' | 'note' = 'in') => ({ content: JSON.stringify({ body }), direction, revokedAt: null })
  t.equal(previewOf(m({ type: 'text', text: 'Hi *there*\nsecond line' }), tr), 'Hi there second line', 'markers go, one line')
  t.equal(previewOf(m({ type: 'text', text: 'Plain words, https://example.com/a?b=1 and 2*3' }), tr), 'Plain words, https://example.com/a?b=1 and 2*3', 'text without styles passes as it is')
  t.equal(previewOf(m({ type: 'audio', voice: true, media: {} }), tr), 'inbox.preview.voice')
  t.equal(previewKind(m({ type: 'audio', voice: true, media: {} })), 'mic')
  t.equal(previewOf(m({ type: 'document', filename: 'invoice.pdf', media: {} }), tr), 'invoice.pdf')
  t.equal(previewOf(m({ type: 'text', text: 'call the customer' }, 'note'), tr), 'inbox.preview.note{"text":"call the customer"}')
  t.equal(previewKind(m({ type: 'poll' })), 'alert', 'unknown types are flagged')
  t.equal(previewOf({ content: 'not json', direction: 'in', revokedAt: null }, tr), 'inbox.preview.unsupported')
})

interface Ws extends ChannelApp { ws: string, owner: InboxActor, agent: InboxActor, agent2: InboxActor, events: string[] }

async function workspace (t: Parameters<typeof withChannel>[0]): Promise<Ws> {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  const a = await createUser(env.deps, { name: 'Agent One' })
  const b = await createUser(env.deps, { name: 'Agent Two' })
  env.clock.advance(1000)
  addMember(env.deps, ws, a.id, 'agent')
  env.clock.advance(1000)
  addMember(env.deps, ws, b.id, 'agent')
  const events: string[] = []
  env.deps.events.on('conversation.updated', e => events.push(e.conversationId))
  return { ...env, ws, owner: { userId: env.ownerId, workspaceId: ws, role: 'owner' }, agent: { userId: a.id, workspaceId: ws, role: 'agent' }, agent2: { userId: b.id, workspaceId: ws, role: 'agent' }, events }
}

let n = 0
async function customerWrites (w: ChannelApp, name: string, body = 'hello'): Promise<string> {
  n++
  const who = { waId: `1555077${String(n).padStart(4, '0')}`, name }
  await deliver(w, w.url, envelope(messagesValue([who], { messages: [message(`wamid.CONV.${n}`, who, 'text', { body }, {}, Math.floor(w.clock.now() / 1000))] })))
  processAllPending(w.deps)
  const contact = w.deps.db.select().from(contacts).all().find(c => c.waId === who.waId)!
  return w.deps.db.select().from(conversations).where(eq(conversations.contactId, contact.id)).get()!.id
}

const conversation = (w: ChannelApp, id: string) => w.deps.db.select().from(conversations).where(eq(conversations.id, id)).get()!

t.test('round robin gives each new conversation to the available member who waited longest', async (t) => {
  const w = await workspace(t)
  const first = await customerWrites(w, 'Before')
  t.equal(conversation(w, first).assigneeId, null, 'off by default: new conversations wait unassigned')
  w.deps.db.update(workspaces).set({ autoAssign: 'round_robin' }).where(eq(workspaces.id, w.ws)).run()
  setAvailability(w.deps, w.agent2, false)
  const got: Array<string | null> = []
  for (const name of ['C1', 'C2', 'C3', 'C4']) got.push(conversation(w, await customerWrites(w, name)).assigneeId)
  t.same(got, [w.owner.userId, w.agent.userId, w.owner.userId, w.agent.userId], 'in turn, skipping the member who is away')
  const again = got.length
  await deliver(w, w.url, envelope(messagesValue([{ waId: '15550770002', name: 'C1' }], { messages: [message('wamid.CONV.again', { waId: '15550770002' }, 'text', { body: 'me again' }, {}, Math.floor(w.clock.now() / 1000))] })))
  processAllPending(w.deps)
  t.equal(got.length, again, 'a message in an existing conversation assigns nothing')
  const lastAssigned = w.deps.db.select().from(memberships).where(and(eq(memberships.workspaceId, w.ws), eq(memberships.userId, w.agent2.userId))).get()!
  t.equal(lastAssigned.lastAssignedAt, null, 'the away member got none')
  setAvailability(w.deps, w.agent2, true)
  t.equal(conversation(w, await customerWrites(w, 'C5')).assigneeId, w.agent2.userId, 'back: next in line, having waited longest')
  w.deps.db.update(memberships).set({ available: false }).where(eq(memberships.workspaceId, w.ws)).run()
  t.equal(conversation(w, await customerWrites(w, 'C6')).assigneeId, null, 'nobody available: it waits unassigned')
})

t.test('assign, statuses, snooze and its wake-up, labels: each change announced once', async (t) => {
  const w = await workspace(t)
  const id = await customerWrites(w, 'Dana')
  w.events.length = 0
  assignConversation(w.deps, w.agent, id, w.agent2.userId)
  t.equal(conversation(w, id).assigneeId, w.agent2.userId, 'any member assigns to any member')
  assignConversation(w.deps, w.agent, id, w.agent2.userId)
  t.same(w.events, [id], 'no change, no event')
  const outsider = await createUser(w.deps, { workspace: 'Elsewhere' })
  t.throws(() => assignConversation(w.deps, w.agent, id, outsider.id), { name: 'ValidationError' }, 'never to someone outside the workspace')
  assignConversation(w.deps, w.agent, id, null)
  t.equal(conversation(w, id).assigneeId, null, 'unassigned')

  setStatus(w.deps, w.agent, id, 'pending')
  t.equal(conversation(w, id).status, 'pending')
  t.throws(() => setStatus(w.deps, w.agent, id, 'snoozed', w.clock.now() - 1), { name: 'ValidationError' }, 'snoozing into the past is refused')
  setStatus(w.deps, w.agent, id, 'snoozed', w.clock.now() + 3_600_000)
  t.equal(conversation(w, id).status, 'snoozed')
  t.equal(wakeSnoozed(w.deps), 0, 'not yet')
  w.clock.advance(3_600_000)
  w.events.length = 0
  t.equal(wakeSnoozed(w.deps), 1, 'its time has come')
  t.match(conversation(w, id), { status: 'open', snoozedUntil: null })
  t.same(w.events, [id], 'the waking is announced')

  setStatus(w.deps, w.agent, id, 'resolved')
  t.ok(conversation(w, id).resolvedAt !== null)
  setStatus(w.deps, w.agent, id, 'open')
  t.match(conversation(w, id), { status: 'open', resolvedAt: null }, 'reopened')

  const vip = createLabel(w.deps, w.agent, '  VIP  ', id)
  t.equal(vip.name, 'VIP', 'names are trimmed')
  t.equal(createLabel(w.deps, w.agent, 'vip').id, vip.id, 'one label per name, whatever the case')
  w.events.length = 0
  setLabel(w.deps, w.agent, id, vip.id, true)
  t.same(w.events, [], 'already there: nothing to announce')
  setLabel(w.deps, w.agent, id, vip.id, false)
  t.same(w.events, [id])
  t.throws(() => createLabel(w.deps, w.agent, '\u202e\u0000 '), { name: 'ValidationError' }, 'an empty (or only control characters) name is refused')
})

t.test('a customer writing on a snoozed or pending conversation brings it back; resolving one while another is open is fine, reopening is not', async (t) => {
  const w = await workspace(t)
  const id = await customerWrites(w, 'Eva')
  setStatus(w.deps, w.agent, id, 'snoozed', w.clock.now() + 86_400_000)
  const contact = w.deps.db.select().from(contacts).where(eq(contacts.id, conversation(w, id).contactId)).get()!
  await deliver(w, w.url, envelope(messagesValue([{ waId: contact.waId, name: 'Eva' }], { messages: [message('wamid.EVA.2', { waId: contact.waId }, 'text', { body: 'hello?' }, {}, Math.floor(w.clock.now() / 1000) + 5)] })))
  processAllPending(w.deps)
  t.equal(conversation(w, id).status, 'open', 'snoozed → open when the customer writes')
  setStatus(w.deps, w.agent, id, 'resolved')
  w.deps.db.update(workspaces).set({ resolvedReply: 'new' }).where(eq(workspaces.id, w.ws)).run()
  await deliver(w, w.url, envelope(messagesValue([{ waId: contact.waId, name: 'Eva' }], { messages: [message('wamid.EVA.3', { waId: contact.waId }, 'text', { body: 'new question' }, {}, Math.floor(w.clock.now() / 1000) + 9)] })))
  processAllPending(w.deps)
  const open = w.deps.db.select().from(conversations).where(and(eq(conversations.contactId, contact.id), eq(conversations.status, 'open'))).get()!
  t.not(open.id, id, 'a new conversation was started')
  t.throws(() => setStatus(w.deps, w.agent, id, 'open'), { name: 'ValidationError' }, 'the old one cannot be reopened beside it')
})

t.test('replying assigns an unassigned conversation to whoever replied, when the workspace wants that', async (t) => {
  const w = await workspace(t)
  const id = await customerWrites(w, 'Fay')
  t.ok(selfAssignIfUnassigned(w.deps, w.agent, id), 'on by default')
  t.equal(conversation(w, id).assigneeId, w.agent.userId)
  t.notOk(selfAssignIfUnassigned(w.deps, w.agent2, id), 'never takes a conversation from someone')
  const other = await customerWrites(w, 'Gil')
  w.deps.db.update(workspaces).set({ selfAssignOnReply: false }).where(eq(workspaces.id, w.ws)).run()
  t.notOk(selfAssignIfUnassigned(w.deps, w.agent, other), 'off: nothing happens')
  t.equal(conversation(w, other).assigneeId, null)
  t.notOk(selfAssignIfUnassigned(w.deps, { userId: w.agent.userId, workspaceId: 'not-this-one' }, other), 'another workspace: nothing')
})

t.test('bulk updates touch only the workspace\'s own conversations', async (t) => {
  const w = await workspace(t)
  const ids = [await customerWrites(w, 'H1'), await customerWrites(w, 'H2'), await customerWrites(w, 'H3')]
  // Another workspace with a conversation of its own.
  const other = await createUser(w.deps, { workspace: 'Other' })
  const now = w.clock.now()
  const { createChannel } = await import('../channels/channels.service.js')
  const ch = createChannel(w.deps.db, other.workspaceId!, { name: 'B', wabaId: '2', phoneNumberId: '3', accessToken: 'x-token-0000', appSecret: 'secret-b', graphApiVersion: 'v25.0' }, now)
  const c = insertContact(w.deps.db, { workspaceId: other.workspaceId!, profileName: 'Theirs', createdAt: now, updatedAt: now })
  const theirs = w.deps.db.insert(conversations).values({ workspaceId: other.workspaceId!, channelId: ch.id, contactId: c.id, lastMessageAt: now, createdAt: now, updatedAt: now }).returning().get()
  w.events.length = 0
  t.equal(bulkUpdate(w.deps, w.owner, [...ids, theirs.id, 'garbage'], { kind: 'assign', userId: w.agent.userId }), 3)
  t.same(w.events.sort(), [...ids].sort(), 'one announcement per changed conversation')
  t.equal(conversation(w, theirs.id).assigneeId, null, 'another workspace\'s conversation is untouched')
  t.equal(bulkUpdate(w.deps, w.owner, ids, { kind: 'assign', userId: w.agent.userId }), 0, 'nothing to change')
  t.equal(bulkUpdate(w.deps, w.owner, ids.slice(0, 2), { kind: 'status', status: 'resolved' }), 2)
  const label = createLabel(w.deps, w.owner, 'Returns')
  t.equal(bulkUpdate(w.deps, w.owner, ids, { kind: 'label', labelId: label.id }), 3)
  t.throws(() => bulkUpdate(w.deps, w.owner, ids, { kind: 'assign', userId: other.id }), { name: 'ValidationError' })
})

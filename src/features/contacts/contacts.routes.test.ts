// The contacts screens over HTTP: the list (search by name, exact phone in many spellings, exact email;
// every filter and sort; keyset pages), bulk label and delete with confirmation, the new-contact form,
// the contact page's click-to-edit parts (name, notes, custom fields, phones, emails, labels) with
// inline validation errors that keep what was typed, Settings → Contact fields, roles, and another
// workspace's ids answered 404 everywhere.
import t, { type Test } from 'tap'
import { and, eq } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { inlineCode } from '../../../test/helpers/html.js'
import { auditLog, contactFieldValues, contactPhones, contacts, conversations, workspaces } from '../../db/schema.js'
import { upsertWhatsAppContact } from './contacts.service.js'
import { createContact } from './contact-edit.service.js'
import { createField, listFields, validateFieldValue } from './contact-fields.service.js'
import { eachContactInFilter, listContacts } from './contacts-list.store.js'
import { createLabel } from '../inbox/conversations.service.js'
import { createChannel } from '../channels/channels.service.js'

const day = 86_400_000

interface World extends TestApp {
  ws: string
  other: string
  ownerId: string
  cookies: { owner: string, admin: string, agent: string, outsider: string }
}

async function world (t: Test): Promise<World> {
  const env = await buildTestApp(t)
  const owner = await createUser(env.deps, { name: 'Olga Owner', workspace: 'Shop' })
  const admin = await createUser(env.deps, { name: 'Ada Admin' })
  const agent = await createUser(env.deps, { name: 'Agnes Agent' })
  const outsider = await createUser(env.deps, { name: 'Otto Outsider', workspace: 'Other shop' })
  const ws = owner.workspaceId!
  addMember(env.deps, ws, admin.id, 'admin')
  addMember(env.deps, ws, agent.id, 'agent')
  env.deps.db.update(workspaces).set({ defaultCountry: 'BR' }).where(eq(workspaces.id, ws)).run()
  return {
    ...env,
    ws,
    other: outsider.workspaceId!,
    ownerId: owner.id,
    cookies: { owner: await signIn(env.app, owner), admin: await signIn(env.app, admin), agent: await signIn(env.app, agent), outsider: await signIn(env.app, outsider) }
  }
}

const hx = (target: string): Record<string, string> => ({ 'hx-request': 'true', 'hx-target': target })

function make (w: World, input: Parameters<typeof createContact>[2], ws = w.ws): string {
  const r = createContact(w.deps.db, ws, input, w.ownerId, w.clock.now())
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.contact.id
}

/** The contact ids a list page shows, in order. */
function shown (html: string): string[] {
  return [...html.matchAll(/<li class="contact-row" id="c-([0-9A-Z]{26})"/g)].map(m => m[1]!)
}

t.test('the list searches by name, exact phone in many spellings and exact email', async (t) => {
  const w = await world(t)
  const ana = make(w, { name: 'Ana Souza', phones: ['+55 11 98765-4321'], emails: ['Ana@Example.com'] })
  const bruno = make(w, { name: 'Bruno 100%_done' })
  // A WhatsApp contact: the number is its wa_id (the old 12-digit Brazilian spelling, a Rio mobile).
  const wa = upsertWhatsAppContact(w.deps.db, w.ws, { bsuid: null, waId: '552187654321', profileName: 'Carla WhatsApp' }, w.clock.now())!
  make(w, { name: 'Ana in another workspace', phones: ['+55 11 98765-4321'] }, w.other)

  let res = await get(w.app, '/contacts?q=souza', w.cookies.agent)
  t.equal(res.statusCode, 200)
  t.same(shown(res.body), [ana], 'a name fragment, any case')
  t.same(inlineCode(res.body), [], 'no inline code (CSP)')
  res = await get(w.app, '/contacts?q=' + encodeURIComponent('100%_'), w.cookies.agent)
  t.same(shown(res.body), [bruno], 'LIKE wildcards are literal')
  res = await get(w.app, '/contacts?q=' + encodeURIComponent('%'), w.cookies.agent)
  t.same(shown(res.body), [bruno])
  const lucia = make(w, { name: 'Lúcia Gonçalves' })
  res = await get(w.app, '/contacts?q=' + encodeURIComponent('LUCIA GONC'), w.cookies.agent)
  t.same(shown(res.body), [lucia], 'the name index folds case and accents, across the space')
  res = await get(w.app, '/contacts?q=' + encodeURIComponent('"lúcia" OR *'), w.cookies.agent)
  t.same(shown(res.body), [], 'search syntax is only text')
  // More matches than the list looks up by id: the walk tests each contact against the index instead.
  for (let i = 0; i < 205; i++) make(w, { name: `Zélia ${i}` })
  res = await get(w.app, '/contacts?q=zelia', w.cookies.agent)
  t.equal(shown(res.body).length, 50, 'a full first page of 205 matches')
  t.ok(shown(res.body).every(id => id !== lucia && id !== ana))

  for (const spelling of ['+55 11 98765-4321', '5511987654321', '(11) 98765-4321', '011 98765 4321', '+55 (11) 8765-4321', '+５５ １１ ９８７６５ ４３２１']) {
    res = await get(w.app, '/contacts?q=' + encodeURIComponent(spelling), w.cookies.agent)
    t.same(shown(res.body), [ana], `phone spelled ${spelling}`)
    t.match(res.body, /Exact phone match/)
  }
  for (const spelling of ['+55 11 97654-4321', '+55 11 98765-432']) {
    res = await get(w.app, '/contacts?q=' + encodeURIComponent(spelling), w.cookies.agent)
    t.same(shown(res.body), [], `${spelling}: exact, not fuzzy`)
  }
  // The WhatsApp id matches both Brazilian spellings.
  for (const spelling of ['+55 21 8765-4321', '+55 21 98765-4321', '(21) 98765-4321']) {
    const rows = listContacts(w.deps.db, w.ws, { q: spelling, sort: 'name' }, { limit: 10 }, w.clock.now()).rows.map(r => r.id)
    t.same(rows, [wa.id], `wa_id found by ${spelling}`)
  }
  res = await get(w.app, '/contacts?q=' + encodeURIComponent('  ANA@example.COM '), w.cookies.agent)
  t.same(shown(res.body), [ana], 'email: exact, any case')
  res = await get(w.app, '/contacts?q=' + encodeURIComponent('ana@example.co'), w.cookies.agent)
  t.same(shown(res.body), [], 'email: not a prefix match')
  t.match(res.body, /No contact has this email address/)
})

t.test('filters by label, custom field value, consent and last activity; sorts; pages by keyset', async (t) => {
  const w = await world(t)
  const now = w.clock.now()
  const vip = createLabel(w.deps, { userId: w.ownerId, workspaceId: w.ws, role: 'owner' }, 'VIP')
  const plan = createField(w.deps.db, { userId: w.ownerId, workspaceId: w.ws }, { label: 'Plan', type: 'select', options: 'Free\nPro' }, now)
  const size = createField(w.deps.db, { userId: w.ownerId, workspaceId: w.ws }, { label: 'Seats', type: 'number', options: '' }, now)
  if (!plan.ok || !size.ok) throw new Error('fields')
  const ids: string[] = []
  for (let i = 0; i < 7; i++) {
    w.clock.advance(1000)
    ids.push(make(w, { name: `Person ${String.fromCharCode(71 - i)}`, labelIds: i % 2 === 0 ? [vip.id] : [] }))
  }
  // Activity: 0 wrote today, 1 ten days ago, 2 two hundred days ago, the rest never.
  const t0 = w.clock.now()
  w.deps.db.update(contacts).set({ lastInboundAt: t0 - 1000 }).where(eq(contacts.id, ids[0]!)).run()
  w.deps.db.update(contacts).set({ lastInboundAt: t0 - 10 * day }).where(eq(contacts.id, ids[1]!)).run()
  w.deps.db.update(contacts).set({ lastInboundAt: t0 - 200 * day }).where(eq(contacts.id, ids[2]!)).run()
  w.deps.db.update(contacts).set({ consent: 'opted_out' }).where(eq(contacts.id, ids[3]!)).run()
  w.deps.db.update(contacts).set({ consent: 'opted_in' }).where(eq(contacts.id, ids[4]!)).run()
  const c = w.cookies.agent
  t.equal((await post(w.app, `/contacts/${ids[5]}/fields/${plan.value.id}`, { value: 'pro' }, c)).statusCode, 303)
  t.equal((await post(w.app, `/contacts/${ids[6]}/fields/${size.value.id}`, { value: '1,50' }, c)).statusCode, 303)

  t.same(shown((await get(w.app, `/contacts?label=${vip.id}`, c)).body).sort(), [ids[0], ids[2], ids[4], ids[6]].sort(), 'label')
  t.same(shown((await get(w.app, `/contacts?field=${plan.value.id}&value=PRO`, c)).body), [ids[5]], 'select value, any case')
  t.same(shown((await get(w.app, `/contacts?field=${plan.value.id}&value=Free`, c)).body), [], 'another option')
  t.same(shown((await get(w.app, `/contacts?field=${size.value.id}&value=1.5`, c)).body), [ids[6]], 'number normalised: 1,50 = 1.5')
  t.same(shown((await get(w.app, `/contacts?field=${size.value.id}`, c)).body), [ids[6]], 'has a value')
  t.same(shown((await get(w.app, '/contacts?consent=opted_out', c)).body), [ids[3]], 'opted out')
  t.same(shown((await get(w.app, '/contacts?consent=opted_in', c)).body), [ids[4]], 'opted in')
  t.equal(shown((await get(w.app, '/contacts?consent=unknown', c)).body).length, 5, 'consent unknown')
  t.same(shown((await get(w.app, '/contacts?activity=7d', c)).body), [ids[0]], 'wrote this week')
  t.same(shown((await get(w.app, '/contacts?activity=30d', c)).body).sort(), [ids[0], ids[1]].sort(), 'wrote this month')
  t.same(shown((await get(w.app, '/contacts?activity=older', c)).body), [ids[2]], 'quiet for 90+ days')
  t.equal(shown((await get(w.app, '/contacts?activity=never', c)).body).length, 4, 'never wrote')
  t.same(shown((await get(w.app, `/contacts?label=${vip.id}&activity=never`, c)).body).sort(), [ids[4], ids[6]].sort(), 'filters combine')

  // Sorts: names are G, F, E … A (created in that order).
  t.same(shown((await get(w.app, '/contacts', c)).body), [...ids].reverse(), 'name A–Z by default')
  t.same(shown((await get(w.app, '/contacts?sort=created', c)).body), [...ids].reverse(), 'newest first')
  t.same(shown((await get(w.app, '/contacts?sort=recent', c)).body).slice(0, 3), [ids[0], ids[1], ids[2]], 'recent activity first, never-wrote last')

  // Keyset paging through the store (the page size of the screen is 50): every sort, no gaps, no repeats.
  for (const sort of ['name', 'recent', 'created'] as const) {
    const seen: string[] = []
    let after: string | undefined
    for (let guard = 0; guard < 10; guard++) {
      const page = listContacts(w.deps.db, w.ws, { sort }, { after, limit: 3 }, w.clock.now())
      seen.push(...page.rows.map(r => r.id))
      if (page.next === undefined) break
      after = page.next
    }
    t.equal(seen.length, 7, `${sort}: every contact once`)
    t.equal(new Set(seen).size, 7)
    t.same([...eachContactInFilter(w.deps.db, w.ws, { sort }, w.clock.now())].map(r => r.id), seen, `${sort}: the export iterator walks the same order`)
  }
  t.same(listContacts(w.deps.db, w.ws, { sort: 'name' }, { after: 'not-a-cursor', limit: 2 }, now).rows.map(r => r.id), [ids[6], ids[5]], 'an unreadable cursor starts over')
})

t.test('"load more" pages the screen with keyset cursors and keeps the filter', async (t) => {
  const w = await world(t)
  for (let i = 0; i < 55; i++) make(w, { name: `Cliente ${String(i).padStart(2, '0')}` })
  make(w, { name: 'Someone else' })
  const first = await get(w.app, '/contacts?q=cliente', w.cookies.agent)
  t.equal(shown(first.body).length, 50)
  const more = /href="(\/contacts\?q=cliente&amp;after=[^"]+)"/.exec(first.body)
  t.ok(more, 'a load-more link with the filter')
  const url = more![1]!.replace(/&amp;/g, '&')
  t.notMatch(url, /offset|page=/)
  const second = await get(w.app, url, w.cookies.agent, hx('#contacts-more'))
  t.equal(second.statusCode, 200)
  t.notMatch(second.body, /<html/, 'a fragment')
  t.equal(shown(second.body).length, 5)
  t.equal(new Set([...shown(first.body), ...shown(second.body)]).size, 55)
  t.notMatch(second.body, /after=/, 'no further page')
  const results = await get(w.app, '/contacts?q=someone', w.cookies.agent, hx('#contacts-results'))
  t.match(results.body, /^<section id="contacts-results"/)
})

t.test('empty states: no contacts yet, and no matches', async (t) => {
  const w = await world(t)
  let res = await get(w.app, '/contacts', w.cookies.admin)
  t.match(res.body, /No contacts yet/)
  t.match(res.body, /href="\/contacts\/import"/, 'admins are offered the import')
  res = await get(w.app, '/contacts', w.cookies.agent)
  t.match(res.body, /No contacts yet/)
  t.notMatch(res.body, /href="\/contacts\/import"/, 'agents are not offered what they may not do (import is admins\' work)')
  t.match(res.body, /href="\/contacts\/new"[^>]*>[\s\S]*Add a contact/, 'agents are offered to add one by hand')
  t.match(res.body, /href="\/contacts\/duplicates"/, 'the duplicates page is linked')
  make(w, { name: 'Ana' })
  res = await get(w.app, '/contacts?q=zzz', w.cookies.agent)
  t.match(res.body, /No contacts match/)
  t.match(res.body, /Clear search and filters/)
})

t.test('a new label made only of invisible characters is refused next to the field, with what was typed kept', async (t) => {
  const w = await world(t)
  const ana = make(w, { name: 'Ana Souza' })
  const res = await post(w.app, `/contacts/${ana}/labels`, { name: '\u202e\u0007' }, w.cookies.agent, { headers: hx('#contact-labels') })
  t.equal(res.statusCode, 422)
  t.match(res.body, /id="contact-label-error"[\s\S]*Give the label a name\./)
  t.match(res.body, /<details class="dropdown label-add" open>/, 'the form stays open')
})

t.test('new contact: validates, keeps what was typed, refuses a number another contact has', async (t) => {
  const w = await world(t)
  t.equal((await get(w.app, '/contacts/new', w.cookies.agent)).statusCode, 200)
  let res = await post(w.app, '/contacts', { name: '', phone: '', email: '', notes: '' }, w.cookies.agent)
  t.equal(res.statusCode, 422)
  t.match(res.body, /Enter a name, a phone number or an email/)
  res = await post(w.app, '/contacts', { name: 'Dora', phone: '12', email: 'dora@', notes: 'likes tea' }, w.cookies.agent)
  t.equal(res.statusCode, 422)
  t.match(res.body, /doesn&#39;t look like a phone number|doesn't look like a phone number/)
  t.match(res.body, /Enter a valid email address/)
  t.match(res.body, /value="Dora"/, 'the name is kept')
  t.match(res.body, />likes tea</, 'the notes are kept')
  res = await post(w.app, '/contacts', { name: '<script>alert(1)</script>', phone: '11 98765-4321', email: 'dora@example.com', notes: '' }, w.cookies.agent)
  t.equal(res.statusCode, 303)
  const id = /\/contacts\/([0-9A-Z]{26})/.exec(String(res.headers.location))![1]!
  const page = await get(w.app, `/contacts/${id}?done=created`, w.cookies.agent)
  t.equal(page.statusCode, 200)
  t.notMatch(page.body, /<script>alert/, 'escaped')
  t.match(page.body, /\+55 11 98765-4321/, 'national number in the workspace country, shown international')
  t.match(page.body, /dora@example.com/)
  t.match(page.body, /Contact created/)
  const row = w.deps.db.select().from(contactPhones).where(eq(contactPhones.contactId, id)).get()!
  t.equal(row.phone, '+5511987654321')
  const raw = w.deps.sqlite.prepare('SELECT phone FROM contact_phones WHERE contact_id = ?').get(id) as { phone: string }
  t.notMatch(raw.phone, /5511987654321/, 'encrypted at rest')
  res = await post(w.app, '/contacts', { name: 'Dup', phone: '+55 (11) 8765-4321', email: '', notes: '' }, w.cookies.agent)
  t.equal(res.statusCode, 422, 'the same number without the 9th digit is a duplicate')
  t.match(res.body, /Another contact already has this number/)
  t.match(res.body, new RegExp(`href="/contacts/${id}"`), 'with a link to it')
})

t.test('the contact page edits name, notes, phones, emails and labels in place', async (t) => {
  const w = await world(t)
  const id = make(w, { name: 'Eva', phones: ['+1 202 555 0143'] })
  const c = w.cookies.agent
  // Name: the edit partial, a refused value (kept, 422), then saved.
  let res = await get(w.app, `/contacts/${id}/name?edit=1`, c, hx('#contact-name'))
  t.match(res.body, /^<header class="contact-header" id="contact-name">/)
  t.match(res.body, /name="name" value="Eva"/)
  res = await post(w.app, `/contacts/${id}/name`, { name: 'x'.repeat(201) }, c, { headers: hx('#contact-name') })
  t.equal(res.statusCode, 422)
  t.match(res.body, /at most 200 characters/)
  t.match(res.body, /value="x{201}"/, 'nothing lost')
  res = await post(w.app, `/contacts/${id}/name`, { name: 'Eva Lima' }, c, { headers: hx('#contact-name') })
  t.equal(res.statusCode, 200)
  t.match(res.body, /Eva Lima/)
  t.match(res.body, /id="contact-timeline"[^>]*hx-swap-oob/, 'the timeline refreshes out of band')
  t.match(res.body, /Agnes Agent renamed the contact to “Eva Lima”/)
  // Without JavaScript: a redirect back, and the page with the part open on an error.
  res = await post(w.app, `/contacts/${id}/name`, { name: 'Eva L.' }, c)
  t.equal(res.statusCode, 303)
  res = await post(w.app, `/contacts/${id}/name`, { name: 'y'.repeat(300) }, c)
  t.equal(res.statusCode, 422)
  t.match(res.body, /<html/)
  t.match(res.body, /value="y{300}"/)

  // Notes (encrypted).
  res = await post(w.app, `/contacts/${id}/notes`, { notes: 'n'.repeat(10_001) }, c, { headers: hx('#contact-notes') })
  t.equal(res.statusCode, 422)
  t.match(res.body, /at most 10,000 characters/)
  res = await post(w.app, `/contacts/${id}/notes`, { notes: 'Prefers <b>email</b>\r\nVIP' }, c, { headers: hx('#contact-notes') })
  t.equal(res.statusCode, 200)
  t.match(res.body, /Prefers &lt;b&gt;email&lt;\/b&gt;\nVIP/)
  const raw = w.deps.sqlite.prepare('SELECT notes FROM contacts WHERE id = ?').get(id) as { notes: string }
  t.notMatch(raw.notes, /Prefers/, 'notes encrypted at rest')

  // Phones.
  res = await post(w.app, `/contacts/${id}/phones`, { phone: 'call me' }, c, { headers: hx('#contact-phones') })
  t.equal(res.statusCode, 422)
  t.match(res.body, /value="call me"/)
  res = await post(w.app, `/contacts/${id}/phones`, { phone: '+1 (202) 555-0143' }, c, { headers: hx('#contact-phones') })
  t.equal(res.statusCode, 422)
  t.match(res.body, /already has this number/)
  res = await post(w.app, `/contacts/${id}/phones`, { phone: '+44 20 7946 0958' }, c, { headers: hx('#contact-phones') })
  t.equal(res.statusCode, 200)
  t.match(res.body, /\+44 20 7946 0958/)
  const phoneId = /name="remove" value="([0-9A-Z]{26})"/.exec(res.body)![1]!
  res = await post(w.app, `/contacts/${id}/phones`, { remove: phoneId }, c, { headers: hx('#contact-phones') })
  t.notMatch(res.body, /\+1 202-555-0143/)
  // Emails.
  res = await post(w.app, `/contacts/${id}/emails`, { email: 'x@y.com\r\nBcc: z@w.com' }, c, { headers: hx('#contact-emails') })
  t.equal(res.statusCode, 422, 'CRLF injection refused')
  res = await post(w.app, `/contacts/${id}/emails`, { email: 'Eva@Example.com' }, c, { headers: hx('#contact-emails') })
  t.match(res.body, /eva@example.com/)
  const emailId = /name="remove" value="([0-9A-Z]{26})"/.exec(res.body)![1]!
  t.equal((await post(w.app, `/contacts/${id}/emails`, { remove: emailId }, c)).statusCode, 303)
  // Labels: a new one, then off.
  res = await post(w.app, `/contacts/${id}/labels`, { name: 'Wholesale' }, c, { headers: hx('#contact-labels') })
  t.match(res.body, /Wholesale/)
  const labelId = /name="label" value="([0-9A-Z]{26})"><input type="hidden" name="on" value="0"/.exec(res.body)![1]!
  res = await post(w.app, `/contacts/${id}/labels`, { label: labelId, on: '0' }, c, { headers: hx('#contact-labels') })
  t.notMatch(res.body, /label-remove/)

  const page = await get(w.app, `/contacts/${id}`, c)
  for (const sentence of ['added the number +44 20 7946 0958', 'removed the number', 'added the email eva@example.com', 'added the label Wholesale', 'removed the label Wholesale', 'edited the notes', 'Olga Owner added this contact']) {
    t.match(page.body, sentence, `timeline: ${sentence}`)
  }
})

t.test('custom fields: inline edit with validation per type; values encrypted; cleared with empty', async (t) => {
  const w = await world(t)
  const id = make(w, { name: 'Fabi' })
  const mk = (label: string, type: string, options = ''): string => {
    const r = createField(w.deps.db, { userId: w.ownerId, workspaceId: w.ws }, { label, type, options }, w.clock.now())
    if (!r.ok) throw new Error(JSON.stringify(r.errors))
    return r.value.id
  }
  const cases: Array<[string, string, string, string, string, string]> = [
    // label, type, options, bad, good, shown
    ['Birthday', 'date', '', '2025-02-30', '2025-02-28', 'Feb'],
    ['Seats', 'number', '', '12abc', '1,5', '1.5'],
    ['Plan', 'select', 'Free\nPro', 'Gold', 'pro', 'Pro'],
    ['Newsletter', 'boolean', '', 'maybe', 'sim', 'Yes'],
    ['Site', 'url', '', 'javascript:alert(1)', 'https://example.com/a?b=1', 'https://example.com/a?b=1'],
    ['Nick', 'text', '', 'x'.repeat(1001), '  Fafá  ', 'Fafá']
  ]
  for (const [label, type, options, bad, good, display] of cases) {
    const fid = mk(label, type, options)
    let res = await get(w.app, `/contacts/${id}/fields/${fid}?edit=1`, w.cookies.agent, hx(`#field-${fid}`))
    t.match(res.body, new RegExp(`^<div class="cf-item is-editing" id="field-${fid}">`), `${type}: edit partial`)
    res = await post(w.app, `/contacts/${id}/fields/${fid}`, { value: bad }, w.cookies.agent, { headers: hx(`#field-${fid}`) })
    t.equal(res.statusCode, 422, `${type}: ${bad.slice(0, 20)} refused`)
    t.match(res.body, /class="field-error"/)
    if (type !== 'select' && type !== 'boolean') t.ok(res.body.includes(bad.replace(/&/g, '&amp;').slice(0, 50)), `${type}: the typed value is kept`)
    res = await post(w.app, `/contacts/${id}/fields/${fid}`, { value: good }, w.cookies.agent, { headers: hx(`#field-${fid}`) })
    t.equal(res.statusCode, 200, `${type}: ${good} saved`)
    t.ok(res.body.includes(display), `${type}: shown as ${display}`)
    t.match(res.body, /hx-swap-oob/, 'the timeline follows')
  }
  const stored = w.deps.sqlite.prepare('SELECT value FROM contact_field_values WHERE contact_id = ?').all(id) as Array<{ value: string }>
  t.equal(stored.length, 6)
  t.notOk(stored.some(s => s.value.includes('example.com') || s.value.includes('Faf')), 'encrypted at rest')
  const nick = listFields(w.deps.db, w.ws).find(f => f.key === 'nick')!
  const res = await post(w.app, `/contacts/${id}/fields/${nick.id}`, { value: '' }, w.cookies.agent, { headers: hx(`#field-${nick.id}`) })
  t.equal(res.statusCode, 200)
  t.match(res.body, /Add…/, 'cleared')
  t.equal(w.deps.db.select().from(contactFieldValues).where(and(eq(contactFieldValues.contactId, id), eq(contactFieldValues.fieldId, nick.id))).all().length, 0)
  const page = await get(w.app, `/contacts/${id}`, w.cookies.agent)
  t.match(page.body, /set Plan to “Pro”/)
  t.match(page.body, /cleared Nick/)
  t.match(page.body, /href="https:\/\/example.com\/a\?b=1" target="_blank" rel="noopener noreferrer nofollow"/)
})

t.test('validateFieldValue normalises every type', async (t) => {
  const f = (type: 'text' | 'number' | 'date' | 'select' | 'boolean' | 'url', options: string[] = []) => ({ id: '01J0000000000000000000000F', workspaceId: 'ws1', type, options })
  const ok = (r: ReturnType<typeof validateFieldValue>): string | undefined => r.ok ? r.value : undefined
  t.equal(ok(validateFieldValue(f('number'), ' -007.50 ')), '-7.5')
  t.equal(ok(validateFieldValue(f('number'), '1,25')), '1.25')
  t.equal(ok(validateFieldValue(f('number'), '1.000,5')), undefined, 'thousands separators are ambiguous: refused')
  t.equal(ok(validateFieldValue(f('number'), '-0')), '0')
  t.equal(ok(validateFieldValue(f('date'), '2024-2-29')), '2024-02-29')
  t.equal(ok(validateFieldValue(f('date'), '2023-02-29')), undefined)
  t.equal(ok(validateFieldValue(f('date'), '31/12/2024')), undefined, 'ISO only by default')
  t.equal(ok(validateFieldValue(f('date'), '31/12/2024', 'dmy')), '2024-12-31', 'day-first for imports')
  t.equal(ok(validateFieldValue(f('boolean'), 'NÃO')), 'false')
  t.equal(ok(validateFieldValue(f('boolean'), 'Yes')), 'true')
  t.equal(ok(validateFieldValue(f('url'), 'HTTPS://Example.COM')), 'https://example.com/')
  for (const bad of ['JaVaScRiPt:alert(1)', 'java\tscript:alert(1)', 'data:text/html,x', 'ftp://x.com', 'https://user:pw@x.com', '//x.com']) t.equal(ok(validateFieldValue(f('url'), bad)), undefined, bad)
  t.equal(ok(validateFieldValue(f('select', ['Ótimo', 'Bom']), 'ótimo')), 'Ótimo')
  const a = validateFieldValue(f('text'), 'Hello')
  const b = validateFieldValue(f('text'), 'HELLO')
  t.ok(a.ok && b.ok && a.index === b.index, 'text filters ignore case')
  t.same(validateFieldValue(f('text'), '   '), { ok: false, error: 'contactFields.errors.empty' })
})

t.test('bulk: add a label to the selection; delete with a confirmation step (admins only)', async (t) => {
  const w = await world(t)
  const a = make(w, { name: 'A one' })
  const b = make(w, { name: 'B two' })
  const keep = make(w, { name: 'C three' })
  const theirs = make(w, { name: 'Theirs' }, w.other)
  const vip = createLabel(w.deps, { userId: w.ownerId, workspaceId: w.ws, role: 'owner' }, 'VIP')
  const form = (fields: Array<[string, string]>): string => new URLSearchParams(fields).toString()
  const send = (url: string, fields: Array<[string, string]>, cookie: string) => w.app.inject({ method: 'POST', url, payload: form(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:8080', cookie } })

  let res = await send('/contacts/bulk', [['ids', a], ['ids', b], ['ids', theirs], ['op', `label:${vip.id}`], ['q', 'o']], w.cookies.agent)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/contacts?q=o&done=labelled&n=2', 'back to the same filter, another workspace\'s id ignored')
  t.same(shown((await get(w.app, `/contacts?label=${vip.id}`, w.cookies.agent)).body).sort(), [a, b].sort())
  t.match((await get(w.app, String(res.headers.location), w.cookies.agent)).body, /Label added to 2 contacts/)
  res = await send('/contacts/bulk', [['op', `label:${vip.id}`]], w.cookies.agent)
  t.match(String(res.headers.location), /done=nothing/, 'nothing selected says so')

  res = await send('/contacts/bulk', [['ids', a], ['op', 'delete']], w.cookies.agent)
  t.equal(res.statusCode, 403, 'agents cannot delete')
  t.equal((await send('/contacts/delete', [['ids', a], ['confirm', '1']], w.cookies.agent)).statusCode, 403)
  res = await send('/contacts/bulk', [['ids', a], ['ids', b], ['op', 'delete']], w.cookies.admin)
  t.equal(res.statusCode, 200, 'a confirmation page first')
  t.match(res.body, /Delete 2 contacts\?/)
  t.equal(shown((await get(w.app, '/contacts', w.cookies.agent)).body).length, 3, 'nothing deleted yet')
  res = await send('/contacts/delete', [['ids', a], ['ids', b], ['ids', theirs], ['confirm', '1']], w.cookies.admin)
  t.equal(res.statusCode, 303)
  t.match(String(res.headers.location), /done=deleted&n=2/)
  t.same(shown((await get(w.app, '/contacts', w.cookies.agent)).body), [keep])
  t.equal(w.deps.db.select().from(contacts).where(eq(contacts.id, theirs)).get()!.deletedAt, null, 'the other workspace\'s contact is untouched')
  t.equal((await get(w.app, `/contacts/${a}`, w.cookies.agent)).statusCode, 404, 'a deleted contact is gone')
  t.ok(w.deps.db.select().from(auditLog).where(and(eq(auditLog.workspaceId, w.ws), eq(auditLog.action, 'contacts_deleted'))).get(), 'audited')
  // One contact from its page.
  res = await get(w.app, `/contacts/${keep}/delete`, w.cookies.admin)
  t.match(res.body, /Delete C three\?/)
  t.equal((await get(w.app, `/contacts/${keep}/delete`, w.cookies.agent)).statusCode, 403)
  t.equal((await send('/contacts/delete', [['ids', theirs], ['confirm', '1'], ['single', '1']], w.cookies.admin)).statusCode, 404)
})

t.test('Settings → Contact fields: admins create, rename, reorder and delete; audited', async (t) => {
  const w = await world(t)
  t.equal((await get(w.app, '/settings/contact-fields', w.cookies.agent)).statusCode, 403)
  let res = await get(w.app, '/settings/contact-fields', w.cookies.admin)
  t.equal(res.statusCode, 200)
  t.match(res.body, /No custom fields yet/)
  res = await post(w.app, '/settings/contact-fields', { label: '', type: 'select', options: '' }, w.cookies.admin)
  t.equal(res.statusCode, 422)
  t.match(res.body, /Give the field a name/)
  t.match(res.body, /Add at least one option/)
  res = await post(w.app, '/settings/contact-fields', { label: 'Plano contratado', type: 'select', options: 'Grátis\nPro\npro\n' }, w.cookies.admin)
  t.equal(res.statusCode, 303)
  t.equal((await post(w.app, '/settings/contact-fields', { label: 'Plano contratado', type: 'text', options: '' }, w.cookies.admin)).statusCode, 303)
  t.equal((await post(w.app, '/settings/contact-fields', { label: 'City', type: 'bogus', options: '' }, w.cookies.admin)).statusCode, 422)
  let fields = listFields(w.deps.db, w.ws)
  t.same(fields.map(f => f.key), ['plano_contratado', 'plano_contratado_2'], 'keys are slugs, unique')
  t.same(fields[0]!.options, ['Grátis', 'Pro'], 'options trimmed, duplicates dropped')
  res = await post(w.app, `/settings/contact-fields/${fields[1]!.id}/move`, { dir: 'up' }, w.cookies.admin)
  t.equal(res.statusCode, 303)
  fields = listFields(w.deps.db, w.ws)
  t.same(fields.map(f => f.key), ['plano_contratado_2', 'plano_contratado'])
  t.equal((await get(w.app, `/settings/contact-fields/${fields[0]!.id}`, w.cookies.admin)).statusCode, 200)
  res = await post(w.app, `/settings/contact-fields/${fields[0]!.id}`, { label: 'Apelido', options: '' }, w.cookies.admin)
  t.equal(res.statusCode, 303)
  fields = listFields(w.deps.db, w.ws)
  t.equal(fields[0]!.label, 'Apelido')
  t.equal(fields[0]!.key, 'plano_contratado_2', 'the key stays')
  t.equal((await post(w.app, `/settings/contact-fields/${fields[0]!.id}`, { label: 'x'.repeat(61), options: '' }, w.cookies.admin)).statusCode, 422)
  t.equal((await post(w.app, `/settings/contact-fields/${fields[0]!.id}/delete`, {}, w.cookies.agent)).statusCode, 403)
  t.equal((await post(w.app, `/settings/contact-fields/${fields[0]!.id}/delete`, {}, w.cookies.admin)).statusCode, 303)
  t.equal(listFields(w.deps.db, w.ws).length, 1)
  const actions = w.deps.db.select().from(auditLog).where(eq(auditLog.workspaceId, w.ws)).all().map(r => r.action)
  for (const a of ['contact_field_created', 'contact_field_moved', 'contact_field_updated', 'contact_field_deleted']) t.ok(actions.includes(a as never), `audit: ${a}`)
  const audit = await get(w.app, '/settings/audit', w.cookies.admin)
  t.match(audit.body, /added the contact field Plano contratado/)
})

t.test('another workspace\'s ids are 404 on every contact route; the page lists conversations', async (t) => {
  const w = await world(t)
  const mine = make(w, { name: 'Mine' })
  const theirs = make(w, { name: 'THEIRS-CANARY', phones: ['+1 202 555 0199'], emails: ['canary@their.example'] }, w.other)
  const field = createField(w.deps.db, { userId: w.ownerId, workspaceId: w.other }, { label: 'Their field', type: 'text', options: '' }, w.clock.now())
  const myField = createField(w.deps.db, { userId: w.ownerId, workspaceId: w.ws }, { label: 'Mine', type: 'text', options: '' }, w.clock.now())
  if (!field.ok || !myField.ok) throw new Error('field')
  const theirLabel = createLabel(w.deps, { userId: w.ownerId, workspaceId: w.other, role: 'owner' }, 'Their label')
  const c = w.cookies.owner
  const gets = [`/contacts/${theirs}`, `/contacts/${theirs}/name`, `/contacts/${theirs}/notes?edit=1`, `/contacts/${theirs}/fields/${myField.value.id}`, `/contacts/${mine}/fields/${field.value.id}`, `/settings/contact-fields/${field.value.id}`, `/contacts/${theirs}/delete`, '/contacts/not-an-id']
  for (const url of gets) {
    const res = await get(w.app, url, c)
    t.equal(res.statusCode, 404, `GET ${url}`)
    t.notMatch(res.body, /CANARY|canary@/)
  }
  const posts: Array<[string, Record<string, string>]> = [
    [`/contacts/${theirs}/name`, { name: 'x' }], [`/contacts/${theirs}/notes`, { notes: 'x' }], [`/contacts/${theirs}/phones`, { phone: '+12025550100' }],
    [`/contacts/${theirs}/emails`, { email: 'a@b.co' }], [`/contacts/${theirs}/labels`, { label: theirLabel.id, on: '1' }], [`/contacts/${mine}/labels`, { label: theirLabel.id, on: '1' }],
    [`/contacts/${theirs}/fields/${myField.value.id}`, { value: 'x' }], [`/contacts/${mine}/fields/${field.value.id}`, { value: 'x' }],
    [`/settings/contact-fields/${field.value.id}`, { label: 'x', options: '' }], [`/settings/contact-fields/${field.value.id}/move`, { dir: 'up' }], [`/settings/contact-fields/${field.value.id}/delete`, {}]
  ]
  for (const [url, body] of posts) t.equal((await post(w.app, url, body, c)).statusCode, 404, `POST ${url}`)
  t.equal(listFields(w.deps.db, w.other).length, 1, 'their field survives')
  t.equal(shown((await get(w.app, '/contacts?q=' + encodeURIComponent('+1 202 555 0199'), c)).body).length, 0, 'their phone is not searchable here')
  t.equal(shown((await get(w.app, '/contacts?q=canary@their.example', c)).body).length, 0)

  // The page lists every conversation of the contact, linking to the inbox.
  const now = w.clock.now()
  const wa = upsertWhatsAppContact(w.deps.db, w.ws, { bsuid: 'BR.123456789', waId: '15550100111', profileName: 'Gil WhatsApp', username: 'gil' }, now)!
  const ch = createChannel(w.deps.db, w.ws, { name: 'Sales line', wabaId: '1', phoneNumberId: '2', accessToken: 'tok-00000000', appSecret: 'secret', graphApiVersion: 'v25.0' }, now)
  const conv = w.deps.db.insert(conversations).values({ workspaceId: w.ws, channelId: ch.id, contactId: wa.id, status: 'pending', lastMessageAt: now, createdAt: now, updatedAt: now }).returning().get()
  const page = await get(w.app, `/contacts/${wa.id}`, w.cookies.agent)
  t.equal(page.statusCode, 200)
  t.match(page.body, new RegExp(`href="/inbox/${conv.id}\\?status=pending"`))
  t.match(page.body, /Sales line/)
  t.match(page.body, /BR\.123456789/, 'the BSUID')
  t.match(page.body, /@gil/)
  t.match(page.body, /\+1 555-010-0111|\+1 555 010 0111/, 'the WhatsApp number, read-only')
  t.match(page.body, /id="consent-/, 'the consent panel')
  t.notMatch(page.body, /Delete this contact/, 'agents do not see delete')
  t.match((await get(w.app, `/contacts/${wa.id}`, w.cookies.admin)).body, /Delete this contact/)
  t.match((await get(w.app, `/inbox/${conv.id}`, w.cookies.agent)).body, new RegExp(`href="/contacts/${wa.id}"`), 'the inbox panel links to the contact page')
})

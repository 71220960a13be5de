// Duplicates and merge (issue 6 item 4): suggestions for each kind of match (same number, WhatsApp id
// vs dialled number, Brazil's 9th digit, email), never across workspaces; a merge moves conversations,
// messages, phones, emails, labels, field values, notes, consent and the timeline into the survivor in
// one transaction, retires the other (indexes released), records a 'merged' event and an audit entry
// with ids only, and leaves other workspaces untouched; the routes answer 404 for other workspaces' ids.
import t, { type Test } from 'tap'
import { and, eq } from 'drizzle-orm'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { auditLog, contactEmails, contactEvents, contactFields, contactFieldValues, contactLabels, contactPhones, contacts, conversations, labels, messages } from '../../db/schema.js'
import { blindIndex } from '../../platform/crypto/index.js'
import { createChannel } from '../channels/channels.service.js'
import { insertOutbound } from '../inbox/messaging.service.js'
import { recordContactEvent } from './contact-events.store.js'
import { findWhatsAppContact } from './contacts.service.js'
import { findContact, insertContact } from './contacts.store.js'
import { duplicateSuggestions, findDuplicatePairs } from './duplicates.service.js'
import { mergeContacts, mergedConsent } from './merge.service.js'
import { emailIndex, phoneIndex, waIdIndexOf } from './phone.js'

interface World extends TestApp { ws: string, wsB: string, userId: string, cookie: string, outsiderCookie: string, channelId: string }

async function world (t: Test): Promise<World> {
  const env = await buildTestApp(t)
  const owner = await createUser(env.deps, { workspace: 'Shop' })
  const agent = await createUser(env.deps, { name: 'Bruno Lima' })
  addMember(env.deps, owner.workspaceId!, agent.id, 'agent')
  const outsider = await createUser(env.deps, { workspace: 'Other shop' })
  const channel = createChannel(env.deps.db, owner.workspaceId!, { name: 'Main', wabaId: '109876543210001', phoneNumberId: '110000000000101', accessToken: 'EAAG-merge-token', appSecret: 'merge-app-secret', graphApiVersion: 'v25.0' }, env.clock.now())
  return { ...env, ws: owner.workspaceId!, wsB: outsider.workspaceId!, userId: agent.id, cookie: await signIn(env.app, agent), outsiderCookie: await signIn(env.app, outsider), channelId: channel.id }
}

let tick = 0
/** A contact with the given identities (digits without "+" for waId and phones). */
function contact (env: World, ws: string, c: { name?: string, profileName?: string, waId?: string, bsuid?: string, phones?: string[], emails?: string[], notes?: string, consent?: 'opted_in' | 'opted_out', wording?: string }): string {
  const now = env.clock.now() + tick++
  const row = insertContact(env.deps.db, {
    workspaceId: ws,
    name: c.name ?? null,
    profileName: c.profileName ?? null,
    ...(c.waId !== undefined ? { waId: c.waId, waIdIndex: waIdIndexOf(ws, c.waId) } : {}),
    ...(c.bsuid !== undefined ? { bsuid: c.bsuid, bsuidIndex: blindIndex('contact.bsuid', ws, c.bsuid) } : {}),
    notes: c.notes ?? null,
    consent: c.consent ?? 'unknown',
    consentSource: c.consent === undefined ? null : 'manual',
    consentAt: c.consent === undefined ? null : now,
    consentWording: c.wording ?? null,
    createdAt: now,
    updatedAt: now
  })
  for (const p of c.phones ?? []) env.deps.db.insert(contactPhones).values({ workspaceId: ws, contactId: row.id, phone: '+' + p, phoneIndex: phoneIndex(ws, p), createdAt: now }).run()
  for (const e of c.emails ?? []) env.deps.db.insert(contactEmails).values({ workspaceId: ws, contactId: row.id, email: e.toLowerCase(), emailIndex: emailIndex(ws, e.toLowerCase()), createdAt: now }).run()
  return row.id
}

function conversation (env: World, contactId: string, status: 'open' | 'resolved', texts: string[]): string {
  const now = env.clock.now()
  const conv = env.deps.db.insert(conversations).values({ workspaceId: env.ws, channelId: env.channelId, contactId, status, lastMessageAt: now, lastInboundAt: now, createdAt: now, updatedAt: now, unreadCount: texts.length }).returning().get()
  for (const text of texts) insertOutbound(env.deps.db, { workspaceId: env.ws, conversationId: conv.id, channelId: env.channelId, type: 'text', content: { body: { type: 'text', text } }, authorId: null }, now)
  return conv.id
}

const pairKey = (a: string, b: string): string => [a, b].sort().join('|')

t.test('suggestions for every kind of match, within the workspace only', async (t) => {
  const env = await world(t)
  const ws = env.ws
  const brWa = contact(env, ws, { profileName: 'Ana', waId: '5511987654321' })
  const brOld = contact(env, ws, { name: 'Ana Souza', phones: ['551187654321'] })
  const usWa = contact(env, ws, { profileName: 'Bob', waId: '15550100111' })
  const usDialled = contact(env, ws, { name: 'Robert', phones: ['15550100111'] })
  const ukA = contact(env, ws, { name: 'Chloe', phones: ['442079460958'] })
  const ukB = contact(env, ws, { name: 'Chloe W.', phones: ['442079460958', '447911123456'] })
  const mailA = contact(env, ws, { name: 'Dani', emails: ['dani@example.com'] })
  const mailB = contact(env, ws, { name: 'Daniela', emails: ['Dani@Example.com'] })
  contact(env, ws, { name: 'Nobody alike', phones: ['4915123456789'], emails: ['else@example.com'] })
  // Workspace B has the same numbers and email: never paired with A's contacts.
  const inB = contact(env, env.wsB, { name: 'Bob in B', waId: '15550100111', emails: ['dani@example.com'] })

  const pairs = new Map(findDuplicatePairs(env.deps.db, ws).map(p => [pairKey(p.a, p.b), p.reasons]))
  t.same(pairs.get(pairKey(brWa, brOld)), ['number_variant'], 'Brazil 9th digit: WhatsApp id vs the old dialled number')
  t.same(pairs.get(pairKey(usWa, usDialled)), ['whatsapp_number'], 'WhatsApp id vs dialled number')
  t.same(pairs.get(pairKey(ukA, ukB)), ['same_number'], 'the same extra phone')
  t.same(pairs.get(pairKey(mailA, mailB)), ['same_email'], 'the same email in another case')
  t.equal(pairs.size, 4, 'nothing else is suggested')
  t.same(findDuplicatePairs(env.deps.db, env.wsB), [], 'workspace B has one contact: no pair')
  t.notOk([...pairs.keys()].some(k => k.includes(inB)))

  // A pair that matches twice (number and email) is one suggestion with both reasons.
  const both1 = contact(env, ws, { name: 'Eva', phones: ['351912345678'], emails: ['eva@example.com'] })
  const both2 = contact(env, ws, { name: 'Eva R', phones: ['351912345678'], emails: ['EVA@example.com'] })
  t.same(new Map(findDuplicatePairs(env.deps.db, ws).map(p => [pairKey(p.a, p.b), p.reasons])).get(pairKey(both1, both2)), ['same_number', 'same_email'])

  // Merged and deleted contacts are not suggested.
  env.deps.sqlite.prepare('UPDATE contacts SET deleted_at = 1 WHERE id = ?').run(mailB)
  t.notOk(findDuplicatePairs(env.deps.db, ws).some(p => pairKey(p.a, p.b) === pairKey(mailA, mailB)))

  // The page: both contacts side by side, the WhatsApp one offered as the survivor.
  const page = await get(env.app, '/contacts/duplicates', env.cookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, /Same number, other spelling \(9th digit\)/)
  t.match(page.body, /WhatsApp number matches a phone/)
  t.match(page.body, /\+55 11 98765 4321/, 'numbers formatted for people')
  t.match(page.body, new RegExp(`name="keep" value="${usWa}" checked`), 'the contact with the WhatsApp id stays by default')
  t.notMatch(page.body, /Bob in B/)
  const suggestion = duplicateSuggestions(env.deps.db, ws).items.find(s => pairKey(s.a.id, s.b.id) === pairKey(brWa, brOld))!
  t.equal(suggestion.survivor, brWa)
})

t.test('an empty state when there is nothing to merge', async (t) => {
  const env = await world(t)
  contact(env, env.ws, { name: 'Solo', phones: ['15550100111'] })
  const page = await get(env.app, '/contacts/duplicates', env.cookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, /No duplicates found/)
  t.match(page.body, /href="\/contacts"/, 'a next step')
})

t.test('a merge moves everything into the survivor, in one transaction, and leaves workspace B alone', async (t) => {
  const env = await world(t)
  const ws = env.ws
  const keep = contact(env, ws, { profileName: 'Bob', waId: '15550100111', bsuid: 'US.1000000000000000111', phones: ['442079460958'], emails: ['bob@example.com'], notes: 'VIP customer', consent: 'opted_in', wording: 'Yes to offers' })
  const other = contact(env, ws, { name: 'Robert Smith', phones: ['15550100111', '442079460958', '447911123456'], emails: ['BOB@example.com', 'robert@work.example'], notes: 'Prefers mornings', consent: 'opted_out' })
  const now = env.clock.now()
  // Labels: one shared, one only on the other.
  const vip = env.deps.db.insert(labels).values({ workspaceId: ws, name: 'VIP', createdAt: now }).returning().get()
  const lead = env.deps.db.insert(labels).values({ workspaceId: ws, name: 'Lead', createdAt: now }).returning().get()
  for (const [c, l] of [[keep, vip.id], [other, vip.id], [other, lead.id]] as const) env.deps.db.insert(contactLabels).values({ workspaceId: ws, contactId: c, labelId: l, createdAt: now }).run()
  // Field values: the survivor's win where both have one; the other's fill the gaps.
  const city = env.deps.db.insert(contactFields).values({ workspaceId: ws, key: 'city', label: 'City', type: 'text', createdAt: now, updatedAt: now }).returning().get()
  const plan = env.deps.db.insert(contactFields).values({ workspaceId: ws, key: 'plan', label: 'Plan', type: 'text', createdAt: now, updatedAt: now }).returning().get()
  const fv = (c: string, f: string, v: string) => env.deps.db.insert(contactFieldValues).values({ workspaceId: ws, contactId: c, fieldId: f, value: v, valueIndex: blindIndex('contact.field', ws, `${f}:${v}`), updatedAt: now }).run()
  fv(keep, city.id, 'Lisbon')
  fv(other, city.id, 'Porto')
  fv(other, plan.id, 'Gold')
  // Conversations: the other's open one folds into the survivor's open one; its resolved one moves.
  const keepOpen = conversation(env, keep, 'open', ['k1'])
  const otherOpen = conversation(env, other, 'open', ['o1', 'o2'])
  const otherOld = conversation(env, other, 'resolved', ['o3'])
  recordContactEvent(env.deps.db, { workspaceId: ws, contactId: other, kind: 'created', actorId: null, at: now })
  // Workspace B, to prove it is untouched.
  const b1 = contact(env, env.wsB, { name: 'B one', phones: ['15550100111'], emails: ['bob@example.com'] })
  contact(env, env.wsB, { name: 'B two', waId: '15550100111' })
  const snapshotB = (): string => JSON.stringify(['contacts', 'contact_phones', 'contact_emails', 'contact_events', 'contact_labels', 'contact_field_values', 'conversations', 'audit_log']
    .map(table => env.deps.sqlite.prepare(`SELECT * FROM ${table} WHERE workspace_id = ? ORDER BY 1`).all(env.wsB)))
  const beforeB = snapshotB()
  const messagesBefore = env.count('messages')

  const res = await post(env.app, '/contacts/duplicates/merge', { keep, merge: other }, env.cookie)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/contacts/duplicates?done=merged')
  t.match((await get(env.app, '/contacts/duplicates?done=merged', env.cookie)).body, /Contacts merged/)

  const db = env.deps.db
  const survivor = findContact(db, ws, keep)!
  t.equal(survivor.name, 'Robert Smith', 'a name the survivor lacked is taken')
  t.equal(survivor.profileName, 'Bob')
  t.equal(survivor.notes, 'VIP customer\n\nPrefers mornings', 'notes concatenated')
  t.same([survivor.consent, survivor.consentSource], ['opted_out', 'manual'], 'an opt-out on either side wins')
  t.equal(survivor.waId, '15550100111')

  const convs = db.select().from(conversations).where(eq(conversations.workspaceId, ws)).all()
  t.same(convs.map(c => c.contactId), [keep, keep], 'every conversation is the survivor\'s')
  t.notOk(convs.some(c => c.id === otherOpen), 'the open conversation folded into the survivor\'s open one')
  t.ok(convs.some(c => c.id === otherOld), 'the resolved one moved as it is')
  t.equal(env.count('messages'), messagesBefore, 'no message lost')
  t.equal(db.select().from(messages).where(eq(messages.conversationId, keepOpen)).all().length, 3, 'its messages now in the survivor\'s open conversation')
  t.equal(convs.find(c => c.id === keepOpen)!.unreadCount, 3)

  const phones = db.select().from(contactPhones).where(eq(contactPhones.workspaceId, ws)).all()
  t.same(phones.filter(p => p.contactId === keep).map(p => p.phone).sort(), ['+15550100111', '+442079460958', '+447911123456'], 'phones moved, each once')
  t.same(db.select().from(contactEmails).where(and(eq(contactEmails.workspaceId, ws), eq(contactEmails.contactId, keep))).all().map(e => e.email).sort(), ['bob@example.com', 'robert@work.example'])
  t.same(db.select().from(contactLabels).where(eq(contactLabels.contactId, keep)).all().map(l => l.labelId).sort(), [vip.id, lead.id].sort())
  const values = new Map(db.select().from(contactFieldValues).where(eq(contactFieldValues.contactId, keep)).all().map(v => [v.fieldId, v.value]))
  t.same([values.get(city.id), values.get(plan.id)], ['Lisbon', 'Gold'], 'survivor\'s value wins; the other fills the gap')

  const retired = db.select().from(contacts).where(eq(contacts.id, other)).get()!
  t.equal(retired.mergedIntoId, keep)
  t.ok(retired.deletedAt !== null)
  t.same([retired.waIdIndex, retired.bsuidIndex], [null, null])
  for (const table of ['contact_phones', 'contact_emails', 'contact_labels', 'contact_field_values', 'contact_events', 'conversations']) {
    t.equal((env.deps.sqlite.prepare(`SELECT count(*) AS n FROM ${table} WHERE contact_id = ?`).get(other) as { n: number }).n, 0, `nothing of the merged contact left in ${table}`)
  }
  t.equal(findContact(db, ws, other), undefined, 'the merged contact is gone from lookups')

  const events = db.select().from(contactEvents).where(eq(contactEvents.contactId, keep)).all()
  t.ok(events.some(e => e.kind === 'created'), 'the other\'s timeline moved')
  const merged = events.find(e => e.kind === 'merged')!
  t.same(JSON.parse(merged.data!), { mergedId: other, mergedName: 'Robert Smith' })
  t.equal(merged.actorId, env.userId)
  const audit = db.select().from(auditLog).where(eq(auditLog.action, 'contacts_merged')).all()
  t.equal(audit.length, 1)
  t.same(audit[0]!.details, { survivorId: keep, mergedId: other }, 'ids only')
  t.notMatch(JSON.stringify(audit), /Robert|Bob|15550100111|example/, 'no personal data in the audit log')
  t.equal(snapshotB(), beforeB, 'workspace B is untouched')
  t.ok(findContact(db, env.wsB, b1))

  t.same(findDuplicatePairs(db, ws), [], 'no suggestion left')
  t.equal((await post(env.app, '/contacts/duplicates/merge', { keep, merge: other }, env.cookie)).statusCode, 404, 'merging again: the other is gone')
})

t.test('the other\'s WhatsApp identity moves when the survivor has none, and becomes a phone when it has one', async (t) => {
  const env = await world(t)
  const ws = env.ws
  const dialled = contact(env, ws, { name: 'Ana', phones: ['5511987654321'] })
  const whatsApp = contact(env, ws, { profileName: 'Ana S', waId: '5511987654321', bsuid: 'BR.1' })
  mergeContacts(env.deps, { userId: env.userId, workspaceId: ws }, dialled, whatsApp)
  const ana = findContact(env.deps.db, ws, dialled)!
  t.equal(ana.waId, '5511987654321')
  t.equal(ana.bsuid, 'BR.1')
  t.equal(findWhatsAppContact(env.deps.db, ws, { bsuid: null, waId: '5511987654321' })?.id, dialled, 'the next inbound message finds the survivor')
  t.equal(findWhatsAppContact(env.deps.db, ws, { bsuid: 'BR.1', waId: null })?.id, dialled)

  // Both on WhatsApp (the 9th-digit pair): the survivor keeps its id, the other's number is kept as a phone.
  const newer = contact(env, ws, { profileName: 'Caio', waId: '5521987654321' })
  const older = contact(env, ws, { profileName: 'Caio', waId: '552187654321' })
  t.same(findDuplicatePairs(env.deps.db, ws).map(p => p.reasons), [['number_variant']])
  mergeContacts(env.deps, { userId: env.userId, workspaceId: ws }, newer, older)
  t.equal(findContact(env.deps.db, ws, newer)!.waId, '5521987654321')
  t.same(env.deps.db.select().from(contactPhones).where(eq(contactPhones.contactId, newer)).all().map(p => [p.phone, p.label]), [['+552187654321', 'WhatsApp']])
})

t.test('consent of a merge: opted out wins, then opted in', async (t) => {
  const c = (consent: 'unknown' | 'opted_in' | 'opted_out', w: string) => ({ consent, consentSource: 'manual', consentAt: 1, consentWording: w })
  t.equal(mergedConsent(c('opted_in', 'a'), c('opted_out', 'b')).consentWording, 'b')
  t.equal(mergedConsent(c('opted_out', 'a'), c('opted_in', 'b')).consentWording, 'a')
  t.equal(mergedConsent(c('unknown', 'a'), c('opted_in', 'b')).consentWording, 'b')
  t.equal(mergedConsent(c('opted_in', 'a'), c('unknown', 'b')).consentWording, 'a')
  t.equal(mergedConsent(c('unknown', 'a'), c('unknown', 'b')).consent, 'unknown')
})

t.test('the confirmation page, the swap link and refusals', async (t) => {
  const env = await world(t)
  const a = contact(env, env.ws, { name: 'Keep Me', waId: '15550100111' })
  const b = contact(env, env.ws, { name: 'Merge Me', phones: ['15550100111'] })
  const page = await get(env.app, `/contacts/duplicates/merge?keep=${b}&a=${a}&b=${b}`, env.cookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, /Merge Keep Me into Merge Me\?/, 'the pair and the chosen survivor from the suggestions form')
  t.match(page.body, new RegExp(`href="/contacts/duplicates/merge\\?keep=${a}&amp;merge=${b}"`), 'a link to keep the other one instead')
  t.match(page.body, new RegExp(`name="keep" value="${b}"`))
  t.match(page.body, /can&#39;t be undone|can't be undone/)
  t.equal((await get(env.app, '/contacts/duplicates/merge', env.cookie)).statusCode, 303, 'no pair: back to the list')
  t.equal((await get(env.app, `/contacts/duplicates/merge?keep=${a}&merge=${a}`, env.cookie)).statusCode, 404, 'a contact with itself')
  t.equal((await post(env.app, '/contacts/duplicates/merge', { keep: a, merge: a }, env.cookie)).statusCode, 404)
  t.equal((await post(env.app, '/contacts/duplicates/merge', {}, env.cookie)).statusCode, 404)
  t.equal((await post(env.app, '/contacts/duplicates/merge', { keep: a, merge: '../../x' }, env.cookie)).statusCode, 404)
  t.equal(findContact(env.deps.db, env.ws, b)?.id, b, 'nothing merged')
})

t.test('tenant isolation: other workspaces\' ids are a 404 on every route, and nothing changes', async (t) => {
  const env = await world(t)
  const a1 = contact(env, env.ws, { name: 'CANARY one', waId: '15550100111' })
  const a2 = contact(env, env.ws, { name: 'CANARY two', phones: ['15550100111'] })
  const mine = contact(env, env.wsB, { name: 'Outsider own', phones: ['15550100111'] })
  const c = env.outsiderCookie
  const before = JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM contacts ORDER BY id').all())
  const list = await get(env.app, '/contacts/duplicates', c)
  t.equal(list.statusCode, 200)
  t.notMatch(list.body, /CANARY/, 'A\'s suggestions are not listed')
  for (const [keep, merge] of [[a1, a2], [mine, a1], [a1, mine]] as Array<[string, string]>) {
    t.equal((await get(env.app, `/contacts/duplicates/merge?keep=${keep}&merge=${merge}`, c)).statusCode, 404, `confirm ${keep === mine ? 'own+A' : 'A'}`)
    t.equal((await post(env.app, '/contacts/duplicates/merge', { keep, merge }, c)).statusCode, 404)
  }
  t.equal((await get(env.app, `/contacts/${a1}/consent`, c)).statusCode, 404)
  t.equal((await post(env.app, `/contacts/${a1}/consent`, { state: 'opted_out' }, c)).statusCode, 404)
  t.equal(JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM contacts ORDER BY id').all()), before, 'no contact changed')
  t.equal(env.deps.db.select().from(auditLog).where(eq(auditLog.action, 'contacts_merged')).all().length, 0)
  // Anonymous visitors are sent to sign in; POSTs are refused.
  t.equal((await get(env.app, '/contacts/duplicates')).statusCode, 303)
  t.equal((await post(env.app, '/contacts/duplicates/merge', { keep: a1, merge: a2 })).statusCode, 401)
})

// Consent (issue 6 item 3): members record opt-ins with their wording and opt-outs (timeline event,
// audit entry); an inbound text that is exactly an opt-out keyword opts the contact out through a real
// signed webhook; opted-out contacts are marked in the inbox and get no template; Settings → Contacts
// validates and audits the default country and the keywords; other workspaces' contacts are a 404.
import t, { type Test } from 'tap'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { deliver, envelope, fixtureWaba, message, messagesValue, withChannel, type ChannelApp } from '../../../test/helpers/whatsapp.js'
import { auditLog, contactEvents, contacts, templates } from '../../db/schema.js'
import { startFakeGraph } from '../../platform/whatsapp/fake-graph.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { keywordKey, matchOptOutKeyword, parseKeywords, setConsent } from './consent.service.js'
import { findContact } from './contacts.store.js'
import { upsertWhatsAppContact } from './contacts.service.js'
import { eq } from 'drizzle-orm'

const hx = { 'hx-request': 'true' }
const plain = (body: string): string => body.replaceAll('&#39;', "'").replaceAll('&quot;', '"')

interface World extends ChannelApp { ws: string, agentCookie: string, ownerCookie: string, agentId: string }

async function world (t: Test): Promise<World> {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const env = await withChannel(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  const ws = env.channel.workspaceId
  const agent = await createUser(env.deps, { name: 'Bruno Lima' })
  addMember(env.deps, ws, agent.id, 'agent')
  const admin = await createUser(env.deps, { name: 'Carla Admin' })
  addMember(env.deps, ws, admin.id, 'admin')
  return { ...env, ws, agentId: agent.id, agentCookie: await signIn(env.app, agent), ownerCookie: await signIn(env.app, admin) }
}

/** Delivers one signed inbound text from `waId` and processes it. */
async function inbound (env: World, waId: string, wamid: string, text: string, atSec = Math.floor(env.clock.now() / 1000) - 60): Promise<void> {
  const res = await deliver(env, env.url, envelope(messagesValue([{ waId, name: 'Ana Souza' }], { messages: [message(wamid, { waId }, 'text', { body: text }, {}, atSec)] })))
  if (res.statusCode !== 200) throw new Error(`delivery ${res.statusCode}`)
  processAllPending(env.deps)
}

function contactByWaId (env: World, waId: string) {
  const id = (env.deps.db.select({ id: contacts.id, waId: contacts.waId }).from(contacts).all().find(c => c.waId === waId))?.id
  return id === undefined ? undefined : findContact(env.deps.db, env.ws, id)
}

const eventsOf = (env: World, contactId: string) => env.deps.db.select().from(contactEvents).where(eq(contactEvents.contactId, contactId)).all()
const auditOf = (env: World, action: string) => env.deps.db.select().from(auditLog).where(eq(auditLog.action, action)).all()

t.test('keywords: whole message, any case, accents and width ignored', async (t) => {
  const keywords = parseKeywords('STOP, unsubscribe ,, Não quero,stop,  SAIR ')
  t.same(keywords, ['STOP', 'unsubscribe', 'Não quero', 'SAIR'], 'trimmed, empty and repeated ones dropped')
  for (const text of ['STOP', 'stop', '  Stop\n', 'ＳＴＯＰ', 'nao quero', 'NÃO  QUERO', 'sáir', 'UNSUBSCRIBE']) t.ok(matchOptOutKeyword(text, keywords), `${JSON.stringify(text)} opts out`)
  for (const text of ['stop it', 'STOP!', 'please stop', 'sto p', '', '   ', 'quero', 'não']) t.notOk(matchOptOutKeyword(text, keywords), `${JSON.stringify(text)} does not`)
  t.equal(matchOptOutKeyword('stop', []), undefined, 'no keywords, no opt-out')
  t.equal(keywordKey(' Ação  Já '), 'acao ja')
})

t.test('an inbound "stop" through a real signed webhook opts the contact out, once', async (t) => {
  const env = await world(t)
  await inbound(env, '15550100111', 'wamid.HI1', 'Hi, where is my order?')
  const ana = contactByWaId(env, '15550100111')!
  t.equal(ana.consent, 'unknown', 'an ordinary message changes nothing')

  await inbound(env, '15550100111', 'wamid.STOP1', '  stop ')
  const after = findContact(env.deps.db, env.ws, ana.id)!
  t.equal(after.consent, 'opted_out')
  t.equal(after.consentSource, 'keyword')
  t.equal(after.consentWording, 'STOP', 'the keyword as configured')
  t.equal(after.consentAt, (Math.floor(env.clock.now() / 1000) - 60) * 1000, 'at the time the contact sent it')
  const events = eventsOf(env, ana.id).filter(e => e.kind === 'consent_changed')
  t.equal(events.length, 1)
  t.equal(events[0]!.actorId, null, 'the contact did it, not a member')
  t.same(JSON.parse(events[0]!.data!), { from: 'unknown', to: 'opted_out', source: 'keyword', wording: 'STOP' })
  t.equal(auditOf(env, 'contact_consent_changed').length, 0, 'no member, no audit entry')

  // Again, and the same delivery replayed: nothing new.
  await inbound(env, '15550100111', 'wamid.STOP2', 'STOP')
  await inbound(env, '15550100111', 'wamid.STOP1', '  stop ')
  t.equal(eventsOf(env, ana.id).filter(e => e.kind === 'consent_changed').length, 1)
  const raw = JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM contact_events').all())
  t.notMatch(raw, /STOP/, 'event details are sealed at rest')
})

t.test('the workspace\'s own keywords, accent-insensitive; other words and other workspaces are unaffected', async (t) => {
  const env = await world(t)
  env.deps.sqlite.prepare("UPDATE workspaces SET opt_out_keywords = 'SAIR, NÃO QUERO' WHERE id = ?").run(env.ws)
  await inbound(env, '5511987654321', 'wamid.BR1', 'stop')
  t.equal(contactByWaId(env, '5511987654321')!.consent, 'unknown', 'STOP is not a keyword of this workspace')
  await inbound(env, '5511987654321', 'wamid.BR2', 'Não quero mais receber, obrigado')
  t.equal(contactByWaId(env, '5511987654321')!.consent, 'unknown', 'a sentence containing the words is not the keyword')
  await inbound(env, '5511987654321', 'wamid.BR3', 'nao quero')
  const c = contactByWaId(env, '5511987654321')!
  t.equal(c.consent, 'opted_out')
  t.equal(c.consentWording, 'NÃO QUERO')
  // Another workspace with a STOP from the same number: its own contact, its own state.
  const other = await createUser(env.deps, { workspace: 'Other' })
  const theirs = upsertWhatsAppContact(env.deps.db, other.workspaceId!, { bsuid: null, waId: '5511987654321' }, env.clock.now())!
  t.equal(findContact(env.deps.db, other.workspaceId!, theirs.id)!.consent, 'unknown', 'consent is per workspace')
})

t.test('members record an opt-in with its wording and an opt-out; the panel is its own htmx target', async (t) => {
  const env = await world(t)
  await inbound(env, '15550100111', 'wamid.HI1', 'Hello')
  const ana = contactByWaId(env, '15550100111')!
  const url = `/contacts/${ana.id}/consent`

  const panel = await get(env.app, url, env.agentCookie, hx)
  t.equal(panel.statusCode, 200)
  t.match(panel.body, new RegExp(`<section class="card consent" id="consent-${ana.id}"`), 'one root with a stable id')
  t.match(panel.body, /Not recorded/)
  t.notMatch(panel.body, /<html/i, 'a fragment, not a page')

  const missing = await post(env.app, url, { state: 'opted_in', wording: '   ' }, env.agentCookie, { headers: hx })
  t.equal(missing.statusCode, 422)
  t.match(plain(missing.body), /Enter the wording the contact agreed to/)
  t.match(missing.body, /<details class="consent-action" open>/, 'the form stays open')
  const bogus = await post(env.app, url, { state: 'unknown', wording: 'x' }, env.agentCookie, { headers: hx })
  t.equal(bogus.statusCode, 422, 'members record opt-ins and opt-outs only')
  t.equal(findContact(env.deps.db, env.ws, ana.id)!.consent, 'unknown', 'nothing saved')

  const wording = 'Yes, send me offers on WhatsApp <b>weekly</b>'
  const saved = await post(env.app, url, { state: 'opted_in', wording }, env.agentCookie, { headers: hx })
  t.equal(saved.statusCode, 200)
  t.match(saved.body, /Opted in/)
  t.match(saved.body, /By Bruno Lima/, 'who recorded it')
  t.match(saved.body, /Yes, send me offers on WhatsApp &lt;b&gt;weekly&lt;\/b&gt;/, 'the wording, escaped')
  const c = findContact(env.deps.db, env.ws, ana.id)!
  t.same([c.consent, c.consentSource, c.consentWording, c.consentAt], ['opted_in', 'manual', wording, env.clock.now()])
  const audit = auditOf(env, 'contact_consent_changed')
  t.equal(audit.length, 1)
  t.same(audit[0]!.details, { contactId: ana.id, from: 'unknown', to: 'opted_in', source: 'manual' }, 'ids and states only')
  t.equal(audit[0]!.actorUserId, env.agentId)

  const out = await post(env.app, url, { state: 'opted_out', wording: 'Asked by phone' }, env.agentCookie)
  t.equal(out.statusCode, 303, 'without JavaScript: back to the contact page')
  t.equal(out.headers.location, `/contacts/${ana.id}`)
  t.equal(findContact(env.deps.db, env.ws, ana.id)!.consent, 'opted_out')
  const page = await get(env.app, url, env.agentCookie)
  t.match(page.body, /<html/i, 'a page of its own without htmx')
  t.match(plain(page.body), /can't be sent to this contact/)
  t.equal(eventsOf(env, ana.id).filter(e => e.kind === 'consent_changed').length, 2)
})

t.test('another workspace\'s contact is a 404 and stays untouched', async (t) => {
  const env = await world(t)
  await inbound(env, '15550100111', 'wamid.HI1', 'Hello')
  const ana = contactByWaId(env, '15550100111')!
  const outsider = await createUser(env.deps, { workspace: 'Elsewhere' })
  const cookie = await signIn(env.app, outsider)
  t.equal((await get(env.app, `/contacts/${ana.id}/consent`, cookie, hx)).statusCode, 404)
  t.equal((await post(env.app, `/contacts/${ana.id}/consent`, { state: 'opted_out' }, cookie, { headers: hx })).statusCode, 404)
  t.equal((await post(env.app, '/contacts/../consent', { state: 'opted_out' }, cookie)).statusCode, 404)
  t.equal(findContact(env.deps.db, env.ws, ana.id)!.consent, 'unknown')
  t.throws(() => setConsent(env.deps.db, outsider.workspaceId!, ana.id, { state: 'opted_out', source: 'manual', wording: null }, outsider.id, env.clock.now()), { name: 'NotFoundError' })
})

function addTemplate (env: World): string {
  const now = env.clock.now()
  return env.deps.db.insert(templates).values({
    workspaceId: env.ws,
    wabaId: fixtureWaba,
    name: 'order_update',
    language: 'en_US',
    status: 'APPROVED',
    category: 'MARKETING',
    parameterFormat: 'POSITIONAL',
    components: [{ type: 'BODY', text: 'Hi {{1}}, your order shipped.', example: { body_text: [['Ana']] } }],
    syncedAt: now,
    updatedAt: now
  }).returning({ id: templates.id }).get().id
}

t.test('an opted-out contact is marked in the inbox and gets no template; replies in the window stay allowed', async (t) => {
  const env = await world(t)
  const templateId = addTemplate(env)
  // The customer wrote 25 hours ago: the window is closed, the composer offers templates.
  await inbound(env, '15550100111', 'wamid.OLD', 'Thanks!', Math.floor(env.clock.now() / 1000) - 25 * 3600)
  const ana = contactByWaId(env, '15550100111')!
  const conversation = (env.deps.sqlite.prepare('SELECT id FROM conversations WHERE contact_id = ?').get(ana.id) as { id: string }).id
  const before = await get(env.app, `/inbox/${conversation}/composer`, env.agentCookie, hx)
  t.match(before.body, /order_update/, 'control: the template is offered while consent is unknown')
  t.notMatch(before.body, /data-opted-out/)

  setConsent(env.deps.db, env.ws, ana.id, { state: 'opted_out', source: 'manual', wording: null }, env.agentId, env.clock.now())
  const composer = await get(env.app, `/inbox/${conversation}/composer`, env.agentCookie, hx)
  t.match(composer.body, /data-opted-out/)
  t.match(plain(composer.body), /This contact opted out/)
  t.notMatch(composer.body, /order_update/, 'no template to pick')
  const thread = await get(env.app, `/inbox/${conversation}`, env.agentCookie)
  t.match(thread.body, /data-consent="opted_out"/, 'the contact panel shows the badge')

  const sent = await post(env.app, `/inbox/${conversation}/templates`, { template: templateId, clientId: 'client-optout-0001', 'p.body.1': 'Ana' }, env.agentCookie, { headers: hx })
  t.equal(sent.statusCode, 422, 'the send is refused')
  t.match(plain(sent.body), /opted out of messages from your business, so no template was sent/)
  t.equal(env.count('message_outbox'), 0, 'nothing queued')

  // The contact writes again: a reply inside the window is customer-initiated and allowed.
  await inbound(env, '15550100111', 'wamid.NEW', 'Actually, one question')
  const reply = await post(env.app, `/inbox/${conversation}/messages`, { mode: 'reply', text: 'Sure, go ahead', clientId: 'client-optout-0002' }, env.agentCookie, { headers: hx })
  t.ok(reply.statusCode < 300, `reply accepted (${reply.statusCode})`)
  t.equal(env.count('message_outbox'), 1)
})

t.test('Settings → Contacts: default country and keywords, validated, audited, admins only', async (t) => {
  const env = await world(t)
  const page = await get(env.app, '/settings/contacts', env.ownerCookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, /<option value="US" selected>/)
  t.match(page.body, /value="STOP, UNSUBSCRIBE"/)
  t.match(page.body, /<option value="BR"[^>]*>Brazil \(BR\)<\/option>/)
  t.equal((await get(env.app, '/settings/contacts', env.agentCookie)).statusCode, 403, 'agents cannot open it')
  t.equal((await post(env.app, '/settings/contacts', { defaultCountry: 'BR', optOutKeywords: 'STOP' }, env.agentCookie)).statusCode, 403)

  const bad = await post(env.app, '/settings/contacts', { defaultCountry: 'XX', optOutKeywords: 'SAIR, ' + 'x'.repeat(41) }, env.ownerCookie)
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /Choose a country from the list/)
  t.match(bad.body, /at most 40 characters/)
  t.match(bad.body, /value="SAIR, x{41}"/, 'what was typed is kept')
  t.equal((env.deps.sqlite.prepare('SELECT default_country AS c FROM workspaces WHERE id = ?').get(env.ws) as { c: string }).c, 'US', 'nothing saved')

  const ok = await post(env.app, '/settings/contacts', { defaultCountry: 'br', optOutKeywords: ' SAIR ,parar,, SAIR, Não quero ' }, env.ownerCookie)
  t.equal(ok.statusCode, 303)
  const row = env.deps.sqlite.prepare('SELECT default_country AS c, opt_out_keywords AS k FROM workspaces WHERE id = ?').get(env.ws) as { c: string, k: string }
  t.same(row, { c: 'BR', k: 'SAIR, parar, Não quero' })
  const audit = auditOf(env, 'contact_settings_changed')
  t.equal(audit.length, 1)
  t.match(String((audit[0]!.details as { changes: string }).changes), /defaultCountry: US → BR; optOutKeywords: STOP, UNSUBSCRIBE → SAIR, parar, Não quero/)
  t.match(plain((await get(env.app, '/settings/audit', env.ownerCookie)).body), /changed the contact settings/)
  await post(env.app, '/settings/contacts', { defaultCountry: 'BR', optOutKeywords: 'SAIR, parar, Não quero' }, env.ownerCookie)
  t.equal(auditOf(env, 'contact_settings_changed').length, 1, 'saving without a change is not a change')

  await inbound(env, '5511912345678', 'wamid.PARAR', 'PARAR')
  t.equal(contactByWaId(env, '5511912345678')!.consent, 'opted_out', 'the new keyword works at once')
})

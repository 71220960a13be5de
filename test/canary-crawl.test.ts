// IDOR proof (SECURITY.md C18): workspace A is seeded with canary strings in every field its members
// can write (workspace name, people's names and emails, invitations, audit entries). Then, as every
// role of workspace B, every GET page in the route table is fetched — with B's own ids and with A's ids
// substituted — and no response may contain a single canary byte.
import t from 'tap'
import { buildTestApp } from './helpers/build-test-app.js'
import { addMember, createUser, get, post, signIn } from './helpers/accounts.js'
import { sessionHandle } from '../src/features/account/account.service.js'
import { createChannel } from '../src/features/channels/channels.service.js'
import { createCannedResponse } from '../src/features/canned/canned.service.js'
import { upsertWhatsAppContact } from '../src/features/contacts/contacts.service.js'
import { insertOutbound } from '../src/features/inbox/messaging.service.js'
import { createLabel } from '../src/features/inbox/conversations.service.js'
import { createField, setFieldValue } from '../src/features/contacts/contact-fields.service.js'
import { setNotes } from '../src/features/contacts/contact-edit.service.js'
import { setConsent } from '../src/features/contacts/consent.service.js'
import { uploadImport } from '../src/features/contacts/import.service.js'
import { createApiKey } from '../src/features/apikeys/apikeys.service.js'
import { conversations } from '../src/db/schema.js'

t.test('nothing of workspace A reaches any role of workspace B, whatever ids are tried', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const canary = 'CANARYa7f3'
  const ownerA = await createUser(deps, { name: `${canary} Owner`, email: `${canary.toLowerCase()}-owner@example.com`, workspace: `${canary} Workspace` })
  const agentA = await createUser(deps, { name: `${canary} Agent`, email: `${canary.toLowerCase()}-agent@example.com` })
  addMember(deps, ownerA.workspaceId!, agentA.id, 'agent')
  const ownerACookie = await signIn(app, ownerA)
  t.equal((await post(app, '/settings/members/invite', { email: `${canary.toLowerCase()}-invitee@example.com`, role: 'agent' }, ownerACookie)).statusCode, 303)
  const inviteA = deps.sqlite.prepare('SELECT id FROM invites').get() as { id: string }
  const sessionA = deps.sqlite.prepare('SELECT id FROM sessions WHERE user_id = ?').get(ownerA.id) as { id: string }
  const channelA = createChannel(deps.db, ownerA.workspaceId!, { name: `${canary} number`, wabaId: '109876543210001', phoneNumberId: '110000000000101', accessToken: `EAAG-${canary}-token`, appSecret: `${canary}-app-secret`, graphApiVersion: 'v25.0', verifiedName: `${canary} Verified` }, deps.clock.now())

  const ownerB = await createUser(deps, { name: 'Bea Owner', workspace: 'Workspace B' })
  const adminB = await createUser(deps, { name: 'Bia Admin' })
  const agentB = await createUser(deps, { name: 'Beto Agent' })
  addMember(deps, ownerB.workspaceId!, adminB.id, 'admin')
  addMember(deps, ownerB.workspaceId!, agentB.id, 'agent')
  const cannedA = createCannedResponse(deps, { userId: ownerA.id, workspaceId: ownerA.workspaceId! }, { shortcut: 'canary', body: `${canary} canned response` })
  if (!cannedA.ok) throw new Error('canned response')
  // A conversation of A: the contact's name, a message, a note and a label all carry the canary.
  const now = deps.clock.now()
  const contactA = upsertWhatsAppContact(deps.db, ownerA.workspaceId!, { bsuid: null, waId: '15550100999', profileName: `${canary} Customer` }, now)!
  const conversationA = deps.db.insert(conversations).values({ workspaceId: ownerA.workspaceId!, channelId: channelA.id, contactId: contactA.id, lastMessageAt: now, lastInboundAt: now, createdAt: now, updatedAt: now }).returning().get()
  insertOutbound(deps.db, { workspaceId: ownerA.workspaceId!, conversationId: conversationA.id, channelId: channelA.id, type: 'text', content: { body: { type: 'text', text: `${canary} message` } }, authorId: ownerA.id }, now)
  insertOutbound(deps.db, { workspaceId: ownerA.workspaceId!, conversationId: conversationA.id, channelId: channelA.id, type: 'text', content: { body: { type: 'text', text: `${canary} note` } }, authorId: ownerA.id, direction: 'note' }, now)
  createLabel(deps, { userId: ownerA.id, workspaceId: ownerA.workspaceId!, role: 'owner' }, `${canary} label`, conversationA.id)
  // Contact details and a custom field of A carry the canary too.
  const fieldA = createField(deps.db, { userId: ownerA.id, workspaceId: ownerA.workspaceId! }, { label: `${canary} field`, type: 'text', options: '' }, now)
  if (!fieldA.ok) throw new Error('contact field')
  setFieldValue(deps.db, ownerA.workspaceId!, contactA.id, fieldA.value, `${canary} value`, ownerA.id, now)
  setNotes(deps.db, ownerA.workspaceId!, contactA.id, `${canary} notes`, ownerA.id, now)
  setConsent(deps.db, ownerA.workspaceId!, contactA.id, { state: 'opted_in', source: 'manual', wording: `${canary} consent wording` }, ownerA.id, now)
  const idsOfA: Record<string, string> = { userId: agentA.id, inviteId: inviteA.id, id: sessionHandle(sessionA.id), channelId: channelA.id, cannedId: cannedA.value.id, conversationId: conversationA.id, contactId: contactA.id, fieldId: fieldA.value.id }
  // An uploaded contact import of A (its file name and rows carry the canary).
  const importA = uploadImport(deps, { userId: ownerA.id, workspaceId: ownerA.workspaceId! }, { filename: `${canary}.csv`, bytes: Buffer.from(`name,phone\n${canary} Imported,+15550100333\n`), truncated: false })
  if (!importA.ok) throw new Error('contact import')
  idsOfA.importId = importA.value.id
  // An API key of A (its name carries the canary).
  const keyA = createApiKey(deps, { userId: ownerA.id, workspaceId: ownerA.workspaceId! }, { name: `${canary} key`, role: 'admin' })
  if (!keyA.ok) throw new Error('api key')
  idsOfA.keyId = keyA.key.id

  // Control: the canaries are visible to A's own members, so their absence below means something.
  t.match((await get(app, '/settings/members', ownerACookie)).body, canary)
  t.match((await get(app, `/settings/channels/${channelA.id}`, ownerACookie)).body, canary)
  t.match((await get(app, '/settings/canned', ownerACookie)).body, canary)
  t.match((await get(app, `/inbox/${conversationA.id}`, ownerACookie)).body, canary)
  t.match((await get(app, `/contacts/${contactA.id}`, ownerACookie)).body, `${canary} notes`)
  t.match((await get(app, `/contacts/${contactA.id}/consent`, ownerACookie)).body, `${canary} consent wording`)
  t.match((await get(app, `/contacts?q=${canary}`, ownerACookie)).body, canary)
  t.match((await get(app, `/contacts/import/${importA.value.id}`, ownerACookie)).body, `${canary} Imported`)
  t.match((await get(app, '/settings/api-keys', ownerACookie)).body, `${canary} key`)
  t.match((await get(app, `/settings/api-keys/${keyA.key.id}/revoke`, ownerACookie)).body, `${canary} key`)

  const routes = app.routeTable.filter(r => r.method === 'GET' && !r.url.startsWith('/static/'))
  let fetched = 0
  for (const user of [ownerB, adminB, agentB]) {
    const cookie = await signIn(app, user)
    for (const route of routes) {
      const url = route.url.replace(/:(\w+)/g, (_m, name: string) => idsOfA[name] ?? 'x')
      for (const target of [url, `${url}${url.includes('?') ? '&' : '?'}workspaceId=${ownerA.workspaceId!}&before=x`]) {
        const res = await get(app, target, cookie)
        fetched++
        t.notOk(res.body.includes(canary) || res.body.toLowerCase().includes(canary.toLowerCase()), `${user.name}: GET ${target} → ${res.statusCode} shows nothing of A`)
        if (route.url.includes(':')) t.ok(res.statusCode === 404 || res.statusCode >= 300, `${user.name}: GET ${target} does not serve A's object`)
      }
    }
  }
  t.ok(fetched > 20, `${fetched} pages fetched`)
})

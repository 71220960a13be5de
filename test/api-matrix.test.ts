// The public API's authorization matrix, generated from the route table: every /api/v1 route × no key,
// a malformed key, a revoked key, another workspace's admin key, an agent key and an admin key of
// workspace A. Path parameters are ids of A's objects, so the other workspace's key must get 404 (no
// existence leak) where A's keys get through; agent keys get 403 on admin routes. A route added without
// a sample here (a body, a parameter) fails the test.
import t from 'tap'
import type { Test } from 'tap'
import { buildTestApp } from './helpers/build-test-app.js'
import { createUser } from './helpers/accounts.js'
import { conversations, labels, media } from '../src/db/schema.js'
import { createApiKey, revokeApiKey } from '../src/features/apikeys/apikeys.service.js'
import { createChannel } from '../src/features/channels/channels.service.js'
import { upsertWhatsAppContact } from '../src/features/contacts/contacts.service.js'
import { roleRank } from '../src/platform/http/policy.js'
import { startFakeGraph } from '../src/platform/whatsapp/fake-graph.js'
import { insertOutbound } from '../src/features/inbox/messaging.service.js'
import { createSubscription, queueTestDelivery } from '../src/features/hooks/hooks.service.js'

type Caller = 'none' | 'malformed' | 'revoked' | 'outsider' | 'agent' | 'admin'
const callers: Caller[] = ['none', 'malformed', 'revoked', 'outsider', 'agent', 'admin']

/** A valid body for each route that takes one (so the outsider's request reaches the lookup). */
const bodies: Record<string, unknown> = {
  'POST /api/v1/contacts': { name: 'Matrix Contact' },
  'PATCH /api/v1/contacts/:contactId': { name: 'Matrix Renamed' },
  'PATCH /api/v1/conversations/:conversationId': { status: 'pending' },
  'POST /api/v1/conversations/:conversationId/messages': { type: 'note', text: 'Matrix note' },
  // A public address literal: allowed by the default URL policy without a DNS lookup (nothing is sent).
  'POST /api/v1/webhooks': { url: 'https://93.184.216.34/matrix', events: ['contact.created'] },
  'PATCH /api/v1/webhooks/:webhookId': { description: 'Matrix renamed' },
  'POST /api/v1/channels': { name: 'Matrix two', waba_id: '109876543210001', phone_number_id: '110000000000202', access_token: 'EAAG-matrix-token-00000000000', app_secret: 'matrix-app-secret-0000' }
}

async function world (t: Test, graphUrl: string) {
  // Routes that call Meta talk to a local fake Graph API, never to the internet.
  const env = await buildTestApp(t, { set: { 'whatsapp.graph_base_url': graphUrl } })
  const { deps } = env
  const owner = await createUser(deps, { workspace: 'Workspace A' })
  const outsider = await createUser(deps, { workspace: 'Workspace B' })
  const wsA = owner.workspaceId!
  const now = deps.clock.now()
  const key = (ws: string, role: 'agent' | 'admin', name: string): { token: string, id: string } => {
    const made = createApiKey(deps, { userId: null, workspaceId: ws }, { name, role })
    if (!made.ok) throw new Error('key')
    return { token: made.token, id: made.key.id }
  }
  const revoked = key(wsA, 'admin', 'Revoked')
  revokeApiKey(deps, { userId: owner.id, workspaceId: wsA }, revoked.id)
  const tokens: Record<Caller, string | undefined> = {
    none: undefined,
    malformed: 'not-a-key',
    revoked: revoked.token,
    outsider: key(outsider.workspaceId!, 'admin', 'Outsider').token,
    agent: key(wsA, 'agent', 'Agent').token,
    admin: key(wsA, 'admin', 'Admin').token
  }
  const channel = createChannel(deps.db, wsA, { name: 'Matrix number', wabaId: '109876543210001', phoneNumberId: '110000000000101', accessToken: 'EAAG-matrix-token-0000', appSecret: 'matrix-app-secret-0000', graphApiVersion: 'v25.0' }, now)
  const contact = upsertWhatsAppContact(deps.db, wsA, { bsuid: null, waId: '15550100111', profileName: 'Matrix Customer' }, now)!
  const conversation = deps.db.insert(conversations).values({ workspaceId: wsA, channelId: channel.id, contactId: contact.id, status: 'open', lastMessageAt: now, lastInboundAt: now, createdAt: now, updatedAt: now }).returning().get()
  const label = deps.db.insert(labels).values({ workspaceId: wsA, name: 'Matrix', createdAt: now }).returning().get()
  const note = insertOutbound(deps.db, { workspaceId: wsA, conversationId: conversation.id, channelId: channel.id, type: 'text', content: { body: { type: 'text', text: 'Matrix' } }, authorId: null, direction: 'note' }, now)
  const file = deps.db.insert(media).values({ workspaceId: wsA, messageId: note.id, channelId: channel.id, kind: 'image', mimeType: 'image/jpeg', status: 'pending', nextAttemptAt: now, createdAt: now }).returning().get()
  const hook = await createSubscription(deps, { userId: owner.id, workspaceId: wsA }, { url: 'https://93.184.216.34/matrix', description: 'Matrix', events: ['contact.created'] })
  if (!hook.ok) throw new Error('webhook')
  const delivery = queueTestDelivery(deps, wsA, hook.subscription.id)
  const params: Record<string, string> = { contactId: contact.id, conversationId: conversation.id, labelId: label.id, channelId: channel.id, mediaId: file.id, webhookId: hook.subscription.id, deliveryId: delivery.id }
  return { env, tokens, params, contactId: contact.id }
}

t.test('every API route answers each kind of caller as its policy says', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: '110000000000202', display: '+1 555-010-0202', verifiedName: 'Matrix', wabaId: '109876543210001' })
  const probe = await buildTestApp(t)
  const routes = probe.app.routeTable.filter(r => r.policy.startsWith('api:') && r.method !== 'HEAD')
  t.ok(routes.length >= 19, `${routes.length} API routes under test`)
  for (const route of routes) {
    const { env, tokens, params, contactId } = await world(t, fake.url)
    let missing = false
    const url = route.url.replace(/:(\w+)/g, (_m, name: string) => {
      const value = params[name]
      if (value === undefined) missing = true
      return value ?? ''
    })
    const schema = env.app.apiRoutes.find(r => r.method === route.method && r.url === route.url)?.schema
    const body = bodies[`${route.method} ${route.url}`]
    if (missing || (schema?.body !== undefined && body === undefined)) { t.fail(`${route.method} ${route.url}: add its parameters or a sample body to the matrix`); continue }
    const hasParams = url !== route.url
    for (const caller of callers) {
      const token = tokens[caller]
      const res = await env.app.inject({
        method: route.method as 'GET',
        url,
        headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) })
      })
      const label = `${route.method} ${route.url} with ${caller} (${route.policy}) → ${res.statusCode}`
      t.ok(res.statusCode < 500, `${label}: no server error`)
      // Files (a download, an archive) are declared as binary: their success is not JSON; everything else is.
      const binary = (schema?.response as Record<string, { format?: string }> | undefined)?.[String(res.statusCode)]?.format === 'binary'
      if (res.statusCode !== 204 && !binary) t.match(String(res.headers['content-type']), /application\/json/, `${label}: JSON`)
      if (caller === 'none' || caller === 'malformed' || caller === 'revoked') { t.equal(res.statusCode, 401, `${label}: refused`); continue }
      const denied = res.statusCode === 401 || res.statusCode === 403
      if (caller === 'outsider') {
        if (hasParams) t.equal(res.statusCode, 404, `${label}: A's objects do not exist for B`)
        else t.notOk(denied, `${label}: allowed in their own workspace`)
        continue
      }
      const needed = route.policy === 'api:admin' ? 'admin' : 'agent'
      if (roleRank[caller] >= roleRank[needed]) t.notOk(denied, `${label}: allowed`)
      else t.equal(res.statusCode, 403, `${label}: forbidden`)
      // A delete by the admin key (the last caller) really deleted: nothing else ran on B's key.
      if (route.method === 'DELETE' && route.url === '/api/v1/contacts/:contactId' && caller === 'admin') t.equal(res.statusCode, 204)
    }
    if (route.url === '/api/v1/contacts/:contactId' && route.method === 'PATCH') {
      const name = env.deps.sqlite.prepare('SELECT name FROM contacts WHERE id = ?').get(contactId) as { name: string }
      t.equal(name.name, 'Matrix Renamed', 'renamed by A\'s keys, never by B\'s (B got 404)')
    }
  }
  t.same(probe.app.routeTable.filter(r => r.url.startsWith('/api/v1/') && !r.policy.startsWith('api:') && r.method !== 'HEAD').map(r => r.url).sort(), ['/api/v1/docs', '/api/v1/openapi.json'], 'only the description is outside the key check')
})

// The authorization matrix, generated from the route table: every route × anonymous, agent, admin and
// owner of workspace A, and the owner of another workspace B. Path parameters are filled with ids of
// workspace A's objects, so B's owner must get 404 (no existence leak) where A's members get through.
// A route added without being understood here fails the test: extend `params` below.
// The routes are split into shards, one test file each (test/authz-matrix-*.test.ts), run in parallel:
// a fresh world per route (five accounts, hashed passwords) makes the whole matrix too long for one file.
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from './build-test-app.js'
import { addMember, createUser, get, post, signIn } from './accounts.js'
import { roleRank, type Policy, type Role } from '../../src/platform/http/policy.js'
import { conversations, invites } from '../../src/db/schema.js'
import { sha256Hex } from '../../src/platform/crypto/index.js'
import { emailIndex } from '../../src/features/auth/credentials.js'
import { sessionHandle } from '../../src/features/account/account.service.js'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { startFakeGraph } from '../../src/platform/whatsapp/fake-graph.js'
import { upsertWhatsAppContact } from '../../src/features/contacts/contacts.service.js'
import { createCannedResponse } from '../../src/features/canned/canned.service.js'
import { createField } from '../../src/features/contacts/contact-fields.service.js'
import { uploadImport } from '../../src/features/contacts/import.service.js'
import { createApiKey } from '../../src/features/apikeys/apikeys.service.js'
import { createSubscription, queueTestDelivery } from '../../src/features/hooks/hooks.service.js'

type Actor = 'anonymous' | 'agent' | 'admin' | 'owner' | 'outsider'
const actors: Actor[] = ['anonymous', 'outsider', 'agent', 'admin', 'owner']
const skipped = (url: string): boolean => url.startsWith('/static/')

async function world (t: Test, graphUrl: string) {
  // Routes that call Meta talk to a local fake Graph API, never to the internet.
  const env = await buildTestApp(t, { set: { 'whatsapp.graph_base_url': graphUrl } })
  const { deps, app } = env
  const owner = await createUser(deps, { workspace: 'Workspace A' })
  const admin = await createUser(deps)
  const agent = await createUser(deps)
  const outsider = await createUser(deps, { workspace: 'Workspace B' })
  const wsA = owner.workspaceId!
  addMember(deps, wsA, admin.id, 'admin')
  addMember(deps, wsA, agent.id, 'agent')
  const now = deps.clock.now()
  const channel = createChannel(deps.db, wsA, { name: 'Matrix number', wabaId: '109876543210001', phoneNumberId: '110000000000101', accessToken: 'EAAG-matrix-token-0000', appSecret: 'matrix-app-secret-0000', graphApiVersion: 'v25.0' }, now)
  const invite = deps.db.insert(invites).values({ workspaceId: wsA, email: 'invitee@example.com', emailIndex: emailIndex('invitee@example.com'), role: 'agent', tokenHash: sha256Hex('matrix-token'), invitedBy: owner.id, expiresAt: now + 86_400_000, createdAt: now }).returning().get()
  const cookies: Record<Actor, string | undefined> = {
    anonymous: undefined,
    agent: await signIn(app, agent),
    admin: await signIn(app, admin),
    owner: await signIn(app, owner),
    outsider: await signIn(app, outsider)
  }
  const agentSession = deps.sqlite.prepare('SELECT id FROM sessions WHERE user_id = ?').get(agent.id) as { id: string }
  // Session routes take a handle derived from the id (the id is half of the cookie token).
  const contact = upsertWhatsAppContact(deps.db, wsA, { bsuid: null, waId: '15550100111', profileName: 'Matrix Customer' }, now)!
  const conversation = deps.db.insert(conversations).values({ workspaceId: wsA, channelId: channel.id, contactId: contact.id, status: 'open', lastMessageAt: now, lastInboundAt: now, createdAt: now, updatedAt: now }).returning().get()
  const canned = createCannedResponse(deps, { userId: owner.id, workspaceId: wsA }, { shortcut: 'matrix', body: 'Matrix canned response' })
  if (!canned.ok) throw new Error('canned response')
  const field = createField(deps.db, { userId: owner.id, workspaceId: wsA }, { label: 'Matrix field', type: 'text', options: '' }, now)
  if (!field.ok) throw new Error('contact field')
  const params: Record<string, string> = { userId: agent.id, inviteId: invite.id, id: sessionHandle(agentSession.id), channelId: channel.id, conversationId: conversation.id, cannedId: canned.value.id, contactId: contact.id, fieldId: field.value.id }
  const upload = uploadImport(deps, { userId: admin.id, workspaceId: wsA }, { filename: 'matrix.csv', bytes: Buffer.from('name,phone\nMatrix Import,+15550100222\n'), truncated: false })
  if (!upload.ok) throw new Error('contact import')
  params.importId = upload.value.id
  const apiKey = createApiKey(deps, { userId: owner.id, workspaceId: wsA }, { name: 'Matrix key', role: 'agent' })
  if (!apiKey.ok) throw new Error('api key')
  params.keyId = apiKey.key.id
  // An outgoing webhook of A (a literal public address: no DNS) with one delivery in its log.
  const hook = await createSubscription(deps, { userId: owner.id, workspaceId: wsA }, { url: 'https://93.184.215.14/matrix', description: 'Matrix webhook', events: ['message.received'] })
  if (!hook.ok) throw new Error('webhook')
  params.subscriptionId = hook.subscription.id
  params.deliveryId = queueTestDelivery(deps, wsA, hook.subscription.id).id
  return { env, cookies, params }
}

function fill (url: string, params: Record<string, string>): string | undefined {
  let missing = false
  const filled = url.replace(/:(\w+)/g, (_m, name: string) => {
    const v = params[name]
    if (v === undefined) missing = true
    return v ?? ''
  })
  return missing ? undefined : filled
}

function roleOf (actor: Actor): Role | undefined {
  return actor === 'agent' || actor === 'admin' || actor === 'owner' ? actor : undefined
}

async function request (app: FastifyInstance, method: string, url: string, cookie: string | undefined) {
  return method === 'GET' ? await get(app, url, cookie) : await post(app, url, {}, cookie)
}

/** Runs the matrix for every `shards`-th route starting at `shard` (route order is registration order). */
export async function authzMatrix (t: Test, shard: number, shards: number): Promise<void> {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const probe = await buildTestApp(t)
  // The public API's routes take API keys, not sessions: test/api-matrix.test.ts holds their matrix.
  const all = probe.app.routeTable.filter(r => r.method !== 'HEAD' && !skipped(r.url) && r.policy !== 'webhook' && !r.policy.startsWith('api:'))
  const routes = all.filter((_r, i) => i % shards === shard)
  t.ok(routes.length > 5, `${routes.length} of ${all.length} routes under test`)
  for (const route of routes) {
    // A fresh world per route: some requests change state (remove a member, end a session …).
    const { env, cookies, params } = await world(t, fake.url)
    const url = fill(route.url, params)
    if (url === undefined) { t.fail(`${route.method} ${route.url}: unknown path parameter, add it to the matrix`); continue }
    const hasParams = url !== route.url
    for (const actor of actors) {
      const res = await request(env.app, route.method, url, cookies[actor])
      const label = `${route.method} ${route.url} as ${actor} (${route.policy}) → ${res.statusCode}`
      t.ok(res.statusCode < 500, `${label}: no server error`)
      t.match(String(res.headers['content-security-policy']), /script-src 'self'/, `${label}: strict CSP`)
      if (route.method === 'GET' && res.statusCode === 200 && cookies[actor] !== undefined) t.equal(res.headers['cache-control'], 'no-store', `${label}: not cached`)
      const policy: Policy = route.policy
      if (policy === 'public' || policy === 'anonymous') continue
      if (actor === 'anonymous') {
        if (route.method === 'GET') t.ok(res.statusCode === 303 && String(res.headers.location).startsWith('/login'), `${label}: sent to sign-in`)
        else t.equal(res.statusCode, 401, `${label}: refused`)
        continue
      }
      const denied = res.statusCode === 401 || res.statusCode === 403
      if (policy === 'signed-in' || policy === 'two-factor') {
        if (actor === 'outsider' && hasParams) t.ok(res.statusCode === 404 || denied, `${label}: A's objects are invisible`)
        else t.notOk(denied, `${label}: allowed`)
        continue
      }
      if (actor === 'outsider') {
        // B's owner passes the role check in B; A's objects must not exist for them.
        if (hasParams) t.ok(res.statusCode === 404, `${label}: A's objects are invisible`)
        else t.notOk(denied, `${label}: allowed in their own workspace`)
        continue
      }
      const role = roleOf(actor)!
      if (roleRank[role] >= roleRank[policy as Role]) t.notOk(denied, `${label}: allowed`)
      else t.equal(res.statusCode, 403, `${label}: forbidden`)
    }
  }
}

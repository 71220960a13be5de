// API keys (issue 7 item 1): admins create keys under Settings → API keys; the token is shown once, in
// the POST's own response, and only its SHA-256 is stored; authenticateApiKey turns a bearer token
// into the key's workspace and role, refusing anything revoked, altered, malformed or of a deleted
// workspace, and writes last_used_at at most once a minute. Agents are refused everywhere; another
// workspace's key is a 404; creation and revocation are in the audit log without the secret.
import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import { teamWorld, type TeamWorld } from '../../../test/helpers/team.js'
import { get, post } from '../../../test/helpers/accounts.js'
import { inlineCode } from '../../../test/helpers/html.js'
import { apiKeys, auditLog, workspaces } from '../../db/schema.js'
import { sha256Hex } from '../../platform/crypto/index.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { authenticateApiKey, createApiKey, listApiKeys, maxActiveKeys, revokeApiKey } from './apikeys.service.js'

type World = TeamWorld
const world = (t: Test): Promise<World> => teamWorld(t)

/** Creates a key through the service (as the owner), failing the test on validation errors. */
function makeKey (w: World, name: string, role = 'agent', workspaceId = w.ws) {
  const r = createApiKey(w.deps, { userId: workspaceId === w.ws ? w.ownerId : null, workspaceId }, { name, role })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r
}

/** Every row of every table, as text: where a secret must not be. */
function everyRow (w: World): string {
  const tables = w.deps.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
  return tables.map(({ name }) => JSON.stringify(w.deps.sqlite.prepare(`SELECT * FROM "${name}"`).all())).join('\n')
}

const auditOf = (w: World, action: string) => w.deps.db.select().from(auditLog).where(eq(auditLog.action, action)).all()
const rowOf = (w: World, id: string) => w.deps.db.select().from(apiKeys).where(eq(apiKeys.id, id)).get()!
const decode = (html: string): string => html.replaceAll('&#39;', "'").replaceAll('&quot;', '"').replaceAll('&amp;', '&')

t.test('a new key: wk_ + 43 base64url characters, shown once; only its SHA-256 is stored, only its prefix is shown later', async (t) => {
  const w = await world(t)
  const created = makeKey(w, 'Online shop')
  t.match(created.token, /^wk_[A-Za-z0-9_-]{43}$/, 'the token format')
  t.equal(Buffer.from(created.token.slice(3), 'base64url').length, 32, '32 random bytes')
  t.equal(created.key.prefix, created.token.slice(0, 9), 'prefix = wk_ + the first 6 characters')
  t.equal(created.key.role, 'agent', 'agent by default')
  t.equal(created.key.createdByName, 'Olivia Owner')
  const row = rowOf(w, created.key.id)
  t.equal(row.tokenHash, sha256Hex(created.token), 'the hash of the whole token is stored')
  t.notOk(JSON.stringify(w.deps.sqlite.prepare('SELECT * FROM api_keys').all()).includes(created.token.slice(3)), 'the token (or its secret part) is in no api_keys row')
  t.notOk(everyRow(w).includes(created.token.slice(9)), 'nor in any other table (the audit log included)')
  const listed = listApiKeys(w.deps, w.ws)
  t.equal(listed.length, 1)
  t.notOk(JSON.stringify(listed).includes(created.token.slice(9)), 'the list has no token')
  t.notOk('tokenHash' in listed[0]!, 'nor its hash')
  const second = makeKey(w, 'Booking system', 'admin')
  t.not(second.token, created.token, 'each key is new')
  t.same(listApiKeys(w.deps, w.ws).map(k => k.name), ['Booking system', 'Online shop'], 'newest first')
})

t.test('authenticateApiKey: the right workspace and role; revoked, altered, malformed and orphaned keys are refused', async (t) => {
  const w = await world(t)
  const agentKey = makeKey(w, 'Shop')
  const adminKey = makeKey(w, 'Ops script', 'admin')
  const slug = w.deps.db.select().from(workspaces).where(eq(workspaces.id, w.ws)).get()!.slug
  t.same(authenticateApiKey(w.deps, agentKey.token), { keyId: agentKey.key.id, name: 'Shop', workspaceId: w.ws, workspaceSlug: slug, role: 'agent' })
  t.equal(authenticateApiKey(w.deps, adminKey.token)?.role, 'admin')
  // Altered tokens: each position of the secret part, one character changed.
  const flip = (c: string): string => c === 'A' ? 'B' : 'A'
  for (const at of [3, 4, 20, agentKey.token.length - 1]) {
    const altered = agentKey.token.slice(0, at) + flip(agentKey.token[at]!) + agentKey.token.slice(at + 1)
    t.equal(authenticateApiKey(w.deps, altered), undefined, `one character changed at ${at}`)
  }
  for (const bad of ['', 'wk_', agentKey.token.slice(0, -1), `${agentKey.token}A`, agentKey.token.slice(3), `sk_${agentKey.token.slice(3)}`, ` ${agentKey.token}`,
    `Bearer ${agentKey.token}`, agentKey.key.prefix, sha256Hex(agentKey.token), `wk_${'A'.repeat(42)}=`, `wk_${'+'.repeat(43)}`]) {
    t.equal(authenticateApiKey(w.deps, bad), undefined, `refused: ${JSON.stringify(bad.slice(0, 20))}…`)
  }
  t.equal(authenticateApiKey(w.deps, undefined as unknown as string), undefined, 'not a string')

  revokeApiKey(w.deps, { userId: w.ownerId, workspaceId: w.ws }, agentKey.key.id)
  t.equal(authenticateApiKey(w.deps, agentKey.token), undefined, 'a revoked key')
  t.ok(authenticateApiKey(w.deps, adminKey.token), 'the other key still works')

  w.deps.db.update(workspaces).set({ deletedAt: w.clock.now() }).where(eq(workspaces.id, w.ws)).run()
  t.equal(authenticateApiKey(w.deps, adminKey.token), undefined, 'a key of a deleted workspace')
  const other = makeKey(w, 'Elsewhere', 'admin', w.otherWs)
  t.ok(authenticateApiKey(w.deps, other.token), 'a key of another workspace still works')
  w.deps.db.delete(workspaces).where(eq(workspaces.id, w.otherWs)).run()
  t.equal(w.count('api_keys'), 2, 'a purged workspace takes its keys with it')
  t.equal(authenticateApiKey(w.deps, other.token), undefined, 'and they authenticate nothing')
})

t.test('last_used_at is written at most once a minute per key', async (t) => {
  const w = await world(t)
  const { token, key } = makeKey(w, 'Busy integration')
  t.equal(rowOf(w, key.id).lastUsedAt, null, 'never used')
  const start = w.clock.now()
  authenticateApiKey(w.deps, token)
  t.equal(rowOf(w, key.id).lastUsedAt, start, 'the first use is recorded')
  let writes = 0
  w.deps.sqlite.function('count_write', () => { writes++; return null })
  w.deps.sqlite.exec('CREATE TEMP TRIGGER api_keys_writes AFTER UPDATE ON api_keys BEGIN SELECT count_write(); END')
  for (let i = 0; i < 100; i++) {
    w.clock.advance(500)
    t.ok(authenticateApiKey(w.deps, token))
  }
  t.equal(writes, 0, '100 requests within 50 s: no write')
  t.equal(rowOf(w, key.id).lastUsedAt, start)
  w.clock.set(start + 60_000)
  authenticateApiKey(w.deps, token)
  t.equal(rowOf(w, key.id).lastUsedAt, start + 60_000, 'a minute later it moves')
  t.equal(writes, 1, 'with one write')
  for (let i = 0; i < 12; i++) { w.clock.advance(5_000); authenticateApiKey(w.deps, token) }
  t.equal(writes, 2, 'another minute of requests every 5 s: one more write')
  t.equal(listApiKeys(w.deps, w.ws)[0]!.lastUsedAt, start + 120_000, 'the list shows it')
})

t.test('validation: name required, trimmed, ≤ 60 characters, unique among active keys; role agent or admin; at most 50 active keys', async (t) => {
  const w = await world(t)
  const actor = { userId: w.ownerId, workspaceId: w.ws }
  const errorsOf = (name: string, role = 'agent'): Record<string, string> => {
    const r = createApiKey(w.deps, actor, { name, role })
    return r.ok ? {} : r.errors
  }
  t.same(errorsOf('   '), { name: 'apikeys.errors.name.required' })
  t.same(errorsOf('x'.repeat(61)), { name: 'apikeys.errors.name.tooLong' })
  t.same(errorsOf('line\nbreak'), { name: 'apikeys.errors.name.invalid' })
  t.same(errorsOf('Shop', 'owner'), { role: 'apikeys.errors.roleInvalid' }, 'an API key is never an owner')
  t.same(errorsOf('Shop', 'root'), { role: 'apikeys.errors.roleInvalid' })
  const padded = createApiKey(w.deps, actor, { name: `  ${'é'.repeat(60)}  `, role: '' })
  t.ok(padded.ok && padded.key.name === 'é'.repeat(60) && padded.key.role === 'agent', 'trimmed; 60 characters fit; empty role = agent')
  const shop = makeKey(w, 'Loja São Paulo')
  t.same(errorsOf('LOJA SÃO PAULO'), { name: 'apikeys.errors.nameTaken' }, 'names are unique whatever the letter case')
  t.same(errorsOf('Loja São Paulo', 'admin'), { name: 'apikeys.errors.nameTaken' })
  makeKey(w, 'Loja São Paulo', 'agent', w.otherWs)
  revokeApiKey(w.deps, actor, shop.key.id)
  t.ok(createApiKey(w.deps, actor, { name: 'Loja São Paulo', role: 'admin' }).ok, 'a revoked key frees its name')
  for (let i = listApiKeys(w.deps, w.ws).filter(k => k.revokedAt === null).length; i < maxActiveKeys; i++) makeKey(w, `Key ${i}`)
  t.same(errorsOf('One too many'), { form: 'apikeys.errors.tooMany' }, `${maxActiveKeys} active keys at most`)
  revokeApiKey(w.deps, actor, listApiKeys(w.deps, w.ws)[0]!.id)
  t.ok(createApiKey(w.deps, actor, { name: 'One too many', role: 'agent' }).ok, 'revoking one makes room')
  t.equal(auditOf(w, 'api_key_created').length, listApiKeys(w.deps, w.ws).length + 1, 'one audit entry per key created (the other workspace\'s included)')
})

t.test('Settings → API keys: create shows the token once (no-store), the list shows the prefix, revoke asks first and works without JavaScript', async (t) => {
  const w = await world(t)
  const empty = await get(w.app, '/settings/api-keys', w.adminCookie)
  t.equal(empty.statusCode, 200)
  t.match(empty.body, 'No API keys yet', 'the empty state says what a key is for')
  t.match(empty.body, 'href="/api/v1/docs"', 'and links the API reference')
  t.match(empty.body, /href="\/settings\/api-keys" aria-current="page"/, 'the API keys tab is current')
  t.same(inlineCode(empty.body), [], 'no inline script or style')

  const created = await post(w.app, '/settings/api-keys', { name: '  Online shop ', role: 'admin' }, w.adminCookie)
  t.equal(created.statusCode, 200, 'the token page is the POST\'s own response')
  t.equal(created.headers['cache-control'], 'no-store')
  t.equal(created.headers['referrer-policy'], 'no-referrer')
  const token = /value="(wk_[A-Za-z0-9_-]{43})"/.exec(created.body)?.[1]
  t.ok(token, 'the token is on the page, in a read-only field')
  t.match(created.body, /readonly/)
  t.match(created.body, /data-copy="api-key-token"/, 'with a copy button (static/js/app.js)')
  t.match(decode(created.body), 'You will not see it again')
  t.same(inlineCode(created.body), [])

  const list = await get(w.app, '/settings/api-keys?done=created', w.adminCookie)
  t.notOk(list.body.includes(token!.slice(9)), 'the list never shows the token again')
  t.match(list.body, `${token!.slice(0, 9)}…`, 'only its prefix')
  t.match(list.body, 'Online shop')
  t.match(list.body, 'Ana Admin', 'who created it')
  t.match(list.body, 'Never', 'never used yet')
  t.match(list.body, 'API key created.')
  t.same(inlineCode(list.body), [])
  const caller = authenticateApiKey(w.deps, token!)
  t.same({ role: caller?.role, name: caller?.name, workspaceId: caller?.workspaceId }, { role: 'admin', name: 'Online shop', workspaceId: w.ws }, 'the shown token works')
  w.clock.advance(5 * 60_000)
  t.match((await get(w.app, '/settings/api-keys', w.adminCookie)).body, '5 minutes ago', 'last used')
  t.notOk(w.logs.join('\n').includes(token!.slice(9)), 'the token is in no log line')
  t.notOk(everyRow(w).includes(token!.slice(9)), 'nor in the database')

  const id = listApiKeys(w.deps, w.ws)[0]!.id
  t.match(list.body, `data-dialog-open="revoke-${id}"`, 'with JavaScript, a dialog asks')
  const confirm = await get(w.app, `/settings/api-keys/${id}/revoke`, w.adminCookie)
  t.equal(confirm.statusCode, 200, 'without it, a confirmation page')
  t.match(decode(confirm.body), 'Revoke the key “Online shop”?')
  t.match(confirm.body, `action="/settings/api-keys/${id}/revoke"`)
  t.ok(authenticateApiKey(w.deps, token!), 'asking changes nothing')

  const revoked = await post(w.app, `/settings/api-keys/${id}/revoke`, {}, w.adminCookie)
  t.equal(revoked.statusCode, 303)
  t.equal(revoked.headers.location, '/settings/api-keys?done=revoked')
  t.equal(authenticateApiKey(w.deps, token!), undefined, 'the key works no more')
  const after = await get(w.app, '/settings/api-keys?done=revoked', w.adminCookie)
  t.match(after.body, 'Revoked', 'the revoked key stays in the list, marked')
  t.match(after.body, 'class="is-revoked"')
  t.notMatch(after.body, `data-dialog-open="revoke-${id}"`, 'with nothing left to revoke')
  t.match(decode((await get(w.app, `/settings/api-keys/${id}/revoke`, w.adminCookie)).body), 'This key was revoked on', 'the confirmation page says it is done')
  t.equal((await post(w.app, `/settings/api-keys/${id}/revoke`, {}, w.adminCookie)).statusCode, 303, 'revoking again is harmless')
  t.equal(auditOf(w, 'api_key_revoked').length, 1, '… and not audited twice')

  const audit = auditOf(w, 'api_key_created')[0]!
  t.same(audit.details, { keyId: id, name: 'Online shop', role: 'admin' }, 'the audit entry: id, name, role')
  t.equal(audit.workspaceId, w.ws)
  t.same(auditOf(w, 'api_key_revoked')[0]!.details, { keyId: id, name: 'Online shop', role: 'admin' })
  const log = decode((await get(w.app, '/settings/audit', w.adminCookie)).body)
  t.match(log, 'Ana Admin created the API key “Online shop” with admin access')
  t.match(log, 'Ana Admin revoked the API key “Online shop”')
  t.notOk(log.includes(sha256Hex(token!)), 'no hash in the audit log')

  const pt = await w.app.inject({ url: '/settings/api-keys', headers: { cookie: w.adminCookie, 'accept-language': 'pt-BR' } })
  t.match(decode(pt.body), 'Chaves de API', 'in Portuguese too')
})

t.test('a refused form is shown again with 422, the reason by the field and what was typed', async (t) => {
  const w = await world(t)
  makeKey(w, 'Shop')
  const taken = await post(w.app, '/settings/api-keys', { name: 'shop', role: 'agent' }, w.adminCookie)
  t.equal(taken.statusCode, 422)
  t.match(taken.body, /id="key-name"[^>]*value="shop"/, 'the typed name is kept')
  t.match(taken.body, 'Another active key already has this name')
  t.match(taken.body, /aria-invalid="true"/)
  const long = 'Integração da loja virtual com o sistema de agendamento online'
  const tooLong = await post(w.app, '/settings/api-keys', { name: long, role: 'admin' }, w.adminCookie)
  t.equal(tooLong.statusCode, 422)
  t.match(decode(tooLong.body), `value="${long}"`)
  t.match(tooLong.body, /name="role" value="admin" checked/, 'the chosen role is kept')
  t.match(tooLong.body, 'Use at most 60 characters.')
  const badRole = await post(w.app, '/settings/api-keys', { name: 'Script', role: 'owner' }, w.adminCookie)
  t.equal(badRole.statusCode, 422)
  t.match(badRole.body, 'Choose agent or admin.')
  t.notMatch(taken.body + tooLong.body + badRole.body, /wk_[A-Za-z0-9_-]{43}/, 'no token anywhere')
  t.equal(w.count('api_keys'), 1, 'nothing created')
  t.equal(listApiKeys(w.deps, w.ws).length, 1)
})

t.test('agents get 403 on every API key route; another workspace\'s key is a 404', async (t) => {
  const w = await world(t)
  const { key, token } = makeKey(w, 'Shop')
  const routes = w.app.routeTable.filter(r => r.url.startsWith('/settings/api-keys') && r.method !== 'HEAD')
  t.equal(routes.length, 4, 'four routes')
  for (const r of routes) t.equal(r.policy, 'admin', `${r.method} ${r.url} is for admins`)
  const url = (u: string): string => u.replace(':keyId', key.id)
  for (const r of routes) {
    const res = r.method === 'GET' ? await get(w.app, url(r.url), w.agentCookie) : await post(w.app, url(r.url), { name: 'Agent key', role: 'admin' }, w.agentCookie)
    t.equal(res.statusCode, 403, `agent: ${r.method} ${r.url} → 403`)
    t.notOk(res.body.includes(key.prefix), 'shows nothing of the keys')
  }
  t.equal(w.count('api_keys'), 1, 'the agent created nothing')
  t.notOk((await get(w.app, '/settings/members', w.agentCookie)).body.includes('href="/settings/api-keys"'), 'agents do not see the tab')
  t.match((await get(w.app, '/settings/members', w.adminCookie)).body, 'href="/settings/api-keys"', 'admins do')

  // The owner of another workspace: A's key does not exist for them.
  t.equal((await get(w.app, `/settings/api-keys/${key.id}/revoke`, w.outsiderCookie)).statusCode, 404)
  t.equal((await post(w.app, `/settings/api-keys/${key.id}/revoke`, {}, w.outsiderCookie)).statusCode, 404)
  t.equal((await get(w.app, '/settings/api-keys/not-an-id/revoke', w.outsiderCookie)).statusCode, 404, 'an unknown id too')
  t.notOk((await get(w.app, '/settings/api-keys', w.outsiderCookie)).body.includes(key.prefix), 'their list has only their keys')
  t.throws(() => revokeApiKey(w.deps, { userId: null, workspaceId: w.otherWs }, key.id), NotFoundError, 'the service says 404 too')
  t.ok(authenticateApiKey(w.deps, token), 'the key still works')
  t.equal(rowOf(w, key.id).revokedAt, null)
})

// The public API over real HTTP (app.inject) and real SQLite: bearer-key authentication (none, unknown,
// revoked, a session cookie, an agent key on an admin route), tenant isolation, the JSON error shape
// and request validation, the per-key rate limit, contacts end to end (create, duplicates, search by
// any spelling of a number, cursor pages, update, labels, delete), and the OpenAPI document: valid
// OpenAPI 3.1, listing every API route, with a readable reference page.
import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import { Validator } from '@seriousme/openapi-schema-validator'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createUser, get, signIn } from '../../../test/helpers/accounts.js'
import { auditLog, labels, workspaces } from '../../db/schema.js'
import { createApiKey, revokeApiKey } from '../apikeys/apikeys.service.js'
import { createField } from '../contacts/contact-fields.service.js'

interface World extends TestApp { ws: string, wsB: string, agentKey: string, adminKey: string, otherKey: string, cookie: string, ownerId: string }

async function world (t: Test): Promise<World> {
  const env = await buildTestApp(t)
  const owner = await createUser(env.deps, { workspace: 'Loja Souza' })
  const other = await createUser(env.deps, { workspace: 'Other shop' })
  env.deps.db.update(workspaces).set({ defaultCountry: 'BR' }).where(eq(workspaces.id, owner.workspaceId!)).run()
  const key = (ws: string, name: string, role: 'agent' | 'admin'): string => {
    const made = createApiKey(env.deps, { userId: null, workspaceId: ws }, { name, role })
    if (!made.ok) throw new Error(JSON.stringify(made.errors))
    return made.token
  }
  return {
    ...env,
    ws: owner.workspaceId!,
    wsB: other.workspaceId!,
    ownerId: owner.id,
    agentKey: key(owner.workspaceId!, 'Shop sync', 'agent'),
    adminKey: key(owner.workspaceId!, 'Admin script', 'admin'),
    otherKey: key(other.workspaceId!, 'Their key', 'admin'),
    cookie: await signIn(env.app, owner)
  }
}

async function api (w: TestApp, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, key: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await w.app.inject({
    method,
    url,
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) })
  })
}

const errorOf = (res: LightMyRequestResponse): { code: string, message: string, details?: Array<{ field: string, message: string }> } => (res.json() as { error: { code: string, message: string, details?: Array<{ field: string, message: string }> } }).error

t.test('only a valid key of the workspace gets in, with the role it was given', async (t) => {
  const w = await world(t)
  const none = await api(w, 'GET', '/api/v1/contacts', undefined)
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="weltra"')
  t.equal(errorOf(none).code, 'unauthorized')
  t.match(none.headers['content-type'], /application\/json/)

  const wrong = await api(w, 'GET', '/api/v1/contacts', w.agentKey.slice(0, -1) + (w.agentKey.endsWith('A') ? 'B' : 'A'))
  t.equal(wrong.statusCode, 401, 'one character changed')
  t.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/)

  const cookieOnly = await get(w.app, '/api/v1/contacts', w.cookie)
  t.equal(cookieOnly.statusCode, 401, 'a session cookie never authenticates the API (nothing for a cross-site page to ride on)')

  t.equal((await api(w, 'GET', '/api/v1/contacts', w.agentKey)).statusCode, 200)
  const made = await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: 'Para apagar' })
  const id = (made.json() as { id: string }).id
  const agentDelete = await api(w, 'DELETE', `/api/v1/contacts/${id}`, w.agentKey)
  t.equal(agentDelete.statusCode, 403, 'an agent key may not delete')
  t.equal(errorOf(agentDelete).code, 'forbidden')
  t.equal((await api(w, 'DELETE', `/api/v1/contacts/${id}`, w.adminKey)).statusCode, 204)
  t.equal((await api(w, 'GET', `/api/v1/contacts/${id}`, w.adminKey)).statusCode, 404, 'gone after delete')
  const audit = w.deps.db.select().from(auditLog).where(eq(auditLog.action, 'contacts_deleted')).all()
  t.equal(audit.length, 1)
  t.equal((audit[0]!.details as { apiKeyId?: string }).apiKeyId !== undefined, true, 'the audit entry names the key')

  const keys = w.deps.sqlite.prepare('SELECT id FROM api_keys WHERE workspace_id = ? AND name = ?').get(w.ws, 'Shop sync') as { id: string }
  revokeApiKey(w.deps, { userId: w.ownerId, workspaceId: w.ws }, keys.id)
  t.equal((await api(w, 'GET', '/api/v1/contacts', w.agentKey)).statusCode, 401, 'a revoked key is refused at once')
})

t.test('a key sees its own workspace only: another workspace\'s ids are 404s', async (t) => {
  const w = await world(t)
  const mine = (await api(w, 'POST', '/api/v1/contacts', w.adminKey, { name: 'Ana Souza', phones: ['(11) 98765-4321'] })).json() as { id: string }
  for (const [method, url] of [['GET', `/api/v1/contacts/${mine.id}`], ['PATCH', `/api/v1/contacts/${mine.id}`], ['DELETE', `/api/v1/contacts/${mine.id}`]] as const) {
    const res = await api(w, method, url, w.otherKey, method === 'PATCH' ? { name: 'Stolen' } : undefined)
    t.equal(res.statusCode, 404, `${method} ${url} with another workspace's key`)
    t.equal(errorOf(res).code, 'not_found')
  }
  const theirs = (await api(w, 'GET', '/api/v1/contacts?q=ana', w.otherKey)).json() as { data: unknown[] }
  t.same(theirs.data, [], 'their search does not find our contact')
  const byPhone = (await api(w, 'GET', '/api/v1/contacts?q=5511987654321', w.otherKey)).json() as { data: unknown[] }
  t.same(byPhone.data, [], 'nor by its number')
  const label = w.deps.db.insert(labels).values({ workspaceId: w.ws, name: 'VIP', createdAt: 1 }).returning().get()
  t.equal((await api(w, 'PUT', `/api/v1/contacts/${mine.id}/labels/${label.id}`, w.otherKey)).statusCode, 404)
  t.equal((await api(w, 'GET', `/api/v1/contacts/${mine.id}`, w.adminKey)).json().name, 'Ana Souza', 'unchanged')
})

t.test('contacts: create, refuse duplicates, search any spelling, page, update, label', async (t) => {
  const w = await world(t)
  const created = await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: 'Lúcia Lima', phones: ['(11) 98765-4321'], emails: ['Lucia@Example.COM'], notes: 'Prefers mornings' })
  t.equal(created.statusCode, 201)
  const c = created.json() as Record<string, unknown> & { id: string, consent: { state: string } }
  t.match(c, { name: 'Lúcia Lima', display_name: 'Lúcia Lima', phones: ['+5511987654321'], emails: ['lucia@example.com'], notes: 'Prefers mornings', whatsapp: null, labels: [], fields: {} })
  t.equal(c.consent.state, 'unknown')
  t.match(c.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

  const dup = await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: 'Other', phones: ['+55 11 98765-4321'] })
  t.equal(dup.statusCode, 409, 'the same number in another spelling')
  t.equal(errorOf(dup).code, 'duplicate')
  const empty = await api(w, 'POST', '/api/v1/contacts', w.agentKey, {})
  t.equal(empty.statusCode, 422)
  t.equal(errorOf(empty).code, 'invalid')
  t.same(errorOf(empty).details?.map(d => d.field), ['name'], 'says which field')
  const badPhone = await api(w, 'POST', '/api/v1/contacts', w.agentKey, { phones: ['12'] })
  t.equal(badPhone.statusCode, 422)
  t.same(errorOf(badPhone).details?.map(d => d.field), ['phones'])
  const unknownField = await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: 'X', colour: 'red' })
  t.equal(unknownField.statusCode, 400, 'unknown properties are refused, not ignored')
  t.equal(errorOf(unknownField).code, 'invalid_request')
  t.ok(errorOf(unknownField).details!.length > 0)
  const badLimit = await api(w, 'GET', '/api/v1/contacts?limit=1000', w.agentKey)
  t.equal(badLimit.statusCode, 400)
  t.ok(errorOf(badLimit).details!.some(d => d.field === 'query.limit'), 'the detail names query.limit')
  const notJson = await api(w, 'POST', '/api/v1/contacts', w.agentKey, undefined, { 'content-type': 'application/json' })
  t.equal(notJson.statusCode, 400)
  t.match(notJson.headers['content-type'], /application\/json/)

  for (const q of ['5511987654321', '+55 (11) 98765-4321', '11987654321', 'LUCIA', 'lucia@example.com']) {
    const found = (await api(w, 'GET', `/api/v1/contacts?q=${encodeURIComponent(q)}`, w.agentKey)).json() as { data: Array<{ id: string }> }
    t.same(found.data.map(x => x.id), [c.id], `found by ${q}`)
  }

  const patched = await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { name: 'Lúcia L. Lima', notes: '' })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { name: 'Lúcia L. Lima', notes: null })
  t.equal((await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, {})).statusCode, 400, 'an empty change is refused')
  const tooLong = await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { name: 'x'.repeat(300) })
  t.equal(tooLong.statusCode, 422)
  t.same(errorOf(tooLong).details?.map(d => d.field), ['name'])

  // Numbers and emails are whole lists: what is left out goes, another spelling of a kept number stays.
  const listed = await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { phones: ['+55 11 98765-4321', '(21) 99876-5432'], emails: ['lucia@example.com', 'lucia@work.example'] })
  t.equal(listed.statusCode, 200)
  t.match(listed.json(), { phones: ['+5511987654321', '+5521998765432'], emails: ['lucia@example.com', 'lucia@work.example'] })
  t.equal((await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: 'Someone Else', phones: ['+55 31 99999-0000'], emails: ['else@example.com'] })).statusCode, 201)
  const clash = await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { name: 'Should not stick', phones: ['+55 31 99999-0000'] })
  t.equal(clash.statusCode, 409, 'a number of another contact')
  t.equal(errorOf(clash).code, 'duplicate')
  const unchanged = (await api(w, 'GET', `/api/v1/contacts/${c.id}`, w.agentKey)).json() as { name: string, phones: string[] }
  t.same([unchanged.name, unchanged.phones], ['Lúcia L. Lima', ['+5511987654321', '+5521998765432']], 'nothing of the refused request changed, the name included')
  const bad = await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { phones: ['12'], emails: [] })
  t.equal(bad.statusCode, 422)
  t.same(errorOf(bad).details?.map(d => d.field), ['phones'])
  t.equal(((await api(w, 'GET', `/api/v1/contacts/${c.id}`, w.agentKey)).json() as { emails: string[] }).emails.length, 2, 'the emails were not cleared either')
  t.match((await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { phones: ['11987654321'], emails: [] })).json(), { phones: ['+5511987654321'], emails: [] }, 'one number, no emails')
  t.equal(((await api(w, 'GET', `/api/v1/contacts?q=${encodeURIComponent('+55 21 99876-5432')}`, w.agentKey)).json() as { data: unknown[] }).data.length, 0, 'a removed number no longer finds it')

  // Custom fields by key, validated like the contact page; one bad value changes nothing.
  const plan = createField(w.deps.db, { userId: w.ownerId, workspaceId: w.ws }, { label: 'Plan', type: 'select', options: 'Basic\nPro' }, w.clock.now())
  const since = createField(w.deps.db, { userId: w.ownerId, workspaceId: w.ws }, { label: 'Customer since', type: 'date', options: '' }, w.clock.now())
  if (!plan.ok || !since.ok) throw new Error('fields')
  const withFields = await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { fields: { [plan.value.key]: 'Pro', [since.value.key]: '2024-03-15' } })
  t.equal(withFields.statusCode, 200)
  t.same((withFields.json() as { fields: unknown }).fields, { [plan.value.key]: 'Pro', [since.value.key]: '2024-03-15' })
  const badField = await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { fields: { [plan.value.key]: 'Gold', [since.value.key]: null } })
  t.equal(badField.statusCode, 422)
  t.same(errorOf(badField).details?.map(d => d.field), [`fields.${plan.value.key}`])
  t.same(((await api(w, 'GET', `/api/v1/contacts/${c.id}`, w.agentKey)).json() as { fields: unknown }).fields, { [plan.value.key]: 'Pro', [since.value.key]: '2024-03-15' }, 'nothing changed, the date not cleared either')
  t.same(errorOf(await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { fields: { nope: 'x' } })).details?.map(d => d.field), ['fields.nope'])
  t.same(((await api(w, 'PATCH', `/api/v1/contacts/${c.id}`, w.agentKey, { fields: { [since.value.key]: null } })).json() as { fields: unknown }).fields, { [plan.value.key]: 'Pro' }, 'null clears')

  const label = w.deps.db.insert(labels).values({ workspaceId: w.ws, name: 'VIP', createdAt: 1 }).returning().get()
  const labelled = await api(w, 'PUT', `/api/v1/contacts/${c.id}/labels/${label.id}`, w.agentKey)
  t.same((labelled.json() as { labels: unknown }).labels, [{ id: label.id, name: 'VIP' }])
  t.equal(((await api(w, 'PUT', `/api/v1/contacts/${c.id}/labels/${label.id}`, w.agentKey)).json() as { labels: unknown[] }).labels.length, 1, 'putting it twice changes nothing')
  const withLabel = (await api(w, 'GET', `/api/v1/contacts?label_id=${label.id}`, w.agentKey)).json() as { data: Array<{ id: string }> }
  t.same(withLabel.data.map(x => x.id), [c.id])
  t.same(((await api(w, 'DELETE', `/api/v1/contacts/${c.id}/labels/${label.id}`, w.agentKey)).json() as { labels: unknown[] }).labels, [])
  t.equal((await api(w, 'PUT', `/api/v1/contacts/${c.id}/labels/${'0'.repeat(26)}`, w.agentKey)).statusCode, 404, 'an unknown label')

  // Pages: every contact once, in name order, until next_cursor is null.
  for (let i = 0; i < 120; i++) await api(w, 'POST', '/api/v1/contacts', w.agentKey, { name: `Page ${String(i).padStart(3, '0')}` })
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await api(w, 'GET', `/api/v1/contacts?q=page&limit=50${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, w.agentKey)
    t.equal(res.statusCode, 200)
    const page = res.json() as { data: Array<{ name: string }>, next_cursor: string | null }
    seen.push(...page.data.map(x => x.name))
    cursor = page.next_cursor
    pages++
  } while (cursor !== null && pages < 10)
  t.equal(pages, 3)
  t.same(seen, Array.from({ length: 120 }, (_, i) => `Page ${String(i).padStart(3, '0')}`), 'all 120, once each, in order')
})

t.test('each key has its own rate limit per route', async (t) => {
  const w = await world(t)
  const url = '/api/v1/contacts?limit=1'
  let last: LightMyRequestResponse | undefined
  for (let i = 0; i < 600; i++) last = await api(w, 'GET', url, w.agentKey)
  t.equal(last!.statusCode, 200, 'the 600th request of the minute passes')
  const over = await api(w, 'GET', url, w.agentKey)
  t.equal(over.statusCode, 429)
  t.equal(errorOf(over).code, 'rate_limited')
  t.ok(Number(over.headers['retry-after']) > 0, 'says when to retry')
  t.equal((await api(w, 'GET', url, w.adminKey)).statusCode, 200, 'another key of the same workspace is not held back')
  w.clock.advance(61_000)
})

t.test('the OpenAPI document is valid OpenAPI 3.1 and lists every API route, and the reference page shows them', async (t) => {
  const w = await world(t)
  const res = await get(w.app, '/api/v1/openapi.json')
  t.equal(res.statusCode, 200)
  const doc = res.json() as { openapi: string, paths: Record<string, Record<string, { operationId: string, responses: Record<string, unknown> }>> }
  t.equal(doc.openapi, '3.1.0')
  const result = await new Validator().validate(doc as unknown as Record<string, unknown>)
  t.ok(result.valid, `valid: ${JSON.stringify(result.errors ?? '').slice(0, 500)}`)
  const routes = w.app.routeTable.filter(r => r.policy.startsWith('api:') && r.method !== 'HEAD')
  t.ok(routes.length >= 7, `${routes.length} API routes`)
  for (const r of routes) {
    const op = doc.paths[r.url.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]
    t.ok(op !== undefined, `${r.method} ${r.url} is documented`)
    t.ok(op !== undefined && Object.keys(op.responses).some(code => code.startsWith('2')) && op.responses['401'] !== undefined, `${r.method} ${r.url}: success and error responses`)
  }
  const page = await get(w.app, '/api/v1/docs')
  t.equal(page.statusCode, 200)
  for (const r of routes) t.match(page.body, `id="${doc.paths[r.url.replace(/:(\w+)/g, '{$1}')]![r.method.toLowerCase()]!.operationId}"`, `the page has ${r.method} ${r.url}`)
  t.match(page.body, 'Authorization: Bearer')
  t.notMatch(page.body, /wk_[A-Za-z0-9_-]{20}/, 'no key on the page')
  const unknown = await api(w, 'GET', '/api/v1/nothing-here', w.agentKey)
  t.equal(unknown.statusCode, 404)
  t.equal(errorOf(unknown).code, 'not_found')
})

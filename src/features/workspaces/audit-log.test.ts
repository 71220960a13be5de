// The workspace audit log page: security events as sentences with names, for owners and admins only,
// never another workspace's rows, never a full IP address.
import t from 'tap'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { recordAudit } from '../audit/audit.service.js'

t.test('the audit log tells invitations, role changes and removals with names, and is forbidden to agents', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const ana = await createUser(deps, { name: 'Ana', workspace: 'Acme' })
  const bruno = await createUser(deps, { name: 'Bruno' })
  const carla = await createUser(deps, { name: 'Carla' })
  addMember(deps, ana.workspaceId!, bruno.id, 'agent')
  addMember(deps, ana.workspaceId!, carla.id, 'agent')
  const owner = await signIn(app, ana)
  t.equal((await post(app, '/settings/members/invite', { email: 'dora@example.com', role: 'agent' }, owner)).statusCode, 303)
  t.equal((await post(app, `/settings/members/${bruno.id}/role`, { role: 'admin' }, owner)).statusCode, 303)
  t.equal((await post(app, `/settings/members/${carla.id}/remove`, {}, owner)).statusCode, 303)

  const other = await createUser(deps, { name: 'Zed', workspace: 'Other' })
  const zed = await signIn(app, other)
  t.equal((await post(app, '/settings/members/invite', { email: 'canary@example.com', role: 'agent' }, zed)).statusCode, 303)
  t.equal((await post(app, '/settings/workspace', { name: 'Canary Workspace' }, zed)).statusCode, 303)

  const res = await get(app, '/settings/audit', owner)
  t.equal(res.statusCode, 200)
  t.match(res.body, /Ana invited d•••@example\.com as agent/)
  t.match(res.body, /Ana changed Bruno&#39;s role from agent to admin|Ana changed Bruno's role from agent to admin/)
  t.match(res.body, /Ana removed Carla from the workspace/)
  t.match(res.body, /Ana signed in/)
  t.notMatch(res.body, /canary/i, "another workspace's rows never appear")
  t.notMatch(res.body, /Zed/)
  t.notMatch(res.body, /127\.0\.0\.1/, 'no full IP address')

  const brunoCookie = await signIn(app, bruno)
  t.equal((await get(app, '/settings/audit', brunoCookie)).statusCode, 200, 'admins see it')
  const dora = await createUser(deps, { name: 'Dora' })
  addMember(deps, ana.workspaceId!, dora.id, 'agent')
  t.equal((await get(app, '/settings/audit', await signIn(app, dora))).statusCode, 403, 'agents do not')
})

t.test('the audit log pages with "Load more" and shows only the network part of addresses', async (t) => {
  const { app, deps, clock } = await buildTestApp(t)
  const ana = await createUser(deps, { name: 'Ana', workspace: 'Acme' })
  for (let i = 0; i < 60; i++) {
    clock.advance(1000)
    recordAudit(deps.db, { action: 'workspace_renamed', workspaceId: ana.workspaceId!, actorUserId: ana.id, details: { from: `Name ${i}`, to: `Name ${i + 1}` }, ip: '203.0.113.77' }, clock.now())
  }
  const owner = await signIn(app, ana)
  const first = await get(app, '/settings/audit', owner)
  t.match(first.body, /203\.0\.x\.x/)
  t.notMatch(first.body, /203\.0\.113\.77/)
  t.match(first.body, /renamed the workspace from Name 59 to Name 60/)
  t.notMatch(first.body, /from Name 0 to Name 1</)
  const next = /href="(\/settings\/audit\?before=[^"]+)"/.exec(first.body)
  t.ok(next, 'a Load more link')
  const second = await get(app, next![1]!.replace(/&amp;/g, '&'), owner)
  t.equal(second.statusCode, 200)
  t.match(second.body, /from Name 0 to Name 1</)
  t.notMatch(second.body, /from Name 59 to Name 60/)
  t.notMatch(second.body, /href="\/settings\/audit\?before=/, 'the end')
  t.equal((await get(app, '/settings/audit?before=garbage', owner)).statusCode, 200, 'a bad cursor shows the newest')
})

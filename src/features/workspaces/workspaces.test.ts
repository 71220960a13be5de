// Creating, listing, switching and renaming workspaces. The tenant always comes from the session's
// membership: a workspace id from a form that is not one of mine is a 404, and lists show only mine.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { auditLog, sessions, workspaces } from '../../db/schema.js'

t.test('my workspaces list shows only mine, with my role and the active one marked', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const ana = await createUser(deps, { name: 'Ana', workspace: 'Acme' })
  const bruno = await createUser(deps, { name: 'Bruno', workspace: 'Bruno Co' })
  await createUser(deps, { workspace: 'Secret Stuff' })
  addMember(deps, bruno.workspaceId!, ana.id, 'agent')
  const cookie = await signIn(app, ana)
  const res = await get(app, '/workspaces', cookie)
  t.equal(res.statusCode, 200)
  t.match(res.body, /Acme/)
  t.match(res.body, /Bruno Co/)
  t.notMatch(res.body, /Secret Stuff/, 'never another workspace')
  t.match(res.body, /Current workspace/)
  t.match(res.body, `name="workspaceId" value="${bruno.workspaceId}"`, 'a switch button for the other one')
  t.notMatch(res.body, `name="workspaceId" value="${ana.workspaceId}"`, 'none for the active one')
})

t.test('switching goes to a workspace I belong to, and a foreign or unknown one is a 404', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const ana = await createUser(deps, { workspace: 'Acme' })
  const bruno = await createUser(deps, { workspace: 'Bruno Co' })
  const other = await createUser(deps, { workspace: 'Other' })
  addMember(deps, bruno.workspaceId!, ana.id, 'admin')
  const cookie = await signIn(app, ana)
  const ok = await post(app, '/workspaces/switch', { workspaceId: bruno.workspaceId! }, cookie)
  t.equal(ok.statusCode, 303)
  t.equal(ok.headers.location, '/inbox')
  const session = () => deps.db.select().from(sessions).where(eq(sessions.userId, ana.id)).get()!
  t.equal(session().workspaceId, bruno.workspaceId)
  const members = await get(app, '/settings/members', cookie)
  t.match(members.body, /Bruno Co/, 'settings follow the active workspace')
  t.equal((await post(app, '/workspaces/switch', { workspaceId: other.workspaceId! }, cookie)).statusCode, 404)
  t.equal((await post(app, '/workspaces/switch', { workspaceId: 'nope' }, cookie)).statusCode, 404)
  t.equal((await post(app, '/workspaces/switch', {}, cookie)).statusCode, 404)
  t.equal(session().workspaceId, bruno.workspaceId, 'unchanged')
})

t.test('creating a workspace validates the name, makes me its owner and switches to it', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const ana = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, ana)
  t.equal((await get(app, '/workspaces/new', cookie)).statusCode, 200)
  const bad = await post(app, '/workspaces/new', { name: '   ' }, cookie)
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /Enter a workspace name/)
  const ok = await post(app, '/workspaces/new', { name: 'Acme Brasil' }, cookie)
  t.equal(ok.statusCode, 303)
  const created = deps.db.select().from(workspaces).where(eq(workspaces.name, 'Acme Brasil')).get()!
  t.equal(deps.db.select().from(sessions).where(eq(sessions.userId, ana.id)).get()!.workspaceId, created.id)
  const page = await get(app, '/settings/workspace', cookie)
  t.equal(page.statusCode, 200, 'owner of the new one')
  t.match(page.body, /value="Acme Brasil"/)
})

t.test('renaming validates (an empty name is a 422 that keeps what was typed) and is audited', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const ana = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, ana)
  const bad = await post(app, '/settings/workspace', { name: '' }, cookie)
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /Enter a workspace name/)
  const long = 'x'.repeat(81)
  const tooLong = await post(app, '/settings/workspace', { name: long }, cookie)
  t.equal(tooLong.statusCode, 422)
  t.match(tooLong.body, `value="${long}"`, 'the typed value is kept')
  const ok = await post(app, '/settings/workspace', { name: 'Acme <Global>' }, cookie)
  t.equal(ok.statusCode, 303)
  t.equal(ok.headers.location, '/settings/workspace?done=renamed')
  const page = await get(app, ok.headers.location!, cookie)
  t.match(page.body, /value="Acme &lt;Global&gt;"/, 'escaped')
  t.match(page.body, /Workspace name saved/)
  const entry = deps.db.select().from(auditLog).where(eq(auditLog.action, 'workspace_renamed')).get()!
  t.same(entry.details, { from: 'Acme', to: 'Acme <Global>' })
})

t.test('only owners require two-factor authentication, and not before turning it on for themselves', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const ana = await createUser(deps, { workspace: 'Acme' })
  const bruno = await createUser(deps)
  addMember(deps, ana.workspaceId!, bruno.id, 'admin')
  const admin = await signIn(app, bruno)
  t.equal((await post(app, '/settings/workspace/two-factor', { required: '1' }, admin)).statusCode, 403)
  const adminPage = await get(app, '/settings/workspace', admin)
  t.match(adminPage.body, /Only owners can change this/)
  const owner = await signIn(app, ana)
  const refused = await post(app, '/settings/workspace/two-factor', { required: '1' }, owner)
  t.equal(refused.statusCode, 422)
  t.match(refused.body, /Turn on two-factor authentication for your own account first/)
  t.equal(deps.db.select().from(workspaces).where(eq(workspaces.id, ana.workspaceId!)).get()!.requireTwoFactor, false)
})

t.test('the settings index sends admins to the workspace tab and agents to the members tab', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const ana = await createUser(deps, { workspace: 'Acme' })
  const carla = await createUser(deps)
  addMember(deps, ana.workspaceId!, carla.id, 'agent')
  t.equal((await get(app, '/settings', await signIn(app, ana))).headers.location, '/settings/workspace')
  const agent = await signIn(app, carla)
  t.equal((await get(app, '/settings', agent)).headers.location, '/settings/members')
  t.equal((await get(app, '/settings/workspace', agent)).statusCode, 403)
})

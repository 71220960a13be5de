// Roles, removal and leaving against SECURITY.md C-20: changes apply on the very next request, the
// affected person's sessions end, the last owner stays, and nobody acts beyond their role.
import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { addMember, createUser, get, post, signIn, type TestUser } from '../../../test/helpers/accounts.js'
import { memberships } from '../../db/schema.js'
import type { Role } from '../../platform/http/policy.js'
import { inlineCode } from '../../../test/helpers/html.js'

type User = TestUser & { workspaceId: string | undefined }

/** Workspace "Acme" with an owner, an admin and an agent, each signed in. */
async function team (t: Parameters<typeof buildTestApp>[0]): Promise<TestApp & { ws: string, owner: User, admin: User, agent: User, cookies: Record<'owner' | 'admin' | 'agent', string> }> {
  const env = await buildTestApp(t)
  const owner = await createUser(env.deps, { name: 'Ana Owner', workspace: 'Acme' })
  const admin = await createUser(env.deps, { name: 'Bruno Admin' })
  const agent = await createUser(env.deps, { name: 'Carla Agent' })
  const ws = owner.workspaceId!
  addMember(env.deps, ws, admin.id, 'admin')
  addMember(env.deps, ws, agent.id, 'agent')
  const cookies = { owner: await signIn(env.app, owner), admin: await signIn(env.app, admin), agent: await signIn(env.app, agent) }
  return { ...env, ws, owner, admin, agent, cookies }
}

function roleOf (env: TestApp, ws: string, userId: string): Role | undefined {
  return env.deps.db.select().from(memberships).where(and(eq(memberships.workspaceId, ws), eq(memberships.userId, userId))).get()?.role
}

t.test('the members page lists everyone with role and joined date; admins get controls, agents only look', async (t) => {
  const env = await team(t)
  const page = await get(env.app, '/settings/members', env.cookies.admin)
  t.equal(page.statusCode, 200)
  for (const name of ['Ana Owner', 'Bruno Admin', 'Carla Agent']) t.match(page.body, name)
  t.match(page.body, /Invite your team/)
  t.same(inlineCode(page.body), [], 'no inline script or style (strict CSP)')
  t.match(page.body, `action="/settings/members/${env.agent.id}/role"`, 'the admin may change the agent')
  t.notMatch(page.body, `action="/settings/members/${env.owner.id}/role"`, 'but not the owner')
  t.match(page.body, /name="role" value="owner" disabled/, 'and cannot make owners')
  t.notMatch(page.body, /name="role" value="owner">/)
  t.match(page.body, `href="/settings/members/${env.agent.id}/remove"`)
  t.match(page.body, `id="remove-${env.agent.id}"`, 'a confirmation dialog')
  t.match(page.body, `href="/settings/members/${env.agent.id}" hx-boost="false" data-dialog-open="manage-${env.agent.id}"`, 'a manage dialog, with a page as the fallback')
  const manage = await get(env.app, `/settings/members/${env.agent.id}`, env.cookies.admin)
  t.equal(manage.statusCode, 200)
  t.match(manage.body, `action="/settings/members/${env.agent.id}/role"`)
  t.equal((await get(env.app, `/settings/members/${env.owner.id}`, env.cookies.admin)).statusCode, 403, 'an admin cannot manage the owner')
  const agentView = await get(env.app, '/settings/members', env.cookies.agent)
  t.equal(agentView.statusCode, 200)
  t.notMatch(agentView.body, /\/role"/)
  t.notMatch(agentView.body, /\/remove"/)
  t.notMatch(agentView.body, /Audit log/, 'the audit tab is for admins')
  const solo = await buildTestApp(t)
  const alone = await createUser(solo.deps, { workspace: 'Solo' })
  const soloPage = await get(solo.app, '/settings/members', await signIn(solo.app, alone))
  t.match(soloPage.body, /Only you so far — invite your team/)
  t.match(soloPage.body, /No pending invitations/)
})

t.test('the last owner cannot leave, be removed or be demoted, and says why', async (t) => {
  const env = await team(t)
  const leave = await post(env.app, '/settings/members/leave', {}, env.cookies.owner)
  t.equal(leave.statusCode, 422)
  t.match(leave.body, /only owner, so you can&#39;t leave|only owner, so you can't leave/)
  const demote = await post(env.app, `/settings/members/${env.owner.id}/role`, { role: 'admin' }, env.cookies.owner)
  t.equal(demote.statusCode, 422)
  t.match(demote.body, /only owner/)
  const remove = await post(env.app, `/settings/members/${env.owner.id}/remove`, {}, env.cookies.owner)
  t.equal(remove.statusCode, 422)
  t.equal(roleOf(env, env.ws, env.owner.id), 'owner')
  const page = await get(env.app, '/settings/members', env.cookies.owner)
  t.match(page.body, /Make someone else an owner before you leave/)
  const confirm = await get(env.app, '/settings/members/leave', env.cookies.owner)
  t.equal(confirm.statusCode, 200)
  t.notMatch(confirm.body, /action="\/settings\/members\/leave"/, 'no leave button for the last owner')
})

t.test('with two owners, one can leave; the other is then the last owner', async (t) => {
  const env = await team(t)
  const promote = await post(env.app, `/settings/members/${env.admin.id}/role`, { role: 'owner' }, env.cookies.owner)
  t.equal(promote.statusCode, 303)
  t.equal(roleOf(env, env.ws, env.admin.id), 'owner')
  const leave = await post(env.app, '/settings/members/leave', {}, env.cookies.owner)
  t.equal(leave.statusCode, 303)
  t.equal(leave.headers.location, '/workspaces?done=left')
  t.equal(roleOf(env, env.ws, env.owner.id), undefined)
  const list = await get(env.app, '/workspaces', env.cookies.owner)
  t.equal(list.statusCode, 200, 'still signed in')
  t.notMatch(list.body, /Acme/)
  t.match(list.body, /You&#39;re not in a workspace yet|You're not in a workspace yet/)
  const bruno = await signIn(env.app, env.admin)
  t.equal((await post(env.app, '/settings/members/leave', {}, bruno)).statusCode, 422, 'the remaining owner must stay')
})

t.test('an admin cannot promote to owner, change or remove an owner, or raise their own role', async (t) => {
  const env = await team(t)
  t.equal((await post(env.app, `/settings/members/${env.agent.id}/role`, { role: 'owner' }, env.cookies.admin)).statusCode, 403)
  t.equal((await post(env.app, `/settings/members/${env.owner.id}/role`, { role: 'agent' }, env.cookies.admin)).statusCode, 403)
  t.equal((await post(env.app, `/settings/members/${env.owner.id}/remove`, {}, env.cookies.admin)).statusCode, 403)
  t.equal((await get(env.app, `/settings/members/${env.owner.id}/remove`, env.cookies.admin)).statusCode, 403)
  t.equal((await post(env.app, `/settings/members/${env.admin.id}/role`, { role: 'owner' }, env.cookies.admin)).statusCode, 403)
  t.equal(roleOf(env, env.ws, env.owner.id), 'owner')
  t.equal(roleOf(env, env.ws, env.agent.id), 'agent')
  t.equal(roleOf(env, env.ws, env.admin.id), 'admin')
  const ok = await post(env.app, `/settings/members/${env.agent.id}/role`, { role: 'admin' }, env.cookies.admin)
  t.equal(ok.statusCode, 303, 'agent → admin is an admin decision')
  t.equal(roleOf(env, env.ws, env.agent.id), 'admin')
  const bad = await post(env.app, `/settings/members/${env.agent.id}/role`, { role: 'emperor' }, env.cookies.owner)
  t.equal(bad.statusCode, 422)
})

t.test('an agent cannot invite, remove or change roles', async (t) => {
  const env = await team(t)
  t.equal((await post(env.app, '/settings/members/invite', { email: 'x@example.com', role: 'agent' }, env.cookies.agent)).statusCode, 403)
  t.equal((await post(env.app, `/settings/members/${env.admin.id}/remove`, {}, env.cookies.agent)).statusCode, 403)
  t.equal((await post(env.app, `/settings/members/${env.agent.id}/role`, { role: 'admin' }, env.cookies.agent)).statusCode, 403)
  t.equal((await post(env.app, `/settings/members/${env.admin.id}/role`, { role: 'agent' }, env.cookies.agent)).statusCode, 403)
  t.equal(roleOf(env, env.ws, env.agent.id), 'agent')
  t.equal(roleOf(env, env.ws, env.admin.id), 'admin')
})

t.test('a demoted admin is signed out at once, and after signing in again admin pages are forbidden', async (t) => {
  const env = await team(t)
  const second = await signIn(env.app, env.admin)
  t.equal((await get(env.app, '/settings/workspace', env.cookies.admin)).statusCode, 200)
  const res = await post(env.app, `/settings/members/${env.admin.id}/role`, { role: 'agent' }, env.cookies.owner)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/settings/members?done=roleChanged')
  for (const cookie of [env.cookies.admin, second]) {
    const next = await get(env.app, '/settings/members', cookie)
    t.equal(next.statusCode, 303, 'every old cookie is dead')
    t.match(String(next.headers.location), /^\/login/)
  }
  const fresh = await signIn(env.app, env.admin)
  t.equal((await get(env.app, '/settings/workspace', fresh)).statusCode, 403)
  t.equal((await post(env.app, `/settings/members/${env.agent.id}/remove`, {}, fresh)).statusCode, 403)
  t.equal((await get(env.app, '/settings/members', fresh)).statusCode, 200, 'still a member')
  t.equal((await get(env.app, '/settings/members', env.cookies.owner)).statusCode, 200, "the owner's own session is untouched")
})

t.test('a removed member is signed out and no longer sees the workspace', async (t) => {
  const env = await team(t)
  const other = await createUser(env.deps, { workspace: 'Carla Side Project' })
  addMember(env.deps, other.workspaceId!, env.agent.id, 'agent')
  const res = await post(env.app, `/settings/members/${env.agent.id}/remove`, {}, env.cookies.admin)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/settings/members?done=removed')
  t.equal(roleOf(env, env.ws, env.agent.id), undefined)
  const old = await get(env.app, '/inbox', env.cookies.agent)
  t.equal(old.statusCode, 303)
  t.match(String(old.headers.location), /^\/login/, 'the old cookie stopped working')
  const fresh = await signIn(env.app, env.agent)
  const list = await get(env.app, '/workspaces', fresh)
  t.notMatch(list.body, />Acme</)
  t.match(list.body, /Carla Side Project/)
  t.equal((await post(env.app, '/workspaces/switch', { workspaceId: env.ws }, fresh)).statusCode, 404)
  const page = await get(env.app, '/settings/members', env.cookies.admin)
  t.notMatch(page.body, /Carla Agent/)
  const again = await post(env.app, `/settings/members/${env.agent.id}/remove`, {}, env.cookies.admin)
  t.equal(again.statusCode, 404, 'a non-member is not found')
})

t.test('removal asks for confirmation without JavaScript too', async (t) => {
  const env = await team(t)
  const page = await get(env.app, `/settings/members/${env.agent.id}/remove`, env.cookies.admin)
  t.equal(page.statusCode, 200)
  t.match(page.body, /Remove Carla Agent\?/)
  t.match(page.body, `action="/settings/members/${env.agent.id}/remove"`)
  t.equal(roleOf(env, env.ws, env.agent.id), 'agent', 'looking changes nothing')
})

t.test('members of another workspace are not found: no role change, removal or confirmation page', async (t) => {
  const env = await team(t)
  const stranger = await createUser(env.deps, { name: 'Stranger', workspace: 'Elsewhere' })
  t.equal((await post(env.app, `/settings/members/${stranger.id}/role`, { role: 'agent' }, env.cookies.owner)).statusCode, 404)
  t.equal((await post(env.app, `/settings/members/${stranger.id}/remove`, {}, env.cookies.owner)).statusCode, 404)
  t.equal((await get(env.app, `/settings/members/${stranger.id}/remove`, env.cookies.owner)).statusCode, 404)
  t.equal(roleOf(env, stranger.workspaceId!, stranger.id), 'owner')
})

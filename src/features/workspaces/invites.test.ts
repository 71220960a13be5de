// Invitations against SECURITY.md C-20: single-use, expiring, workspace-bound links on the public URL,
// stored hashed; accepting signs up (or adds the signed-in account) and switches to the workspace.
import t from 'tap'
import { desc, eq, sql } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { addMember, createUser, get, goodPassword, post, sessionCookie, signIn } from '../../../test/helpers/accounts.js'
import { invites, mailOutbox, memberships, sessions, users } from '../../db/schema.js'
import type { Deps } from '../../deps.js'
import { inlineCode } from '../../../test/helpers/html.js'

// The configured public URL of the test config (server.public_url empty → from server.listen).
const publicUrl = 'http://localhost:8080'

function lastInviteMail (deps: Deps) {
  return deps.db.select().from(mailOutbox).where(eq(mailOutbox.kind, 'invite')).orderBy(desc(sql`rowid`)).get()
}

function tokenIn (text: string): string {
  const m = /\/invites\/accept\?token=([A-Za-z0-9_-]+)/.exec(text)
  if (m === null) throw new Error('no invitation link in the mail')
  return m[1]!
}

/** An owner signed in to workspace "Acme", with the app on a configured public URL. */
async function acme (t: Parameters<typeof buildTestApp>[0]): Promise<TestApp & { owner: Awaited<ReturnType<typeof createUser>>, cookie: string }> {
  const env = await buildTestApp(t)
  const owner = await createUser(env.deps, { name: 'Ana Owner', workspace: 'Acme' })
  const cookie = await signIn(env.app, owner)
  return { ...env, owner, cookie }
}

async function invite (env: TestApp, cookie: string, email: string, role = 'agent', headers: Record<string, string> = {}): Promise<string> {
  const res = await post(env.app, '/settings/members/invite', { email, role }, cookie, { headers })
  if (res.statusCode !== 303) throw new Error(`invite failed: ${res.statusCode} ${res.body.slice(0, 200)}`)
  return tokenIn(lastInviteMail(env.deps)!.textBody)
}

t.test('an invitation emails a link on the public URL (whatever the Host), stores only a hash of its token and lists the invitee as pending', async (t) => {
  const env = await acme(t)
  let queued = 0
  env.deps.events.on('mail.queued', () => { queued++ })
  const res = await post(env.app, '/settings/members/invite', { email: 'Bruno@Example.com', role: 'agent' }, env.cookie, { headers: { host: 'evil.test' } })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/settings/members?done=invited')
  const mail = lastInviteMail(env.deps)!
  t.equal(mail.toAddress, 'bruno@example.com')
  t.match(mail.subject, /Ana Owner invited you to Acme/)
  t.match(mail.textBody, `${publicUrl}/invites/accept?token=`)
  t.notMatch(mail.textBody + mail.html, /evil\.test/, 'the request Host never reaches the link')
  t.equal(queued, 1, 'the mail worker is woken')
  const token = tokenIn(mail.textBody)
  t.ok(token.length >= 40, 'the token has at least 256 bits')
  const raw = JSON.stringify(env.deps.sqlite.prepare('select * from invites').all())
  t.notOk(raw.includes(token), 'the token is not in the database')
  t.notOk(raw.toLowerCase().includes('bruno@example.com'), 'the invited address is encrypted')
  const page = await get(env.app, '/settings/members', env.cookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, 'bruno@example.com')
  t.match(page.body, /Pending invitations/)
})

t.test('accepting as a new person creates a verified account with the invited role, signs in and switches to the workspace', async (t) => {
  const env = await acme(t)
  const elsewhere = await createUser(env.deps, { workspace: 'Elsewhere' })
  const token = await invite(env, env.cookie, 'bruno@example.com', 'admin')
  const page = await get(env.app, `/invites/accept?token=${token}`)
  t.equal(page.statusCode, 200)
  t.equal(page.headers['referrer-policy'], 'no-referrer', 'the token never leaks through Referer')
  t.match(page.body, /Join Acme/)
  t.match(page.body, /Ana Owner invited you/)
  t.match(page.body, /value="bruno@example.com" readonly/, 'the address is fixed to the invited one')
  t.same(inlineCode(page.body), [], 'no inline script or style (strict CSP)')
  const weak = await post(env.app, '/invites/accept', { token, name: 'Bruno', password: 'short' })
  t.equal(weak.statusCode, 422)
  t.match(weak.body, /at least 8 characters/)
  t.match(weak.body, /value="Bruno"/, 'the typed name is kept')
  const res = await post(env.app, '/invites/accept', { token, name: 'Bruno Admin', password: goodPassword, email: 'attacker@example.com' })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/inbox')
  const cookie = sessionCookie(res)!
  t.ok(cookie, 'signed in')
  const user = env.deps.db.select().from(users).where(eq(users.name, 'Bruno Admin')).get()!
  t.equal(user.email, 'bruno@example.com', 'a posted email is ignored')
  t.ok(user.emailVerifiedAt !== null, 'the link proved the address')
  const member = env.deps.db.select().from(memberships).where(eq(memberships.userId, user.id)).get()!
  t.equal(member.workspaceId, env.owner.workspaceId)
  t.equal(member.role, 'admin')
  const session = env.deps.db.select().from(sessions).where(eq(sessions.userId, user.id)).get()!
  t.equal(session.workspaceId, env.owner.workspaceId, 'the session is in the invited workspace')
  t.equal((await get(env.app, '/settings/workspace', cookie)).statusCode, 200, 'admin pages open')
  t.not(member.workspaceId, elsewhere.workspaceId)
  const reuse = await get(env.app, `/invites/accept?token=${token}`)
  t.equal(reuse.statusCode, 410, 'the link works once')
  t.match(reuse.body, /no longer works/)
  t.equal((await post(env.app, '/invites/accept', { token, name: 'Eve', password: goodPassword })).statusCode, 410)
  t.equal(env.count('users'), 3)
})

t.test('an expired invitation and a revoked one answer 410 with a way forward', async (t) => {
  const env = await acme(t)
  const expired = await invite(env, env.cookie, 'late@example.com')
  env.clock.advance(8 * 86_400_000)
  const res = await get(env.app, `/invites/accept?token=${expired}`)
  t.equal(res.statusCode, 410)
  t.match(res.body, /Ask the person who invited you/)
  t.match(res.body, /href="\/login"/)
  t.equal((await post(env.app, '/invites/accept', { token: expired, name: 'Late', password: goodPassword })).statusCode, 410)

  const cookie = await signIn(env.app, env.owner)
  const revoked = await invite(env, cookie, 'gone@example.com')
  const row = env.deps.db.select().from(invites).orderBy(desc(sql`rowid`)).get()!
  const revoke = await post(env.app, `/settings/members/invites/${row.id}/revoke`, {}, cookie)
  t.equal(revoke.statusCode, 303)
  t.equal((await get(env.app, `/invites/accept?token=${revoked}`)).statusCode, 410)
  t.equal((await get(env.app, '/invites/accept?token=nonsense')).statusCode, 410)
  t.equal((await get(env.app, '/invites/accept')).statusCode, 410)
  const members = await get(env.app, '/settings/members', cookie)
  t.match(members.body, /No pending invitations/)
})

t.test("an admin of another workspace cannot revoke or see a workspace's invitation", async (t) => {
  const env = await acme(t)
  await invite(env, env.cookie, 'bruno@example.com')
  const row = env.deps.db.select().from(invites).get()!
  const other = await createUser(env.deps, { workspace: 'Other' })
  const otherAdmin = await createUser(env.deps)
  addMember(env.deps, other.workspaceId!, otherAdmin.id, 'admin')
  const cookie = await signIn(env.app, otherAdmin)
  const res = await post(env.app, `/settings/members/invites/${row.id}/revoke`, {}, cookie)
  t.equal(res.statusCode, 404)
  t.equal(env.deps.db.select().from(invites).get()!.revokedAt, null, 'still pending')
  const page = await get(env.app, '/settings/members', cookie)
  t.notMatch(page.body, /bruno@example\.com/)
})

t.test('inviting validates the address and the role, refuses current members and never invites an owner', async (t) => {
  const env = await acme(t)
  const bad = await post(env.app, '/settings/members/invite', { email: 'not-an-email', role: 'agent' }, env.cookie)
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /Enter an email address like/)
  t.match(bad.body, /value="not-an-email"/)
  const owner = await post(env.app, '/settings/members/invite', { email: 'boss@example.com', role: 'owner' }, env.cookie)
  t.equal(owner.statusCode, 422)
  t.match(owner.body, /promote a member/)
  const member = await post(env.app, '/settings/members/invite', { email: env.owner.email.toUpperCase(), role: 'agent' }, env.cookie)
  t.equal(member.statusCode, 422)
  t.match(member.body, /already a member/)
  t.equal(env.count('invites'), 0)
  t.equal(env.count('mail_outbox'), 0)
})

t.test('a second invitation to the same address replaces the first link', async (t) => {
  const env = await acme(t)
  const first = await invite(env, env.cookie, 'bruno@example.com')
  const second = await invite(env, env.cookie, 'bruno@example.com', 'admin')
  t.equal((await get(env.app, `/invites/accept?token=${first}`)).statusCode, 410)
  t.equal((await get(env.app, `/invites/accept?token=${second}`)).statusCode, 200)
})

t.test('a signed-in person accepts with one click, even from another address, and lands in the workspace', async (t) => {
  const env = await acme(t)
  const carla = await createUser(env.deps, { name: 'Carla', workspace: 'Carla Co' })
  const token = await invite(env, env.cookie, 'carla.work@example.com')
  const cookie = await signIn(env.app, carla)
  const page = await get(env.app, `/invites/accept?token=${token}`, cookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, /This invitation was sent to carla\.work@example\.com/)
  t.match(page.body, /Join Acme/)
  const res = await post(env.app, '/invites/accept', { token }, cookie)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/inbox')
  const list = await get(env.app, '/workspaces', cookie)
  t.match(list.body, /Acme/)
  t.match(list.body, /Carla Co/)
  const session = env.deps.db.select().from(sessions).where(eq(sessions.userId, carla.id)).get()!
  t.equal(session.workspaceId, env.owner.workspaceId, 'switched to the new workspace')
  t.equal(env.deps.db.select().from(memberships).where(eq(memberships.userId, carla.id)).all().length, 2)
})

t.test('when the invited address already has an account, a visitor is asked to sign in instead of creating a duplicate', async (t) => {
  const env = await acme(t)
  const dana = await createUser(env.deps, { name: 'Dana', email: 'dana@example.com' })
  const token = await invite(env, env.cookie, 'dana@example.com')
  const page = await get(env.app, `/invites/accept?token=${token}`)
  t.equal(page.statusCode, 200)
  t.match(page.body, /Sign in to accept/)
  t.match(page.body, /href="\/login\?next=%2Finvites%2Faccept%3Ftoken%3D/)
  t.notMatch(page.body, /name="password"/, 'no sign-up form')
  const res = await post(env.app, '/invites/accept', { token, name: 'Dana Again', password: goodPassword })
  t.equal(res.statusCode, 409)
  t.equal(env.count('users'), 2, 'no duplicate account')
  const cookie = await signIn(env.app, dana)
  t.equal((await post(env.app, '/invites/accept', { token }, cookie)).statusCode, 303)
  t.equal(env.deps.db.select().from(memberships).where(eq(memberships.userId, dana.id)).get()!.role, 'agent')
})

t.test('accepting when already a member just switches to the workspace and keeps the role', async (t) => {
  const env = await acme(t)
  const eli = await createUser(env.deps, { email: 'eli@example.com', workspace: 'Eli Co' })
  addMember(env.deps, env.owner.workspaceId!, eli.id, 'admin')
  const token = await invite(env, env.cookie, 'eli.other@example.com', 'agent')
  const cookie = await signIn(env.app, eli)
  const page = await get(env.app, `/invites/accept?token=${token}`, cookie)
  t.match(page.body, /already in Acme/)
  t.equal((await post(env.app, '/invites/accept', { token }, cookie)).statusCode, 303)
  const member = env.deps.db.select().from(memberships).where(eq(memberships.userId, eli.id)).all().find(m => m.workspaceId === env.owner.workspaceId)!
  t.equal(member.role, 'admin', 'the role is unchanged')
})

t.test('an agent cannot invite or revoke invitations', async (t) => {
  const env = await acme(t)
  await invite(env, env.cookie, 'x@example.com')
  const row = env.deps.db.select().from(invites).get()!
  const agent = await createUser(env.deps)
  addMember(env.deps, env.owner.workspaceId!, agent.id, 'agent')
  const cookie = await signIn(env.app, agent)
  t.equal((await post(env.app, '/settings/members/invite', { email: 'y@example.com', role: 'agent' }, cookie)).statusCode, 403)
  t.equal((await post(env.app, `/settings/members/invites/${row.id}/revoke`, {}, cookie)).statusCode, 403)
  const page = await get(env.app, '/settings/members', cookie)
  t.equal(page.statusCode, 200, 'agents can see the team')
  t.notMatch(page.body, /action="\/settings\/members\/invite"/, 'but get no invite form')
  t.notMatch(page.body, /\/revoke"/)
})

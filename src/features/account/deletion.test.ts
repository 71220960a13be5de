// "Delete my account": a sole owner is asked to hand over first; the password is checked; then the
// account is signed out, out of its workspaces, its email free, a confirmation email queued — and after
// the grace period (never above 30 days) the daily run purges it: the row, its sign-in history, its IP
// in workspace audit logs, the emails sent to it; what it wrote in workspaces stays, unsigned.
import t from 'tap'
import { addMember, createUser, get, signIn } from '../../../test/helpers/accounts.js'
import { buildTestApp, testConfig } from '../../../test/helpers/build-test-app.js'
import { runDueRetention } from '../privacy/retention.service.js'
import { deleteOwnAccount, purgeDate } from './deletion.service.js'

const day = 24 * 3_600_000

t.test('a sole owner must hand over first; a wrong password deletes nothing', async (t) => {
  const env = await buildTestApp(t)
  const owner = await createUser(env.deps, { name: 'Olga Owner', workspace: 'Loja Azul' })
  const refused = await deleteOwnAccount(env.deps, owner.id, owner.password, '203.0.113.9')
  t.match(refused, { ok: false, errors: { form: 'account.delete.errors.soleOwner' }, soleOwner: [{ name: 'Loja Azul' }] })
  const other = await createUser(env.deps, { name: 'Otto Owner' })
  addMember(env.deps, owner.workspaceId!, other.id, 'owner')
  t.match(await deleteOwnAccount(env.deps, owner.id, 'not my password', undefined), { ok: false, errors: { password: 'auth.current.wrong' } })
  t.equal((env.deps.sqlite.prepare('SELECT count(*) AS n FROM users WHERE deleted_at IS NOT NULL').get() as { n: number }).n, 0, 'nothing deleted')
  t.match(await deleteOwnAccount(env.deps, owner.id, owner.password, undefined), { ok: true, purgeAt: env.clock.now() + 30 * day }, 'with another owner: deleted')
})

t.test('deleted: signed out, out of the workspace, email free, told by email; purged after 30 days', async (t) => {
  const env = await buildTestApp(t)
  const owner = await createUser(env.deps, { name: 'Olga Owner', workspace: 'Loja Azul' })
  const agent = await createUser(env.deps, { name: 'Zed Agentcanary', email: 'zed.canary@example.org' })
  addMember(env.deps, owner.workspaceId!, agent.id, 'agent')
  const cookie = await signIn(env.app, agent)
  t.equal((await get(env.app, '/inbox', cookie)).statusCode, 200)
  const mailsBefore = env.count('mail_outbox')

  const r = await deleteOwnAccount(env.deps, agent.id, agent.password, '203.0.113.7')
  t.ok(r.ok)
  t.not((await get(env.app, '/inbox', cookie)).statusCode, 200, 'the old session no longer works')
  t.equal(env.count('sessions'), 0 + (env.deps.sqlite.prepare('SELECT count(*) AS n FROM sessions WHERE user_id != ?').get(agent.id) as { n: number }).n, 'every session of theirs is gone')
  t.equal((env.deps.sqlite.prepare('SELECT count(*) AS n FROM memberships WHERE user_id = ?').get(agent.id) as { n: number }).n, 0, 'out of every workspace')
  await t.rejects(signIn(env.app, agent), /sign-in failed/, 'cannot sign in')
  t.equal(env.count('mail_outbox'), mailsBefore + 1, 'a confirmation email is queued')
  t.equal((env.deps.sqlite.prepare('SELECT kind FROM mail_outbox ORDER BY created_at DESC, id DESC LIMIT 1').get() as { kind: string }).kind, 'account_deleted')
  const again = await createUser(env.deps, { name: 'Zed Again', email: 'zed.canary@example.org' })
  t.ok(again.id, 'the email can open a new account at once')
  t.equal((env.deps.sqlite.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'account_deleted' AND actor_user_id = ?").get(agent.id) as { n: number }).n, 1)

  env.clock.advance(29 * day)
  await runDueRetention(env.deps)
  t.equal((env.deps.sqlite.prepare('SELECT count(*) AS n FROM users WHERE id = ?').get(agent.id) as { n: number }).n, 1, 'day 29: still there')
  env.clock.advance(1 * day + 1)
  await runDueRetention(env.deps)
  t.equal((env.deps.sqlite.prepare('SELECT count(*) AS n FROM users WHERE id = ?').get(agent.id) as { n: number }).n, 0, 'day 30: purged')
  t.equal((env.deps.sqlite.prepare('SELECT count(*) AS n FROM audit_log WHERE workspace_id IS NULL AND (actor_user_id = ? OR subject_user_id = ?)').get(agent.id, agent.id) as { n: number }).n, 0, 'their sign-in history is gone')
  const raw = JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM users').all()) + JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM audit_log').all())
  t.notMatch(raw, /Zed Agentcanary|203\.0\.113\.7/, 'no name or IP of theirs in users or the audit log')
  t.equal((env.deps.sqlite.prepare("SELECT count(*) AS n FROM mail_outbox WHERE kind = 'account_deleted'").get() as { n: number }).n, 0, 'the emails sent to them are gone')
})

t.test('the purge grace is configurable but never above 30 days', async (t) => {
  t.throws(() => testConfig({ 'privacy.account_purge_days': '31' }), /account_purge_days/)
  const env = await buildTestApp(t, { set: { 'privacy.account_purge_days': '7' } })
  t.equal(purgeDate(env.deps, 0), 7 * day)
})

t.test('whoever leaves — removed, left or deleted their account — hands their conversations back to the unassigned queue', async (t) => {
  const { withChannel, deliver, envelope, message, messagesValue } = await import('../../../test/helpers/whatsapp.js')
  const { processAllPending } = await import('../webhooks/webhook-processor.js')
  const { assignConversation } = await import('../inbox/conversations.service.js')
  const { post } = await import('../../../test/helpers/accounts.js')
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  for (const [i, waId] of ['15550100111', '15550100222'].entries()) {
    await deliver(env, env.url, envelope(messagesValue([{ waId, name: `Customer ${i}` }], { messages: [message(`wamid.U${i}`, { waId }, 'text', { body: 'hi' })] })))
  }
  processAllPending(env.deps)
  await deliver(env, env.url, envelope(messagesValue([{ waId: '15550100333', name: 'Customer 3' }], { messages: [message('wamid.U3', { waId: '15550100333' }, 'text', { body: 'hi' })] })))
  processAllPending(env.deps)
  const [first, second, third] = (env.deps.sqlite.prepare('SELECT id FROM conversations ORDER BY id').all() as Array<{ id: string }>).map(r => r.id)
  const bruno = await createUser(env.deps, { name: 'Bruno Agent' })
  const carla = await createUser(env.deps, { name: 'Carla Agent' })
  addMember(env.deps, ws, bruno.id, 'agent')
  addMember(env.deps, ws, carla.id, 'agent')
  assignConversation(env.deps, { workspaceId: ws }, first!, bruno.id)
  assignConversation(env.deps, { workspaceId: ws }, second!, carla.id)
  const assignee = (id: string): string | null => (env.deps.sqlite.prepare('SELECT assignee_id AS a FROM conversations WHERE id = ?').get(id) as { a: string | null }).a

  const owner = env.deps.sqlite.prepare("SELECT user_id AS id FROM memberships WHERE role = 'owner'").get() as { id: string }
  t.equal(owner.id, env.ownerId)
  const ownerUser = await createUser(env.deps, { name: 'Second Owner' })
  addMember(env.deps, ws, ownerUser.id, 'owner')
  const removed = await post(env.app, `/settings/members/${bruno.id}/remove`, {}, await signIn(env.app, ownerUser))
  t.equal(removed.statusCode, 303)
  t.equal(assignee(first!), null, 'a removed member\'s conversation is unassigned')
  t.equal(assignee(second!), carla.id, 'others keep theirs')
  t.ok((await deleteOwnAccount(env.deps, carla.id, carla.password, undefined)).ok)
  t.equal(assignee(second!), null, 'a deleted account\'s conversation is unassigned')
  const dora = await createUser(env.deps, { name: 'Dora Agent' })
  addMember(env.deps, ws, dora.id, 'agent')
  assignConversation(env.deps, { workspaceId: ws }, third!, dora.id)
  const left = await post(env.app, '/settings/members/leave', {}, await signIn(env.app, dora))
  t.equal(left.statusCode, 303)
  t.equal(assignee(third!), null, 'so is the conversation of someone who left')
})

// The Webhook log page: admins see every delivery with its result and the error of failed ones, can
// replay; agents cannot; other workspaces' deliveries are invisible; no payload content is shown.
import t from 'tap'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { deliver, envelope, message, messagesValue, withChannel, type Sender } from '../../../test/helpers/whatsapp.js'
import { processAllPending } from './webhook-processor.js'
import { listWebhookEvents } from './webhook-events.store.js'

const ana: Sender = { waId: '15550100111', userId: 'US.ana', name: 'Ana' }

t.test('admins see deliveries and errors, and replay a failed one once the cause is fixed', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  const owner = await createUser(env.deps, { name: 'Olga' })
  addMember(env.deps, ws, owner.id, 'admin')
  const cookie = await signIn(env.app, owner)

  const empty = await get(env.app, '/settings/webhooks', cookie)
  t.equal(empty.statusCode, 200)
  t.match(empty.body, /No deliveries yet/)

  env.deps.sqlite.exec("CREATE TRIGGER fault BEFORE INSERT ON messages WHEN NEW.wamid = 'wamid.L2' BEGIN SELECT RAISE(ABORT, 'disk quota reached'); END")
  await deliver(env, env.url, envelope(messagesValue([ana], { messages: [message('wamid.L1', ana, 'text', { body: 'secret order 123' })] })))
  await deliver(env, env.url, envelope(messagesValue([ana], { messages: [message('wamid.L2', ana, 'text', { body: 'second secret' }, {}, 1_789_200_010)] })))
  await deliver(env, env.url, envelope(messagesValue([ana], { messages: [message('wamid.L3', ana, 'text', { body: 'x' })] }, '4242')))
  processAllPending(env.deps)

  const page = await get(env.app, '/settings/webhooks', cookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, /disk quota reached/, 'the error of the failed delivery')
  t.match(page.body, /4242/, 'why a delivery was set aside')
  t.match(page.body, /Replay 1 failed/)
  t.notMatch(page.body, /secret order|second secret|15550100111/, 'no payload content on the page')
  const failedOnly = await get(env.app, '/settings/webhooks?status=failed', cookie)
  t.equal((failedOnly.body.match(/<tr id="delivery-/g) ?? []).length, 1)

  const failed = listWebhookEvents(env.deps.db, ws, 'failed')[0]!
  env.deps.sqlite.exec('DROP TRIGGER fault')
  const replay = await post(env.app, `/settings/webhooks/${failed.id}/replay`, {}, cookie)
  t.equal(replay.statusCode, 303)
  t.match(replay.headers.location, /done=replayed&n=1/)
  t.equal(env.count('messages'), 2, 'the replayed delivery was processed at once')
  const after = await get(env.app, replay.headers.location as string, cookie)
  t.match(after.body, /Replayed 1 deliveries/)
  t.notMatch(after.body, /Replay 1 failed/)
  t.equal((await post(env.app, `/settings/webhooks/${failed.id}/replay`, {}, cookie)).statusCode, 303, 'a processed delivery can be replayed too')
  t.equal(env.count('messages'), 2, '… and changes nothing')
  t.ok(env.deps.sqlite.prepare("SELECT 1 FROM audit_log WHERE action = 'webhooks_replayed'").get(), 'replays are audited')
})

t.test('agents cannot open the log; another workspace cannot replay our deliveries', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  const agent = await createUser(env.deps, { name: 'Agnes' })
  addMember(env.deps, ws, agent.id, 'agent')
  await deliver(env, env.url, envelope(messagesValue([ana], { messages: [message('wamid.A1', ana, 'text', { body: 'hi' })] })))
  const id = listWebhookEvents(env.deps.db, ws)[0]!.id
  const agentCookie = await signIn(env.app, agent)
  t.equal((await get(env.app, '/settings/webhooks', agentCookie)).statusCode, 403)
  t.equal((await post(env.app, `/settings/webhooks/${id}/replay`, {}, agentCookie)).statusCode, 403)
  const other = await createUser(env.deps, { workspace: 'Other' })
  const otherCookie = await signIn(env.app, other)
  t.equal((await post(env.app, `/settings/webhooks/${id}/replay`, {}, otherCookie)).statusCode, 404)
  t.equal(listWebhookEvents(env.deps.db, ws)[0]!.status, 'pending', 'untouched')
  const theirs = await get(env.app, '/settings/webhooks', otherCookie)
  t.notMatch(theirs.body, new RegExp(id))
})

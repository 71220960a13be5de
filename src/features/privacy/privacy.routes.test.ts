// Settings → Data retention over HTTP: admins see and save the workspace's retention (audited, a notice
// after the redirect, a warning once something will be removed), wrong values answer 422 with the
// messages and what was typed, agents are refused, another workspace is untouched, and the "Last run"
// panel shows what the daily job removed.
import t from 'tap'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { teamWorld, type TeamWorld } from '../../../test/helpers/team.js'
import { deliver, envelope, message, messagesValue, withChannel, type Sender } from '../../../test/helpers/whatsapp.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { runDueRetention } from './retention.service.js'

const day = 24 * 3_600_000

interface Row { d: number | null, w: number, c: number | null }
const settingsOf = (env: TeamWorld, ws: string): Row =>
  env.deps.sqlite.prepare('SELECT retain_messages_days AS d, retain_webhook_days AS w, retain_contacts_months AS c FROM workspaces WHERE id = ?').get(ws) as Row

const auditOf = (env: { deps: TeamWorld['deps'] }, action: string): Array<{ actor: string, ws: string, details: Record<string, string> }> =>
  (env.deps.sqlite.prepare('SELECT actor_user_id AS actor, workspace_id AS ws, details FROM audit_log WHERE action = ? ORDER BY created_at').all(action) as Array<{ actor: string, ws: string, details: string }>)
    .map(r => ({ ...r, details: JSON.parse(r.details) as Record<string, string> }))

/** The value attribute of the input named `name`. */
const valueOf = (html: string, name: string): string | undefined => new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html)?.[1]

t.test('an admin opens the page, saves, lands back with a notice and a warning; the change is audited', async (t) => {
  const env = await teamWorld(t)
  const first = await get(env.app, '/settings/retention', env.adminCookie)
  t.equal(first.statusCode, 200)
  t.match(first.body, /<a class="tab" href="\/settings\/retention" aria-current="page">Data retention<\/a>/, 'its tab, current')
  t.match(first.body, /Message bodies and files/)
  t.match(first.body, /WhatsApp webhook payloads/)
  t.match(first.body, /Inactive contacts/)
  t.match(first.body, /stays in the conversation as a dated “removed” line/)
  t.match(first.body, /erased with everything about them/)
  t.match(first.body, /Contacts on legal hold are never removed[^<]*Set the hold on the contact(&#39;|')s page/)
  t.match(first.body, /1 to 3650 days/, 'the limits')
  t.match(first.body, /1 to 90 days; 14 by default/)
  t.match(first.body, /1 to 120 months/)
  t.same([valueOf(first.body, 'messagesDays'), valueOf(first.body, 'webhookDays'), valueOf(first.body, 'contactsMonths')], ['', '14', ''], 'the defaults')
  t.match(first.body, /Not run yet — it runs once a day\./)
  t.notMatch(first.body, /id="retention-warning"/, 'nothing but old webhook payloads is removed: no warning')
  t.notMatch(first.body, /Saved\. The next daily run applies it\./)

  const saved = await post(env.app, '/settings/retention', { messagesDays: ' 30 ', webhookDays: '7', contactsMonths: '' }, env.adminCookie)
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, '/settings/retention?done=saved')
  t.same(settingsOf(env, env.ws), { d: 30, w: 7, c: null })
  t.same(settingsOf(env, env.otherWs), { d: null, w: 14, c: null }, 'another workspace is untouched')

  const back = await get(env.app, String(saved.headers.location), env.adminCookie)
  t.equal(back.statusCode, 200)
  t.match(back.body, /class="flash flash-success"[\s\S]*Saved\. The next daily run applies it\./)
  t.same([valueOf(back.body, 'messagesDays'), valueOf(back.body, 'webhookDays'), valueOf(back.body, 'contactsMonths')], ['30', '7', ''])
  t.match(back.body, /id="retention-warning"[\s\S]*This removes data\.[\s\S]*Message text and files older than 30 days are removed\.[\s\S]*This applies to the data you already have, at the next daily run\./)
  t.notMatch(back.body, /Contacts inactive for/, 'contacts are still kept')

  const audit = auditOf(env, 'retention_changed')
  t.equal(audit.length, 1, 'audited')
  const adminId = (env.deps.sqlite.prepare("SELECT user_id AS id FROM memberships WHERE workspace_id = ? AND role = 'admin'").get(env.ws) as { id: string }).id
  t.equal(audit[0]!.actor, adminId, 'by the admin')
  t.equal(audit[0]!.ws, env.ws)
  t.same(audit[0]!.details, { messages: 'forever → 30', webhooks: '14 → 7', contacts: 'forever → forever' })
  t.match((await get(env.app, '/settings/audit', env.adminCookie)).body, /changed data retention/, 'in the audit log page')

  // Contacts too: the warning names both; the plural follows the number.
  t.equal((await post(env.app, '/settings/retention', { messagesDays: '30', webhookDays: '7', contactsMonths: '1' }, env.adminCookie)).statusCode, 303)
  const both = (await get(env.app, '/settings/retention', env.adminCookie)).body
  t.match(both, /Message text and files older than 30 days are removed\. Contacts inactive for 1 month are erased\./)
  t.notMatch(both, /Saved\. The next daily run applies it\./, 'the notice only after saving')
  // Back to keeping everything: empty fields save as "keep forever".
  t.equal((await post(env.app, '/settings/retention', { messagesDays: '', webhookDays: '14', contactsMonths: '' }, env.adminCookie)).statusCode, 303)
  t.same(settingsOf(env, env.ws), { d: null, w: 14, c: null })
  t.notMatch((await get(env.app, '/settings/retention', env.adminCookie)).body, /id="retention-warning"/)
  t.equal(auditOf(env, 'retention_changed').length, 3)
})

t.test('wrong values: 422 with each field\'s message, what was typed kept, nothing saved', async (t) => {
  const env = await teamWorld(t)
  const res = await post(env.app, '/settings/retention', { messagesDays: '0', webhookDays: '91', contactsMonths: 'twelve' }, env.adminCookie)
  t.equal(res.statusCode, 422)
  t.match(res.body, /Enter a number of days from 1 to 3650, or leave it empty to keep messages\./)
  t.match(res.body, /Enter a number of days from 1 to 90\./)
  t.match(res.body, /Enter a number of months from 1 to 120, or leave it empty to keep contacts\./)
  t.same([valueOf(res.body, 'messagesDays'), valueOf(res.body, 'webhookDays'), valueOf(res.body, 'contactsMonths')], ['0', '91', 'twelve'], 'what was typed is kept')
  t.equal(res.body.match(/aria-invalid="true"/g)?.length, 3, 'each field marked')
  t.match(res.body, /aria-describedby="f-webhookDays-hint f-webhookDays-error"/, 'the message is tied to its input')
  t.notMatch(res.body, /id="retention-warning"/, 'nothing saved, so nothing will be removed')
  t.same(settingsOf(env, env.ws), { d: null, w: 14, c: null }, 'nothing saved')
  t.equal(auditOf(env, 'retention_changed').length, 0, 'nothing audited')

  // The webhook payloads have no "keep forever"; a valid field next to a wrong one is kept as typed.
  const empty = await post(env.app, '/settings/retention', { messagesDays: '90', webhookDays: '', contactsMonths: '' }, env.adminCookie)
  t.equal(empty.statusCode, 422)
  t.match(empty.body, /Enter a number of days from 1 to 90\./)
  t.notMatch(empty.body, /from 1 to 3650, or leave it empty/)
  t.equal(valueOf(empty.body, 'messagesDays'), '90')
  t.same(settingsOf(env, env.ws), { d: null, w: 14, c: null })
})

t.test('agents cannot open or save it, and do not see its tab; an owner of another workspace saves only theirs', async (t) => {
  const env = await teamWorld(t)
  t.equal((await get(env.app, '/settings/retention', env.agentCookie)).statusCode, 403)
  t.equal((await post(env.app, '/settings/retention', { messagesDays: '1', webhookDays: '1', contactsMonths: '1' }, env.agentCookie)).statusCode, 403)
  t.same(settingsOf(env, env.ws), { d: null, w: 14, c: null }, 'nothing saved')
  const members = await get(env.app, '/settings/members', env.agentCookie)
  t.equal(members.statusCode, 200)
  t.notMatch(members.body, /href="\/settings\/retention"/, 'no tab for agents')
  t.match((await get(env.app, '/settings/members', env.adminCookie)).body, /href="\/settings\/retention"/, 'admins have it')
  t.equal((await get(env.app, '/settings/retention')).statusCode, 303, 'signed out: sent to sign in')

  t.equal((await post(env.app, '/settings/retention', { messagesDays: '5', webhookDays: '3', contactsMonths: '' }, env.outsiderCookie)).statusCode, 303)
  t.same(settingsOf(env, env.otherWs), { d: 5, w: 3, c: null })
  t.same(settingsOf(env, env.ws), { d: null, w: 14, c: null }, 'not ours')
})

t.test('the "Last run" panel shows when the daily job ran and what it removed', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  const admin = await createUser(env.deps, { name: 'Ana Admin' })
  addMember(env.deps, ws, admin.id, 'admin')
  const cookie = await signIn(env.app, admin)
  const ana: Sender = { waId: '15550100111', name: 'Ana Souza' }
  const res = await deliver(env, env.url, envelope(messagesValue([ana], { messages: [message('wamid.RUN1', ana, 'text', { body: 'old news' }, {}, Math.floor(env.clock.now() / 1000))] })))
  t.equal(res.statusCode, 200)
  processAllPending(env.deps)
  t.equal((await post(env.app, '/settings/retention', { messagesDays: '10', webhookDays: '14', contactsMonths: '' }, cookie)).statusCode, 303)

  env.clock.advance(20 * day)
  t.equal(await runDueRetention(env.deps), 1, 'the job ran for the workspace')
  const ranAt = env.clock.now()
  env.clock.advance(3 * 3_600_000)
  const later = await signIn(env.app, admin) // the first session has expired in 20 days
  const page = await get(env.app, '/settings/retention', later)
  t.equal(page.statusCode, 200)
  t.notMatch(page.body, /Not run yet/)
  t.match(page.body, new RegExp(`<time datetime="${new Date(ranAt).toISOString()}">`), 'when it ran')
  t.match(page.body, /3 hours ago/)
  const stat = (label: string): string | undefined => new RegExp(`<dt>${label}</dt><dd>([^<]*)</dd>`).exec(page.body)?.[1]
  t.same({ payloads: stat('Webhook payloads'), messages: stat('Messages'), files: stat('Files'), contacts: stat('Inactive contacts') }, { payloads: '1', messages: '1', files: '0', contacts: '0' }, 'what it removed')
  t.match(page.body, /Each run that removes something is recorded in the audit log/)

  // A later run that finds nothing says so.
  env.clock.advance(day)
  t.equal(await runDueRetention(env.deps), 1)
  const quiet = (await get(env.app, '/settings/retention', await signIn(env.app, admin))).body
  t.match(quiet, /<dt>Webhook payloads<\/dt><dd>0<\/dd>/)
  t.match(quiet, /Nothing was old enough to remove\./)
})

t.test('in Portuguese', async (t) => {
  const env = await teamWorld(t)
  const page = await get(env.app, '/settings/retention', env.adminCookie, { 'accept-language': 'pt-BR' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /Retenção de dados/)
  t.match(page.body, /Ainda não executou — a rotina roda uma vez por dia\./)
  t.notMatch(page.body, /privacy\.retention\./, 'no missing key shown')
})

// Retention: raw payloads after N days (14 by default), message bodies and files after N days,
// inactive contacts after N months, legal hold exempting a contact, one run a day with its report,
// and the settings' validation. A fake clock moves time; messages carry timestamps relative to it.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { deliver, envelope, message, messagesValue, withChannel, type ChannelApp, type Sender } from '../../../test/helpers/whatsapp.js'
import { mediaFilePath } from '../media/media.service.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { setLegalHold } from '../contacts/contact-edit.service.js'
import { forgetContact } from '../contacts/forget.service.js'
import { parseRetention, retentionSettings, runDueRetention, saveRetention } from './retention.service.js'

const day = 24 * 3_600_000
const ana: Sender = { waId: '15550100111', userId: 'US.1000000000000000111', name: 'Ana Souza' }
const bia: Sender = { waId: '15550100222', userId: 'US.1000000000000000222', name: 'Bia Lima' }

async function write (env: ChannelApp, who: Sender, wamid: string, type = 'text', payload: unknown = { body: `hello from ${who.name ?? ''}` }): Promise<void> {
  const res = await deliver(env, env.url, envelope(messagesValue([who], { messages: [message(wamid, who, type, payload, {}, Math.floor(env.clock.now() / 1000))] })))
  if (res.statusCode !== 200) throw new Error(`webhook ${res.statusCode}`)
  processAllPending(env.deps)
}

const contactOf = (env: ChannelApp, name: string): string => (env.deps.sqlite.prepare('SELECT id FROM contacts WHERE profile_name = ?').get(name) as { id: string }).id
const types = (env: ChannelApp): string[] => (env.deps.sqlite.prepare('SELECT type FROM messages ORDER BY timestamp, id').all() as Array<{ type: string }>).map(r => r.type)

t.test('raw payloads go after 14 days by default; nothing else is removed unless the workspace asks', async (t) => {
  const env = await withChannel(t)
  await write(env, ana, 'wamid.R1')
  env.clock.advance(10 * day)
  await write(env, ana, 'wamid.R2')
  t.equal(await runDueRetention(env.deps), 1, 'the workspace ran')
  t.equal(env.count('webhook_events'), 2, '10 days: kept')
  env.clock.advance(5 * day)
  t.equal(await runDueRetention(env.deps), 1)
  t.equal(env.count('webhook_events'), 1, '15 days: the older one is gone')
  t.equal(await runDueRetention(env.deps), 0, 'once a day per workspace')
  t.equal(env.count('messages'), 2, 'messages are kept by default')
  t.match(retentionSettings(env.deps, env.channel.workspaceId).lastRun, { rawPayloads: 1, messages: 0, contacts: 0 })
  const audit = env.deps.sqlite.prepare("SELECT details FROM audit_log WHERE action = 'retention_applied'").all() as Array<{ details: string }>
  t.same(audit.map(a => JSON.parse(a.details)), [{ rawPayloads: 1, messages: 0, files: 0, contacts: 0 }], 'audited when something went')
})

t.test('old message bodies and files expire; a contact on legal hold keeps everything', async (t) => {
  const dataDir = join(t.testdir({}), 'data')
  const env = await withChannel(t, { set: { 'storage.data_dir': dataDir } })
  const ws = env.channel.workspaceId
  await write(env, ana, 'wamid.M1', 'image', { id: '990001', mime_type: 'image/jpeg', sha256: 'x', caption: 'old receipt' })
  await write(env, bia, 'wamid.M2')
  const mediaId = (env.deps.sqlite.prepare('SELECT id FROM media').get() as { id: string }).id
  const file = mediaFilePath(dataDir, ws, mediaId)
  mkdirSync(join(file, '..'), { recursive: true })
  writeFileSync(file, 'sealed')
  t.ok(setLegalHold(env.deps.db, { userId: env.ownerId, workspaceId: ws }, contactOf(env, 'Bia Lima'), true, env.clock.now()))
  env.clock.advance(40 * day)
  await write(env, ana, 'wamid.M3')
  saveRetention(env.deps, { userId: env.ownerId, workspaceId: ws }, { messagesDays: 30, webhookDays: 14, contactsMonths: null })
  await runDueRetention(env.deps)
  t.same(types(env), ['expired', 'text', 'text'], 'Ana\'s 40-day-old photo expired; Bia (legal hold) and the new message kept')
  t.equal(env.count('media'), 0, 'its media row is gone')
  t.notOk(existsSync(file), 'and its file')
  t.match(retentionSettings(env.deps, ws).lastRun, { messages: 1, mediaFiles: 1 })
  const conversation = (env.deps.sqlite.prepare('SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE k.profile_name = ?').get('Ana Souza') as { id: string }).id
  const { addMember, createUser, signIn } = await import('../../../test/helpers/accounts.js')
  const agent = await createUser(env.deps, { name: 'Bruno Agent' })
  addMember(env.deps, ws, agent.id, 'agent')
  const cookie = await signIn(env.app, agent)
  const page = await env.app.inject({ method: 'GET', url: `/inbox/${conversation}`, headers: { cookie } })
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Removed by this workspace', 'the thread says what happened to it')
  t.notMatch(page.body, 'old receipt')
  const released = setLegalHold(env.deps.db, { userId: env.ownerId, workspaceId: ws }, contactOf(env, 'Bia Lima'), false, env.clock.now())
  t.ok(released)
  env.clock.advance(day + 1)
  await runDueRetention(env.deps)
  t.same(types(env), ['expired', 'expired', 'text'], 'released from hold: it expires at the next run')
  t.equal((env.deps.sqlite.prepare("SELECT count(*) AS n FROM audit_log WHERE action IN ('legal_hold_set', 'legal_hold_released')").get() as { n: number }).n, 2, 'hold and release audited')
})

t.test('inactive contacts are erased after N months; active and held ones stay; a held one cannot be forgotten', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  await write(env, ana, 'wamid.C1')
  await write(env, bia, 'wamid.C2')
  t.ok(setLegalHold(env.deps.db, { userId: env.ownerId, workspaceId: ws }, contactOf(env, 'Bia Lima'), true, env.clock.now()))
  await t.rejects(forgetContact(env.deps, { userId: env.ownerId, workspaceId: ws }, contactOf(env, 'Bia Lima')), { code: 'legal_hold', statusCode: 409 }, 'a legal hold wins over a request to forget')
  env.clock.advance(100 * day)
  const carla: Sender = { waId: '15550100333', userId: 'US.1000000000000000333', name: 'Carla Dias' }
  await write(env, carla, 'wamid.C3')
  saveRetention(env.deps, { userId: env.ownerId, workspaceId: ws }, { messagesDays: null, webhookDays: 14, contactsMonths: 3 })
  await runDueRetention(env.deps)
  const names = (env.deps.sqlite.prepare('SELECT profile_name AS n FROM contacts ORDER BY n').all() as Array<{ n: string }>).map(r => r.n)
  t.same(names, ['Bia Lima', 'Carla Dias'], 'Ana (inactive 100 days > 3 months) erased; Bia held; Carla active')
  t.equal(env.count('conversations'), 2, 'with her conversation')
  t.match(retentionSettings(env.deps, ws).lastRun, { contacts: 1, messages: 1 })
})

t.test('retention settings are checked and audited', async (t) => {
  t.same(parseRetention({ messagesDays: '', webhookDays: '14', contactsMonths: '' }), { ok: true, value: { messagesDays: null, webhookDays: 14, contactsMonths: null } })
  t.same(parseRetention({ messagesDays: ' 365 ', webhookDays: '7', contactsMonths: '24' }), { ok: true, value: { messagesDays: 365, webhookDays: 7, contactsMonths: 24 } })
  t.same(parseRetention({ messagesDays: '0', webhookDays: '', contactsMonths: '-3' }), { ok: false, errors: { messagesDays: 'privacy.retention.errors.messagesDays', webhookDays: 'privacy.retention.errors.webhookDays', contactsMonths: 'privacy.retention.errors.contactsMonths' } })
  t.same(parseRetention({ messagesDays: 'abc', webhookDays: '91', contactsMonths: '121' }).ok, false, 'over the limits')
  const env = await withChannel(t)
  saveRetention(env.deps, { userId: env.ownerId, workspaceId: env.channel.workspaceId }, { messagesDays: 90, webhookDays: 7, contactsMonths: null })
  t.match(retentionSettings(env.deps, env.channel.workspaceId), { messagesDays: 90, webhookDays: 7, contactsMonths: null, lastRun: null })
  const audit = env.deps.sqlite.prepare("SELECT details FROM audit_log WHERE action = 'retention_changed'").get() as { details: string }
  t.same(JSON.parse(audit.details), { messages: 'forever → 90', webhooks: '14 → 7', contacts: 'forever → forever' })
})

t.test('automatic backups older than 30 days are deleted by the daily run', async (t) => {
  const dataDir = join(t.testdir({}), 'data')
  const env = await withChannel(t, { set: { 'storage.data_dir': dataDir } })
  const { utimesSync } = await import('node:fs')
  mkdirSync(join(dataDir, 'backups'), { recursive: true })
  const old = join(dataDir, 'backups', 'weltra-20260101T000000Z-before-0009_outgoing_webhooks.db')
  const recent = join(dataDir, 'backups', 'weltra-20260110T000000Z-before-0010_contact_tombstones.db')
  const mine = join(dataDir, 'backups', 'my-own-copy.db')
  for (const f of [old, recent, mine]) writeFileSync(f, 'x')
  const at = (ms: number): Date => new Date(ms)
  utimesSync(old, at(env.clock.now() - 31 * day), at(env.clock.now() - 31 * day))
  utimesSync(recent, at(env.clock.now() - 5 * day), at(env.clock.now() - 5 * day))
  utimesSync(mine, at(env.clock.now() - 90 * day), at(env.clock.now() - 90 * day))
  await runDueRetention(env.deps)
  t.same([existsSync(old), existsSync(recent), existsSync(mine)], [false, true, true], 'only Weltra\'s own backups older than 30 days')
})

// "Forget this contact": deleted means gone. A contact with a conversation, a note, numbers, an email,
// a media file, raw webhook payloads and outgoing webhook deliveries is forgotten on a real database
// file; then the .db, -wal and media files are scanned byte for byte for what identified the person
// (plaintext names, ciphertexts, blind indexes, their message ids): zero hits, while another contact's
// data is still found by the same scan. Tombstones stop an import; a new message starts a new contact.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../app.js'
import { createUser } from '../../../test/helpers/accounts.js'
import { testConfig, testMasterKey } from '../../../test/helpers/build-test-app.js'
import { deliver, envelope, fixturePhoneNumberId, fixtureSecret, fixtureWaba, message, messagesValue, type Sender } from '../../../test/helpers/whatsapp.js'
import { createDeps, openStorage } from '../../deps.js'
import { resolveAssets } from '../../platform/assets.js'
import { fakeClock } from '../../platform/clock.js'
import { Keyring } from '../../platform/crypto/index.js'
import { createLogger } from '../../platform/logger.js'
import { createChannel } from '../channels/channels.service.js'
import { createSubscription } from '../hooks/hooks.service.js'
import { startHooksWorker } from '../hooks/hooks.worker.js'
import { mediaFilePath } from '../media/media.service.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { addEmail, addPhone, renameContact, setNotes } from './contact-edit.service.js'
import { forgetContact, isForgotten } from './forget.service.js'

const canary: Sender = { waId: '15550107777', userId: 'US.CANARY0000000000777', name: 'Zyxcanary Profile' }
const keeper: Sender = { waId: '15550108888', userId: 'US.KEEPER0000000000888', name: 'Keeperina Profile' }

/** Every file under `dir`, recursively. */
function filesUnder (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })
}

/** Which of `needles` occur in any file under `dir` (as UTF-8 bytes). */
function found (dir: string, needles: readonly string[]): string[] {
  const blobs = filesUnder(dir).map(f => readFileSync(f))
  return needles.filter(n => blobs.some(b => b.includes(Buffer.from(n, 'utf8'))))
}

t.test('a forgotten contact leaves no trace in the database, its WAL, media or webhook copies', async (t) => {
  const dataDir = t.testdir()
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const config = testConfig({ 'storage.data_dir': dataDir, 'outgoing_webhooks.allow_private_addresses': 'true', 'outgoing_webhooks.allow_http': 'true' })
  const clock = fakeClock(Date.now())
  const ring = Keyring.fromBase64(testMasterKey)
  const assets = resolveAssets(join(dataDir, '.runtime'))
  const storage = openStorage(config, assets, ring)
  const deps = createDeps({ config, storage, ring, keyStatus: { source: 'config' }, assets, log: createLogger('silent'), clock })
  const app = await buildApp(deps, { cacheTemplates: true })
  t.teardown(async () => { await app.close(); if (storage.sqlite.open) storage.sqlite.close() })

  const owner = await createUser(deps, { workspace: 'Shop' })
  const ws = owner.workspaceId!
  const channel = createChannel(deps.db, ws, { name: 'Main', wabaId: fixtureWaba, phoneNumberId: fixturePhoneNumberId, accessToken: 'EAAG-test-token-1234', appSecret: fixtureSecret, graphApiVersion: 'v25.0' }, clock.now())
  const url = `/webhooks/whatsapp/${channel.publicId}`

  // A receiver for outgoing webhooks, so their deliveries (carrying the contact) are stored and logged.
  const server = createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const sub = await createSubscription(deps, { userId: owner.id, workspaceId: ws }, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`, description: '', events: ['message.received', 'contact.created', 'contact.updated', 'conversation.created'] })
  t.ok(sub.ok)
  const hooks = startHooksWorker(deps, { pollMs: 3_600_000 })
  t.teardown(() => hooks.stop())

  // Both people write; the canary sends text and an image; the team adds a name, notes, a number, an email.
  const post = async (body: object): Promise<void> => { t.equal((await deliver({ app }, url, body)).statusCode, 200) }
  await post(envelope(messagesValue([canary], { messages: [message('wamid.CANARYMSG0001', canary, 'text', { body: 'Zyxcanary secret order 4417' })] })))
  await post(envelope(messagesValue([canary], { messages: [message('wamid.CANARYIMG0002', canary, 'image', { id: '990000000000777', mime_type: 'image/jpeg', sha256: 'x', caption: 'Zyxcanary photo' })] })))
  await post(envelope(messagesValue([keeper], { messages: [message('wamid.KEEPERMSG0001', keeper, 'text', { body: 'Keeperina hello' })] })))
  processAllPending(deps)
  const ids = deps.sqlite.prepare('SELECT id, profile_name AS name FROM contacts ORDER BY profile_name').all() as Array<{ id: string, name: string }>
  const keep = ids.find(c => c.name.startsWith('Keeperina'))!.id
  const gone = ids.find(c => c.name.startsWith('Zyxcanary'))!.id
  renameContact(deps.db, ws, gone, 'Zyxcanary Teamname', owner.id, clock.now())
  setNotes(deps.db, ws, gone, 'Zyxcanary note: VIP', owner.id, clock.now())
  t.ok(addPhone(deps.db, ws, gone, '+1 555 010 6666', owner.id, clock.now()).ok)
  t.ok(addEmail(deps.db, ws, gone, 'zyxcanary@example.org', owner.id, clock.now()).ok)
  renameContact(deps.db, ws, keep, 'Keeperina Teamname', owner.id, clock.now())
  await hooks.runOnce()
  const mediaId = (deps.sqlite.prepare('SELECT id FROM media').get() as { id: string }).id
  const file = mediaFilePath(dataDir, ws, mediaId)
  mkdirSync(join(file, '..'), { recursive: true })
  writeFileSync(file, 'sealed bytes of Zyxcanary photo')

  // What identifies the person on disk: plaintext names, and the exact ciphertexts and indexes stored.
  const row = deps.sqlite.prepare('SELECT wa_id, wa_id_index, bsuid, bsuid_index, notes FROM contacts WHERE id = ?').get(gone) as Record<string, string>
  const sealed = [
    ...Object.values(row),
    ...(deps.sqlite.prepare('SELECT m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.contact_id = ?').all(gone) as Array<{ content: string }>).map(r => r.content),
    ...(deps.sqlite.prepare('SELECT phone, phone_index FROM contact_phones WHERE contact_id = ?').all(gone) as Array<Record<string, string>>).flatMap(r => Object.values(r)),
    ...(deps.sqlite.prepare('SELECT email, email_index FROM contact_emails WHERE contact_id = ?').all(gone) as Array<Record<string, string>>).flatMap(r => Object.values(r))
  ]
  const plaintext = ['Zyxcanary Teamname', 'Zyxcanary Profile', 'wamid.CANARYMSG0001', 'wamid.CANARYIMG0002']
  t.equal(sealed.length, 11, 'the contact\'s sealed values and indexes are known (5 of the contact, 2 messages, a number and an email with their indexes)')
  const logged = deps.sqlite.prepare('SELECT count(*) AS n FROM webhook_deliveries WHERE status = \'delivered\'').get() as { n: number }
  t.ok(logged.n >= 6, `outgoing deliveries logged for both contacts (${logged.n})`)
  storage.sqlite.pragma('wal_checkpoint(PASSIVE)')
  t.same(found(dataDir, [...plaintext, ...sealed]).sort(), [...plaintext, ...sealed].sort(), 'before: the scan finds every one of them')

  const report = await forgetContact(deps, { userId: owner.id, workspaceId: ws }, gone)
  t.match(report, { contacts: 1, conversations: 1, messages: 2, mediaFiles: 1, rawPayloads: 2 })
  t.ok(report.webhookDeliveries >= 3, `outgoing deliveries about them erased (${report.webhookDeliveries})`)
  t.notOk(existsSync(file), 'the media file is gone')
  const left = deps.sqlite.prepare('SELECT count(*) AS n FROM webhook_deliveries').get() as { n: number }
  t.ok(left.n >= 2, 'the other contact\'s deliveries are kept')
  // Their random id is kept only by the audit entry of the request (it points at nothing now).
  const tables = (deps.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'contacts_name_search%' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map(r => r.name)
  const holding = tables.filter(name => JSON.stringify(deps.sqlite.prepare(`SELECT * FROM "${name}"`).all()).includes(gone))
  t.same(holding, ['audit_log'], 'no table but the audit log names the forgotten contact\'s id')
  // Scanned while the database is still open: the erasure itself must have moved the WAL into the
  // file (closing would do it anyway, and a server may run for months).
  t.same(found(dataDir, [...plaintext, ...sealed]), [], 'after: nothing that identified them is anywhere on disk')
  t.same(found(dataDir, ['Keeperina Teamname', keep]), ['Keeperina Teamname', keep], 'the same scan still finds the other contact')
  await hooks.stop()
  await app.close()
  storage.sqlite.close()
  t.same(found(dataDir, [...plaintext, ...sealed]), [], 'and after closing')
})

t.test('a forgotten person is not brought back by an import; if they write again they are a new contact', async (t) => {
  const { withChannel } = await import('../../../test/helpers/whatsapp.js')
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  const res = await deliver(env, env.url, envelope(messagesValue([canary], { messages: [message('wamid.C1', canary, 'text', { body: 'hi' })] })))
  t.equal(res.statusCode, 200)
  processAllPending(env.deps)
  const first = (env.deps.sqlite.prepare('SELECT id FROM contacts').get() as { id: string }).id
  t.ok(addEmail(env.deps.db, ws, first, 'Ana@Example.org', env.ownerId, env.clock.now()).ok)
  t.notOk(isForgotten(env.deps.db, ws, ['15550107777'], []), 'not a tombstone before')
  await forgetContact(env.deps, { userId: env.ownerId, workspaceId: ws }, first)
  t.ok(isForgotten(env.deps.db, ws, ['15550107777'], []), 'their number is a tombstone')
  t.ok(isForgotten(env.deps.db, ws, [], ['ana@example.org']), 'their email too (any case)')
  t.notOk(isForgotten(env.deps.db, ws, ['15550108888'], ['bia@example.org']), 'nobody else')
  t.equal(env.count('contact_tombstones'), 2)
  const raw = JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM contact_tombstones').all())
  t.notMatch(raw, /15550107777|example\.org/, 'tombstones hold no number or email')
  t.equal(env.count('audit_log'), 1 + (env.deps.sqlite.prepare('SELECT count(*) AS n FROM audit_log WHERE action != \'contact_forgotten\'').get() as { n: number }).n)
  const audit = env.deps.sqlite.prepare('SELECT details FROM audit_log WHERE action = \'contact_forgotten\'').get() as { details: string }
  t.notMatch(audit.details, /15550107777|Zyxcanary|example/, 'the audit entry holds no personal data')

  await deliver(env, env.url, envelope(messagesValue([canary], { messages: [message('wamid.C2', canary, 'text', { body: 'hello again' })] })))
  processAllPending(env.deps)
  const again = env.deps.sqlite.prepare('SELECT id FROM contacts').all() as Array<{ id: string }>
  t.equal(again.length, 1)
  t.not(again[0]!.id, first, 'writing again: a new contact')
  t.equal(env.count('messages'), 1, 'with only the new message')

  await t.rejects(forgetContact(env.deps, { userId: env.ownerId, workspaceId: 'other-workspace' }, again[0]!.id), { name: 'NotFoundError' }, 'another workspace cannot forget it')
})

t.test('an admin key can forget a contact through the API; an agent key cannot', async (t) => {
  const { withChannel } = await import('../../../test/helpers/whatsapp.js')
  const { createApiKey } = await import('../apikeys/apikeys.service.js')
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  await deliver(env, env.url, envelope(messagesValue([canary], { messages: [message('wamid.API1', canary, 'text', { body: 'hi' })] })))
  processAllPending(env.deps)
  const id = (env.deps.sqlite.prepare('SELECT id FROM contacts').get() as { id: string }).id
  let n = 0
  const keyOf = (role: string): string => { const k = createApiKey(env.deps, { userId: env.ownerId, workspaceId: ws }, { name: `${role} ${++n}`, role }); if (!k.ok) throw new Error('key'); return k.token }
  const call = (token: string) => env.app.inject({ method: 'POST', url: `/api/v1/contacts/${id}/forget`, headers: { authorization: `Bearer ${token}` } })
  t.equal((await call(keyOf('agent'))).statusCode, 403, 'agent key: 403')
  t.equal(env.count('contacts'), 1, 'nothing erased')
  const res = await call(keyOf('admin'))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { contacts: 1, conversations: 1, messages: 1, media_files: 0, raw_payloads: 1, webhook_deliveries: 0 })
  t.equal(env.count('contacts'), 0)
  t.equal((await call(keyOf('admin'))).statusCode, 404, 'forgotten: 404 after')
})

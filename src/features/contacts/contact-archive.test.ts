// A customer's right of access: the contact's archive (ZIP) holds their record, conversations, every
// message (notes included), a spreadsheet with formulas neutralised and their files decrypted; only
// admins get it, only for their workspace, and each download is audited.
import { join } from 'node:path'
import t from 'tap'
import { unzip } from '../../../test/helpers/zip.js'
import { addMember, createUser, get, signIn } from '../../../test/helpers/accounts.js'
import { deliver, envelope, message, messagesValue, withChannel, type Sender } from '../../../test/helpers/whatsapp.js'
import { createMediaWriter } from '../media/media.files.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { setNotes } from './contact-edit.service.js'

const ana: Sender = { waId: '15550100111', userId: 'US.1000000000000000111', name: 'Ana Souza' }

t.test('an admin downloads everything about a contact as a ZIP; agents and other workspaces cannot', async (t) => {
  const dataDir = join(t.testdir({}), 'data')
  const env = await withChannel(t, { set: { 'storage.data_dir': dataDir } })
  const ws = env.channel.workspaceId
  await deliver(env, env.url, envelope(messagesValue([ana], { messages: [message('wamid.A1', ana, 'text', { body: '=HYPERLINK("http://evil")' })] })))
  await deliver(env, env.url, envelope(messagesValue([ana], { messages: [message('wamid.A2', ana, 'image', { id: '990001', mime_type: 'image/jpeg', sha256: 'x', caption: 'my receipt' })] })))
  processAllPending(env.deps)
  const contactId = (env.deps.sqlite.prepare('SELECT id FROM contacts').get() as { id: string }).id
  setNotes(env.deps.db, ws, contactId, 'Prefers mornings', env.ownerId, env.clock.now())
  const mediaId = (env.deps.sqlite.prepare('SELECT id FROM media').get() as { id: string }).id
  const photo = Buffer.from('\xff\xd8\xff not really a jpeg but bytes all the same', 'latin1')
  const writer = await createMediaWriter(env.deps.dataDir, ws, mediaId, env.deps.ring)
  await writer.write(photo)
  const size = await writer.commit()
  env.deps.sqlite.prepare("UPDATE media SET status = 'stored', size = ? WHERE id = ?").run(size, mediaId)

  const admin = await createUser(env.deps, { name: 'Ana Admin' })
  const agent = await createUser(env.deps, { name: 'Bruno Agent' })
  const outsider = await createUser(env.deps, { name: 'Otto', workspace: 'Other' })
  addMember(env.deps, ws, admin.id, 'admin')
  addMember(env.deps, ws, agent.id, 'agent')
  const url = `/contacts/${contactId}/archive.zip`
  t.equal((await get(env.app, url, await signIn(env.app, agent))).statusCode, 403, 'agents: 403')
  t.equal((await get(env.app, url, await signIn(env.app, outsider))).statusCode, 404, 'another workspace: 404')
  const res = await get(env.app, url, await signIn(env.app, admin))
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/zip')
  t.match(String(res.headers['content-disposition']), new RegExp(`^attachment; filename="contact-${contactId}-\\d{4}-\\d{2}-\\d{2}\\.zip"$`))
  t.equal(res.headers['cache-control'], 'no-store')
  const files = unzip(res.rawPayload)
  t.same([...files.keys()].filter(n => !n.startsWith('media/')), ['README.txt', 'contact.json', 'conversations.json', 'messages.json', 'messages.csv'])
  const contact = JSON.parse(files.get('contact.json')!.toString('utf8'))
  t.match(contact, { id: contactId, whatsapp: '+15550100111', profile_name: 'Ana Souza', notes: 'Prefers mornings' })
  t.ok(contact.timeline.some((e: { kind: string }) => e.kind === 'note_changed'), 'with its timeline')
  const msgs = JSON.parse(files.get('messages.json')!.toString('utf8')) as Array<{ text: string | null, type: string }>
  t.same(msgs.map(m => [m.type, m.text]), [['text', '=HYPERLINK("http://evil")'], ['image', 'my receipt']])
  t.equal(JSON.parse(files.get('conversations.json')!.toString('utf8')).length, 1)
  const csv = files.get('messages.csv')!.toString('utf8')
  t.ok(csv.startsWith('\uFEFFconversation_id,time,direction,type,text,status,file'), 'a spreadsheet with a BOM')
  t.match(csv, /"'=HYPERLINK\(""http:\/\/evil""\)"/, 'a formula is neutralised')
  const media = [...files.entries()].filter(([n]) => n.startsWith('media/'))
  t.equal(media.length, 1)
  t.match(media[0]![0], /^media\/[0-9A-Z]{26}-image\.jpeg$/)
  t.same(media[0]![1], photo, 'the file, decrypted')
  t.equal((env.deps.sqlite.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'contact_exported'").get() as { n: number }).n, 1, 'audited once')
  const audit = env.deps.sqlite.prepare("SELECT details FROM audit_log WHERE action = 'contact_exported'").get() as { details: string }
  t.same(JSON.parse(audit.details), { contactId, messages: 2, files: 1 })
  t.equal((await get(env.app, `/contacts/${'0'.repeat(26)}/archive.zip`, await signIn(env.app, admin))).statusCode, 404, 'unknown id: 404')
})

t.test('the contact page\'s privacy card: download, legal hold on and off (admins only), forget refused while held', async (t) => {
  const env = await withChannel(t)
  const ws = env.channel.workspaceId
  await deliver(env, env.url, envelope(messagesValue([ana], { messages: [message('wamid.H1', ana, 'text', { body: 'hi' })] })))
  processAllPending(env.deps)
  const contactId = (env.deps.sqlite.prepare('SELECT id FROM contacts').get() as { id: string }).id
  const admin = await createUser(env.deps, { name: 'Ana Admin' })
  const agent = await createUser(env.deps, { name: 'Bruno Agent' })
  addMember(env.deps, ws, admin.id, 'admin')
  addMember(env.deps, ws, agent.id, 'agent')
  const adminCookie = await signIn(env.app, admin)
  const agentCookie = await signIn(env.app, agent)
  const { post } = await import('../../../test/helpers/accounts.js')

  let page = await get(env.app, `/contacts/${contactId}`, adminCookie)
  t.match(page.body, `href="/contacts/${contactId}/archive.zip"`, 'a download link')
  t.match(page.body, 'Put on legal hold')
  t.match(page.body, `href="/contacts/${contactId}/forget"`)
  const agentPage = await get(env.app, `/contacts/${contactId}`, agentCookie)
  t.notMatch(agentPage.body, 'archive.zip', 'agents do not see the privacy card')
  t.equal((await post(env.app, `/contacts/${contactId}/legal-hold`, { on: '1' }, agentCookie)).statusCode, 403, 'agents cannot set a hold')

  const held = await post(env.app, `/contacts/${contactId}/legal-hold`, { on: '1' }, adminCookie)
  t.equal(held.statusCode, 303)
  t.equal(held.headers.location, `/contacts/${contactId}?done=legalHoldOn`)
  page = await get(env.app, String(held.headers.location), adminCookie)
  t.match(page.body, 'The contact is on legal hold')
  t.match(page.body, 'On legal hold')
  t.notMatch(page.body, `href="/contacts/${contactId}/forget"`, 'no forget button while held')
  t.match(page.body, 'Forgetting is off while the contact is on legal hold.')
  const forget = await post(env.app, `/contacts/${contactId}/forget`, { confirm: 'FORGET' }, adminCookie)
  t.equal(forget.statusCode, 409, 'forgetting is refused while held')
  t.match(forget.body, 'This contact is on legal hold')
  t.equal(env.count('contacts'), 1)

  const released = await post(env.app, `/contacts/${contactId}/legal-hold`, {}, adminCookie)
  t.equal(released.headers.location, `/contacts/${contactId}?done=legalHoldOff`)
  page = await get(env.app, String(released.headers.location), adminCookie)
  t.match(page.body, 'Legal hold released')
  t.match(page.body, `href="/contacts/${contactId}/forget"`)
  const events = (env.deps.sqlite.prepare('SELECT kind FROM contact_events WHERE contact_id = ? ORDER BY at, id').all(contactId) as Array<{ kind: string }>).map(e => e.kind)
  t.same(events.filter(k => k.startsWith('legal_hold')), ['legal_hold_on', 'legal_hold_off'], 'on the timeline')
})

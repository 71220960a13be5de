// "Forget this contact" over HTTP: the contact page offers it to admins and owners only; the
// confirmation page says what is erased (with the counts) and what remains; the POST needs the
// localized word typed (422 keeping the page and everything else when it is missing or wrong), answers
// 404 for another workspace's contact and 403 for agents, and on success erases the person — the
// contact page is 404, the conversation leaves the inbox, the file is gone — and lands on the list with
// the counts. The audit page says what happened without naming the person.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { inlineCode } from '../../../test/helpers/html.js'
import { deliver, envelope, message, messagesValue, withChannel, type ChannelApp, type Sender } from '../../../test/helpers/whatsapp.js'
import { mediaFilePath } from '../media/media.service.js'
import { processAllPending } from '../webhooks/webhook-processor.js'
import { addEmail, setNotes } from './contact-edit.service.js'

const person: Sender = { waId: '15550104242', name: 'Quillon Forgetme' }
const other: Sender = { waId: '15550105353', name: 'Stays Around' }

interface World extends ChannelApp {
  ws: string
  contactId: string
  keepId: string
  conversationId: string
  mediaFile: string
  cookies: { admin: string, agent: string, outsider: string }
}

async function world (t: Test): Promise<World> {
  const env = await withChannel(t)
  const { deps } = env
  const ws = (deps.sqlite.prepare('SELECT workspace_id AS ws FROM channels WHERE id = ?').get(env.channel.id) as { ws: string }).ws
  const owner = deps.sqlite.prepare('SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.workspace_id = ?').get(ws) as { id: string }
  const admin = await createUser(deps, { name: 'Ada Admin' })
  const agent = await createUser(deps, { name: 'Agnes Agent' })
  const outsider = await createUser(deps, { name: 'Otto Outsider', workspace: 'Other shop' })
  addMember(deps, ws, admin.id, 'admin')
  addMember(deps, ws, agent.id, 'agent')
  // Two people write on WhatsApp: the one to forget sends a text and an image.
  const send = async (body: object): Promise<void> => { t.equal((await deliver(env, env.url, body)).statusCode, 200) }
  await send(envelope(messagesValue([person], { messages: [message('wamid.FORGETME0001', person, 'text', { body: 'Quillon order 5521' })] })))
  await send(envelope(messagesValue([person], { messages: [message('wamid.FORGETME0002', person, 'image', { id: '990000000004242', mime_type: 'image/jpeg', sha256: 'x' })] })))
  await send(envelope(messagesValue([other], { messages: [message('wamid.STAYS00001', other, 'text', { body: 'Still here' })] })))
  processAllPending(deps)
  const idOf = (who: Sender): string => (deps.sqlite.prepare('SELECT id FROM contacts WHERE profile_name = ?').get(who.name) as { id: string }).id
  const contactId = idOf(person)
  const keepId = idOf(other)
  const conversationId = (deps.sqlite.prepare('SELECT id FROM conversations WHERE contact_id = ?').get(contactId) as { id: string }).id
  setNotes(deps.db, ws, contactId, 'Quillon prefers mornings', owner.id, env.clock.now())
  t.ok(addEmail(deps.db, ws, contactId, 'quillon@example.org', owner.id, env.clock.now()).ok)
  // The image as if downloaded: a file on disk.
  const mediaId = (deps.sqlite.prepare('SELECT id FROM media').get() as { id: string }).id
  const mediaFile = mediaFilePath(deps.dataDir, ws, mediaId)
  mkdirSync(join(mediaFile, '..'), { recursive: true })
  writeFileSync(mediaFile, 'sealed bytes')
  return {
    ...env,
    ws,
    contactId,
    keepId,
    conversationId,
    mediaFile,
    cookies: { admin: await signIn(env.app, admin), agent: await signIn(env.app, agent), outsider: await signIn(env.app, outsider) }
  }
}

const rows = (w: World, table: string, where = ''): number => (w.deps.sqlite.prepare(`SELECT count(*) AS n FROM ${table} ${where}`).get() as { n: number }).n

t.test('the contact page offers "forget" to admins only; the confirmation says what goes and what stays', async (t) => {
  const w = await world(t)
  const page = await get(w.app, `/contacts/${w.contactId}`, w.cookies.admin)
  t.equal(page.statusCode, 200)
  t.match(page.body, new RegExp(`href="/contacts/${w.contactId}/forget"`), 'admins see the link')
  t.match(page.body, /Forget this contact/)
  t.match(page.body, /Delete hides the contact and keeps their history\. Forget erases the person/)
  const agentPage = await get(w.app, `/contacts/${w.contactId}`, w.cookies.agent)
  t.equal(agentPage.statusCode, 200)
  t.notMatch(agentPage.body, /\/forget"/, 'agents do not see it')
  t.notMatch(agentPage.body, /Forget this contact/)

  const res = await get(w.app, `/contacts/${w.contactId}/forget`, w.cookies.admin)
  t.equal(res.statusCode, 200)
  t.same(inlineCode(res.body), [], 'no inline code (CSP)')
  t.match(res.body, /Forget Quillon Forgetme for good\?/)
  t.match(res.body, /Their 1 conversation and 2 messages/, 'the counts of what is erased')
  t.match(res.body, /1 file</)
  t.match(res.body, /quillon@example\.org/, 'the email, so the admin can check it is the right person')
  t.match(res.body, /webhook log/)
  t.match(res.body, /A tombstone for each number and email/)
  t.match(res.body, /An entry in the audit log/)
  t.match(res.body, /start as a new contact/)
  t.match(res.body, /This cannot be undone\./)
  t.match(res.body, /Type <strong class="forget-word-shown">FORGET<\/strong> to confirm<\/label>/)
  t.match(res.body, /name="confirm"[^>]* required pattern="\\s\*\[Ff\]\[Oo\]\[Rr\]\[Gg\]\[Ee\]\[Tt\]\\s\*"/, 'the browser holds the form until the word is typed')
  t.equal((await get(w.app, `/contacts/${w.contactId}/forget`, w.cookies.agent)).statusCode, 403, 'agents: 403')

  // In Portuguese the word is ESQUECER.
  const pt = await get(w.app, `/contacts/${w.contactId}/forget`, w.cookies.admin, { 'accept-language': 'pt-BR' })
  t.equal(pt.statusCode, 200)
  t.match(pt.body, /Digite <strong class="forget-word-shown">ESQUECER<\/strong> para confirmar/)
})

t.test('a missing or wrong word is 422 with the page and erases nothing; agents 403, outsiders 404', async (t) => {
  const w = await world(t)
  const before = { contacts: rows(w, 'contacts'), messages: rows(w, 'messages'), conversations: rows(w, 'conversations'), raw: rows(w, 'webhook_events') }
  t.ok(before.raw > 0, 'the webhook log holds their deliveries')
  const url = `/contacts/${w.contactId}/forget`

  let res = await post(w.app, url, {}, w.cookies.admin)
  t.equal(res.statusCode, 422)
  t.match(res.body, /Type FORGET to confirm\. Nothing was erased\./)
  res = await post(w.app, url, { confirm: 'forgot' }, w.cookies.admin)
  t.equal(res.statusCode, 422)
  t.match(res.body, /That is not FORGET/)
  t.match(res.body, /value="forgot"/, 'what was typed is kept')
  t.match(res.body, /aria-invalid="true"/)
  t.match(res.body, /Forget Quillon Forgetme for good\?/, 'the same page')
  // The Portuguese word does not confirm in English, nor the English one in Portuguese.
  t.equal((await post(w.app, url, { confirm: 'ESQUECER' }, w.cookies.admin)).statusCode, 422)
  res = await post(w.app, url, { confirm: 'FORGET' }, w.cookies.admin, { headers: { 'accept-language': 'pt-BR' } })
  t.equal(res.statusCode, 422)
  t.match(res.body, /Isso não é ESQUECER/)

  t.equal((await post(w.app, url, { confirm: 'FORGET' }, w.cookies.agent)).statusCode, 403, 'agents: 403')
  t.equal((await post(w.app, url, { confirm: 'FORGET' }, w.cookies.outsider)).statusCode, 404, 'another workspace: 404')
  t.equal((await get(w.app, url, w.cookies.outsider)).statusCode, 404)
  t.equal((await post(w.app, '/contacts/not-an-id/forget', { confirm: 'FORGET' }, w.cookies.admin)).statusCode, 404)

  t.same({ contacts: rows(w, 'contacts'), messages: rows(w, 'messages'), conversations: rows(w, 'conversations'), raw: rows(w, 'webhook_events') }, before, 'nothing erased')
  t.ok(existsSync(w.mediaFile), 'the file is still there')
  t.equal(rows(w, 'audit_log', "WHERE action = 'contact_forgotten'"), 0)
  t.equal((await get(w.app, `/contacts/${w.contactId}`, w.cookies.admin)).statusCode, 200)
})

t.test('the word confirms: the person is erased, the list says what went, the audit page says so', async (t) => {
  const w = await world(t)
  // Controls: before, the conversation is in the inbox and the contact page is there.
  t.match((await get(w.app, '/inbox', w.cookies.admin)).body, new RegExp(`/inbox/${w.conversationId}`))
  t.equal((await get(w.app, `/inbox/${w.conversationId}`, w.cookies.admin)).statusCode, 200)

  const res = await post(w.app, `/contacts/${w.contactId}/forget`, { confirm: '  forget ' }, w.cookies.admin)
  t.equal(res.statusCode, 303, 'any case, spaces around ignored')
  const location = String(res.headers.location)
  t.equal(location, '/contacts?done=forgotten&c=1&m=2&f=1&w=2')
  const list = await get(w.app, location, w.cookies.admin)
  t.equal(list.statusCode, 200)
  t.match(list.body, /Contact erased for good: 1 conversation, 2 messages, 1 file and 2 copies in the webhook logs\./, 'the counts: the two deliveries from Meta that mentioned them')
  t.notMatch(list.body, /Quillon/, 'gone from the list')
  t.match(list.body, /Stays Around/, 'the other contact stays')

  // The notice shows digits from the URL and nothing else.
  t.match((await get(w.app, '/contacts?done=forgotten&c=%3Cb%3E&m=1e9&f=-1', w.cookies.admin)).body, /Contact erased for good: 0 conversations, 0 messages, 0 files and 0 copies/)

  t.equal((await get(w.app, `/contacts/${w.contactId}`, w.cookies.admin)).statusCode, 404, 'the contact page is 404')
  t.equal((await get(w.app, `/contacts/${w.contactId}/forget`, w.cookies.admin)).statusCode, 404)
  t.equal((await post(w.app, `/contacts/${w.contactId}/forget`, { confirm: 'FORGET' }, w.cookies.admin)).statusCode, 404, 'twice: 404')
  const inbox = await get(w.app, '/inbox', w.cookies.admin)
  t.notMatch(inbox.body, new RegExp(w.conversationId), 'the conversation left the inbox')
  t.notMatch(inbox.body, /Quillon/)
  t.equal((await get(w.app, `/inbox/${w.conversationId}`, w.cookies.admin)).statusCode, 404)
  t.notOk(existsSync(w.mediaFile), 'the file is gone')
  t.equal(rows(w, 'contacts', `WHERE id = '${w.contactId}'`), 0)
  t.equal(rows(w, 'contacts', `WHERE id = '${w.keepId}'`), 1)

  const audit = await get(w.app, '/settings/audit', w.cookies.admin)
  t.equal(audit.statusCode, 200)
  t.match(audit.body, /Ada Admin erased a contact and everything about them on request \(2 messages\)/)
  t.notMatch(audit.body, /Quillon|15550104242|quillon@/, 'no personal data in the audit log')
})

t.test('the owner can forget too', async (t) => {
  const w = await world(t)
  const owner = await createUser(w.deps, { name: 'Second Owner' })
  addMember(w.deps, w.ws, owner.id, 'owner')
  const cookie = await signIn(w.app, owner)
  t.match((await get(w.app, `/contacts/${w.contactId}`, cookie)).body, /\/forget"/)
  const res = await post(w.app, `/contacts/${w.contactId}/forget`, { confirm: 'FORGET' }, cookie)
  t.equal(res.statusCode, 303)
  t.equal((await get(w.app, `/contacts/${w.contactId}`, cookie)).statusCode, 404)
})

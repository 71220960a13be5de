// "Ana is writing a note…": an agent writing a private note tells the server (POST /inbox/:id/typing),
// the live stream rings `conversation-<id>-typing` (ids only) and the other agents' pages fetch
// GET /inbox/:id/typing, which lists the others typing and never the viewer. Entries lapse a few
// seconds after the last signal, end when the note is sent, and stay inside their workspace.
import { request, type IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import { addMember, createUser, get, post, signIn } from '../../../test/helpers/accounts.js'
import { withChannel, type ChannelApp } from '../../../test/helpers/whatsapp.js'
import { conversations } from '../../db/schema.js'
import { upsertWhatsAppContact } from '../contacts/contacts.service.js'
import { createChannel } from '../channels/channels.service.js'
import { typingBoard, typingTtlMs } from './typing.service.js'

const hx = { 'hx-request': 'true' }

interface World extends ChannelApp {
  workspaceId: string
  conversationId: string
  ana: { id: string, name: string, cookie: string }
  bruno: { id: string, name: string, cookie: string }
  typingRings: () => number
}

/** A workspace with a number, two agents (Ana Souza, Bruno Lima) and one conversation. */
async function world (t: Test): Promise<World> {
  const env = await withChannel(t)
  const workspaceId = env.channel.workspaceId
  const ana = await createUser(env.deps, { name: 'Ana Souza' })
  const bruno = await createUser(env.deps, { name: 'Bruno Lima' })
  addMember(env.deps, workspaceId, ana.id, 'agent')
  addMember(env.deps, workspaceId, bruno.id, 'agent')
  const now = env.clock.now()
  const contact = upsertWhatsAppContact(env.deps.db, workspaceId, { bsuid: null, waId: '15550100222', profileName: 'Carmen Customer' }, now)!
  const conversation = env.deps.db.insert(conversations).values({ workspaceId, channelId: env.channel.id, contactId: contact.id, status: 'open', lastMessageAt: now, lastInboundAt: now, createdAt: now, updatedAt: now }).returning().get()
  let rings = 0
  env.deps.events.on('conversation.typing', (e) => { if (e.conversationId === conversation.id) rings++ })
  return {
    ...env,
    workspaceId,
    conversationId: conversation.id,
    ana: { id: ana.id, name: ana.name, cookie: await signIn(env.app, ana) },
    bruno: { id: bruno.id, name: bruno.name, cookie: await signIn(env.app, bruno) },
    typingRings: () => rings
  }
}

const typingUrl = (w: World): string => `/inbox/${w.conversationId}/typing`
const typingSeenBy = async (w: World, cookie: string): Promise<string> => (await get(w.app, typingUrl(w), cookie, hx)).body

t.test('an agent writing a note is shown to the others, never to themselves, and lapses after a few seconds', async (t) => {
  const w = await world(t)
  const before = await typingSeenBy(w, w.bruno.cookie)
  t.match(before, new RegExp(`id="composer-typing-${w.conversationId}"`), 'the fragment keeps its root element when nobody types')
  t.notMatch(before, /writing a note/)

  const res = await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })
  t.equal(res.statusCode, 204)
  t.equal(w.typingRings(), 1, 'the doorbell rang once')
  t.match(await typingSeenBy(w, w.bruno.cookie), /Ana Souza is writing a note…/)
  t.notMatch(await typingSeenBy(w, w.ana.cookie), /writing a note/, 'never yourself')

  // Repeated while typing: it lasts longer, without ringing again.
  w.clock.advance(3000)
  t.equal((await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })).statusCode, 204)
  t.equal(w.typingRings(), 1, 'a repeat does not ring')
  w.clock.advance(typingTtlMs - 1000)
  t.match(await typingSeenBy(w, w.bruno.cookie), /Ana Souza is writing a note/, 'still typing: the repeat extended it')

  // Two people: both named.
  await post(w.app, typingUrl(w), { typing: '1' }, w.bruno.cookie, { headers: hx })
  const owner = await createUser(w.deps, { name: 'Olga Owner' })
  addMember(w.deps, w.workspaceId, owner.id, 'owner')
  const ownerCookie = await signIn(w.app, owner)
  t.match(await typingSeenBy(w, ownerCookie), /Ana Souza and Bruno Lima are writing notes…/)

  // A few seconds without a signal: gone.
  w.clock.advance(typingTtlMs + 1)
  t.notMatch(await typingSeenBy(w, ownerCookie), /writing/, 'lapsed')
})

t.test('a lapsed typer rings the doorbell once more, so the pages hide it without a refresh', async (t) => {
  const w = await world(t)
  await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })
  t.equal(w.typingRings(), 1)
  w.clock.advance(typingTtlMs + 1)
  const deadline = Date.now() + typingTtlMs + 3000
  while (w.typingRings() < 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(w.typingRings(), 2, 'rang again when the entry lapsed')
})

t.test('stopping, or sending the note, hides it at once', async (t) => {
  const w = await world(t)
  await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })
  t.equal((await post(w.app, typingUrl(w), { typing: '0' }, w.ana.cookie, { headers: hx })).statusCode, 204)
  t.equal(w.typingRings(), 2, 'the stop rang')
  t.notMatch(await typingSeenBy(w, w.bruno.cookie), /writing/)
  await post(w.app, typingUrl(w), { typing: '0' }, w.ana.cookie, { headers: hx })
  t.equal(w.typingRings(), 2, 'stopping twice rings once')

  await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })
  t.match(await typingSeenBy(w, w.bruno.cookie), /Ana Souza is writing a note/)
  const sent = await post(w.app, `/inbox/${w.conversationId}/messages`, { mode: 'note', text: 'Checked with the courier', clientId: 'client-typing-001' }, w.ana.cookie, { headers: hx })
  t.equal(sent.statusCode, 200)
  t.notMatch(await typingSeenBy(w, w.bruno.cookie), /writing/, 'the note was sent: nobody is writing it any more')

  // The composer Bruno gets shows who is typing at that moment (and never Bruno himself).
  await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })
  await post(w.app, typingUrl(w), { typing: '1' }, w.bruno.cookie, { headers: hx })
  const composer = await get(w.app, `/inbox/${w.conversationId}/composer`, w.bruno.cookie, hx)
  t.match(composer.body, /Ana Souza is writing a note…/)
  t.notMatch(composer.body, /Bruno Lima is writing/)
  t.match(composer.body, new RegExp(`data-typing-url="/inbox/${w.conversationId}/typing"`))
  const page = await get(w.app, `/inbox/${w.conversationId}`, w.ana.cookie)
  t.match(page.body, /Bruno Lima is writing a note…/, 'the thread page too')
})

t.test('typing stays inside its workspace: 404 for others, sign-in and CSRF like every POST, rate-limited', async (t) => {
  const w = await world(t)
  const outsider = await createUser(w.deps, { workspace: 'Other' })
  const outsiderCookie = await signIn(w.app, outsider)
  createChannel(w.deps.db, outsider.workspaceId!, { name: 'Other number', wabaId: '2', phoneNumberId: '3', accessToken: 'EAAG-other-0000', appSecret: 'other-secret', graphApiVersion: 'v25.0' }, w.clock.now())
  t.equal((await post(w.app, typingUrl(w), { typing: '1' }, outsiderCookie, { headers: hx })).statusCode, 404)
  t.equal((await get(w.app, typingUrl(w), outsiderCookie, hx)).statusCode, 404)
  t.equal(w.typingRings(), 0, 'nothing rang')
  t.equal((await post(w.app, '/inbox/nope/typing', { typing: '1' }, w.ana.cookie, { headers: hx })).statusCode, 404)

  t.equal((await post(w.app, typingUrl(w), { typing: '1' })).statusCode, 401, 'signed out')
  const foreign = await w.app.inject({ method: 'POST', url: typingUrl(w), payload: 'typing=1', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: w.ana.cookie, origin: 'https://evil.example' } })
  t.equal(foreign.statusCode, 403, 'another origin is refused')
  t.equal(w.typingRings(), 0)

  // The outsider's own board never sees this workspace's typers (and vice versa).
  await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })
  t.same(typingBoard(w.deps).typers(outsider.workspaceId!, w.conversationId), [])

  let limited = 0
  for (let i = 0; i < 62; i++) {
    const res = await post(w.app, typingUrl(w), { typing: '1' }, w.bruno.cookie, { headers: hx })
    if (res.statusCode === 429) limited++
  }
  t.ok(limited >= 1, `rate-limited per member (${limited} refused of 62)`)
  t.equal((await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })).statusCode, 204, 'another member is not held back')
})

// ── the doorbell ──

interface Stream { status: number, text: () => string, events: () => string[], close: () => void }

function openStream (base: string, cookie: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const req = request(`${base}/live`, { headers: { cookie, accept: 'text/event-stream' } }, (res: IncomingMessage) => {
      res.setEncoding('utf8')
      res.on('data', (d: string) => { buf += d })
      resolve({ status: res.statusCode ?? 0, text: () => buf, events: () => [...buf.matchAll(/^event: (.+)$/gm)].map(m => m[1]!), close: () => req.destroy() })
    })
    req.on('error', (err) => { if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err) })
    req.end()
  })
}

const until = async (check: () => boolean, ms = 3000): Promise<boolean> => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (check()) return true
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return check()
}

t.test('the live stream rings conversation-<id>-typing with ids only, to the workspace\'s members only', async (t) => {
  const w = await world(t)
  const base = await w.app.listen({ host: '127.0.0.1', port: 0 })
  const bruno = await openStream(base, w.bruno.cookie)
  const outsiderUser = await createUser(w.deps, { workspace: 'Other' })
  const outsider = await openStream(base, await signIn(w.app, outsiderUser))
  t.ok(await until(() => bruno.text().includes('retry:')))
  await post(w.app, typingUrl(w), { typing: '1' }, w.ana.cookie, { headers: hx })
  t.ok(await until(() => bruno.events().includes(`conversation-${w.conversationId}-typing`)), 'Bruno\'s page is told to look')
  t.notMatch(bruno.text(), /Ana|Souza/, 'no names on the stream')
  t.match(bruno.text(), new RegExp(`event: conversation-${w.conversationId}-typing\\ndata: -\\n`))
  t.notOk(bruno.events().includes(`conversation-${w.conversationId}`), 'the thread itself is not refetched for typing')
  await new Promise(resolve => setTimeout(resolve, 150))
  t.same(outsider.events(), [], 'another workspace hears nothing')
  bruno.close()
  outsider.close()
})

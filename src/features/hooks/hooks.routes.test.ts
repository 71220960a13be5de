// Settings → Outgoing webhooks (issue 7 item 3), over app.inject and real SQLite: admins add a webhook
// and see its signing secret once (no-store, no-referrer, in no later page); refused forms keep what
// was typed, and the default config refuses http:// and private addresses with the reason; the list
// shows each webhook's origin, events, status and health; edit, pause/resume, rotate (a new secret, the
// old one honoured 24 h), send a test event that the worker delivers to a receiver on 127.0.0.1 (the
// verification sample on the secret page accepts it), replay, the delivery detail with its payload,
// delete after a confirmation page; the log pages by cursor. Agents get 403 everywhere; another
// workspace's webhook or delivery is a 404; changes are audited.
import t, { type Test } from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { eq } from 'drizzle-orm'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { teamWorld, type TeamWorld } from '../../../test/helpers/team.js'
import { get, origin, post } from '../../../test/helpers/accounts.js'
import { inlineCode } from '../../../test/helpers/html.js'
import { auditLog, webhookDeliveries } from '../../db/schema.js'
import { createSubscription, queueTestDelivery } from './hooks.service.js'
import { hooksBase } from './hooks.routes.js'
import { startHooksWorker } from './hooks.worker.js'
import { verifySignature } from './signature.js'

type World = TeamWorld

/** The team world; `realTime` sets the clock to now (receivers compare a signature's time with theirs). */
async function world (t: Test, set: Record<string, string> = {}, options: { realTime?: boolean } = {}): Promise<World> {
  return await teamWorld(t, { set, ...(options.realTime === true ? { clockAt: Date.now() } : {}) })
}

/** The test config that lets webhooks reach a receiver on this machine over plain http. */
const local = { 'outgoing_webhooks.allow_private_addresses': 'true', 'outgoing_webhooks.allow_http': 'true' }

/** A form POST with repeated fields (the event checkboxes), as a browser sends it. */
function postPairs (app: FastifyInstance, url: string, pairs: Array<[string, string]>, cookie: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, payload: new URLSearchParams(pairs).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie } })
}

function hookForm (url: string, description: string, events: string[]): Array<[string, string]> {
  return [['url', url], ['description', description], ...events.map((e): [string, string] => ['events', e])]
}

const decode = (html: string): string => html.replaceAll('&#39;', "'").replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')
const secretIn = (html: string): string | undefined => /value="(whsec_[A-Za-z0-9_-]+)"/.exec(html)?.[1]
const auditOf = (w: World, action: string) => w.deps.db.select().from(auditLog).where(eq(auditLog.action, action)).all()
const deliveriesOf = (w: World) => w.deps.db.select().from(webhookDeliveries).orderBy(webhookDeliveries.id).all()

/** Creates a webhook through the service, as the owner, failing the test on refusal. */
async function makeHook (w: World, url: string, events: string[], description = '') {
  const made = await createSubscription(w.deps, { userId: w.ownerId, workspaceId: w.ws }, { url, description, events })
  if (!made.ok) throw new Error(JSON.stringify(made.errors))
  return made
}

interface Received { headers: IncomingHttpHeaders, body: string }

/** An HTTP receiver on 127.0.0.1 that records every request and answers `status`. */
async function receiver (t: Test): Promise<{ url: string, got: Received[], answer: (status: number) => void }> {
  const got: Received[] = []
  let status = 200
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/weltra/events`, got, answer: (s) => { status = s } }
}

/** The verification sample shown on the secret page, run as the module a receiver would paste it into. */
async function sampleOf (t: Test, html: string): Promise<(header: string, rawBody: string, secret: string) => boolean> {
  const code = decode(/<pre[^>]*id="verify-sample"[^>]*><code>([\s\S]*?)<\/code><\/pre>/.exec(html)?.[1] ?? '')
  mkdirSync(t.testdirName, { recursive: true })
  const file = join(t.testdirName, 'verify-sample.mjs')
  writeFileSync(file, `${code}\nexport { isFromWeltra }\n`)
  const mod = await import(pathToFileURL(file).href) as { isFromWeltra: (header: string, rawBody: string, secret: string) => boolean }
  return mod.isFromWeltra
}

t.test('the list: an empty state that says what webhooks are for, a tab for admins only, no inline code', async (t) => {
  const w = await world(t)
  const empty = await get(w.app, hooksBase, w.adminCookie)
  t.equal(empty.statusCode, 200)
  t.match(empty.body, 'Tell your other systems what happens here', 'the empty state explains')
  t.match(decode(empty.body), 'the moment something happens in Weltra')
  t.match(empty.body, 'href="/api/v1/docs#webhooks"', 'and links the API reference')
  t.match(empty.body, `href="${hooksBase}" aria-current="page"`, 'the tab is current')
  t.match(empty.body, 'id="new-webhook"', 'the add form is on the page')
  for (const group of ['Messages', 'Conversations', 'Contacts']) t.match(empty.body, `>${group}</p>`, `events grouped: ${group}`)
  t.match(empty.body, 'value="message.received"')
  t.match(empty.body, 'A customer sent a message', 'each event is explained')
  t.same(inlineCode(empty.body), [], 'no inline script or style')
  t.notMatch((await get(w.app, '/settings/members', w.agentCookie)).body, `href="${hooksBase}"`, 'agents do not see the tab')
  t.match((await get(w.app, '/settings/members', w.adminCookie)).body, `href="${hooksBase}"`, 'admins do')
  const pt = await w.app.inject({ url: hooksBase, headers: { cookie: w.adminCookie, 'accept-language': 'pt-BR' } })
  t.match(decode(pt.body), 'Webhooks de saída', 'in Portuguese too')
  t.match(decode(pt.body), 'Mensagem recebida')
})

t.test('adding a webhook shows its secret once (no-store, no-referrer) with a verification sample; no later page has it', async (t) => {
  const w = await world(t)
  const created = await postPairs(w.app, hooksBase, hookForm('  https://93.184.215.14/weltra?token=abc123 ', 'Loja virtual: pedidos', ['contact.created', 'message.received']), w.adminCookie)
  t.equal(created.statusCode, 200, 'the secret page is the POST\'s own response')
  t.equal(created.headers['cache-control'], 'no-store')
  t.equal(created.headers['referrer-policy'], 'no-referrer')
  const secret = secretIn(created.body)
  t.match(secret, /^whsec_[A-Za-z0-9_-]{40,}$/, 'the secret is on the page')
  t.match(created.body, /id="webhook-secret"[^>]*readonly/, 'in a read-only field')
  t.match(created.body, 'data-copy="webhook-secret"', 'with a copy button')
  t.match(decode(created.body), 'You will not see it again')
  t.match(created.body, "createHmac('sha256', secret)", 'a Node sample computes the HMAC')
  t.match(decode(created.body), /update\(`\$\{t\}\.\$\{rawBody\}`\)/, 'of "<t>.<raw body>"')
  const id = /action="\/settings\/outgoing-webhooks\/([0-9A-Za-z]+)\/test"/.exec(created.body)?.[1]
  t.ok(id, 'and a "Send test event" button')
  t.same(inlineCode(created.body), [])

  const list = await get(w.app, hooksBase, w.adminCookie)
  t.match(list.body, 'https://93.184.215.14', 'the list shows the origin')
  t.notMatch(list.body, 'abc123', 'never the URL\'s query (it may hold a token)')
  t.match(decode(list.body), 'Loja virtual: pedidos')
  t.match(list.body, '>Message received</span>')
  t.match(list.body, '>Contact created</span>')
  t.match(list.body, '>Active</span>', 'active')
  t.match(list.body, 'No deliveries yet')
  t.match(list.body, `href="${hooksBase}/${id!}"`, 'a link to the webhook')

  const detail = await get(w.app, `${hooksBase}/${id!}`, w.adminCookie)
  t.equal(detail.statusCode, 200)
  t.match(decode(detail.body), 'https://93.184.215.14/weltra?token=abc123', 'the webhook page shows the whole URL (an admin edits it)')
  t.match(detail.body, /name="events" value="message.received" checked/)
  t.match(detail.body, /name="events" value="contact.created" checked/)
  t.notMatch(detail.body, /name="events" value="contact.updated" checked/)
  t.match(detail.body, 'Ana Admin', 'who added it')
  t.same(inlineCode(detail.body), [])
  const test = await post(w.app, `${hooksBase}/${id!}/test`, {}, w.adminCookie)
  const delivery = deliveriesOf(w)[0]!
  const later = [list, detail, test,
    await get(w.app, `${hooksBase}/${id!}?done=testQueued`, w.adminCookie),
    await get(w.app, `${hooksBase}/${id!}/rotate`, w.adminCookie),
    await get(w.app, `${hooksBase}/${id!}/delete`, w.adminCookie),
    await get(w.app, `${hooksBase}/${id!}/deliveries/${delivery.id}`, w.adminCookie),
    await get(w.app, '/settings/audit', w.adminCookie)]
  for (const res of later) t.notOk(res.body.includes(secret!.slice(6)), `the secret is not in ${res.statusCode} ${res.body.length} bytes later`)
  t.notMatch(later.map(r => r.body).join('\n'), /whsec_[A-Za-z0-9_-]{20}/, 'no secret at all')
  t.notOk(w.logs.join('\n').includes(secret!.slice(6)), 'nor in any log line')

  const audit = auditOf(w, 'webhook_created')
  t.equal(audit.length, 1, 'audited')
  t.same(audit[0]!.details, { subscriptionId: id, host: '93.184.215.14', events: 'message.received contact.created' }, 'with the host only (no path or query)')
  t.match(decode((await get(w.app, '/settings/audit', w.adminCookie)).body), 'Ana Admin added a webhook to 93.184.215.14')
})

t.test('a refused form answers 422 with the reason by the field and keeps what was typed; the default config refuses http:// and private addresses', async (t) => {
  const w = await world(t)
  const cases: Array<{ name: string, url: string, events: string[], field: string, message: string }> = [
    { name: 'not a URL', url: 'shop dot example', events: ['message.received'], field: 'new-hook-url', message: 'This is not a valid URL' },
    { name: 'http:// by default', url: 'http://93.184.215.14/hook', events: ['message.received'], field: 'new-hook-url', message: 'Use an https:// URL: deliveries carry customer messages' },
    { name: '127.0.0.1 by default', url: 'https://127.0.0.1:8443/hook', events: ['contact.updated'], field: 'new-hook-url', message: 'This address is on a private network or this server itself' },
    { name: 'localhost by default', url: 'https://localhost/hook', events: ['contact.updated'], field: 'new-hook-url', message: 'This address is on a private network or this server itself' },
    { name: 'a LAN address by default', url: 'https://192.168.1.20/hook', events: ['contact.updated'], field: 'new-hook-url', message: 'This address is on a private network or this server itself' },
    { name: 'no events', url: 'https://93.184.215.14/hook', events: [], field: 'new-hook-events', message: 'Choose at least one event to send.' }
  ]
  for (const c of cases) {
    const res = await postPairs(w.app, hooksBase, hookForm(c.url, 'Minha loja', c.events), w.adminCookie)
    t.equal(res.statusCode, 422, `${c.name}: 422`)
    const html = decode(res.body)
    t.match(html, c.message, `${c.name}: says why`)
    t.match(res.body, `id="${c.field}-error"`, `${c.name}: by the field`)
    t.match(html, `value="${c.url}"`, `${c.name}: the URL is kept`)
    t.match(res.body, /id="new-hook-description"[^>]*value="Minha loja"/, `${c.name}: the description is kept`)
    for (const e of c.events) t.match(res.body, `value="${e}" checked`, `${c.name}: the chosen events are kept`)
    t.ok(res.body.indexOf('id="new-webhook"') < res.body.indexOf('id="hooks-title"'), `${c.name}: the form comes first`)
    t.notMatch(res.body, /whsec_/, `${c.name}: no secret`)
  }
  const long = await postPairs(w.app, hooksBase, hookForm('https://93.184.215.14/hook', 'x'.repeat(201), ['message.status']), w.adminCookie)
  t.equal(long.statusCode, 422)
  t.match(long.body, 'Use at most 200 characters.')
  const unknown = await postPairs(w.app, hooksBase, hookForm('https://93.184.215.14/hook', '', ['message.deleted']), w.adminCookie)
  t.equal(unknown.statusCode, 422, 'an event Weltra does not send')
  t.equal(w.count('webhook_subscriptions'), 0, 'nothing was created')
  const pt = await w.app.inject({ method: 'POST', url: hooksBase, payload: new URLSearchParams(hookForm('http://93.184.215.14/hook', '', ['message.received'])).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie: w.adminCookie, 'accept-language': 'pt-BR' } })
  t.equal(pt.statusCode, 422)
  t.match(decode(pt.body), 'Use uma URL https://: as entregas levam mensagens de clientes', 'the reason in Portuguese')
  t.notMatch(decode(pt.body), 'deliveries carry customer messages')
})

t.test('edit, pause and resume, rotate the secret (confirm first), each audited', async (t) => {
  const w = await world(t)
  const made = await makeHook(w, 'https://93.184.215.14/a', ['message.received'], 'Shop')
  const id = made.subscription.id
  const url = `${hooksBase}/${id}`

  const saved = await postPairs(w.app, url, hookForm('https://93.184.215.14/a', 'Shop orders', ['message.received', 'conversation.resolved']), w.adminCookie)
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, `${url}?done=updated`)
  const after = await get(w.app, saved.headers.location!, w.adminCookie)
  t.match(after.body, 'Webhook saved.')
  t.match(after.body, /id="edit-hook-description"[^>]*value="Shop orders"/)
  t.match(after.body, /value="conversation.resolved" checked/)
  t.same(auditOf(w, 'webhook_updated').map(a => a.details), [{ subscriptionId: id, host: '93.184.215.14', changed: 'description events' }])

  const refused = await postPairs(w.app, url, hookForm('http://10.0.0.5/hook', 'Shop orders', []), w.adminCookie)
  t.equal(refused.statusCode, 422)
  t.match(decode(refused.body), 'Nothing was saved')
  t.match(decode(refused.body), 'value="http://10.0.0.5/hook"', 'the typed URL is kept')
  t.match(refused.body, 'Choose at least one event to send.')
  t.match((await get(w.app, url, w.adminCookie)).body, /value="https:\/\/93.184.215.14\/a"/, 'and nothing changed')

  const paused = await post(w.app, `${url}/pause`, {}, w.adminCookie)
  t.equal(paused.headers.location, `${url}?done=paused`)
  const pausedPage = await get(w.app, paused.headers.location!, w.adminCookie)
  t.match(pausedPage.body, '>Paused</span>')
  t.match(pausedPage.body, `action="${url}/resume"`, 'offers to resume')
  t.match(pausedPage.body, 'This webhook is paused')
  t.match((await get(w.app, hooksBase, w.adminCookie)).body, '>Paused</span>', 'the list says so')
  const resumed = await post(w.app, `${url}/resume`, {}, w.adminCookie)
  t.equal(resumed.headers.location, `${url}?done=resumed`)
  t.match((await get(w.app, url, w.adminCookie)).body, `action="${url}/pause"`)
  t.same(auditOf(w, 'webhook_updated').slice(1).map(a => (a.details as { changed: string }).changed), ['paused', 'resumed'])

  const confirm = await get(w.app, `${url}/rotate`, w.adminCookie)
  t.equal(confirm.statusCode, 200, 'a confirmation page without JavaScript')
  t.match(confirm.body, `action="${url}/rotate"`)
  t.match(decode(confirm.body), 'keeps signing deliveries for 24 hours')
  t.match((await get(w.app, url, w.adminCookie)).body, 'data-dialog-open="rotate-dialog"', 'a dialog with it')
  const rotated = await post(w.app, `${url}/rotate`, {}, w.adminCookie)
  t.equal(rotated.statusCode, 200)
  t.equal(rotated.headers['cache-control'], 'no-store')
  t.equal(rotated.headers['referrer-policy'], 'no-referrer')
  const fresh = secretIn(rotated.body)
  t.match(fresh, /^whsec_/)
  t.not(fresh, made.secret, 'a new secret')
  t.match(decode(rotated.body), 'The previous secret keeps signing deliveries too until')
  const detail = await get(w.app, url, w.adminCookie)
  t.match(detail.body, 'The previous secret also signs deliveries until', 'the webhook page says the old one still works')
  t.notOk(detail.body.includes(fresh!.slice(6)) || detail.body.includes(made.secret.slice(6)), 'and shows neither')
  t.equal(auditOf(w, 'webhook_secret_rotated').length, 1)
  w.clock.advance(24 * 3_600_000 + 1000)
  t.notMatch((await get(w.app, url, w.adminCookie)).body, 'The previous secret also signs', 'a day later, only the new one')
})

t.test('a test event goes through the worker to a receiver on 127.0.0.1: signed, logged as delivered; replay, detail, failures', async (t) => {
  const w = await world(t, local, { realTime: true })
  const rx = await receiver(t)
  const created = await postPairs(w.app, hooksBase, hookForm(rx.url, 'Local receiver', ['message.received']), w.adminCookie)
  t.equal(created.statusCode, 200, 'private http allowed by this instance\'s config')
  const secret = secretIn(created.body)!
  const isFromWeltra = await sampleOf(t, created.body)
  const id = /action="\/settings\/outgoing-webhooks\/([0-9A-Za-z]+)\/test"/.exec(created.body)![1]!
  const url = `${hooksBase}/${id}`

  const queued = await post(w.app, `${url}/test`, {}, w.adminCookie)
  t.equal(queued.statusCode, 303)
  t.equal(queued.headers.location, `${url}?done=testQueued#deliveries`)
  const pending = await get(w.app, `${url}?done=testQueued`, w.adminCookie)
  t.match(pending.body, 'Test event queued.')
  t.match(pending.body, '>Pending</span>')
  t.match(pending.body, 'not tried yet')
  t.match(pending.body, /id="deliveries"[^>]*hx-trigger="every 5s"/, 'the log polls while something waits')
  t.match(pending.body, /Test event/)

  const worker = startHooksWorker(w.deps, { pollMs: 60_000 })
  t.teardown(() => worker.stop())
  t.equal(await worker.runOnce(), 1, 'one delivery attempted')
  t.equal(rx.got.length, 1, 'the receiver got it')
  const first = rx.got[0]!
  t.equal(first.headers['weltra-event'], 'webhook.test')
  t.ok(verifySignature(String(first.headers['weltra-signature']), secret, first.body, Math.floor(Date.now() / 1000)), 'signed with the secret shown once')
  t.ok(isFromWeltra(String(first.headers['weltra-signature']), first.body, secret), 'the sample on the secret page verifies it')
  t.notOk(isFromWeltra(String(first.headers['weltra-signature']), first.body.replace('test', 'TEST'), secret), 'and refuses an altered body')
  t.notOk(isFromWeltra(String(first.headers['weltra-signature']), first.body, 'whsec_wrong'), 'or another secret')

  const log = await get(w.app, url, w.adminCookie)
  t.match(log.body, '>Delivered</span>', 'the log shows it delivered')
  t.match(log.body, 'HTTP 200')
  t.match(log.body, '1 attempt')
  t.notMatch(log.body, /hx-trigger="every 5s"/, 'nothing waits: no polling')
  t.match(log.body, `…${String(first.headers['weltra-event-id']).slice(-8)}`, 'the short event id')
  const list = await get(w.app, hooksBase, w.adminCookie)
  t.match(list.body, 'hook-health-delivered', 'the list\'s health says delivered')

  const deliveryId = String(first.headers['weltra-delivery'])
  const detail = await get(w.app, `${url}/deliveries/${deliveryId}`, w.adminCookie)
  t.equal(detail.statusCode, 200)
  t.match(detail.body, /<pre[^>]*id="delivery-payload"/, 'the payload in a <pre>')
  t.match(decode(detail.body), '"type": "webhook.test"', 'pretty JSON')
  t.match(detail.body, String(first.headers['weltra-event-id']), 'the event id header')
  t.match(detail.body, deliveryId, 'the delivery id header')
  t.match(detail.body, 'Weltra-Event</dt>')
  t.same(inlineCode(detail.body), [])
  t.match(log.body, `href="${url}/deliveries/${deliveryId}"`, 'a row opens the detail')

  const replay = await post(w.app, `${url}/deliveries/${deliveryId}/replay`, {}, w.adminCookie)
  t.equal(replay.statusCode, 303)
  t.equal(replay.headers.location, `${url}?done=replayed#deliveries`)
  t.equal(deliveriesOf(w).length, 2, 'a replay is a new delivery')
  const replayed = await get(w.app, `${url}?done=replayed`, w.adminCookie)
  t.match(replayed.body, 'Queued again.')
  t.match(replayed.body, '>Replay</span>', 'marked as a replay')
  await worker.runOnce()
  t.equal(rx.got.length, 2)
  t.equal(rx.got[1]!.headers['weltra-event-id'], first.headers['weltra-event-id'], 'with the same event id')
  t.not(rx.got[1]!.headers['weltra-delivery'], deliveryId, 'and a new delivery id')

  rx.answer(503)
  await post(w.app, `${url}/test`, {}, w.adminCookie)
  await worker.runOnce()
  const failing = await get(w.app, url, w.adminCookie)
  t.match(failing.body, 'HTTP 503')
  t.match(failing.body, 'next try', 'a retry is planned')
  t.match(failing.body, /id="deliveries"[^>]*hx-trigger="every 5s"/, 'the log polls again')
  const failingList = await get(w.app, hooksBase, w.adminCookie)
  t.match(failingList.body, 'hook-health-retrying', 'the list says it is failing')
  t.match(failingList.body, 'Failing')
  t.match(failingList.body, 'HTTP 503')
})

t.test('delete asks first (a page that works without JavaScript), then removes the webhook and its log', async (t) => {
  const w = await world(t)
  const made = await makeHook(w, 'https://93.184.215.14/a', ['contact.updated'], 'Old CRM')
  const id = made.subscription.id
  queueTestDelivery(w.deps, w.ws, id)
  const url = `${hooksBase}/${id}`
  t.match((await get(w.app, url, w.adminCookie)).body, 'data-dialog-open="delete-dialog"', 'with JavaScript a dialog asks')
  const confirm = await get(w.app, `${url}/delete`, w.adminCookie)
  t.equal(confirm.statusCode, 200)
  t.match(decode(confirm.body), 'Delete the webhook “Old CRM”?')
  t.match(confirm.body, `action="${url}/delete"`)
  t.equal(w.count('webhook_subscriptions'), 1, 'asking changes nothing')
  const deleted = await post(w.app, `${url}/delete`, {}, w.adminCookie)
  t.equal(deleted.statusCode, 303)
  t.equal(deleted.headers.location, `${hooksBase}?done=deleted`)
  t.equal(w.count('webhook_subscriptions'), 0)
  t.equal(w.count('webhook_deliveries'), 0, 'its deliveries went with it')
  t.match((await get(w.app, deleted.headers.location!, w.adminCookie)).body, 'Webhook deleted.')
  t.equal((await get(w.app, url, w.adminCookie)).statusCode, 404, 'gone')
  t.equal((await post(w.app, `${url}/delete`, {}, w.adminCookie)).statusCode, 404)
  t.same(auditOf(w, 'webhook_deleted').map(a => a.details), [{ subscriptionId: id, host: '93.184.215.14' }])
})

t.test('the delivery log shows 50 at a time, newest first, with an "older" link', async (t) => {
  const w = await world(t)
  const { subscription } = await makeHook(w, 'https://93.184.215.14/a', ['message.received'])
  for (let i = 0; i < 55; i++) { queueTestDelivery(w.deps, w.ws, subscription.id); w.clock.advance(1000) }
  const ids = deliveriesOf(w).map(d => d.id).reverse()
  const url = `${hooksBase}/${subscription.id}`
  const first = await get(w.app, url, w.adminCookie)
  const rows = [...first.body.matchAll(/<tr id="delivery-([0-9A-Za-z]+)"/g)].map(m => m[1])
  t.same(rows, ids.slice(0, 50), 'the newest 50, newest first')
  const older = new RegExp(`href="${url}\\?before=([0-9A-Za-z]+)#deliveries"`).exec(first.body)?.[1]
  t.equal(older, ids[49], 'the cursor is the last id shown')
  const second = await get(w.app, `${url}?before=${older!}`, w.adminCookie)
  t.same([...second.body.matchAll(/<tr id="delivery-([0-9A-Za-z]+)"/g)].map(m => m[1]), ids.slice(50), 'then the 5 older ones')
  t.match(second.body, `href="${url}#deliveries"`, 'and a way back to the newest')
  t.notMatch(second.body, /hx-trigger="every 5s"/, 'an older page does not poll')
  t.equal((await get(w.app, `${url}?before=../../x`, w.adminCookie)).statusCode, 200, 'a bad cursor is ignored')
})

t.test('agents get 403 on every route; another workspace\'s webhooks and deliveries are 404', async (t) => {
  const w = await world(t)
  const mine = await makeHook(w, 'https://93.184.215.14/a', ['message.received'], 'Mine')
  const delivery = queueTestDelivery(w.deps, w.ws, mine.subscription.id)
  const second = await makeHook(w, 'https://93.184.215.14/b', ['message.received'], 'Second')
  const theirs = await createSubscription(w.deps, { userId: null, workspaceId: w.otherWs }, { url: 'https://93.184.215.14/c', description: 'Theirs', events: ['contact.created'] })
  if (!theirs.ok) throw new Error('other workspace')
  const theirDelivery = queueTestDelivery(w.deps, w.otherWs, theirs.subscription.id)

  const routes = w.app.routeTable.filter(r => r.url.startsWith(hooksBase) && r.method !== 'HEAD')
  t.equal(routes.length, 13, 'thirteen routes')
  for (const r of routes) t.equal(r.policy, 'admin', `${r.method} ${r.url} is for admins`)
  const fill = (u: string, sub: string, del: string): string => u.replace(':subscriptionId', sub).replace(':deliveryId', del)
  const send = (r: { method: string, url: string }, url: string, cookie: string) => r.method === 'GET' ? get(w.app, url, cookie) : postPairs(w.app, url, hookForm('https://93.184.215.14/x', 'Changed', ['message.status']), cookie)
  for (const r of routes) {
    const res = await send(r, fill(r.url, mine.subscription.id, delivery.id), w.agentCookie)
    t.equal(res.statusCode, 403, `agent: ${r.method} ${r.url} → 403`)
    t.notOk(res.body.includes('93.184.215.14'), 'shows nothing of the webhooks')
  }
  for (const r of routes.filter(r => r.url.includes(':'))) {
    const res = await send(r, fill(r.url, mine.subscription.id, delivery.id), w.outsiderCookie)
    t.equal(res.statusCode, 404, `another workspace's owner: ${r.method} ${r.url} → 404`)
    t.notOk(res.body.includes('Mine'), 'shows nothing of it')
    if (r.url.includes(':deliveryId')) {
      t.equal((await send(r, fill(r.url, mine.subscription.id, theirDelivery.id), w.adminCookie)).statusCode, 404, `${r.method} ${r.url}: their delivery under my webhook → 404`)
      t.equal((await send(r, fill(r.url, second.subscription.id, delivery.id), w.adminCookie)).statusCode, 404, `${r.method} ${r.url}: a delivery under the wrong webhook → 404`)
    }
  }
  t.equal((await get(w.app, `${hooksBase}/${theirs.subscription.id}`, w.adminCookie)).statusCode, 404, 'their webhook under my session → 404')
  t.notMatch((await get(w.app, hooksBase, w.outsiderCookie)).body, 'Mine', 'their list does not show mine')
  t.equal(w.count('webhook_subscriptions'), 3, 'nothing was deleted')
  t.equal(w.count('webhook_deliveries'), 2, 'nothing was replayed or queued')
  t.equal(auditOf(w, 'webhook_updated').length + auditOf(w, 'webhook_deleted').length + auditOf(w, 'webhook_secret_rotated').length, 0, 'nothing changed')
})

t.test('every page is translated in English and Portuguese (no catalogue key shows through)', async (t) => {
  const w = await world(t)
  const { subscription } = await makeHook(w, 'https://93.184.215.14/a', ['message.received', 'contact.updated'], 'Loja')
  const delivery = queueTestDelivery(w.deps, w.ws, subscription.id)
  const url = `${hooksBase}/${subscription.id}`
  for (const lang of ['en', 'pt-BR']) {
    const headers = { cookie: w.adminCookie, 'accept-language': lang }
    const pages = [
      await w.app.inject({ url: hooksBase, headers }),
      await w.app.inject({ url, headers }),
      await w.app.inject({ url: `${url}/rotate`, headers }),
      await w.app.inject({ url: `${url}/delete`, headers }),
      await w.app.inject({ url: `${url}/deliveries/${delivery.id}`, headers }),
      await w.app.inject({ method: 'POST', url: `${url}/rotate`, headers: { ...headers, origin } }),
      await postPairs(w.app, hooksBase, hookForm('http://x', '', []), w.adminCookie)
    ]
    for (const page of pages) {
      t.ok(page.statusCode === 200 || page.statusCode === 422, `${lang}: ${page.statusCode}`)
      t.notMatch(page.body, /(hooks\.(ui|event|errors)|settingsNav)\.[a-zA-Z]/, `${lang}: no raw key in ${page.body.slice(page.body.indexOf('<title>'), page.body.indexOf('</title>'))}`)
    }
    if (lang === 'pt-BR') t.match(decode(pages[1]!.body), 'Registro de entregas', 'the log in Portuguese')
  }
})

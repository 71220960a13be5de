// Connecting a WhatsApp number, end to end over real HTTP: the form checks the credentials with the
// (fake) Graph API before anything is stored, maps Meta's failures to fixes an admin can act on, stores
// secrets encrypted and never shows them again, guides the webhook set-up with a live status, and keeps
// a health panel (token check, issues), credential replacement behind the password, rename, disconnect.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { addMember, createUser, get, post, sessionCookie, signIn, type TestUser } from '../../../test/helpers/accounts.js'
import { auditLog } from '../../db/schema.js'
import { startFakeGraph, type FakeGraph } from '../../platform/whatsapp/fake-graph.js'
import { signatureHeader } from '../../platform/whatsapp/webhook-signature.js'
import { createChannel, findChannel } from './channels.service.js'

const waba = '109876543210001'
const phoneId = '110000000000101'
const token = 'EAAGm0PAYVERYSECRETtoken1234567890WXYZ'
const appSecret = 'f3c2a9187d6e5b4a3c2d1e0f9a8b7c6d'
const form = { name: 'Sales', wabaId: waba, phoneNumberId: phoneId, accessToken: token, appSecret }

interface Env extends Awaited<ReturnType<typeof buildTestApp>> {
  fake: FakeGraph
  owner: TestUser & { workspaceId: string | undefined }
  cookie: string
  pages: string[]
  /** GET that keeps the body for the "no secret in any page" check. */
  page: (url: string, cookie?: string) => Promise<LightMyRequestResponse>
  /** POST that keeps the body too. */
  send: (url: string, fields: Record<string, string>, cookie?: string) => Promise<LightMyRequestResponse>
}

async function setup (t: Test, set: Record<string, string> = {}): Promise<Env> {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: phoneId, display: '+1 555-010-0101', verifiedName: 'Souza Imports', wabaId: waba })
  fake.addPhoneNumber({ id: '110000000000202', display: '+1 555-010-0202', verifiedName: 'Souza Imports', wabaId: waba })
  const env = await buildTestApp(t, { set: { 'whatsapp.graph_base_url': fake.url, 'whatsapp.graph_timeout_seconds': '1', ...set } })
  const owner = await createUser(env.deps, { name: 'Ana Souza', workspace: 'Souza Imports' })
  const pages: string[] = []
  const cookie = set['server.public_url'] === undefined ? await signIn(env.app, owner) : await signInSameSite(env.app, owner)
  const page = async (url: string, c = cookie) => { const res = await get(env.app, url, c); pages.push(res.body); return res }
  const send = async (url: string, fields: Record<string, string>, c = cookie) => { const res = await post(env.app, url, fields, c); pages.push(res.body); return res }
  return { ...env, fake, owner, cookie, pages, page, send }
}

// With a public URL other than localhost the Origin check needs the browser's Sec-Fetch-Site instead.
async function signInSameSite (app: Env['app'], user: TestUser): Promise<string> {
  const res = await post(app, '/login', { email: user.email, password: user.password }, undefined, { headers: { 'sec-fetch-site': 'same-origin' } })
  return sessionCookie(res)!
}

async function connect (env: Env, fields: Record<string, string> = form): Promise<string> {
  const res = await env.send('/settings/channels/new', fields)
  if (res.statusCode !== 303) throw new Error(`connect failed: ${res.statusCode} ${res.body.slice(0, 300)}`)
  const id = /^\/settings\/channels\/([0-9A-Za-z]+)\?done=connected$/.exec(String(res.headers.location))?.[1]
  if (id === undefined) throw new Error(`unexpected redirect ${String(res.headers.location)}`)
  return id
}

function rawDump (env: Env): string {
  return JSON.stringify(env.deps.sqlite.prepare('SELECT * FROM channels').all())
}

t.test('an admin connects a number: checked with Meta, subscribed, stored encrypted, templates synced', async (t) => {
  const env = await setup(t)
  const list = await env.page('/settings/channels')
  t.equal(list.statusCode, 200)
  t.match(list.body, 'Connect your first WhatsApp number')
  t.match(list.body, 'whatsapp_business_management', 'the empty state says what to prepare')
  t.match(list.body, 'href="/settings/channels/new"')
  t.match((await env.page('/settings/channels/new')).body, 'Phone number ID')

  const id = await connect(env)
  t.ok(env.fake.requests.some(r => r.method === 'GET' && r.path === `/v25.0/${phoneId}` && r.headers.authorization === `Bearer ${token}`), 'the phone number was read with the given token')
  t.ok(env.fake.subscribedWabas.has(waba), 'POST /{waba-id}/subscribed_apps was called')

  const channel = findChannel(env.deps.db, env.owner.workspaceId!, id)!
  t.match(channel, {
    name: 'Sales',
    wabaId: waba,
    phoneNumberId: phoneId,
    displayPhoneNumber: '+1 555-010-0101',
    verifiedName: 'Souza Imports',
    qualityRating: 'GREEN',
    messagingTier: 'TIER_1K',
    graphApiVersion: 'v25.0',
    accessToken: token,
    appSecret,
    accessTokenLast4: 'WXYZ',
    status: 'active',
    tokenCheckedAt: env.clock.now(),
    subscribedAt: env.clock.now()
  })
  const dump = rawDump(env)
  t.notOk(dump.includes(token), 'the token is not in the raw row')
  t.notOk(dump.includes(appSecret), 'the app secret is not in the raw row')
  t.notOk(dump.includes(channel.verifyToken), 'the verify token is not in the raw row')
  t.equal(env.count('templates'), 4, 'templates were synced on connect')
  const audit = env.deps.db.select().from(auditLog).all().find(r => r.action === 'channel_connected')
  t.match(audit, { workspaceId: env.owner.workspaceId, actorUserId: env.owner.id, details: { channel: 'Sales', number: '+1 555-010-0101' } })

  const show = await env.page(`/settings/channels/${id}?done=connected`)
  t.equal(show.statusCode, 200)
  t.match(show.body, 'Number connected')
  t.match(show.body, `value="http://localhost:8080/webhooks/whatsapp/${channel.publicId}"`, 'the callback URL in a copy field')
  t.match(show.body, `value="${channel.verifyToken}"`, 'the verify token in a copy field')
  t.match(show.body, 'data-copy="callback-url"')
  t.match(show.body, '•••• WXYZ', 'the access token only as its last 4')
  t.match(show.body, 'Waiting for Meta to verify the webhook')
  t.match(show.body, 'hx-trigger="every 5s"', 'the status polls while incomplete')
  t.match(show.body, 'message_template_quality_update', 'the fields to subscribe to')
  t.match(show.body, /1,000 customers \/ 24\u00a0h/)
  t.match(show.body, '4 templates, 2 approved')
  const listed = await env.page('/settings/channels')
  t.match(listed.body, '+1 555-010-0101')
  t.match(listed.body, 'Webhook not set up')
  const auditPage = await env.page('/settings/audit')
  t.match(auditPage.body, 'connected the WhatsApp number +1 555-010-0101 (Sales)')

  for (const html of env.pages) {
    t.notOk(html.includes(token) || html.includes(appSecret), 'no page ever shows the token or the app secret')
  }
})

t.test("Meta's refusals become fixes next to the right field, and nothing is stored", async (t) => {
  const env = await setup(t)
  const cases: Array<[string, () => void, string, RegExp]> = [
    ['expired token (190)', () => env.fake.script(`/${phoneId}`, { error: 'error-190-token-expired' }), 'f-token-error', /expired or invalid.*System User token/],
    ['unknown phone number id (100/33)', () => {}, 'f-phone-error', /found no phone number with this ID/],
    ['invalid parameter (100) on subscribed_apps', () => env.fake.script('/subscribed_apps', { error: 'error-100-invalid-parameter' }), 'f-waba-error', /found no WhatsApp Business Account/],
    ['Meta down (500)', () => env.fake.script(`/${phoneId}`, { status: 500 }), 'form', /Couldn&#39;t reach Meta|Couldn't reach Meta/],
    ['Meta too slow (timeout)', () => env.fake.script(`/${phoneId}`, { delayMs: 1500 }), 'form', /reach Meta/],
    ['connection cut', () => env.fake.script('/subscribed_apps', { reset: 'before' }), 'form', /reach Meta/]
  ]
  for (const [name, arrange, where, message] of cases) {
    arrange()
    const fields = name.startsWith('unknown') ? { ...form, phoneNumberId: '999999999999' } : form
    const res = await env.send('/settings/channels/new', fields)
    t.equal(res.statusCode, 422, name)
    if (where === 'form') t.match(res.body, /class="notice notice-danger" role="alert"/, `${name}: a form-level notice`)
    else t.match(res.body, `id="${where}"`, `${name}: next to its field`)
    t.match(res.body, message, `${name}: says what to do`)
    t.match(res.body, `value="${waba}"`, `${name}: non-secret values are kept`)
    t.notOk(res.body.includes(token) || res.body.includes(appSecret), `${name}: secrets are not echoed`)
    t.equal(env.count('channels'), 0, `${name}: nothing stored`)
  }
  t.notOk(env.deps.db.select().from(auditLog).all().some(r => r.action.startsWith('channel_')), 'nothing audited as connected')
})

t.test('validation errors are shown per field, values kept, and Meta is not asked', async (t) => {
  const env = await setup(t)
  const res = await env.send('/settings/channels/new', { name: ' ', wabaId: waba, phoneNumberId: '+1 555 010', accessToken: '', appSecret: 'has spaces in it ok' })
  t.equal(res.statusCode, 422)
  t.match(res.body, 'Give the number a name.')
  t.match(res.body, 'It is not the phone number itself.')
  t.match(res.body, 'Paste the access token.')
  t.match(res.body, 'doesn&#39;t look like an app secret')
  t.match(res.body, 'value="+1 555 010"', 'the wrong value is kept to be corrected')
  t.match(res.body, `value="${waba}"`)
  t.equal(env.fake.requests.length, 0, 'no Graph call')
})

t.test('a phone number id already connected here is refused; several numbers per workspace work', async (t) => {
  const env = await setup(t)
  await connect(env)
  env.fake.reset()
  const again = await env.send('/settings/channels/new', { ...form, name: 'Sales again' })
  t.equal(again.statusCode, 422)
  t.match(again.body, 'already connected in this workspace')
  t.equal(env.fake.requests.length, 0, 'refused before asking Meta')
  await connect(env, { ...form, name: 'Support', phoneNumberId: '110000000000202' })
  const list = await env.page('/settings/channels')
  t.match(list.body, '+1 555-010-0101')
  t.match(list.body, '+1 555-010-0202')
  t.equal(env.count('channels'), 2)
  t.equal(env.count('templates'), 4, 'one template cache per WABA')
})

t.test('a failed template sync does not fail the connect: it is recorded on the health panel', async (t) => {
  const env = await setup(t)
  env.fake.script('/message_templates', { status: 503 })
  const id = await connect(env)
  const show = await env.page(`/settings/channels/${id}`)
  t.match(show.body, 'Template sync failed')
  t.match(show.body, 'Not synced yet')
  t.match(show.body, /Active/)
  const sync = await env.send(`/settings/channels/${id}/sync-templates`, {})
  t.equal(sync.headers.location, `/settings/channels/${id}?done=synced&n=4`)
  t.match((await env.page(String(sync.headers.location))).body, '4 templates synced from Meta.')
})

t.test('agents cannot see the page; another workspace\'s channel is a 404', async (t) => {
  const env = await setup(t)
  const id = await connect(env)
  const agent = await createUser(env.deps, { name: 'Bruno' })
  addMember(env.deps, env.owner.workspaceId!, agent.id, 'agent')
  const agentCookie = await signIn(env.app, agent)
  t.equal((await get(env.app, '/settings/channels', agentCookie)).statusCode, 403)
  t.equal((await get(env.app, `/settings/channels/${id}`, agentCookie)).statusCode, 403)
  t.equal((await post(env.app, '/settings/channels/new', form, agentCookie)).statusCode, 403)
  t.notMatch((await get(env.app, '/settings/members', agentCookie)).body, '/settings/channels', 'agents do not get the tab')
  t.match((await env.page('/settings/members')).body, 'href="/settings/channels"', 'admins do')

  const other = await createUser(env.deps, { workspace: 'Other shop' })
  const otherCookie = await signIn(env.app, other)
  for (const url of [`/settings/channels/${id}`, `/settings/channels/${id}/webhook-status`, `/settings/channels/${id}/disconnect`]) {
    t.equal((await get(env.app, url, otherCookie)).statusCode, 404, url)
  }
  for (const url of [`/settings/channels/${id}/check`, `/settings/channels/${id}/rename`, `/settings/channels/${id}/disconnect`, `/settings/channels/${id}/credentials`]) {
    t.equal((await post(env.app, url, { name: 'x', current: 'x', accessToken: token }, otherCookie)).statusCode, 404, url)
  }
  t.equal((await get(env.app, '/settings/channels/not-an-id', env.cookie)).statusCode, 404)
  t.notMatch((await get(env.app, '/settings/channels', otherCookie)).body, '555-010-0101', "B's list does not show A's number")
  t.equal(findChannel(env.deps.db, env.owner.workspaceId!, id)!.name, 'Sales', 'nothing changed')
})

t.test('the public URL decides the callback URL and the warnings', async (t) => {
  for (const [publicUrl, expect] of [
    [undefined, 'Set Weltra&#39;s public address first'],
    ['http://crm.example.com', 'Meta only accepts HTTPS callback URLs'],
    ['https://crm.example.com', undefined]
  ] as Array<[string | undefined, string | undefined]>) {
    const env = await setup(t, publicUrl === undefined ? {} : { 'server.public_url': publicUrl })
    const channel = createChannel(env.deps.db, env.owner.workspaceId!, { name: 'Main', wabaId: waba, phoneNumberId: phoneId, accessToken: token, appSecret, graphApiVersion: 'v25.0' }, env.clock.now())
    const body = (await env.page(`/settings/channels/${channel.id}`)).body
    const base = publicUrl ?? 'http://localhost:8080'
    t.match(body, `value="${base}/webhooks/whatsapp/${channel.publicId}"`, `${String(publicUrl)}: callback URL`)
    if (expect !== undefined) t.match(body, expect, `${String(publicUrl)}: warning`)
    t.equal(/notice-danger|notice-warning/.test(body), expect !== undefined, `${String(publicUrl)}: ${expect === undefined ? 'no' : 'a'} warning`)
    if (publicUrl?.startsWith('http://') === true) t.match(body, 'server.tls_cert_file', 'says how to fix it')
  }
})

t.test('the webhook status line follows the handshake and the first event, then stops polling', async (t) => {
  const env = await setup(t)
  const id = await connect(env)
  const channel = findChannel(env.deps.db, env.owner.workspaceId!, id)!
  const status = async () => (await env.page(`/settings/channels/${id}/webhook-status`)).body
  let html = await status()
  t.match(html, /^<div id="webhook-status"/, 'one root element with a stable id')
  t.match(html, 'Waiting for Meta to verify the webhook')
  t.match(html, 'hx-trigger="every 5s"')

  const hook = `/webhooks/whatsapp/${channel.publicId}`
  const handshake = await env.app.inject({ url: `${hook}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(channel.verifyToken)}&hub.challenge=1158201444` })
  t.equal(handshake.body, '1158201444')
  html = await status()
  t.match(html, 'Webhook verified')
  t.match(html, 'Waiting for the first event')
  t.match(html, 'hx-trigger="every 5s"', 'still polling for the first event')

  env.clock.advance(60_000)
  const body = Buffer.from('{"object":"whatsapp_business_account","entry":[]}')
  const delivery = await env.app.inject({ method: 'POST', url: hook, payload: body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureHeader(body, appSecret) } })
  t.equal(delivery.statusCode, 200)
  html = await status()
  t.match(html, 'Webhook verified')
  t.match(html, 'First event received')
  t.notMatch(html, 'hx-trigger', 'complete: no more polling')
  t.match(html, /<li class="health-row" id="health-last-event" hx-swap-oob="true">[\s\S]*?Now/, 'the health panel row comes along out of band')
  const show = await env.page(`/settings/channels/${id}`)
  t.notMatch(show.body, '<details class="guide" open>', 'the guide folds away once events arrive')
  t.match((await env.page('/settings/channels')).body, /datetime="[^"]+"[^>]*>now<\/time>|just now|now/)
})

t.test('"Check now": a 190 marks the number as needing reconnection and lists the issue; a good check refreshes it', async (t) => {
  const env = await setup(t)
  const id = await connect(env)
  env.fake.script(`/${phoneId}`, { error: 'error-190-token-expired' })
  env.clock.advance(3_600_000)
  const check = await env.send(`/settings/channels/${id}/check`, {})
  t.equal(check.headers.location, `/settings/channels/${id}?done=checkToken`)
  const channel = findChannel(env.deps.db, env.owner.workspaceId!, id)!
  t.equal(channel.status, 'needs_reconnect')
  t.match(channel.statusDetail, /access token/i, "Meta's words are kept as the detail")
  const show = await env.page(String(check.headers.location))
  t.match(show.body, 'Needs reconnecting')
  t.match(show.body, 'This number needs reconnecting')
  t.match(show.body, '#190', 'the issue is listed with its code')
  t.match(show.body, 'href="#credentials"', 'the fix: paste a new token')
  t.match(show.body, 'Meta rejected the token')

  env.fake.phoneNumbers.get(phoneId)!.quality = 'YELLOW'
  env.clock.advance(60_000)
  const ok = await env.send(`/settings/channels/${id}/check`, {})
  t.equal(ok.headers.location, `/settings/channels/${id}?done=checked`)
  t.match(findChannel(env.deps.db, env.owner.workspaceId!, id), { status: 'active', statusDetail: null, qualityRating: 'YELLOW', tokenCheckedAt: env.clock.now() })
  const after = await env.page(`/settings/channels/${id}`)
  t.match(after.body, 'Medium')
  t.match(after.body, '#190', 'the issue stays in the history')

  env.fake.script(`/${phoneId}`, { status: 502, html: true })
  const down = await env.send(`/settings/channels/${id}/check`, {})
  t.equal(down.headers.location, `/settings/channels/${id}?done=checkUnreachable`)
  t.equal(findChannel(env.deps.db, env.owner.workspaceId!, id)!.status, 'active', 'Meta being down is not the token\'s fault')
})

t.test('replacing the token needs the right password and a token Meta accepts', async (t) => {
  const env = await setup(t)
  const id = await connect(env)
  const ws = env.owner.workspaceId!
  env.fake.script(`/${phoneId}`, { error: 'error-190-token-expired' })
  await env.send(`/settings/channels/${id}/check`, {})
  t.equal(findChannel(env.deps.db, ws, id)!.status, 'needs_reconnect')
  const newToken = 'EAAGnewSYSTEMUSERtoken0987654321ABCD'
  const newSecret = '0a1b2c3d4e5f60718293a4b5c6d7e8f9'

  const wrong = await env.send(`/settings/channels/${id}/credentials`, { accessToken: newToken, appSecret: newSecret, current: 'not my password' })
  t.equal(wrong.statusCode, 422)
  t.match(wrong.body, 'id="f-cred-current-error"')
  t.match(findChannel(env.deps.db, ws, id), { accessToken: token, appSecret, previousAppSecret: null, status: 'needs_reconnect' }, 'nothing changed')
  t.notOk(env.fake.requests.some(r => r.headers.authorization === `Bearer ${newToken}`), 'the new token was not even tried')

  env.fake.script(`/${phoneId}`, { error: 'error-190-token-expired' })
  const refused = await env.send(`/settings/channels/${id}/credentials`, { accessToken: newToken, appSecret: '', current: env.owner.password })
  t.equal(refused.statusCode, 422)
  t.match(refused.body, 'expired or invalid')
  t.equal(findChannel(env.deps.db, ws, id)!.accessToken, token, 'a refused token is not stored')

  const ok = await env.send(`/settings/channels/${id}/credentials`, { accessToken: newToken, appSecret: newSecret, current: env.owner.password })
  t.equal(ok.statusCode, 303)
  t.equal(ok.headers.location, `/settings/channels/${id}?done=credentials`)
  t.match(findChannel(env.deps.db, ws, id), { accessToken: newToken, accessTokenLast4: 'ABCD', appSecret: newSecret, previousAppSecret: appSecret, status: 'active', statusDetail: null })
  t.notOk(rawDump(env).includes(newToken) || rawDump(env).includes(newSecret), 'encrypted at rest')
  const show = await env.page(String(ok.headers.location))
  t.match(show.body, '•••• ABCD')
  t.match(show.body, 'Credentials replaced')
  t.notOk(env.pages.some(html => html.includes(newToken) || html.includes(newSecret)), 'never shown')

  // Both secrets verify signatures while Meta rotates (after the 3 s webhook cache).
  env.clock.advance(5000)
  const channel = findChannel(env.deps.db, ws, id)!
  const body = Buffer.from('{"object":"whatsapp_business_account","entry":[]}')
  for (const secret of [newSecret, appSecret]) {
    const res = await env.app.inject({ method: 'POST', url: `/webhooks/whatsapp/${channel.publicId}`, payload: body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureHeader(body, secret) } })
    t.equal(res.statusCode, 200)
  }
  t.ok(env.deps.db.select().from(auditLog).all().some(r => r.action === 'channel_credentials_replaced'))
})

t.test('wrong passwords are throttled like sign-in', async (t) => {
  const env = await setup(t)
  const id = await connect(env)
  for (let i = 0; i < 5; i++) await env.send(`/settings/channels/${id}/credentials`, { accessToken: 'EAAGanother-token-0000000000', appSecret: '', current: 'wrong password' })
  const res = await env.send(`/settings/channels/${id}/credentials`, { accessToken: 'EAAGanother-token-0000000000', appSecret: '', current: env.owner.password })
  t.equal(res.statusCode, 422)
  t.match(res.body, 'Too many wrong passwords')
  t.equal(findChannel(env.deps.db, env.owner.workspaceId!, id)!.accessToken, token)
})

t.test('rename, then disconnect through the confirmation page', async (t) => {
  const env = await setup(t)
  const id = await connect(env)
  const ws = env.owner.workspaceId!
  const bad = await env.send(`/settings/channels/${id}/rename`, { name: '' })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, 'Give the number a name.')
  t.equal((await env.send(`/settings/channels/${id}/rename`, { name: 'Vendas' })).headers.location, `/settings/channels/${id}?done=renamed`)
  t.equal(findChannel(env.deps.db, ws, id)!.name, 'Vendas')

  const publicId = findChannel(env.deps.db, ws, id)!.publicId
  const confirm = await env.page(`/settings/channels/${id}/disconnect`)
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, 'Disconnect +1 555-010-0101?')
  const done = await env.send(`/settings/channels/${id}/disconnect`, {})
  t.equal(done.headers.location, '/settings/channels?done=disconnected')
  t.equal(findChannel(env.deps.db, ws, id), undefined)
  t.ok((env.deps.sqlite.prepare('SELECT deleted_at FROM channels WHERE id = ?').get(id) as { deleted_at: number | null }).deleted_at, 'soft deleted')
  t.equal((await env.page(`/settings/channels/${id}`)).statusCode, 404)
  const list = await env.page('/settings/channels?done=disconnected')
  t.match(list.body, 'Number disconnected.')
  t.match(list.body, 'Connect your first WhatsApp number')
  env.clock.advance(5000)
  const body = Buffer.from('{}')
  t.equal((await env.app.inject({ method: 'POST', url: `/webhooks/whatsapp/${publicId}`, payload: body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureHeader(body, appSecret) } })).statusCode, 404, 'its callback URL is gone')
  const actions = env.deps.db.select().from(auditLog).all().map(r => r.action)
  t.ok(actions.includes('channel_renamed') && actions.includes('channel_disconnected'))
  t.ok(await env.send('/settings/channels/new', form).then(r => r.statusCode === 303), 'the number can be connected again')
})

// A team at work in a real browser, against the app listening on 127.0.0.1 with the workers of
// `weltra serve` running and the fake Graph API standing in for Meta (it sends the signed webhooks,
// accepts or refuses sends, serves media). Four stories:
//   1. two agents in one conversation: A replies from the composer, B's open thread and list show it
//      without a reload, and Meta's sent → delivered → read statuses move the ticks for both;
//   2. a conversation whose 24-hour window closed offers the APPROVED templates instead of the text box,
//      and sending one reaches the Graph API;
//   3. failed sends (Meta refusing the send with 131047; a "failed" status webhook with 131026) say why
//      in plain words, live, with the action that fixes it;
//   4. a customer's photo is downloaded by the media worker (metadata, then bytes), shown inline in the
//      thread and opened in the viewer.
// Screenshots: docs/screenshots/inbox-team-*.png with SCREENSHOTS=1.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import type { Page } from 'playwright-core'
import { eq } from 'drizzle-orm'
import { browserApp, screenshotDir, type BrowserApp } from '../helpers/browser.js'
import { addMember, createUser, type TestUser } from '../helpers/accounts.js'
import { signedInTab, type AgentTab } from '../helpers/agents.js'
import { png } from '../helpers/images.js'
import { waitFor } from '../helpers/process.js'
import { envelope, fixturePhoneNumberId, fixtureSecret, fixtureWaba, message, messagesValue, status, type Sender } from '../helpers/whatsapp.js'
import { startWorkers } from '../helpers/workers.js'
import { startFakeGraph, type FakeGraph } from '../../src/platform/whatsapp/fake-graph.js'
import { createChannel, type Channel } from '../../src/features/channels/channels.service.js'
import { syncTemplates } from '../../src/features/templates/templates.service.js'
import { contacts, conversations } from '../../src/db/schema.js'

const token = 'EAAG-inbox-team-browser-0001'
const minute = 60_000
const hour = 60 * minute
/** Thursday 12 March 2026, 14:30 UTC: "now" for every story. */
const now = Date.UTC(2026, 2, 12, 14, 30)
const at = (ms: number): number => Math.floor(ms / 1000)

const maria: Sender = { waId: '15550100201', userId: 'US.team0000000000201', name: 'Maria Silva' }
const kenji: Sender = { waId: '15550100202', userId: 'US.team0000000000202', name: 'Kenji Watanabe' }

interface World extends BrowserApp {
  fake: FakeGraph
  channel: Channel
  owner: TestUser
  /** Meta (the fake) POSTs a signed webhook with this `messages` change value to the callback URL, over HTTP. */
  meta: (value: Record<string, unknown>) => Promise<void>
  /** A customer's text arriving `ago` ms before now; resolves with the conversation id once processed. */
  writes: (who: Sender, wamid: string, text: string, ago: number) => Promise<string>
  /** A member of the workspace (role agent) with their own signed-in browser context. */
  agent: (name: string) => Promise<AgentTab & { user: TestUser }>
}

async function world (t: Parameters<typeof browserApp>[0]): Promise<World | undefined> {
  const fake = await startFakeGraph({ accessToken: token, appSecret: fixtureSecret })
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: fixturePhoneNumberId, display: '+1 555-010-0100', verifiedName: 'Souza Imports', wabaId: fixtureWaba })
  const env = await browserApp(t, { set: { 'whatsapp.graph_base_url': fake.url, 'storage.data_dir': join(t.testdir({}), 'data') } })
  if (env === undefined) return undefined
  env.clock.set(now)
  const owner = await createUser(env.deps, { name: 'Ana Souza', workspace: 'Souza Imports' })
  const workspaceId = owner.workspaceId!
  const channel = createChannel(env.deps.db, workspaceId, { name: 'Main number', wabaId: fixtureWaba, phoneNumberId: fixturePhoneNumberId, accessToken: token, appSecret: fixtureSecret, graphApiVersion: 'v25.0', displayPhoneNumber: '+1 555-010-0100' }, now)
  startWorkers(t, env.deps)
  const callback = `${env.base}/webhooks/whatsapp/${channel.publicId}`
  const meta = async (value: Record<string, unknown>): Promise<void> => {
    const res = await fake.postWebhook(callback, envelope(value))
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${res.body}`)
  }
  // wa_id is stored encrypted: find the contact by decrypting the workspace's contacts.
  const conversationOf = (waId: string): string | undefined => env.deps.db.select({ id: conversations.id, waId: contacts.waId }).from(conversations)
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .where(eq(conversations.workspaceId, workspaceId)).all().find(c => c.waId === waId)?.id
  const writes = async (who: Sender, wamid: string, text: string, ago: number): Promise<string> => {
    await meta(messagesValue([who], { messages: [message(wamid, who, 'text', { body: text }, {}, at(now - ago))] }))
    await waitFor(() => conversationOf(who.waId!) !== undefined, `the conversation with ${who.name}`)
    return conversationOf(who.waId!)!
  }
  const agent = async (name: string): Promise<AgentTab & { user: TestUser }> => {
    const user = await createUser(env.deps, { name })
    addMember(env.deps, workspaceId, user.id, 'agent')
    const tab = await signedInTab(env, user)
    t.teardown(() => tab.context.close())
    return { ...tab, user }
  }
  return { ...env, fake, channel, owner, meta, writes, agent }
}

/** Opens a conversation and waits for its thread and composer. */
async function open (page: Page, base: string, conversationId: string): Promise<void> {
  await page.goto(`${base}/inbox/${conversationId}`)
  await page.locator(`#thread[data-conversation="${conversationId}"]`).waitFor()
  await page.locator('.composer').waitFor()
}

/** Types a reply into the composer and sends it; resolves once the composer is back, empty. */
async function reply (page: Page, text: string): Promise<void> {
  const box = page.locator('textarea[data-composer-text]')
  await box.fill(text)
  await page.locator('.composer-send').click()
  await page.waitForFunction(() => (document.querySelector('textarea[data-composer-text]') as HTMLTextAreaElement | null)?.value === '')
}

/** The bubble of our outbound message with this text (waits for it), and its element id ("m-<message id>"). */
async function bubble (page: Page, text: string): Promise<string> {
  const el = page.locator('#thread .msg-out', { hasText: text })
  await el.waitFor({ timeout: 10_000 })
  return (await el.getAttribute('id'))!
}

/** A viewport screenshot without the pointer hovering anything. */
async function shoot (page: Page, path: string): Promise<void> {
  await page.mouse.move(1, 1)
  await page.screenshot({ path, caret: 'initial', animations: 'disabled' })
}

t.test('two agents: A\'s reply appears live in B\'s open thread and list, and Meta\'s statuses move both agents\' ticks', async (t) => {
  const w = await world(t)
  if (w === undefined) return
  const shots = screenshotDir(t)
  const conversation = await w.writes(maria, 'wamid.TEAM.M1', 'Hi! Is the canvas tote still available in navy? I\'d need it by Saturday.', 12 * minute)
  const a = await w.agent('Carla Mendes')
  const b = await w.agent('Bruno Lima')
  await open(a.page, w.base, conversation)
  await open(b.page, w.base, conversation)
  await b.page.evaluate(() => { (window as unknown as { marker: number }).marker = 42 })
  t.match(await b.page.locator(`#row-${conversation} .row-preview`).innerText(), /canvas tote/, 'B\'s list shows the customer\'s message')

  const text = 'Hi Maria! Yes, the navy tote is in stock and ships today, so it arrives Friday. Shall I reserve one?'
  await reply(a.page, text)
  const id = await bubble(b.page, text)
  t.pass('the reply appears in B\'s open thread')
  t.match(await b.page.locator(`#${id} .msg-author`).innerText(), /Carla Mendes/, 'signed with A\'s name')
  await b.page.locator(`#row-${conversation} .row-preview`, { hasText: 'the navy tote is in stock' }).waitFor({ timeout: 10_000 })
  t.pass('B\'s list shows the reply as the conversation\'s latest message')
  t.equal(await b.page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'B\'s page was not reloaded')
  t.equal(await bubble(a.page, text), id, 'A sees the same message')

  // The outbound worker sends it; Meta accepts (the clock tick: accepted, not yet "sent").
  await waitFor(() => w.fake.sentMessages.length === 1, 'the reply to reach the Graph API')
  const sent = w.fake.sentMessages[0]!
  t.equal(sent.body.to, maria.waId, 'to the customer\'s WhatsApp number')
  t.same(sent.body.text, { body: text, preview_url: false }, 'the text as typed')
  t.equal(sent.body.biz_opaque_callback_data, id.slice(2), 'carrying our message id')
  for (const tab of [a, b]) await tab.page.locator(`#${id} .tick-accepted`).waitFor({ timeout: 10_000 })
  t.pass('both see it accepted by Meta')

  // Meta's status webhooks move the ticks, live, for both.
  for (const [i, value] of (['sent', 'delivered', 'read'] as const).entries()) {
    await w.meta(messagesValue([], { statuses: [status(sent.wamid, value, at(now) + 5 + 20 * i, { recipient_id: maria.waId })] }))
    for (const [who, tab] of [['A', a], ['B', b]] as const) {
      await tab.page.locator(`#${id} .tick-${value}`).waitFor({ timeout: 10_000 })
      t.pass(`${who} sees "${value}"`)
    }
  }
  t.equal(await b.page.locator(`#${id} .tick .sr-only`).innerText(), 'Read', 'the tick says Read to screen readers')
  await b.page.locator(`#row-${conversation} .row-tick.tick-read`).waitFor({ timeout: 10_000 })
  t.pass('B\'s list row shows the read tick')
  t.equal(await b.page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'still without a reload')
  await shoot(b.page, join(shots, 'inbox-team-reply.png'))
  t.same(a.problems, [], 'A: no console errors or CSP violations')
  t.same(b.problems, [], 'B: no console errors or CSP violations')
})

t.test('a closed 24-hour window offers the approved templates instead of the text box, and the template is sent', async (t) => {
  const w = await world(t)
  if (w === undefined) return
  const shots = screenshotDir(t)
  const synced = await syncTemplates(w.deps, w.channel)
  t.same(synced, { total: 4, approved: 2, deleted: 0 }, 'templates synced from the Graph API: two approved, one paused, one rejected')
  const conversation = await w.writes(kenji, 'wamid.TEAM.K1', 'Thanks, I will think about it.', 26 * hour)
  const a = await w.agent('Carla Mendes')
  await open(a.page, w.base, conversation)

  await a.page.locator('.tpl-list').waitFor()
  t.ok(await a.page.locator('textarea[data-composer-text]').isHidden(), 'no free-form text box')
  t.match(await a.page.locator('.composer-window').innerText(), /24-hour window closed/)
  t.same(await a.page.locator('.tpl-item-name').allInnerTexts(), ['appointment_reminder', 'order_shipped'], 'only APPROVED templates (not the paused or the rejected one)')

  await a.page.locator('.tpl-item', { hasText: 'appointment_reminder' }).click()
  await a.page.locator('input[name="p.body.1"]').fill('Kenji')
  await a.page.locator('input[name="p.body.2"]').fill('Thu 19 Mar, 4:30 PM')
  await a.page.locator('.tpl-preview mark.tpl-param', { hasText: 'Thu 19 Mar, 4:30 PM' }).waitFor()
  await a.page.getByRole('button', { name: 'Send template' }).click()
  await a.page.locator('.tpl-list').waitFor()
  t.pass('the composer is back at the list of templates')

  const rendered = 'Hi Kenji, this is a reminder of your appointment on Thu 19 Mar, 4:30 PM.'
  const bubbleEl = a.page.locator('#thread .msg-type-template', { hasText: rendered })
  await bubbleEl.waitFor({ timeout: 10_000 })
  t.match(await bubbleEl.innerText(), /Template: appointment_reminder/, 'the bubble names the template')
  await waitFor(() => w.fake.sentMessages.length === 1, 'the template to reach the Graph API')
  const sent = w.fake.sentMessages[0]!
  t.equal(sent.body.type, 'template')
  t.equal(sent.body.to, kenji.waId)
  t.same(sent.body.template, {
    name: 'appointment_reminder',
    language: { code: 'en_US' },
    components: [{ type: 'body', parameters: [{ type: 'text', text: 'Kenji' }, { type: 'text', text: 'Thu 19 Mar, 4:30 PM' }] }]
  }, 'the Graph request names the template, its language and the values')
  const id = (await bubbleEl.getAttribute('id'))!
  await a.page.locator(`#${id} .tick-accepted`).waitFor({ timeout: 10_000 })
  await w.meta(messagesValue([], { statuses: [status(sent.wamid, 'delivered', at(now) + 8, { recipient_id: kenji.waId })] }))
  await a.page.locator(`#${id} .tick-delivered`).waitFor({ timeout: 10_000 })
  t.pass('delivered, live')
  await a.page.locator(`#row-${conversation} .row-tick.tick-delivered`).waitFor({ timeout: 10_000 })
  t.pass('the list row follows')
  await shoot(a.page, join(shots, 'inbox-team-template.png'))
  t.same(a.problems, [], 'no console errors or CSP violations')
})

t.test('failed sends say why in plain words, live for both agents, with the action that fixes it', async (t) => {
  const w = await world(t)
  if (w === undefined) return
  const shots = screenshotDir(t)
  const conversation = await w.writes(maria, 'wamid.TEAM.F1', 'Can you send me a discount code for the tote?', 20 * minute)
  const a = await w.agent('Carla Mendes')
  const b = await w.agent('Bruno Lima')
  await open(a.page, w.base, conversation)
  await open(b.page, w.base, conversation)
  // Opening the conversation marked the customer's message read at Meta (once): every later POST
  // /messages is a send, so the scripted refusal below hits the send.
  await waitFor(() => w.fake.readReceipts.some(r => r.wamid === 'wamid.TEAM.F1'), 'the read receipt')
  t.equal(w.fake.readReceipts.length, 1, 'one read receipt for two agents opening the conversation')

  // 1. Meta accepts a send, then a "failed" status webhook arrives with #131026 and its details.
  const second = 'Or I can hold the navy tote for you until Saturday — just say the word!'
  await reply(a.page, second)
  const secondId = await bubble(b.page, second)
  await waitFor(() => w.fake.sentMessages.length === 1, 'the second reply to reach the Graph API')
  await b.page.locator(`#${secondId} .tick-accepted`).waitFor({ timeout: 10_000 })
  await w.meta(messagesValue([], {
    statuses: [status(w.fake.sentMessages[0]!.wamid, 'failed', at(now) + 30, {
      recipient_id: maria.waId,
      errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Unable to deliver the message to this recipient.' } }]
    })]
  }))
  for (const [who, tab] of [['A', a], ['B', b]] as const) {
    const failure = tab.page.locator(`#${secondId} .msg-failure`)
    await failure.waitFor({ timeout: 10_000 })
    const words = await failure.innerText()
    t.match(words, /WhatsApp couldn't deliver this message\. The customer may not use WhatsApp, may have blocked this number, or uses an old app\./, `${who}: the status webhook's reason in plain words`)
    t.match(words, /Meta error #131026/, `${who}: with Meta's code`)
  }
  await b.page.locator(`#row-${conversation} .row-tick.tick-failed`).waitFor({ timeout: 10_000 })
  t.pass('B\'s list row shows the failed send')

  // 2. Meta refuses the next send itself: #131047, the customer-service window is closed on its side.
  w.fake.script(r => r.method === 'POST' && r.path.endsWith(`/${fixturePhoneNumberId}/messages`), { error: 'error-131047-reengagement' })
  const first = 'Here is your code: TOTE10 (10% off, valid until Sunday).'
  await reply(a.page, first)
  const firstId = await bubble(b.page, first)
  for (const [who, tab] of [['A', a], ['B', b]] as const) {
    const failure = tab.page.locator(`#${firstId} .msg-failure`)
    await failure.waitFor({ timeout: 10_000 })
    const words = await failure.innerText()
    t.match(words, /More than 24 hours have passed since the customer's last message\. Send an approved template instead\./, `${who}: the reason in plain words`)
    t.match(words, /Meta error #131047/, `${who}: Meta's code for support`)
    t.equal(await failure.getByRole('link', { name: 'Send a template' }).count(), 1, `${who}: the action that fixes it`)
    t.ok(await tab.page.locator(`#${firstId} .tick-failed`).isVisible(), `${who}: the failed tick`)
  }
  t.equal(w.fake.sentMessages.length, 1, 'Meta did not take it')

  // B was not writing: B's composer turns into the template picker by itself (Meta's clock wins).
  await b.page.locator('#composer .composer-mode-template').waitFor({ timeout: 10_000 })
  t.pass('B is offered templates, live')
  await shoot(b.page, join(shots, 'inbox-team-failed-send.png'))

  // The action: "Send a template" turns A's composer into the template picker and puts the cursor there.
  await a.page.locator(`#${firstId} .msg-failure`).getByRole('link', { name: 'Send a template' }).click()
  await a.page.locator('#composer .composer-mode-template').waitFor({ timeout: 10_000 })
  await a.page.waitForFunction(() => document.activeElement?.closest('#composer') !== null)
  t.pass('"Send a template" opens the template picker with the cursor in it')
  await shoot(a.page, join(shots, 'inbox-team-template-picker.png'))
  t.same(a.problems, [], 'A: no console errors or CSP violations')
  t.same(b.problems, [], 'B: no console errors or CSP violations')
})

t.test('a customer\'s photo is downloaded from the Graph API, shown inline in the open thread and opened in the viewer', async (t) => {
  const w = await world(t)
  if (w === undefined) return
  const shots = screenshotDir(t)
  const conversation = await w.writes(maria, 'wamid.TEAM.P1', 'I have a question about the strap of my bag.', 6 * minute)
  const a = await w.agent('Carla Mendes')
  await open(a.page, w.base, conversation)

  // A tote bag on a warm backdrop.
  const photo = png(480, 360, (x, y) => {
    const bag = x > 150 && x < 330 && y > 120 && y < 310
    const handle = Math.abs(Math.hypot(x - 240, y - 125) - 55) < 7 && y < 125
    if (bag || handle) return [38 + (y % 7), 84, 96 + (x % 5)]
    const shade = Math.round(30 * (y / 360))
    return [236 - shade, 220 - shade, 196 - shade]
  })
  const mediaId = '1890000000099001'
  w.fake.setMedia(mediaId, { bytes: photo, mimeType: 'image/png' })
  const sha256 = createHash('sha256').update(photo).digest('base64')
  await w.meta(messagesValue([maria], { messages: [message('wamid.TEAM.P2', maria, 'image', { id: mediaId, mime_type: 'image/png', sha256, caption: 'This one — is the strap adjustable?' }, {}, at(now - minute))] }))

  const img = a.page.locator('#thread .msg-type-image img')
  await img.waitFor({ timeout: 15_000 })
  await a.page.waitForFunction(() => {
    const el = document.querySelector<HTMLImageElement>('#thread .msg-type-image img')
    return el !== null && el.complete && el.naturalWidth > 0
  }, undefined, { timeout: 10_000 })
  t.same(await img.evaluate((el) => [(el as HTMLImageElement).naturalWidth, (el as HTMLImageElement).naturalHeight]), [480, 360], 'the photo loaded, at its size')
  t.match(await a.page.locator('#thread .msg-type-image').innerText(), /is the strap adjustable\?/, 'with its caption')
  const graph = w.fake.requests.filter(r => r.path.includes(mediaId)).map(r => `${r.method} ${r.path}`)
  t.same(graph, [`GET /v25.0/${mediaId}`, `GET /media-bytes/${mediaId}`], 'the worker asked for the metadata, then the bytes')
  await a.page.locator(`#row-${conversation} .row-preview`, { hasText: 'is the strap adjustable' }).waitFor({ timeout: 10_000 })
  await shoot(a.page, join(shots, 'inbox-team-image.png'))

  await a.page.locator('#thread .msg-type-image [data-viewer]').click()
  await a.page.locator('#media-viewer[open]').waitFor()
  await a.page.waitForFunction(() => {
    const el = document.querySelector<HTMLImageElement>('#media-viewer .media-viewer-img')
    return el !== null && el.complete && el.naturalWidth === 480
  }, undefined, { timeout: 10_000 })
  t.pass('the viewer shows the photo')
  t.equal(a.page.url(), `${w.base}/inbox/${conversation}`, 'without leaving the inbox')
  await shoot(a.page, join(shots, 'inbox-team-image-viewer.png'))
  await a.page.keyboard.press('Escape')
  await a.page.locator('#media-viewer[open]').waitFor({ state: 'detached' })
  t.pass('Escape closes the viewer')
  t.same(a.problems, [], 'no console errors or CSP violations')
})

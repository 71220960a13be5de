// The composer in a real browser: an agent types a reply (the counter follows), "/" inserts a canned
// response with its variables filled, Enter sends and the queued bubble appears in the thread; a private
// note @mentions a teammate; in a conversation whose 24-hour window closed the template picker replaces
// the text box and its preview follows what is typed. Two agents side by side: one writing a note is
// shown to the other ("Bruno Lima is writing a note…") until they pause or send; the note's @mention is
// highlighted for the teammate it names; Reply on a customer's bubble quotes it, React puts a badge on it.
// Screenshots (light, dark, phone): the composer open with canned responses, the template picker with its
// preview, Settings → Canned responses, and a thread with a bubble's actions shown.
import { join } from 'node:path'
import t from 'tap'
import type { BrowserContext, Page } from 'playwright-core'
import { and, eq } from 'drizzle-orm'
import { browserApp, screenshotDir, signInThroughForm, watchedPage, type BrowserApp } from '../helpers/browser.js'
import { addMember, createUser } from '../helpers/accounts.js'
import { deliver, envelope, message, messagesValue, fixtureSecret } from '../helpers/whatsapp.js'
import { startFakeGraph } from '../../src/platform/whatsapp/fake-graph.js'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { processAllPending } from '../../src/features/webhooks/webhook-processor.js'
import { createCannedResponse } from '../../src/features/canned/canned.service.js'
import { messages, noteMentions, templates, conversations, contacts } from '../../src/db/schema.js'

const waba = '109876543210001'
const phoneNumberId = '110000000000101'
const hour = 3_600_000

const reminder = [
  { type: 'HEADER', format: 'TEXT', text: 'Appointment reminder' },
  { type: 'BODY', text: 'Hi {{1}}, this is a reminder of your fitting on {{2}}. Reply below to confirm or reschedule.', example: { body_text: [['Ana', 'Tue 15 Sep, 3:00 PM']] } },
  { type: 'FOOTER', text: 'Reply STOP to opt out' },
  { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Confirm' }, { type: 'QUICK_REPLY', text: 'Reschedule' }] }
]
const shipped = [
  { type: 'HEADER', format: 'IMAGE', example: { header_handle: ['https://example.invalid/h.jpg'] } },
  { type: 'BODY', text: 'Good news {{first_name}}! Order {{order_id}} is on its way.', example: { body_text_named_params: [{ param_name: 'first_name', example: 'Kenji' }, { param_name: 'order_id', example: '58213' }] } },
  { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Track package', url: 'https://track.example.invalid/{{1}}', example: ['58213'] }] }
]

interface Seeded {
  open: string
  closed: string
  agent: { email: string, password: string }
  owner: { email: string, password: string }
  teammate: { email: string, password: string }
  /** A customer's message arriving now-minus-agoMs through the webhook pipeline. */
  inbound: (waId: string, name: string, wamid: string, text: string, agoMs: number) => Promise<void>
}

/** A shop with a number, an owner and an agent, canned responses, approved templates, and two conversations (window open / closed). */
async function seed (env: BrowserApp): Promise<Seeded> {
  const { deps } = env
  const owner = await createUser(deps, { name: 'Olga Owner', workspace: 'Souza Imports' })
  const workspaceId = owner.workspaceId!
  const agent = await createUser(deps, { name: 'Bruno Lima' })
  addMember(deps, workspaceId, agent.id, 'agent')
  const teammate = await createUser(deps, { name: 'Carla Mendes' })
  addMember(deps, workspaceId, teammate.id, 'agent')
  const now = env.clock.now()
  const channel = createChannel(deps.db, workspaceId, { name: 'Main number', wabaId: waba, phoneNumberId, accessToken: 'EAAG-composer-browser-0001', appSecret: fixtureSecret, graphApiVersion: 'v25.0' }, now)
  const url = `/webhooks/whatsapp/${channel.publicId}`
  const inbound = async (waId: string, name: string, wamid: string, text: string, agoMs: number): Promise<void> => {
    const at = Math.floor((now - agoMs) / 1000)
    const res = await deliver(env, url, envelope(messagesValue([{ waId, name }], { messages: [message(wamid, { waId }, 'text', { body: text }, {}, at)] })))
    if (res.statusCode !== 200) throw new Error(`delivery ${res.statusCode}`)
  }
  await inbound('5511987650001', 'Ana Souza', 'wamid.COMPOSER.A1', 'Hi! Is the leather tote still available in brown?', hour + 12 * 60_000)
  await inbound('5511987650002', 'Kenji Watanabe', 'wamid.COMPOSER.K1', 'Thanks, I will think about it.', 26 * hour)
  processAllPending(deps)
  const conversationOf = (waName: string): string => {
    const row = deps.db.select({ id: conversations.id }).from(conversations).innerJoin(contacts, eq(contacts.id, conversations.contactId)).where(and(eq(conversations.workspaceId, workspaceId), eq(contacts.profileName, waName))).get()
    return row!.id
  }
  for (const [shortcut, body] of [
    ['greet', 'Hi {{contact.first_name|there}}, this is {{agent.first_name}} from {{workspace.name}}. How can I help?'],
    ['hours', 'We are open Monday to Friday, 9:00–18:00, and Saturday 10:00–14:00.'],
    ['shipping', 'Orders placed before 14:00 ship the same day; delivery takes 1–3 business days.'],
    ['thanks', 'Thank you, {{contact.first_name|there}}! Anything else I can do for you?']
  ] as const) createCannedResponse(deps, { userId: owner.id, workspaceId }, { shortcut, body })
  const template = (name: string, language: string, components: unknown[], parameterFormat: string, category: string): void => {
    deps.db.insert(templates).values({ workspaceId, wabaId: waba, name, language, status: 'APPROVED', category, parameterFormat, components, syncedAt: now, updatedAt: now }).run()
  }
  template('appointment_reminder', 'en_US', reminder, 'POSITIONAL', 'UTILITY')
  template('appointment_reminder', 'pt_BR', reminder, 'POSITIONAL', 'UTILITY')
  template('order_shipped', 'en', shipped, 'NAMED', 'UTILITY')
  template('autumn_sale', 'en_US', [{ type: 'BODY', text: 'Hi {{1}}, our autumn sale starts today: 30% off backpacks.' }], 'POSITIONAL', 'MARKETING')
  deps.db.insert(templates).values({ workspaceId, wabaId: waba, name: 'paused_promo', language: 'en_US', status: 'PAUSED', category: 'MARKETING', parameterFormat: 'POSITIONAL', components: [], updatedAt: now }).run()
  return { open: conversationOf('Ana Souza'), closed: conversationOf('Kenji Watanabe'), agent, owner, teammate, inbound }
}

async function signedIn (env: BrowserApp, options: Parameters<BrowserApp['browser']['newContext']>[0], user: { email: string, password: string }): Promise<{ context: BrowserContext, page: Page, problems: string[] }> {
  const context = await env.browser.newContext({ locale: 'en-US', timezoneId: 'UTC', ...options })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, user)
  await page.waitForURL(/\/inbox/)
  return { context, page, problems }
}

const composerText = (page: Page) => page.locator('textarea[data-composer-text]')

t.test('an agent replies with a canned response, adds a note with a mention, and sends a template once the window closed', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const env = await browserApp(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  if (env === undefined) return
  const shots = screenshotDir(t)
  const seeded = await seed(env)
  const { context, page, problems } = await signedIn(env, { viewport: { width: 1360, height: 860 }, colorScheme: 'light' }, seeded.agent)

  await page.goto(`${env.base}/inbox/${seeded.open}`)
  const text = composerText(page)
  await text.waitFor()
  t.match(await page.locator('.composer-window').innerText(), /Window closes in 22 h 48 min/, 'the countdown')

  // The counter follows the text.
  await text.pressSequentially('Hello there')
  await page.waitForFunction(() => document.querySelector('[data-counter]')?.textContent?.trim() === '11 / 4,096')
  t.pass('the counter shows 11 / 4,096')

  // The emoji grid inserts at the cursor.
  await text.press('Home')
  await page.locator('[data-emoji-picker] > summary').click()
  await page.getByRole('button', { name: '👋' }).click()
  t.equal(await text.inputValue(), '👋Hello there', 'the emoji went where the cursor was')
  t.ok(await page.locator('[data-emoji-picker]').evaluate((d) => !(d as HTMLDetailsElement).open), 'the picker closed')

  // Files are checked in the browser before anything is uploaded.
  await page.locator('[data-file-input]').setInputFiles({ name: 'huge-photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(5 * 1024 * 1024 + 10, 0xff) })
  await page.locator('[data-file-error]').waitFor()
  t.match(await page.locator('[data-file-error]').innerText(), /huge-photo\.jpg is too large: this kind of file can be at most 5 MB/)
  t.equal(await page.locator('[data-file-input]').evaluate((i) => (i as HTMLInputElement).files?.length ?? 0), 0, 'the file was not kept')
  await page.locator('[data-file-input]').setInputFiles({ name: 'page.html', mimeType: 'text/html', buffer: Buffer.from('<html></html>') })
  t.match(await page.locator('[data-file-error]').innerText(), /can't send page\.html/)
  await page.locator('[data-file-input]').setInputFiles({ name: 'catalogue.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 catalogue') })
  t.ok(await page.locator('[data-file-error]').isHidden(), 'an accepted file clears the error')
  t.match(await page.locator('[data-file-chip]').innerText(), /catalogue\.pdf/)
  t.match(await page.locator('[data-counter]').innerText(), /\/ 1,024/, 'with a file the text is a caption')
  await page.locator('[data-file-remove]').click()
  t.ok(await page.locator('[data-file-chip]').isHidden())

  // "/" opens the canned responses; typing filters; Enter inserts the body with its variables filled.
  await text.fill('')
  await text.pressSequentially('/gr')
  const suggestion = page.locator('.composer-suggest-item')
  await suggestion.first().waitFor()
  t.equal(await suggestion.count(), 1, 'filtered to /greet')
  t.match(await suggestion.first().innerText(), /\/greet/)
  await text.fill('')
  await text.pressSequentially('/')
  await page.waitForFunction(() => document.querySelectorAll('.composer-suggest-item').length === 4)
  await page.screenshot({ path: join(shots, 'composer-canned-light.png'), caret: 'initial', animations: 'disabled' })
  await text.pressSequentially('gr')
  await page.keyboard.press('Enter')
  t.equal(await text.inputValue(), 'Hi Ana, this is Bruno from Souza Imports. How can I help?', 'variables filled')
  t.ok(await page.locator('[data-suggest]').isHidden(), 'the list closed')

  // Enter sends; the composer comes back empty and the queued bubble shows in the thread.
  await page.keyboard.press('Enter')
  await page.waitForFunction(() => (document.querySelector('textarea[data-composer-text]') as HTMLTextAreaElement | null)?.value === '')
  const sent = env.deps.db.select().from(messages).where(eq(messages.direction, 'out')).all()
  t.equal(sent.length, 1, 'one message queued')
  t.equal(env.count('message_outbox'), 1)
  await page.locator('#thread-scroll').getByText('Hi Ana, this is Bruno from Souza Imports. How can I help?').waitFor({ timeout: 10_000 })
  t.pass('the queued bubble appears in the thread')
  t.equal(await page.evaluate(() => document.activeElement?.matches('textarea[data-composer-text]')), true, 'the cursor is back in the text box')

  // A private note with an @mention.
  await page.locator('.composer-tab-note').click()
  await page.waitForSelector('.composer:has(.composer-tab-note input:checked)')
  await text.click()
  await text.pressSequentially('@car')
  await suggestion.first().waitFor()
  t.match(await suggestion.first().innerText(), /Carla Mendes/)
  await page.keyboard.press('Enter')
  await text.pressSequentially('can you approve the brown tote discount?')
  t.equal(await text.inputValue(), '@Carla Mendes can you approve the brown tote discount?')
  await page.screenshot({ path: join(shots, 'composer-note-light.png'), caret: 'initial', animations: 'disabled' })
  await page.getByRole('button', { name: 'Add note' }).click()
  await page.waitForFunction(() => (document.querySelector('textarea[data-composer-text]') as HTMLTextAreaElement | null)?.value === '')
  const note = env.deps.db.select().from(messages).where(eq(messages.direction, 'note')).get()
  t.ok(note, 'the note is stored')
  t.equal(env.deps.db.select().from(noteMentions).all().length, 1, 'Carla is mentioned')
  t.equal(env.count('message_outbox'), 1, 'notes are never queued')
  await page.locator('#thread-scroll').getByText(/can you approve the brown tote discount/).waitFor({ timeout: 10_000 })
  t.pass('the note appears in the thread')

  // The window closed for Kenji: the template picker replaces the text box.
  await page.goto(`${env.base}/inbox/${seeded.closed}`)
  await page.locator('.tpl-list').waitFor()
  t.ok(await composerText(page).isHidden(), 'no free-form text box')
  t.match(await page.locator('.composer-window').innerText(), /24-hour window closed/)
  const names = await page.locator('.tpl-item-name').allInnerTexts()
  t.same(names, ['appointment_reminder', 'autumn_sale', 'order_shipped'], 'only approved templates')
  await page.locator('.tpl-item', { hasText: 'appointment_reminder' }).click()
  const first = page.locator('input[name="p.body.1"]')
  await first.waitFor()
  await first.pressSequentially('Kenji')
  await page.locator('.tpl-preview mark.tpl-param', { hasText: 'Kenji' }).waitFor()
  t.pass('the preview follows the typing')
  await page.keyboard.press('Enter')
  t.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name), 'p.body.2', 'Enter moves to the next field instead of sending')
  t.equal(env.deps.db.select().from(messages).where(eq(messages.type, 'template')).all().length, 0, 'nothing sent yet')
  await page.locator('input[name="p.body.2"]').pressSequentially('Thu 19 Mar, 4:30 PM')
  await page.locator('.tpl-preview mark.tpl-param', { hasText: 'Thu 19 Mar, 4:30 PM' }).waitFor()
  await page.screenshot({ path: join(shots, 'composer-template-reminder-light.png'), caret: 'initial', animations: 'disabled' })
  await page.getByRole('button', { name: 'Send template' }).click()
  await page.locator('.tpl-list').waitFor()
  const template = env.deps.db.select().from(messages).where(eq(messages.type, 'template')).get()
  t.ok(template, 'the template is queued')
  t.equal(env.count('message_outbox'), 2)

  // Kenji answers: the live stream reloads the untouched composer, and the reply box is back.
  await seeded.inbound('5511987650002', 'Kenji Watanabe', 'wamid.COMPOSER.K2', 'Yes, Thursday works!', 0)
  processAllPending(env.deps)
  await composerText(page).waitFor({ state: 'visible', timeout: 10_000 })
  t.match(await page.locator('.composer-window').innerText(), /Window closes in 24 h 0 min/, 'the window is open again')

  t.same(problems, [], 'no console errors or CSP violations')
  await context.close()
})

t.test('screenshots: composer, template picker and canned responses in dark mode and at phone width', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const env = await browserApp(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  if (env === undefined) return
  const shots = screenshotDir(t)
  const seeded = await seed(env)
  const inbound = env.deps.db.select({ id: messages.id }).from(messages).where(and(eq(messages.conversationId, seeded.open), eq(messages.direction, 'in'))).get()!

  for (const [variant, options] of [
    ['light', { viewport: { width: 1360, height: 860 }, colorScheme: 'light' as const }],
    ['dark', { viewport: { width: 1360, height: 860 }, colorScheme: 'dark' as const }],
    ['phone', { viewport: { width: 390, height: 844 }, colorScheme: 'light' as const, isMobile: true, hasTouch: true }]
  ] as const) {
    const { context, page, problems } = await signedIn(env, options, seeded.agent)
    // The composer replying to the customer's message, with the canned responses open.
    await page.goto(`${env.base}/inbox/${seeded.open}?replyTo=${inbound.id}`)
    await composerText(page).waitFor()
    t.ok(await page.locator('.composer-quote').isVisible(), `${variant}: the quoted message`)
    await composerText(page).click()
    await composerText(page).pressSequentially('/')
    await page.locator('.composer-suggest-item').first().waitFor()
    await page.screenshot({ path: join(shots, `composer-open-${variant}.png`), caret: 'initial', animations: 'disabled' })
    await page.keyboard.press('Escape')
    await composerText(page).fill('')
    await composerText(page).pressSequentially('Yes, we have it in brown! Would you like me to reserve one for you?')
    await page.screenshot({ path: join(shots, `composer-reply-${variant}.png`), caret: 'initial', animations: 'disabled' })

    // The template picker with its live preview.
    await page.goto(`${env.base}/inbox/${seeded.closed}`)
    await page.locator('.tpl-list').waitFor()
    if (variant !== 'phone') await page.screenshot({ path: join(shots, `composer-templates-${variant}.png`), caret: 'initial', animations: 'disabled' })
    await page.locator('.tpl-item', { hasText: 'order_shipped' }).click()
    await page.locator('input[name="p.body.first_name"]').pressSequentially('Kenji')
    await page.locator('input[name="p.body.order_id"]').pressSequentially('58213')
    await page.locator('.tpl-preview mark.tpl-param', { hasText: '58213' }).waitFor()
    await page.screenshot({ path: join(shots, `composer-template-${variant}.png`), caret: 'initial', animations: 'disabled' })
    t.same(problems, [], `${variant}: no console errors or CSP violations`)
    await context.close()

    // Settings → Canned responses, as the admin who manages them.
    const admin = await signedIn(env, options, seeded.owner)
    await admin.page.goto(`${env.base}/settings/canned`)
    await admin.page.locator('.canned-table').waitFor()
    await admin.page.screenshot({ path: join(shots, `canned-${variant}.png`), caret: 'initial', animations: 'disabled', fullPage: true })
    t.same(admin.problems, [], `${variant}: canned responses page has no problems`)
    await admin.context.close()
  }
})

t.test('two agents: writing a note shows to the other until it pauses or is sent; Reply quotes a bubble, React badges it', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const env = await browserApp(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  if (env === undefined) return
  const shots = screenshotDir(t)
  const seeded = await seed(env)
  const viewport = { viewport: { width: 1360, height: 860 }, colorScheme: 'light' as const }
  const a = await signedIn(env, viewport, seeded.agent)
  const b = await signedIn(env, viewport, seeded.teammate)
  const thread = `${env.base}/inbox/${seeded.open}`
  await a.page.goto(thread)
  await b.page.goto(thread)
  await composerText(a.page).waitFor()
  await composerText(b.page).waitFor()
  // Both pages hold their live stream before anything happens.
  await a.page.waitForFunction(() => document.querySelector('#inbox') !== null)
  await new Promise(resolve => setTimeout(resolve, 500))
  const typingOnB = b.page.locator(`#composer-typing-${seeded.open}`)

  // A starts writing a note: B sees it; A never sees themselves.
  await a.page.locator('.composer-tab-note').click()
  await composerText(a.page).click()
  await composerText(a.page).pressSequentially('Checking the stock')
  await typingOnB.getByText('Bruno Lima is writing a note…').waitFor({ timeout: 10_000 })
  t.pass('B sees "Bruno Lima is writing a note…"')
  t.equal(await a.page.locator('.composer-typing-pill').count(), 0, 'A does not see their own typing')
  await b.page.screenshot({ path: join(shots, 'composer-typing-light.png'), caret: 'initial', animations: 'disabled' })

  // A pauses: a few seconds without a keystroke and it is gone from B's page.
  env.clock.advance(10_000)
  await typingOnB.locator('.composer-typing-pill').waitFor({ state: 'detached', timeout: 15_000 })
  t.pass('it disappears once A pauses')

  // A writes the note for real, @mentioning B, and sends it: the indicator goes at once.
  await composerText(a.page).fill('')
  await composerText(a.page).pressSequentially('@car')
  await a.page.locator('.composer-suggest-item').first().waitFor()
  await a.page.keyboard.press('Enter')
  await composerText(a.page).pressSequentially('can you approve the brown tote discount?')
  await typingOnB.getByText('Bruno Lima is writing a note…').waitFor({ timeout: 10_000 })
  t.pass('B sees it again')
  await a.page.getByRole('button', { name: 'Add note' }).click()
  await typingOnB.locator('.composer-typing-pill').waitFor({ state: 'detached', timeout: 10_000 })
  t.pass('sending the note hides it')
  const mentionOnB = b.page.locator('#thread .msg-note mark.mention.is-me', { hasText: '@Carla Mendes' })
  await mentionOnB.waitFor({ timeout: 10_000 })
  t.pass('B sees the note with their own mention emphasised')
  t.equal(await mentionOnB.getAttribute('title'), 'Mentions you')
  const mentionOnA = a.page.locator('#thread .msg-note mark.mention', { hasText: '@Carla Mendes' })
  await mentionOnA.waitFor({ timeout: 10_000 })
  t.notOk(await mentionOnA.evaluate((m) => m.classList.contains('is-me')), 'A sees it highlighted, not as theirs')
  t.equal(await a.page.locator('#thread .msg-note [data-bubble-actions]').count(), 0, 'notes have no bubble actions')

  // Reply on the customer's bubble: back to reply mode with the quote, the cursor in the text box.
  const inbound = env.deps.db.select({ id: messages.id }).from(messages).where(and(eq(messages.conversationId, seeded.open), eq(messages.direction, 'in'))).get()!
  const bubble = a.page.locator(`#m-${inbound.id}`)
  const actions = bubble.locator('[data-bubble-actions]')
  t.equal(await actions.evaluate((el) => getComputedStyle(el).opacity), '0', 'the actions stay out of the way until wanted')
  await bubble.locator('.bubble').hover()
  await a.page.waitForFunction((id) => getComputedStyle(document.querySelector(`#m-${id} [data-bubble-actions]`)!).opacity === '1', inbound.id)
  t.pass('hovering the bubble shows its actions')
  await a.page.screenshot({ path: join(shots, 'composer-bubble-actions-hover-light.png'), caret: 'initial', animations: 'disabled' })
  await bubble.getByRole('link', { name: 'Reply' }).click()
  const chip = a.page.locator('.composer-quote')
  await chip.waitFor()
  t.match(await chip.innerText(), /leather tote still available in brown/)
  t.ok(await a.page.locator('.composer-tab-reply input').isChecked(), 'the composer switched back to reply')
  await a.page.waitForFunction(() => document.activeElement?.matches('textarea[data-composer-text]') === true)
  t.pass('the cursor is in the text box')
  await a.page.keyboard.type('Yes, we have it in brown! Shall I reserve one?')
  await a.page.keyboard.press('Enter')
  const quoted = a.page.locator('#thread .msg-out', { hasText: 'Shall I reserve one?' }).locator('.msg-quote')
  await quoted.waitFor({ timeout: 10_000 })
  t.match(await quoted.innerText(), /leather tote/, 'the sent bubble shows the quote')
  const reply = env.deps.db.select().from(messages).where(and(eq(messages.conversationId, seeded.open), eq(messages.direction, 'out'))).all().find(m => m.type === 'text')!
  t.equal((JSON.parse(reply.content) as { context?: { messageId?: string } }).context?.messageId, 'wamid.COMPOSER.A1', 'sent with the WhatsApp context')
  await b.page.locator('#thread .msg-out .msg-quote', { hasText: 'leather tote' }).waitFor({ timeout: 10_000 })
  t.pass('B sees the quoted reply live')

  // React by keyboard: Tab to the reaction button, open it, pick ❤️; the badge appears under the bubble.
  await a.page.mouse.move(5, 5)
  await bubble.getByRole('link', { name: 'Reply' }).focus()
  await a.page.waitForFunction((id) => getComputedStyle(document.querySelector(`#m-${id} [data-bubble-actions]`)!).opacity === '1', inbound.id)
  t.pass('keyboard focus shows the actions')
  await a.page.keyboard.press('Tab')
  await a.page.keyboard.press('Enter')
  const menu = bubble.locator('.bubble-react-menu')
  await menu.waitFor()
  await menu.getByRole('button', { name: 'React with ❤️' }).click()
  await bubble.locator('.msg-reactions .reaction.is-mine', { hasText: '❤️' }).waitFor({ timeout: 10_000 })
  t.pass('the reaction shows as a badge')
  t.ok(await menu.isHidden(), 'the menu closed')
  const reaction = env.deps.db.select().from(messages).where(eq(messages.type, 'reaction')).get()
  t.ok(reaction, 'the reaction is queued')
  await b.page.locator(`#m-${inbound.id} .msg-reactions .reaction`, { hasText: '❤️' }).waitFor({ timeout: 10_000 })
  t.pass('B sees the badge too')

  t.same(a.problems, [], 'A: no console errors or CSP violations')
  t.same(b.problems, [], 'B: no console errors or CSP violations')
  await a.context.close()
  await b.context.close()
})

t.test('screenshots: a thread with a bubble\'s actions, light, dark and phone', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const env = await browserApp(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  if (env === undefined) return
  const shots = screenshotDir(t)
  const seeded = await seed(env)
  // A short exchange, so the thread looks lived in: two customer messages around a reply and a note.
  await seeded.inbound('5511987650001', 'Ana Souza', 'wamid.COMPOSER.A2', 'And does it come with the long strap? 🙂', 40 * 60_000)
  processAllPending(env.deps)
  const first = env.deps.db.select({ id: messages.id }).from(messages).where(eq(messages.wamid, 'wamid.COMPOSER.A1')).get()!
  const second = env.deps.db.select({ id: messages.id }).from(messages).where(eq(messages.wamid, 'wamid.COMPOSER.A2')).get()!
  const team = await signedIn(env, { viewport: { width: 1360, height: 860 } }, seeded.agent)
  await team.page.goto(`${env.base}/inbox/${seeded.open}`)
  await composerText(team.page).waitFor()
  await team.page.locator(`#m-${first.id} .bubble`).hover()
  await team.page.locator(`#m-${first.id}`).getByRole('link', { name: 'Reply' }).click()
  await team.page.locator('.composer-quote').waitFor()
  await composerText(team.page).pressSequentially('Yes! We have two left in brown.')
  await team.page.keyboard.press('Enter')
  await team.page.locator('#thread .msg-out .msg-quote').waitFor({ timeout: 10_000 })
  await team.page.locator('.composer-tab-note').click()
  await composerText(team.page).click()
  await composerText(team.page).pressSequentially('@car')
  await team.page.locator('.composer-suggest-item').first().waitFor()
  await team.page.keyboard.press('Enter')
  await composerText(team.page).pressSequentially('she is a returning customer, ok to offer free shipping?')
  await team.page.getByRole('button', { name: 'Add note' }).click()
  await team.page.locator('#thread .msg-note').waitFor({ timeout: 10_000 })
  await team.page.locator(`#m-${first.id} .bubble`).hover()
  await team.page.locator(`#m-${first.id}`).locator('summary[aria-label="React"]').click()
  await team.page.getByRole('button', { name: 'React with 👍' }).click()
  await team.page.locator(`#m-${first.id} .msg-reactions .reaction`).waitFor({ timeout: 10_000 })
  await team.context.close()

  for (const [variant, options, file] of [
    ['light', { viewport: { width: 1360, height: 860 }, colorScheme: 'light' as const }, 'composer-bubble-actions.png'],
    ['dark', { viewport: { width: 1360, height: 860 }, colorScheme: 'dark' as const }, 'composer-bubble-actions-dark.png'],
    ['phone', { viewport: { width: 390, height: 844 }, colorScheme: 'light' as const, isMobile: true, hasTouch: true }, 'composer-bubble-actions-phone.png']
  ] as const) {
    // Carla, mentioned in the note, looks at the thread and is about to react to the customer's question.
    const { context, page, problems } = await signedIn(env, options, seeded.teammate)
    await page.goto(`${env.base}/inbox/${seeded.open}`)
    await composerText(page).waitFor()
    const target = page.locator(`#m-${second.id}`)
    if (variant === 'phone') {
      await target.locator('.msg-text').tap()
      await page.waitForFunction((id) => document.querySelector(`#m-${id}`)?.classList.contains('show-actions') === true, second.id)
      t.pass('phone: a tap on the bubble shows its actions')
      await target.locator('summary[aria-label="React"]').tap()
    } else {
      await target.locator('.bubble').hover()
      await target.locator('summary[aria-label="React"]').click()
    }
    await target.locator('.bubble-react-menu').waitFor()
    await page.locator('mark.mention.is-me').waitFor()
    await page.screenshot({ path: join(shots, file), caret: 'initial', animations: 'disabled' })
    t.same(problems, [], `${variant}: no console errors or CSP violations`)
    await context.close()
  }
})

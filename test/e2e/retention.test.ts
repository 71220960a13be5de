// Settings → Data retention in a real browser: an admin opens it from the settings tabs, finds the last
// daily run's counts, types a wrong value (422: the message under the field, what was typed kept), then
// a right one, saves, and lands back on the page with the notice and the warning that existing messages
// go at the next run. No CSP violation or script error on the way. Screenshots (npm run screenshots):
// settings-retention.png, plus dark and phone variants.
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { browserApp, screenshotDir, shootFullPage, signInThroughForm, watchedPage, type BrowserApp } from '../helpers/browser.js'
import { addMember, createUser } from '../helpers/accounts.js'
import { deliver, envelope, fixturePhoneNumberId, fixtureSecret, fixtureWaba, message, messagesValue, type Sender } from '../helpers/whatsapp.js'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { processAllPending } from '../../src/features/webhooks/webhook-processor.js'
import { runDueRetention } from '../../src/features/privacy/retention.service.js'

const day = 24 * 3_600_000
const person: Sender = { waId: '5511987650101', name: 'Renata Quintela' }

/** A workspace with a number, an old WhatsApp delivery, and one daily run behind it (it removed the payload). */
async function workspaceWithARun (t: Test, env: BrowserApp): Promise<{ owner: { email: string, password: string }, admin: { email: string, password: string }, ws: string }> {
  const { deps, clock } = env
  const owner = await createUser(deps, { name: 'Olivia Owner', workspace: 'Casa Verde' })
  const admin = await createUser(deps, { name: 'Ada Admin' })
  const ws = owner.workspaceId!
  addMember(deps, ws, admin.id, 'admin')
  const channel = createChannel(deps.db, ws, { name: 'Loja Centro', wabaId: fixtureWaba, phoneNumberId: fixturePhoneNumberId, accessToken: 'EAAG-retention-e2e-0001', appSecret: fixtureSecret, graphApiVersion: 'v25.0' }, clock.now())
  const res = await deliver(env, `/webhooks/whatsapp/${channel.publicId}`, envelope(messagesValue([person], { messages: [message('wamid.RETENTIONE2E01', person, 'text', { body: 'Oi! Meu pedido chegou?' }, {}, Math.floor(clock.now() / 1000))] })))
  t.equal(res.statusCode, 200)
  processAllPending(deps)
  clock.advance(15 * day)
  t.equal(await runDueRetention(deps), 1, 'a daily run removed the 15-day-old payload')
  clock.advance(2 * 3_600_000)
  return { owner, admin, ws }
}

t.test('an admin sets message retention: a wrong value, then a right one, the notice and the warning', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const { admin, ws } = await workspaceWithARun(t, env)
  const saved = (): unknown => env.deps.sqlite.prepare('SELECT retain_messages_days AS d, retain_webhook_days AS w, retain_contacts_months AS c FROM workspaces WHERE id = ?').get(ws)

  const shots = screenshotDir(t)
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', colorScheme: 'light' })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, admin)
  await page.waitForURL(/\/(inbox|welcome|$)/)

  // From the settings tabs.
  await page.goto(env.base + '/settings/members')
  await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Data retention' }).click()
  await page.waitForURL(/\/settings\/retention$/)
  await page.getByRole('heading', { name: 'Data retention', level: 2 }).waitFor()
  const lastRun = page.getByRole('region', { name: 'Last run' })
  const runText = await lastRun.innerText()
  t.match(runText, /2 hours ago/)
  t.match(runText, /Webhook payloads\s*1/)
  t.match(runText, /Messages\s*0/)
  t.notMatch(await page.locator('main').innerText(), /This removes data/, 'no warning while only webhook payloads go')

  const messages = page.getByLabel('Message bodies and files')
  const webhooks = page.getByLabel('WhatsApp webhook payloads')
  t.equal(await webhooks.inputValue(), '14', 'the default')
  t.equal(await messages.getAttribute('placeholder'), 'Keep forever')

  // A wrong value: the server answers 422, the message is under the field and what was typed stays.
  await messages.fill('0')
  await page.getByRole('button', { name: 'Save changes' }).click()
  await page.getByText('Enter a number of days from 1 to 3650, or leave it empty to keep messages.').waitFor()
  t.equal(await page.getByLabel('Message bodies and files').inputValue(), '0', 'what was typed is kept')
  t.equal(await page.getByLabel('Message bodies and files').getAttribute('aria-invalid'), 'true')
  t.same(saved(), { d: null, w: 14, c: null }, 'nothing saved')

  await page.getByLabel('Message bodies and files').fill('90')
  await page.getByRole('button', { name: 'Save changes' }).click()
  await page.waitForURL(/\/settings\/retention\?done=saved$/)
  const flash = page.locator('#flash .flash-success')
  await flash.waitFor()
  t.match(await flash.innerText(), /Saved\. The next daily run applies it\./)
  t.same(saved(), { d: 90, w: 14, c: null })
  t.equal(await page.getByLabel('Message bodies and files').inputValue(), '90')
  const warning = page.locator('#retention-warning')
  t.match(await warning.innerText(), /This removes data\. Message text and files older than 90 days are removed\. This applies to the data you already have, at the next daily run\./)
  await shootFullPage(page, join(shots, 'settings-retention.png'))
  t.same(problems, [], 'no CSP violations or script errors')
  await context.close()
})

t.test('the page in dark mode and at phone width: no horizontal scroll', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const { owner, ws } = await workspaceWithARun(t, env)
  env.deps.sqlite.prepare('UPDATE workspaces SET retain_messages_days = 365, retain_contacts_months = 24 WHERE id = ?').run(ws)
  const shots = screenshotDir(t)
  for (const variant of [{ name: 'settings-retention-dark', colorScheme: 'dark' as const, viewport: { width: 1280, height: 860 } }, { name: 'settings-retention-phone', colorScheme: 'light' as const, viewport: { width: 390, height: 844 } }]) {
    const ctx = await env.browser.newContext({ viewport: variant.viewport, colorScheme: variant.colorScheme, locale: 'en-US' })
    const { page, problems } = await watchedPage(ctx)
    await signInThroughForm(page, env.base, owner)
    await page.waitForURL(/\/(inbox|welcome|$)/)
    await page.goto(`${env.base}/settings/retention`)
    await page.getByRole('heading', { name: 'Last run' }).waitFor()
    t.match(await page.locator('#retention-warning').innerText(), /older than 365 days are removed\. Contacts inactive for 24 months are erased\./)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    t.ok(overflow <= 1, `${variant.name}: no horizontal scroll (${overflow}px)`)
    await page.getByRole('button', { name: 'Save changes' }).scrollIntoViewIfNeeded()
    t.ok(await page.getByRole('button', { name: 'Save changes' }).isVisible(), `${variant.name}: the button is on screen`)
    await shootFullPage(page, join(shots, `${variant.name}.png`))
    t.same(problems, [], `${variant.name}: no CSP violations or script errors`)
    await ctx.close()
  }
})

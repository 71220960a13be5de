// Connecting a WhatsApp number in a real browser, against the fake Graph API: an admin fills the guided
// form (a wrong id first, then the right one), lands on the channel page, copies the callback URL, and —
// when "Meta" performs the verification handshake and posts a signed event — sees the webhook status turn
// to verified and then to "First event received" without reloading. Screenshots of the connect form and
// the channel page in light, dark and phone widths.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { BrowserContext, Page } from 'playwright-core'
import { browserApp, screenshotDir, signInThroughForm, watchedPage, shootFullPage } from '../helpers/browser.js'
import { createUser } from '../helpers/accounts.js'
import { startFakeGraph } from '../../src/platform/whatsapp/fake-graph.js'

const waba = '109876543210001'
const phoneId = '110000000000101'
const token = 'EAAGm0PAYbrowserTESTtoken1234567890WXYZ'
const appSecret = 'f3c2a9187d6e5b4a3c2d1e0f9a8b7c6d'
const fixture = join(import.meta.dirname, '..', 'fixtures', 'whatsapp', 'webhooks', '01-text.json')

async function fillConnectForm (page: Page, phoneNumberId: string): Promise<void> {
  await page.getByLabel('Name', { exact: true }).fill('Sales')
  await page.getByLabel('WhatsApp Business Account ID').fill(waba)
  await page.getByLabel('Phone number ID').fill(phoneNumberId)
  await page.getByLabel('Access token').fill(token)
  await page.getByLabel('App secret').fill(appSecret)
}

t.test('an admin connects a number and watches the webhook come alive', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  fake.addPhoneNumber({ id: phoneId, display: '+1 555-010-0101', verifiedName: 'Souza Imports', wabaId: waba })
  const env = await browserApp(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  if (env === undefined) return
  const shots = screenshotDir(t)
  const owner = await createUser(env.deps, { name: 'Ana Souza', workspace: 'Souza Imports' })
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light', locale: 'en-US' })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.base })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, owner)
  await page.waitForURL(/\/inbox$/)

  await page.goto(env.base + '/settings/channels')
  t.match(await page.locator('main').innerText(), /Connect your first WhatsApp number/)
  await shootFullPage(page, join(shots, 'channels-empty.png'))
  await page.getByRole('link', { name: 'Connect a number' }).first().click()
  await page.waitForURL(/\/settings\/channels\/new$/)
  await shootFullPage(page, join(shots, 'channel-connect.png'))

  // A phone number id Meta does not know: the error sits under that field, the secrets must be pasted again.
  await fillConnectForm(page, '123456789012')
  await page.getByRole('button', { name: 'Check and connect' }).click()
  await page.waitForSelector('#f-phone-error')
  t.match(await page.locator('#f-phone-error').innerText(), /found no phone number with this ID/)
  t.equal(await page.getByLabel('Access token').inputValue(), '', 'the token is not echoed back')
  t.equal(await page.getByLabel('WhatsApp Business Account ID').inputValue(), waba, 'ids are kept')
  await shootFullPage(page, join(shots, 'channel-connect-error.png'))

  await fillConnectForm(page, phoneId)
  await page.getByRole('button', { name: 'Check and connect' }).click()
  await page.waitForURL(/\/settings\/channels\/[0-9A-Za-z]+\?done=connected$/)
  t.ok(fake.subscribedWabas.has(waba), 'the app was subscribed to the WABA')
  const main = await page.locator('main').innerText()
  t.match(main, /\+1 555-010-0101/)
  t.match(main, /Waiting for Meta to verify the webhook/)
  const callbackUrl = await page.locator('#callback-url').inputValue()
  const verifyToken = await page.locator('#verify-token').inputValue()
  t.match(callbackUrl, /^http:\/\/localhost:8080\/webhooks\/whatsapp\/[A-Za-z0-9_-]+$/)
  t.notOk((await page.content()).includes(token), 'the token is not in the page')
  await shootFullPage(page, join(shots, 'channel-page-waiting.png'))

  await page.locator('[data-copy="callback-url"]').click()
  await page.waitForSelector('[data-copy="callback-url"].is-copied')
  t.match(await page.locator('[data-copy="callback-url"]').innerText(), /Copied/)
  t.equal(await page.evaluate(() => navigator.clipboard.readText()), callbackUrl, 'the callback URL is on the clipboard')

  // "Meta" calls the callback on this server (the URL's path, at the address the test server listens on).
  const hook = env.base + new URL(callbackUrl).pathname
  const handshake = await fake.handshake(hook, { verifyToken, challenge: '1158201444' })
  t.same(handshake, { status: 200, body: '1158201444' })
  await page.locator('#webhook-status').getByText('Webhook verified').waitFor({ timeout: 15_000 })
  t.pass('"Webhook verified" appeared without a reload')
  const delivery = await fake.postWebhook(hook, readFileSync(fixture), { secret: appSecret })
  t.equal(delivery.status, 200)
  await page.locator('#webhook-status').getByText('First event received').waitFor({ timeout: 15_000 })
  t.pass('"First event received" appeared without a reload')
  t.equal(await page.locator('#webhook-status[hx-trigger]').count(), 0, 'polling stopped')
  t.notMatch(await page.locator('#health-webhook-verified').innerText(), /Not yet/, 'the health panel followed')
  t.notMatch(await page.locator('#health-last-event').innerText(), /None yet/, 'the health panel followed')
  await shootFullPage(page, join(shots, 'channel-page.png'))
  t.same(problems, [], 'no CSP violations or script errors')

  // The same pages in dark mode and at phone width.
  const state = await context.storageState()
  const channelUrl = page.url().replace(/\?.*$/, '')
  for (const variant of [
    { name: 'dark', options: { colorScheme: 'dark' as const, viewport: { width: 1280, height: 900 } } },
    { name: 'phone', options: { colorScheme: 'light' as const, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } }
  ]) {
    const ctx: BrowserContext = await env.browser.newContext({ ...variant.options, storageState: state, locale: 'en-US' })
    const { page: p, problems: pp } = await watchedPage(ctx)
    await p.goto(env.base + '/settings/channels/new')
    await shootFullPage(p, join(shots, `channel-connect-${variant.name}.png`))
    t.notOk(await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), `${variant.name}: connect form has no horizontal scrolling`)
    await p.goto(channelUrl)
    await shootFullPage(p, join(shots, `channel-page-${variant.name}.png`))
    t.notOk(await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), `${variant.name}: channel page has no horizontal scrolling`)
    await p.goto(env.base + '/settings/channels')
    await shootFullPage(p, join(shots, `channels-list-${variant.name}.png`))
    t.same(pp, [], `${variant.name}: no CSP violations or script errors`)
    await ctx.close()
  }
  await page.goto(env.base + '/settings/channels')
  await shootFullPage(page, join(shots, 'channels-list.png'))

  // Meta stops accepting the token: "Check now" shows the problem and the fix.
  await page.goto(channelUrl)
  fake.script(`/${phoneId}`, { error: 'error-190-token-expired' })
  await page.getByRole('button', { name: 'Check now' }).click()
  await page.getByText('This number needs reconnecting').waitFor()
  t.match(await page.locator('#health').innerText(), /#190/, 'the issue is listed with its code')
  await shootFullPage(page, join(shots, 'channel-page-reconnect.png'))
  t.same(problems, [], 'no CSP violations or script errors')
  await context.close()
})

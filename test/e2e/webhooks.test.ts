// Outgoing webhooks as an admin meets them, in a real browser over real HTTP, with the delivery worker
// running and a receiver on 127.0.0.1 (this instance's config allows private http): Settings →
// Outgoing webhooks, a refused form that keeps what was typed, add a webhook (the secret shown once),
// send a test event, watch the log turn "Delivered" without reloading, open the delivery, resend it,
// make a new secret through the dialog. Screenshots of the list, the webhook page and the secret page
// in light, dark and phone widths (docs/screenshots with SCREENSHOTS=1).
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import type { BrowserContext } from 'playwright-core'
import { browserApp, screenshotDir, signInThroughForm, watchedPage, shootFullPage } from '../helpers/browser.js'
import { createUser } from '../helpers/accounts.js'
import { createSubscription, queueTestDelivery, updateSubscriptionOf } from '../../src/features/hooks/hooks.service.js'
import { startHooksWorker } from '../../src/features/hooks/hooks.worker.js'
import { verifySignature } from '../../src/features/hooks/signature.js'

interface Received { headers: IncomingHttpHeaders, body: string }

t.test('an admin adds a webhook, sees the secret once, sends a test event and watches it arrive', async (t) => {
  const env = await browserApp(t, { set: { 'outgoing_webhooks.allow_private_addresses': 'true', 'outgoing_webhooks.allow_http': 'true' } })
  if (env === undefined) return
  const shots = screenshotDir(t)
  const got: Received[] = []
  let answer = 200
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => { got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }); res.writeHead(answer).end() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/weltra/events`
  const worker = startHooksWorker(env.deps, { pollMs: 250 })
  t.teardown(() => worker.stop())

  const owner = await createUser(env.deps, { name: 'Ana Souza', workspace: 'Souza Imports' })
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light', locale: 'en-US' })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, owner)
  await page.waitForURL(/\/inbox/)
  await page.goto(`${env.base}/settings/outgoing-webhooks`)
  await page.getByText('Tell your other systems what happens here').waitFor()
  t.equal(await page.locator('a[href="/api/v1/docs#webhooks"]').count() > 0, true, 'the empty state links the reference')
  await shootFullPage(page, join(shots, 'webhooks-empty.png'))
  await page.reload()

  // No event chosen: the form says so and keeps the URL and description.
  await page.locator('#new-hook-url').fill(receiverUrl)
  await page.locator('#new-hook-description').fill('Shop: order lookups')
  await page.locator('#new-webhook button[type=submit]').click()
  await page.locator('#new-hook-events-error').waitFor()
  t.equal(await page.locator('#new-hook-url').inputValue(), receiverUrl, 'the URL is kept')
  t.equal(await page.locator('#new-hook-description').inputValue(), 'Shop: order lookups', 'the description is kept')

  await page.locator('input[name=events][value="message.received"]').check()
  await page.locator('input[name=events][value="conversation.resolved"]').check()
  await page.locator('#new-webhook button[type=submit]').click()
  const field = page.locator('#webhook-secret')
  await field.waitFor()
  const secret = await field.inputValue()
  t.match(secret, /^whsec_[A-Za-z0-9_-]{40,}$/, 'the secret is shown, whole')
  await page.getByText('You will not see it again').waitFor()
  await page.locator('#verify-sample').waitFor()
  await shootFullPage(page, join(shots, 'webhooks-secret.png'))

  // Send a test event from the secret page: the log shows it pending, then delivered (polling, no reload).
  await page.getByRole('button', { name: 'Send test event' }).click()
  await page.getByText('Test event queued.').waitFor()
  const hookUrl = page.url().replace(/[?#].*$/, '')
  t.match(hookUrl, /\/settings\/outgoing-webhooks\/[0-9A-Za-z]+$/, 'on the webhook\'s page')
  t.notOk((await page.content()).includes(secret.slice(6)), 'the secret is not on it')
  await page.locator('#deliveries .badge-success', { hasText: 'Delivered' }).waitFor({ timeout: 20_000 })
  t.pass('the log turned "Delivered" without a reload')
  t.equal(got.length, 1, 'the receiver got one request')
  t.equal(got[0]!.headers['weltra-event'], 'webhook.test')
  t.ok(verifySignature(String(got[0]!.headers['weltra-signature']), secret, got[0]!.body, Math.floor(env.clock.now() / 1000)), 'signed with the secret the page showed')
  t.equal(await page.locator('#deliveries[hx-trigger]').count(), 0, 'polling stopped')

  // A few more webhooks, so the list shows each kind of health.
  const ws = (env.deps.sqlite.prepare('SELECT workspace_id AS id FROM webhook_subscriptions').get() as { id: string }).id
  const failing = await createSubscription(env.deps, { userId: owner.id, workspaceId: ws }, { url: receiverUrl.replace('/weltra/events', '/crm/hook'), description: 'CRM sync (staging)', events: ['contact.created', 'contact.updated', 'conversation.assigned', 'conversation.created'] })
  const paused = await createSubscription(env.deps, { userId: owner.id, workspaceId: ws }, { url: receiverUrl.replace('/weltra/events', '/survey'), description: 'Satisfaction survey', events: ['conversation.resolved'] })
  if (!failing.ok || !paused.ok) throw new Error('webhooks')
  answer = 500
  queueTestDelivery(env.deps, ws, failing.subscription.id)
  await worker.runOnce()
  answer = 200
  await updateSubscriptionOf(env.deps, { userId: owner.id, workspaceId: ws }, paused.subscription.id, { active: false })
  await page.goto(`${env.base}/settings/outgoing-webhooks`)
  await page.locator('.hook-health-delivered').first().waitFor()
  t.equal(await page.locator('.hook-health-retrying').count(), 1, 'the failing one says so')
  t.equal(await page.locator('tr.is-paused').count(), 1, 'the paused one too')
  await shootFullPage(page, join(shots, 'webhooks-list.png'))

  // Open the delivery from the log: the payload and headers; resend it.
  await page.goto(hookUrl)
  await page.locator('#deliveries .hook-row-link').first().click()
  await page.locator('#delivery-payload').waitFor()
  t.match(await page.locator('#delivery-payload').innerText(), /"type": "webhook.test"/, 'the JSON payload')
  await page.getByRole('button', { name: 'Resend' }).click()
  await page.getByText('Queued again.').waitFor()
  await page.locator('#deliveries .badge-outline', { hasText: 'Replay' }).waitFor()
  await page.locator('#deliveries tbody tr').first().locator('.badge-success').waitFor({ timeout: 20_000 })
  t.equal(got.length >= 2 && got[got.length - 1]!.headers['weltra-event-id'] === got[0]!.headers['weltra-event-id'], true, 'the replay carries the same event id')
  await shootFullPage(page, join(shots, 'webhooks-detail.png'))

  // A new secret through the dialog: shown once, different, the old one still honoured a day.
  await page.reload()
  await page.getByRole('link', { name: 'New secret' }).click()
  const dialog = page.locator('dialog[open]')
  await dialog.waitFor()
  await dialog.getByRole('button', { name: 'Make a new secret' }).click()
  await page.getByText('New signing secret').first().waitFor()
  const rotated = await page.locator('#webhook-secret').inputValue()
  t.not(rotated, secret, 'a different secret')
  await page.getByText('The previous secret keeps signing deliveries too').waitFor()
  t.same(problems, [], 'no console errors or CSP reports')

  // The same pages in dark mode and at phone width.
  const state = await context.storageState()
  for (const variant of [
    { name: 'dark', options: { colorScheme: 'dark' as const, viewport: { width: 1280, height: 900 } } },
    { name: 'phone', options: { colorScheme: 'light' as const, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } }
  ]) {
    const ctx: BrowserContext = await env.browser.newContext({ ...variant.options, storageState: state, locale: 'en-US' })
    const { page: p, problems: pp } = await watchedPage(ctx)
    for (const [name, url] of [['list', '/settings/outgoing-webhooks'], ['detail', hookUrl.replace(env.base, '')]] as const) {
      await p.goto(env.base + url)
      await shootFullPage(p, join(shots, `webhooks-${name}-${variant.name}.png`))
      t.notOk(await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), `${variant.name}: ${name} has no horizontal scrolling`)
    }
    await p.getByRole('link', { name: 'New secret' }).click()
    await p.locator('dialog[open]').getByRole('button', { name: 'Make a new secret' }).click()
    await p.locator('#webhook-secret').waitFor()
    await shootFullPage(p, join(shots, `webhooks-secret-${variant.name}.png`))
    t.notOk(await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), `${variant.name}: the secret page has no horizontal scrolling`)
    t.same(pp, [], `${variant.name}: no console errors or CSP reports`)
    await ctx.close()
  }
  await context.close()
})

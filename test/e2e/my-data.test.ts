// Account → My data in a real browser: a member opens the third tab from her profile, sees her account,
// workspace, key and sign-ins, downloads the archive (a real ZIP, no-store), opens "Delete my account",
// finds the button held until the word is typed, confirms with her password and lands on the sign-in
// page with the notice; signing in again fails. No CSP violation or script error on the way.
// Screenshots (npm run screenshots): account-my-data.png and account-delete.png, plus dark and phone.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { browserApp, screenshotDir, shootFullPage, signInThroughForm, watchedPage } from '../helpers/browser.js'
import { addMember, createUser } from '../helpers/accounts.js'
import { createApiKey } from '../../src/features/apikeys/apikeys.service.js'

t.test('a member looks at her data, downloads it and deletes her account', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const { deps } = env
  const owner = await createUser(deps, { name: 'Olivia Owner', workspace: 'Casa Verde' })
  const ana = await createUser(deps, { name: 'Ana Quintela', email: 'ana.quintela@example.com' })
  addMember(deps, owner.workspaceId!, ana.id, 'admin')
  const key = createApiKey(deps, { userId: ana.id, workspaceId: owner.workspaceId! }, { name: 'ERP sync', role: 'agent' })
  if (!key.ok) throw new Error('api key')

  const shots = screenshotDir(t)
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', colorScheme: 'light', acceptDownloads: true })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, ana)
  await page.waitForURL(/\/(inbox|welcome|$)/)
  await page.goto(env.base + '/settings/profile')
  await page.getByRole('navigation', { name: 'Account settings' }).getByRole('link', { name: 'My data' }).click()
  await page.waitForURL(/\/settings\/my-data$/)
  const main = await page.locator('main').innerText()
  t.match(main, /ana\.quintela@example\.com/)
  t.match(main, /Casa Verde/)
  t.match(main, /ERP sync/)
  t.match(main, /1 device signed in/)
  t.match(main, /Ana Quintela signed in/, 'her sign-in in the activity')
  t.match(main, /belong to that workspace/)
  await shootFullPage(page, join(shots, 'account-my-data.png'))

  // The download: a ZIP, sent as an attachment and never cached.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download my data' }).click()])
  t.match(download.suggestedFilename(), /^weltra-my-data-\d{4}-\d{2}-\d{2}\.zip$/)
  const bytes = readFileSync((await download.path())!)
  t.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\u0003\u0004', 'a ZIP file')
  t.ok(bytes.includes(Buffer.from('account.json')) && bytes.includes(Buffer.from('activity.csv')), 'with its entries')
  const response = await context.request.get(env.base + '/settings/my-data/archive.zip')
  t.equal(response.status(), 200)
  t.equal(response.headers()['content-type'], 'application/zip')
  t.equal(response.headers()['cache-control'], 'no-store')
  t.match(response.headers()['content-disposition'], /^attachment; filename="weltra-my-data-/)
  t.equal((deps.sqlite.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'account_exported'").get() as { n: number }).n, 2, 'each download audited')

  // "Delete my account": what happens, then the word and the password.
  await page.getByRole('link', { name: 'Delete my account…' }).click()
  await page.waitForURL(/\/settings\/my-data\/delete$/)
  await page.getByRole('heading', { name: 'Delete your account?' }).waitFor()
  const text = await page.locator('main').innerText()
  t.match(text, /You are signed out everywhere/)
  t.match(text, /Erased for good on /)
  t.match(text, /Messages and notes you wrote/)
  await shootFullPage(page, join(shots, 'account-delete.png'))

  const confirm = page.getByRole('button', { name: 'Delete my account' })
  const word = page.getByLabel('Type DELETE to confirm')
  await page.getByLabel('Current password').fill(ana.password)
  await word.fill('DELTE')
  await confirm.click()
  t.ok(await word.evaluate(el => (el as HTMLInputElement).validity.patternMismatch), 'a wrong word does not submit')
  t.match(page.url(), /\/delete$/, 'still on the confirmation')
  t.equal((deps.sqlite.prepare('SELECT deleted_at FROM users WHERE id = ?').get(ana.id) as { deleted_at: number | null }).deleted_at, null, 'nothing deleted yet')

  await word.fill('delete')
  await confirm.click()
  await page.waitForURL(/\/login\?done=deleted$/)
  const notice = page.locator('.notice-success')
  t.match(await notice.innerText(), /Your account was deleted and you are signed out everywhere\. Everything about it is erased for good within 30 days/)
  t.notOk((await context.cookies()).some(c => c.name === 'weltra_session'), 'the session cookie is gone')
  await page.getByLabel('Email').fill(ana.email)
  await page.getByLabel('Password').fill(ana.password)
  await page.getByRole('button', { name: /^sign in$/i }).click()
  await page.waitForSelector('.notice-danger')
  t.match(page.url(), /\/login/, 'she cannot sign in again')
  t.same(problems, [], 'no CSP violations or script errors')
  await context.close()
})

t.test('My data and the confirmation in dark mode and at phone width: no horizontal scroll', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const { deps } = env
  const owner = await createUser(deps, { name: 'Olivia Owner', workspace: 'Casa Verde' })
  const shots = screenshotDir(t)
  for (const variant of [{ name: 'dark', colorScheme: 'dark' as const, viewport: { width: 1280, height: 860 } }, { name: 'phone', colorScheme: 'light' as const, viewport: { width: 390, height: 844 } }]) {
    const ctx = await env.browser.newContext({ viewport: variant.viewport, colorScheme: variant.colorScheme, locale: 'en-US' })
    const { page, problems } = await watchedPage(ctx)
    await signInThroughForm(page, env.base, owner)
    await page.waitForURL(/\/(inbox|welcome|$)/)
    for (const [url, shot] of [['/settings/my-data', 'account-my-data'], ['/settings/my-data/delete', 'account-delete']] as const) {
      await page.goto(env.base + url)
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
      t.ok(overflow <= 1, `${shot}-${variant.name}: no horizontal scroll (${overflow}px)`)
      await shootFullPage(page, join(shots, `${shot}-${variant.name}.png`))
    }
    // The only owner of Casa Verde: the confirmation says so and has no form.
    t.match(await page.locator('main').innerText(), /You can't delete your account yet/)
    t.equal(await page.getByLabel('Type DELETE to confirm').count(), 0, 'no form for a sole owner')
    t.same(problems, [], `${variant.name}: no CSP violations or script errors`)
    await ctx.close()
  }
})

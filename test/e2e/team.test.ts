// Team and security in a real browser: an owner invites a colleague, who accepts from the emailed link
// and lands in the shared inbox; then the owner turns on two-factor authentication with an
// authenticator code and must enter one at the next sign-in.
import { join } from 'node:path'
import { desc, eq, sql } from 'drizzle-orm'
import t from 'tap'
import { browserApp, screenshotDir, signInThroughForm, watchedPage } from '../helpers/browser.js'
import { createUser, goodPassword } from '../helpers/accounts.js'
import { mailOutbox } from '../../src/db/schema.js'
import { base32Decode, totpCode } from '../../src/platform/crypto/index.js'

t.test('an invited colleague accepts from the email link and lands in the workspace', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const shots = screenshotDir(t)
  const owner = await createUser(env.deps, { name: 'Ana Souza', workspace: 'Souza Imports' })
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, owner)
  await page.waitForURL(/\/inbox$/)
  await page.goto(env.base + '/settings/members')
  await page.getByLabel('Email address').fill('bruno@example.com')
  await page.getByRole('button', { name: /send invitation/i }).click()
  await page.waitForLoadState('networkidle')
  t.match(await page.locator('main').innerText(), /bruno/i, 'the pending invitation is listed')
  await page.screenshot({ path: join(shots, 'members.png'), fullPage: true })

  const mail = env.deps.db.select().from(mailOutbox).where(eq(mailOutbox.kind, 'invite')).orderBy(desc(sql`rowid`)).get()
  t.ok(mail, 'an invitation email was queued')
  const link = /https?:\/\/[^\s"<>]+/.exec(mail!.textBody)![0]
  const path = new URL(link).pathname + new URL(link).search

  const guest = await env.browser.newContext({ viewport: { width: 390, height: 844 } })
  const { page: page2, problems: problems2 } = await watchedPage(guest)
  await page2.goto(env.base + path)
  t.match(await page2.locator('main').innerText(), /Souza Imports/)
  await page2.getByLabel('Your name').fill('Bruno Lima')
  await page2.getByLabel('Password').fill('maracuja juice at noon')
  await page2.screenshot({ path: join(shots, 'invite-accept-phone.png'), fullPage: true })
  await page2.locator('form button[type=submit]').last().click()
  await page2.waitForURL(/\/inbox$/)
  await page2.goto(env.base + path)
  t.match(await page2.locator('main').innerText(), /no longer|expired|used|already/i, 'the link works once')
  t.same(problems, [])
  t.same(problems2, [])
  await context.close()
  await guest.close()
})

t.test('an owner turns on two-factor authentication and needs a code at the next sign-in', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const shots = screenshotDir(t)
  const owner = await createUser(env.deps, { name: 'Carla Dias', workspace: 'Dias & Filhos' })
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, owner)
  await page.waitForURL(/\/inbox$/)
  await page.goto(env.base + '/settings/security')
  await page.locator('#f-2fa-start-current').fill(goodPassword)
  await page.getByRole('button', { name: /set up two-factor/i }).click()
  await page.waitForSelector('#totp-secret')
  await page.screenshot({ path: join(shots, 'two-factor-enrol.png'), fullPage: true })
  const secret = base32Decode((await page.locator('#totp-secret').innerText()).replace(/\s+/g, ''))
  await page.locator('#f-2fa-code').fill(totpCode(secret, env.clock.now()))
  await page.getByRole('button', { name: /^turn on$/i }).click()
  await page.waitForLoadState('networkidle')
  t.match(await page.locator('main').innerText(), /recovery/i, 'recovery codes are shown once')
  await page.screenshot({ path: join(shots, 'recovery-codes.png'), fullPage: true })

  await context.clearCookies()
  env.clock.advance(60_000)
  await signInThroughForm(page, env.base, owner)
  await page.waitForURL(/\/login\/two-factor/)
  await page.goto(env.base + '/inbox')
  await page.waitForURL(/\/login\/two-factor/)
  t.pass('the inbox waits for the second factor')
  await page.locator('input[name=code]').fill(totpCode(secret, env.clock.now()))
  await page.locator('form button[type=submit]').first().click()
  await page.waitForURL(/\/inbox$/)
  t.same(problems, [])
  await context.close()
})

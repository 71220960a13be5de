// The first-run path in a real browser: welcome → setup with a validation error that keeps what was
// typed → the app → sign out → sign in. No CSP violation or script error along the way.
import { join } from 'node:path'
import t from 'tap'
import { browserApp, screenshotDir, watchedPage } from '../helpers/browser.js'

t.test('a new admin sets up the instance, signs out and signs back in', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const shots = screenshotDir(t)
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } })
  const { page, problems } = await watchedPage(context)
  await page.goto(env.base + '/')
  await page.getByRole('link', { name: /create the admin account/i }).click()
  await page.waitForURL(/\/setup$/)
  await page.getByLabel('Your name').fill('Ana Souza')
  await page.getByLabel('Email').fill('ana@example.com')
  await page.getByLabel('Password').fill('password1')
  await page.getByLabel('Workspace name').fill('Souza Imports')
  await page.getByRole('button', { name: /create account/i }).click()
  await page.waitForSelector('.field-error')
  t.match(await page.locator('.field-error').first().innerText(), /too common/)
  t.equal(await page.getByLabel('Email').inputValue(), 'ana@example.com', 'typed values are kept')
  t.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not')
  await page.screenshot({ path: join(shots, 'setup-error.png'), fullPage: true })
  await page.getByLabel('Password').fill('samba on a sunny afternoon')
  await page.getByRole('button', { name: /create account/i }).click()
  await page.waitForURL(/\/inbox$/)
  t.match(await page.locator('main').innerText(), /No conversations yet|connect a WhatsApp number/i, 'the empty inbox says what to do next')
  await page.screenshot({ path: join(shots, 'inbox-empty.png'), fullPage: true })
  const cookies = await context.cookies()
  const session = cookies.find(c => c.name === 'weltra_session')
  t.ok(session?.httpOnly, 'the session cookie is HttpOnly')
  t.equal(session?.sameSite, 'Lax')

  // Sign out through the form in the shell, then sign back in.
  await context.clearCookies()
  await page.goto(env.base + '/inbox')
  await page.waitForURL(/\/login\?next=%2Finbox$/)
  await page.getByLabel('Email').fill('ana@example.com')
  await page.getByLabel('Password').fill('wrong password')
  await page.getByRole('button', { name: /^sign in$/i }).click()
  await page.waitForSelector('.notice-danger')
  t.match(await page.locator('.notice-danger').innerText(), /do not match/)
  await page.screenshot({ path: join(shots, 'login-error.png'), fullPage: true })
  await page.getByLabel('Password').fill('samba on a sunny afternoon')
  await page.getByRole('button', { name: /^sign in$/i }).click()
  await page.waitForURL(/\/inbox$/)
  t.same(problems, [])
  await context.close()
})

// The public API as a new admin meets it, in a real browser and over real HTTP: Settings → API keys,
// create a key (shown once), use it from a script to add a contact, see that contact in the contact
// list, read the API reference, and revoke the key (the next call is refused). Screenshots of the key
// pages and the reference in light, dark and phone widths.
import { join } from 'node:path'
import t from 'tap'
import { browserApp, screenshotDir, signInThroughForm, watchedPage } from '../helpers/browser.js'
import { createUser } from '../helpers/accounts.js'

t.test('an admin creates an API key, a script uses it, the admin revokes it', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const shots = screenshotDir(t)
  const owner = await createUser(env.deps, { name: 'Ana Souza', workspace: 'Souza Imports' })

  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, owner)
  await page.waitForURL(/\/inbox/)
  await page.goto(`${env.base}/settings/api-keys`)
  await page.getByRole('link', { name: /API/ }).first().waitFor()
  if (shots !== '') {
    await page.screenshot({ path: join(shots, 'api-keys-empty.png'), caret: 'initial' })
    // A screenshot may leave style="" on the page, which htmx's settle would copy (a CSP report): start clean.
    await page.reload()
  }

  // A name is required: the form says so and keeps the role.
  await page.locator('input[name=role][value=admin]').check()
  await page.locator('#new-key button[type=submit]').click()
  await page.locator('#key-name-error, .field-error').first().waitFor()
  t.ok(await page.locator('input[name=role][value=admin]').isChecked(), 'the role is kept after an error')

  await page.locator('#key-name').fill('Shop sync')
  await page.locator('#new-key button[type=submit]').click()
  const field = page.locator('#api-key-token')
  await field.waitFor()
  const token = await field.inputValue()
  t.match(token, /^wk_[A-Za-z0-9_-]{43}$/, 'the key is shown once, whole')
  if (shots !== '') await page.screenshot({ path: join(shots, 'api-key-created.png'), caret: 'initial' })

  // A script uses it.
  const created = await fetch(`${env.base}/api/v1/contacts`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Mariana Costa', phones: ['+55 11 98765-4321'] }) })
  t.equal(created.status, 201)
  const contact = await created.json() as { id: string, phones: string[] }
  t.same(contact.phones, ['+5511987654321'])
  await page.goto(`${env.base}/contacts`)
  await page.getByText('Mariana Costa').first().waitFor()
  t.pass('the contact the script made is in the list')

  // The list shows the key by its prefix only; revoking it stops the script.
  await page.goto(`${env.base}/settings/api-keys`)
  await page.getByText('Shop sync').first().waitFor()
  t.notOk((await page.content()).includes(token), 'the list never shows the key again')
  await page.getByRole('link', { name: /revoke/i }).first().click()
  const dialog = page.locator('dialog[open]')
  await dialog.waitFor()
  await dialog.locator('button[type=submit]').click()
  await page.locator('tr.is-revoked').first().waitFor()
  if (shots !== '') await page.screenshot({ path: join(shots, 'api-keys-list.png'), caret: 'initial' })
  const refused = await fetch(`${env.base}/api/v1/contacts`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(refused.status, 401, 'a revoked key is refused')

  // The reference: every operation listed, links to each.
  await page.goto(`${env.base}/api/v1/docs`)
  await page.locator('#sendMessage').waitFor()
  await page.locator('.api-doc-nav a[href="#createContact"]').click()
  await page.waitForFunction(() => location.hash === '#createContact')
  if (shots !== '') {
    await page.screenshot({ path: join(shots, 'api-docs.png') })
    const dark = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' })
    const darkPage = await dark.newPage()
    await darkPage.goto(`${env.base}/api/v1/docs#listConversations`)
    await darkPage.screenshot({ path: join(shots, 'api-docs-dark.png') })
    await dark.close()
    const phone = await env.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })
    const phonePage = await phone.newPage()
    await phonePage.goto(`${env.base}/api/v1/docs`)
    await phonePage.screenshot({ path: join(shots, 'api-docs-phone.png') })
    await phone.close()
  }
  t.same(problems, [], 'no console errors, CSP reports or failed requests')
  await context.close()
})

// The contact import in a real browser: an admin uploads a small CSV (semicolons, Portuguese headers),
// checks the guessed mapping and the preview with its per-row problems, changes a column (the preview
// follows without a reload), starts the import, watches the progress bar and reads the report.
// Screenshots (SCREENSHOTS=1 → docs/screenshots): the mapping with the preview (light, dark, phone)
// and the report.
import { join } from 'node:path'
import t from 'tap'
import { eq } from 'drizzle-orm'
import { browserApp, screenshotDir, signInThroughForm, watchedPage } from '../helpers/browser.js'
import { addMember, createUser } from '../helpers/accounts.js'
import { workspaces } from '../../src/db/schema.js'
import { createField } from '../../src/features/contacts/contact-fields.service.js'
import { upsertWhatsAppContact } from '../../src/features/contacts/contacts.service.js'
import { startImportWorker } from '../../src/features/contacts/import.worker.js'

const csv = [
  'Nome;Celular;E-mail;Etiquetas;Plano;Aniversário',
  'Ana Souza;(11) 98765-0001;ana@example.com;"VIP; Atacado";Pro;',
  'Bruno Lima;+55 21 99999-0002;bruno@example;Varejo;Básico;',
  'Carla Mendes;123;carla@example.com;;Pro;',
  'Diego Alves;11 97777-0004;diego@example.com;Varejo;Platina;',
  ';;sem-nome@example.com;;;',
  'Elisa Rocha;11 96666-0005;;VIP;;',
  '"=HYPERLINK(""http://evil.example"",""x"")";11 95555-0006;;;;'
].join('\r\n') + '\r\n'

t.test('an admin uploads a CSV, maps it, sees the problems, imports it and reads the report', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const shots = screenshotDir(t)
  const owner = await createUser(env.deps, { name: 'Olga Owner', workspace: 'Souza Imports' })
  const admin = await createUser(env.deps, { name: 'Ana Admin' })
  const workspaceId = owner.workspaceId!
  addMember(env.deps, workspaceId, admin.id, 'admin')
  env.deps.db.update(workspaces).set({ defaultCountry: 'BR' }).where(eq(workspaces.id, workspaceId)).run()
  const plan = createField(env.deps.db, { userId: owner.id, workspaceId }, { label: 'Plano', type: 'select', options: 'Básico\nPro' }, env.clock.now())
  if (!plan.ok) throw new Error('field')
  // Ana already wrote on WhatsApp: the import completes her, it does not duplicate her.
  upsertWhatsAppContact(env.deps.db, workspaceId, { bsuid: null, waId: '5511987650001', profileName: 'Aninha' }, env.clock.now())
  const worker = startImportWorker(env.deps, { pollMs: 500 })
  t.teardown(() => worker.stop())

  for (const [scheme, width, height] of [['light', 1280, 900], ['dark', 1280, 900], ['light', 390, 844]] as const) {
    const phone = width < 500
    const context = await env.browser.newContext({ viewport: { width, height }, colorScheme: scheme, locale: 'en-US' })
    const { page, problems } = await watchedPage(context)
    await signInThroughForm(page, env.base, admin)
    await page.waitForURL(/\/inbox$/)
    await page.goto(env.base + '/contacts/import')
    t.match(await page.locator('h1').innerText(), 'Import contacts')
    if (scheme === 'light' && !phone) {
      // Submitting without a file is refused by the browser (required); the server says the same.
      await page.screenshot({ path: join(shots, 'contacts-import-upload.png'), fullPage: true })
    }
    await page.setInputFiles('#import-file', { name: 'clientes.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
    await page.getByRole('button', { name: 'Upload and continue' }).click()
    await page.waitForURL(/\/contacts\/import\/[0-9A-Z]{26}$/)
    t.match(await page.locator('h1').innerText(), 'Map the columns')

    // The guessed mapping and the preview's problems.
    t.equal(await page.locator('#map-0').inputValue(), 'name')
    t.equal(await page.locator('#map-1').inputValue(), 'phone')
    t.equal(await page.locator('#map-2').inputValue(), 'email')
    t.equal(await page.locator('#map-3').inputValue(), 'labels')
    t.equal(await page.locator('#map-4').inputValue(), `field:${plan.value.key}`)
    t.equal(await page.locator('#map-5').inputValue(), 'skip')
    const preview = page.locator('#import-preview')
    const text = await preview.innerText()
    for (const problem of ['Not a valid email address', 'Not a valid phone number', 'Invalid value for “Plano”', 'No name and no phone number']) t.match(text, problem, `the preview shows: ${problem}`)
    t.match(text, '=HYPERLINK("http://evil.example","x")', 'a formula-looking name is shown as text')
    t.match(text, '4 of these 7 rows have problems')
    if (!phone) await page.screenshot({ path: join(shots, scheme === 'dark' ? 'contacts-import-dark.png' : 'contacts-import.png'), fullPage: true })
    else await page.screenshot({ path: join(shots, 'contacts-import-phone.png'), fullPage: true })

    // Skipping the email column: the preview follows at once (htmx), and Bruno's row is fine again.
    await page.locator('#map-2').selectOption('skip')
    await page.waitForFunction(() => !document.querySelector('#import-preview')?.textContent?.includes('Not a valid email address'))
    t.match(await preview.innerText(), '3 of these 7 rows have problems', 'the preview was refreshed in place')
    t.match(page.url(), /\/contacts\/import\/[0-9A-Z]{26}$/, 'without leaving the page')
    await page.locator('#map-2').selectOption('email')
    await page.waitForFunction(() => document.querySelector('#import-preview')?.textContent?.includes('Not a valid email address') === true)

    if (phone) {
      // On the phone, discard instead: the file is dropped and the upload form is back.
      await page.getByRole('button', { name: 'Discard file' }).click()
      await page.waitForURL(/\/contacts\/import\?done=discarded$/)
      t.match(await page.locator('#flash').innerText(), 'The upload was discarded.')
      t.same(problems, [], 'no CSP violations or script errors')
      await context.close()
      continue
    }

    await page.getByRole('button', { name: /^Import 7 rows$/ }).click()
    await page.waitForURL(/\/contacts\/import\/[0-9A-Z]{26}$/)
    // The progress bar polls every second until the worker has finished, then turns into the report.
    await page.locator('.import-stats').waitFor({ timeout: 15_000 })
    const report = await page.locator('main').innerText()
    t.match(report, 'Import finished')
    if (scheme === 'light') {
      t.match(report, /Created\s*2/, 'Elisa and the formula-named contact are new')
      t.match(report, /Updated\s*1/, 'Ana was completed, not duplicated')
    } else {
      t.match(report, /Created\s*0/, 'importing the same file again creates nobody')
      t.match(report, /Updated\s*3/, 'it updates the three contacts instead')
    }
    t.match(report, /Skipped\s*4/)
    t.match(report, 'Not a valid email address')
    t.match(report, 'Invalid value for “Plano”')
    if (scheme === 'light') await page.screenshot({ path: join(shots, 'contacts-import-report.png'), fullPage: true })
    t.same(problems, [], 'no CSP violations or script errors')
    await context.close()
  }
})

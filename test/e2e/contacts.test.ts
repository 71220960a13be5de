// Contacts in a real browser: a member creates a contact, edits a custom field in place (a refused
// value shows its error inline and keeps what was typed, then a good one saves without a reload),
// searches and filters the list live, and opens the contact. Screenshots (npm run screenshots):
// contacts-list.png, contact-page.png, plus dark and phone variants.
import { join } from 'node:path'
import t from 'tap'
import { eq } from 'drizzle-orm'
import { browserApp, screenshotDir, signInThroughForm, watchedPage } from '../helpers/browser.js'
import { createUser } from '../helpers/accounts.js'
import { contacts, conversations, workspaces } from '../../src/db/schema.js'
import { createContact, setContactLabel, setNotes } from '../../src/features/contacts/contact-edit.service.js'
import { createField, setFieldValue } from '../../src/features/contacts/contact-fields.service.js'
import { upsertWhatsAppContact } from '../../src/features/contacts/contacts.service.js'
import { createLabel } from '../../src/features/inbox/conversations.service.js'
import { createChannel } from '../../src/features/channels/channels.service.js'

const day = 86_400_000

t.test('create a contact, edit a field inline, filter the list and open the contact', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const { deps, clock } = env
  const owner = await createUser(deps, { name: 'Olivia Owner', workspace: 'Casa Verde' })
  const ws = owner.workspaceId!
  deps.db.update(workspaces).set({ defaultCountry: 'BR' }).where(eq(workspaces.id, ws)).run()
  const actor = { userId: owner.id, workspaceId: ws }
  const plan = createField(deps.db, actor, { label: 'Plan', type: 'select', options: 'Free\nPro\nEnterprise' }, clock.now())
  const city = createField(deps.db, actor, { label: 'City', type: 'text', options: '' }, clock.now())
  const birthday = createField(deps.db, actor, { label: 'Birthday', type: 'date', options: '' }, clock.now())
  const seats = createField(deps.db, actor, { label: 'Seats', type: 'number', options: '' }, clock.now())
  if (!plan.ok || !city.ok || !birthday.ok || !seats.ok) throw new Error('fields')
  const vip = createLabel(deps, { ...actor, role: 'owner' }, 'VIP')
  const wholesale = createLabel(deps, { ...actor, role: 'owner' }, 'Wholesale')
  // A realistic list for the screenshot: WhatsApp contacts with activity, and hand-made ones.
  const channel = createChannel(deps.db, ws, { name: 'Loja Centro', wabaId: '109876543210001', phoneNumberId: '110000000000101', accessToken: 'EAAG-contacts-e2e-0001', appSecret: 'contacts-e2e-secret', graphApiVersion: 'v25.0' }, clock.now())
  const people: Array<[string, string, number | null, 'unknown' | 'opted_in' | 'opted_out', string[]]> = [
    ['Beatriz Almeida', '5511987650001', 2 * 3600_000, 'opted_in', [vip.id]],
    ['Carlos Menezes', '5521998760002', 3 * day, 'unknown', [wholesale.id]],
    ['Daniela Rocha', '5531987650003', 12 * day, 'opted_in', [vip.id, wholesale.id]],
    ['Eduardo Lima', '5541987650004', 45 * day, 'opted_out', []],
    ['Fernanda Costa', '5551987650005', 130 * day, 'unknown', []],
    ['Gustavo Pereira', '5561987650006', null, 'unknown', [wholesale.id]]
  ]
  for (const [name, waId, ago, consent, labelIds] of people) {
    const c = upsertWhatsAppContact(deps.db, ws, { bsuid: null, waId, profileName: name }, clock.now())!
    deps.db.update(contacts).set({ lastInboundAt: ago === null ? null : clock.now() - ago, consent }).where(eq(contacts.id, c.id)).run()
    for (const l of labelIds) setContactLabel(deps.db, ws, c.id, l, true, owner.id, clock.now())
    if (ago !== null) deps.db.insert(conversations).values({ workspaceId: ws, channelId: channel.id, contactId: c.id, status: 'open', lastMessageAt: clock.now() - ago, lastInboundAt: clock.now() - ago, createdAt: clock.now(), updatedAt: clock.now() }).run()
  }
  const hugo = createContact(deps.db, ws, { name: 'Hugo Santos', emails: ['hugo@example.com'] }, owner.id, clock.now())
  if (!hugo.ok) throw new Error('hugo')

  const shots = screenshotDir(t)
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', colorScheme: 'light' })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, owner)
  await page.waitForURL(/\/(inbox|welcome|$)/)

  // Create a contact through the form.
  await page.goto(env.base + '/contacts')
  await page.getByRole('link', { name: 'New contact' }).first().click()
  await page.waitForURL(/\/contacts\/new$/)
  await page.getByLabel('Name').fill('Ana Souza')
  await page.getByLabel('Phone number').fill('11 98765-4321')
  await page.getByLabel('Email').fill('ana.souza@example.com')
  await page.getByRole('button', { name: 'Add contact' }).click()
  await page.waitForURL(/\/contacts\/[0-9A-Z]{26}/)
  const contactUrl = page.url().replace(/\?.*$/, '')
  await page.getByRole('heading', { name: /Ana Souza/ }).waitFor()
  t.ok(await page.locator('#contact-phones').getByText(/^\+55 11 98765.4321$/).isVisible(), 'the number, normalised')

  // Edit a custom field in place: a bad value first (error inline, text kept), then a good one.
  const seatsRow = page.locator(`#field-${seats.value.id}`)
  await seatsRow.getByRole('link', { name: 'Edit Seats' }).click()
  const input = seatsRow.locator('input[name="value"]')
  await input.waitFor()
  t.ok(await input.evaluate(el => el === document.activeElement), 'the input has the focus')
  await input.fill('twelve')
  await input.press('Enter')
  await seatsRow.locator('.field-error').waitFor()
  t.match(await seatsRow.locator('.field-error').innerText(), /Enter a number/)
  t.equal(await seatsRow.locator('input[name="value"]').inputValue(), 'twelve', 'nothing lost')
  await seatsRow.locator('input[name="value"]').fill('12')
  await seatsRow.locator('input[name="value"]').press('Enter')
  await page.locator(`#field-${seats.value.id} .cf-shown`, { hasText: '12' }).waitFor()
  t.equal(page.url().replace(/\?.*$/, ''), contactUrl, 'no navigation')
  await page.locator('#contact-timeline').getByText('set Seats to “12”').waitFor()
  const planRow = page.locator(`#field-${plan.value.id}`)
  await planRow.getByRole('link', { name: 'Edit Plan' }).click()
  await planRow.locator('select').selectOption('Pro')
  await planRow.getByRole('button', { name: 'Save' }).click()
  await page.locator(`#field-${plan.value.id} .cf-shown`, { hasText: 'Pro' }).waitFor()
  // Escape cancels an edit.
  const cityRow = page.locator(`#field-${city.value.id}`)
  await cityRow.getByRole('link', { name: 'Edit City' }).click()
  await cityRow.locator('input[name="value"]').press('Escape')
  await page.locator(`#field-${city.value.id}:not(.is-editing)`).waitFor()

  // The list: filter by the field value, search live, open the contact.
  await page.getByRole('link', { name: 'Contacts', exact: true }).first().click()
  await page.waitForURL(/\/contacts$/)
  t.equal(await page.locator('.contact-row[id^="c-"]').count(), 8)
  await page.locator('#contacts-q').fill('souza')
  await page.waitForFunction(() => document.querySelectorAll('.contact-row[id^="c-"]').length === 1)
  t.match(page.url(), /q=souza/, 'the search is in the URL')
  await page.locator('#contacts-q').fill('')
  await page.waitForFunction(() => document.querySelectorAll('.contact-row[id^="c-"]').length === 8)
  await page.locator('#contacts-label').selectOption({ label: 'VIP' })
  await page.waitForFunction(() => document.querySelectorAll('.contact-row[id^="c-"]').length === 2)
  await page.locator('#contacts-label').selectOption('')
  await page.waitForFunction(() => document.querySelectorAll('.contact-row[id^="c-"]').length === 8)
  await page.locator('#contacts-field').selectOption({ label: 'Plan' })
  await page.waitForURL(/field=/)
  await page.locator('#contacts-value').selectOption('Pro')
  await page.waitForFunction(() => document.querySelectorAll('.contact-row[id^="c-"]').length === 1)
  await page.getByRole('link', { name: /Ana Souza/ }).click()
  await page.waitForURL(contactUrl)
  await page.getByRole('heading', { name: /Ana Souza/ }).waitFor()

  // Screenshots: the page with notes and values, the list in light, dark and phone widths.
  setNotes(deps.db, ws, hugo.contact.id, 'Prefers email. Buys for three stores in Campinas; ask about the wholesale catalogue.', owner.id, clock.now())
  const anaId = contactUrl.split('/').pop()!
  setFieldValue(deps.db, ws, anaId, city.value, 'São Paulo', owner.id, clock.now())
  setFieldValue(deps.db, ws, anaId, birthday.value, '1990-04-12', owner.id, clock.now())
  setNotes(deps.db, ws, anaId, 'Met at the São Paulo fair. Interested in the Pro plan for her two shops.', owner.id, clock.now())
  setContactLabel(deps.db, ws, anaId, vip.id, true, owner.id, clock.now())
  await page.goto(contactUrl)
  await page.screenshot({ path: join(shots, 'contact-page.png'), fullPage: true })
  await page.goto(env.base + '/contacts')
  await page.screenshot({ path: join(shots, 'contacts-list.png'), fullPage: true })

  // Export with two rows ticked: the menu says so, and the download carries only their ids.
  const ticked = await page.locator('.contact-check').evaluateAll(boxes => boxes.slice(0, 2).map(b => (b as HTMLInputElement).value))
  for (const id of ticked) await page.locator(`.contact-check[value="${id}"]`).check()
  await page.getByText('2', { exact: true }).first().waitFor()
  await page.locator('summary', { hasText: 'Export' }).click()
  await page.getByText('Only the ticked contacts').waitFor()
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'JSON' }).click()])
  const exported = new URL(download.url())
  t.same(exported.searchParams.getAll('ids').sort(), [...ticked].sort(), 'the download asks for the ticked contacts')
  const body = JSON.parse(await (await import('node:fs/promises')).readFile((await download.path())!, 'utf8')) as Array<{ id: string }>
  t.same(body.map(c => c.id).sort(), [...ticked].sort(), 'and gets exactly them')
  t.same(problems, [], 'no CSP violations or script errors')
  await context.close()

  for (const variant of [{ name: 'contacts-list-dark', colorScheme: 'dark' as const, viewport: { width: 1280, height: 860 }, url: '/contacts' }, { name: 'contacts-list-phone', colorScheme: 'light' as const, viewport: { width: 390, height: 844 }, url: '/contacts' }, { name: 'contact-page-phone', colorScheme: 'light' as const, viewport: { width: 390, height: 844 }, url: contactUrl.replace(env.base, '') }, { name: 'contact-page-dark', colorScheme: 'dark' as const, viewport: { width: 1280, height: 860 }, url: contactUrl.replace(env.base, '') }]) {
    const ctx = await env.browser.newContext({ viewport: variant.viewport, colorScheme: variant.colorScheme, locale: 'en-US' })
    const p = await ctx.newPage()
    await signInThroughForm(p, env.base, owner)
    await p.waitForURL(/\/(inbox|welcome|$)/)
    await p.goto(env.base + variant.url)
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    t.ok(overflow <= 1, `${variant.name}: no horizontal scroll (${overflow}px)`)
    await p.screenshot({ path: join(shots, `${variant.name}.png`), fullPage: true })
    await ctx.close()
  }
})

// "Forget this contact" in a real browser: an admin opens a contact who wrote on WhatsApp, follows
// "Forget this contact" from the Privacy card, finds the button held until the word is typed (the
// input's own pattern, no script), types FORGET, confirms, and lands on the contacts list with the
// counts in a notice and the contact gone — from the list, its page and the inbox. No CSP violation or
// script error on the way. Screenshots (npm run screenshots): contact-forget.png (the confirmation),
// plus dark and phone variants.
import { join } from 'node:path'
import t from 'tap'
import { browserApp, screenshotDir, shootFullPage, signInThroughForm, watchedPage } from '../helpers/browser.js'
import { addMember, createUser } from '../helpers/accounts.js'
import { deliver, envelope, fixturePhoneNumberId, fixtureSecret, fixtureWaba, message, messagesValue, type Sender } from '../helpers/whatsapp.js'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { addEmail, setNotes } from '../../src/features/contacts/contact-edit.service.js'
import { processAllPending } from '../../src/features/webhooks/webhook-processor.js'

const person: Sender = { waId: '5511987654242', name: 'Renata Quintela' }
const other: Sender = { waId: '5511987655353', name: 'Marcos Teixeira' }

t.test('an admin forgets a contact: the word, the confirmation, the list with the counts', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const { deps, clock } = env
  const owner = await createUser(deps, { name: 'Olivia Owner', workspace: 'Casa Verde' })
  const admin = await createUser(deps, { name: 'Ada Admin' })
  const ws = owner.workspaceId!
  addMember(deps, ws, admin.id, 'admin')
  const channel = createChannel(deps.db, ws, { name: 'Loja Centro', wabaId: fixtureWaba, phoneNumberId: fixturePhoneNumberId, accessToken: 'EAAG-forget-e2e-0001', appSecret: fixtureSecret, graphApiVersion: 'v25.0' }, clock.now())
  const url = `/webhooks/whatsapp/${channel.publicId}`
  for (const [i, text] of ['Oi! Quero cancelar meu pedido 5521.', 'Por favor apaguem meus dados.'].entries()) {
    t.equal((await deliver(env, url, envelope(messagesValue([person], { messages: [message(`wamid.FORGETE2E000${i}`, person, 'text', { body: text })] })))).statusCode, 200)
  }
  t.equal((await deliver(env, url, envelope(messagesValue([other], { messages: [message('wamid.STAYSE2E0001', other, 'text', { body: 'Bom dia' })] })))).statusCode, 200)
  processAllPending(deps)
  const idOf = (who: Sender): string => (deps.sqlite.prepare('SELECT id FROM contacts WHERE profile_name = ?').get(who.name) as { id: string }).id
  const contactId = idOf(person)
  const conversationId = (deps.sqlite.prepare('SELECT id FROM conversations WHERE contact_id = ?').get(contactId) as { id: string }).id
  t.ok(addEmail(deps.db, ws, contactId, 'renata.quintela@example.com', owner.id, clock.now()).ok)
  setNotes(deps.db, ws, contactId, 'Asked on WhatsApp for her data to be erased.', owner.id, clock.now())
  const exists = (): boolean => deps.sqlite.prepare('SELECT 1 FROM contacts WHERE id = ?').get(contactId) !== undefined

  const shots = screenshotDir(t)
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', colorScheme: 'light' })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, admin)
  await page.waitForURL(/\/(inbox|welcome|$)/)

  // The contact page, from the list: the Privacy card says how Forget differs from Delete.
  await page.goto(env.base + '/contacts')
  await page.getByRole('link', { name: /Renata Quintela/ }).click()
  await page.waitForURL(new RegExp(`/contacts/${contactId}$`))
  const privacy = page.getByRole('region', { name: 'Privacy' })
  t.match(await privacy.innerText(), /Delete hides the contact and keeps their history\. Forget erases the person and their whole history for good/)
  t.ok(await privacy.getByRole('link', { name: 'Download everything' }).isVisible(), 'the archive download is there too')
  t.ok(await privacy.getByRole('button', { name: 'Put on legal hold' }).isVisible(), 'and the legal hold')
  await privacy.scrollIntoViewIfNeeded()
  await privacy.screenshot({ path: join(shots, 'contact-privacy.png'), caret: 'initial' })
  await privacy.getByRole('link', { name: 'Forget this contact' }).click()
  await page.waitForURL(new RegExp(`/contacts/${contactId}/forget$`))
  await page.getByRole('heading', { name: 'Forget Renata Quintela for good?' }).waitFor()
  const text = await page.locator('main').innerText()
  t.match(text, /Their 1 conversation and 2 messages/)
  t.match(text, /renata\.quintela@example\.com/)
  t.match(text, /A tombstone for each number and email/)
  t.match(text, /This cannot be undone\./)
  await shootFullPage(page, join(shots, 'contact-forget.png'))

  // The button is held until the word is typed: the browser's own check, nothing sent.
  const confirm = page.getByRole('button', { name: 'Forget this contact for good' })
  const word = page.getByLabel('Type FORGET to confirm')
  await confirm.click()
  t.ok(await word.evaluate(el => !(el as HTMLInputElement).validity.valid), 'empty: the form does not submit')
  await word.fill('FORGOT')
  await confirm.click()
  t.ok(await word.evaluate(el => (el as HTMLInputElement).validity.patternMismatch), 'a wrong word does not submit either')
  t.match(page.url(), /\/forget$/, 'still on the confirmation')
  t.ok(exists(), 'nothing erased yet')

  await word.fill('forget')
  await confirm.click()
  await page.waitForURL(/\/contacts\?done=forgotten/)
  const flash = page.locator('#flash .flash-success')
  await flash.waitFor()
  t.match(await flash.innerText(), /Contact erased for good: 1 conversation, 2 messages, 0 files and 2 copies in the webhook logs\./)
  t.equal(await page.locator(`#c-${contactId}`).count(), 0, 'gone from the list')
  t.equal(await page.locator('.contact-row[id^="c-"]').count(), 1, 'the other contact stays')
  t.notOk(exists(), 'erased')

  // Its page and its conversation are gone too.
  const gone = await page.goto(`${env.base}/contacts/${contactId}`)
  t.equal(gone?.status(), 404)
  const conv = await page.goto(`${env.base}/inbox/${conversationId}`)
  t.equal(conv?.status(), 404)
  await page.goto(env.base + '/inbox')
  t.notMatch(await page.locator('main').innerText(), /Renata/)
  t.same(problems, [], 'no CSP violations or script errors')
  await context.close()
})

t.test('the confirmation in dark mode and at phone width: no horizontal scroll', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const { deps, clock } = env
  const owner = await createUser(deps, { name: 'Olivia Owner', workspace: 'Casa Verde' })
  const ws = owner.workspaceId!
  const channel = createChannel(deps.db, ws, { name: 'Loja Centro', wabaId: fixtureWaba, phoneNumberId: fixturePhoneNumberId, accessToken: 'EAAG-forget-e2e-0002', appSecret: fixtureSecret, graphApiVersion: 'v25.0' }, clock.now())
  t.equal((await deliver(env, `/webhooks/whatsapp/${channel.publicId}`, envelope(messagesValue([person], { messages: [message('wamid.FORGETE2E1000', person, 'text', { body: 'Oi' })] })))).statusCode, 200)
  processAllPending(deps)
  const contactId = (deps.sqlite.prepare('SELECT id FROM contacts').get() as { id: string }).id
  t.ok(addEmail(deps.db, ws, contactId, 'renata.quintela@example.com', owner.id, clock.now()).ok)
  const shots = screenshotDir(t)
  for (const variant of [{ name: 'contact-forget-dark', colorScheme: 'dark' as const, viewport: { width: 1280, height: 860 } }, { name: 'contact-forget-phone', colorScheme: 'light' as const, viewport: { width: 390, height: 844 } }]) {
    const ctx = await env.browser.newContext({ viewport: variant.viewport, colorScheme: variant.colorScheme, locale: 'en-US' })
    const { page, problems } = await watchedPage(ctx)
    await signInThroughForm(page, env.base, owner)
    await page.waitForURL(/\/(inbox|welcome|$)/)
    await page.goto(`${env.base}/contacts/${contactId}/forget`)
    await page.getByRole('heading', { name: 'Forget Renata Quintela for good?' }).waitFor()
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    t.ok(overflow <= 1, `${variant.name}: no horizontal scroll (${overflow}px)`)
    t.ok(await page.getByRole('button', { name: 'Forget this contact for good' }).isVisible(), `${variant.name}: the button is on screen`)
    await shootFullPage(page, join(shots, `${variant.name}.png`))
    t.same(problems, [], `${variant.name}: no CSP violations or script errors`)
    await ctx.close()
  }
})

// Consent and duplicates in a real browser: an agent records a contact's opt-in on the contact page
// (the panel swaps in place), finds the same person twice on the duplicates page (WhatsApp id and the
// number without Brazil's 9th digit), picks the survivor, confirms, and lands back with a notice; an
// admin sets the default country. Screenshots in light, dark and phone width.
import { join } from 'node:path'
import t from 'tap'
import { browserApp, screenshotDir, signInThroughForm, watchedPage, shootFullPage } from '../helpers/browser.js'
import { addMember, createUser } from '../helpers/accounts.js'
import { contactPhones, conversations } from '../../src/db/schema.js'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { upsertWhatsAppContact } from '../../src/features/contacts/contacts.service.js'
import { findContact, insertContact } from '../../src/features/contacts/contacts.store.js'
import { setConsent } from '../../src/features/contacts/consent.service.js'
import { phoneIndex } from '../../src/features/contacts/phone.js'

t.test('an agent records consent, then merges a duplicate; an admin sets the default country', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const shots = screenshotDir(t)
  const owner = await createUser(env.deps, { name: 'Ana Souza', workspace: 'Souza Imports' })
  const ws = owner.workspaceId!
  const agent = await createUser(env.deps, { name: 'Bruno Lima' })
  addMember(env.deps, ws, agent.id, 'agent')
  const now = env.clock.now()
  const channel = createChannel(env.deps.db, ws, { name: 'Main', wabaId: '109876543210001', phoneNumberId: '110000000000101', accessToken: 'EAAG-e2e-token', appSecret: 'e2e-app-secret', graphApiVersion: 'v25.0' }, now)
  const wa = upsertWhatsAppContact(env.deps.db, ws, { bsuid: null, waId: '5511987654321', profileName: 'Mariana Costa' }, now)!
  env.deps.db.insert(conversations).values({ workspaceId: ws, channelId: channel.id, contactId: wa.id, lastMessageAt: now, lastInboundAt: now, createdAt: now, updatedAt: now }).run()
  const old = insertContact(env.deps.db, { workspaceId: ws, name: 'Mari (loja)', notes: 'Prefers afternoon calls', createdAt: now - 86_400_000, updatedAt: now })
  env.deps.db.insert(contactPhones).values({ workspaceId: ws, contactId: old.id, phone: '+551187654321', phoneIndex: phoneIndex(ws, '551187654321'), createdAt: now }).run()

  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, agent)
  await page.waitForURL(/\/inbox/)

  // Consent on the contact page: the form is refused without wording, then saved; the panel swaps in place.
  await page.goto(`${env.base}/contacts/${wa.id}`)
  const panel = page.locator(`#consent-${wa.id}`)
  await panel.getByText('Record opt-in').click()
  await panel.getByRole('button', { name: 'Save opt-in' }).click()
  await panel.getByText('Enter the wording the contact agreed to').waitFor()
  await panel.getByLabel('Wording the contact agreed to').fill('Yes, I want offers from Souza Imports on WhatsApp.')
  await panel.getByRole('button', { name: 'Save opt-in' }).click()
  await panel.locator('[data-consent-state="opted_in"]').waitFor()
  t.match(await panel.innerText(), /By Bruno Lima/)
  t.match(page.url(), new RegExp(`/contacts/${wa.id}$`), 'swapped in place, no navigation')
  t.equal(findContact(env.deps.db, ws, wa.id)!.consent, 'opted_in')
  await shootFullPage(page, join(shots, 'contact-consent.png'))

  // Duplicates: the pair is suggested, the WhatsApp contact is offered as the survivor.
  await page.goto(`${env.base}/contacts/duplicates`)
  t.match(await page.locator('main').innerText(), /Same number, other spelling/)
  await shootFullPage(page, join(shots, 'contacts-duplicates.png'))
  await page.getByRole('button', { name: 'Merge…' }).click()
  await page.waitForURL(/\/contacts\/duplicates\/merge\?/)
  t.match(await page.locator('h1').innerText(), /Merge Mari \(loja\) into Mariana Costa\?/)
  await shootFullPage(page, join(shots, 'contacts-merge-confirm.png'))
  await page.getByRole('button', { name: 'Merge contacts' }).click()
  await page.waitForURL(/\/contacts\/duplicates\?done=merged/)
  t.match(await page.locator('#flash').textContent(), /Contacts merged/)
  t.match(await page.locator('main').innerText(), /No duplicates found/)
  const merged = findContact(env.deps.db, ws, wa.id)!
  t.equal(merged.notes, 'Prefers afternoon calls', 'the other\'s notes came along')
  t.equal(findContact(env.deps.db, ws, old.id), undefined, 'the other is retired')

  // The contact opts out; their conversation's window is closed: the inbox marks them and offers no template.
  setConsent(env.deps.db, ws, wa.id, { state: 'opted_out', source: 'keyword', wording: 'STOP' }, null, now)
  env.deps.sqlite.prepare('UPDATE conversations SET last_inbound_at = ? WHERE contact_id = ?').run(now - 25 * 3_600_000, wa.id)
  const conv = (env.deps.sqlite.prepare('SELECT id FROM conversations WHERE contact_id = ?').get(wa.id) as { id: string }).id
  await page.goto(`${env.base}/inbox/${conv}`)
  await page.locator('[data-opted-out]').waitFor()
  t.match(await page.locator('[data-opted-out]').innerText(), /This contact opted out/)
  t.ok(await page.locator('#contact-panel [data-consent="opted_out"]').isVisible(), 'the contact panel shows the badge')
  await page.screenshot({ path: join(shots, 'inbox-opted-out.png') })

  // Dark mode and a phone: the suggestion cards stack.
  const again = insertContact(env.deps.db, { workspaceId: ws, name: 'Mariana C.', createdAt: now, updatedAt: now })
  env.deps.db.insert(contactPhones).values({ workspaceId: ws, contactId: again.id, phone: '+5511987654321', phoneIndex: phoneIndex(ws, '5511987654321'), createdAt: now }).run()
  const phone = await env.browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' })
  const { page: small, problems: smallProblems } = await watchedPage(phone)
  await signInThroughForm(small, env.base, agent)
  await small.waitForURL(/\/inbox/)
  await small.goto(`${env.base}/contacts/duplicates`)
  const cards = small.locator('.dup-side')
  t.equal(await cards.count(), 2)
  const [first, second] = [await cards.nth(0).boundingBox(), await cards.nth(1).boundingBox()]
  t.ok(first !== null && second !== null && second.y >= first.y + first.height - 1, 'one card under the other on a phone')
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)
  t.notOk(overflow, 'nothing wider than the phone')
  await shootFullPage(small, join(shots, 'contacts-duplicates-phone-dark.png'))

  // Settings → Contacts, as the owner.
  const ownerContext = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' })
  const { page: admin, problems: adminProblems } = await watchedPage(ownerContext)
  await signInThroughForm(admin, env.base, owner)
  await admin.waitForURL(/\/inbox/)
  await admin.goto(`${env.base}/settings/contacts`)
  await admin.getByLabel('Default country').selectOption('BR')
  await admin.getByLabel('Opt-out keywords').fill('SAIR, PARAR, STOP')
  await admin.getByRole('button', { name: 'Save changes' }).click()
  await admin.waitForURL(/\/settings\/contacts\?done=saved/)
  t.match(await admin.locator('#flash').textContent(), /Contact settings saved/)
  await shootFullPage(admin, join(shots, 'settings-contacts-dark.png'))
  t.equal((env.deps.sqlite.prepare('SELECT default_country AS c FROM workspaces WHERE id = ?').get(ws) as { c: string }).c, 'BR')

  t.same(problems, [])
  t.same(smallProblems, [])
  t.same(adminProblems, [])
  await context.close()
  await phone.close()
  await ownerContext.close()
})

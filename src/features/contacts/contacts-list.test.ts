// The contact list answers a selective filter from its own index (a few ids, then sorted) and a broad
// one by walking the sort's index and testing each row. Whichever way, the pages must be exactly what
// filtering and sorting every contact gives. This checks every sort against that oracle for filters
// on both sides of the threshold (2,000 contacts), alone and combined, page after page.
import t from 'tap'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createUser } from '../../../test/helpers/accounts.js'
import { contactFieldValues, contactLabels, labels } from '../../db/schema.js'
import { createField, validateFieldValue } from './contact-fields.service.js'
import { listContacts, type ContactFilter, type ContactSort } from './contacts-list.store.js'
import { contactsNamed, insertContact } from './contacts.store.js'
import { createContact, renameContact } from './contact-edit.service.js'
import { upsertWhatsAppContact } from './contacts.service.js'
import { runImport, startImport, uploadImport } from './import.service.js'

t.test('every filter and sort, selective or broad, gives the oracle\'s pages', async (t) => {
  const env = await buildTestApp(t)
  const { db } = env.deps
  const owner = await createUser(env.deps, { workspace: 'Shop' })
  const other = await createUser(env.deps, { workspace: 'Other', email: 'other@example.test' })
  const ws = owner.workspaceId!
  const now = env.clock.now()
  const day = 86_400_000
  const field = createField(db, { userId: owner.id, workspaceId: ws }, { label: 'Plan', type: 'select', options: 'Basic\nPro' }, now)
  if (!field.ok) throw new Error('field')
  interface Row { id: string, sortName: string, createdAt: number, lastInboundAt: number | null, labels: string[], plan: string | null, consent: string, name: string }
  const rows: Row[] = []
  const count = 2600
  let few = ''
  let many = ''
  db.transaction((tx) => {
    few = tx.insert(labels).values({ workspaceId: ws, name: 'Few', createdAt: now }).returning().get().id
    many = tx.insert(labels).values({ workspaceId: ws, name: 'Many', createdAt: now }).returning().get().id
    const theirs = tx.insert(labels).values({ workspaceId: other.workspaceId!, name: 'Many', createdAt: now }).returning().get().id
    for (let i = 0; i < count; i++) {
      // Names collide on purpose (ties on the sort key are broken by id); some have only a profile name.
      const name = `Person ${String(i % 700).padStart(3, '0')}${i % 97 === 0 ? ' Zed' : ''}`
      const saved = i % 5 === 0 ? null : name
      const createdAt = now - (i % 300) * day
      const lastInboundAt = i % 9 === 0 ? null : i % 4 === 0 ? now - (i % 6) * day : now - (10 + (i % 20)) * day
      const consent = ['unknown', 'opted_in', 'opted_out'][i % 3]!
      const id = insertContact(tx, { workspaceId: ws, name: saved, profileName: name, consent: consent as 'unknown', lastInboundAt, createdAt, updatedAt: createdAt }).id
      const on: string[] = []
      if (i % 3 === 0) on.push(few) // 867: answered from the label's index
      if (i < 2300) on.push(many) // 2,300: tested row by row
      for (const l of on) tx.insert(contactLabels).values({ workspaceId: ws, contactId: id, labelId: l, createdAt: now }).run()
      const plan = i % 11 === 0 ? null : i < 2150 ? 'Pro' : 'Basic'
      if (plan !== null) {
        const v = validateFieldValue(field.value, plan)
        if (!v.ok) throw new Error('value')
        tx.insert(contactFieldValues).values({ workspaceId: ws, contactId: id, fieldId: field.value.id, value: v.value, valueIndex: v.index, updatedAt: now }).run()
      }
      rows.push({ id, sortName: name.toLowerCase(), createdAt, lastInboundAt, labels: on, plan, consent, name })
    }
    // Look-alikes in another workspace never show.
    const intruder = insertContact(tx, { workspaceId: other.workspaceId!, name: 'Person 001 Zed', lastInboundAt: now, createdAt: now, updatedAt: now }).id
    tx.insert(contactLabels).values({ workspaceId: other.workspaceId!, contactId: intruder, labelId: theirs, createdAt: now }).run()
  })

  const order: Record<ContactSort, (a: Row, b: Row) => number> = {
    name: (a, b) => a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : a.id < b.id ? -1 : 1,
    created: (a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1),
    // Newest message first, never-wrote last.
    recent: (a, b) => (a.lastInboundAt === null ? 1 : 0) - (b.lastInboundAt === null ? 1 : 0) || (b.lastInboundAt ?? 0) - (a.lastInboundAt ?? 0) || (a.id < b.id ? 1 : -1)
  }
  const pages = (filter: ContactFilter): string[] => {
    const out: string[] = []
    let after: string | undefined
    for (let guard = 0; guard < 200; guard++) {
      const page = listContacts(db, ws, filter, { after, limit: 50 }, now)
      out.push(...page.rows.map(r => r.id))
      if (page.next === undefined) return out
      after = page.next
    }
    throw new Error('too many pages')
  }
  const cases: Array<[string, Omit<ContactFilter, 'sort'>, (r: Row) => boolean]> = [
    ['everyone', {}, () => true],
    ['a label on 867 (few)', { labelId: few }, r => r.labels.includes(few)],
    ['a label on 2,300 (many)', { labelId: many }, r => r.labels.includes(many)],
    ['Plan = Basic (few)', { fieldId: field.value.id, fieldValue: 'basic' }, r => r.plan === 'Basic'],
    ['Plan = Pro (many)', { fieldId: field.value.id, fieldValue: 'Pro' }, r => r.plan === 'Pro'],
    ['Plan has a value (many)', { fieldId: field.value.id }, r => r.plan !== null],
    ['Plan = a value it cannot hold', { fieldId: field.value.id, fieldValue: 'Gold' }, () => false],
    ['active in 7 days (few)', { activity: '7d' }, r => r.lastInboundAt !== null && r.lastInboundAt >= now - 7 * day],
    ['active in 30 days (many)', { activity: '30d' }, r => r.lastInboundAt !== null && r.lastInboundAt >= now - 30 * day],
    ['never wrote', { activity: 'never' }, r => r.lastInboundAt === null],
    ['opted out', { consent: 'opted_out' }, r => r.consent === 'opted_out'],
    ['a rare name (few, through the name index)', { q: 'zed' }, r => r.name.includes('Zed')],
    ['a name everyone has (many: tested per row)', { q: 'person' }, () => true],
    ['a short name (LIKE)', { q: '01' }, r => r.name.toLowerCase().includes('01')],
    ['few label × many label', { labelId: few, q: 'zed' }, r => r.labels.includes(few) && r.name.includes('Zed')],
    ['many label × Pro × 30 days (all broad)', { labelId: many, fieldId: field.value.id, fieldValue: 'Pro', activity: '30d' }, r => r.labels.includes(many) && r.plan === 'Pro' && r.lastInboundAt !== null && r.lastInboundAt >= now - 30 * day],
    ['few label × Basic × opted in', { labelId: few, fieldId: field.value.id, fieldValue: 'Basic', consent: 'opted_in' }, r => r.labels.includes(few) && r.plan === 'Basic' && r.consent === 'opted_in'],
    ['sets that do not meet', { q: 'zed', activity: '7d', labelId: few, consent: 'opted_out' }, r => r.name.includes('Zed') && r.lastInboundAt !== null && r.lastInboundAt >= now - 7 * day && r.labels.includes(few) && r.consent === 'opted_out']
  ]
  for (const sort of ['name', 'recent', 'created'] as const) {
    for (const [what, filter, keep] of cases) {
      t.same(pages({ ...filter, sort }), rows.filter(keep).sort(order[sort]).map(r => r.id), `${what}, by ${sort}`)
    }
  }
})

t.test('the name search index holds every contact, however it was made or changed', async (t) => {
  // Inserts index a contact from the code (migration 0007 dropped the insert trigger): every path that
  // makes a contact must do it, and updates and deletes (triggers) must keep the index exact.
  const env = await buildTestApp(t)
  const { db, sqlite } = env.deps
  const owner = await createUser(env.deps, { workspace: 'Shop' })
  const ws = owner.workspaceId!
  const actor = { userId: owner.id, workspaceId: ws }
  const now = env.clock.now()
  const found = (text: string): string[] => contactsNamed(db, ws, text, 10) ?? []
  const intact = (): void => { sqlite.prepare("INSERT INTO contacts_name_search(contacts_name_search, rank) VALUES ('integrity-check', 1)").run() }

  const fromWhatsApp = upsertWhatsAppContact(db, ws, { bsuid: null, waId: '5511987650001', profileName: 'Zélia Whatsapp' }, now)!
  const byHand = createContact(db, ws, { name: 'Otávio Manual' }, owner.id, now)
  if (!byHand.ok) throw new Error('create')
  const uploaded = uploadImport({ ...env.deps }, actor, { filename: 'c.csv', bytes: Buffer.from('Name,Phone\nIsaura Importada,+55 11 98765-0002\nZélia Twin,+55 11 98765-0001\n'), truncated: false })
  if (!uploaded.ok) throw new Error('upload')
  const started = startImport(env.deps, actor, uploaded.value.id, ['name', 'phone'])
  t.ok(started.ok)
  await runImport(env.deps, ws, uploaded.value.id)
  intact()
  t.same(found('zelia'), [fromWhatsApp.id], 'a WhatsApp contact is found by its profile name (accents ignored)')
  t.same(found('manual'), [byHand.contact.id], 'a contact made by hand')
  t.equal(found('importada').length, 1, 'an imported contact')
  t.same(found('twin'), [fromWhatsApp.id], 'a name an import filled in on an existing contact (update trigger)')

  renameContact(db, ws, byHand.contact.id, 'Otávio Renomeado', owner.id, now)
  intact()
  t.same(found('manual'), [], 'the old name is gone after a rename')
  t.same(found('renomeado'), [byHand.contact.id])
  sqlite.prepare('DELETE FROM contacts WHERE workspace_id = ? AND id = ?').run(ws, byHand.contact.id)
  intact()
  t.same(found('renomeado'), [], 'a deleted row leaves the index')
})

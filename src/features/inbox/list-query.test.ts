// The conversation list picks a query shape by the size of what it filters on: a rare or a common
// label, a few or many matching contacts, a name found through the trigram index or, when too
// common, by scanning names. Whatever the shape, the rows must be exactly what a plain filter and
// sort of every conversation gives, page after page. This checks each shape against that oracle
// on a workspace big enough to cross every threshold.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { withChannel } from '../../../test/helpers/whatsapp.js'
import { contactLabels, contacts, conversationLabels, conversations, labels } from '../../db/schema.js'
import { contactsNamed, insertContact } from '../contacts/contacts.service.js'
import { listConversations, type ListQuery, type ListRow, type Status } from './conversations.store.js'
import { listView } from './conversations.service.js'
import { createUser } from '../../../test/helpers/accounts.js'
import { createChannel } from '../channels/channels.service.js'

t.test('every list shape returns what a plain filter and sort would', async (t) => {
  const env = await withChannel(t)
  const { db } = env.deps
  const workspaceId = env.channel.workspaceId
  // A second workspace with look-alike data must never leak in.
  const other = await createUser(env.deps, { workspace: 'Other shop', email: 'other@example.test' })
  const otherChannel = createChannel(db, other.workspaceId!, { name: 'Theirs', wabaId: '999001', phoneNumberId: '999002', accessToken: 'EAAG-other-token-0000', appSecret: 'other-secret', graphApiVersion: 'v25.0' }, env.clock.now())
  const statuses: Status[] = ['open', 'pending', 'resolved']
  const surnames = ['Silva', 'Souza', 'Öztürk']
  interface Row { id: string, contactId: string, name: string, status: Status, at: number, labels: string[] }
  const rows: Row[] = []
  let rare = ''
  let common = ''
  db.transaction((tx) => {
    rare = tx.insert(labels).values({ workspaceId, name: 'Rare', createdAt: 1 }).returning().get().id
    common = tx.insert(labels).values({ workspaceId, name: 'Common', createdAt: 1 }).returning().get().id
    const otherLabel = tx.insert(labels).values({ workspaceId: other.workspaceId!, name: 'Common', createdAt: 1 }).returning().get().id
    for (let i = 0; i < 3400; i++) {
      // "Silva" on 1 in 2 contacts (~1,700: more than 100, at most 2,000), "Souza" on 1 in 40 (85, few), "Öztürk" on 1 in 1,000.
      const surname = i % 1000 === 7 ? surnames[2]! : i % 40 === 3 ? surnames[1]! : i % 2 === 0 ? surnames[0]! : 'Lima'
      const name = `Person${i} ${surname}`
      const contact = insertContact(tx, { workspaceId, name, createdAt: 1, updatedAt: 1 })
      const status = statuses[i % 3]!
      // Ties on the time (every 5 share one) exercise the id tie-break of the keyset.
      const at = 1_000_000 + Math.floor(i / 5) * 1000
      const conversation = tx.insert(conversations).values({ workspaceId, channelId: env.channel.id, contactId: contact.id, status, lastMessageAt: at, createdAt: 1, updatedAt: 1 }).returning().get()
      const on: string[] = []
      if (i % 1 === 0 && i < 3100) on.push(common) // 3,100 conversations: a common label
      if (i % 50 === 0) on.push(rare)
      for (const labelId of on) tx.insert(conversationLabels).values({ workspaceId, conversationId: conversation.id, labelId, createdAt: 1 }).run()
      rows.push({ id: conversation.id, contactId: contact.id, name, status, at, labels: on })
    }
    const otherContact = insertContact(tx, { workspaceId: other.workspaceId!, name: 'Intruder Silva', createdAt: 1, updatedAt: 1 })
    const otherConversation = tx.insert(conversations).values({ workspaceId: other.workspaceId!, channelId: otherChannel.id, contactId: otherContact.id, status: 'open', lastMessageAt: 9_999_999_999, createdAt: 1, updatedAt: 1 }).returning().get()
    tx.insert(conversationLabels).values({ workspaceId: other.workspaceId!, conversationId: otherConversation.id, labelId: otherLabel, createdAt: 1 }).run()
    tx.insert(contactLabels).values({ workspaceId: other.workspaceId!, contactId: otherContact.id, labelId: otherLabel, createdAt: 1 }).run()
  })

  const oracle = (status: Status, keep: (r: Row) => boolean): string[] => rows.filter(r => r.status === status && keep(r))
    .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1)).map(r => r.id)
  /** Every page of a query, followed through its keyset. */
  const allPages = (q: Omit<ListQuery, 'limit' | 'after'>): string[] => {
    const out: string[] = []
    let after: ListQuery['after']
    for (;;) {
      const page = listConversations(db, workspaceId, { ...q, after, limit: 40 })
      out.push(...page.rows.map(r => r.id))
      if (!page.more) return out
      const last = page.rows.at(-1) as ListRow
      after = { at: last.lastMessageAt, id: last.id }
    }
  }
  const base = { view: 'all' as const, userId: env.ownerId }
  for (const status of statuses) {
    t.same(allPages({ ...base, status }), oracle(status, () => true), `${status}: everything, in order`)
    t.same(allPages({ ...base, status, labelId: rare }), oracle(status, r => r.labels.includes(rare)), `${status}: a rare label (69 conversations, read whole first)`)
    t.same(allPages({ ...base, status, labelId: common }), oracle(status, r => r.labels.includes(common)), `${status}: a common label (3,100 conversations, probed row by row)`)
  }
  const byContacts = (keep: (r: Row) => boolean): string[] => rows.filter(keep).map(r => r.contactId)
  const souza = byContacts(r => r.name.endsWith('Souza'))
  const silva = byContacts(r => r.name.endsWith('Silva'))
  t.ok(souza.length > 0 && souza.length <= 100 && silva.length > 100, `${souza.length} and ${silva.length} contacts: both contact shapes are used`)
  t.same(allPages({ ...base, status: 'open', contactIds: souza }), oracle('open', r => r.name.endsWith('Souza')), 'few contacts: started from their conversations')
  t.same(allPages({ ...base, status: 'open', contactIds: silva }), oracle('open', r => r.name.endsWith('Silva')), 'many contacts: walked and tested')
  t.same(allPages({ ...base, status: 'open', contactIds: [] }), [], 'no contact: nothing')

  // The trigram index: any case, accents folded, a substring anywhere in the name, only this workspace.
  t.same(new Set(contactsNamed(db, workspaceId, 'souza', 5000)), new Set(souza), 'lower case finds "Souza"')
  t.same(new Set(contactsNamed(db, workspaceId, 'OZTURK', 5000)), new Set(byContacts(r => r.name.endsWith('Öztürk'))), 'no accents, upper case finds "Öztürk"')
  t.same(new Set(contactsNamed(db, workspaceId, 'son12 Sil', 5000)), new Set(byContacts(r => /son12 Silva$/.test(r.name))), 'a substring spanning the space')
  t.equal(contactsNamed(db, workspaceId, 'Intruder', 5000)!.length, 0, 'another workspace\'s contact is not found')
  t.equal(contactsNamed(db, workspaceId, 'Si', 5000), undefined, 'two characters: too short for the index')
  t.same(contactsNamed(db, workspaceId, '"); DROP TABLE contacts; --', 5000), [], 'FTS syntax in the text is only text')
  t.same(contactsNamed(db, workspaceId, 'Person1 * OR Lima', 5000), [], 'operators are only text')

  // Renaming keeps the index in step (triggers), and so does deleting.
  const first = rows[0]!
  db.update(contacts).set({ name: 'Zebediah Quux' }).where(eq(contacts.id, first.contactId)).run()
  t.same(contactsNamed(db, workspaceId, 'zebed', 10), [first.contactId], 'a new name is found')
  t.notOk(contactsNamed(db, workspaceId, 'Person0 ', 10)!.includes(first.contactId), 'the old one is not')

  // Through the list view: a name finds what a case- and accent-insensitive substring test would.
  const actor = { userId: env.ownerId, workspaceId, role: 'owner' as const }
  const v = { t: (k: string) => k, locale: 'en', timeZone: 'UTC', now: 2_000_000_000 }
  const viewIds = (q: string): string[] => listView(env.deps, actor, { view: 'all', status: 'open', q, labelId: undefined, channelId: undefined }, {}, v).rows.map(r => r.id)
  const fold = (s: string): string => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()
  for (const q of ['ozturk', 'SOUZA', 'silva', 'person33', 'li']) {
    const want = oracle('open', r => fold(r.id === first.id ? 'Zebediah Quux' : r.name).includes(fold(q))).slice(0, 40)
    // Short and very common names are scanned with LIKE, which folds ASCII case only: the oracle for them is the same here (ASCII names).
    t.same(viewIds(q), want, `search "${q}"`)
  }
})

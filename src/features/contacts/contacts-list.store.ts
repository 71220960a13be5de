// The contact list: search, filters, sorts and keyset pagination (never OFFSET), over the live
// contacts of one workspace (merged and deleted ones are left out). Each sort walks its own index:
//   name     contacts_sort_name (workspace, sort_name, id)            A → Z
//   recent   contacts_activity  (workspace, last_inbound_at, id)      newest message first, never-wrote last
//   created  contacts_created   (workspace, created_at, id)           newest first
// Search `q`: a phone number (any spelling, the workspace's default country for national numbers) is
// matched exactly through the blind indexes of WhatsApp ids and extra numbers, both Brazil/Mexico/
// Argentina spellings; an email address exactly through its blind index; anything else is a name search
// on the plaintext name, WhatsApp profile name and username (the trigram index of migration 0006, or
// LIKE under three characters).
import { and, asc, desc, eq, gte, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { contactEmails, contactFieldValues, contactLabels, contactPhones, contacts, workspaces } from '../../db/schema.js'
import { contactsNamed, likeEscape, namePhrase } from './contacts.store.js'
import { findField, validateFieldValue } from './contact-fields.service.js'
import { emailIndex, normaliseEmail, normalisePhone, phoneIndex, phoneSpellings, waIdIndexOf } from './phone.js'
import { isId } from '../../platform/crypto/index.js'

export type Consent = 'unknown' | 'opted_in' | 'opted_out'
export type Activity = '7d' | '30d' | '90d' | 'older' | 'never'
export type ContactSort = 'name' | 'recent' | 'created'

export const consents: readonly Consent[] = ['unknown', 'opted_in', 'opted_out']
export const activities: readonly Activity[] = ['7d', '30d', '90d', 'older', 'never']
export const contactSorts: readonly ContactSort[] = ['name', 'recent', 'created']

export interface ContactFilter {
  q?: string
  labelId?: string
  fieldId?: string
  fieldValue?: string
  consent?: Consent
  activity?: Activity
  /** Only these contacts (the ticked rows of an export); the other conditions still apply. */
  ids?: string[]
  sort: ContactSort
}

/** One contact of the list (waId decrypted: the WhatsApp number as digits). */
export interface ContactListRow {
  id: string
  name: string | null
  profileName: string | null
  username: string | null
  waId: string | null
  consent: Consent
  lastInboundAt: number | null
  createdAt: number
  updatedAt: number
  sortName: string
}

const day = 86_400_000
const activityDays = { '7d': 7, '30d': 30, '90d': 90 } as const

/** What q asks for: an exact phone number, an exact email, or a name fragment. */
export type SearchKind = { kind: 'phone', digits: string[] } | { kind: 'email', email: string } | { kind: 'name', text: string } | { kind: 'none' }

/** Classifies a search text (the list shows "exact phone match" etc. from it). */
export function searchKind (q: string | undefined, defaultCountry: string): SearchKind {
  const text = (q ?? '').trim().slice(0, 100)
  if (text === '') return { kind: 'none' }
  if (/^[+\d\s().\-\u00A0/\uFF10-\uFF19\u0660-\u0669\u06F0-\u06F9]+$/.test(text) && /\d.*\d.*\d.*\d.*\d/.test(text.normalize('NFKC'))) {
    const phone = normalisePhone(text, defaultCountry)
    if (phone.ok) return { kind: 'phone', digits: phoneSpellings(phone.digits) }
  }
  if (text.includes('@')) {
    const email = normaliseEmail(text)
    if (email !== undefined) return { kind: 'email', email }
  }
  return { kind: 'name', text }
}

/** The workspace's default country for national phone numbers ("US" when unknown). */
export function workspaceCountry (db: Db, workspaceId: string): string {
  return db.select({ c: workspaces.defaultCountry }).from(workspaces).where(eq(workspaces.id, workspaceId)).get()?.c ?? 'US'
}

/**
 * A filter that a few contacts match is answered from its own index first: the ids it finds (at most
 * smallSet) are looked up by primary key and only those are sorted. A filter that many match is a
 * condition tested on each row while the sort's index is walked (a page fills quickly). Measured at
 * 100k contacts (BENCHMARKS.md, Contacts): walking for a rare filter took 20–210 ms; this takes a few.
 */
const smallSet = 2000
const fewNamed = 200

/** The ids of contacts a search finds when they are few; undefined when it is a name many contacts carry (or too short for the index). */
function searchIds (db: Db, workspaceId: string, search: SearchKind): string[] | undefined {
  switch (search.kind) {
    case 'none': return undefined
    case 'phone': {
      const ids = new Set<string>()
      for (const d of search.digits) {
        // deleted_at IS NULL: the condition of the partial index contacts_wa_id, so SQLite can use it.
        for (const r of db.select({ id: contacts.id }).from(contacts).where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.waIdIndex, waIdIndexOf(workspaceId, d)), isNull(contacts.deletedAt))).all()) ids.add(r.id)
        for (const r of db.select({ id: contactPhones.contactId }).from(contactPhones).where(and(eq(contactPhones.workspaceId, workspaceId), eq(contactPhones.phoneIndex, phoneIndex(workspaceId, d)))).all()) ids.add(r.id)
      }
      return [...ids]
    }
    case 'email':
      return db.select({ id: contactEmails.contactId }).from(contactEmails).where(and(eq(contactEmails.workspaceId, workspaceId), eq(contactEmails.emailIndex, emailIndex(workspaceId, search.email)))).all().map(r => r.id)
    case 'name': {
      // Listing a name's contacts costs more per id than an index range, so fewer are taken this way.
      const named = contactsNamed(db, workspaceId, search.text, fewNamed + 1)
      return named !== undefined && named.length <= fewNamed ? named : undefined
    }
  }
}

/** The condition of a search that many contacts match (a name), tested on each walked row. */
function searchCondition (search: SearchKind): SQL | undefined {
  if (search.kind !== 'name') return undefined
  // Three characters or more: the trigram index's answer (the "+" keeps it a membership test, not a loop).
  const match = namePhrase(search.text)
  if (match !== undefined) return sql`+${contacts}.rowid IN (SELECT rowid FROM contacts_name_search WHERE contacts_name_search MATCH ${match})`
  const pattern = `%${likeEscape(search.text)}%`
  return sql`(${contacts.name} LIKE ${pattern} ESCAPE '\\' OR ${contacts.profileName} LIKE ${pattern} ESCAPE '\\' OR ${contacts.username} LIKE ${pattern} ESCAPE '\\')`
}

/** The value filter's blind index (undefined: "has a value"; null: a value the field can never hold). */
function fieldValueKey (db: Db, workspaceId: string, fieldId: string, raw: string | undefined): { fieldId: string, index: string | undefined } | null {
  const field = findField(db, workspaceId, fieldId)
  if (field === undefined) return null
  if (raw === undefined || raw.trim() === '') return { fieldId: field.id, index: undefined }
  const result = validateFieldValue(field, raw)
  return result.ok ? { fieldId: field.id, index: result.index } : null
}

function fieldRows (workspaceId: string, key: { fieldId: string, index: string | undefined }): SQL | undefined {
  return and(eq(contactFieldValues.workspaceId, workspaceId), eq(contactFieldValues.fieldId, key.fieldId), key.index === undefined ? undefined : eq(contactFieldValues.valueIndex, key.index))
}

/** The activity filter; `walked`: tested on each row of the sort's walk ("+": not a range to start from and sort). */
function activityCondition (activity: Activity | undefined, now: number, walked: boolean): SQL | undefined {
  if (activity === undefined) return undefined
  const at = walked ? sql`+${contacts.lastInboundAt}` : sql`${contacts.lastInboundAt}`
  if (activity === 'never') return sql`${at} IS NULL`
  if (activity === 'older') return sql`${at} IS NOT NULL AND ${at} < ${now - 90 * day}`
  return sql`${at} >= ${now - activityDays[activity] * day}`
}

interface Position { k: string | number | null, id: string }

/** The opaque cursor of a row for a sort. */
function cursorOf (sort: ContactSort, row: ContactListRow): string {
  const k = sort === 'name' ? row.sortName : sort === 'recent' ? row.lastInboundAt : row.createdAt
  return Buffer.from(JSON.stringify([sort, k, row.id])).toString('base64url')
}

function parseCursorText (sort: ContactSort, raw: string | undefined): Position | undefined {
  if (raw === undefined || raw === '' || raw.length > 1200) return undefined
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
    if (!Array.isArray(v) || v.length !== 3 || v[0] !== sort || typeof v[2] !== 'string' || !isId(v[2])) return undefined
    const k: unknown = v[1]
    if (sort === 'name' && typeof k !== 'string') return undefined
    if (sort === 'created' && !Number.isSafeInteger(k)) return undefined
    if (sort === 'recent' && k !== null && !Number.isSafeInteger(k)) return undefined
    return { k: k as string | number | null, id: v[2] }
  } catch {
    return undefined
  }
}

function afterCondition (sort: ContactSort, p: Position | undefined): SQL | undefined {
  if (p === undefined) return undefined
  if (sort === 'name') {
    const k = p.k as string
    return or(sql`${contacts.sortName} > ${k}`, and(sql`${contacts.sortName} = ${k}`, sql`${contacts.id} > ${p.id}`))
  }
  if (sort === 'created') {
    const k = p.k as number
    return or(lt(contacts.createdAt, k), and(eq(contacts.createdAt, k), lt(contacts.id, p.id)))
  }
  // recent: last_inbound_at DESC with NULLs (never wrote) after every date.
  if (p.k === null) return and(isNull(contacts.lastInboundAt), lt(contacts.id, p.id))
  const k = p.k as number
  return or(lt(contacts.lastInboundAt, k), and(eq(contacts.lastInboundAt, k), lt(contacts.id, p.id)), isNull(contacts.lastInboundAt))
}

/**
 * The ORDER BY of a sort. Starting from a few ids, the "+" keeps SQLite from walking the whole sort
 * index to avoid sorting them (it would test every contact against the list instead).
 */
function orderOf (sort: ContactSort, few: boolean): SQL[] {
  const key = sort === 'name' ? contacts.sortName : sort === 'created' ? contacts.createdAt : contacts.lastInboundAt
  const k = few ? sql`+${key}` : sql`${key}`
  if (sort === 'name') return [sql`${k} ASC`, asc(contacts.id)]
  return [sql`${k} DESC`, desc(contacts.id)]
}

/** Caps a page size to something sane. */
function clampLimit (limit: number): number {
  return Math.max(1, Math.min(1000, Math.floor(Number.isFinite(limit) ? limit : 50)))
}

interface Plan { where: SQL | undefined, few: boolean, none: boolean }

/**
 * The WHERE of a filter (without the cursor), and whether it starts from a few ids. Each selective
 * part (search, label, field value, recent activity) is first asked for its ids, capped at smallSet;
 * the ones that answered are intersected and become the list of ids to start from. Every condition
 * stays in the WHERE as well, so the answer is the same whichever way the rows are found.
 */
function planFilter (db: Db, workspaceId: string, filter: ContactFilter, now: number, country: string): Plan {
  const search = searchKind(filter.q, country)
  const field = filter.fieldId === undefined ? undefined : fieldValueKey(db, workspaceId, filter.fieldId, filter.fieldValue)
  if (field === null) return { where: undefined, few: false, none: true }
  const sets: string[][] = []
  const small = (ids: string[]): string[] | undefined => ids.length <= smallSet ? ids : undefined
  if (filter.ids !== undefined) sets.push(filter.ids)
  const found = searchIds(db, workspaceId, search)
  if (found !== undefined) sets.push(found)
  const inLabel = filter.labelId === undefined ? undefined : small(db.select({ id: contactLabels.contactId }).from(contactLabels).where(and(eq(contactLabels.workspaceId, workspaceId), eq(contactLabels.labelId, filter.labelId))).limit(smallSet + 1).all().map(r => r.id))
  if (inLabel !== undefined) sets.push(inLabel)
  const withValue = field === undefined ? undefined : small(db.select({ id: contactFieldValues.contactId }).from(contactFieldValues).where(fieldRows(workspaceId, field)).limit(smallSet + 1).all().map(r => r.id))
  if (withValue !== undefined) sets.push(withValue)
  if (filter.activity === '7d' || filter.activity === '30d' || filter.activity === '90d') {
    const active = small(db.select({ id: contacts.id }).from(contacts).where(and(eq(contacts.workspaceId, workspaceId), gte(contacts.lastInboundAt, now - activityDays[filter.activity] * day))).limit(smallSet + 1).all().map(r => r.id))
    if (active !== undefined) sets.push(active)
  }
  let ids: string[] | undefined
  for (const set of sets) {
    if (ids === undefined) { ids = set; continue }
    const keep = new Set(set)
    ids = ids.filter(id => keep.has(id))
  }
  if (ids !== undefined && ids.length === 0) return { where: undefined, few: true, none: true }
  const where = and(
    eq(contacts.workspaceId, workspaceId),
    isNull(contacts.deletedAt),
    isNull(contacts.mergedIntoId),
    ids === undefined ? undefined : inArray(contacts.id, ids),
    found === undefined ? searchCondition(search) : undefined,
    // Labels and values many contacts carry: a primary-key probe per walked row.
    filter.labelId === undefined || inLabel !== undefined
      ? undefined
      : sql`EXISTS (SELECT 1 FROM ${contactLabels} WHERE ${contactLabels.workspaceId} = ${contacts.workspaceId} AND ${contactLabels.contactId} = ${contacts.id} AND ${contactLabels.labelId} = ${filter.labelId})`,
    field === undefined || withValue !== undefined
      ? undefined
      : sql`EXISTS (SELECT 1 FROM ${contactFieldValues} WHERE ${contactFieldValues.workspaceId} = ${contacts.workspaceId} AND ${contactFieldValues.contactId} = ${contacts.id} AND ${contactFieldValues.fieldId} = ${field.fieldId}${field.index === undefined ? sql`` : sql` AND ${contactFieldValues.valueIndex} = ${field.index}`})`,
    filter.consent === undefined ? undefined : eq(contacts.consent, filter.consent),
    activityCondition(filter.activity, now, ids === undefined)
  )
  return { where, few: ids !== undefined, none: false }
}

/**
 * One page of the workspace's contacts matching `filter`. `page.after` is the `next` of the previous
 * page (an unreadable cursor starts from the top); `next` is set when more rows follow.
 */
export function listContacts (db: Db, workspaceId: string, filter: ContactFilter, page: { after?: string | undefined, limit: number }, now: number): { rows: ContactListRow[], next?: string } {
  const sort: ContactSort = contactSorts.includes(filter.sort) ? filter.sort : 'name'
  const limit = clampLimit(page.limit)
  const plan = planFilter(db, workspaceId, filter, now, workspaceCountry(db, workspaceId))
  if (plan.none) return { rows: [] }
  const rows = db.select({
    id: contacts.id,
    name: contacts.name,
    profileName: contacts.profileName,
    username: contacts.username,
    waId: contacts.waId,
    consent: contacts.consent,
    lastInboundAt: contacts.lastInboundAt,
    createdAt: contacts.createdAt,
    updatedAt: contacts.updatedAt,
    sortName: sql<string>`${contacts.sortName}`
  }).from(contacts)
    .where(and(plan.where, afterCondition(sort, parseCursorText(sort, page.after))))
    .orderBy(...orderOf(sort, plan.few))
    .limit(limit + 1)
    .all()
  const shown = rows.slice(0, limit)
  const last = shown.at(-1)
  return rows.length > limit && last !== undefined ? { rows: shown, next: cursorOf(sort, last) } : { rows: shown }
}

/** Every contact matching `filter`, in its sort order, read in batches through the same keyset query (exports). */
export function * eachContactInFilter (db: Db, workspaceId: string, filter: ContactFilter, now: number, batch = 500): Iterable<ContactListRow> {
  let after: string | undefined
  for (;;) {
    const page = listContacts(db, workspaceId, filter, { after, limit: batch }, now)
    yield * page.rows
    if (page.next === undefined) return
    after = page.next
  }
}

/** Labels of many contacts: contact id → label ids. */
export function labelIdsOfContacts (db: Db, workspaceId: string, contactIds: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (contactIds.length === 0) return out
  const rows = db.select({ contactId: contactLabels.contactId, labelId: contactLabels.labelId }).from(contactLabels)
    .where(and(eq(contactLabels.workspaceId, workspaceId), inArray(contactLabels.contactId, [...contactIds]))).orderBy(asc(contactLabels.createdAt)).all()
  for (const r of rows) {
    const list = out.get(r.contactId)
    if (list === undefined) out.set(r.contactId, [r.labelId])
    else list.push(r.labelId)
  }
  return out
}

/** The first extra phone number of each contact that has no WhatsApp number (for the list's phone column). */
export function firstPhones (db: Db, workspaceId: string, contactIds: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  if (contactIds.length === 0) return out
  const rows = db.select({ contactId: contactPhones.contactId, phone: contactPhones.phone }).from(contactPhones)
    .where(and(eq(contactPhones.workspaceId, workspaceId), inArray(contactPhones.contactId, [...contactIds]))).orderBy(asc(contactPhones.createdAt), asc(contactPhones.id)).all()
  for (const r of rows) if (!out.has(r.contactId)) out.set(r.contactId, r.phone)
  return out
}

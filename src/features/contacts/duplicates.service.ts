// Duplicate detection (issue 6 item 4): two live contacts of a workspace are probably one person when
// they share a number — the same digits as WhatsApp id or extra phone, a WhatsApp id that is the
// other's dialled number, or Brazil's 9th-digit (Mexico's 521, Argentina's 549) variants of one
// number — or an email address. Each pair becomes a merge suggestion with its reasons; the
// /contacts/duplicates page shows them side by side with a "Merge" button.
//
// Numbers are compared in clear inside this process (blind indexes differ between WhatsApp ids and
// extra phones, and variants need the digits); emails are compared by their blind index.
import type { Db } from '../../db/open.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { normaliseWaId } from './contacts.service.js'
import {
  conversationCounts, emailsOfContacts, labelsOfContacts, liveContacts, liveEmailIndexes, livePhones, liveWhatsAppNumbers, phonesOfContacts
} from './duplicates.store.js'
import { formatPhone, phoneSpellings } from './phone.js'
import type { Contact } from './contacts.store.js'

/** Why two contacts look like one person. */
export type DuplicateReason =
  | 'same_number' // the same digits (extra phone = extra phone)
  | 'whatsapp_number' // one's WhatsApp id is the other's dialled number
  | 'number_variant' // Brazil 9th digit / Mexico 521 / Argentina 549 spellings of one number
  | 'same_email'

export interface DuplicatePair { a: string, b: string, reasons: DuplicateReason[] }

/** Contacts of one group beyond this many are not paired with each other (a shared office number, say). */
const groupLimit = 12

interface Entry { contactId: string, via: 'whatsapp' | 'phone' | 'email', digits: string }

/** The key every spelling of a number shares: the smallest of its legacy spellings. */
function numberKey (digits: string): string {
  return phoneSpellings(digits).sort()[0]!
}

function reasonOf (x: Entry, y: Entry): DuplicateReason {
  if (x.via === 'email') return 'same_email'
  if (x.digits !== y.digits) return 'number_variant'
  return x.via === 'whatsapp' || y.via === 'whatsapp' ? 'whatsapp_number' : 'same_number'
}

/**
 * Every suggested pair of the workspace, the pair's ids ordered (older id first), with every reason
 * found; pairs sorted newest first (by the newer contact's id, which sorts by creation time).
 */
export function findDuplicatePairs (db: Db, workspaceId: string): DuplicatePair[] {
  const groups = new Map<string, Entry[]>()
  const add = (key: string, entry: Entry): void => {
    const list = groups.get(key)
    if (list === undefined) groups.set(key, [entry])
    else list.push(entry)
  }
  for (const c of liveWhatsAppNumbers(db, workspaceId)) {
    if (c.waId === null) continue
    const digits = normaliseWaId(c.waId)
    if (digits !== '') add(`n:${numberKey(digits)}`, { contactId: c.id, via: 'whatsapp', digits })
  }
  for (const p of livePhones(db, workspaceId)) {
    const digits = p.phone.replace(/^\+/, '')
    add(`n:${numberKey(digits)}`, { contactId: p.contactId, via: 'phone', digits })
  }
  for (const e of liveEmailIndexes(db, workspaceId)) add(`e:${e.emailIndex}`, { contactId: e.contactId, via: 'email', digits: '' })

  const pairs = new Map<string, DuplicatePair>()
  for (const entries of groups.values()) {
    if (entries.length < 2) continue
    const byContact = new Map<string, Entry[]>()
    for (const e of entries) byContact.set(e.contactId, [...(byContact.get(e.contactId) ?? []), e])
    if (byContact.size < 2) continue
    const ids = [...byContact.keys()].sort().slice(0, groupLimit)
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = ids[i]!
        const b = ids[j]!
        // The closest pair of entries gives the reason: an exact match beats a variant.
        let best: DuplicateReason | undefined
        for (const x of byContact.get(a)!) {
          for (const y of byContact.get(b)!) {
            const r = reasonOf(x, y)
            if (best === undefined || rank(r) < rank(best)) best = r
          }
        }
        const key = `${a}|${b}`
        const pair = pairs.get(key) ?? { a, b, reasons: [] }
        if (!pair.reasons.includes(best!)) pair.reasons.push(best!)
        pairs.set(key, pair)
      }
    }
  }
  return [...pairs.values()]
    .map(p => ({ ...p, reasons: p.reasons.sort((x, y) => rank(x) - rank(y)) }))
    .sort((x, y) => (x.b < y.b ? 1 : x.b > y.b ? -1 : x.a < y.a ? 1 : -1))
}

function rank (r: DuplicateReason): number {
  return ['whatsapp_number', 'same_number', 'same_email', 'number_variant'].indexOf(r)
}

/** One side of a suggestion, as the page shows it. */
export interface ContactCard {
  id: string
  name: string | null
  profileName: string | null
  username: string | null
  whatsApp: string | null
  phones: string[]
  emails: string[]
  labels: Array<{ id: string, name: string, colour: number }>
  conversations: number
  consent: Contact['consent']
  hasNotes: boolean
  createdAt: number
  lastInboundAt: number | null
}

/** The cards of the given live contacts of the workspace (missing ids are left out). */
export function contactCards (db: Db, workspaceId: string, ids: readonly string[]): Map<string, ContactCard> {
  const rows = liveContacts(db, workspaceId, ids)
  const found = rows.map(r => r.id)
  const phones = phonesOfContacts(db, workspaceId, found)
  const emails = emailsOfContacts(db, workspaceId, found)
  const labels = labelsOfContacts(db, workspaceId, found)
  const counts = conversationCounts(db, workspaceId, found)
  return new Map(rows.map(c => [c.id, {
    id: c.id,
    name: c.name,
    profileName: c.profileName,
    username: c.username,
    whatsApp: c.waId === null ? null : formatPhone(normaliseWaId(c.waId)),
    phones: phones.filter(p => p.contactId === c.id).map(p => formatPhone(p.phone)),
    emails: emails.filter(e => e.contactId === c.id).map(e => e.email),
    labels: labels.filter(l => l.contactId === c.id).map(l => ({ id: l.id, name: l.name, colour: l.colour })),
    conversations: counts.get(c.id) ?? 0,
    consent: c.consent,
    hasNotes: c.notes !== null && c.notes !== '',
    createdAt: c.createdAt,
    lastInboundAt: c.lastInboundAt
  }]))
}

export interface DuplicateSuggestion { a: ContactCard, b: ContactCard, reasons: DuplicateReason[], survivor: string }

/** The survivor offered first: the contact with the WhatsApp id (the inbox's identity), else the older one. */
export function suggestedSurvivor (a: Pick<ContactCard, 'id' | 'whatsApp' | 'createdAt'>, b: Pick<ContactCard, 'id' | 'whatsApp' | 'createdAt'>): string {
  if ((a.whatsApp === null) !== (b.whatsApp === null)) return a.whatsApp !== null ? a.id : b.id
  return a.createdAt <= b.createdAt ? a.id : b.id
}

/** A page of suggestions (the first `limit`), with the total number found. */
export function duplicateSuggestions (db: Db, workspaceId: string, limit = 50): { items: DuplicateSuggestion[], total: number } {
  const pairs = findDuplicatePairs(db, workspaceId)
  const shown = pairs.slice(0, limit)
  const cards = contactCards(db, workspaceId, shown.flatMap(p => [p.a, p.b]))
  const items: DuplicateSuggestion[] = []
  for (const p of shown) {
    const a = cards.get(p.a)
    const b = cards.get(p.b)
    if (a === undefined || b === undefined) continue
    items.push({ a, b, reasons: p.reasons, survivor: suggestedSurvivor(a, b) })
  }
  return { items, total: pairs.length }
}

/** The two contacts of a merge confirmation (404 unless both are distinct live contacts of the workspace). */
export function mergeCandidates (db: Db, workspaceId: string, keepId: string, mergeId: string): { keep: ContactCard, merge: ContactCard, reasons: DuplicateReason[] } {
  if (keepId === mergeId) throw new NotFoundError()
  const cards = contactCards(db, workspaceId, [keepId, mergeId])
  const keep = cards.get(keepId)
  const merge = cards.get(mergeId)
  if (keep === undefined || merge === undefined) throw new NotFoundError()
  const [a, b] = keepId < mergeId ? [keepId, mergeId] : [mergeId, keepId]
  const reasons = findDuplicatePairs(db, workspaceId).find(p => p.a === a && p.b === b)?.reasons ?? []
  return { keep, merge, reasons }
}

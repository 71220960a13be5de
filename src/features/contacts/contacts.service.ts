// Who wrote: WhatsApp users become contacts, found by BSUID first (stable per business portfolio),
// then by wa_id (their phone digits; username users may have none). Number and user-id changes
// update the same contact; when the new identity already belongs to another contact, the two merge.
import type { Db } from '../../db/open.js'
import { blindIndex } from '../../platform/crypto/index.js'
import { foldDigits, waIdIndexOf } from './phone.js'
import { findContact, findContactByBsuidIndex, findContactByWaIdIndex, insertContact, moveContactHistory, updateContact, type Contact, type NewContact } from './contacts.store.js'
import { queueHookEvent } from '../hooks/hooks.queue.js'

export type { Contact }
export { findContact }
export { contactsByIds, contactsNamed, insertContact, likeEscape, namePhrase } from './contacts.store.js'

/** What a webhook says about a WhatsApp user. Any field may be missing. */
export interface WhatsAppIdentity {
  bsuid: string | null
  waId: string | null
  parentBsuid?: string | null
  profileName?: string | null
  username?: string | null
}

const bsuidIndex = (workspaceId: string, bsuid: string): string => blindIndex('contact.bsuid', workspaceId, bsuid)
const waIdIndex = (workspaceId: string, waId: string): string => waIdIndexOf(workspaceId, normaliseWaId(waId))

/** wa_id is digits; Meta never sends "+", but an edited or imported one might carry it, spaces or other scripts' digits. */
export function normaliseWaId (waId: string): string {
  return foldDigits(waId).replace(/[^0-9]/g, '')
}

/** Finds the contact behind an identity without creating one (BSUID first, then wa_id). */
export function findWhatsAppContact (db: Db, workspaceId: string, who: Pick<WhatsAppIdentity, 'bsuid' | 'waId'>): Contact | undefined {
  if (who.bsuid !== null) {
    const byBsuid = findContactByBsuidIndex(db, workspaceId, bsuidIndex(workspaceId, who.bsuid))
    if (byBsuid !== undefined) return byBsuid
  }
  if (who.waId !== null && normaliseWaId(who.waId) !== '') {
    const byWaId = findContactByWaIdIndex(db, workspaceId, waIdIndex(workspaceId, who.waId))
    // A number that now belongs to a different BSUID is another person (a recycled number).
    if (byWaId !== undefined && (who.bsuid === null || byWaId.bsuid === null)) return byWaId
  }
  return undefined
}

/**
 * The contact for a sender, created or refreshed (profile name, username, missing ids). Returns
 * undefined only when the identity carries neither a BSUID nor a wa_id. Call inside a transaction.
 */
export function upsertWhatsAppContact (db: Db, workspaceId: string, who: WhatsAppIdentity, now: number): Contact | undefined {
  const waId = who.waId !== null && normaliseWaId(who.waId) !== '' ? normaliseWaId(who.waId) : null
  if (who.bsuid === null && waId === null) return undefined
  let contact = findWhatsAppContact(db, workspaceId, { bsuid: who.bsuid, waId })
  if (contact === undefined) {
    // A recycled number: the old contact keeps its history but gives the number up.
    if (waId !== null) releaseWaId(db, workspaceId, waId, now)
    const created = insertContact(db, {
      workspaceId,
      profileName: clean(who.profileName),
      username: clean(who.username),
      ...identityColumns(workspaceId, { bsuid: who.bsuid, waId }),
      parentBsuid: who.parentBsuid ?? null,
      createdAt: now,
      updatedAt: now
    })
    queueHookEvent(db, workspaceId, 'contact.created', { contactId: created.id }, now)
    return created
  }
  const set: Partial<NewContact> = {}
  const profileName = clean(who.profileName)
  if (profileName !== null && profileName !== contact.profileName) set.profileName = profileName
  const username = clean(who.username)
  if (username !== null && username !== contact.username) set.username = username
  if (who.parentBsuid != null && who.parentBsuid !== contact.parentBsuid) set.parentBsuid = who.parentBsuid
  if (Object.keys(set).length > 0) {
    updateContact(db, workspaceId, contact.id, { ...set, updatedAt: now })
    queueHookEvent(db, workspaceId, 'contact.updated', { contactId: contact.id }, now)
    contact = { ...contact, ...set }
  }
  return changeIdentity(db, workspaceId, contact, { bsuid: who.bsuid, waId }, now)
}

/**
 * Gives `contact` a new BSUID and/or wa_id (a number change, a user-id change, or an id seen for the
 * first time). If another live contact holds the new id, it is merged into `contact`.
 */
export function changeIdentity (db: Db, workspaceId: string, contact: Contact, next: { bsuid: string | null, waId: string | null }, now: number): Contact {
  const waId = next.waId !== null && normaliseWaId(next.waId) !== '' ? normaliseWaId(next.waId) : null
  const set: Partial<NewContact> = {}
  if (next.bsuid !== null && next.bsuid !== contact.bsuid) {
    const holder = findContactByBsuidIndex(db, workspaceId, bsuidIndex(workspaceId, next.bsuid))
    if (holder !== undefined && holder.id !== contact.id) mergeInto(db, workspaceId, holder, contact, now)
    Object.assign(set, identityColumns(workspaceId, { bsuid: next.bsuid, waId: null }, 'bsuid'))
  }
  if (waId !== null && waId !== contact.waId) {
    const holder = findContactByWaIdIndex(db, workspaceId, waIdIndex(workspaceId, waId))
    if (holder !== undefined && holder.id !== contact.id) {
      // Same person (no conflicting BSUID): merge. Another person: the number moved to this contact.
      if (holder.bsuid === null || next.bsuid === null || holder.bsuid === next.bsuid || holder.bsuid === contact.bsuid) mergeInto(db, workspaceId, holder, contact, now)
      else releaseWaId(db, workspaceId, waId, now)
    }
    Object.assign(set, identityColumns(workspaceId, { bsuid: null, waId }, 'waId'))
  }
  if (Object.keys(set).length === 0) return contact
  updateContact(db, workspaceId, contact.id, { ...set, updatedAt: now })
  return { ...contact, ...set }
}

/** Folds `from` into `into`: history moves, `from` is retired (ids cleared, mergedIntoId set). */
function mergeInto (db: Db, workspaceId: string, from: Contact, into: Contact, now: number): void {
  moveContactHistory(db, workspaceId, from.id, into.id, now)
  updateContact(db, workspaceId, from.id, { waId: null, waIdIndex: null, bsuid: null, bsuidIndex: null, mergedIntoId: into.id, deletedAt: now, updatedAt: now })
  if (into.profileName === null && from.profileName !== null) updateContact(db, workspaceId, into.id, { profileName: from.profileName })
  if (into.name === null && from.name !== null) updateContact(db, workspaceId, into.id, { name: from.name })
}

function releaseWaId (db: Db, workspaceId: string, waId: string, now: number): void {
  const holder = findContactByWaIdIndex(db, workspaceId, waIdIndex(workspaceId, waId))
  if (holder !== undefined) updateContact(db, workspaceId, holder.id, { waId: null, waIdIndex: null, updatedAt: now })
}

function identityColumns (workspaceId: string, who: { bsuid: string | null, waId: string | null }, only?: 'bsuid' | 'waId'): Partial<NewContact> {
  const out: Partial<NewContact> = {}
  if (only !== 'waId' && who.bsuid !== null) { out.bsuid = who.bsuid; out.bsuidIndex = bsuidIndex(workspaceId, who.bsuid) }
  if (only !== 'bsuid' && who.waId !== null) { out.waId = who.waId; out.waIdIndex = waIdIndex(workspaceId, who.waId) }
  return out
}

/** Profile names are user-set: keep them to one line and a sane length. */
function clean (value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null
  // Control characters and bidi overrides/isolates (which can disguise a name) go; the rest stays.
  // eslint-disable-next-line no-control-regex
  const v = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').replace(/[\u202a-\u202e\u2066-\u2069]/g, '').trim().slice(0, 200)
  return v === '' ? null : v
}

/** Marks that the contact wrote (for "last activity"). */
export function touchContactInbound (db: Db, workspaceId: string, contactId: string, at: number, now: number): void {
  updateContact(db, workspaceId, contactId, { lastInboundAt: at, updatedAt: now })
}

// Merging two contacts into one (issue 6 item 4). The survivor keeps its id and its own values; from
// the other it gains every conversation and message (contacts.store moveContactHistory: an open
// conversation on a number where the survivor has one is folded into it), reactions, phone numbers,
// emails, labels, the custom field values it has none of, the notes (appended), the timeline, and the
// WhatsApp identity when it had none (else the other's WhatsApp number becomes an extra phone). Consent:
// an opt-out on either side wins, then an opt-in. The other contact is retired: mergedIntoId set, its
// unique blind indexes (WhatsApp id, BSUID, phones, emails, field values) released. A 'merged' event
// on the survivor and an audit entry (ids only). All in one transaction.
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import { recordContactEvent } from './contact-events.store.js'
import { normaliseWaId } from './contacts.service.js'
import { findContact, moveContactHistory, updateContact, type Contact, type NewContact } from './contacts.store.js'
import {
  addPhoneIfMissing, conversationIdsOf, moveEmails, moveEvents, moveFieldValues, moveLabels, movePhones, repointMerged
} from './duplicates.store.js'
import { phoneIndex } from './phone.js'

export interface MergeActor { userId: string, workspaceId: string, ip?: string | undefined }

/** The consent the merged contact keeps: an opt-out on either side, else an opt-in, else the survivor's. */
export function mergedConsent (keep: Pick<Contact, 'consent' | 'consentSource' | 'consentAt' | 'consentWording'>, other: Pick<Contact, 'consent' | 'consentSource' | 'consentAt' | 'consentWording'>): Pick<Contact, 'consent' | 'consentSource' | 'consentAt' | 'consentWording'> {
  const pickOf = (c: typeof keep) => ({ consent: c.consent, consentSource: c.consentSource, consentAt: c.consentAt, consentWording: c.consentWording })
  for (const state of ['opted_out', 'opted_in'] as const) {
    if (keep.consent === state) return pickOf(keep)
    if (other.consent === state) return pickOf(other)
  }
  return pickOf(keep)
}

function joinNotes (a: string | null, b: string | null): string | null {
  const parts = [a, b].map(n => (n ?? '').trim()).filter(n => n !== '')
  return parts.length === 0 ? null : parts.join('\n\n')
}

function displayName (c: Contact): string | null {
  return c.name ?? c.profileName ?? c.username ?? null
}

/**
 * Merges contact `mergeId` into `keepId` (both live contacts of the actor's workspace, else 404) and
 * returns the survivor as it is now.
 */
export function mergeContacts (deps: Pick<Deps, 'db' | 'clock' | 'events'>, actor: MergeActor, keepId: string, mergeId: string): Contact {
  const ws = actor.workspaceId
  const now = deps.clock.now()
  if (keepId === mergeId) throw new NotFoundError()
  const { survivor, moved } = deps.db.transaction((db) => {
    const keep = findContact(db, ws, keepId)
    const other = findContact(db, ws, mergeId)
    if (keep === undefined || other === undefined || keep.mergedIntoId !== null || other.mergedIntoId !== null) throw new NotFoundError()
    const moved = conversationIdsOf(db, ws, other.id)

    moveContactHistory(db, ws, other.id, keep.id, now)
    movePhones(db, ws, other.id, keep.id)
    moveEmails(db, ws, other.id, keep.id)
    moveLabels(db, ws, other.id, keep.id)
    moveFieldValues(db, ws, other.id, keep.id)
    moveEvents(db, ws, other.id, keep.id)
    repointMerged(db, ws, other.id, keep.id)

    // Retire the other first: the WhatsApp id and BSUID indexes are unique among live contacts.
    updateContact(db, ws, other.id, { waId: null, waIdIndex: null, bsuid: null, bsuidIndex: null, parentBsuid: null, mergedIntoId: keep.id, deletedAt: now, updatedAt: now })

    const set: Partial<NewContact> = {
      ...mergedConsent(keep, other),
      notes: joinNotes(keep.notes, other.notes),
      name: keep.name ?? other.name,
      profileName: keep.profileName ?? other.profileName,
      username: keep.username ?? other.username,
      lastInboundAt: Math.max(keep.lastInboundAt ?? 0, other.lastInboundAt ?? 0) || null,
      createdAt: Math.min(keep.createdAt, other.createdAt),
      updatedAt: now
    }
    if (other.waId !== null) {
      const digits = normaliseWaId(other.waId)
      if (keep.waId === null) { set.waId = digits; set.waIdIndex = other.waIdIndex } else if (digits !== normaliseWaId(keep.waId)) {
        addPhoneIfMissing(db, { workspaceId: ws, contactId: keep.id, phone: '+' + digits, phoneIndex: phoneIndex(ws, digits), label: 'WhatsApp', createdAt: now })
      }
    }
    if (other.bsuid !== null && keep.bsuid === null) {
      set.bsuid = other.bsuid
      set.bsuidIndex = other.bsuidIndex
      set.parentBsuid = other.parentBsuid
    }
    updateContact(db, ws, keep.id, set)

    recordContactEvent(db, { workspaceId: ws, contactId: keep.id, kind: 'merged', actorId: actor.userId, data: { mergedId: other.id, mergedName: displayName(other) }, at: now })
    recordAudit(db, { action: 'contacts_merged', workspaceId: ws, actorUserId: actor.userId, details: { survivorId: keep.id, mergedId: other.id }, ip: actor.ip }, now)
    return { survivor: findContact(db, ws, keep.id)!, moved }
  }, { behavior: 'immediate' })
  for (const conversationId of moved) deps.events.emit('conversation.updated', { workspaceId: ws, conversationId })
  return survivor
}

// "Forget this contact": a customer's right to erasure, on request, from the contact page (admins) or
// the API. Everything the workspace holds about the person goes, not just out of sight:
//   - the contact and every contact merged into it, with their numbers, emails, custom fields, labels,
//     timeline, consent record and name-search entries; their conversations, messages, reactions,
//     notes and mentions, outbox rows and media rows (foreign keys cascade from the contact);
//   - what is not linked by a key: the status log of their messages (keyed by wamid), the encrypted
//     media files on disk, the raw deliveries from Meta that mention their number, user id or messages,
//     and outgoing webhook events and deliveries that carry their records;
//   - then the name-search index is optimised (FTS5 keeps deleted tokens until segments merge) and the
//     WAL is checkpointed and truncated, so with secure_delete on, the bytes are overwritten in the file.
// What remains: a tombstone per number and email (a keyed blind index of a purpose of its own), so a
// later CSV import skips them; and an audit entry with the contact's random id and counts, no personal
// data. If the person writes again on WhatsApp they start as a new contact.
import { rm } from 'node:fs/promises'
import type { Deps } from '../../deps.js'
import { AppError, NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import { eraseDeliveriesMentioning } from '../hooks/hooks.erase.js'
import { deleteStatusesOf, tracesOfContacts } from '../inbox/messaging.service.js'
import { mediaFilePath } from '../media/media.service.js'
import { eraseRawPayloadsMentioning } from '../webhooks/webhooks.service.js'
import { emailsOfContacts, phonesOfContacts } from './import.store.js'
import { anyTombstone, contactFamily, deleteContactsForGood, insertTombstones, tombstoneKeys } from './tombstones.store.js'

export interface ForgetActor { userId: string | null, workspaceId: string, ip?: string | undefined, apiKeyId?: string | undefined }

export interface ForgetReport {
  /** The contact and those merged into it. */
  contacts: number
  conversations: number
  messages: number
  mediaFiles: number
  /** Raw deliveries from Meta that mentioned them. */
  rawPayloads: number
  /** Outgoing webhook events and deliveries that carried their records. */
  webhookDeliveries: number
}

type ForgetDeps = Pick<Deps, 'db' | 'sqlite' | 'clock' | 'dataDir' | 'events' | 'log'>

/** Forgets a contact of the workspace (another workspace's, an unknown or a merged-away id: 404). */
export async function forgetContact (deps: ForgetDeps, actor: ForgetActor, contactId: string): Promise<ForgetReport> {
  const ws = actor.workspaceId
  // A legal hold is a duty to keep (a dispute, an investigation): it wins over a request to erase,
  // until an admin releases it.
  if (contactFamily(deps.db, ws, contactId).some(c => c.legalHold)) throw new AppError(409, 'legal_hold', 'contacts.forget.errors.legalHold')
  const report = await eraseContact(deps, ws, contactId, { tombstones: true, findCopies: true }, (db, counts, now) => {
    recordAudit(db, {
      action: 'contact_forgotten',
      workspaceId: ws,
      actorUserId: actor.userId ?? undefined,
      // The id is random and now points at nothing: it says which request this was, not who.
      details: { contactId, conversations: counts.conversations, messages: counts.messages, ...(actor.apiKeyId !== undefined ? { apiKeyId: actor.apiKeyId } : {}) },
      ip: actor.ip
    }, now)
  })
  scrub(deps)
  deps.log.info({ workspaceId: ws, contactId, ...report }, 'contact forgotten')
  return report
}

/**
 * Erases a contact and those merged into it (404 when there is none). `tombstones`: keep the
 * numbers and emails from coming back by import (a request to forget); `findCopies`: also search the
 * raw webhook payloads and outgoing deliveries for them (retention skips this: those copies are
 * younger than what it removes, and are pruned on their own schedule). `inTransaction` runs in the
 * deleting transaction (an audit entry). The caller scrubs (once, after a batch).
 */
export async function eraseContact (deps: ForgetDeps, ws: string, contactId: string, options: { tombstones: boolean, findCopies: boolean }, inTransaction?: (db: Deps['db'], counts: { conversations: number, messages: number }, now: number) => void): Promise<ForgetReport> {
  const family = contactFamily(deps.db, ws, contactId)
  if (family.length === 0) throw new NotFoundError()
  const ids = family.map(c => c.id)
  const phones = [...phonesOfContacts(deps.db, ws, ids).values()].flat()
  const emails = [...emailsOfContacts(deps.db, ws, ids).values()].flat()
  const traces = tracesOfContacts(deps.db, ws, ids)
  const digits = [...family.flatMap(c => c.waId === null ? [] : [c.waId]), ...phones.map(p => p.replace(/^\+/, ''))]
  const wamids = traces.messages.flatMap(m => m.wamid === null || m.wamidKey === null ? [] : [{ wamid: m.wamid, wamidKey: m.wamidKey }])
  const now = deps.clock.now()

  deps.db.transaction((db) => {
    if (options.tombstones) insertTombstones(db, ws, tombstoneKeys(ws, digits, emails), now)
    deleteStatusesOf(db, ws, wamids)
    deleteContactsForGood(db, ws, ids)
    inTransaction?.(db, { conversations: traces.conversationIds.length, messages: traces.messages.length }, now)
  }, { behavior: 'immediate' })

  let rawPayloads = 0
  let webhookDeliveries = 0
  if (options.findCopies) {
    // Copies not linked by a key: found by what they mention.
    const identities = [...digits, ...family.flatMap(c => [c.bsuid, c.parentBsuid].filter((v): v is string => v !== null)), ...wamids.map(w => w.wamid)]
    rawPayloads = eraseRawPayloadsMentioning(deps.db, ws, identities)
    webhookDeliveries = eraseDeliveriesMentioning(deps.db, ws, [...ids, ...traces.conversationIds, ...traces.messages.map(m => m.id)])
  }
  const mediaFiles = await removeMediaFiles(deps, ws, traces.mediaIds)
  for (const conversationId of traces.conversationIds) deps.events.emit('conversation.updated', { workspaceId: ws, conversationId })
  return { contacts: ids.length, conversations: traces.conversationIds.length, messages: traces.messages.length, mediaFiles, rawPayloads, webhookDeliveries }
}

/** Deletes media files from disk (a missing one counts as gone); returns how many were there. */
export async function removeMediaFiles (deps: Pick<Deps, 'dataDir'>, ws: string, mediaIds: readonly string[]): Promise<number> {
  let removed = 0
  for (const id of mediaIds) {
    try {
      await rm(mediaFilePath(deps.dataDir, ws, id))
      removed++
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return removed
}

/**
 * After an erasure: merge the name-search index's segments (deleted tokens otherwise stay in older
 * segments) and move the WAL into the database and truncate it, so the freed pages (zeroed by
 * secure_delete) are the only copy. A checkpoint blocked by a reader is retried by the next one.
 */
export function scrub (deps: Pick<Deps, 'sqlite' | 'log'>): void {
  deps.sqlite.exec("INSERT INTO contacts_name_search(contacts_name_search) VALUES ('optimize')")
  const [result] = deps.sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number, log: number, checkpointed: number }>
  if (result !== undefined && result.busy !== 0) deps.log.warn({ ...result }, 'WAL checkpoint after an erasure was blocked by a reader; the next checkpoint finishes it')
}

/** For the import: whether a row's numbers (digits) or emails belong to a forgotten contact. */
export function isForgotten (db: Deps['db'], workspaceId: string, digits: readonly string[], emails: readonly string[]): boolean {
  return anyTombstone(db, workspaceId, tombstoneKeys(workspaceId, digits, emails))
}

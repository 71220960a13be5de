// Reads for duplicate detection and the writes of a merge (moving a contact's phones, emails, labels,
// field values and events to another contact). Every query names the workspace; encrypted columns
// (wa_id, phones) come back decrypted.
import { and, count, eq, inArray, isNull, notInArray } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { contactEmails, contactEvents, contactFieldValues, contactLabels, contactPhones, contacts, conversations, labels } from '../../db/schema.js'

const live = (workspaceId: string) => and(eq(contacts.workspaceId, workspaceId), isNull(contacts.deletedAt), isNull(contacts.mergedIntoId))

/** Every live contact's id and WhatsApp number (for grouping by number). */
export function liveWhatsAppNumbers (db: Db, workspaceId: string): Array<{ id: string, waId: string | null }> {
  return db.select({ id: contacts.id, waId: contacts.waId }).from(contacts).where(live(workspaceId)).all()
}

/** Every extra phone number of live contacts (E.164). */
export function livePhones (db: Db, workspaceId: string): Array<{ contactId: string, phone: string }> {
  return db.select({ contactId: contactPhones.contactId, phone: contactPhones.phone }).from(contactPhones)
    .innerJoin(contacts, and(eq(contacts.workspaceId, contactPhones.workspaceId), eq(contacts.id, contactPhones.contactId)))
    .where(and(eq(contactPhones.workspaceId, workspaceId), live(workspaceId))).all()
}

/** Every email blind index of live contacts (grouped without decrypting). */
export function liveEmailIndexes (db: Db, workspaceId: string): Array<{ contactId: string, emailIndex: string }> {
  return db.select({ contactId: contactEmails.contactId, emailIndex: contactEmails.emailIndex }).from(contactEmails)
    .innerJoin(contacts, and(eq(contacts.workspaceId, contactEmails.workspaceId), eq(contacts.id, contactEmails.contactId)))
    .where(and(eq(contactEmails.workspaceId, workspaceId), live(workspaceId))).all()
}

/** Live contacts of the workspace by id (merged and deleted ones are left out). */
export function liveContacts (db: Db, workspaceId: string, ids: readonly string[]): Array<typeof contacts.$inferSelect> {
  if (ids.length === 0) return []
  return db.select().from(contacts).where(and(live(workspaceId), inArray(contacts.id, [...new Set(ids)]))).all()
}

export function phonesOfContacts (db: Db, workspaceId: string, ids: readonly string[]): Array<{ contactId: string, phone: string }> {
  if (ids.length === 0) return []
  return db.select({ contactId: contactPhones.contactId, phone: contactPhones.phone }).from(contactPhones)
    .where(and(eq(contactPhones.workspaceId, workspaceId), inArray(contactPhones.contactId, [...ids]))).orderBy(contactPhones.createdAt).all()
}

export function emailsOfContacts (db: Db, workspaceId: string, ids: readonly string[]): Array<{ contactId: string, email: string }> {
  if (ids.length === 0) return []
  return db.select({ contactId: contactEmails.contactId, email: contactEmails.email }).from(contactEmails)
    .where(and(eq(contactEmails.workspaceId, workspaceId), inArray(contactEmails.contactId, [...ids]))).orderBy(contactEmails.createdAt).all()
}

export function labelsOfContacts (db: Db, workspaceId: string, ids: readonly string[]): Array<{ contactId: string, id: string, name: string, colour: number }> {
  if (ids.length === 0) return []
  return db.select({ contactId: contactLabels.contactId, id: labels.id, name: labels.name, colour: labels.colour }).from(contactLabels)
    .innerJoin(labels, and(eq(labels.workspaceId, contactLabels.workspaceId), eq(labels.id, contactLabels.labelId)))
    .where(and(eq(contactLabels.workspaceId, workspaceId), inArray(contactLabels.contactId, [...ids]))).orderBy(labels.name).all()
}

export function conversationCounts (db: Db, workspaceId: string, ids: readonly string[]): Map<string, number> {
  if (ids.length === 0) return new Map()
  const rows = db.select({ contactId: conversations.contactId, n: count() }).from(conversations)
    .where(and(eq(conversations.workspaceId, workspaceId), inArray(conversations.contactId, [...ids]))).groupBy(conversations.contactId).all()
  return new Map(rows.map(r => [r.contactId, r.n]))
}

export function conversationIdsOf (db: Db, workspaceId: string, contactId: string): string[] {
  return db.select({ id: conversations.id }).from(conversations).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.contactId, contactId))).all().map(r => r.id)
}

// ── merge writes: `from` → `into`; what `into` already has wins ──

/** Extra phones: the ones `into` lacks move, the rest go (their blind indexes with them). */
export function movePhones (db: Db, workspaceId: string, from: string, into: string): void {
  const theirs = db.select({ index: contactPhones.phoneIndex }).from(contactPhones).where(and(eq(contactPhones.workspaceId, workspaceId), eq(contactPhones.contactId, into)))
  db.update(contactPhones).set({ contactId: into })
    .where(and(eq(contactPhones.workspaceId, workspaceId), eq(contactPhones.contactId, from), notInArray(contactPhones.phoneIndex, theirs))).run()
  db.delete(contactPhones).where(and(eq(contactPhones.workspaceId, workspaceId), eq(contactPhones.contactId, from))).run()
}

export function addPhoneIfMissing (db: Db, row: typeof contactPhones.$inferInsert): void {
  db.insert(contactPhones).values(row).onConflictDoNothing().run()
}

export function moveEmails (db: Db, workspaceId: string, from: string, into: string): void {
  const theirs = db.select({ index: contactEmails.emailIndex }).from(contactEmails).where(and(eq(contactEmails.workspaceId, workspaceId), eq(contactEmails.contactId, into)))
  db.update(contactEmails).set({ contactId: into })
    .where(and(eq(contactEmails.workspaceId, workspaceId), eq(contactEmails.contactId, from), notInArray(contactEmails.emailIndex, theirs))).run()
  db.delete(contactEmails).where(and(eq(contactEmails.workspaceId, workspaceId), eq(contactEmails.contactId, from))).run()
}

export function moveLabels (db: Db, workspaceId: string, from: string, into: string): void {
  const theirs = db.select({ id: contactLabels.labelId }).from(contactLabels).where(and(eq(contactLabels.workspaceId, workspaceId), eq(contactLabels.contactId, into)))
  db.update(contactLabels).set({ contactId: into })
    .where(and(eq(contactLabels.workspaceId, workspaceId), eq(contactLabels.contactId, from), notInArray(contactLabels.labelId, theirs))).run()
  db.delete(contactLabels).where(and(eq(contactLabels.workspaceId, workspaceId), eq(contactLabels.contactId, from))).run()
}

/** Custom field values: `into`'s win; the other's fill the fields `into` has no value for. */
export function moveFieldValues (db: Db, workspaceId: string, from: string, into: string): void {
  const theirs = db.select({ id: contactFieldValues.fieldId }).from(contactFieldValues).where(and(eq(contactFieldValues.workspaceId, workspaceId), eq(contactFieldValues.contactId, into)))
  db.update(contactFieldValues).set({ contactId: into })
    .where(and(eq(contactFieldValues.workspaceId, workspaceId), eq(contactFieldValues.contactId, from), notInArray(contactFieldValues.fieldId, theirs))).run()
  db.delete(contactFieldValues).where(and(eq(contactFieldValues.workspaceId, workspaceId), eq(contactFieldValues.contactId, from))).run()
}

export function moveEvents (db: Db, workspaceId: string, from: string, into: string): void {
  db.update(contactEvents).set({ contactId: into }).where(and(eq(contactEvents.workspaceId, workspaceId), eq(contactEvents.contactId, from))).run()
}

/** Contacts merged into `from` earlier now point at `into` (no chains). */
export function repointMerged (db: Db, workspaceId: string, from: string, into: string): void {
  db.update(contacts).set({ mergedIntoId: into }).where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.mergedIntoId, from))).run()
}

// Reads and writes of one contact's details: extra phone numbers, emails, labels, soft deletion and
// the conversations it had. Phones and emails are encrypted (plaintext here) with blind indexes.
// Every query names the workspace.
import { and, asc, desc, eq, inArray, isNull } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { channels, contactEmails, contactLabels, contactPhones, contacts, conversations, labels } from '../../db/schema.js'

export type ContactPhoneRow = typeof contactPhones.$inferSelect
export type ContactEmailRow = typeof contactEmails.$inferSelect
export type LabelRow = typeof labels.$inferSelect

export function phonesOf (db: Db, workspaceId: string, contactId: string): ContactPhoneRow[] {
  return db.select().from(contactPhones).where(and(eq(contactPhones.workspaceId, workspaceId), eq(contactPhones.contactId, contactId))).orderBy(asc(contactPhones.createdAt), asc(contactPhones.id)).all()
}

export function emailsOf (db: Db, workspaceId: string, contactId: string): ContactEmailRow[] {
  return db.select().from(contactEmails).where(and(eq(contactEmails.workspaceId, workspaceId), eq(contactEmails.contactId, contactId))).orderBy(asc(contactEmails.createdAt), asc(contactEmails.id)).all()
}

export function insertPhone (db: Db, row: typeof contactPhones.$inferInsert): boolean {
  return db.insert(contactPhones).values(row).onConflictDoNothing().run().changes > 0
}

export function deletePhone (db: Db, workspaceId: string, contactId: string, id: string): ContactPhoneRow | undefined {
  return db.delete(contactPhones).where(and(eq(contactPhones.workspaceId, workspaceId), eq(contactPhones.contactId, contactId), eq(contactPhones.id, id))).returning().get()
}

export function insertEmail (db: Db, row: typeof contactEmails.$inferInsert): boolean {
  return db.insert(contactEmails).values(row).onConflictDoNothing().run().changes > 0
}

export function deleteEmail (db: Db, workspaceId: string, contactId: string, id: string): ContactEmailRow | undefined {
  return db.delete(contactEmails).where(and(eq(contactEmails.workspaceId, workspaceId), eq(contactEmails.contactId, contactId), eq(contactEmails.id, id))).returning().get()
}

/** Live contacts (not deleted or merged) that hold any of these WhatsApp-id or extra-phone indexes. */
export function contactsWithPhone (db: Db, workspaceId: string, waIdIndexes: string[], phoneIndexes: string[]): string[] {
  const a = db.select({ id: contacts.id }).from(contacts).where(and(eq(contacts.workspaceId, workspaceId), inArray(contacts.waIdIndex, waIdIndexes), isNull(contacts.deletedAt), isNull(contacts.mergedIntoId))).all()
  const b = db.select({ id: contactPhones.contactId }).from(contactPhones).innerJoin(contacts, and(eq(contacts.workspaceId, contactPhones.workspaceId), eq(contacts.id, contactPhones.contactId)))
    .where(and(eq(contactPhones.workspaceId, workspaceId), inArray(contactPhones.phoneIndex, phoneIndexes), isNull(contacts.deletedAt), isNull(contacts.mergedIntoId))).all()
  return [...new Set([...a, ...b].map(r => r.id))]
}

/** Live contacts that hold this email index. */
export function contactsWithEmail (db: Db, workspaceId: string, index: string): string[] {
  return db.select({ id: contactEmails.contactId }).from(contactEmails).innerJoin(contacts, and(eq(contacts.workspaceId, contactEmails.workspaceId), eq(contacts.id, contactEmails.contactId)))
    .where(and(eq(contactEmails.workspaceId, workspaceId), eq(contactEmails.emailIndex, index), isNull(contacts.deletedAt), isNull(contacts.mergedIntoId))).all().map(r => r.id)
}

export function labelsOfContact (db: Db, workspaceId: string, contactId: string): LabelRow[] {
  return db.select({ id: labels.id, workspaceId: labels.workspaceId, name: labels.name, colour: labels.colour, createdAt: labels.createdAt }).from(contactLabels)
    .innerJoin(labels, and(eq(labels.workspaceId, contactLabels.workspaceId), eq(labels.id, contactLabels.labelId)))
    .where(and(eq(contactLabels.workspaceId, workspaceId), eq(contactLabels.contactId, contactId))).orderBy(asc(contactLabels.createdAt)).all()
}

export function addContactLabel (db: Db, workspaceId: string, contactId: string, labelId: string, now: number): boolean {
  return db.insert(contactLabels).values({ workspaceId, contactId, labelId, createdAt: now }).onConflictDoNothing().run().changes > 0
}

export function removeContactLabel (db: Db, workspaceId: string, contactId: string, labelId: string): boolean {
  return db.delete(contactLabels).where(and(eq(contactLabels.workspaceId, workspaceId), eq(contactLabels.contactId, contactId), eq(contactLabels.labelId, labelId))).run().changes > 0
}

/** The live contacts of the workspace among `ids` (others' ids and deleted ones drop out). */
export function liveContactIds (db: Db, workspaceId: string, ids: readonly string[]): string[] {
  if (ids.length === 0) return []
  return db.select({ id: contacts.id }).from(contacts)
    .where(and(eq(contacts.workspaceId, workspaceId), inArray(contacts.id, [...ids]), isNull(contacts.deletedAt), isNull(contacts.mergedIntoId))).all().map(r => r.id)
}

export function softDeleteContact (db: Db, workspaceId: string, id: string, now: number): boolean {
  return db.update(contacts).set({ deletedAt: now, updatedAt: now })
    .where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id), isNull(contacts.deletedAt))).run().changes > 0
}

export interface ContactConversationRow { id: string, status: string, lastMessageAt: number, channelName: string | null, channelPhone: string | null }

/** Every conversation of a contact, newest activity first, with its number's name. */
export function conversationsOfContact (db: Db, workspaceId: string, contactId: string): ContactConversationRow[] {
  return db.select({ id: conversations.id, status: conversations.status, lastMessageAt: conversations.lastMessageAt, channelName: channels.name, channelPhone: channels.displayPhoneNumber })
    .from(conversations)
    .leftJoin(channels, and(eq(channels.workspaceId, conversations.workspaceId), eq(channels.id, conversations.channelId)))
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.contactId, contactId)))
    .orderBy(desc(conversations.lastMessageAt), desc(conversations.id)).limit(200).all()
}

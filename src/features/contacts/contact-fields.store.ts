// Custom contact fields of a workspace (definitions) and contacts' values of them. Values are
// encrypted (transparently, by the column type); filters go through value_index, a blind index of the
// normalised value. Every query names the workspace.
import { and, asc, eq, inArray, max } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { contactFields, contactFieldValues } from '../../db/schema.js'

export type ContactFieldRow = typeof contactFields.$inferSelect
export type NewContactFieldRow = typeof contactFields.$inferInsert
export type ContactFieldValueRow = typeof contactFieldValues.$inferSelect

/** The workspace's field definitions in their display order. */
export function fieldRows (db: Db, workspaceId: string): ContactFieldRow[] {
  return db.select().from(contactFields).where(eq(contactFields.workspaceId, workspaceId))
    .orderBy(asc(contactFields.position), asc(contactFields.createdAt), asc(contactFields.id)).all()
}

export function findFieldRow (db: Db, workspaceId: string, id: string): ContactFieldRow | undefined {
  return db.select().from(contactFields).where(and(eq(contactFields.workspaceId, workspaceId), eq(contactFields.id, id))).get()
}

export function findFieldRowByKey (db: Db, workspaceId: string, key: string): ContactFieldRow | undefined {
  return db.select().from(contactFields).where(and(eq(contactFields.workspaceId, workspaceId), eq(contactFields.key, key))).get()
}

export function nextFieldPosition (db: Db, workspaceId: string): number {
  const row = db.select({ top: max(contactFields.position) }).from(contactFields).where(eq(contactFields.workspaceId, workspaceId)).get()
  return (row?.top ?? -1) + 1
}

export function insertFieldRow (db: Db, row: NewContactFieldRow): ContactFieldRow {
  return db.insert(contactFields).values(row).returning().get()
}

export function updateFieldRow (db: Db, workspaceId: string, id: string, set: Partial<Pick<NewContactFieldRow, 'label' | 'options' | 'position' | 'updatedAt'>>): number {
  return db.update(contactFields).set(set).where(and(eq(contactFields.workspaceId, workspaceId), eq(contactFields.id, id))).run().changes
}

/** Deletes a definition; its values go with it (foreign key cascade). */
export function deleteFieldRow (db: Db, workspaceId: string, id: string): number {
  return db.delete(contactFields).where(and(eq(contactFields.workspaceId, workspaceId), eq(contactFields.id, id))).run().changes
}

/** Every value a contact has, by field id. */
export function fieldValuesOf (db: Db, workspaceId: string, contactId: string): Map<string, ContactFieldValueRow> {
  const rows = db.select().from(contactFieldValues).where(and(eq(contactFieldValues.workspaceId, workspaceId), eq(contactFieldValues.contactId, contactId))).all()
  return new Map(rows.map(r => [r.fieldId, r]))
}

/** The values of many contacts (export), keyed contact id → field id → value. */
export function fieldValuesOfContacts (db: Db, workspaceId: string, contactIds: readonly string[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>()
  if (contactIds.length === 0) return out
  const rows = db.select({ contactId: contactFieldValues.contactId, fieldId: contactFieldValues.fieldId, value: contactFieldValues.value }).from(contactFieldValues)
    .where(and(eq(contactFieldValues.workspaceId, workspaceId), inArray(contactFieldValues.contactId, [...contactIds]))).all()
  for (const r of rows) {
    let m = out.get(r.contactId)
    if (m === undefined) { m = new Map(); out.set(r.contactId, m) }
    m.set(r.fieldId, r.value)
  }
  return out
}

export function upsertFieldValue (db: Db, row: { workspaceId: string, contactId: string, fieldId: string, value: string, valueIndex: string, updatedAt: number }): void {
  db.insert(contactFieldValues).values(row)
    .onConflictDoUpdate({ target: [contactFieldValues.workspaceId, contactFieldValues.contactId, contactFieldValues.fieldId], set: { value: row.value, valueIndex: row.valueIndex, updatedAt: row.updatedAt } })
    .run()
}

export function deleteFieldValue (db: Db, workspaceId: string, contactId: string, fieldId: string): number {
  return db.delete(contactFieldValues).where(and(eq(contactFieldValues.workspaceId, workspaceId), eq(contactFieldValues.contactId, contactId), eq(contactFieldValues.fieldId, fieldId))).run().changes
}

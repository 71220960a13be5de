// Tombstones of forgotten contacts (see contactTombstones in the schema): keyed blind indexes only.
import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { contactTombstones, contacts } from '../../db/schema.js'
import { blindIndex, newId } from '../../platform/crypto/index.js'
import { phoneSpellings } from './phone.js'

/** The tombstone keys of some numbers (digits, every spelling) and emails (lower case). */
export function tombstoneKeys (workspaceId: string, digits: readonly string[], emails: readonly string[]): string[] {
  const keys = new Set<string>()
  for (const d of digits) for (const s of phoneSpellings(d)) keys.add(blindIndex('contact.tombstone', workspaceId, `phone:${s}`))
  for (const e of emails) keys.add(blindIndex('contact.tombstone', workspaceId, `email:${e.trim().toLowerCase()}`))
  return [...keys]
}

export function insertTombstones (db: Db, workspaceId: string, keys: readonly string[], now: number): void {
  for (const indexValue of keys) db.insert(contactTombstones).values({ id: newId(now), workspaceId, indexValue, createdAt: now }).onConflictDoNothing().run()
}

/** Whether any key is a tombstone of the workspace. */
export function anyTombstone (db: Db, workspaceId: string, keys: readonly string[]): boolean {
  if (keys.length === 0) return false
  return db.select({ one: sql`1` }).from(contactTombstones).where(and(eq(contactTombstones.workspaceId, workspaceId), inArray(contactTombstones.indexValue, [...keys]))).limit(1).get() !== undefined
}

/** A contact and every contact merged into it (at any depth), deleted ones included. */
export function contactFamily (db: Db, workspaceId: string, id: string): Array<typeof contacts.$inferSelect> {
  const ids = db.all<{ id: string }>(sql`
    WITH RECURSIVE family(id) AS (
      SELECT id FROM contacts WHERE workspace_id = ${workspaceId} AND id = ${id} AND merged_into_id IS NULL
      UNION SELECT c.id FROM contacts c JOIN family f ON c.merged_into_id = f.id WHERE c.workspace_id = ${workspaceId}
    ) SELECT id FROM family`).map(r => r.id)
  if (ids.length === 0) return []
  return db.select().from(contacts).where(and(eq(contacts.workspaceId, workspaceId), inArray(contacts.id, ids))).all()
}

/** Deletes contacts for good (their numbers, emails, fields, labels, timeline, conversations and messages go with them). */
export function deleteContactsForGood (db: Db, workspaceId: string, ids: readonly string[]): number {
  if (ids.length === 0) return 0
  return db.delete(contacts).where(and(eq(contacts.workspaceId, workspaceId), inArray(contacts.id, [...ids]))).run().changes
}

/** Whether the workspace has forgotten anyone (imports skip the per-row check when not). */
export function hasTombstones (db: Db, workspaceId: string): boolean {
  return db.select({ one: sql`1` }).from(contactTombstones).where(eq(contactTombstones.workspaceId, workspaceId)).limit(1).get() !== undefined
}

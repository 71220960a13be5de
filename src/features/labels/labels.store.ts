// The workspace's labels: one list, shared by conversations (inbox) and contacts. Which conversation or
// contact carries a label is each feature's own table (conversation_labels, contact_labels).
import { and, asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { labels } from '../../db/schema.js'
import { ph, prepared } from '../../db/prepared.js'

export type LabelRow = typeof labels.$inferSelect

export function listLabels (db: Db, workspaceId: string): LabelRow[] {
  return prepared(db, 'labels.list', () => db.select().from(labels).where(eq(labels.workspaceId, ph('workspaceId'))).orderBy(asc(sql`lower(${labels.name})`)).prepare())
    .all({ workspaceId })
}

export function findLabel (db: Db, workspaceId: string, id: string): LabelRow | undefined {
  return db.select().from(labels).where(and(eq(labels.workspaceId, workspaceId), eq(labels.id, id))).get()
}

export function findLabelByName (db: Db, workspaceId: string, name: string): LabelRow | undefined {
  return db.select().from(labels).where(and(eq(labels.workspaceId, workspaceId), sql`lower(${labels.name}) = lower(${name})`)).get()
}

export function insertLabel (db: Db, row: { workspaceId: string, name: string, colour: number, createdAt: number }): LabelRow {
  return db.insert(labels).values(row).returning().get()
}

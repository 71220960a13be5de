// The message-template cache of each WABA (SPEC §8). Identity is (workspace, WABA, name, language);
// Meta's template id is kept for webhooks that name a template by id.
import { and, eq, max, ne, notInArray, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { templates } from '../../db/schema.js'

export type Template = typeof templates.$inferSelect
export type NewTemplate = typeof templates.$inferInsert

/** A template found by Meta's id, or undefined. */
export function findTemplateByGraphId (db: Db, workspaceId: string, graphTemplateId: string): Template | undefined {
  return db.select().from(templates).where(and(eq(templates.workspaceId, workspaceId), eq(templates.graphTemplateId, graphTemplateId))).get()
}

/** A template found by its identity, or undefined. */
export function findTemplateByIdentity (db: Db, workspaceId: string, wabaId: string, name: string, language: string): Template | undefined {
  return db.select().from(templates).where(and(
    eq(templates.workspaceId, workspaceId), eq(templates.wabaId, wabaId), eq(templates.name, name), eq(templates.language, language)
  )).get()
}

/** Inserts a template row and returns it. */
export function insertTemplate (db: Db, row: NewTemplate): Template {
  return db.insert(templates).values(row).returning().get()
}

/** Changes one template row of the workspace. */
export function updateTemplate (db: Db, workspaceId: string, id: string, changes: Partial<Omit<NewTemplate, 'id' | 'workspaceId'>>): void {
  db.update(templates).set(changes).where(and(eq(templates.workspaceId, workspaceId), eq(templates.id, id))).run()
}

/** Inserts or refreshes a template by its identity; returns the row id. */
export function upsertTemplate (db: Db, row: NewTemplate & { updatedAt: number }): string {
  const { id: _id, workspaceId: _w, wabaId: _b, name: _n, language: _l, ...changes } = row
  return db.insert(templates).values(row)
    .onConflictDoUpdate({ target: [templates.workspaceId, templates.wabaId, templates.name, templates.language], set: changes })
    .returning({ id: templates.id })
    .get().id
}

/** Marks every template of the WABA not in `keep` as deleted at Meta; returns how many changed. */
export function markOtherTemplatesDeleted (db: Db, workspaceId: string, wabaId: string, keep: string[], now: number): number {
  return db.update(templates).set({ status: 'DELETED', updatedAt: now, syncedAt: now })
    .where(and(
      eq(templates.workspaceId, workspaceId), eq(templates.wabaId, wabaId), ne(templates.status, 'DELETED'),
      keep.length === 0 ? undefined : notInArray(templates.id, keep)
    ))
    .run().changes
}

/** Counts of a WABA's cached templates (deleted ones left out) and the last sync time. */
export function templateCounts (db: Db, workspaceId: string, wabaId: string): { total: number, approved: number, lastSyncedAt: number | null } {
  const row = db.select({
    total: sql<number>`coalesce(sum(case when ${templates.status} <> 'DELETED' then 1 else 0 end), 0)`,
    approved: sql<number>`coalesce(sum(case when ${templates.status} = 'APPROVED' then 1 else 0 end), 0)`,
    lastSyncedAt: max(templates.syncedAt)
  }).from(templates).where(and(eq(templates.workspaceId, workspaceId), eq(templates.wabaId, wabaId))).get()
  return { total: row?.total ?? 0, approved: row?.approved ?? 0, lastSyncedAt: row?.lastSyncedAt ?? null }
}

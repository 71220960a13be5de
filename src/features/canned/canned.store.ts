// Canned responses of a workspace: saved replies an agent inserts by typing "/" in the composer.
// Identity for people is the shortcut, unique per workspace.
import { and, asc, eq } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { cannedResponses } from '../../db/schema.js'

export type CannedResponse = typeof cannedResponses.$inferSelect
export type NewCannedResponse = typeof cannedResponses.$inferInsert

/** Every canned response of the workspace, by shortcut. */
export function listCanned (db: Db, workspaceId: string): CannedResponse[] {
  return db.select().from(cannedResponses).where(eq(cannedResponses.workspaceId, workspaceId)).orderBy(asc(cannedResponses.shortcut)).all()
}

/** One canned response of the workspace, or undefined (another workspace's id is unknown here). */
export function findCanned (db: Db, workspaceId: string, id: string): CannedResponse | undefined {
  return db.select().from(cannedResponses).where(and(eq(cannedResponses.workspaceId, workspaceId), eq(cannedResponses.id, id))).get()
}

/** The canned response with that shortcut in the workspace, or undefined. */
export function findCannedByShortcut (db: Db, workspaceId: string, shortcut: string): CannedResponse | undefined {
  return db.select().from(cannedResponses).where(and(eq(cannedResponses.workspaceId, workspaceId), eq(cannedResponses.shortcut, shortcut))).get()
}

export function insertCanned (db: Db, row: NewCannedResponse): CannedResponse {
  return db.insert(cannedResponses).values(row).returning().get()
}

export function updateCanned (db: Db, workspaceId: string, id: string, set: Partial<Pick<NewCannedResponse, 'shortcut' | 'body' | 'updatedAt'>>): number {
  return db.update(cannedResponses).set(set).where(and(eq(cannedResponses.workspaceId, workspaceId), eq(cannedResponses.id, id))).run().changes
}

export function deleteCanned (db: Db, workspaceId: string, id: string): number {
  return db.delete(cannedResponses).where(and(eq(cannedResponses.workspaceId, workspaceId), eq(cannedResponses.id, id))).run().changes
}

// Queries of the retention job: what is old enough to go, per workspace.
import { and, eq, inArray, isNull, lt, ne, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { media, messages, webhookEvents, workspaces } from '../../db/schema.js'

export type WorkspaceRetention = Pick<typeof workspaces.$inferSelect, 'id' | 'retainMessagesDays' | 'retainWebhookDays' | 'retainContactsMonths' | 'retentionRunAt' | 'retentionReport'>

const columns = {
  id: workspaces.id,
  retainMessagesDays: workspaces.retainMessagesDays,
  retainWebhookDays: workspaces.retainWebhookDays,
  retainContactsMonths: workspaces.retainContactsMonths,
  retentionRunAt: workspaces.retentionRunAt,
  retentionReport: workspaces.retentionReport
}

/** Live workspaces whose retention last ran before `before` (or never). */
export function workspacesDue (db: Db, before: number): WorkspaceRetention[] {
  return db.select(columns).from(workspaces).where(and(isNull(workspaces.deletedAt), sql`coalesce(${workspaces.retentionRunAt}, 0) < ${before}`)).all()
}

export function workspaceRetention (db: Db, workspaceId: string): WorkspaceRetention | undefined {
  return db.select(columns).from(workspaces).where(eq(workspaces.id, workspaceId)).get()
}

export function setRetention (db: Db, workspaceId: string, set: Partial<typeof workspaces.$inferInsert>): void {
  db.update(workspaces).set(set).where(eq(workspaces.id, workspaceId)).run()
}

/** Deletes Meta's processed raw payloads received before `before`. */
export function deleteOldRawPayloads (db: Db, workspaceId: string, before: number): number {
  return db.delete(webhookEvents).where(and(eq(webhookEvents.workspaceId, workspaceId), ne(webhookEvents.status, 'pending'), lt(webhookEvents.receivedAt, before))).run().changes
}

/** Up to `limit` messages older than `before` whose body is still there, of contacts not on legal hold. */
export function expirableMessages (db: Db, workspaceId: string, before: number, limit: number): string[] {
  return db.all<{ id: string }>(sql`
    SELECT m.id FROM conversations c
    JOIN contacts k ON k.workspace_id = c.workspace_id AND k.id = c.contact_id AND k.legal_hold = 0
    JOIN messages m ON m.workspace_id = c.workspace_id AND m.conversation_id = c.id AND m.timestamp < ${before} AND m.type != 'expired'
    WHERE c.workspace_id = ${workspaceId}
    LIMIT ${limit}`).map(r => r.id)
}

/** Replaces the bodies of these messages with an "expired" marker and deletes their media rows; returns the media ids. */
export function expireMessages (db: Db, workspaceId: string, ids: readonly string[], now: number): string[] {
  if (ids.length === 0) return []
  const mediaIds = db.select({ id: media.id }).from(media).where(and(eq(media.workspaceId, workspaceId), inArray(media.messageId, [...ids]))).all().map(r => r.id)
  if (mediaIds.length > 0) db.delete(media).where(and(eq(media.workspaceId, workspaceId), inArray(media.id, mediaIds))).run()
  db.update(messages).set({ content: JSON.stringify({ body: { type: 'expired' } }), type: 'expired', updatedAt: now })
    .where(and(eq(messages.workspaceId, workspaceId), inArray(messages.id, [...ids]))).run()
  return mediaIds
}

/** Up to `limit` contacts (not merged away, not on legal hold) with no activity since `before`. */
export function inactiveContacts (db: Db, workspaceId: string, before: number, limit: number): string[] {
  return db.all<{ id: string }>(sql`
    SELECT k.id FROM contacts k
    WHERE k.workspace_id = ${workspaceId} AND k.merged_into_id IS NULL AND k.legal_hold = 0
      AND k.updated_at < ${before} AND coalesce(k.last_inbound_at, 0) < ${before}
      AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.workspace_id = k.workspace_id AND c.contact_id = k.id AND c.last_message_at >= ${before})
    LIMIT ${limit}`).map(r => r.id)
}

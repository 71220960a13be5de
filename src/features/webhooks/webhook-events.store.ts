// Stored webhook deliveries (encrypted exact bytes). Workspace-scoped.
import { and, asc, eq } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { webhookEvents } from '../../db/schema.js'

export type WebhookEvent = typeof webhookEvents.$inferSelect

/** Stores one delivery as received; returns its id. */
export function insertWebhookEvent (db: Db, row: { workspaceId: string, channelId: string, raw: Uint8Array, receivedAt: number }): string {
  return db.insert(webhookEvents).values({
    workspaceId: row.workspaceId,
    channelId: row.channelId,
    payload: Buffer.from(row.raw).toString('base64'),
    bytes: row.raw.byteLength,
    receivedAt: row.receivedAt
  }).returning({ id: webhookEvents.id }).get().id
}

/** The stored deliveries of a workspace in arrival order (for processing, replay and tests). */
export function listWebhookEvents (db: Db, workspaceId: string, status?: WebhookEvent['status']): WebhookEvent[] {
  return db.select().from(webhookEvents)
    .where(and(eq(webhookEvents.workspaceId, workspaceId), status === undefined ? undefined : eq(webhookEvents.status, status)))
    .orderBy(asc(webhookEvents.receivedAt), asc(webhookEvents.id))
    .all()
}

/** The exact bytes of a stored delivery. */
export function payloadBytes (event: WebhookEvent): Buffer {
  return Buffer.from(event.payload, 'base64')
}

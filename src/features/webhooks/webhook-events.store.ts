// Stored webhook deliveries (encrypted exact bytes). Workspace-scoped.
import { and, asc, eq, sql } from 'drizzle-orm'
import { newId } from '../../platform/crypto/index.js'
import type { Db } from '../../db/open.js'
import { webhookEvents } from '../../db/schema.js'

export type WebhookEvent = typeof webhookEvents.$inferSelect

// Prepared once per database handle: this insert runs for every delivery.
const prepared = new WeakMap<Db, ReturnType<typeof prepareInsert>>()
function prepareInsert (db: Db) {
  const p = (name: string) => sql.placeholder(name) as unknown as string
  return db.insert(webhookEvents).values({
    id: p('id'), workspaceId: p('workspaceId'), channelId: p('channelId'), payload: p('payload'), bytes: sql.placeholder('bytes') as unknown as number, receivedAt: sql.placeholder('receivedAt') as unknown as number
  }).prepare()
}

/** Stores one delivery as received; returns its id. */
export function insertWebhookEvent (db: Db, row: { workspaceId: string, channelId: string, raw: Uint8Array, receivedAt: number }): string {
  let insert = prepared.get(db)
  if (insert === undefined) { insert = prepareInsert(db); prepared.set(db, insert) }
  const id = newId(row.receivedAt)
  insert.run({ id, workspaceId: row.workspaceId, channelId: row.channelId, payload: Buffer.from(row.raw).toString('base64'), bytes: row.raw.byteLength, receivedAt: row.receivedAt })
  return id
}

/** The stored deliveries of a workspace in arrival order (for processing, replay and tests). */
export function listWebhookEvents (db: Db, workspaceId: string, status?: WebhookEvent['status']): WebhookEvent[] {
  return db.select().from(webhookEvents)
    .where(and(eq(webhookEvents.workspaceId, workspaceId), status === undefined ? undefined : eq(webhookEvents.status, status)))
    .orderBy(asc(webhookEvents.receivedAt), asc(sql`rowid`))
    .all()
}

/** The exact bytes of a stored delivery. */
export function payloadBytes (event: WebhookEvent): Buffer {
  return Buffer.from(event.payload, 'base64')
}

// Stored webhook deliveries (encrypted exact bytes). Workspace-scoped.
import { and, asc, count, desc, eq, inArray, lt, sql } from 'drizzle-orm'
import { newId } from '../../platform/crypto/index.js'
import type { Db } from '../../db/open.js'
import { ph, prepared } from '../../db/prepared.js'
import { channels, webhookEvents } from '../../db/schema.js'

export type WebhookEvent = typeof webhookEvents.$inferSelect

/** Stores one delivery as received; returns its id. */
export function insertWebhookEvent (db: Db, row: { workspaceId: string, channelId: string, raw: Uint8Array, receivedAt: number }): string {
  // Prepared once per database handle: this insert runs for every delivery.
  const insert = prepared(db, 'webhookEvents.insert', () => db.insert(webhookEvents).values({
    id: ph('id'), workspaceId: ph('workspaceId'), channelId: ph('channelId'), payload: ph('payload'), bytes: ph<number>('bytes'), receivedAt: ph<number>('receivedAt')
  }).prepare())
  const id = newId(row.receivedAt)
  // A view on the received bytes (Buffer.from(Uint8Array) would copy them first).
  const raw = Buffer.isBuffer(row.raw) ? row.raw : Buffer.from(row.raw.buffer, row.raw.byteOffset, row.raw.byteLength)
  insert.run({ id, workspaceId: row.workspaceId, channelId: row.channelId, payload: raw.toString('base64'), bytes: row.raw.byteLength, receivedAt: row.receivedAt })
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

/**
 * The oldest deliveries still waiting for processing, across workspaces (the processor's queue), in
 * commit order (rowid: ids made in the same millisecond do not sort by arrival).
 * Without their payloads: each is decrypted on its own (loadWebhookEvent), so one unreadable row
 * fails alone instead of blocking the queue.
 */
export function pendingWebhookEvents (db: Db, limit: number): Array<{ id: string, workspaceId: string, channelId: string }> {
  return db.select({ id: webhookEvents.id, workspaceId: webhookEvents.workspaceId, channelId: webhookEvents.channelId }).from(webhookEvents).where(eq(webhookEvents.status, 'pending'))
    .orderBy(asc(sql`rowid`)).limit(limit).all()
}

/** The status of one delivery right now (re-read inside the processing transaction). */
export function webhookEventStatus (db: Db, id: string): WebhookEvent['status'] | undefined {
  return prepared(db, 'webhookEvents.status', () => db.select({ status: webhookEvents.status }).from(webhookEvents).where(eq(webhookEvents.id, ph('id'))).prepare()).get({ id })?.status
}

/** Records the outcome of processing a delivery. `note` says what was ignored or why it failed. */
export function settleWebhookEvent (db: Db, id: string, status: 'processed' | 'failed' | 'ignored', note: string | null, now: number): void {
  prepared(db, 'webhookEvents.settle', () => db.update(webhookEvents)
    .set({ status: ph<'processed'>('status'), lastError: ph<string | null>('note'), processedAt: ph<number>('now'), attempts: sql`${webhookEvents.attempts} + 1` })
    .where(eq(webhookEvents.id, ph('id'))).prepare())
    .run({ id, status, note, now })
}

export function findWebhookEvent (db: Db, workspaceId: string, id: string): WebhookEvent | undefined {
  return db.select().from(webhookEvents).where(and(eq(webhookEvents.workspaceId, workspaceId), eq(webhookEvents.id, id))).get()
}

/** A row of the Webhook log: a delivery without its payload, with its number's name. */
export type WebhookLogRow = Omit<WebhookEvent, 'payload'> & { channelName: string | null, channelNumber: string | null }

/** One page of a workspace's deliveries, newest first (keyset on id, which sorts by arrival time). */
export function webhookLogPage (db: Db, workspaceId: string, options: { status?: WebhookEvent['status'] | undefined, before?: string | undefined, limit: number }): WebhookLogRow[] {
  return db.select({
    id: webhookEvents.id,
    workspaceId: webhookEvents.workspaceId,
    channelId: webhookEvents.channelId,
    bytes: webhookEvents.bytes,
    receivedAt: webhookEvents.receivedAt,
    status: webhookEvents.status,
    attempts: webhookEvents.attempts,
    lastError: webhookEvents.lastError,
    processedAt: webhookEvents.processedAt,
    channelName: channels.name,
    channelNumber: channels.displayPhoneNumber
  }).from(webhookEvents)
    .leftJoin(channels, and(eq(channels.workspaceId, webhookEvents.workspaceId), eq(channels.id, webhookEvents.channelId)))
    .where(and(
      eq(webhookEvents.workspaceId, workspaceId),
      options.status === undefined ? undefined : eq(webhookEvents.status, options.status),
      options.before === undefined ? undefined : lt(webhookEvents.id, options.before)
    ))
    .orderBy(desc(webhookEvents.id)).limit(options.limit).all()
}

/** How many deliveries of a workspace are in each status. */
export function webhookLogCounts (db: Db, workspaceId: string): Record<WebhookEvent['status'], number> {
  const rows = db.select({ status: webhookEvents.status, n: count() }).from(webhookEvents).where(eq(webhookEvents.workspaceId, workspaceId)).groupBy(webhookEvents.status).all()
  const out = { pending: 0, processed: 0, failed: 0, ignored: 0 }
  for (const r of rows) out[r.status] = r.n
  return out
}

/** Puts deliveries back in the queue. Scoped to a workspace, or every failed one when workspaceId is null. */
export function requeueWebhookEvents (db: Db, scope: { workspaceId: string | null, id?: string | undefined, statuses: Array<WebhookEvent['status']> }): number {
  return db.update(webhookEvents).set({ status: 'pending' })
    .where(and(
      scope.workspaceId === null ? undefined : eq(webhookEvents.workspaceId, scope.workspaceId),
      scope.id === undefined ? undefined : eq(webhookEvents.id, scope.id),
      inArray(webhookEvents.status, scope.statuses)
    )).run().changes
}

/** One stored delivery with its (decrypted) payload; throws when it cannot be read. */
export function loadWebhookEvent (db: Db, id: string): WebhookEvent {
  const row = prepared(db, 'webhookEvents.byId', () => db.select().from(webhookEvents).where(eq(webhookEvents.id, ph('id'))).prepare()).get({ id })
  if (row === undefined) throw new Error(`webhook event ${id} is gone`)
  return row
}

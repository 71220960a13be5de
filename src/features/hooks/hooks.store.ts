// Queries of outgoing webhooks: subscriptions, the queue of events and the deliveries (outbox and log).
import { and, desc, eq, inArray, isNotNull, lt, lte, or, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { webhookDeliveries, webhookQueue, webhookSubscriptions } from '../../db/schema.js'

export type SubscriptionRow = typeof webhookSubscriptions.$inferSelect
export type NewSubscriptionRow = typeof webhookSubscriptions.$inferInsert
export type DeliveryRow = typeof webhookDeliveries.$inferSelect
export type NewDeliveryRow = typeof webhookDeliveries.$inferInsert
export type QueueRow = typeof webhookQueue.$inferSelect
/** A delivery without its payload (the log lists many; only the detail decrypts one). */
export type DeliverySummary = Omit<DeliveryRow, 'payload'>

export function insertSubscription (db: Db, row: NewSubscriptionRow): SubscriptionRow {
  return db.insert(webhookSubscriptions).values(row).returning().get()
}

export function updateSubscription (db: Db, workspaceId: string, id: string, set: Partial<NewSubscriptionRow>): void {
  db.update(webhookSubscriptions).set(set).where(and(eq(webhookSubscriptions.workspaceId, workspaceId), eq(webhookSubscriptions.id, id))).run()
}

export function deleteSubscription (db: Db, workspaceId: string, id: string): number {
  return db.delete(webhookSubscriptions).where(and(eq(webhookSubscriptions.workspaceId, workspaceId), eq(webhookSubscriptions.id, id))).run().changes
}

export function findSubscription (db: Db, workspaceId: string, id: string): SubscriptionRow | undefined {
  return db.select().from(webhookSubscriptions).where(and(eq(webhookSubscriptions.workspaceId, workspaceId), eq(webhookSubscriptions.id, id))).get()
}

/** The workspace's subscriptions, oldest first. */
export function listSubscriptions (db: Db, workspaceId: string): SubscriptionRow[] {
  return db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.workspaceId, workspaceId)).orderBy(webhookSubscriptions.createdAt, webhookSubscriptions.id).all()
}

export function countSubscriptions (db: Db, workspaceId: string): number {
  return db.select({ n: sql<number>`count(*)` }).from(webhookSubscriptions).where(eq(webhookSubscriptions.workspaceId, workspaceId)).get()?.n ?? 0
}

// ── queue ──
export function queuedEvents (db: Db, limit: number): QueueRow[] {
  return db.select().from(webhookQueue).orderBy(webhookQueue.id).limit(limit).all()
}

export function deleteQueued (db: Db, ids: string[]): void {
  if (ids.length > 0) db.delete(webhookQueue).where(inArray(webhookQueue.id, ids)).run()
}

// ── deliveries ──
export function insertDelivery (db: Db, row: NewDeliveryRow): DeliveryRow {
  return db.insert(webhookDeliveries).values(row).returning().get()
}

/**
 * Leases due deliveries (pending and due, or `sending` with an expired lease) of active
 * subscriptions: marks them sending until `leaseUntil` and counts the attempt.
 */
export function leaseDeliveries (db: Db, cutoff: number, limit: number, leaseUntil: number): DeliveryRow[] {
  return db.transaction(tx => {
    const due = tx.select({ id: webhookDeliveries.id }).from(webhookDeliveries)
      .innerJoin(webhookSubscriptions, and(eq(webhookSubscriptions.workspaceId, webhookDeliveries.workspaceId), eq(webhookSubscriptions.id, webhookDeliveries.subscriptionId)))
      .where(and(
        or(
          and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, cutoff)),
          and(eq(webhookDeliveries.status, 'sending'), lt(webhookDeliveries.leaseUntil, cutoff))
        ),
        eq(webhookSubscriptions.active, true)
      ))
      .orderBy(webhookDeliveries.nextAttemptAt, webhookDeliveries.id)
      .limit(limit)
      .all()
    if (due.length === 0) return []
    return tx.update(webhookDeliveries)
      .set({ status: 'sending', leaseUntil, attempts: sql`${webhookDeliveries.attempts} + 1` })
      .where(inArray(webhookDeliveries.id, due.map(r => r.id)))
      .returning()
      .all()
  }, { behavior: 'immediate' })
}

/** Updates a leased delivery only while this pass still holds its lease. */
export function settleDelivery (db: Db, row: Pick<DeliveryRow, 'id' | 'leaseUntil'>, set: Partial<NewDeliveryRow>): void {
  db.update(webhookDeliveries).set(set)
    .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.status, 'sending'), eq(webhookDeliveries.leaseUntil, row.leaseUntil ?? -1)))
    .run()
}

const summaryColumns = {
  id: webhookDeliveries.id,
  workspaceId: webhookDeliveries.workspaceId,
  subscriptionId: webhookDeliveries.subscriptionId,
  eventId: webhookDeliveries.eventId,
  eventType: webhookDeliveries.eventType,
  status: webhookDeliveries.status,
  attempts: webhookDeliveries.attempts,
  nextAttemptAt: webhookDeliveries.nextAttemptAt,
  leaseUntil: webhookDeliveries.leaseUntil,
  responseStatus: webhookDeliveries.responseStatus,
  lastError: webhookDeliveries.lastError,
  durationMs: webhookDeliveries.durationMs,
  replayOf: webhookDeliveries.replayOf,
  createdAt: webhookDeliveries.createdAt,
  settledAt: webhookDeliveries.settledAt
}

/** A subscription's deliveries, newest first, `limit` after the cursor (a delivery id). */
export function deliveriesOf (db: Db, workspaceId: string, subscriptionId: string, limit: number, before?: string): DeliverySummary[] {
  return db.select(summaryColumns).from(webhookDeliveries)
    .where(and(
      eq(webhookDeliveries.workspaceId, workspaceId),
      eq(webhookDeliveries.subscriptionId, subscriptionId),
      before === undefined ? undefined : lt(webhookDeliveries.id, before)
    ))
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit)
    .all()
}

export function findDelivery (db: Db, workspaceId: string, id: string): DeliveryRow | undefined {
  return db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.workspaceId, workspaceId), eq(webhookDeliveries.id, id))).get()
}

/** Per subscription: the latest settled delivery and how many wait. */
export function deliveryHealth (db: Db, workspaceId: string, subscriptionIds: string[]): Map<string, { last: DeliverySummary | undefined, waiting: number }> {
  const out = new Map<string, { last: DeliverySummary | undefined, waiting: number }>()
  for (const id of subscriptionIds) {
    const last = db.select(summaryColumns).from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.workspaceId, workspaceId), eq(webhookDeliveries.subscriptionId, id), isNotNull(webhookDeliveries.settledAt)))
      .orderBy(desc(webhookDeliveries.id)).limit(1).get()
    const waiting = db.select({ n: sql<number>`count(*)` }).from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.workspaceId, workspaceId), eq(webhookDeliveries.subscriptionId, id), inArray(webhookDeliveries.status, ['pending', 'sending']))).get()?.n ?? 0
    out.set(id, { last, waiting })
  }
  return out
}

/** Deletes settled deliveries settled before `before` (the log keeps 30 days). */
export function pruneDeliveries (db: Db, before: number): number {
  return db.delete(webhookDeliveries).where(and(isNotNull(webhookDeliveries.settledAt), lt(webhookDeliveries.settledAt, before))).run().changes
}

/**
 * Moves a subscription's other waiting deliveries to no earlier than `until`: when its receiver is
 * down, one attempt per backoff window finds out, instead of one per waiting event (and a backlog of
 * one workspace does not hold up the others' deliveries).
 */
export function postponeWaiting (db: Db, workspaceId: string, subscriptionId: string, until: number): number {
  return db.update(webhookDeliveries).set({ nextAttemptAt: until })
    .where(and(
      eq(webhookDeliveries.workspaceId, workspaceId), eq(webhookDeliveries.subscriptionId, subscriptionId),
      eq(webhookDeliveries.status, 'pending'), lt(webhookDeliveries.nextAttemptAt, until)
    ))
    .run().changes
}

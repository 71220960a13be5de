// The outbox table, plus the few writes of the send path on messages and conversations (the outbound
// feature owns sending: a message's send state, its failure reason, an inbound message's read receipt,
// the unread count a read resets) and the template cache lookup of a template send. Synchronous; every
// function takes (db, workspaceId, …) or works on rows it leased.
import { and, desc, eq, inArray, isNotNull, isNull, lt, ne, notInArray, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { conversations, messageOutbox, messages, templates } from '../../db/schema.js'
import { queueHookEvent } from '../hooks/hooks.queue.js'

export type OutboxRow = typeof messageOutbox.$inferSelect
export type MessageRow = typeof messages.$inferSelect
export type TemplateRow = typeof templates.$inferSelect

/** The outbound message a browser already queued under this client id, if any. */
export function messageByClientId (db: Db, workspaceId: string, clientId: string): MessageRow | undefined {
  return db.select().from(messages).where(and(eq(messages.workspaceId, workspaceId), eq(messages.clientId, clientId))).get()
}

/** A message of the workspace. */
export function messageById (db: Db, workspaceId: string, id: string): MessageRow | undefined {
  return db.select().from(messages).where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, id))).get()
}

export function insertOutboxRow (db: Db, row: { workspaceId: string, messageId: string, channelId: string, now: number }): void {
  db.insert(messageOutbox).values({ workspaceId: row.workspaceId, messageId: row.messageId, channelId: row.channelId, nextAttemptAt: row.now, createdAt: row.now }).run()
}

export function outboxOfMessage (db: Db, workspaceId: string, messageId: string): OutboxRow | undefined {
  return db.select().from(messageOutbox).where(and(eq(messageOutbox.workspaceId, workspaceId), eq(messageOutbox.messageId, messageId))).get()
}

/**
 * Leases the next row that may be sent now, in one short IMMEDIATE transaction: pending and due by
 * `cutoff`, its channel active (rows of a number that needs reconnecting or is paused wait, uncounted;
 * rows of a disconnected number are leased so the worker fails them), and no earlier
 * row of the same conversation still pending or in flight (a conversation's messages go out in the order
 * they were queued: #2 waits until #1 was accepted or failed). Marks it `sending` until `leaseUntil` and
 * counts the attempt. Insertion order is the outbox rowid. The "earlier row" check walks the outbox's
 * pending/in-flight rows (CROSS JOIN and the unary + keep SQLite on the status index), never a
 * conversation's whole history: ~1 ms per lease with 10,000 queued rows and 5,000-message threads.
 */
export function leaseNextOutbox (db: Db, cutoff: number, now: number, leaseMs: number): OutboxRow | undefined {
  return db.transaction(tx => {
    const due = tx.get<{ id: string } | undefined>(sql`
      SELECT o.id AS id FROM message_outbox o
      JOIN messages m ON m.workspace_id = o.workspace_id AND m.id = o.message_id
      JOIN channels c ON c.workspace_id = o.workspace_id AND c.id = o.channel_id
      WHERE o.status = 'pending' AND o.next_attempt_at <= ${cutoff}
        AND ((c.status = 'active' AND c.deleted_at IS NULL) OR c.deleted_at IS NOT NULL)
        AND NOT EXISTS (
          SELECT 1 FROM message_outbox o2
          CROSS JOIN messages m2 ON m2.workspace_id = o2.workspace_id AND m2.id = o2.message_id
          WHERE o2.status IN ('pending', 'sending') AND +o2.workspace_id = o.workspace_id
            AND m2.conversation_id = m.conversation_id AND o2.rowid < o.rowid)
      ORDER BY o.next_attempt_at, o.rowid
      LIMIT 1`)
    if (due === undefined) return undefined
    return tx.update(messageOutbox)
      .set({ status: 'sending', leaseUntil: now + leaseMs, attempts: sql`${messageOutbox.attempts} + 1` })
      .where(eq(messageOutbox.id, due.id))
      .returning()
      .get()
  }, { behavior: 'immediate' })
}

/**
 * Rows left `sending` by a worker that died (lease expired): the request may have reached Meta, so they
 * become ambiguous — pending again, reconciled through status webhooks, re-sent only after `windowMs`.
 */
export function recoverExpiredLeases (db: Db, now: number, windowMs: number): number {
  return db.update(messageOutbox)
    .set({
      status: 'pending',
      leaseUntil: null,
      ambiguousSince: sql`coalesce(${messageOutbox.ambiguousSince}, ${now})`,
      nextAttemptAt: now + windowMs,
      lastError: 'the send was interrupted (restart or crash): waiting for Meta\'s status before sending again'
    })
    .where(and(eq(messageOutbox.status, 'sending'), lt(messageOutbox.leaseUntil, now)))
    .run().changes
}

/** Updates a leased row only while that lease still holds (a late worker never overwrites a newer one). */
export function settleOutbox (db: Db, row: Pick<OutboxRow, 'id' | 'leaseUntil'>, values: Partial<OutboxRow>): boolean {
  return db.update(messageOutbox).set(values)
    .where(and(eq(messageOutbox.id, row.id), eq(messageOutbox.status, 'sending'), eq(messageOutbox.leaseUntil, row.leaseUntil ?? -1)))
    .run().changes > 0
}

/** A pending ambiguous row whose message got its wamid from a status webhook: done, nothing to re-send. */
export function settleReconciled (db: Db, workspaceId: string, messageId: string, now: number): boolean {
  return db.update(messageOutbox)
    .set({ status: 'done', doneAt: now, leaseUntil: null, lastError: null })
    .where(and(
      eq(messageOutbox.workspaceId, workspaceId), eq(messageOutbox.messageId, messageId), eq(messageOutbox.status, 'pending'), isNotNull(messageOutbox.ambiguousSince),
      sql`exists (select 1 from messages m where m.workspace_id = ${messageOutbox.workspaceId} and m.id = ${messageOutbox.messageId} and m.wamid is not null)`
    ))
    .run().changes > 0
}

/** Stores new content for an outbound message (e.g. the uploaded media id). */
export function setMessageContent (db: Db, workspaceId: string, id: string, content: string, now: number): void {
  db.update(messages).set({ content, updatedAt: now }).where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, id))).run()
}

/** The wamid a queued message replies to (also in its content's context). */
export function setReplyTo (db: Db, workspaceId: string, id: string, wamid: string): void {
  db.update(messages).set({ replyToWamid: wamid }).where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, id))).run()
}

/**
 * Marks an outbound message failed with Meta's reason — only while nothing better is known (still
 * queued, no wamid): a later positive status is never overwritten. Returns whether it changed.
 */
export function markMessageFailed (db: Db, workspaceId: string, id: string, error: { code: number | null, title: string, detail: string | null }, now: number): boolean {
  const changed = db.update(messages)
    .set({ status: 'failed', failedAt: now, errorCode: error.code, errorTitle: error.title.slice(0, 300), errorDetail: error.detail?.slice(0, 1000) ?? null, updatedAt: now })
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, id), eq(messages.status, 'queued'), isNull(messages.wamid)))
    .run().changes > 0
  if (changed) queueHookEvent(db, workspaceId, 'message.status', { messageId: id, status: 'failed' }, now)
  return changed
}

// ── conversations: read ──

/** Sets the unread count to 0; returns whether it was not already. */
export function resetUnread (db: Db, workspaceId: string, conversationId: string, now: number): boolean {
  return db.update(conversations).set({ unreadCount: 0, updatedAt: now })
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, conversationId), ne(conversations.unreadCount, 0)))
    .run().changes > 0
}

/** The newest inbound message of a conversation that can be marked read (has a wamid; not a system notice). */
export function newestInbound (db: Db, workspaceId: string, conversationId: string): MessageRow | undefined {
  return db.select().from(messages)
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.conversationId, conversationId), eq(messages.direction, 'in'), isNotNull(messages.wamid), notInArray(messages.type, ['system', 'request_welcome'])))
    .orderBy(desc(messages.timestamp), desc(sql`rowid`))
    .limit(1)
    .get()
}

/** Claims the read receipt of an inbound message (readAt = when Weltra told the customer it was read): once per message. */
export function claimReadReceipt (db: Db, workspaceId: string, id: string, now: number): boolean {
  return db.update(messages).set({ readAt: now })
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, id), eq(messages.direction, 'in'), isNull(messages.readAt)))
    .run().changes > 0
}

/** Gives a claimed read receipt back (the Graph call failed), so a later opening tries again. */
export function releaseReadReceipt (db: Db, workspaceId: string, id: string, claimedAt: number): void {
  db.update(messages).set({ readAt: null })
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, id), eq(messages.readAt, claimedAt)))
    .run()
}

// ── templates ──

/** The cached templates of a WABA with this name (every language and status, deleted ones left out). */
export function templatesNamed (db: Db, workspaceId: string, wabaId: string, name: string): TemplateRow[] {
  return db.select().from(templates)
    .where(and(eq(templates.workspaceId, workspaceId), eq(templates.wabaId, wabaId), eq(templates.name, name), notInArray(templates.status, ['DELETED', 'PENDING_DELETION'])))
    .all()
}

/** Outbox rows by status (tests, health). */
export function outboxCounts (db: Db, workspaceId: string): Record<string, number> {
  const rows = db.select({ status: messageOutbox.status, n: sql<number>`count(*)` }).from(messageOutbox)
    .where(and(eq(messageOutbox.workspaceId, workspaceId), inArray(messageOutbox.status, ['pending', 'sending', 'done', 'failed'])))
    .groupBy(messageOutbox.status).all()
  return Object.fromEntries(rows.map(r => [r.status, r.n]))
}

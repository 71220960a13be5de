// The media table (and the one fact of the messages table media needs: a message's conversation).
// The file name is an encrypted column: plaintext here.
import { and, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { media, messages } from '../../db/schema.js'

export type MediaRow = typeof media.$inferSelect
export type NewMediaRow = typeof media.$inferInsert

/** Inserts a media row and returns its id. */
export function insertMedia (db: Db, row: NewMediaRow): string {
  return db.insert(media).values(row).returning({ id: media.id }).get().id
}

/**
 * Leases the next due item: pending, due by `cutoff`, and not leased (or its lease expired — the worker
 * died mid-download). Counts the attempt. One short IMMEDIATE transaction.
 */
export function leaseNextMedia (db: Db, cutoff: number, now: number, leaseMs: number): MediaRow | undefined {
  return db.transaction(tx => {
    const due = tx.select({ id: media.id }).from(media)
      .where(and(eq(media.status, 'pending'), lte(media.nextAttemptAt, cutoff), or(isNull(media.leaseUntil), lt(media.leaseUntil, now))))
      .orderBy(media.nextAttemptAt, media.id)
      .limit(1)
      .get()
    if (due === undefined) return undefined
    return tx.update(media)
      .set({ leaseUntil: now + leaseMs, attempts: sql`${media.attempts} + 1` })
      .where(eq(media.id, due.id))
      .returning()
      .get()
  }, { behavior: 'immediate' })
}

/** Updates a leased row only while that lease still holds (a late worker never overwrites a newer one). Returns whether it did. */
export function settleMedia (db: Db, row: Pick<MediaRow, 'id' | 'leaseUntil'>, values: Partial<NewMediaRow>): boolean {
  const r = db.update(media).set(values)
    .where(and(eq(media.id, row.id), eq(media.status, 'pending'), eq(media.leaseUntil, row.leaseUntil ?? -1)))
    .run()
  return r.changes > 0
}

/** A media item of a workspace, or undefined (other workspaces' ids look unknown). */
export function findMedia (db: Db, workspaceId: string, id: string): MediaRow | undefined {
  return db.select().from(media).where(and(eq(media.workspaceId, workspaceId), eq(media.id, id))).get()
}

/** The conversation a message belongs to. */
export function conversationOfMessage (db: Db, workspaceId: string, messageId: string): string | undefined {
  return db.select({ conversationId: messages.conversationId }).from(messages)
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, messageId))).get()?.conversationId
}

/**
 * Makes a channel's items that wait for it (lastError starting with `marker`) due now — the channel came
 * back, e.g. after a reconnect. Items in an ordinary backoff keep their time. Returns how many.
 */
export function wakeChannelMedia (db: Db, workspaceId: string, channelId: string, marker: string, now: number): number {
  return db.update(media).set({ nextAttemptAt: now })
    .where(and(
      eq(media.workspaceId, workspaceId), eq(media.channelId, channelId), eq(media.status, 'pending'), gt(media.nextAttemptAt, now),
      sql`substr(${media.lastError}, 1, ${marker.length}) = ${marker}`
    ))
    .run().changes
}

/** Every stored item's workspace and id (for key rotation over the files). */
export function storedMediaIds (db: Db, afterId: string, limit: number): Array<{ id: string, workspaceId: string }> {
  return db.select({ id: media.id, workspaceId: media.workspaceId }).from(media)
    .where(and(eq(media.status, 'stored'), gt(media.id, afterId)))
    .orderBy(media.id)
    .limit(limit)
    .all()
}

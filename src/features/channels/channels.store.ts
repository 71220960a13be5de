// WhatsApp channels (connected numbers). Credentials are encrypted columns: plaintext here.
import { and, eq, isNull } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { channels } from '../../db/schema.js'

export type Channel = typeof channels.$inferSelect
export type NewChannel = typeof channels.$inferInsert

/** Inserts a channel and returns it. */
export function insertChannel (db: Db, row: NewChannel): Channel {
  return db.insert(channels).values(row).returning().get()
}

/** The live channel behind a callback URL, or undefined. Not workspace-scoped: the URL is the key. */
export function findChannelByPublicId (db: Db, publicId: string): Channel | undefined {
  return db.select().from(channels).where(and(eq(channels.publicId, publicId), isNull(channels.deletedAt))).get()
}

/** Records that Meta completed the verification handshake. */
export function markWebhookVerified (db: Db, workspaceId: string, id: string, now: number): void {
  db.update(channels).set({ webhookVerifiedAt: now, updatedAt: now }).where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id))).run()
}

/** Records the time of the latest signed delivery. */
export function touchLastWebhook (db: Db, workspaceId: string, id: string, now: number): void {
  db.update(channels).set({ lastWebhookAt: now }).where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id))).run()
}

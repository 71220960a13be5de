// WhatsApp channels (connected numbers). Credentials are encrypted columns: plaintext here.
import { and, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { channelIssues, channels } from '../../db/schema.js'

export type Channel = typeof channels.$inferSelect
export type NewChannel = typeof channels.$inferInsert

/** Inserts a channel and returns it. */
export function insertChannel (db: Db, row: NewChannel): Channel {
  return db.insert(channels).values(row).returning().get()
}

// The webhook hot path runs these for every delivery: prepared once per database handle.
const prepared = new WeakMap<Db, ReturnType<typeof prepare>>()
function prepare (db: Db) {
  return {
    byPublicId: db.select().from(channels).where(and(eq(channels.publicId, sql.placeholder('publicId')), isNull(channels.deletedAt))).prepare(),
    touch: db.update(channels).set({ lastWebhookAt: sql.placeholder('now') as unknown as number })
      .where(and(eq(channels.workspaceId, sql.placeholder('workspaceId')), eq(channels.id, sql.placeholder('id')))).prepare()
  }
}
function statements (db: Db): ReturnType<typeof prepare> {
  let s = prepared.get(db)
  if (s === undefined) { s = prepare(db); prepared.set(db, s) }
  return s
}

/** The live channel behind a callback URL, or undefined. Not workspace-scoped: the URL is the key. */
export function findChannelByPublicId (db: Db, publicId: string): Channel | undefined {
  return statements(db).byPublicId.get({ publicId })
}

/** Records that Meta completed the verification handshake. */
export function markWebhookVerified (db: Db, workspaceId: string, id: string, now: number): void {
  db.update(channels).set({ webhookVerifiedAt: now, updatedAt: now }).where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id))).run()
}

/** Records the time of the latest signed delivery. */
export function touchLastWebhook (db: Db, workspaceId: string, id: string, now: number): void {
  statements(db).touch.run({ workspaceId, id, now })
}

/** A live channel of a workspace, or undefined (other workspaces' ids look like unknown ids). */
export function findChannel (db: Db, workspaceId: string, id: string): Channel | undefined {
  return db.select().from(channels).where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id), isNull(channels.deletedAt))).get()
}

/** Records something the channel's health panel should show. */
export function insertChannelIssue (db: Db, row: typeof channelIssues.$inferInsert): void {
  db.insert(channelIssues).values(row).run()
}

/** Marks a channel as needing attention (e.g. Meta answered 190: the token expired or was revoked). */
export function setChannelStatus (db: Db, workspaceId: string, id: string, status: Channel['status'], detail: string | null, now: number): void {
  db.update(channels).set({ status, statusDetail: detail, updatedAt: now }).where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id))).run()
}

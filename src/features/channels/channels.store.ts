// WhatsApp channels (connected numbers). Credentials are encrypted columns: plaintext here.
import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { ph, prepared } from '../../db/prepared.js'
import { channelIssues, channels } from '../../db/schema.js'

export type Channel = typeof channels.$inferSelect
export type NewChannel = typeof channels.$inferInsert

/** Inserts a channel and returns it. */
export function insertChannel (db: Db, row: NewChannel): Channel {
  return db.insert(channels).values(row).returning().get()
}

// The webhook hot path runs these for every delivery: prepared once per database handle.
function statements (db: Db) {
  return prepared(db, 'channels.hot', () => ({
    byPublicId: db.select().from(channels).where(and(eq(channels.publicId, ph('publicId')), isNull(channels.deletedAt))).prepare(),
    byId: db.select().from(channels).where(and(eq(channels.workspaceId, ph('workspaceId')), eq(channels.id, ph('id')), isNull(channels.deletedAt))).prepare(),
    touch: db.update(channels).set({ lastWebhookAt: ph<number>('now') })
      .where(and(eq(channels.workspaceId, ph('workspaceId')), eq(channels.id, ph('id')))).prepare()
  }))
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
  return statements(db).byId.get({ workspaceId, id })
}

/** Records something the channel's health panel should show. */
export function insertChannelIssue (db: Db, row: typeof channelIssues.$inferInsert): void {
  db.insert(channelIssues).values(row).run()
}

/** Marks a channel as needing attention (e.g. Meta answered 190: the token expired or was revoked). */
export function setChannelStatus (db: Db, workspaceId: string, id: string, status: Channel['status'], detail: string | null, now: number): void {
  db.update(channels).set({ status, statusDetail: detail, updatedAt: now }).where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id))).run()
}

// ── settings pages: lists, updates and the health panel ──

/** What lists and pages show of a channel: never a credential (those stay encrypted, unread). */
export const channelSummaryColumns = {
  id: channels.id,
  workspaceId: channels.workspaceId,
  publicId: channels.publicId,
  name: channels.name,
  wabaId: channels.wabaId,
  phoneNumberId: channels.phoneNumberId,
  displayPhoneNumber: channels.displayPhoneNumber,
  verifiedName: channels.verifiedName,
  qualityRating: channels.qualityRating,
  messagingTier: channels.messagingTier,
  graphApiVersion: channels.graphApiVersion,
  accessTokenLast4: channels.accessTokenLast4,
  status: channels.status,
  statusDetail: channels.statusDetail,
  webhookVerifiedAt: channels.webhookVerifiedAt,
  lastWebhookAt: channels.lastWebhookAt,
  tokenCheckedAt: channels.tokenCheckedAt,
  subscribedAt: channels.subscribedAt,
  sandbox: channels.sandbox,
  createdAt: channels.createdAt,
  updatedAt: channels.updatedAt
}

export type ChannelSummary = { [K in keyof typeof channelSummaryColumns]: Channel[K] }

/** The live channels of a workspace, oldest first, without credentials. */
export function listChannelSummaries (db: Db, workspaceId: string): ChannelSummary[] {
  return db.select(channelSummaryColumns).from(channels)
    .where(and(eq(channels.workspaceId, workspaceId), isNull(channels.deletedAt)))
    .orderBy(channels.createdAt, channels.id)
    .all()
}

/** How many live channels a workspace has (all workspaces when workspaceId is undefined). */
export function countLiveChannels (db: Db, workspaceId?: string): number {
  const row = db.select({ n: sql<number>`count(*)` }).from(channels)
    .where(and(workspaceId === undefined ? undefined : eq(channels.workspaceId, workspaceId), isNull(channels.deletedAt)))
    .get()
  return row?.n ?? 0
}

/** A live channel of the workspace with this phone number id, or undefined. */
export function findChannelByPhoneNumberId (db: Db, workspaceId: string, phoneNumberId: string): ChannelSummary | undefined {
  return db.select(channelSummaryColumns).from(channels)
    .where(and(eq(channels.workspaceId, workspaceId), eq(channels.phoneNumberId, phoneNumberId), isNull(channels.deletedAt)))
    .get()
}

/** Updates a live channel of the workspace; returns whether one was changed. */
export function updateChannel (db: Db, workspaceId: string, id: string, changes: Partial<Omit<NewChannel, 'id' | 'workspaceId' | 'publicId' | 'createdAt'>>): boolean {
  return db.update(channels).set(changes)
    .where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id), isNull(channels.deletedAt)))
    .run().changes > 0
}

export type ChannelIssue = typeof channelIssues.$inferSelect

/** The latest problems recorded for a channel, newest first. */
export function listChannelIssues (db: Db, workspaceId: string, channelId: string, limit: number): ChannelIssue[] {
  return db.select().from(channelIssues)
    .where(and(eq(channelIssues.workspaceId, workspaceId), eq(channelIssues.channelId, channelId)))
    .orderBy(desc(channelIssues.at), desc(channelIssues.id))
    .limit(limit)
    .all()
}

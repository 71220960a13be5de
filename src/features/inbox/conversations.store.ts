// The inbox's reads and writes of conversations: the filtered, keyset-paginated list, the thread's
// pages, labels, assignment and member availability. Every query names the workspace. Names of
// contacts are plaintext by design (searched with LIKE); message content decrypts transparently.
import { and, asc, count, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { channels, contacts, conversationLabels, conversations, labels, media, memberships, messageReactions, messages, users } from '../../db/schema.js'
import { hash53 } from '../../platform/crypto/index.js'
import { ph, prepared } from '../../db/prepared.js'

export type ConversationRow = typeof conversations.$inferSelect
export type MessageRow = typeof messages.$inferSelect
export type LabelRow = typeof labels.$inferSelect
export type MediaItem = typeof media.$inferSelect

/** A keyset position in a list sorted by (time desc, id desc) or a thread sorted by (time asc, id asc). */
export interface Cursor { at: number, id: string }

export type Status = ConversationRow['status']

export interface ListQuery {
  status: Status
  /** 'mine': assigned to userId; 'unassigned'; 'all'. */
  view: 'mine' | 'unassigned' | 'all'
  userId: string
  labelId?: string | undefined
  channelId?: string | undefined
  /** LIKE pattern on the contact's name or profile name (already escaped, with % around). */
  namePattern?: string | undefined
  /** Contacts matched exactly (phone search). */
  contactIds?: string[] | undefined
  /** Rows strictly older than this (the next page). */
  after?: Cursor | undefined
  /** Rows at or newer than this (a refresh of everything shown so far). */
  upto?: Cursor | undefined
  limit: number
}

export interface ListRow {
  id: string
  status: Status
  channelId: string
  contactId: string
  assigneeId: string | null
  lastMessageAt: number
  lastInboundAt: number | null
  unreadCount: number
  snoozedUntil: number | null
  lastMessageId: string | null
  contactName: string | null
  contactProfileName: string | null
  contactUsername: string | null
  assigneeName: string | null
}

/** Escapes LIKE wildcards (the pattern uses ESCAPE '\'). */
export function likeEscape (text: string): string {
  return text.replace(/[\\%_]/g, c => '\\' + c)
}

function viewCondition (q: Pick<ListQuery, 'view' | 'userId'>): SQL | undefined {
  if (q.view === 'mine') return eq(conversations.assigneeId, q.userId)
  if (q.view === 'unassigned') return isNull(conversations.assigneeId)
  return undefined
}

function searchCondition (q: Pick<ListQuery, 'namePattern' | 'contactIds'>): SQL | undefined {
  const parts: SQL[] = []
  if (q.namePattern !== undefined) {
    parts.push(sql`(${contacts.name} LIKE ${q.namePattern} ESCAPE '\\' OR ${contacts.profileName} LIKE ${q.namePattern} ESCAPE '\\' OR ${contacts.username} LIKE ${q.namePattern} ESCAPE '\\')`)
  }
  // A full phone number that matched a contact: that contact's conversations only (conversations_contact), not also a name scan.
  if (q.contactIds !== undefined && q.contactIds.length > 0) return inArray(conversations.contactId, q.contactIds)
  if (parts.length === 0) return q.contactIds !== undefined ? sql`0` : undefined
  return parts.length === 1 ? parts[0] : or(...parts)
}

/** One page of the conversation list, newest activity first; `more` says whether older rows exist. */
export function listConversations (db: Db, workspaceId: string, q: ListQuery): { rows: ListRow[], more: boolean } {
  const where = and(
    eq(conversations.workspaceId, workspaceId),
    eq(conversations.status, q.status),
    viewCondition(q),
    q.channelId === undefined ? undefined : eq(conversations.channelId, q.channelId),
    q.labelId === undefined
      ? undefined
      // The label's conversations as a list SQLite can test each row against (it builds a Bloom filter).
      // Without statistics the plan still walks the status index newest first (EXPLAIN QUERY PLAN on the
      // bench seed), so a rare label stays slow: see BENCHMARKS.md, Inbox.
      : inArray(conversations.id, db.select({ id: conversationLabels.conversationId }).from(conversationLabels).where(and(eq(conversationLabels.workspaceId, workspaceId), eq(conversationLabels.labelId, q.labelId)))),
    searchCondition(q),
    q.after === undefined ? undefined : or(lt(conversations.lastMessageAt, q.after.at), and(eq(conversations.lastMessageAt, q.after.at), lt(conversations.id, q.after.id))),
    q.upto === undefined ? undefined : or(gt(conversations.lastMessageAt, q.upto.at), and(eq(conversations.lastMessageAt, q.upto.at), gte(conversations.id, q.upto.id)))
  )
  const rows = db.select({
    id: conversations.id,
    status: conversations.status,
    channelId: conversations.channelId,
    contactId: conversations.contactId,
    assigneeId: conversations.assigneeId,
    lastMessageAt: conversations.lastMessageAt,
    lastInboundAt: conversations.lastInboundAt,
    unreadCount: conversations.unreadCount,
    snoozedUntil: conversations.snoozedUntil,
    lastMessageId: conversations.lastMessageId,
    contactName: contacts.name,
    contactProfileName: contacts.profileName,
    contactUsername: contacts.username,
    assigneeName: users.name
  })
    .from(conversations)
    .innerJoin(contacts, and(eq(contacts.workspaceId, conversations.workspaceId), eq(contacts.id, conversations.contactId)))
    .leftJoin(users, eq(users.id, conversations.assigneeId))
    .where(where)
    .orderBy(desc(conversations.lastMessageAt), desc(conversations.id))
    .limit(q.limit + 1)
    .all()
  return { rows: rows.slice(0, q.limit), more: rows.length > q.limit }
}

/** How many conversations of a status are mine, unassigned, and in total (the filter tabs' counts). */
/** Counts above this are shown as "999+": counting stops there, so a tab count costs the same at any size. */
export const viewCountCap = 1000

/**
 * The Mine and Unassigned tab counts for a status, each capped at viewCountCap. Each is a range of
 * the conversations_assignee index (workspace, assignee, status …), never a scan of the status.
 */
export function viewCounts (db: Db, workspaceId: string, status: Status, userId: string): { mine: number, unassigned: number } {
  const statements = prepared(db, 'conversations.viewCounts', () => {
    const capped = (who: SQL) => db.select({ n: count() }).from(db.select({ one: sql`1` }).from(conversations)
      .where(and(eq(conversations.workspaceId, ph('workspaceId')), who, eq(conversations.status, ph<Status>('status'))))
      .limit(viewCountCap).as('capped')).prepare()
    return { mine: capped(eq(conversations.assigneeId, ph('userId'))), unassigned: capped(isNull(conversations.assigneeId)) }
  })
  return {
    mine: statements.mine.get({ workspaceId, userId, status })?.n ?? 0,
    unassigned: statements.unassigned.get({ workspaceId, status })?.n ?? 0
  }
}

export function findConversationRow (db: Db, workspaceId: string, id: string): ConversationRow | undefined {
  return db.select().from(conversations).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id))).get()
}

/** The conversations among `ids` that belong to the workspace. */
export function conversationsIn (db: Db, workspaceId: string, ids: string[]): ConversationRow[] {
  if (ids.length === 0) return []
  return db.select().from(conversations).where(and(eq(conversations.workspaceId, workspaceId), inArray(conversations.id, ids))).all()
}

export function setConversation (db: Db, workspaceId: string, id: string, set: Partial<typeof conversations.$inferInsert>): void {
  db.update(conversations).set(set).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id))).run()
}

/** The contact's other conversations, most recent first. */
export function contactConversations (db: Db, workspaceId: string, contactId: string, exceptId: string, limit: number): ConversationRow[] {
  return db.select().from(conversations)
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.contactId, contactId), ne(conversations.id, exceptId)))
    .orderBy(desc(conversations.lastMessageAt)).limit(limit).all()
}

/** Snoozed conversations whose time has come (all workspaces). */
export function dueSnoozed (db: Db, now: number, limit: number): Array<{ id: string, workspaceId: string }> {
  return db.select({ id: conversations.id, workspaceId: conversations.workspaceId }).from(conversations)
    .where(and(eq(conversations.status, 'snoozed'), isNotNull(conversations.snoozedUntil), lte(conversations.snoozedUntil, now)))
    .limit(limit).all()
}

// ── messages ──

/** Messages by id (for list previews). */
export function messagesByIds (db: Db, workspaceId: string, ids: string[]): Map<string, MessageRow> {
  if (ids.length === 0) return new Map()
  const rows = db.select().from(messages).where(and(eq(messages.workspaceId, workspaceId), inArray(messages.id, ids))).all()
  return new Map(rows.map(r => [r.id, r]))
}

/**
 * A page of a thread in chronological order: the newest `limit` messages; with `before`, the `limit`
 * messages older than it; with `from`, every message from it on (a refresh of what is shown, capped).
 */
export function threadMessages (db: Db, workspaceId: string, conversationId: string, page: { before?: Cursor | undefined, from?: Cursor | undefined, limit: number }): { rows: MessageRow[], older: boolean } {
  const base = and(eq(messages.workspaceId, workspaceId), eq(messages.conversationId, conversationId))
  if (page.from !== undefined) {
    const from = page.from
    const rows = db.select().from(messages)
      .where(and(base, or(gt(messages.timestamp, from.at), and(eq(messages.timestamp, from.at), gte(messages.id, from.id)))))
      .orderBy(desc(messages.timestamp), desc(messages.id)).limit(page.limit + 1).all()
    const older = rows.length > page.limit || olderExists(db, workspaceId, conversationId, rows.at(Math.min(rows.length, page.limit) - 1))
    return { rows: rows.slice(0, page.limit).reverse(), older }
  }
  const before = page.before
  const rows = db.select().from(messages)
    .where(and(base, before === undefined ? undefined : or(lt(messages.timestamp, before.at), and(eq(messages.timestamp, before.at), lt(messages.id, before.id)))))
    .orderBy(desc(messages.timestamp), desc(messages.id)).limit(page.limit + 1).all()
  return { rows: rows.slice(0, page.limit).reverse(), older: rows.length > page.limit }
}

function olderExists (db: Db, workspaceId: string, conversationId: string, oldest: MessageRow | undefined): boolean {
  if (oldest === undefined) return false
  return db.select({ id: messages.id }).from(messages)
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.conversationId, conversationId), or(lt(messages.timestamp, oldest.timestamp), and(eq(messages.timestamp, oldest.timestamp), lt(messages.id, oldest.id)))))
    .limit(1).get() !== undefined
}

/** The media rows of messages, by message id. */
export function mediaOfMessages (db: Db, workspaceId: string, messageIds: string[]): Map<string, MediaItem> {
  if (messageIds.length === 0) return new Map()
  const rows = db.select().from(media).where(and(eq(media.workspaceId, workspaceId), inArray(media.messageId, messageIds))).all()
  return new Map(rows.map(r => [r.messageId, r]))
}

/** The reactions still set on each of `wamids`, by wamid. */
export function reactionsOf (db: Db, workspaceId: string, wamids: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (wamids.length === 0) return out
  const wanted = new Set(wamids)
  const keys = [...new Set(wamids.map(w => hash53(w)))]
  const rows = db.select({ wamid: messageReactions.targetWamid, emoji: messageReactions.emoji }).from(messageReactions)
    .where(and(eq(messageReactions.workspaceId, workspaceId), inArray(messageReactions.targetWamidKey, keys), isNotNull(messageReactions.emoji)))
    .orderBy(asc(messageReactions.timestamp)).all()
  for (const r of rows) {
    if (!wanted.has(r.wamid) || r.emoji === null) continue
    const list = out.get(r.wamid) ?? []
    list.push(r.emoji)
    out.set(r.wamid, list)
  }
  return out
}

/** The names of people (message authors, assignees), by user id. */
export function userNames (db: Db, ids: string[]): Map<string, string> {
  const unique = [...new Set(ids)]
  if (unique.length === 0) return new Map()
  return new Map(db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, unique)).all().map(r => [r.id, r.name]))
}

// ── channels and contacts (read-only joins for the views) ──

export interface ChannelBrief { id: string, name: string, displayPhoneNumber: string, status: 'active' | 'needs_reconnect' | 'paused', sandbox: boolean }

export function workspaceChannels (db: Db, workspaceId: string): ChannelBrief[] {
  return db.select({ id: channels.id, name: channels.name, displayPhoneNumber: channels.displayPhoneNumber, status: channels.status, sandbox: channels.sandbox })
    .from(channels).where(and(eq(channels.workspaceId, workspaceId), isNull(channels.deletedAt))).orderBy(asc(channels.name)).all()
}

/** A channel of the workspace, even a disconnected one (its conversations stay readable). */
export function channelBrief (db: Db, workspaceId: string, id: string): ChannelBrief | undefined {
  return db.select({ id: channels.id, name: channels.name, displayPhoneNumber: channels.displayPhoneNumber, status: channels.status, sandbox: channels.sandbox })
    .from(channels).where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id))).get()
}

/** A contact of the workspace by id, merged or not (conversations keep pointing at it). */
export function contactById (db: Db, workspaceId: string, id: string): typeof contacts.$inferSelect | undefined {
  return db.select().from(contacts).where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id))).get()
}

// ── labels ──

export function listLabels (db: Db, workspaceId: string): LabelRow[] {
  return db.select().from(labels).where(eq(labels.workspaceId, workspaceId)).orderBy(asc(sql`lower(${labels.name})`)).all()
}

export function findLabel (db: Db, workspaceId: string, id: string): LabelRow | undefined {
  return db.select().from(labels).where(and(eq(labels.workspaceId, workspaceId), eq(labels.id, id))).get()
}

export function findLabelByName (db: Db, workspaceId: string, name: string): LabelRow | undefined {
  return db.select().from(labels).where(and(eq(labels.workspaceId, workspaceId), sql`lower(${labels.name}) = lower(${name})`)).get()
}

export function insertLabel (db: Db, row: { workspaceId: string, name: string, colour: number, createdAt: number }): LabelRow {
  return db.insert(labels).values(row).returning().get()
}

/** The labels of each conversation among `ids`, by conversation id (label order: by name). */
export function labelsOfConversations (db: Db, workspaceId: string, ids: string[]): Map<string, LabelRow[]> {
  const out = new Map<string, LabelRow[]>()
  if (ids.length === 0) return out
  const rows = db.select({ conversationId: conversationLabels.conversationId, label: labels }).from(conversationLabels)
    .innerJoin(labels, and(eq(labels.workspaceId, conversationLabels.workspaceId), eq(labels.id, conversationLabels.labelId)))
    .where(and(eq(conversationLabels.workspaceId, workspaceId), inArray(conversationLabels.conversationId, ids)))
    .orderBy(asc(sql`lower(${labels.name})`)).all()
  for (const r of rows) {
    const list = out.get(r.conversationId) ?? []
    list.push(r.label)
    out.set(r.conversationId, list)
  }
  return out
}

/** Adds a label to a conversation; true when it was not there yet. */
export function addConversationLabel (db: Db, workspaceId: string, conversationId: string, labelId: string, now: number): boolean {
  return db.insert(conversationLabels).values({ workspaceId, conversationId, labelId, createdAt: now }).onConflictDoNothing().run().changes > 0
}

export function removeConversationLabel (db: Db, workspaceId: string, conversationId: string, labelId: string): boolean {
  return db.delete(conversationLabels).where(and(eq(conversationLabels.workspaceId, workspaceId), eq(conversationLabels.conversationId, conversationId), eq(conversationLabels.labelId, labelId))).run().changes > 0
}

// ── members: who can be assigned, availability, round robin ──

/** A member as the inbox shows one; email only seeds the avatar colour (as the app shell does). */
export interface MemberBrief { userId: string, name: string, email: string, role: 'owner' | 'admin' | 'agent', available: boolean }

export function membersOf (db: Db, workspaceId: string): MemberBrief[] {
  return db.select({ userId: users.id, name: users.name, email: users.email, role: memberships.role, available: memberships.available }).from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), isNull(users.deletedAt)))
    .orderBy(asc(sql`lower(${users.name})`)).all()
}

export function memberOf (db: Db, workspaceId: string, userId: string): MemberBrief | undefined {
  return db.select({ userId: users.id, name: users.name, email: users.email, role: memberships.role, available: memberships.available }).from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId), isNull(users.deletedAt))).get()
}

export function setMemberAvailable (db: Db, workspaceId: string, userId: string, available: boolean, now: number): void {
  db.update(memberships).set({ available, updatedAt: now }).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId))).run()
}

/** The available member who has waited longest for a conversation (never assigned first). */
export function nextRoundRobin (db: Db, workspaceId: string): string | undefined {
  return db.select({ userId: memberships.userId }).from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.available, true), isNull(users.deletedAt)))
    .orderBy(sql`${memberships.lastAssignedAt} IS NOT NULL`, asc(memberships.lastAssignedAt), asc(memberships.createdAt), asc(memberships.userId))
    .limit(1).get()?.userId
}

/**
 * Records that round robin just gave `userId` a conversation. The time is kept strictly after every
 * earlier assignment of the workspace: several new conversations processed in one batch share one
 * `now`, and ties would hand them all to the same member.
 */
export function markAssigned (db: Db, workspaceId: string, userId: string, now: number): void {
  const latest = db.select({ at: sql<number | null>`max(${memberships.lastAssignedAt})` }).from(memberships).where(eq(memberships.workspaceId, workspaceId)).get()?.at ?? null
  const at = latest === null ? now : Math.max(now, Number(latest) + 1)
  db.update(memberships).set({ lastAssignedAt: at }).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId))).run()
}

// The inbox's reads and writes of conversations: the filtered, keyset-paginated list, the thread's
// pages, labels, assignment and member availability. Every query names the workspace. Names of
// contacts are plaintext by design (searched with LIKE); message content decrypts transparently.
import { and, asc, count, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { channels, contacts, conversationLabels, conversations, labels, media, memberships, messageReactions, messages, users } from '../../db/schema.js'
import { hash53 } from '../../platform/crypto/index.js'
import { inJsonList, ph, prepared } from '../../db/prepared.js'
import { queueConversationChange } from '../hooks/hooks.queue.js'

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
  /** Contacts matched exactly (phone search, or the few a name search found). */
  contactIds?: string[] | undefined
  /** An FTS5 phrase for contacts_name_search (migration 0006): a name search matching many contacts. */
  nameMatch?: string | undefined
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

/**
 * Up to this many contacts (a phone number, a rare name), the list starts from their conversations
 * (conversations_contact) and sorts the few it finds; more, it walks the status newest first and
 * tests each row against the list.
 */
const fewContacts = 100

/**
 * A label with more conversations than this is tested row by row (a primary-key probe per row
 * walked: cheap when the label is common, so matches come quickly); a smaller one is read whole
 * first (conversation_labels_label) and each row is tested against that list. Measured on the
 * bench seed: both stay under ~2 ms of SQL; the wrong one of the two takes 8–19 ms.
 */
const commonLabel = 3000

/** The shape of a list query: which conditions it has. Each shape is one prepared statement. */
function listShape (db: Db, workspaceId: string, q: ListQuery): string {
  const search = q.contactIds !== undefined && q.contactIds.length > 0
    ? (q.contactIds.length <= fewContacts ? 'few' : 'contacts')
    : q.nameMatch !== undefined ? 'indexed-name' : q.namePattern !== undefined ? 'name' : q.contactIds !== undefined ? 'nothing' : '-'
  const label = q.labelId === undefined ? '-' : labelSize(db, workspaceId, q.labelId) > commonLabel ? 'common-label' : 'label'
  return [q.view, label, q.channelId === undefined ? '-' : 'channel', search, q.after === undefined ? '-' : 'after', q.upto === undefined ? '-' : 'upto'].join('|')
}

/** How many conversations carry a label, counted up to just past commonLabel. */
function labelSize (db: Db, workspaceId: string, labelId: string): number {
  return prepared(db, 'conversationLabels.size', () => db.select({ n: count() }).from(db.select({ one: sql`1` }).from(conversationLabels)
    .where(and(eq(conversationLabels.workspaceId, ph('workspaceId')), eq(conversationLabels.labelId, ph('labelId')))).limit(commonLabel + 1).as('capped')).prepare())
    .get({ workspaceId, labelId })?.n ?? 0
}

function listStatement (db: Db, workspaceId: string, q: ListQuery) {
  const shape = listShape(db, workspaceId, q)
  return prepared(db, `conversations.list:${shape}`, () => {
    const [view, label, channel, search, after, upto] = shape.split('|')
    const pattern = ph('namePattern')
    const where = and(
      eq(conversations.workspaceId, ph('workspaceId')),
      eq(conversations.status, ph<Status>('status')),
      view === 'mine' ? eq(conversations.assigneeId, ph('userId')) : view === 'unassigned' ? isNull(conversations.assigneeId) : undefined,
      channel === 'channel' ? eq(conversations.channelId, ph('channelId')) : undefined,
      // A rare label: its conversations as a list (a Bloom filter) each walked row is tested against.
      label === 'label'
        ? inArray(conversations.id, db.select({ id: conversationLabels.conversationId }).from(conversationLabels).where(and(eq(conversationLabels.workspaceId, ph('workspaceId')), eq(conversationLabels.labelId, ph('labelId')))))
        : undefined,
      // A common label: a probe of conversation_labels' primary key per walked row.
      label === 'common-label'
        ? sql`EXISTS (SELECT 1 FROM ${conversationLabels} WHERE ${conversationLabels.workspaceId} = ${conversations.workspaceId} AND ${conversationLabels.conversationId} = ${conversations.id} AND ${conversationLabels.labelId} = ${ph('labelId')})`
        : undefined,
      // Many contacts (a common name): each walked row is tested against the list.
      search === 'contacts' ? inJsonList(conversations.contactId, 'contactIds') : undefined,
      // Few contacts (a phone number, a rare name): the query starts from them (the cross join below fixes the order).
      search === 'few' ? sql`${conversations.contactId} = few.value` : undefined,
      search === 'nothing' ? sql`0` : undefined,
      // A name many contacts match: each walked row's contact is tested against the trigram index's
      // answer (a Bloom filter); the "+" keeps SQLite from looping over that answer per row instead.
      search === 'indexed-name' ? sql`+${contacts}.rowid IN (SELECT rowid FROM contacts_name_search WHERE contacts_name_search MATCH ${ph('nameMatch')})` : undefined,
      search === 'name' ? sql`(${contacts.name} LIKE ${pattern} ESCAPE '\\' OR ${contacts.profileName} LIKE ${pattern} ESCAPE '\\' OR ${contacts.username} LIKE ${pattern} ESCAPE '\\')` : undefined,
      after === 'after' ? or(lt(conversations.lastMessageAt, ph<number>('afterAt')), and(eq(conversations.lastMessageAt, ph<number>('afterAt')), lt(conversations.id, ph('afterId')))) : undefined,
      upto === 'upto' ? or(gt(conversations.lastMessageAt, ph<number>('uptoAt')), and(eq(conversations.lastMessageAt, ph<number>('uptoAt')), gte(conversations.id, ph('uptoId')))) : undefined
    )
    const select = db.select({
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
    const from = search === 'few' ? select.from(sql`json_each(${ph('contactIds')}) AS few`).crossJoin(conversations) : select.from(conversations)
    return from
      .innerJoin(contacts, and(eq(contacts.workspaceId, conversations.workspaceId), eq(contacts.id, conversations.contactId)))
      .leftJoin(users, eq(users.id, conversations.assigneeId))
      .where(where)
      .orderBy(desc(conversations.lastMessageAt), desc(conversations.id))
      .limit(ph<number>('limit'))
      .prepare()
  })
}

/** One page of the conversation list, newest activity first; `more` says whether older rows exist. */
export function listConversations (db: Db, workspaceId: string, q: ListQuery): { rows: ListRow[], more: boolean } {
  const rows = listStatement(db, workspaceId, q).all({
    workspaceId,
    status: q.status,
    userId: q.userId,
    labelId: q.labelId,
    channelId: q.channelId,
    namePattern: q.namePattern,
    nameMatch: q.nameMatch,
    contactIds: q.contactIds === undefined ? undefined : JSON.stringify(q.contactIds),
    afterAt: q.after?.at,
    afterId: q.after?.id,
    uptoAt: q.upto?.at,
    uptoId: q.upto?.id,
    limit: q.limit + 1
  })
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
  return prepared(db, 'conversations.byId', () => db.select().from(conversations).where(and(eq(conversations.workspaceId, ph('workspaceId')), eq(conversations.id, ph('id')))).prepare())
    .get({ workspaceId, id })
}

/** The conversations among `ids` that belong to the workspace. */
export function conversationsIn (db: Db, workspaceId: string, ids: string[]): ConversationRow[] {
  if (ids.length === 0) return []
  return db.select().from(conversations).where(and(eq(conversations.workspaceId, workspaceId), inArray(conversations.id, ids))).all()
}

export function setConversation (db: Db, workspaceId: string, id: string, set: Partial<typeof conversations.$inferInsert>): void {
  queueConversationChange(db, workspaceId, id, set)
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

/** What a list preview needs of a message. */
export type MessagePreviewRow = Pick<MessageRow, 'id' | 'direction' | 'content' | 'status' | 'revokedAt'>

/** The preview columns of messages by id (the list's last messages; a conversation's others). */
export function messagePreviews (db: Db, workspaceId: string, ids: string[]): Map<string, MessagePreviewRow> {
  if (ids.length === 0) return new Map()
  const rows = prepared(db, 'messages.previews', () => db.select({ id: messages.id, direction: messages.direction, content: messages.content, status: messages.status, revokedAt: messages.revokedAt })
    .from(messages).where(and(eq(messages.workspaceId, ph('workspaceId')), inJsonList(messages.id, 'ids'))).prepare())
    .all({ workspaceId, ids: JSON.stringify(ids) })
  return new Map(rows.map(r => [r.id, r]))
}

/**
 * A page of a thread in chronological order: the newest `limit` messages; with `before`, the `limit`
 * messages older than it; with `from`, every message from it on (a refresh of what is shown, capped).
 */
export function threadMessages (db: Db, workspaceId: string, conversationId: string, page: { before?: Cursor | undefined, from?: Cursor | undefined, limit: number }): { rows: MessageRow[], older: boolean } {
  const statements = prepared(db, 'messages.thread', () => {
    const base = and(eq(messages.workspaceId, ph('workspaceId')), eq(messages.conversationId, ph('conversationId')))
    const page = (cond: SQL | undefined) => db.select().from(messages).where(and(base, cond)).orderBy(desc(messages.timestamp), desc(messages.id)).limit(ph<number>('limit')).prepare()
    return {
      newest: page(undefined),
      before: page(or(lt(messages.timestamp, ph<number>('at')), and(eq(messages.timestamp, ph<number>('at')), lt(messages.id, ph('id'))))),
      from: page(or(gt(messages.timestamp, ph<number>('at')), and(eq(messages.timestamp, ph<number>('at')), gte(messages.id, ph('id')))))
    }
  })
  if (page.from !== undefined) {
    const rows = statements.from.all({ workspaceId, conversationId, at: page.from.at, id: page.from.id, limit: page.limit + 1 })
    const older = rows.length > page.limit || olderExists(db, workspaceId, conversationId, rows.at(Math.min(rows.length, page.limit) - 1))
    return { rows: rows.slice(0, page.limit).reverse(), older }
  }
  const rows = page.before === undefined
    ? statements.newest.all({ workspaceId, conversationId, limit: page.limit + 1 })
    : statements.before.all({ workspaceId, conversationId, at: page.before.at, id: page.before.id, limit: page.limit + 1 })
  return { rows: rows.slice(0, page.limit).reverse(), older: rows.length > page.limit }
}

function olderExists (db: Db, workspaceId: string, conversationId: string, oldest: MessageRow | undefined): boolean {
  if (oldest === undefined) return false
  return prepared(db, 'messages.olderExists', () => db.select({ id: messages.id }).from(messages)
    .where(and(eq(messages.workspaceId, ph('workspaceId')), eq(messages.conversationId, ph('conversationId')), or(lt(messages.timestamp, ph<number>('at')), and(eq(messages.timestamp, ph<number>('at')), lt(messages.id, ph('id'))))))
    .limit(1).prepare()).get({ workspaceId, conversationId, at: oldest.timestamp, id: oldest.id }) !== undefined
}

/** The media rows of messages, by message id. */
export function mediaOfMessages (db: Db, workspaceId: string, messageIds: string[]): Map<string, MediaItem> {
  if (messageIds.length === 0) return new Map()
  const rows = prepared(db, 'media.ofMessages', () => db.select().from(media).where(and(eq(media.workspaceId, ph('workspaceId')), inJsonList(media.messageId, 'ids'))).prepare())
    .all({ workspaceId, ids: JSON.stringify(messageIds) })
  return new Map(rows.map(r => [r.messageId, r]))
}

/** The reactions still set on each of `wamids`, by wamid. */
export function reactionsOf (db: Db, workspaceId: string, wamids: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (wamids.length === 0) return out
  const wanted = new Set(wamids)
  const keys = [...new Set(wamids.map(w => hash53(w)))]
  const rows = prepared(db, 'reactions.of', () => db.select({ wamid: messageReactions.targetWamid, emoji: messageReactions.emoji }).from(messageReactions)
    .where(and(eq(messageReactions.workspaceId, ph('workspaceId')), inJsonList(messageReactions.targetWamidKey, 'keys'), isNotNull(messageReactions.emoji)))
    .orderBy(asc(messageReactions.timestamp)).prepare()).all({ workspaceId, keys: JSON.stringify(keys) })
  for (const r of rows) {
    if (!wanted.has(r.wamid) || r.emoji === null) continue
    const list = out.get(r.wamid) ?? []
    list.push(r.emoji)
    out.set(r.wamid, list)
  }
  return out
}

// ── channels and contacts (read-only joins for the views) ──

export interface ChannelBrief { id: string, name: string, displayPhoneNumber: string, status: 'active' | 'needs_reconnect' | 'paused', sandbox: boolean }

export function workspaceChannels (db: Db, workspaceId: string): ChannelBrief[] {
  return prepared(db, 'channels.briefs', () => db.select({ id: channels.id, name: channels.name, displayPhoneNumber: channels.displayPhoneNumber, status: channels.status, sandbox: channels.sandbox })
    .from(channels).where(and(eq(channels.workspaceId, ph('workspaceId')), isNull(channels.deletedAt))).orderBy(asc(channels.name)).prepare()).all({ workspaceId })
}

/** A channel of the workspace, even a disconnected one (its conversations stay readable). */
export function channelBrief (db: Db, workspaceId: string, id: string): ChannelBrief | undefined {
  return prepared(db, 'channels.brief', () => db.select({ id: channels.id, name: channels.name, displayPhoneNumber: channels.displayPhoneNumber, status: channels.status, sandbox: channels.sandbox })
    .from(channels).where(and(eq(channels.workspaceId, ph('workspaceId')), eq(channels.id, ph('id')))).prepare()).get({ workspaceId, id })
}

/** A contact of the workspace by id, merged or not (conversations keep pointing at it). */
export function contactById (db: Db, workspaceId: string, id: string): typeof contacts.$inferSelect | undefined {
  return prepared(db, 'contacts.byIdAny', () => db.select().from(contacts).where(and(eq(contacts.workspaceId, ph('workspaceId')), eq(contacts.id, ph('id')))).prepare())
    .get({ workspaceId, id })
}

// ── labels ──

/** The labels of each conversation among `ids`, by conversation id (label order: by name). */
export function labelsOfConversations (db: Db, workspaceId: string, ids: string[]): Map<string, LabelRow[]> {
  const out = new Map<string, LabelRow[]>()
  if (ids.length === 0) return out
  const rows = prepared(db, 'labels.ofConversations', () => db.select({ conversationId: conversationLabels.conversationId, label: labels }).from(conversationLabels)
    .innerJoin(labels, and(eq(labels.workspaceId, conversationLabels.workspaceId), eq(labels.id, conversationLabels.labelId)))
    .where(and(eq(conversationLabels.workspaceId, ph('workspaceId')), inJsonList(conversationLabels.conversationId, 'ids')))
    .orderBy(asc(sql`lower(${labels.name})`)).prepare()).all({ workspaceId, ids: JSON.stringify(ids) })
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

/** A member as the inbox shows one (no email: it is encrypted, and the inbox never shows it). */
export interface MemberBrief { userId: string, name: string, role: 'owner' | 'admin' | 'agent', available: boolean }

export function membersOf (db: Db, workspaceId: string): MemberBrief[] {
  return prepared(db, 'members.briefs', () => db.select({ userId: users.id, name: users.name, role: memberships.role, available: memberships.available }).from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, ph('workspaceId')), isNull(users.deletedAt)))
    .orderBy(asc(sql`lower(${users.name})`)).prepare()).all({ workspaceId })
}

export function memberOf (db: Db, workspaceId: string, userId: string): MemberBrief | undefined {
  return db.select({ userId: users.id, name: users.name, role: memberships.role, available: memberships.available }).from(memberships)
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

/** The conversations assigned to a person: in one workspace, or in all (null). */
export function assignedConversations (db: Db, workspaceId: string | null, userId: string): Array<{ id: string, workspaceId: string }> {
  return db.select({ id: conversations.id, workspaceId: conversations.workspaceId }).from(conversations)
    .where(and(eq(conversations.assigneeId, userId), workspaceId === null ? undefined : eq(conversations.workspaceId, workspaceId))).all()
}

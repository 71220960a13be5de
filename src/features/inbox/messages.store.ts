// Conversations, messages, statuses and reactions of a workspace. `content` is an encrypted column
// (JSON text here). Every query names the workspace; wamids are found by their 53-bit key, probing
// the next keys on the (astronomically rare) collision and always comparing the full wamid.
import { and, asc, desc, eq, getTableColumns, isNull, ne, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { conversations, messageReactions, messages, messageStatuses } from '../../db/schema.js'
import { hash53 } from '../../platform/crypto/index.js'
import { inJsonList, insertValues, ph, placeholders, plainKeys, prepared } from '../../db/prepared.js'
import { queueConversationChange } from '../hooks/hooks.queue.js'

export type Conversation = typeof conversations.$inferSelect
export type NewConversation = typeof conversations.$inferInsert
export type Message = typeof messages.$inferSelect
export type NewMessage = typeof messages.$inferInsert
export type MessageStatusRow = typeof messageStatuses.$inferSelect
export type Reaction = typeof messageReactions.$inferSelect

const maxProbe = 16
const keySpace = 2 ** 53

/** Probes the keys of `wamid`: the key holding it, or the first free key for it. */
function probe (wamid: string, holder: (key: number) => string | undefined): { key: number, found: boolean } {
  const base = hash53(wamid)
  for (let i = 0; i < maxProbe; i++) {
    const key = (base + i) % keySpace
    const held = holder(key)
    if (held === undefined) return { key, found: false }
    if (held === wamid) return { key, found: true }
  }
  throw new Error('wamid key space exhausted around one hash (more than 16 collisions)')
}

// Webhook processing runs these for every delivery: they are prepared once per handle (db/prepared.ts).
// Writes whose columns vary get one statement per combination; anything not plain (an SQL
// expression) takes the ordinary drizzle path.

/** Inserts `row` (returning it) with a prepared statement per combination of columns. */
function insertReturning<T> (db: Db, table: typeof conversations | typeof messages, name: string, row: Record<string, unknown>, fallback: () => T): T {
  const v = insertValues(table, row)
  if (v === undefined) return fallback()
  // The table is one of two; drizzle builds the SQL from the object given, whatever its static type.
  const statement = prepared(db, `${name}.insert:${v.keys.join(',')}`, () => db.insert(table as typeof messages).values(placeholders<NewMessage>(v.keys)).returning().prepare())
  return statement.get(v.values) as T
}

/** `UPDATE table SET … WHERE workspace_id = ? AND id = ?`, prepared per combination of columns. */
function updateById (db: Db, table: typeof conversations | typeof messages, name: string, workspaceId: string, id: string, set: Record<string, unknown>, fallback: () => void): void {
  const keys = plainKeys(set)
  if (keys === undefined || keys.length === 0) { fallback(); return }
  const statement = prepared(db, `${name}.update:${keys.join(',')}`, () =>
    db.update(table).set(placeholders(keys)).where(and(eq(table.workspaceId, ph('__workspaceId')), eq(table.id, ph('__id')))).prepare())
  const values: Record<string, unknown> = { __workspaceId: workspaceId, __id: id }
  for (const k of keys) values[k] = set[k]
  statement.run(values)
}

// ── conversations ──
export function findOpenConversation (db: Db, workspaceId: string, channelId: string, contactId: string): Conversation | undefined {
  return prepared(db, 'conversations.open', () => db.select().from(conversations)
    .where(and(eq(conversations.workspaceId, ph('workspaceId')), eq(conversations.channelId, ph('channelId')), eq(conversations.contactId, ph('contactId')), ne(conversations.status, 'resolved'))).prepare())
    .get({ workspaceId, channelId, contactId })
}

export function findConversation (db: Db, workspaceId: string, id: string): Conversation | undefined {
  return db.select().from(conversations).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id))).get()
}

export function insertConversation (db: Db, row: NewConversation): Conversation {
  return insertReturning(db, conversations, 'conversations', row, () => db.insert(conversations).values(row).returning().get())
}

export function updateConversation (db: Db, workspaceId: string, id: string, set: Partial<NewConversation>): void {
  queueConversationChange(db, workspaceId, id, set)
  updateById(db, conversations, 'conversations', workspaceId, id, set, () => {
    db.update(conversations).set(set).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id))).run()
  })
}

// ── messages ──
/** The message with this wamid in the workspace, or the key a new one would take. */
export function messageByWamid (db: Db, workspaceId: string, wamid: string): { key: number, message: Message | undefined } {
  let hit: Message | undefined
  const byKey = prepared(db, 'messages.byWamidKey', () => db.select().from(messages).where(and(eq(messages.workspaceId, ph('workspaceId')), eq(messages.wamidKey, ph<number>('key')))).prepare())
  const { key, found } = probe(wamid, (k) => {
    const row = byKey.get({ workspaceId, key: k })
    if (row !== undefined && row.wamid === wamid) hit = row
    return row?.wamid ?? undefined
  })
  return { key, message: found ? hit : undefined }
}

/**
 * Whether Meta refused a send of this conversation with 131047 (more than 24 hours since the customer's
 * last message) after `since`: its clock is the one that counts, even when ours says the window is open.
 */
export function windowRefusedSince (db: Db, workspaceId: string, conversationId: string, since: number): boolean {
  return prepared(db, 'messages.windowRefused', () => db.select({ id: messages.id }).from(messages)
    .where(and(eq(messages.workspaceId, ph('workspaceId')), eq(messages.conversationId, ph('conversationId')), sql`${messages.timestamp} > ${ph<number>('since')}`,
      eq(messages.direction, 'out'), eq(messages.errorCode, 131047)))
    .limit(1).prepare())
    .get({ workspaceId, conversationId, since }) !== undefined
}

/** The id, wamid and direction of messages by id (any number of ids: one statement). */
export function messageKinds (db: Db, workspaceId: string, ids: string[]): Array<Pick<Message, 'id' | 'wamid' | 'direction'>> {
  if (ids.length === 0) return []
  return prepared(db, 'messages.kinds', () => db.select({ id: messages.id, wamid: messages.wamid, direction: messages.direction }).from(messages)
    .where(and(eq(messages.workspaceId, ph('workspaceId')), inJsonList(messages.id, 'ids'))).prepare()).all({ workspaceId, ids: JSON.stringify(ids) })
}

/** The (decrypted) content of messages by id. */
export function messageContents (db: Db, workspaceId: string, ids: string[]): Array<Pick<Message, 'id' | 'content'>> {
  if (ids.length === 0) return []
  return prepared(db, 'messages.contents', () => db.select({ id: messages.id, content: messages.content }).from(messages)
    .where(and(eq(messages.workspaceId, ph('workspaceId')), inJsonList(messages.id, 'ids'))).prepare()).all({ workspaceId, ids: JSON.stringify(ids) })
}

export function findMessage (db: Db, workspaceId: string, id: string): Message | undefined {
  return prepared(db, 'messages.byId', () => db.select().from(messages).where(and(eq(messages.workspaceId, ph('workspaceId')), eq(messages.id, ph('id')))).prepare())
    .get({ workspaceId, id })
}

export function insertMessage (db: Db, row: NewMessage): Message {
  const v = insertValues(messages, row)
  if (v === undefined) return db.insert(messages).values(row).returning().get()
  // RETURNING everything but the content, which is what the caller just gave (returning it would
  // decrypt what was encrypted a moment ago).
  const { content: _sealed, ...plainColumns } = getTableColumns(messages)
  const statement = prepared(db, `messages.insert:${v.keys.join(',')}`, () => db.insert(messages).values(placeholders<NewMessage>(v.keys)).returning(plainColumns).prepare())
  return { ...statement.get(v.values)!, content: row.content }
}

export function updateMessage (db: Db, workspaceId: string, id: string, set: Partial<NewMessage>): void {
  updateById(db, messages, 'messages', workspaceId, id, set, () => {
    db.update(messages).set(set).where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, id))).run()
  })
}

/** A conversation's messages, oldest first. */
export function conversationMessages (db: Db, workspaceId: string, conversationId: string): Message[] {
  return db.select().from(messages).where(and(eq(messages.workspaceId, workspaceId), eq(messages.conversationId, conversationId))).orderBy(asc(messages.timestamp), asc(messages.id)).all()
}

// ── statuses ──
/** Stores a status once per (wamid, status); false when it was already stored (a redelivery). */
export function insertStatusOnce (db: Db, row: Omit<typeof messageStatuses.$inferInsert, 'wamidKey'>): { inserted: boolean, id: string | undefined } {
  const byKey = prepared(db, 'messageStatuses.byKey', () => db.select({ wamid: messageStatuses.wamid }).from(messageStatuses)
    .where(and(eq(messageStatuses.workspaceId, ph('workspaceId')), eq(messageStatuses.wamidKey, ph<number>('key')), eq(messageStatuses.status, ph('status')))).prepare())
  const { key, found } = probe(row.wamid, (k) => byKey.get({ workspaceId: row.workspaceId, key: k, status: row.status })?.wamid)
  if (found) return { inserted: false, id: undefined }
  const v = insertValues(messageStatuses, { ...row, wamidKey: key })
  const inserted = v === undefined
    ? db.insert(messageStatuses).values({ ...row, wamidKey: key }).returning({ id: messageStatuses.id }).get()
    : prepared(db, `messageStatuses.insert:${v.keys.join(',')}`, () => db.insert(messageStatuses).values(placeholders<typeof messageStatuses.$inferInsert>(v.keys)).returning({ id: messageStatuses.id }).prepare()).get(v.values)!
  return { inserted: true, id: inserted.id }
}

export function markStatusApplied (db: Db, workspaceId: string, id: string, now: number): void {
  prepared(db, 'messageStatuses.applied', () => db.update(messageStatuses).set({ appliedAt: ph<number>('now') })
    .where(and(eq(messageStatuses.workspaceId, ph('workspaceId')), eq(messageStatuses.id, ph('id')))).prepare())
    .run({ workspaceId, id, now })
}

/** Parked statuses of a wamid (its message was not known when they arrived), oldest first. */
export function parkedStatuses (db: Db, workspaceId: string, wamid: string): MessageStatusRow[] {
  const base = hash53(wamid)
  return db.select().from(messageStatuses)
    .where(and(eq(messageStatuses.workspaceId, workspaceId), sql`${messageStatuses.wamidKey} BETWEEN ${base} AND ${base + maxProbe}`, eq(messageStatuses.wamid, wamid), isNull(messageStatuses.appliedAt)))
    .orderBy(asc(messageStatuses.timestamp)).all()
}

/** Every status row of a wamid, oldest first (for the message info view and tests). */
export function statusHistory (db: Db, workspaceId: string, wamid: string): MessageStatusRow[] {
  const base = hash53(wamid)
  return db.select().from(messageStatuses)
    .where(and(eq(messageStatuses.workspaceId, workspaceId), sql`${messageStatuses.wamidKey} BETWEEN ${base} AND ${base + maxProbe}`, eq(messageStatuses.wamid, wamid)))
    .orderBy(asc(messageStatuses.timestamp), asc(messageStatuses.id)).all()
}

// ── reactions ──
export function findReaction (db: Db, workspaceId: string, targetWamid: string, contactId: string): Reaction | undefined {
  return db.select().from(messageReactions).where(and(eq(messageReactions.workspaceId, workspaceId), eq(messageReactions.targetWamidKey, hash53(targetWamid)), eq(messageReactions.contactId, contactId))).get()
}

/** Sets (emoji) or clears (null) a contact's reaction to a wamid. */
export function upsertReaction (db: Db, row: { workspaceId: string, targetWamid: string, contactId: string, emoji: string | null, timestamp: number, now: number }): void {
  db.insert(messageReactions).values({ workspaceId: row.workspaceId, targetWamidKey: hash53(row.targetWamid), targetWamid: row.targetWamid, contactId: row.contactId, emoji: row.emoji, timestamp: row.timestamp, updatedAt: row.now })
    .onConflictDoUpdate({ target: [messageReactions.workspaceId, messageReactions.targetWamidKey, messageReactions.contactId], set: { emoji: row.emoji, timestamp: row.timestamp, updatedAt: row.now, targetWamid: row.targetWamid } })
    .run()
}

/** The reactions on a wamid that are still set. */
export function reactionsTo (db: Db, workspaceId: string, targetWamid: string): Reaction[] {
  return db.select().from(messageReactions).where(and(eq(messageReactions.workspaceId, workspaceId), eq(messageReactions.targetWamidKey, hash53(targetWamid)), eq(messageReactions.targetWamid, targetWamid))).all()
    .filter(r => r.emoji !== null)
}

/** The contact's most recent resolved conversation on a number (reopened when they write again). */
export function latestResolvedConversation (db: Db, workspaceId: string, channelId: string, contactId: string): Conversation | undefined {
  return db.select().from(conversations)
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.channelId, channelId), eq(conversations.contactId, contactId), eq(conversations.status, 'resolved')))
    .orderBy(desc(conversations.lastMessageAt)).limit(1).get()
}

// ── erasure ──
/** Everything of the inbox that belongs to these contacts: their conversations, messages (with wamids) and media ids. */
export function tracesOfContacts (db: Db, workspaceId: string, contactIds: readonly string[]): { conversationIds: string[], messages: Array<{ id: string, wamid: string | null, wamidKey: number | null }>, mediaIds: string[] } {
  if (contactIds.length === 0) return { conversationIds: [], messages: [], mediaIds: [] }
  const ids = sql.join(contactIds.map(id => sql`${id}`), sql`, `)
  const conversationIds = db.all<{ id: string }>(sql`SELECT id FROM conversations WHERE workspace_id = ${workspaceId} AND contact_id IN (${ids})`).map(r => r.id)
  if (conversationIds.length === 0) return { conversationIds, messages: [], mediaIds: [] }
  const convs = sql.join(conversationIds.map(id => sql`${id}`), sql`, `)
  const rows = db.all<{ id: string, wamid: string | null, wamid_key: number | null }>(sql`SELECT id, wamid, wamid_key FROM messages WHERE workspace_id = ${workspaceId} AND conversation_id IN (${convs})`)
  const mediaIds = db.all<{ id: string }>(sql`SELECT m.id FROM media m JOIN messages g ON g.workspace_id = m.workspace_id AND g.id = m.message_id WHERE g.workspace_id = ${workspaceId} AND g.conversation_id IN (${convs})`).map(r => r.id)
  return { conversationIds, messages: rows.map(r => ({ id: r.id, wamid: r.wamid, wamidKey: r.wamid_key })), mediaIds }
}

/** Deletes the status log of these wamids (statuses are keyed by wamid, not linked to the message row). */
export function deleteStatusesOf (db: Db, workspaceId: string, wamids: ReadonlyArray<{ wamid: string, wamidKey: number }>): number {
  let n = 0
  for (const w of wamids) {
    n += db.delete(messageStatuses).where(and(eq(messageStatuses.workspaceId, workspaceId), eq(messageStatuses.wamidKey, w.wamidKey), eq(messageStatuses.wamid, w.wamid))).run().changes
  }
  return n
}

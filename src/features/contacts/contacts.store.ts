// Contacts of a workspace. waId and bsuid are encrypted columns (plaintext here); exact lookups go
// through their blind indexes. Every query names the workspace.
import { and, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { contacts, conversations, messageReactions, messages } from '../../db/schema.js'
import { inJsonList, insertValues, ph, placeholders, plainKeys, prepared } from '../../db/prepared.js'

export type Contact = typeof contacts.$inferSelect
export type NewContact = typeof contacts.$inferInsert

// Webhook processing runs the lookups and writes below for every delivery: they are prepared once per
// handle (db/prepared.ts); writes get one statement per combination of columns, and anything that is
// not a plain value takes the ordinary drizzle path.

/** Inserts a contact and puts it in the name search index (there is no insert trigger: migration 0007). */
export function insertContact (db: Db, row: NewContact): Contact {
  const v = insertValues(contacts, row)
  const contact = v === undefined
    ? db.insert(contacts).values(row).returning().get()
    : prepared(db, `contacts.insert:${v.keys.join(',')}`, () => db.insert(contacts).values(placeholders<NewContact>(v.keys)).returning().prepare()).get(v.values)!
  db.run(sql`INSERT INTO contacts_name_search(rowid, name, profile_name, username)
    SELECT rowid, name, profile_name, username FROM ${contacts} WHERE workspace_id = ${contact.workspaceId} AND id = ${contact.id}`)
  return contact
}

export function findContact (db: Db, workspaceId: string, id: string): Contact | undefined {
  return prepared(db, 'contacts.byId', () => db.select().from(contacts).where(and(eq(contacts.workspaceId, ph('workspaceId')), eq(contacts.id, ph('id')), isNull(contacts.deletedAt))).prepare())
    .get({ workspaceId, id })
}

/**
 * Contacts of the workspace with these ids, in no particular order: live ones only (not deleted, not
 * merged away), or with `withRetired` deleted ones too (a conversation keeps its deleted contact).
 */
export function contactsByIds (db: Db, workspaceId: string, ids: readonly string[], options: { withRetired?: boolean } = {}): Contact[] {
  if (ids.length === 0) return []
  const retired = options.withRetired === true
  return prepared(db, `contacts.byIds:${retired}`, () => db.select().from(contacts)
    .where(and(eq(contacts.workspaceId, ph('workspaceId')), inJsonList(contacts.id, 'ids'), ...(retired ? [] : [isNull(contacts.deletedAt), isNull(contacts.mergedIntoId)]))).prepare())
    .all({ workspaceId, ids: JSON.stringify(ids) })
}

export function findContactByBsuidIndex (db: Db, workspaceId: string, index: string): Contact | undefined {
  return prepared(db, 'contacts.byBsuidIndex', () => db.select().from(contacts).where(and(eq(contacts.workspaceId, ph('workspaceId')), eq(contacts.bsuidIndex, ph('index')), isNull(contacts.deletedAt))).prepare())
    .get({ workspaceId, index })
}

export function findContactByWaIdIndex (db: Db, workspaceId: string, index: string): Contact | undefined {
  return prepared(db, 'contacts.byWaIdIndex', () => db.select().from(contacts).where(and(eq(contacts.workspaceId, ph('workspaceId')), eq(contacts.waIdIndex, ph('index')), isNull(contacts.deletedAt))).prepare())
    .get({ workspaceId, index })
}

export function updateContact (db: Db, workspaceId: string, id: string, set: Partial<NewContact>): void {
  const keys = plainKeys(set)
  if (keys === undefined || keys.length === 0) {
    db.update(contacts).set(set).where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id))).run()
    return
  }
  const statement = prepared(db, `contacts.update:${keys.join(',')}`, () =>
    db.update(contacts).set(placeholders<Partial<NewContact>>(keys)).where(and(eq(contacts.workspaceId, ph('__workspaceId')), eq(contacts.id, ph('__id')))).prepare())
  const values: Record<string, unknown> = { __workspaceId: workspaceId, __id: id }
  for (const k of keys) values[k] = set[k as keyof NewContact]
  statement.run(values)
}

/** The conversations of a contact (for merges). */
export function contactConversations (db: Db, workspaceId: string, contactId: string): Array<typeof conversations.$inferSelect> {
  return db.select().from(conversations).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.contactId, contactId))).all()
}

/**
 * Moves everything of contact `from` to contact `into`: conversations (an open conversation on a
 * number where `into` already has one is folded into it, messages and all) and reactions.
 */
export function moveContactHistory (db: Db, workspaceId: string, from: string, into: string, now: number): void {
  const targetOpen = new Map(contactConversations(db, workspaceId, into).filter(c => c.status !== 'resolved').map(c => [c.channelId, c]))
  for (const conv of contactConversations(db, workspaceId, from)) {
    const target = conv.status === 'resolved' ? undefined : targetOpen.get(conv.channelId)
    if (target === undefined) {
      db.update(conversations).set({ contactId: into, updatedAt: now }).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, conv.id))).run()
      continue
    }
    db.update(messages).set({ conversationId: target.id, updatedAt: now }).where(and(eq(messages.workspaceId, workspaceId), eq(messages.conversationId, conv.id))).run()
    db.update(conversations).set({
      lastMessageAt: Math.max(target.lastMessageAt, conv.lastMessageAt),
      lastInboundAt: maxOrNull(target.lastInboundAt, conv.lastInboundAt),
      entryPointUntil: maxOrNull(target.entryPointUntil, conv.entryPointUntil),
      unreadCount: target.unreadCount + conv.unreadCount,
      updatedAt: now
    }).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, target.id))).run()
    db.delete(conversations).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, conv.id))).run()
  }
  // A reaction `into` already has on the same message wins; the rest move.
  const theirs = db.select().from(messageReactions).where(and(eq(messageReactions.workspaceId, workspaceId), eq(messageReactions.contactId, from))).all()
  for (const r of theirs) {
    db.insert(messageReactions).values({ ...r, contactId: into }).onConflictDoNothing().run()
  }
  db.delete(messageReactions).where(and(eq(messageReactions.workspaceId, workspaceId), eq(messageReactions.contactId, from))).run()
}

function maxOrNull (a: number | null, b: number | null): number | null {
  if (a === null) return b
  if (b === null) return a
  return Math.max(a, b)
}

/**
 * Contacts of the workspace whose name, profile name or username contains `text` (any case, any
 * accents), through the contacts_name_search trigram index (migration 0006), at most `limit`.
 * Undefined when the text is shorter than the index's three characters (the caller scans instead).
 */
export function contactsNamed (db: Db, workspaceId: string, text: string, limit: number): string[] | undefined {
  const match = namePhrase(text)
  if (match === undefined) return undefined
  const statement = prepared(db, 'contacts.named', () => db.select({ id: contacts.id })
    .from(sql`contacts_name_search`).crossJoin(contacts)
    .where(and(sql`contacts_name_search MATCH ${ph('match')}`, sql`${contacts}.rowid = contacts_name_search.rowid`, eq(contacts.workspaceId, ph('workspaceId'))))
    .limit(ph<number>('limit')).prepare())
  return statement.all({ match, workspaceId, limit }).map(r => r.id)
}

/** Escapes LIKE wildcards (the pattern uses ESCAPE '\'). */
export function likeEscape (text: string): string {
  return text.replace(/[\\%_]/g, c => '\\' + c)
}

/**
 * The FTS5 query for contacts_name_search that matches names containing `text`: one phrase, the text
 * as typed with quotes doubled (so nothing in it is query syntax). Undefined below three characters,
 * the trigram index's smallest unit.
 */
export function namePhrase (text: string): string | undefined {
  const trimmed = text.trim()
  if ([...trimmed].length < 3) return undefined
  return `"${trimmed.replace(/"/g, '""')}"`
}

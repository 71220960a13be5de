// Outgoing webhooks, step 1 of 3: noting that something happened. Features call queueHookEvent inside
// the transaction that makes the change, so the event commits with it or not at all (a crash right
// after the commit loses nothing: the dispatcher finds the row at its next pass). Nothing is written
// unless an active subscription of the workspace wants that event type, so a workspace without
// webhooks pays one cached lookup per change. Step 2 (hooks.worker.ts) turns each row into one
// delivery per subscription; step 3 posts them.
import { sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { webhookQueue, webhookSubscriptions } from '../../db/schema.js'
import { newId } from '../../platform/crypto/index.js'

/** What a workspace can subscribe to, in the order the settings page lists them. */
export const hookEventTypes = [
  'message.received',
  'message.status',
  'conversation.created',
  'conversation.assigned',
  'conversation.resolved',
  'contact.created',
  'contact.updated'
] as const

export type HookEventType = typeof hookEventTypes[number]

/** The ids a payload is built from, and facts that are not in the record (the status an event announces). */
export interface HookSubject {
  contactId?: string
  conversationId?: string
  messageId?: string
  status?: string
  assigneeId?: string | null
}

export function isHookEventType (value: string): value is HookEventType {
  return (hookEventTypes as readonly string[]).includes(value)
}

// Which types each workspace's active subscriptions want, cached briefly: a change is announced on
// every inbound message, and most workspaces have no webhooks at all. Subscription writes in this
// process clear the cache at once; another process's (none today) would be seen within `cacheMs`.
const cacheMs = 2000
const wanted = new Map<string, { types: ReadonlySet<string>, at: number }>()

/** Forget the cached types of a workspace (after any subscription change). */
export function forgetWantedTypes (workspaceId: string): void {
  wanted.delete(workspaceId)
}

function wantedTypes (db: Db, workspaceId: string): ReadonlySet<string> {
  const now = performance.now()
  const hit = wanted.get(workspaceId)
  if (hit !== undefined && now - hit.at < cacheMs) return hit.types
  const rows = db.select({ events: webhookSubscriptions.events }).from(webhookSubscriptions)
    .where(sql`${webhookSubscriptions.workspaceId} = ${workspaceId} AND ${webhookSubscriptions.active} = 1`).all()
  const types = new Set(rows.flatMap(r => r.events))
  if (wanted.size > 10_000) wanted.clear()
  wanted.set(workspaceId, { types, at: now })
  return types
}

/**
 * Notes an event for the workspace's webhooks, inside the caller's transaction. Repeats of the same
 * event about the same subject before dispatch are one event (the payload is read at dispatch, so it
 * shows the latest state). Returns whether anything was queued.
 */
export function queueHookEvent (db: Db, workspaceId: string, type: HookEventType, subject: HookSubject, now: number): boolean {
  if (!wantedTypes(db, workspaceId).has(type)) return false
  const key = [subject.messageId ?? subject.conversationId ?? subject.contactId ?? '', subject.status ?? ''].join(':')
  db.insert(webhookQueue)
    .values({ id: newId(now), workspaceId, eventType: type, subjectKey: key, subject: subject as Record<string, string | null>, createdAt: now })
    .onConflictDoNothing()
    .run()
  return true
}

/** For the conversation stores: a write that assigns (or unassigns) or resolves announces it. */
export function queueConversationChange (db: Db, workspaceId: string, id: string, set: { assigneeId?: string | null | undefined, status?: string | undefined, updatedAt?: number | undefined }): void {
  const now = set.updatedAt ?? Date.now()
  if (set.assigneeId !== undefined) queueHookEvent(db, workspaceId, 'conversation.assigned', { conversationId: id }, now)
  if (set.status === 'resolved') queueHookEvent(db, workspaceId, 'conversation.resolved', { conversationId: id }, now)
}

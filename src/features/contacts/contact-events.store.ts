// The contact's timeline: what happened to it (created, edited, consent given or withdrawn, labels,
// merged, imported). Details are JSON, sealed at rest because they can name personal data.
import { and, desc, eq, lt, or } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { contactEvents } from '../../db/schema.js'
import { queueHookEvent } from '../hooks/hooks.queue.js'

export type ContactEventRow = typeof contactEvents.$inferSelect

/** Kinds of events; the contact page renders each with its own sentence. */
export type ContactEventKind =
  | 'created' | 'edited' | 'field_changed' | 'note_changed' | 'phone_added' | 'phone_removed'
  | 'email_added' | 'email_removed' | 'label_added' | 'label_removed' | 'consent_changed'
  | 'merged' | 'imported' | 'deleted' | 'legal_hold_on' | 'legal_hold_off'

export interface NewContactEvent {
  workspaceId: string
  contactId: string
  kind: ContactEventKind
  actorId: string | null
  data?: Record<string, unknown> | undefined
  at: number
}

export function recordContactEvent (db: Db, event: NewContactEvent): void {
  db.insert(contactEvents).values({
    workspaceId: event.workspaceId,
    contactId: event.contactId,
    kind: event.kind,
    actorId: event.actorId,
    data: event.data === undefined ? null : JSON.stringify(event.data),
    at: event.at
  }).run()
  queueHookEvent(db, event.workspaceId, event.kind === 'created' ? 'contact.created' : 'contact.updated', { contactId: event.contactId }, event.at)
}

/** A page of a contact's timeline, newest first; `before` is the last row of the previous page. */
export function contactTimeline (db: Db, workspaceId: string, contactId: string, page: { before?: { at: number, id: string } | undefined, limit: number }): ContactEventRow[] {
  const before = page.before
  return db.select().from(contactEvents)
    .where(and(eq(contactEvents.workspaceId, workspaceId), eq(contactEvents.contactId, contactId),
      before === undefined ? undefined : or(lt(contactEvents.at, before.at), and(eq(contactEvents.at, before.at), lt(contactEvents.id, before.id)))))
    .orderBy(desc(contactEvents.at), desc(contactEvents.id)).limit(page.limit).all()
}

// Consent columns of contacts, the workspace's contact settings (default country, opt-out keywords) and
// the reads the consent panel needs. Every query names the workspace.
import { and, desc, eq, isNull } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { prepared, ph } from '../../db/prepared.js'
import { contactEvents, contacts, users, workspaces } from '../../db/schema.js'

export interface ContactSettingsRow { defaultCountry: string, optOutKeywords: string }

/** The workspace's contact settings; undefined for an unknown or deleted workspace. */
export function findContactSettings (db: Db, workspaceId: string): ContactSettingsRow | undefined {
  // Prepared: webhook processing reads the keywords for every inbound text.
  return prepared(db, 'contactSettings.byWorkspace', () => db.select({ defaultCountry: workspaces.defaultCountry, optOutKeywords: workspaces.optOutKeywords })
    .from(workspaces).where(and(eq(workspaces.id, ph('id')), isNull(workspaces.deletedAt))).prepare())
    .get({ id: workspaceId })
}

export function updateContactSettings (db: Db, workspaceId: string, set: ContactSettingsRow, now: number): void {
  db.update(workspaces).set({ ...set, updatedAt: now }).where(eq(workspaces.id, workspaceId)).run()
}

export interface ConsentColumns {
  consent: 'unknown' | 'opted_in' | 'opted_out'
  consentSource: string | null
  consentAt: number | null
  consentWording: string | null
}

export function updateConsent (db: Db, workspaceId: string, contactId: string, set: ConsentColumns, now: number): void {
  db.update(contacts).set({ ...set, updatedAt: now }).where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, contactId))).run()
}

/** Who recorded the contact's current consent state: the actor of its latest consent event (null: the system or the contact). */
export function lastConsentActor (db: Db, workspaceId: string, contactId: string): { id: string, name: string } | null {
  const row = db.select({ actorId: contactEvents.actorId, name: users.name })
    .from(contactEvents)
    .leftJoin(users, eq(users.id, contactEvents.actorId))
    .where(and(eq(contactEvents.workspaceId, workspaceId), eq(contactEvents.contactId, contactId), eq(contactEvents.kind, 'consent_changed')))
    .orderBy(desc(contactEvents.at), desc(contactEvents.id))
    .limit(1)
    .get()
  return row?.actorId == null ? null : { id: row.actorId, name: row.name ?? '' }
}

// Creating and editing contacts by hand (the contact list's "New contact", the contact page's
// click-to-edit parts, bulk actions). Each change records a contact event for the timeline. The
// validation helpers are exported for the CSV import, so both paths accept exactly the same input.
import type { Db } from '../../db/open.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import { recordContactEvent } from './contact-events.store.js'
import {
  addContactLabel, contactsWithEmail, contactsWithPhone, deleteEmail, deletePhone, emailsOf, insertEmail, insertPhone, liveContactIds, phonesOf,
  removeContactLabel, softDeleteContact
} from './contact-edit.store.js'
import { findContact, insertContact, updateContact, type Contact } from './contacts.store.js'
import { workspaceCountry } from './contacts-list.store.js'
import { emailIndex, normaliseEmail, normalisePhone, phoneIndex, phoneSpellings, waIdIndexOf } from './phone.js'
import { isId } from '../../platform/crypto/index.js'
import { findLabel } from '../labels/labels.service.js'

export const contactLimits = { name: 200, notes: 10_000, phones: 10, emails: 10, bulk: 500 } as const

export type Checked<T> = { ok: true, value: T } | { ok: false, error: string }

/** A display name: one line, no control or bidi-override characters, ≤ 200 characters; '' → null. */
export function validateName (raw: string): Checked<string | null> {
  // eslint-disable-next-line no-control-regex
  const v = raw.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').replace(/[\u202a-\u202e\u2066-\u2069]/g, '').replace(/\s+/g, ' ').trim()
  if (v.length > contactLimits.name) return { ok: false, error: 'contacts.errors.nameTooLong' }
  return { ok: true, value: v === '' ? null : v }
}

/** A phone number in any spelling → E.164 and digits (national numbers in `country`). */
export function validatePhone (raw: string, country: string): Checked<{ e164: string, digits: string }> {
  const r = normalisePhone(raw, country)
  if (r.ok) return { ok: true, value: { e164: r.e164, digits: r.digits } }
  return { ok: false, error: r.reason === 'empty' ? 'contacts.errors.phoneEmpty' : r.reason === 'too_long' ? 'contacts.errors.phoneTooLong' : 'contacts.errors.phoneInvalid' }
}

/** An email address, lower-cased and trimmed. */
export function validateEmail (raw: string): Checked<string> {
  if (raw.trim() === '') return { ok: false, error: 'contacts.errors.emailEmpty' }
  const email = normaliseEmail(raw)
  return email === undefined ? { ok: false, error: 'contacts.errors.emailInvalid' } : { ok: true, value: email }
}

/** Notes: any text up to 10,000 characters (line endings normalised); '' → null. */
export function validateNotes (raw: string): Checked<string | null> {
  const v = raw.replace(/\r\n?/g, '\n').replaceAll('\u0000', '').trim()
  if (v.length > contactLimits.notes) return { ok: false, error: 'contacts.errors.notesTooLong' }
  return { ok: true, value: v === '' ? null : v }
}

/** Which live contact (other than `exceptId`) already has this number in any spelling, if any. */
export function contactWithPhone (db: Db, workspaceId: string, digits: string, exceptId?: string): string | undefined {
  const spellings = phoneSpellings(digits)
  return contactsWithPhone(db, workspaceId, spellings.map(d => waIdIndexOf(workspaceId, d)), spellings.map(d => phoneIndex(workspaceId, d))).find(id => id !== exceptId)
}

/** Which live contact (other than `exceptId`) already has this email, if any. */
export function contactWithEmail (db: Db, workspaceId: string, email: string, exceptId?: string): string | undefined {
  return contactsWithEmail(db, workspaceId, emailIndex(workspaceId, email)).find(id => id !== exceptId)
}

export interface NewContactInput {
  name?: string | undefined
  phones?: string[] | undefined
  emails?: string[] | undefined
  notes?: string | undefined
  labelIds?: string[] | undefined
  /** Let a number or email that another contact has through (imports decide about duplicates themselves). */
  allowDuplicates?: boolean | undefined
  /** The event's source: 'manual' (default), 'import', 'api'. */
  source?: string | undefined
}

export type ContactErrors = Record<string, string>

/** A live contact of the workspace or a 404 (another workspace's id, a deleted or merged contact). */
export function contactOf (db: Db, workspaceId: string, id: string): Contact {
  const c = isId(id) ? findContact(db, workspaceId, id) : undefined
  if (c === undefined || c.mergedIntoId !== null) throw new NotFoundError()
  return c
}

/**
 * Creates a contact from a form (or an import row). Phones and emails are normalised; a number or
 * address another contact already has is refused (errors.phones / errors.emails, with `duplicateOf`)
 * unless allowDuplicates. At least a name, a phone or an email is required.
 */
export function createContact (db: Db, workspaceId: string, input: NewContactInput, actorId: string | null, now: number): { ok: true, contact: Contact } | { ok: false, errors: ContactErrors, duplicateOf?: string } {
  return db.transaction((tx) => {
    const errors: ContactErrors = {}
    let duplicateOf: string | undefined
    const name = validateName(input.name ?? '')
    if (!name.ok) errors.name = name.error
    const country = workspaceCountry(tx, workspaceId)
    const phones: Array<{ e164: string, digits: string }> = []
    for (const raw of (input.phones ?? []).filter(p => p.trim() !== '').slice(0, contactLimits.phones)) {
      const p = validatePhone(raw, country)
      if (!p.ok) { errors.phones ??= p.error; continue }
      if (phones.some(x => phoneSpellings(x.digits).includes(p.value.digits))) continue
      const holder = input.allowDuplicates === true ? undefined : contactWithPhone(tx, workspaceId, p.value.digits)
      if (holder !== undefined) { errors.phones ??= 'contacts.errors.phoneTaken'; duplicateOf ??= holder; continue }
      phones.push(p.value)
    }
    const emails: string[] = []
    for (const raw of (input.emails ?? []).filter(e => e.trim() !== '').slice(0, contactLimits.emails)) {
      const e = validateEmail(raw)
      if (!e.ok) { errors.emails ??= e.error; continue }
      if (emails.includes(e.value)) continue
      const holder = input.allowDuplicates === true ? undefined : contactWithEmail(tx, workspaceId, e.value)
      if (holder !== undefined) { errors.emails ??= 'contacts.errors.emailTaken'; duplicateOf ??= holder; continue }
      emails.push(e.value)
    }
    const notes = validateNotes(input.notes ?? '')
    if (!notes.ok) errors.notes = notes.error
    const labelRows = (input.labelIds ?? []).map(id => findLabel(tx, workspaceId, id)).filter(l => l !== undefined)
    if (Object.keys(errors).length === 0 && name.ok && name.value === null && phones.length === 0 && emails.length === 0) errors.name = 'contacts.errors.nothing'
    if (Object.keys(errors).length > 0 || !name.ok || !notes.ok) return duplicateOf === undefined ? { ok: false as const, errors } : { ok: false as const, errors, duplicateOf }
    const contact = insertContact(tx, { workspaceId, name: name.value, notes: notes.value, createdAt: now, updatedAt: now })
    for (const p of phones) insertPhone(tx, { workspaceId, contactId: contact.id, phone: p.e164, phoneIndex: phoneIndex(workspaceId, p.digits), createdAt: now })
    for (const e of emails) insertEmail(tx, { workspaceId, contactId: contact.id, email: e, emailIndex: emailIndex(workspaceId, e), createdAt: now })
    for (const l of labelRows) addContactLabel(tx, workspaceId, contact.id, l.id, now)
    recordContactEvent(tx, { workspaceId, contactId: contact.id, kind: 'created', actorId, data: { source: input.source ?? 'manual' }, at: now })
    return { ok: true as const, contact }
  }, { behavior: 'immediate' })
}

/** Renames a contact ('' → back to the WhatsApp profile name). */
export function renameContact (db: Db, workspaceId: string, contactId: string, raw: string, actorId: string | null, now: number): Checked<string | null> {
  const name = validateName(raw)
  if (!name.ok) return name
  db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    if (c.name === name.value) return
    updateContact(tx, workspaceId, c.id, { name: name.value, updatedAt: now })
    recordContactEvent(tx, { workspaceId, contactId: c.id, kind: 'edited', actorId, data: { field: 'name', from: c.name, to: name.value }, at: now })
  }, { behavior: 'immediate' })
  return name
}

/** Replaces the contact's notes (encrypted at rest). */
export function setNotes (db: Db, workspaceId: string, contactId: string, raw: string, actorId: string | null, now: number): Checked<string | null> {
  const notes = validateNotes(raw)
  if (!notes.ok) return notes
  db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    if (c.notes === notes.value) return
    updateContact(tx, workspaceId, c.id, { notes: notes.value, updatedAt: now })
    recordContactEvent(tx, { workspaceId, contactId: c.id, kind: 'note_changed', actorId, at: now })
  }, { behavior: 'immediate' })
  return notes
}

/** Adds a phone number to a contact; refused when invalid, already there, or another contact's. */
export function addPhone (db: Db, workspaceId: string, contactId: string, raw: string, actorId: string | null, now: number): { ok: true } | { ok: false, error: string, duplicateOf?: string } {
  return db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    const p = validatePhone(raw, workspaceCountry(tx, workspaceId))
    if (!p.ok) return p
    const own = phoneSpellings(p.value.digits)
    const existing = phonesOf(tx, workspaceId, c.id)
    if ((c.waId !== null && own.includes(c.waId)) || existing.some(x => own.includes(x.phone.replace(/^\+/, '')))) return { ok: false as const, error: 'contacts.errors.phoneAlready' }
    if (existing.length >= contactLimits.phones) return { ok: false as const, error: 'contacts.errors.phonesTooMany' }
    const holder = contactWithPhone(tx, workspaceId, p.value.digits, c.id)
    if (holder !== undefined) return { ok: false as const, error: 'contacts.errors.phoneTaken', duplicateOf: holder }
    insertPhone(tx, { workspaceId, contactId: c.id, phone: p.value.e164, phoneIndex: phoneIndex(workspaceId, p.value.digits), createdAt: now })
    updateContact(tx, workspaceId, c.id, { updatedAt: now })
    recordContactEvent(tx, { workspaceId, contactId: c.id, kind: 'phone_added', actorId, data: { phone: p.value.e164 }, at: now })
    return { ok: true as const }
  }, { behavior: 'immediate' })
}

export function removePhone (db: Db, workspaceId: string, contactId: string, phoneId: string, actorId: string | null, now: number): void {
  db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    const gone = deletePhone(tx, workspaceId, c.id, phoneId)
    if (gone === undefined) throw new NotFoundError()
    updateContact(tx, workspaceId, c.id, { updatedAt: now })
    recordContactEvent(tx, { workspaceId, contactId: c.id, kind: 'phone_removed', actorId, data: { phone: gone.phone }, at: now })
  }, { behavior: 'immediate' })
}

export function addEmail (db: Db, workspaceId: string, contactId: string, raw: string, actorId: string | null, now: number): { ok: true } | { ok: false, error: string, duplicateOf?: string } {
  return db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    const e = validateEmail(raw)
    if (!e.ok) return e
    const existing = emailsOf(tx, workspaceId, c.id)
    if (existing.some(x => x.email === e.value)) return { ok: false as const, error: 'contacts.errors.emailAlready' }
    if (existing.length >= contactLimits.emails) return { ok: false as const, error: 'contacts.errors.emailsTooMany' }
    const holder = contactWithEmail(tx, workspaceId, e.value, c.id)
    if (holder !== undefined) return { ok: false as const, error: 'contacts.errors.emailTaken', duplicateOf: holder }
    insertEmail(tx, { workspaceId, contactId: c.id, email: e.value, emailIndex: emailIndex(workspaceId, e.value), createdAt: now })
    updateContact(tx, workspaceId, c.id, { updatedAt: now })
    recordContactEvent(tx, { workspaceId, contactId: c.id, kind: 'email_added', actorId, data: { email: e.value }, at: now })
    return { ok: true as const }
  }, { behavior: 'immediate' })
}

export function removeEmail (db: Db, workspaceId: string, contactId: string, emailId: string, actorId: string | null, now: number): void {
  db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    const gone = deleteEmail(tx, workspaceId, c.id, emailId)
    if (gone === undefined) throw new NotFoundError()
    updateContact(tx, workspaceId, c.id, { updatedAt: now })
    recordContactEvent(tx, { workspaceId, contactId: c.id, kind: 'email_removed', actorId, data: { email: gone.email }, at: now })
  }, { behavior: 'immediate' })
}

type ListResult = { ok: true } | { ok: false, error: string, duplicateOf?: string }

/**
 * Makes a contact's extra phone numbers exactly `raws` (in any spelling): numbers no longer listed are
 * removed, new ones added, the same number in another spelling kept. All or nothing: an invalid number,
 * one another contact has, or too many, and nothing changes. The WhatsApp number is not in this list.
 */
export function replacePhones (db: Db, workspaceId: string, contactId: string, raws: readonly string[], actorId: string | null, now: number): ListResult {
  return db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    const country = workspaceCountry(tx, workspaceId)
    const wanted: Array<{ raw: string, digits: string }> = []
    for (const raw of raws.filter(r => r.trim() !== '')) {
      const p = validatePhone(raw, country)
      if (!p.ok) return p
      if (c.waId !== null && phoneSpellings(p.value.digits).includes(c.waId)) continue
      if (!wanted.some(w => phoneSpellings(w.digits).includes(p.value.digits))) wanted.push({ raw, digits: p.value.digits })
    }
    if (wanted.length > contactLimits.phones) return { ok: false as const, error: 'contacts.errors.phonesTooMany' }
    const existing = phonesOf(tx, workspaceId, c.id).map(x => ({ id: x.id, digits: x.phone.replace(/^\+/, '') }))
    const kept = (digits: string): boolean => existing.some(x => phoneSpellings(digits).includes(x.digits))
    for (const w of wanted) {
      if (kept(w.digits)) continue
      const holder = contactWithPhone(tx, workspaceId, w.digits, c.id)
      if (holder !== undefined) return { ok: false as const, error: 'contacts.errors.phoneTaken', duplicateOf: holder }
    }
    for (const x of existing) if (!wanted.some(w => phoneSpellings(w.digits).includes(x.digits))) removePhone(tx, workspaceId, c.id, x.id, actorId, now)
    for (const w of wanted) {
      if (kept(w.digits)) continue
      const added = addPhone(tx, workspaceId, c.id, w.raw, actorId, now)
      if (!added.ok) throw new Error(`a checked phone was refused: ${added.error}`)
    }
    return { ok: true as const }
  }, { behavior: 'immediate' })
}

/** Makes a contact's emails exactly `raws`, like replacePhones: all or nothing. */
export function replaceEmails (db: Db, workspaceId: string, contactId: string, raws: readonly string[], actorId: string | null, now: number): ListResult {
  return db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    const wanted: string[] = []
    for (const raw of raws.filter(r => r.trim() !== '')) {
      const e = validateEmail(raw)
      if (!e.ok) return e
      if (!wanted.includes(e.value)) wanted.push(e.value)
    }
    if (wanted.length > contactLimits.emails) return { ok: false as const, error: 'contacts.errors.emailsTooMany' }
    const existing = emailsOf(tx, workspaceId, c.id)
    for (const w of wanted) {
      if (existing.some(x => x.email === w)) continue
      const holder = contactWithEmail(tx, workspaceId, w, c.id)
      if (holder !== undefined) return { ok: false as const, error: 'contacts.errors.emailTaken', duplicateOf: holder }
    }
    for (const x of existing) if (!wanted.includes(x.email)) removeEmail(tx, workspaceId, c.id, x.id, actorId, now)
    for (const w of wanted) {
      if (existing.some(x => x.email === w)) continue
      const added = addEmail(tx, workspaceId, c.id, w, actorId, now)
      if (!added.ok) throw new Error(`a checked email was refused: ${added.error}`)
    }
    return { ok: true as const }
  }, { behavior: 'immediate' })
}

/** Puts a workspace label on (or takes it off) a contact. An unknown label is a 404. */
export function setContactLabel (db: Db, workspaceId: string, contactId: string, labelId: string, on: boolean, actorId: string | null, now: number): boolean {
  return db.transaction((tx) => {
    const c = contactOf(tx, workspaceId, contactId)
    const label = findLabel(tx, workspaceId, labelId)
    if (label === undefined) throw new NotFoundError()
    const changed = on ? addContactLabel(tx, workspaceId, c.id, label.id, now) : removeContactLabel(tx, workspaceId, c.id, label.id)
    if (changed) recordContactEvent(tx, { workspaceId, contactId: c.id, kind: on ? 'label_added' : 'label_removed', actorId, data: { label: label.name }, at: now })
    return changed
  }, { behavior: 'immediate' })
}

/** Adds a label to many contacts of the workspace (others' ids are ignored). Returns how many got it. */
export function bulkAddLabel (db: Db, workspaceId: string, ids: readonly string[], labelId: string, actorId: string | null, now: number): number {
  return db.transaction((tx) => {
    const label = findLabel(tx, workspaceId, labelId)
    if (label === undefined) throw new NotFoundError()
    let n = 0
    for (const id of liveContactIds(tx, workspaceId, [...new Set(ids)].slice(0, contactLimits.bulk))) {
      if (!addContactLabel(tx, workspaceId, id, label.id, now)) continue
      recordContactEvent(tx, { workspaceId, contactId: id, kind: 'label_added', actorId, data: { label: label.name }, at: now })
      n++
    }
    return n
  }, { behavior: 'immediate' })
}

/**
 * Deletes contacts of the workspace (soft: deletedAt is set, the list and search stop showing them,
 * their conversations stay). Others' ids are ignored. Recorded on each contact and in the audit log.
 */
export function deleteContacts (db: Db, actor: { userId: string | null, workspaceId: string, ip?: string | undefined, apiKeyId?: string }, ids: readonly string[], now: number): number {
  return db.transaction((tx) => {
    let n = 0
    for (const id of liveContactIds(tx, actor.workspaceId, [...new Set(ids)].slice(0, contactLimits.bulk))) {
      if (!softDeleteContact(tx, actor.workspaceId, id, now)) continue
      recordContactEvent(tx, { workspaceId: actor.workspaceId, contactId: id, kind: 'deleted', actorId: actor.userId, at: now })
      n++
    }
    if (n > 0) recordAudit(tx, { action: 'contacts_deleted', workspaceId: actor.workspaceId, actorUserId: actor.userId ?? undefined, details: actor.apiKeyId === undefined ? { count: n } : { count: n, apiKeyId: actor.apiKeyId }, ip: actor.ip }, now)
    return n
  }, { behavior: 'immediate' })
}

/**
 * Puts a contact on legal hold (or takes it off): retention never removes a contact on hold, nor its
 * messages. Returns whether it changed; recorded on the timeline and in the audit log.
 */
export function setLegalHold (db: Db, actor: { userId: string | null, workspaceId: string, ip?: string | undefined }, contactId: string, on: boolean, now: number): boolean {
  return db.transaction((tx) => {
    const c = contactOf(tx, actor.workspaceId, contactId)
    if (c.legalHold === on) return false
    updateContact(tx, actor.workspaceId, c.id, { legalHold: on, updatedAt: now })
    recordContactEvent(tx, { workspaceId: actor.workspaceId, contactId: c.id, kind: on ? 'legal_hold_on' : 'legal_hold_off', actorId: actor.userId, at: now })
    recordAudit(tx, { action: on ? 'legal_hold_set' : 'legal_hold_released', workspaceId: actor.workspaceId, actorUserId: actor.userId ?? undefined, details: { contactId: c.id }, ip: actor.ip }, now)
    return true
  }, { behavior: 'immediate' })
}

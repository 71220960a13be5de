// What the contact screens show: the list's rows (with labels and a phone), and the contact page
// (WhatsApp identity, phones, emails, labels, notes, custom fields, conversations, timeline).
// Everything is read for one workspace; an id of another workspace is a 404.
import type { Db } from '../../db/open.js'
import { initials, colourOf } from '../../platform/http/render.js'
import { listLabels } from '../labels/labels.service.js'
import { userNames } from '../workspaces/workspaces.service.js'
import { contactTimeline, type ContactEventRow } from './contact-events.store.js'
import { conversationsOfContact, emailsOf, labelsOfContact, phonesOf, type ContactConversationRow, type LabelRow } from './contact-edit.store.js'
import { contactOf } from './contact-edit.service.js'
import { contactFieldValues, listFields, type ContactField } from './contact-fields.service.js'
import { firstPhones, labelIdsOfContacts, listContacts, searchKind, workspaceCountry, type ContactFilter, type ContactListRow, type SearchKind } from './contacts-list.store.js'
import { formatPhone } from './phone.js'
import type { Contact } from './contacts.store.js'

export const listPageSize = 50

/** The name people see: the team's name, else the WhatsApp profile name, else @username, else the number. */
export function displayName (c: Pick<Contact, 'name' | 'profileName' | 'username' | 'waId'>, phone?: string | null): string | null {
  return c.name ?? c.profileName ?? (c.username !== null ? '@' + c.username : null) ?? (c.waId !== null ? formatPhone(c.waId) : phone ?? null)
}

export interface LabelBrief { id: string, name: string, colour: number }

export interface ContactRowView {
  id: string
  name: string | null
  /** The WhatsApp profile name when the team renamed the contact. */
  sub: string | null
  initials: string
  colour: number
  phone: string | null
  labels: LabelBrief[]
  consent: ContactListRow['consent']
  lastInboundAt: number | null
}

export interface ContactListView {
  filter: ContactFilter
  search: SearchKind['kind']
  rows: ContactRowView[]
  next: string | null
  labels: LabelBrief[]
  fields: ContactField[]
}

/** One page of the list with what each row shows. */
export function contactListView (db: Db, workspaceId: string, filter: ContactFilter, after: string | undefined, now: number): ContactListView {
  const page = listContacts(db, workspaceId, filter, { after, limit: listPageSize }, now)
  const ids = page.rows.map(r => r.id)
  const allLabels = listLabels(db, workspaceId).map(l => ({ id: l.id, name: l.name, colour: l.colour }))
  const byId = new Map(allLabels.map(l => [l.id, l]))
  const labelIds = labelIdsOfContacts(db, workspaceId, ids)
  const extraPhones = firstPhones(db, workspaceId, page.rows.filter(r => r.waId === null).map(r => r.id))
  return {
    filter,
    search: searchKind(filter.q, workspaceCountry(db, workspaceId)).kind,
    rows: page.rows.map(r => {
      const extra = extraPhones.get(r.id)
      const phone = r.waId !== null ? formatPhone(r.waId) : extra !== undefined ? formatPhone(extra) : null
      const name = displayName(r, phone)
      return {
        id: r.id,
        name,
        sub: r.name !== null && r.profileName !== null && r.profileName !== r.name ? r.profileName : null,
        initials: initials(name ?? '?'),
        colour: colourOf(r.id),
        phone,
        labels: (labelIds.get(r.id) ?? []).map(id => byId.get(id)).filter((l): l is LabelBrief => l !== undefined),
        consent: r.consent,
        lastInboundAt: r.lastInboundAt
      }
    }),
    next: page.next ?? null,
    labels: allLabels,
    fields: listFields(db, workspaceId)
  }
}

export interface FieldView { field: ContactField, value: string | null }

export interface TimelineItem { id: string, kind: string, at: number, actor: string | null, params: Record<string, string> }

export interface ContactPageView {
  contact: Contact
  name: string
  initials: string
  colour: number
  whatsApp: { phone: string | null, profileName: string | null, username: string | null, bsuid: string | null }
  phones: Array<{ id: string, display: string }>
  emails: Array<{ id: string, email: string }>
  labels: LabelBrief[]
  allLabels: LabelBrief[]
  notes: string | null
  fields: FieldView[]
  conversations: ContactConversationRow[]
  timeline: TimelineItem[]
  country: string
}

/** The timeline as sentences' parameters (the template picks contacts.event.<kind>). */
function timelineItems (db: Db, workspaceId: string, rows: ContactEventRow[]): TimelineItem[] {
  const names = userNames(db, rows.flatMap(r => r.actorId === null ? [] : [r.actorId]))
  return rows.map(r => {
    let data: Record<string, unknown> = {}
    try { data = r.data === null ? {} : JSON.parse(r.data) as Record<string, unknown> } catch { data = {} }
    const params: Record<string, string> = {}
    for (const [k, v] of Object.entries(data)) if (typeof v === 'string' || typeof v === 'number') params[k] = String(v)
    if (typeof data.phone === 'string') params.phone = formatPhone(data.phone)
    if (r.kind === 'field_changed' && data.value === null) params.cleared = '1'
    return { id: r.id, kind: r.kind, at: r.at, actor: r.actorId === null ? null : names.get(r.actorId) ?? '', params }
  })
}

/** Everything the contact page shows (404 for another workspace's or a deleted contact). */
export function contactPageView (db: Db, workspaceId: string, contactId: string): ContactPageView {
  const contact = contactOf(db, workspaceId, contactId)
  const phones = phonesOf(db, workspaceId, contact.id)
  const waPhone = contact.waId === null ? null : formatPhone(contact.waId)
  const name = displayName(contact, phones[0] === undefined ? null : formatPhone(phones[0].phone)) ?? ''
  const values = contactFieldValues(db, workspaceId, contact.id)
  return {
    contact,
    name,
    initials: initials(name === '' ? '?' : name),
    colour: colourOf(contact.id),
    whatsApp: { phone: waPhone, profileName: contact.profileName, username: contact.username, bsuid: contact.bsuid },
    phones: phones.map(p => ({ id: p.id, display: formatPhone(p.phone) })),
    emails: emailsOf(db, workspaceId, contact.id).map(e => ({ id: e.id, email: e.email })),
    labels: labelsOfContact(db, workspaceId, contact.id).map(l => ({ id: l.id, name: l.name, colour: l.colour })),
    allLabels: listLabels(db, workspaceId).map((l: LabelRow) => ({ id: l.id, name: l.name, colour: l.colour })),
    notes: contact.notes,
    fields: listFields(db, workspaceId).map(field => ({ field, value: values.get(field.id) ?? null })),
    conversations: conversationsOfContact(db, workspaceId, contact.id),
    timeline: timelineItems(db, workspaceId, contactTimeline(db, workspaceId, contact.id, { limit: 50 })),
    country: workspaceCountry(db, workspaceId)
  }
}

/** One custom field of a contact, for its click-to-edit partial. */
export function fieldViewOf (db: Db, workspaceId: string, contactId: string, field: ContactField): FieldView {
  const contact = contactOf(db, workspaceId, contactId)
  return { field, value: contactFieldValues(db, workspaceId, contact.id).get(field.id) ?? null }
}

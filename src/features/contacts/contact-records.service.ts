// Contacts as whole records: everything the team knows about each (numbers and emails decrypted, label
// names, custom fields by key, consent with its source), read a page at a time with one query per kind.
// The public API answers with these; the export writes them as CSV or JSON.
import type { Db } from '../../db/open.js'
import { listLabels } from '../labels/labels.service.js'
import { fieldValuesOfMany, listFields } from './contact-fields.service.js'
import { labelIdsOfContacts } from './contacts-list.store.js'
import { contactsByIds, type Contact } from './contacts.store.js'
import { displayName } from './contact-page.service.js'
import { emailsOfContacts, phonesOfContacts } from './import.store.js'

export interface ContactRecord {
  id: string
  /** The name the team gave, if any. */
  name: string | null
  /** What people see: the name, else the WhatsApp profile name, @username or number. */
  displayName: string | null
  profileName: string | null
  username: string | null
  /** The WhatsApp number (E.164), when WhatsApp told us. */
  whatsapp: string | null
  bsuid: string | null
  /** Other numbers (E.164). */
  phones: string[]
  emails: string[]
  labels: Array<{ id: string, name: string }>
  notes: string | null
  consent: { state: Contact['consent'], source: string | null, at: number | null }
  /** Custom field values by field key. */
  fields: Record<string, string>
  lastInboundAt: number | null
  createdAt: number
  updatedAt: number
}

/** The live contacts among `ids` as records, in the order of `ids` (unknown, deleted and merged ones left out). */
export function contactRecords (db: Db, workspaceId: string, ids: readonly string[]): ContactRecord[] {
  const rows = new Map(contactsByIds(db, workspaceId, ids).map(c => [c.id, c]))
  const live = ids.filter(id => rows.has(id))
  if (live.length === 0) return []
  const fields = listFields(db, workspaceId)
  const labelNames = new Map(listLabels(db, workspaceId).map(l => [l.id, l.name]))
  const phones = phonesOfContacts(db, workspaceId, live)
  const emails = emailsOfContacts(db, workspaceId, live)
  const labels = labelIdsOfContacts(db, workspaceId, live)
  const values = fieldValuesOfMany(db, workspaceId, live)
  return live.map(id => {
    const c = rows.get(id)!
    const own = values.get(id)
    const fieldValues: Record<string, string> = {}
    for (const f of fields) { const v = own?.get(f.id); if (v !== undefined) fieldValues[f.key] = v }
    const extra = phones.get(id) ?? []
    return {
      id,
      name: c.name,
      displayName: displayName(c, extra[0] ?? null),
      profileName: c.profileName,
      username: c.username,
      whatsapp: c.waId === null ? null : `+${c.waId}`,
      bsuid: c.bsuid,
      phones: extra,
      emails: emails.get(id) ?? [],
      labels: (labels.get(id) ?? []).flatMap(l => { const name = labelNames.get(l); return name === undefined ? [] : [{ id: l, name }] }),
      notes: c.notes,
      consent: { state: c.consent, source: c.consentSource, at: c.consentAt },
      fields: fieldValues,
      lastInboundAt: c.lastInboundAt,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt
    }
  })
}

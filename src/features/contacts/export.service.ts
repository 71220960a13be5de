// Export of the contact list's current filter: every matching contact of the workspace (the list's own
// keyset query, eachContactInFilter) with its name, WhatsApp number, phones, emails, labels, consent,
// custom fields and creation date, streamed in pages of 500 so a 100k-contact export never sits in
// memory. CSV cells are neutralised against formula injection (csv.ts) and the file starts with a BOM
// so spreadsheets read it as UTF-8; the header names re-import as they are (name, whatsapp → phone,
// phones, emails, labels, consent, <field key>). One audit entry per export, with the format and the
// number of contacts — written when the stream ends, also when the download was cut short.
import type { Deps } from '../../deps.js'
import { recordAudit } from '../audit/audit.service.js'
import { listFields } from './contact-fields.service.js'
import { contactRecords } from './contact-records.service.js'
import { eachContactInFilter, type ContactFilter, type ContactListRow } from './contacts-list.store.js'
import { csvLine, utf8Bom } from './csv.js'

export type ExportFormat = 'csv' | 'json'

export interface ExportActor { userId: string, workspaceId: string, ip?: string | undefined }

const pageSize = 500

/** "contacts-2025-11-25.csv": ASCII only, so the Content-Disposition header needs no escaping. */
export function exportFileName (format: ExportFormat, now: number): string {
  return `contacts-${new Date(now).toISOString().slice(0, 10)}.${format}`
}

interface ExportedContact {
  id: string
  name: string
  whatsapp: string
  phones: string[]
  emails: string[]
  labels: string[]
  consent: string
  fields: Record<string, string>
  createdAt: string
}

/** The text of an export, piece by piece (an iterable for a stream). */
export function * exportContacts (deps: Pick<Deps, 'db' | 'clock'>, actor: ExportActor, filter: ContactFilter, format: ExportFormat): Generator<string> {
  const ws = actor.workspaceId
  const now = deps.clock.now()
  const fields = listFields(deps.db, ws)
  let count = 0
  let complete = false
  let first = true

  function expand (rows: ContactListRow[]): ExportedContact[] {
    return contactRecords(deps.db, ws, rows.map(r => r.id)).map(c => ({
      id: c.id,
      name: c.name ?? c.profileName ?? c.username ?? '',
      whatsapp: c.whatsapp ?? '',
      phones: c.phones,
      emails: c.emails,
      labels: c.labels.map(l => l.name),
      consent: c.consent.state,
      fields: c.fields,
      createdAt: new Date(c.createdAt).toISOString()
    }))
  }

  function render (contacts: ExportedContact[]): string {
    if (format === 'json') {
      let out = ''
      for (const c of contacts) { out += (first ? '\n' : ',\n') + JSON.stringify(c); first = false }
      return out
    }
    return contacts.map(c => csvLine([c.name, c.whatsapp, c.phones.join('; '), c.emails.join('; '), c.labels.join('; '), c.consent, ...fields.map(f => c.fields[f.key] ?? ''), c.createdAt])).join('')
  }

  try {
    yield format === 'json' ? '[' : utf8Bom + csvLine(['name', 'whatsapp', 'phones', 'emails', 'labels', 'consent', ...fields.map(f => f.key), 'created_at'])
    let page: ContactListRow[] = []
    for (const row of eachContactInFilter(deps.db, ws, filter, now, pageSize)) {
      page.push(row)
      if (page.length === pageSize) {
        const expanded = expand(page)
        count += expanded.length
        yield render(expanded)
        page = []
      }
    }
    if (page.length > 0) {
      const expanded = expand(page)
      count += expanded.length
      yield render(expanded)
    }
    yield format === 'json' ? (count === 0 ? ']\n' : '\n]\n') : ''
    complete = true
  } finally {
    recordAudit(deps.db, { action: 'contacts_exported', workspaceId: ws, actorUserId: actor.userId, details: { format, count, complete }, ip: actor.ip }, deps.clock.now())
  }
}

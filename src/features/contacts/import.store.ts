// CSV imports (contact_imports) and the lookups and writes an import runs for every row. The per-row
// statements are prepared once per handle (db/prepared.ts): a 100k-row import runs each of them
// hundreds of thousands of times. Every query names the workspace; the worker's "what is running" scan
// is the only one across workspaces (it returns ids and the workspace, nothing else).
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm'
import type { Statement } from 'better-sqlite3'
import type { Db, Sqlite } from '../../db/open.js'
import { newId, seal } from '../../platform/crypto/index.js'
import { contactEmails, contactImports, contactPhones } from '../../db/schema.js'
import { prepared } from '../../db/prepared.js'

export type ImportRow = typeof contactImports.$inferSelect
export type NewImportRow = typeof contactImports.$inferInsert
/** An import without its (large, sealed) content and report. */
export type ImportSummary = Omit<ImportRow, 'content' | 'report'>

const summaryColumns = {
  id: contactImports.id,
  workspaceId: contactImports.workspaceId,
  createdBy: contactImports.createdBy,
  status: contactImports.status,
  fileName: contactImports.fileName,
  mapping: contactImports.mapping,
  totalRows: contactImports.totalRows,
  processedRows: contactImports.processedRows,
  createdCount: contactImports.createdCount,
  updatedCount: contactImports.updatedCount,
  skippedCount: contactImports.skippedCount,
  error: contactImports.error,
  createdAt: contactImports.createdAt,
  updatedAt: contactImports.updatedAt,
  finishedAt: contactImports.finishedAt
}

const scoped = (workspaceId: string, id: string) => and(eq(contactImports.workspaceId, workspaceId), eq(contactImports.id, id))

export function insertImport (db: Db, row: NewImportRow): ImportSummary {
  return db.insert(contactImports).values(row).returning(summaryColumns).get()
}

export function findImport (db: Db, workspaceId: string, id: string): ImportSummary | undefined {
  return db.select(summaryColumns).from(contactImports).where(scoped(workspaceId, id)).get()
}

/** The decoded file, or null once the import has finished (or undefined for an unknown import). */
export function importContent (db: Db, workspaceId: string, id: string): string | null | undefined {
  return db.select({ content: contactImports.content }).from(contactImports).where(scoped(workspaceId, id)).get()?.content
}

/** The report JSON (sealed at rest), or null. */
export function importReport (db: Db, workspaceId: string, id: string): string | null | undefined {
  return db.select({ report: contactImports.report }).from(contactImports).where(scoped(workspaceId, id)).get()?.report
}

export function updateImport (db: Db, workspaceId: string, id: string, set: Partial<NewImportRow>): number {
  return db.update(contactImports).set(set).where(scoped(workspaceId, id)).run().changes
}

/** Moves an import from one status to another; false when it was not in `from` (a race lost, or cancelled). */
export function moveImport (db: Db, workspaceId: string, id: string, from: ImportRow['status'], set: Partial<NewImportRow> & { status: ImportRow['status'] }): boolean {
  return db.update(contactImports).set(set).where(and(scoped(workspaceId, id), eq(contactImports.status, from))).run().changes === 1
}

/** The workspace's latest imports, newest first. */
export function recentImports (db: Db, workspaceId: string, limit: number): ImportSummary[] {
  return db.select(summaryColumns).from(contactImports).where(eq(contactImports.workspaceId, workspaceId)).orderBy(desc(contactImports.createdAt), desc(contactImports.id)).limit(limit).all()
}

/** Imports the worker should run (any workspace), oldest first: ids and workspace only. */
export function runningImports (db: Db): Array<{ id: string, workspaceId: string }> {
  return db.select({ id: contactImports.id, workspaceId: contactImports.workspaceId }).from(contactImports)
    .where(eq(contactImports.status, 'running')).orderBy(asc(contactImports.createdAt)).all()
}

/** Uploaded files nobody started, older than `before`: their content is dropped (they stay listed). */
export function staleUploads (db: Db, before: number): Array<{ id: string, workspaceId: string }> {
  return db.select({ id: contactImports.id, workspaceId: contactImports.workspaceId }).from(contactImports)
    .where(and(eq(contactImports.status, 'uploaded'), sql`${contactImports.createdAt} < ${before}`)).all()
}

// ── per-row lookups and writes ──
// An import runs these hundreds of thousands of times, so they are plain SQL statements prepared once
// on the raw handle (the one connection: they run inside the batch's transaction). Drizzle's prepared
// statements (insertValues + placeholders) measured ~50 % slower on the import's two hottest inserts
// (20k contact_phones: 25 vs 40 µs each; 20k contact_events: 42 vs 63 µs), so encrypted columns are
// sealed here exactly as the schema's encryptedText does (AAD "table.column").
// The lookups are bare equality probes of contacts_wa_id, contact_phones_index and
// contact_emails_index (covering: SQLite picks them without statistics, so no INDEXED BY; the plans
// are checked by transfer.test.ts): ~3–5 µs each. Joining contacts in the probe to drop deleted and
// merged holders cost ~40 µs per call even on a miss, and one statement for all of a row's values
// (json_each lists under UNION ALL, with those joins) ~190 µs per row, so liveness is asked only for
// the few hits.

const statements = {
  byWaIndex: `SELECT id FROM contacts
    WHERE workspace_id = ? AND wa_id_index = ? AND deleted_at IS NULL AND merged_into_id IS NULL`,
  byPhoneIndex: 'SELECT contact_id AS id FROM contact_phones WHERE workspace_id = ? AND phone_index = ?',
  byEmailIndex: 'SELECT contact_id AS id FROM contact_emails WHERE workspace_id = ? AND email_index = ?',
  live: 'SELECT 1 FROM contacts WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL AND merged_into_id IS NULL',
  target: `SELECT id, name, notes IS NOT NULL AS hasNotes, consent FROM contacts
    WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL AND merged_into_id IS NULL`,
  insertContact: `INSERT INTO contacts (id, workspace_id, name, notes, consent, consent_source, consent_at, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  addPhone: 'INSERT INTO contact_phones (id, workspace_id, contact_id, phone, phone_index, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  addEmail: 'INSERT INTO contact_emails (id, workspace_id, contact_id, email, email_index, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  addLabel: 'INSERT INTO contact_labels (workspace_id, contact_id, label_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
  addField: 'INSERT INTO contact_field_values (workspace_id, contact_id, field_id, value, value_index, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  // New contacts enter the name search index here, as contacts.store's insertContact does (migration 0007).
  nameSearch: 'INSERT INTO contacts_name_search (rowid, name, profile_name, username) VALUES (?, ?, NULL, NULL)',
  event: 'INSERT INTO contact_events (id, workspace_id, contact_id, kind, actor_id, data, at) VALUES (?, ?, ?, ?, ?, ?, ?)'
} as const

function statement (sqlite: Sqlite, name: keyof typeof statements): Statement {
  return prepared(sqlite, `import.${name}`, () => sqlite.prepare(statements[name]))
}

/** The lookups' SQL, for the query-plan test. */
export const lookupSql = { byWaIndex: statements.byWaIndex, byPhoneIndex: statements.byPhoneIndex, byEmailIndex: statements.byEmailIndex, live: statements.live }

/** The live contact (not deleted, not merged away) whose WhatsApp id index is this, if any. */
export function contactByWaIndex (sqlite: Sqlite, workspaceId: string, index: string): string | undefined {
  return (statement(sqlite, 'byWaIndex').get(workspaceId, index) as { id: string } | undefined)?.id
}

/** Live contacts with an extra phone of this index. */
export function contactsByPhoneIndex (sqlite: Sqlite, workspaceId: string, index: string): string[] {
  return liveOnly(sqlite, workspaceId, statement(sqlite, 'byPhoneIndex').all(workspaceId, index) as Array<{ id: string }>)
}

/** Live contacts with an email of this index. */
export function contactsByEmailIndex (sqlite: Sqlite, workspaceId: string, index: string): string[] {
  return liveOnly(sqlite, workspaceId, statement(sqlite, 'byEmailIndex').all(workspaceId, index) as Array<{ id: string }>)
}

function liveOnly (sqlite: Sqlite, workspaceId: string, rows: Array<{ id: string }>): string[] {
  const out: string[] = []
  for (const r of rows) if (statement(sqlite, 'live').get(workspaceId, r.id) !== undefined) out.push(r.id)
  return out
}

/** What an import may fill on an existing live contact (an empty name or notes, consent). */
export interface ImportTarget { id: string, name: string | null, hasNotes: boolean, consent: 'unknown' | 'opted_in' | 'opted_out' }

export function importTarget (sqlite: Sqlite, workspaceId: string, id: string): ImportTarget | undefined {
  const row = statement(sqlite, 'target').get(workspaceId, id) as { id: string, name: string | null, hasNotes: number, consent: ImportTarget['consent'] } | undefined
  return row === undefined ? undefined : { id: row.id, name: row.name, hasNotes: row.hasNotes === 1, consent: row.consent }
}

/** A new contact of an import; returns its id. */
export function insertImportedContact (sqlite: Sqlite, row: { workspaceId: string, name: string | null, notes: string | null, consent: 'unknown' | 'opted_in' | 'opted_out', consentSource: string | null, consentAt: number | null, now: number }): string {
  const id = newId(row.now)
  const { lastInsertRowid } = statement(sqlite, 'insertContact').run(id, row.workspaceId, row.name, row.notes === null ? null : seal(row.notes, 'contacts.notes'), row.consent, row.consentSource, row.consentAt, row.now, row.now)
  statement(sqlite, 'nameSearch').run(lastInsertRowid, row.name)
  return id
}

/** Adds an extra phone number (nothing when the contact already has it). */
export function addPhone (sqlite: Sqlite, row: { workspaceId: string, contactId: string, phone: string, phoneIndex: string, createdAt: number }): void {
  statement(sqlite, 'addPhone').run(newId(row.createdAt), row.workspaceId, row.contactId, seal(row.phone, 'contact_phones.phone'), row.phoneIndex, row.createdAt)
}

/** Adds an email address (nothing when the contact already has it). */
export function addEmail (sqlite: Sqlite, row: { workspaceId: string, contactId: string, email: string, emailIndex: string, createdAt: number }): void {
  statement(sqlite, 'addEmail').run(newId(row.createdAt), row.workspaceId, row.contactId, seal(row.email, 'contact_emails.email'), row.emailIndex, row.createdAt)
}

/** Puts a label on a contact (nothing when it is there already). */
export function addContactLabel (sqlite: Sqlite, row: { workspaceId: string, contactId: string, labelId: string, createdAt: number }): void {
  statement(sqlite, 'addLabel').run(row.workspaceId, row.contactId, row.labelId, row.createdAt)
}

/** Sets a custom field value only when the contact has none for that field. */
export function addFieldValue (sqlite: Sqlite, row: { workspaceId: string, contactId: string, fieldId: string, value: string, valueIndex: string, updatedAt: number }): void {
  statement(sqlite, 'addField').run(row.workspaceId, row.contactId, row.fieldId, seal(row.value, 'contact_field_values.value'), row.valueIndex, row.updatedAt)
}

/** The 'imported' timeline event of a contact (data: JSON, sealed like contact_events.data). */
export function recordImportedEvent (sqlite: Sqlite, row: { workspaceId: string, contactId: string, actorId: string | null, data: string, at: number }): void {
  statement(sqlite, 'event').run(newId(row.at), row.workspaceId, row.contactId, 'imported', row.actorId, seal(row.data, 'contact_events.data'), row.at)
}

// ── export: everything of a page of contacts, in one query per kind ──

export function phonesOfContacts (db: Db, workspaceId: string, ids: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (ids.length === 0) return out
  const rows = db.select({ contactId: contactPhones.contactId, phone: contactPhones.phone }).from(contactPhones)
    .where(and(eq(contactPhones.workspaceId, workspaceId), inArray(contactPhones.contactId, [...ids]))).orderBy(asc(contactPhones.createdAt), asc(sql`${contactPhones}.rowid`)).all()
  for (const r of rows) {
    const list = out.get(r.contactId)
    if (list === undefined) out.set(r.contactId, [r.phone])
    else list.push(r.phone)
  }
  return out
}

export function emailsOfContacts (db: Db, workspaceId: string, ids: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (ids.length === 0) return out
  const rows = db.select({ contactId: contactEmails.contactId, email: contactEmails.email }).from(contactEmails)
    .where(and(eq(contactEmails.workspaceId, workspaceId), inArray(contactEmails.contactId, [...ids]))).orderBy(asc(contactEmails.createdAt), asc(sql`${contactEmails}.rowid`)).all()
  for (const r of rows) {
    const list = out.get(r.contactId)
    if (list === undefined) out.set(r.contactId, [r.email])
    else list.push(r.email)
  }
  return out
}

// Contact import from CSV, in four steps:
//   1. upload  — the bytes are decoded and every limit of csv.ts is checked in one pass (size, NUL,
//                quotes, columns, rows); the decoded text is stored sealed in contact_imports.content;
//   2. mapping — each column → name / phone / email / notes / labels / consent / a custom field / skip,
//                guessed from the header (English and Portuguese), with a preview of the first 20 rows
//                and the problems each would have;
//   3. run     — the worker (import.worker.ts) applies the rows in batches, each batch one transaction
//                that also advances the progress counters (so a restart resumes exactly where it was);
//   4. report  — created / updated / skipped, and for skipped rows the row number and the reason (never
//                a cell value). The uploaded content is dropped when the import ends, however it ends.
// Dedupe: a row whose phone (any spelling: the WhatsApp id index, the extra-phone index, Brazil's 9th
// digit and the other legacy variants) or email matches a live contact updates that contact: an empty
// name or notes are filled, new phones, emails and labels are added, custom fields without a value get
// one, consent moves from unknown, and an opt-out in the file always applies (an opt-in in a file never
// overrides an opt-out). Rows repeating an earlier row of the same file land on that row's contact,
// because every row sees the contacts the rows before it created. Only admins and owners import: an
// import creates and changes contacts in bulk, labels included, and sets marketing consent.
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import { ensureLabel, labelName, listLabels } from '../labels/labels.service.js'
import { listFields, validateFieldValue, type ContactField } from './contact-fields.service.js'
import { workspaceCountry } from './contacts-list.store.js'
import { updateContact, type NewContact } from './contacts.store.js'
import { contactLimits, validateEmail, validateName, validateNotes, validatePhone } from './contact-edit.service.js'
import { recordContactEvent } from './contact-events.store.js'
import { queueHookEvent } from '../hooks/hooks.queue.js'
import { isForgotten } from './forget.service.js'
import { hasTombstones } from './tombstones.store.js'
import { CsvError, csvMaxBytes, csvRecords, decodeCsv, inspectCsv, unneutralise, type CsvRecord } from './csv.js'
import { emailIndex, formatPhone, phoneIndex, phoneSpellings, waIdIndexOf } from './phone.js'
import { isId } from '../../platform/crypto/index.js'
import {
  addContactLabel, addEmail, addFieldValue, addPhone, contactByWaIndex, contactsByEmailIndex, contactsByPhoneIndex, findImport, importContent, importReport,
  importTarget, insertImport, insertImportedContact, moveImport, recentImports, recordImportedEvent, runningImports, staleUploads, updateImport, type ImportSummary
} from './import.store.js'

export type { ImportSummary }

type D = Pick<Deps, 'db' | 'sqlite' | 'clock' | 'events'>

export interface ImportActor { userId: string, workspaceId: string, ip?: string | undefined }

export const previewRows = 20
/** Skipped rows kept in a report with their reason (the counts go on beyond it). */
export const reportMaxEntries = 10_000
/** Files uploaded but never started are dropped after this long. */
export const uploadTtlMs = 24 * 3_600_000

export const baseTargets = ['name', 'phone', 'email', 'notes', 'labels', 'consent'] as const
export type BaseTarget = typeof baseTargets[number]
/** What a column becomes: a contact attribute, `field:<key>`, or skip. */
export type Target = BaseTarget | `field:${string}` | 'skip'
/** Targets a column may have several of: two phone columns, first and last name, two label columns. */
const repeatable = new Set<string>(['name', 'phone', 'email', 'labels', 'skip'])

// ── 1. upload ──

export interface UploadedCsv { filename: string, bytes: Uint8Array, truncated: boolean }

export type UploadResult = { ok: true, value: ImportSummary } | { ok: false, error: { key: string, params: Record<string, string | number> } }

/** A file name safe to show and to put in a header: no paths, no control characters, ≤ 120 characters. */
export function cleanFileName (name: string): string {
  // eslint-disable-next-line no-control-regex
  const base = name.split(/[/\\]/).pop()!.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069"]/g, '').trim()
  return (base === '' ? 'contacts.csv' : base).slice(0, 120)
}

/** Checks and stores an uploaded file; the import waits for its mapping. */
export function uploadImport (deps: D, actor: ImportActor, file: UploadedCsv | undefined): UploadResult {
  if (file === undefined || (file.bytes.length === 0 && !file.truncated)) return { ok: false, error: { key: 'import.errors.noFile', params: {} } }
  const maxMb = Math.round(csvMaxBytes / 1024 / 1024)
  if (file.truncated) return { ok: false, error: { key: 'csv.errors.too_large', params: { maxMb } } }
  let text: string
  let rows: number
  try {
    text = decodeCsv(file.bytes).text
    rows = inspectCsv(text).rows
  } catch (err) {
    if (err instanceof CsvError) return { ok: false, error: { key: err.key, params: err.params } }
    throw err
  }
  if (rows === 0) return { ok: false, error: { key: 'import.errors.noRows', params: {} } }
  const now = deps.clock.now()
  const row = insertImport(deps.db, {
    workspaceId: actor.workspaceId, createdBy: actor.userId, status: 'uploaded', fileName: cleanFileName(file.filename), content: text, totalRows: rows, createdAt: now, updatedAt: now
  })
  return { ok: true, value: row }
}

/** One import of the workspace (404 for another workspace's or an unknown id). */
export function importOf (deps: Pick<Deps, 'db'>, workspaceId: string, id: string): ImportSummary {
  const row = isId(id) ? findImport(deps.db, workspaceId, id) : undefined
  if (row === undefined) throw new NotFoundError()
  return row
}

export function latestImports (deps: Pick<Deps, 'db'>, workspaceId: string, limit = 10): ImportSummary[] {
  return recentImports(deps.db, workspaceId, limit)
}

// ── 2. mapping ──

/** A header as compared: no accents, lower case, words separated by single spaces. */
function headerWords (header: string): string {
  return header.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim()
}

const guesses: Array<[BaseTarget, string[]]> = [
  ['name', ['name', 'full name', 'contact', 'contact name', 'first name', 'last name', 'given name', 'family name', 'surname', 'customer', 'client',
    'nome', 'nome completo', 'contato', 'primeiro nome', 'sobrenome', 'ultimo nome', 'cliente', 'nome do cliente', 'nome do contato', 'razao social']],
  ['phone', ['phone', 'phone number', 'mobile', 'mobile phone', 'mobile number', 'cell', 'cell phone', 'cellphone', 'telephone', 'tel', 'whatsapp', 'whatsapp number', 'number', 'msisdn',
    'telefone', 'celular', 'numero', 'numero de telefone', 'fone', 'whats', 'zap', 'telefone celular', 'contato telefone']],
  ['email', ['email', 'e mail', 'mail', 'email address', 'e mail address', 'endereco de email', 'endereco de e mail', 'correio eletronico']],
  ['notes', ['notes', 'note', 'comments', 'comment', 'remarks', 'description', 'notas', 'nota', 'observacoes', 'observacao', 'obs', 'comentarios', 'descricao']],
  ['labels', ['labels', 'label', 'tags', 'tag', 'groups', 'group', 'segments', 'etiquetas', 'etiqueta', 'marcadores', 'grupos', 'grupo', 'segmentos']],
  ['consent', ['consent', 'opt in', 'optin', 'opt in status', 'marketing', 'marketing consent', 'subscribed', 'whatsapp opt in',
    'consentimento', 'aceite', 'aceita marketing', 'autorizacao', 'inscrito']]
]

/** The target a column header suggests (a custom field by its key or label, else the words above), or skip. */
export function guessTarget (header: string, fields: readonly Pick<ContactField, 'key' | 'label'>[]): Target {
  const words = headerWords(header)
  if (words === '') return 'skip'
  for (const f of fields) {
    if (words === headerWords(f.key) || words === headerWords(f.label)) return `field:${f.key}`
  }
  for (const [target, names] of guesses) if (names.includes(words)) return target
  return 'skip'
}

/** The guessed mapping of a header: one target per column; single-use targets go to their first column only. */
export function guessMapping (header: readonly string[], fields: readonly Pick<ContactField, 'key' | 'label'>[]): Target[] {
  const taken = new Set<string>()
  return header.map(h => {
    const target = guessTarget(h, fields)
    if (!repeatable.has(target) && taken.has(target)) return 'skip'
    taken.add(target)
    return target
  })
}

/** Whether a value names a known target. */
function isTarget (value: string, fields: readonly Pick<ContactField, 'key'>[]): value is Target {
  if (value === 'skip' || (baseTargets as readonly string[]).includes(value)) return true
  return value.startsWith('field:') && fields.some(f => `field:${f.key}` === value)
}

/** A stored or submitted mapping, checked against the header and the fields (unknown targets become skip). */
export function readMapping (raw: ReadonlyArray<string | undefined>, columns: number, fields: readonly Pick<ContactField, 'key'>[]): Target[] {
  return Array.from({ length: columns }, (_, i) => {
    const v = raw[i]
    return v !== undefined && isTarget(v, fields) ? v : 'skip'
  })
}

export type MappingErrors = Record<string, string>

/** What is wrong with a mapping: nothing that identifies a contact, or a single-use target on two columns. */
export function mappingProblems (mapping: readonly Target[]): MappingErrors {
  const errors: MappingErrors = {}
  if (!mapping.some(t => t === 'name' || t === 'phone' || t === 'email')) errors.mapping = 'import.errors.mappingRequired'
  const seen = new Map<string, number>()
  mapping.forEach((t, i) => {
    if (repeatable.has(t)) return
    if (seen.has(t)) errors[`map.${i}`] = 'import.errors.mappingTwice'
    else seen.set(t, i)
  })
  return errors
}

interface Header { header: string[], mapping: Target[] }

/** The header of an uploaded import and its mapping (stored, or guessed). */
function headerOf (deps: D, imp: ImportSummary, content: string, fields: ContactField[]): Header {
  const first = csvRecords(content).next()
  const header = first.done === true ? [] : first.value.fields.map(h => h.trim())
  let stored: unknown
  try { stored = imp.mapping === null ? undefined : JSON.parse(imp.mapping) } catch { stored = undefined }
  const mapping = Array.isArray(stored) ? readMapping(stored as string[], header.length, fields) : guessMapping(header, fields)
  return { header, mapping }
}

// ── rows ──

export type Consent = 'opted_in' | 'opted_out'
const optedIn = new Set(['opted in', 'opt in', 'optin', 'optedin', 'in', 'yes', 'y', 'true', '1', 'subscribed', 'sim', 's', 'aceito', 'aceita', 'inscrito', 'autorizado', 'verdadeiro'])
const optedOut = new Set(['opted out', 'opt out', 'optout', 'optedout', 'out', 'no', 'n', 'false', '0', 'unsubscribed', 'stop', 'nao', 'recusado', 'recusa', 'descadastrado', 'falso'])
const consentUnknown = new Set(['unknown', 'desconhecido', 'nao informado'])

/** A consent cell: opted_in / opted_out, null for empty or "unknown", undefined when it is not understood. */
export function parseConsent (raw: string): Consent | null | undefined {
  const words = headerWords(raw)
  if (words === '' || consentUnknown.has(words)) return null
  if (optedIn.has(words)) return 'opted_in'
  if (optedOut.has(words)) return 'opted_out'
  return undefined
}

/** Why a row is skipped: a reason code, the target it concerns, and for custom fields the field's own error key. */
export interface RowProblem { code: 'empty_row' | 'no_name_or_phone' | 'invalid_phone' | 'invalid_email' | 'invalid_field' | 'invalid_consent' | 'name_too_long' | 'notes_too_long' | 'forgotten', target?: string, detail?: string }

export interface RowPlan {
  name: string | null
  phones: Array<{ e164: string, digits: string }>
  emails: string[]
  notes: string | null
  labels: string[]
  consent: Consent | null
  fields: Array<{ field: ContactField, value: string, index: string }>
  problems: RowProblem[]
}

export interface RowContext {
  workspaceId: string
  country: string
  dateOrder: 'dmy' | 'mdy'
  mapping: readonly Target[]
  fieldsByKey: Map<string, ContactField>
}

/** Reads one data row through the mapping: cleaned values and every problem (a row with problems is skipped). */
export function planRow (ctx: RowContext, cells: readonly string[]): RowPlan {
  const plan: RowPlan = { name: null, phones: [], emails: [], notes: null, labels: [], consent: null, fields: [], problems: [] }
  const names: string[] = []
  let any = false
  for (let i = 0; i < ctx.mapping.length; i++) {
    const target = ctx.mapping[i]!
    if (target === 'skip') continue
    const raw = unneutralise(cells[i] ?? '').trim()
    if (raw === '') continue
    any = true
    switch (target) {
      case 'name': {
        const name = validateName(raw)
        if (name.ok && name.value !== null) names.push(name.value)
        else if (!name.ok) plan.problems.push({ code: 'name_too_long', target, detail: name.error })
        break
      }
      case 'phone':
        // A cell may hold several numbers: "11 98765-4321; 11 3333-4444" (also "|" or " / ").
        for (const part of raw.split(/[;|]|\s\/\s/)) {
          if (part.trim() === '') continue
          const phone = validatePhone(part, ctx.country)
          if (!phone.ok) { plan.problems.push({ code: 'invalid_phone', target, detail: phone.error }); continue }
          if (!plan.phones.some(p => phoneSpellings(p.digits).includes(phone.value.digits)) && plan.phones.length < contactLimits.phones) plan.phones.push(phone.value)
        }
        break
      case 'email':
        for (const part of raw.split(/[;,\s]+/)) {
          if (part === '') continue
          const email = validateEmail(part)
          if (!email.ok) { plan.problems.push({ code: 'invalid_email', target, detail: email.error }); continue }
          if (!plan.emails.includes(email.value) && plan.emails.length < contactLimits.emails) plan.emails.push(email.value)
        }
        break
      case 'notes': {
        const notes = validateNotes(raw)
        if (notes.ok) plan.notes = notes.value
        else plan.problems.push({ code: 'notes_too_long', target, detail: notes.error })
        break
      }
      case 'labels':
        for (const part of raw.split(/[;,]/)) {
          const name = labelName(part)
          if (name !== '' && !plan.labels.some(l => l.toLowerCase() === name.toLowerCase())) plan.labels.push(name)
        }
        break
      case 'consent': {
        const consent = parseConsent(raw)
        if (consent === undefined) plan.problems.push({ code: 'invalid_consent', target })
        else plan.consent = consent
        break
      }
      default: {
        const field = ctx.fieldsByKey.get(target.slice('field:'.length))
        if (field === undefined) break
        const result = validateFieldValue(field, raw, ctx.dateOrder)
        if (result.ok) plan.fields.push({ field, value: result.value, index: result.index })
        else plan.problems.push({ code: 'invalid_field', target, detail: result.error })
      }
    }
  }
  // First and last name columns join into one name.
  const joined = validateName(names.join(' '))
  if (joined.ok) plan.name = joined.value
  else if (!plan.problems.some(p => p.code === 'name_too_long')) plan.problems.push({ code: 'name_too_long', target: 'name', detail: joined.error })
  if (!any) plan.problems.unshift({ code: 'empty_row' })
  else if (plan.name === null && plan.phones.length === 0 && !plan.problems.some(p => p.code === 'invalid_phone')) plan.problems.unshift({ code: 'no_name_or_phone' })
  return plan
}

function rowContext (deps: D, workspaceId: string, mapping: readonly Target[]): RowContext {
  const fields = listFields(deps.db, workspaceId)
  const country = workspaceCountry(deps.db, workspaceId)
  return { workspaceId, country, dateOrder: country === 'US' ? 'mdy' : 'dmy', mapping, fieldsByKey: new Map(fields.map(f => [f.key, f])) }
}

// ── the mapping page ──

export interface ImportColumn { index: number, header: string, target: Target, samples: string[] }
export interface PreviewRow { row: number, plan: RowPlan }

export interface MappingView {
  header: string[]
  columns: ImportColumn[]
  mapping: Target[]
  fields: ContactField[]
  preview: PreviewRow[]
  /** How many of the previewed rows would be skipped. */
  previewProblems: number
}

/**
 * The mapping screen of an uploaded import: its columns with a few sample values, the mapping (given,
 * stored or guessed) and the first rows read through it. 404 unless the import is waiting for a mapping.
 */
export function mappingView (deps: D, workspaceId: string, id: string, given?: ReadonlyArray<string | undefined>): MappingView {
  const imp = importOf(deps, workspaceId, id)
  const content = imp.status === 'uploaded' ? importContent(deps.db, workspaceId, id) : null
  if (content === null || content === undefined) throw new NotFoundError()
  const fields = listFields(deps.db, workspaceId)
  const stored = headerOf(deps, imp, content, fields)
  const mapping = given === undefined ? stored.mapping : readMapping(given, stored.header.length, fields)
  const ctx = rowContext(deps, workspaceId, mapping)
  const samples: string[][] = stored.header.map(() => [])
  const preview: PreviewRow[] = []
  let index = 0
  for (const record of csvRecords(content)) {
    if (index++ === 0) continue
    record.fields.forEach((v, i) => { const s = samples[i]; if (s !== undefined && s.length < 3 && v.trim() !== '') s.push(v.trim().slice(0, 60)) })
    preview.push({ row: index, plan: planRow(ctx, record.fields) })
    if (preview.length >= previewRows) break
  }
  return {
    header: stored.header,
    columns: stored.header.map((header, i) => ({ index: i, header, target: mapping[i]!, samples: samples[i]! })),
    mapping,
    fields,
    preview,
    previewProblems: preview.filter(p => p.plan.problems.length > 0).length
  }
}

export type StartResult = { ok: true } | { ok: false, errors: MappingErrors, view: MappingView }

/** Saves the mapping and starts the import (the worker picks it up). 404 unless it is waiting for a mapping. */
export function startImport (deps: D, actor: ImportActor, id: string, given: ReadonlyArray<string | undefined>): StartResult {
  const view = mappingView(deps, actor.workspaceId, id, given)
  const errors = mappingProblems(view.mapping)
  if (Object.keys(errors).length > 0) return { ok: false, errors, view }
  const now = deps.clock.now()
  if (!moveImport(deps.db, actor.workspaceId, id, 'uploaded', { status: 'running', mapping: JSON.stringify(view.mapping), updatedAt: now })) throw new NotFoundError()
  return { ok: true }
}

/** Cancels an import that has not finished: an upload is discarded, a running import stops after its current batch. */
export function cancelImport (deps: D, actor: ImportActor, id: string): void {
  const imp = importOf(deps, actor.workspaceId, id)
  const now = deps.clock.now()
  if (imp.status === 'uploaded') moveImport(deps.db, actor.workspaceId, id, 'uploaded', { status: 'cancelled', content: null, updatedAt: now, finishedAt: now })
  // Batches are synchronous transactions: this runs between two of them, and the worker stops at its next check.
  else if (imp.status === 'running') finish(deps, imp, 'cancelled', null, { created: imp.createdCount, updated: imp.updatedCount, skipped: imp.skippedCount }, actor.userId)
}

// ── 3. run ──

export interface ReportEntry { row: number, code: RowProblem['code'], target?: string, detail?: string }
export interface ImportReport { skipped: ReportEntry[], more: number }

function readReport (json: string | null | undefined): ImportReport {
  if (json === null || json === undefined) return { skipped: [], more: 0 }
  try {
    const v = JSON.parse(json) as ImportReport
    return { skipped: Array.isArray(v.skipped) ? v.skipped : [], more: typeof v.more === 'number' ? v.more : 0 }
  } catch {
    return { skipped: [], more: 0 }
  }
}

/** The stored report of an import (skipped rows with their reasons). */
export function reportOf (deps: Pick<Deps, 'db'>, workspaceId: string, id: string): ImportReport {
  return readReport(importReport(deps.db, workspaceId, id))
}

export interface RunOptions {
  /** Rows per transaction (default 2000). */
  batchRows?: number
  /**
   * The event loop is held at most about this long per batch (ms, default 100): a batch ends once
   * its work plus its expected commit reaches it. The commit is priced per row from the batches
   * before (FTS flush, index pages, WAL checkpoint: it grows with the database, ~0.3–0.6 ms a row
   * at 100k contacts), so a fixed work budget would not bound the stall.
   */
  batchMs?: number
  /** Checked between batches: true stops the run (it resumes later from where it was). */
  stopped?: () => boolean
  /** Told after each batch: its rows, the time applying them and the time committing (benchmarks). */
  onBatch?: (batch: BatchStats) => void
}

export interface BatchStats { rows: number, workMs: number, commitMs: number, /** the WAL checkpoint run before this batch, if any */ checkpointMs: number }

/**
 * Batches between two WAL checkpoints of a run. SQLite's automatic checkpoint runs inside the commit
 * that crosses 1,000 WAL pages — with an import that is nearly every commit (each batch dirties
 * thousands of scattered index pages), doubling the commit time and adding its own stalls (measured,
 * 50k rows: commits 30.6 s in total with a p99 of 916 ms, against 13.7 s and 65 ms without). While
 * imports run, the automatic checkpoint is off on the connection and the run checkpoints itself every
 * few batches, in an event-loop turn of its own; pages written by several batches are copied once.
 */
export const checkpointEveryBatches = 8
/** Per connection: runs in progress, and the automatic checkpoint setting to restore after the last. */
const checkpointing = new WeakMap<object, { runs: number, saved: number }>()

type Outcome = 'created' | 'updated' | 'skipped'

/** Per-run state: the row context, the workspace's labels by lower-case name, the actor. */
interface Run {
  ctx: RowContext
  labels: Map<string, string>
  actorId: string | null
  importId: string
  eventData: string
  eventDataUpdated: string
}

interface Holders {
  /** Per phone of the row: the contacts that hold it (any spelling), and its extra-phone index. */
  phones: Array<{ ids: Set<string>, index: string }>
  /** Per email of the row: the contacts that hold it, and its index. */
  emails: Array<{ ids: Set<string>, index: string }>
}

/**
 * Which live contacts hold each phone (as WhatsApp id or extra number, any spelling) and each email of
 * a row. Index probes only: ~3–5 µs each (see import.store.ts).
 */
function holders (deps: Pick<Deps, 'sqlite'>, ws: string, plan: RowPlan): Holders {
  const sqlite = deps.sqlite
  const phones = plan.phones.map(p => {
    const spellings = phoneSpellings(p.digits)
    const ids = new Set<string>()
    for (const s of spellings) {
      const id = contactByWaIndex(sqlite, ws, waIdIndexOf(ws, s))
      if (id !== undefined) ids.add(id)
    }
    const index = phoneIndex(ws, spellings[0]!)
    for (const s of spellings) for (const id of contactsByPhoneIndex(sqlite, ws, s === spellings[0] ? index : phoneIndex(ws, s))) ids.add(id)
    return { ids, index }
  })
  const emails = plan.emails.map(e => {
    const index = emailIndex(ws, e)
    return { ids: new Set(contactsByEmailIndex(sqlite, ws, index)), index }
  })
  return { phones, emails }
}

function labelIdOf (deps: D, db: Deps['db'], run: Run, name: string): string {
  const key = name.toLowerCase()
  let id = run.labels.get(key)
  if (id === undefined) {
    id = ensureLabel(db, run.ctx.workspaceId, name, deps.clock.now()).id
    run.labels.set(key, id)
  }
  return id
}

/**
 * Applies one planned row (inside the batch's transaction). Numbers go to the contact's phone list,
 * as the contact form does (the WhatsApp id is only ever what WhatsApp reports); a number or address
 * that belongs to another contact is never copied onto this one.
 */
function applyRow (deps: D, db: Deps['db'], run: Run, plan: RowPlan, now: number): Outcome {
  const ws = run.ctx.workspaceId
  const found = holders(deps, ws, plan)
  let targetId: string | undefined
  for (const h of found.phones) { if (targetId === undefined) targetId = h.ids.values().next().value }
  for (const h of found.emails) { if (targetId === undefined) targetId = h.ids.values().next().value }
  const target = targetId === undefined ? undefined : importTarget(deps.sqlite, ws, targetId)
  let contactId: string
  let outcome: Outcome
  if (target === undefined) {
    contactId = insertImportedContact(deps.sqlite, {
      workspaceId: ws, name: plan.name, notes: plan.notes, consent: plan.consent ?? 'unknown', consentSource: plan.consent === null ? null : 'import', consentAt: plan.consent === null ? null : now, now
    })
    outcome = 'created'
  } else {
    // An existing contact: fill what is empty, add what is new.
    contactId = target.id
    outcome = 'updated'
    const set: Partial<NewContact> = {}
    if (target.name === null && plan.name !== null) set.name = plan.name
    if (!target.hasNotes && plan.notes !== null) set.notes = plan.notes
    // An opt-out in the file always applies; an opt-in only where nothing was recorded.
    const consent = plan.consent
    const consentChanged = consent !== null && (consent === 'opted_out' ? target.consent !== 'opted_out' : target.consent === 'unknown')
    if (consentChanged) Object.assign(set, { consent, consentSource: 'import', consentAt: now, consentWording: null })
    if (Object.keys(set).length > 0) updateContact(db, ws, target.id, { ...set, updatedAt: now })
    if (consentChanged) recordContactEvent(db, { workspaceId: ws, contactId, kind: 'consent_changed', actorId: run.actorId, data: { consent, source: 'import', importId: run.importId }, at: now })
  }
  const sqlite = deps.sqlite
  plan.phones.forEach((p, i) => { const h = found.phones[i]!; if (h.ids.size === 0) addPhone(sqlite, { workspaceId: ws, contactId, phone: p.e164, phoneIndex: h.index, createdAt: now }) })
  plan.emails.forEach((e, i) => { const h = found.emails[i]!; if (h.ids.size === 0) addEmail(sqlite, { workspaceId: ws, contactId, email: e, emailIndex: h.index, createdAt: now }) })
  for (const l of plan.labels) addContactLabel(sqlite, { workspaceId: ws, contactId, labelId: labelIdOf(deps, db, run, l), createdAt: now })
  for (const f of plan.fields) addFieldValue(sqlite, { workspaceId: ws, contactId, fieldId: f.field.id, value: f.value, valueIndex: f.index, updatedAt: now })
  recordImportedEvent(sqlite, { workspaceId: ws, contactId, actorId: run.actorId, data: outcome === 'created' ? run.eventData : run.eventDataUpdated, at: now })
  // The timeline event above is written by a raw statement (the import's hot path): announce it here.
  queueHookEvent(db, ws, outcome === 'created' ? 'contact.created' : 'contact.updated', { contactId }, now)
  return outcome
}

const nextTick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

/**
 * Runs (or resumes) one import to its end, batch by batch, yielding to the event loop between
 * batches. Returns the rows processed by this call. Finishing drops the content and writes one audit entry.
 */
export async function runImport (deps: D, workspaceId: string, id: string, options: RunOptions = {}): Promise<number> {
  const batchRows = options.batchRows ?? 2000
  const batchMs = options.batchMs ?? 100
  /** Expected commit time per row (ms), learnt from the batches so far. */
  let commitPerRow = 0.5
  const imp = findImport(deps.db, workspaceId, id)
  if (imp === undefined || imp.status !== 'running') return 0
  const content = importContent(deps.db, workspaceId, id)
  let mapping: unknown
  try { mapping = JSON.parse(imp.mapping ?? '') } catch { mapping = undefined }
  if (content === null || content === undefined || !Array.isArray(mapping)) {
    finish(deps, imp, 'failed', 'import.errors.lost', { created: imp.createdCount, updated: imp.updatedCount, skipped: imp.skippedCount })
    return 0
  }
  const fields = listFields(deps.db, workspaceId)
  const ctx = rowContext(deps, workspaceId, readMapping(mapping as string[], mapping.length, fields))
  const run: Run = {
    ctx,
    labels: new Map(listLabels(deps.db, workspaceId).map(l => [l.name.toLowerCase(), l.id])),
    actorId: imp.createdBy,
    importId: id,
    eventData: JSON.stringify({ importId: id, file: imp.fileName }),
    eventDataUpdated: JSON.stringify({ importId: id, file: imp.fileName, updated: true })
  }
  const report = reportOf(deps, workspaceId, id)
  // People the workspace was asked to forget are not brought back by a file (checked only when there are any).
  const tombstones = hasTombstones(deps.db, workspaceId)
  const counts = { processed: imp.processedRows, created: imp.createdCount, updated: imp.updatedCount, skipped: imp.skippedCount }
  const records = csvRecords(content)
  let done = 0
  let own = checkpointing.get(deps.sqlite)
  if (own === undefined) {
    own = { runs: 0, saved: Number(deps.sqlite.pragma('wal_autocheckpoint', { simple: true })) }
    checkpointing.set(deps.sqlite, own)
    deps.sqlite.pragma('wal_autocheckpoint = 0')
  }
  own.runs++
  let batchesSinceCheckpoint = 0
  try {
    // The header, then the rows a previous run already applied.
    for (let k = 0; k < 1 + counts.processed; k++) if (records.next().done === true) break
    let next: IteratorResult<CsvRecord>
    let rowNumber = 1 + counts.processed
    for (;;) {
      // Yield before every batch, the first included: a run started from an I/O callback would
      // otherwise go straight on to its second batch (setImmediate fires before the timers).
      await nextTick()
      let checkpointMs = 0
      if (batchesSinceCheckpoint >= checkpointEveryBatches) {
        const at = performance.now()
        deps.sqlite.pragma('wal_checkpoint(PASSIVE)')
        checkpointMs = performance.now() - at
        batchesSinceCheckpoint = 0
        await nextTick()
      }
      if (options.stopped?.() === true) return done
      // Cancelled (or finished elsewhere) since the last batch: stop here.
      if (findImport(deps.db, workspaceId, id)?.status !== 'running') return done
      const started = performance.now()
      let reportChanged = false
      let end = false
      let rows = 0
      let workEnded = started
      deps.db.transaction((db) => {
        const now = deps.clock.now()
        while (rows < batchRows && (rows === 0 || performance.now() - started + rows * commitPerRow < batchMs)) {
          next = records.next()
          if (next.done === true) { end = true; break }
          rowNumber++
          rows++
          const plan = planRow(ctx, next.value.fields)
          if (tombstones && plan.problems.length === 0 && isForgotten(db, workspaceId, plan.phones.map(p => p.digits), plan.emails)) plan.problems.push({ code: 'forgotten' })
          let outcome: Outcome
          if (plan.problems.length > 0) {
            outcome = 'skipped'
            const p = plan.problems[0]!
            if (report.skipped.length < reportMaxEntries) report.skipped.push({ row: rowNumber, code: p.code, ...(p.target === undefined ? {} : { target: p.target }), ...(p.detail === undefined ? {} : { detail: p.detail }) })
            else report.more++
            reportChanged = true
          } else {
            outcome = applyRow(deps, db, run, plan, now)
          }
          counts[outcome]++
        }
        counts.processed += rows
        const set: Parameters<typeof updateImport>[3] = { processedRows: counts.processed, createdCount: counts.created, updatedCount: counts.updated, skippedCount: counts.skipped, updatedAt: now }
        if (reportChanged) set.report = JSON.stringify(report)
        updateImport(db, workspaceId, id, set)
        workEnded = performance.now()
      }, { behavior: 'immediate' })
      const commitMs = performance.now() - workEnded
      if (rows > 0) commitPerRow = 0.7 * commitPerRow + 0.3 * (commitMs / rows)
      batchesSinceCheckpoint++
      options.onBatch?.({ rows, workMs: workEnded - started, commitMs, checkpointMs })
      done += rows
      if (end) {
        finish(deps, imp, 'done', null, counts)
        return done
      }
    }
  } catch (err) {
    finish(deps, imp, 'failed', err instanceof CsvError ? err.key : 'import.errors.failed', counts)
    throw err
  } finally {
    if (--own.runs === 0) {
      checkpointing.delete(deps.sqlite)
      deps.sqlite.pragma(`wal_autocheckpoint = ${own.saved}`)
    }
  }
}

/** Ends an import: the status, the content dropped, one audit entry with the counts (never data). */
function finish (deps: D, imp: ImportSummary, status: 'done' | 'failed' | 'cancelled', error: string | null, counts: { created: number, updated: number, skipped: number }, actorUserId = imp.createdBy): void {
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    if (!moveImport(db, imp.workspaceId, imp.id, 'running', { status, error, content: null, updatedAt: now, finishedAt: now })) return
    recordAudit(db, {
      action: 'contacts_imported',
      workspaceId: imp.workspaceId,
      actorUserId: actorUserId ?? undefined,
      details: { importId: imp.id, status, created: counts.created, updated: counts.updated, skipped: counts.skipped }
    }, now)
  }, { behavior: 'immediate' })
}

/** Runs every running import to its end (tests, and the worker's pass); returns the rows processed. */
export async function runPendingImports (deps: D, options: RunOptions = {}): Promise<number> {
  let total = 0
  for (const imp of runningImports(deps.db)) {
    if (options.stopped?.() === true) break
    total += await runImport(deps, imp.workspaceId, imp.id, options)
  }
  return total
}

/** Drops uploads nobody started within a day (their sealed content goes; the row stays as cancelled). */
export function dropStaleUploads (deps: D): number {
  const now = deps.clock.now()
  let n = 0
  for (const imp of staleUploads(deps.db, now - uploadTtlMs)) {
    if (moveImport(deps.db, imp.workspaceId, imp.id, 'uploaded', { status: 'cancelled', content: null, updatedAt: now, finishedAt: now })) n++
  }
  return n
}

/** A phone for the preview table. */
export function previewPhone (e164: string): string {
  return formatPhone(e164)
}

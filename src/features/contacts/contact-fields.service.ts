// Custom contact fields: the workspace defines them (Settings → Contact fields, admins), every contact
// may hold one value per field. Types: text, number, date, select (one of the options), boolean, URL.
// A value is validated and normalised before it is stored (encrypted), and a blind index of its
// normalised form lets the contact list filter on it exactly:
//   text    trimmed, ≤ 1000 characters (filters ignore case)      number  plain decimal ("1,5" → "1.5")
//   date    ISO yyyy-mm-dd (real dates only)                       select  one of the options (any case in)
//   boolean "true"/"false" (yes/no/1/0/sim/não/true/false in)      url     http(s) only
// The key of a field is a slug of its first label, unique in the workspace and stable across renames
// (import mappings, export headers and {{contact.<key>}} use it).
import type { Db } from '../../db/open.js'
import { blindIndex } from '../../platform/crypto/index.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import { recordContactEvent } from './contact-events.store.js'
import {
  deleteFieldRow, deleteFieldValue, fieldRows, fieldValuesOf, fieldValuesOfContacts, findFieldRow, findFieldRowByKey, insertFieldRow, nextFieldPosition,
  updateFieldRow, upsertFieldValue, type ContactFieldRow
} from './contact-fields.store.js'

export const fieldTypes = ['text', 'number', 'date', 'select', 'boolean', 'url'] as const
export type FieldType = typeof fieldTypes[number]

/** A field definition with its select options parsed. */
export interface ContactField {
  id: string
  workspaceId: string
  key: string
  label: string
  type: FieldType
  options: string[]
  position: number
}

export const fieldLimits = { label: 60, options: 50, option: 100, fields: 50, text: 1000, url: 2000 } as const

export type FieldValueResult = { ok: true, value: string, index: string } | { ok: false, error: string }

function toField (row: ContactFieldRow): ContactField {
  let options: string[] = []
  if (row.type === 'select' && row.options !== null) {
    try {
      const parsed: unknown = JSON.parse(row.options)
      if (Array.isArray(parsed)) options = parsed.filter((o): o is string => typeof o === 'string')
    } catch { options = [] }
  }
  return { id: row.id, workspaceId: row.workspaceId, key: row.key, label: row.label, type: row.type, options, position: row.position }
}

/** The workspace's custom fields in display order. */
export function listFields (db: Db, workspaceId: string): ContactField[] {
  return fieldRows(db, workspaceId).map(toField)
}

/** One field of the workspace, or undefined (another workspace's id is unknown here). */
export function findField (db: Db, workspaceId: string, id: string): ContactField | undefined {
  const row = findFieldRow(db, workspaceId, id)
  return row === undefined ? undefined : toField(row)
}

/** One field by its key (import column mapping "field:<key>"). */
export function findFieldByKey (db: Db, workspaceId: string, key: string): ContactField | undefined {
  const row = findFieldRowByKey(db, workspaceId, key)
  return row === undefined ? undefined : toField(row)
}

/** The blind index of a normalised value of a field (contact_field_values.value_index). */
export function fieldValueIndex (workspaceId: string, fieldId: string, normalisedValue: string): string {
  return blindIndex('contact.field', workspaceId, fieldId + ':' + normalisedValue)
}

const truthy = new Set(['true', 'yes', 'y', '1', 'sim', 's', 'on', 'verdadeiro'])
const falsy = new Set(['false', 'no', 'n', '0', 'não', 'nao', 'off', 'falso'])

/** "1.50", "1,5", " -3 " → "1.5", "1.5", "-3"; anything else is undefined. */
export function normaliseNumber (raw: string): string | undefined {
  let text = raw.normalize('NFKC').replace(/[\s\u00A0]/g, '')
  if (!text.includes('.') && /^-?\d+,\d+$/.test(text)) text = text.replace(',', '.')
  const m = /^([+-]?)(\d{1,20})(?:\.(\d{1,10}))?$/.exec(text)
  if (m === null) return undefined
  const int = m[2]!.replace(/^0+(?=\d)/, '')
  const frac = (m[3] ?? '').replace(/0+$/, '')
  const sign = m[1] === '-' && (int !== '0' || frac !== '') ? '-' : ''
  return sign + int + (frac === '' ? '' : '.' + frac)
}

/** A real calendar date as yyyy-mm-dd: ISO in; with `order`, also d/m/y or m/d/y with / . or - separators. */
export function normaliseDate (raw: string, order?: 'dmy' | 'mdy'): string | undefined {
  const text = raw.trim()
  let y: number, mo: number, d: number
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text)
  if (m !== null) {
    y = Number(m[1]); mo = Number(m[2]); d = Number(m[3])
  } else if (order !== undefined && (m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text)) !== null) {
    y = Number(m[3])
    mo = Number(order === 'dmy' ? m[2] : m[1])
    d = Number(order === 'dmy' ? m[1] : m[2])
  } else {
    return undefined
  }
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return undefined
  const date = new Date(Date.UTC(y, mo - 1, d))
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined
  return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`
}

/** An http(s) URL (normalised by the WHATWG parser), or undefined. */
export function normaliseUrl (raw: string): string | undefined {
  const text = raw.trim()
  if (text.length > fieldLimits.url || /[\s\u0000-\u001f]/.test(text)) return undefined // eslint-disable-line no-control-regex
  let url: URL
  try { url = new URL(text) } catch { return undefined }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  if (url.hostname === '' || url.username !== '' || url.password !== '') return undefined
  return url.href
}

/**
 * Checks and normalises a raw value for a field. Errors are catalogue keys. An empty value is an error
 * here ('contactFields.errors.empty'); setFieldValue treats it as "clear".
 * `dateOrder` lets importers accept day-first or month-first dates besides ISO.
 */
export function validateFieldValue (field: Pick<ContactField, 'id' | 'workspaceId' | 'type' | 'options'>, raw: string, dateOrder?: 'dmy' | 'mdy'): FieldValueResult {
  const text = raw.replace(/\r\n?/g, '\n').trim()
  if (text === '') return { ok: false, error: 'contactFields.errors.empty' }
  const done = (value: string, indexed: string = value): FieldValueResult => ({ ok: true, value, index: fieldValueIndex(field.workspaceId, field.id, indexed) })
  switch (field.type) {
    case 'text':
      if (text.length > fieldLimits.text) return { ok: false, error: 'contactFields.errors.tooLong' }
      return done(text, text.normalize('NFKC').toLowerCase())
    case 'number': {
      const n = normaliseNumber(text)
      return n === undefined ? { ok: false, error: 'contactFields.errors.number' } : done(n)
    }
    case 'date': {
      const d = normaliseDate(text, dateOrder)
      return d === undefined ? { ok: false, error: 'contactFields.errors.date' } : done(d)
    }
    case 'select': {
      const wanted = text.normalize('NFKC').toLowerCase()
      const option = field.options.find(o => o.normalize('NFKC').toLowerCase() === wanted)
      return option === undefined ? { ok: false, error: 'contactFields.errors.option' } : done(option, wanted)
    }
    case 'boolean': {
      const b = text.normalize('NFKC').toLowerCase()
      if (truthy.has(b)) return done('true')
      if (falsy.has(b)) return done('false')
      return { ok: false, error: 'contactFields.errors.boolean' }
    }
    case 'url': {
      const u = normaliseUrl(text)
      return u === undefined ? { ok: false, error: 'contactFields.errors.url' } : done(u)
    }
  }
}

/**
 * Sets (or, for an empty raw value, clears) a contact's value of a field and records a timeline event
 * when it changed. The contact must belong to the workspace (the caller found it). Run it inside the
 * caller's transaction when it is part of a bigger change.
 */
export function setFieldValue (db: Db, workspaceId: string, contactId: string, field: ContactField, raw: string, actorId: string | null, now: number): { ok: true, value: string | null, changed: boolean } | { ok: false, error: string } {
  if (field.workspaceId !== workspaceId) throw new NotFoundError()
  if (raw.trim() === '') return { ok: true, value: null, changed: clearFieldValue(db, workspaceId, contactId, field, actorId, now) }
  const result = validateFieldValue(field, raw)
  if (!result.ok) return result
  const before = fieldValuesOf(db, workspaceId, contactId).get(field.id)
  if (before?.value === result.value) return { ok: true, value: result.value, changed: false }
  upsertFieldValue(db, { workspaceId, contactId, fieldId: field.id, value: result.value, valueIndex: result.index, updatedAt: now })
  recordContactEvent(db, { workspaceId, contactId, kind: 'field_changed', actorId, data: { field: field.label, value: result.value }, at: now })
  return { ok: true, value: result.value, changed: true }
}

/** Removes a contact's value of a field; true when there was one. */
export function clearFieldValue (db: Db, workspaceId: string, contactId: string, field: ContactField, actorId: string | null, now: number): boolean {
  if (deleteFieldValue(db, workspaceId, contactId, field.id) === 0) return false
  recordContactEvent(db, { workspaceId, contactId, kind: 'field_changed', actorId, data: { field: field.label, value: null }, at: now })
  return true
}

/** A contact's values by field id (plaintext). */
export function contactFieldValues (db: Db, workspaceId: string, contactId: string): Map<string, string> {
  return new Map([...fieldValuesOf(db, workspaceId, contactId)].map(([k, v]) => [k, v.value]))
}

/** Values of many contacts (export): contact id → field id → value. */
export function fieldValuesOfMany (db: Db, workspaceId: string, contactIds: readonly string[]): Map<string, Map<string, string>> {
  return fieldValuesOfContacts(db, workspaceId, contactIds)
}

// ── definitions (Settings → Contact fields, admins) ──

export interface FieldActor { userId: string, workspaceId: string, ip?: string | undefined }
export interface FieldInput { label: string, type: string, options: string }
export type FieldErrors = Record<string, string>

/** A slug of a label for a field key: "Plano contratado" → "plano_contratado". */
export function fieldKeyOf (label: string): string {
  const slug = label.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40).replace(/_+$/, '')
  return slug === '' ? 'field' : /^[0-9]/.test(slug) ? 'f_' + slug : slug
}

/** Options typed one per line (or comma-separated on one line), trimmed, without duplicates. */
export function parseOptions (raw: string): string[] {
  const parts = raw.includes('\n') ? raw.split(/\r?\n/) : raw.split(',')
  const seen = new Set<string>()
  const out: string[] = []
  for (const p of parts) {
    const o = p.replace(/\s+/g, ' ').trim()
    const k = o.toLowerCase()
    if (o === '' || seen.has(k)) continue
    seen.add(k)
    out.push(o)
  }
  return out
}

function definitionProblems (input: { label: string, type: string, options: string[] }, withType: boolean): FieldErrors {
  const errors: FieldErrors = {}
  if (input.label === '') errors.label = 'contactFields.errors.labelRequired'
  else if (input.label.length > fieldLimits.label) errors.label = 'contactFields.errors.labelTooLong'
  if (withType && !(fieldTypes as readonly string[]).includes(input.type)) errors.type = 'contactFields.errors.type'
  if (input.type === 'select') {
    if (input.options.length === 0) errors.options = 'contactFields.errors.optionsRequired'
    else if (input.options.length > fieldLimits.options) errors.options = 'contactFields.errors.optionsTooMany'
    else if (input.options.some(o => o.length > fieldLimits.option)) errors.options = 'contactFields.errors.optionTooLong'
  }
  return errors
}

function cleanLabel (label: string): string {
  // eslint-disable-next-line no-control-regex
  return label.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim()
}

export function createField (db: Db, actor: FieldActor, raw: FieldInput, now: number): { ok: true, value: ContactField } | { ok: false, errors: FieldErrors } {
  const input = { label: cleanLabel(raw.label), type: raw.type, options: raw.type === 'select' ? parseOptions(raw.options) : [] }
  return db.transaction((tx) => {
    const errors = definitionProblems(input, true)
    if (Object.keys(errors).length === 0 && fieldRows(tx, actor.workspaceId).length >= fieldLimits.fields) errors.label = 'contactFields.errors.tooMany'
    if (Object.keys(errors).length > 0) return { ok: false as const, errors }
    const base = fieldKeyOf(input.label)
    let key = base
    for (let i = 2; findFieldRowByKey(tx, actor.workspaceId, key) !== undefined; i++) key = `${base}_${i}`
    const row = insertFieldRow(tx, {
      workspaceId: actor.workspaceId,
      key,
      label: input.label,
      type: input.type as FieldType,
      options: input.type === 'select' ? JSON.stringify(input.options) : null,
      position: nextFieldPosition(tx, actor.workspaceId),
      createdAt: now,
      updatedAt: now
    })
    recordAudit(tx, { action: 'contact_field_created', workspaceId: actor.workspaceId, actorUserId: actor.userId, details: { label: row.label, key: row.key, type: row.type }, ip: actor.ip }, now)
    return { ok: true as const, value: toField(row) }
  }, { behavior: 'immediate' })
}

/** Renames a field and (for select) replaces its options. The type and key never change. */
export function updateField (db: Db, actor: FieldActor, id: string, raw: Pick<FieldInput, 'label' | 'options'>, now: number): { ok: true } | { ok: false, errors: FieldErrors } {
  return db.transaction((tx) => {
    const before = findField(tx, actor.workspaceId, id)
    if (before === undefined) throw new NotFoundError()
    const input = { label: cleanLabel(raw.label), type: before.type, options: before.type === 'select' ? parseOptions(raw.options) : [] }
    const errors = definitionProblems(input, false)
    if (Object.keys(errors).length > 0) return { ok: false as const, errors }
    const options = before.type === 'select' ? JSON.stringify(input.options) : null
    if (input.label === before.label && options === (before.type === 'select' ? JSON.stringify(before.options) : null)) return { ok: true as const }
    updateFieldRow(tx, actor.workspaceId, id, { label: input.label, options, updatedAt: now })
    recordAudit(tx, { action: 'contact_field_updated', workspaceId: actor.workspaceId, actorUserId: actor.userId, details: { label: input.label, from: before.label, key: before.key }, ip: actor.ip }, now)
    return { ok: true as const }
  }, { behavior: 'immediate' })
}

/** Moves a field one place up or down in the display order. */
export function moveField (db: Db, actor: FieldActor, id: string, direction: 'up' | 'down', now: number): void {
  db.transaction((tx) => {
    const fields = listFields(tx, actor.workspaceId)
    const i = fields.findIndex(f => f.id === id)
    if (i === -1) throw new NotFoundError()
    const j = direction === 'up' ? i - 1 : i + 1
    if (j < 0 || j >= fields.length) return
    const order = fields.map(f => f.id);
    [order[i], order[j]] = [order[j]!, order[i]!]
    order.forEach((fid, position) => { if (fields.find(f => f.id === fid)!.position !== position) updateFieldRow(tx, actor.workspaceId, fid, { position, updatedAt: now }) })
    recordAudit(tx, { action: 'contact_field_moved', workspaceId: actor.workspaceId, actorUserId: actor.userId, details: { label: fields[i]!.label, key: fields[i]!.key, direction }, ip: actor.ip }, now)
  }, { behavior: 'immediate' })
}

/** Deletes a field and every contact's value of it. */
export function deleteField (db: Db, actor: FieldActor, id: string, now: number): void {
  db.transaction((tx) => {
    const field = findField(tx, actor.workspaceId, id)
    if (field === undefined || deleteFieldRow(tx, actor.workspaceId, id) === 0) throw new NotFoundError()
    recordAudit(tx, { action: 'contact_field_deleted', workspaceId: actor.workspaceId, actorUserId: actor.userId, details: { label: field.label, key: field.key }, ip: actor.ip }, now)
  }, { behavior: 'immediate' })
}

// Labels of a workspace (labels.store.ts): names cleaned the same way wherever they are typed (the
// inbox, a contact, a CSV import), found case-insensitively, created on first use with a colour seeded
// by the name.
import type { Db } from '../../db/open.js'
import { colourOf } from '../../platform/http/render.js'
import { ValidationError } from '../../platform/http/errors.js'
import { findLabel, findLabelByName, insertLabel, listLabels, type LabelRow } from './labels.store.js'

export type { LabelRow }
export { findLabel, listLabels }

/** A label name as stored: no control or bidi-override characters, spaces collapsed, at most 40 characters. */
export function labelName (raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '').replace(/\s+/g, ' ').trim().slice(0, 40)
}

/** The workspace's label with this name (any case), created when there is none. Throws ValidationError for an empty name. */
export function ensureLabel (db: Db, workspaceId: string, rawName: string, now: number): LabelRow {
  const name = labelName(rawName)
  if (name === '') throw new ValidationError({ name: 'inbox.errors.labelName' })
  return findLabelByName(db, workspaceId, name) ?? insertLabel(db, { workspaceId, name, colour: colourOf(name.toLowerCase()), createdAt: now })
}

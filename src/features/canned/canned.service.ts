// Canned responses (saved replies): agents use them in the composer by typing "/" then the shortcut;
// admins manage them under Settings → Canned responses. A body may hold variables filled when the
// response is inserted: {{contact.name}}, {{contact.first_name}}, {{agent.name}}, {{agent.first_name}},
// {{workspace.name}}, each with an optional fallback used when the value is unknown:
// {{contact.first_name|there}} → "there" for a contact without a name.
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import { deleteCanned, findCanned, findCannedByShortcut, insertCanned, listCanned, updateCanned, type CannedResponse } from './canned.store.js'

export type { CannedResponse }

export type FieldErrors = Record<string, string>
export type Result<T> = { ok: true, value: T } | { ok: false, errors: FieldErrors }

/** Who manages canned responses: the acting admin in the active workspace. */
export interface CannedActor { userId: string, workspaceId: string, ip?: string | undefined }

export const shortcutMaxLength = 32
/** WhatsApp's limit for a text message: a canned response must fit in one. */
export const bodyMaxLength = 4096
const shortcutPattern = /^[a-z0-9_-]{1,32}$/

/** The variables a body may use, in the order the settings page lists them. */
export const cannedVariables = ['contact.name', 'contact.first_name', 'agent.name', 'agent.first_name', 'workspace.name'] as const

export interface CannedInput { shortcut: string, body: string }

/** Trims the shortcut (a leading "/" is dropped, letters are lowercased) and normalises line endings. */
export function cleanCannedInput (input: CannedInput): CannedInput {
  return {
    shortcut: input.shortcut.trim().replace(/^\/+/, '').toLowerCase(),
    body: normaliseText(input.body)
  }
}

/** Browsers submit textarea line breaks as CRLF: one character each, as the person typed them. */
export function normaliseText (text: string): string {
  return text.replace(/\r\n?/g, '\n')
}

function problems (deps: Pick<Deps, 'db'>, workspaceId: string, input: CannedInput, exceptId?: string): FieldErrors {
  const errors: FieldErrors = {}
  if (input.shortcut === '') errors.shortcut = 'canned.errors.shortcutRequired'
  else if (!shortcutPattern.test(input.shortcut)) errors.shortcut = 'canned.errors.shortcutFormat'
  else {
    const taken = findCannedByShortcut(deps.db, workspaceId, input.shortcut)
    if (taken !== undefined && taken.id !== exceptId) errors.shortcut = 'canned.errors.shortcutTaken'
  }
  if (input.body.trim() === '') errors.body = 'canned.errors.bodyRequired'
  else if (input.body.length > bodyMaxLength) errors.body = 'canned.errors.bodyTooLong'
  return errors
}

/** The workspace's canned responses, by shortcut. */
export function listCannedResponses (deps: Pick<Deps, 'db'>, workspaceId: string): CannedResponse[] {
  return listCanned(deps.db, workspaceId)
}

/** One canned response of the workspace; another workspace's (or an unknown) id is a 404. */
export function cannedResponse (deps: Pick<Deps, 'db'>, workspaceId: string, id: string): CannedResponse {
  const row = findCanned(deps.db, workspaceId, id)
  if (row === undefined) throw new NotFoundError()
  return row
}

export function createCannedResponse (deps: Pick<Deps, 'db' | 'clock'>, actor: CannedActor, raw: CannedInput): Result<CannedResponse> {
  const input = cleanCannedInput(raw)
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const errors = problems({ db }, actor.workspaceId, input)
    if (Object.keys(errors).length > 0) return { ok: false as const, errors }
    const created = insertCanned(db, { workspaceId: actor.workspaceId, shortcut: input.shortcut, body: input.body, createdBy: actor.userId, createdAt: now, updatedAt: now })
    audit(db, actor, 'canned_response_created', { shortcut: created.shortcut }, now)
    return { ok: true as const, value: created }
  }, { behavior: 'immediate' })
}

export function updateCannedResponse (deps: Pick<Deps, 'db' | 'clock'>, actor: CannedActor, id: string, raw: CannedInput): Result<null> {
  const before = cannedResponse(deps, actor.workspaceId, id)
  const input = cleanCannedInput(raw)
  return deps.db.transaction((db) => {
    const errors = problems({ db }, actor.workspaceId, input, id)
    if (Object.keys(errors).length > 0) return { ok: false as const, errors }
    const now = deps.clock.now()
    updateCanned(db, actor.workspaceId, id, { shortcut: input.shortcut, body: input.body, updatedAt: now })
    if (before.shortcut !== input.shortcut || before.body !== input.body) audit(db, actor, 'canned_response_updated', { shortcut: input.shortcut, from: before.shortcut }, now)
    return { ok: true as const, value: null }
  }, { behavior: 'immediate' })
}

/** Deletes one canned response of the workspace (404 when it is not one). */
export function deleteCannedResponse (deps: Pick<Deps, 'db' | 'clock'>, actor: CannedActor, id: string): void {
  deps.db.transaction((db) => {
    const row = findCanned(db, actor.workspaceId, id)
    if (row === undefined || deleteCanned(db, actor.workspaceId, id) === 0) throw new NotFoundError()
    audit(db, actor, 'canned_response_deleted', { shortcut: row.shortcut }, deps.clock.now())
  }, { behavior: 'immediate' })
}

/** Changes to canned responses are in the workspace's audit log (the shortcut only, never the body). */
function audit (db: Deps['db'], actor: CannedActor, action: 'canned_response_created' | 'canned_response_updated' | 'canned_response_deleted', details: Record<string, string>, now: number): void {
  recordAudit(db, { action, workspaceId: actor.workspaceId, actorUserId: actor.userId, details, ip: actor.ip }, now)
}

/** The values variables are filled with; null or '' means unknown (the fallback, or nothing, is used). */
export interface CannedContext {
  contactName: string | null
  agentName: string | null
  workspaceName: string | null
}

/** The first word of a name ("Ana Souza" → "Ana"), or null. */
export function firstName (name: string | null): string | null {
  const first = (name ?? '').trim().split(/\s+/)[0] ?? ''
  return first === '' ? null : first
}

const variablePattern = /\{\{\s*([a-z_]+\.[a-z_]+)\s*(?:\|([^{}]*))?\}\}/gi

/**
 * Fills the variables of a canned body. A known variable without a value becomes its fallback (or
 * nothing); an unknown variable is left as written, so a typo shows instead of vanishing.
 */
export function fillCannedVariables (body: string, context: CannedContext): string {
  const values: Record<string, string | null> = {
    'contact.name': context.contactName,
    'contact.first_name': firstName(context.contactName),
    'agent.name': context.agentName,
    'agent.first_name': firstName(context.agentName),
    'workspace.name': context.workspaceName
  }
  return body.replace(variablePattern, (whole, name: string, fallback: string | undefined) => {
    const key = name.toLowerCase()
    if (!Object.hasOwn(values, key)) return whole
    const value = values[key]?.trim() ?? ''
    return value !== '' ? value : (fallback ?? '').trim()
  })
}

/** A body cut at its variables, for the settings list (the view highlights the variables). */
export function cannedSegments (body: string): Array<{ text: string, variable: boolean }> {
  const out: Array<{ text: string, variable: boolean }> = []
  let last = 0
  for (const m of body.matchAll(variablePattern)) {
    if (m.index > last) out.push({ text: body.slice(last, m.index), variable: false })
    out.push({ text: m[0], variable: true })
    last = m.index + m[0].length
  }
  if (last < body.length) out.push({ text: body.slice(last), variable: false })
  return out
}

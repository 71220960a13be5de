// API keys: how integrations (a shop, a booking system, a script) call the REST API under /api/v1 as a
// workspace, with the rights of an agent or an admin. Admins create them under Settings → API keys, or
// with `weltra apikey create`. A token is "wk_" + 43 characters of base64url (32 random bytes); it is
// shown once, when it is created. Only its SHA-256 is stored, and only its prefix ("wk_" + 6
// characters) is ever shown again. Sent as `Authorization: Bearer wk_…`.
import type { Deps } from '../../deps.js'
import { randomToken, sha256Hex, timingSafeEqualStr } from '../../platform/crypto/index.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { nameFieldProblem } from '../../platform/text.js'
import { recordAudit } from '../audit/audit.service.js'
import { userNames } from '../workspaces/workspaces.service.js'
import { activeKeyNames, findActiveKeyByHash, findKey, insertKey, listKeys, markRevoked, touchKey, type ApiKeyRow } from './apikeys.store.js'

export type ApiKeyRole = 'agent' | 'admin'
export const apiKeyRoles: readonly ApiKeyRole[] = ['agent', 'admin']

/** Who an API request acts as: the key's workspace and role. */
export interface ApiCaller { keyId: string, name: string, workspaceId: string, workspaceSlug: string, role: ApiKeyRole }

/** A key as pages and the CLI show it: never the token, never its hash. */
export interface ApiKeyView {
  id: string
  name: string
  role: ApiKeyRole
  /** "wk_" and the first 6 characters of the token. */
  prefix: string
  createdAt: number
  /** The admin who created it; null when created with the CLI (or by an account since deleted). */
  createdByName: string | null
  lastUsedAt: number | null
  revokedAt: number | null
}

/** Who creates or revokes a key: an admin in the active workspace, or the CLI (userId null). */
export interface ApiKeyActor { userId: string | null, workspaceId: string, ip?: string | undefined }

export type FieldErrors = Record<string, string>

export const tokenPrefix = 'wk_'
export const nameMaxLength = 60
export const maxActiveKeys = 50
/** lastUsedAt is written at most this often per key, not on every request. */
export const lastUsedResolutionMs = 60_000

const tokenPattern = /^wk_[A-Za-z0-9_-]{43}$/

/** A new token: "wk_" + 32 random bytes as base64url (43 characters). */
function newToken (): string {
  return tokenPrefix + randomToken(32)
}

/** What people see of a token once it is stored. */
export function prefixOf (token: string): string {
  return token.slice(0, tokenPrefix.length + 6)
}

/** Whether a string has the shape of a Weltra API key (says nothing about whether it is valid). */
export function looksLikeApiKey (token: string): boolean {
  return tokenPattern.test(token)
}

/**
 * Checks a bearer token; undefined for anything unknown, malformed or revoked (and for a workspace that
 * is gone). Updates lastUsedAt at most once a minute per key, so a busy integration costs no write per
 * request.
 */
export function authenticateApiKey (deps: Pick<Deps, 'db' | 'clock'>, token: string): ApiCaller | undefined {
  if (typeof token !== 'string' || !tokenPattern.test(token)) return undefined
  const hash = sha256Hex(token)
  const key = findActiveKeyByHash(deps.db, hash)
  // The lookup by hash already makes timing useless to an attacker; compare in constant time anyway.
  if (key === undefined || !timingSafeEqualStr(key.tokenHash, hash)) return undefined
  const now = deps.clock.now()
  if (key.lastUsedAt === null || now - key.lastUsedAt >= lastUsedResolutionMs) touchKey(deps.db, key.workspaceId, key.id, now)
  return { keyId: key.id, name: key.name, workspaceId: key.workspaceId, workspaceSlug: key.workspaceSlug, role: key.role }
}

/** Trims the name and picks the role ('' means agent). */
export function cleanApiKeyInput (input: { name: string, role: string }): { name: string, role: string } {
  const role = input.role.trim().toLowerCase()
  return { name: input.name.trim(), role: role === '' ? 'agent' : role }
}

function problems (db: Deps['db'], workspaceId: string, input: { name: string, role: string }): FieldErrors {
  const errors: FieldErrors = {}
  const active = activeKeyNames(db, workspaceId)
  // Control characters would also break the CLI's one-line-per-key output.
  const nameProblem = nameFieldProblem(input.name, 'apikeys.errors.name', nameMaxLength)
  if (nameProblem !== undefined) errors.name = nameProblem
  else if (active.some(n => n.toLocaleLowerCase() === input.name.toLocaleLowerCase())) errors.name = 'apikeys.errors.nameTaken'
  if (!(apiKeyRoles as readonly string[]).includes(input.role)) errors.role = 'apikeys.errors.roleInvalid'
  if (active.length >= maxActiveKeys) errors.form = 'apikeys.errors.tooMany'
  return errors
}

function viewOf (row: ApiKeyRow, names: Map<string, string>): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdAt: row.createdAt,
    createdByName: row.createdBy === null ? null : names.get(row.createdBy) ?? null,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt
  }
}

/**
 * Creates a key. The token is in the result and nowhere else: the caller shows it once. Errors are
 * catalogue keys per field (name, role) and `form` for the limit of active keys per workspace.
 */
export function createApiKey (deps: Pick<Deps, 'db' | 'clock'>, actor: ApiKeyActor, raw: { name: string, role: string }):
  { ok: true, key: ApiKeyView, token: string } | { ok: false, errors: FieldErrors } {
  const input = cleanApiKeyInput(raw)
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const errors = problems(db, actor.workspaceId, input)
    if (Object.keys(errors).length > 0) return { ok: false as const, errors }
    const token = newToken()
    const row = insertKey(db, {
      workspaceId: actor.workspaceId,
      name: input.name,
      role: input.role as ApiKeyRole,
      prefix: prefixOf(token),
      tokenHash: sha256Hex(token),
      createdBy: actor.userId,
      createdAt: now
    })
    audit(db, actor, 'api_key_created', row, now)
    return { ok: true as const, key: viewOf(row, userNames(db, row.createdBy === null ? [] : [row.createdBy])), token }
  }, { behavior: 'immediate' })
}

/** Every key of the workspace, newest first; revoked ones included (revokedAt set). */
export function listApiKeys (deps: Pick<Deps, 'db'>, workspaceId: string): ApiKeyView[] {
  const rows = listKeys(deps.db, workspaceId)
  const names = userNames(deps.db, rows.flatMap(r => r.createdBy === null ? [] : [r.createdBy]))
  return rows.map(r => viewOf(r, names))
}

/** One key of the workspace; another workspace's (or an unknown) id is a 404. */
export function apiKey (deps: Pick<Deps, 'db'>, workspaceId: string, keyId: string): ApiKeyView {
  const row = findKey(deps.db, workspaceId, keyId)
  if (row === undefined) throw new NotFoundError()
  return viewOf(row, userNames(deps.db, row.createdBy === null ? [] : [row.createdBy]))
}

/**
 * Revokes a key of the workspace: from now on it authenticates nothing. Revoking a revoked key changes
 * nothing (and records nothing); another workspace's or an unknown id is a 404.
 */
export function revokeApiKey (deps: Pick<Deps, 'db' | 'clock'>, actor: ApiKeyActor, keyId: string): void {
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    const row = findKey(db, actor.workspaceId, keyId)
    if (row === undefined) throw new NotFoundError()
    if (markRevoked(db, actor.workspaceId, keyId, now) === 0) return
    audit(db, actor, 'api_key_revoked', row, now)
  }, { behavior: 'immediate' })
}

/** Key changes are in the workspace's audit log: id, name and role, never the token or its hash. */
function audit (db: Deps['db'], actor: ApiKeyActor, action: 'api_key_created' | 'api_key_revoked', row: ApiKeyRow, now: number): void {
  recordAudit(db, { action, workspaceId: actor.workspaceId, actorUserId: actor.userId ?? undefined, details: { keyId: row.id, name: row.name, role: row.role }, ip: actor.ip }, now)
}

// The security audit log: who did what, when. Written in the same transaction as the change itself.
// Account events (sign-in, password, email, two-factor) carry no workspace; admins see them for their
// members. Details never hold secrets or message content.
import { and, desc, eq, inArray, isNull, lt, or } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { auditLog, memberships } from '../../db/schema.js'
import { people } from './audit.store.js'

export type AuditAction =
  | 'login' | 'login_failed' | 'logout' | 'logout_everywhere' | 'password_changed' | 'password_reset'
  | 'email_change_requested' | 'email_changed' | 'email_verified' | 'two_factor_enabled' | 'two_factor_disabled'
  | 'recovery_code_used' | 'recovery_codes_regenerated' | 'account_created' | 'instance_setup'
  | 'workspace_created' | 'workspace_renamed' | 'workspace_two_factor_required' | 'workspace_two_factor_optional'
  | 'member_invited' | 'invite_revoked' | 'invite_accepted' | 'member_role_changed' | 'member_removed' | 'member_left'
  | 'webhooks_replayed' | 'channel_connected' | 'channel_renamed' | 'channel_credentials_replaced' | 'channel_disconnected'
  | 'canned_response_created' | 'canned_response_updated' | 'canned_response_deleted' | 'inbox_settings_changed'
  | 'contact_field_created' | 'contact_field_updated' | 'contact_field_moved' | 'contact_field_deleted' | 'contacts_deleted'
  | 'contacts_imported' | 'contacts_exported'
  | 'contact_consent_changed' | 'contacts_merged' | 'contact_settings_changed'
  | 'api_key_created' | 'api_key_revoked'
  | 'webhook_created' | 'webhook_updated' | 'webhook_deleted' | 'webhook_secret_rotated'
  | 'contact_forgotten' | 'contact_exported' | 'retention_changed' | 'retention_applied' | 'legal_hold_set' | 'legal_hold_released' | 'account_deleted' | 'audit_exported'
  | 'account_exported'

export interface AuditEntry {
  action: AuditAction
  workspaceId?: string | undefined
  actorUserId?: string | undefined
  subjectUserId?: string | undefined
  details?: Record<string, string | number | boolean | null>
  ip?: string | undefined
}

/** Appends one entry. Synchronous: call it inside the transaction of the change it records. */
export function recordAudit (db: Db, entry: AuditEntry, now: number): void {
  db.insert(auditLog).values({
    workspaceId: entry.workspaceId ?? null,
    actorUserId: entry.actorUserId ?? null,
    subjectUserId: entry.subjectUserId ?? null,
    action: entry.action,
    details: entry.details ?? {},
    ip: entry.ip ?? null,
    createdAt: now
  }).run()
}

export type AuditRow = typeof auditLog.$inferSelect

/**
 * A page of the workspace's audit log, newest first: the workspace's own events plus account events of
 * its current members. `before` is the createdAt/id cursor of the last row of the previous page.
 */
export function listWorkspaceAudit (db: Db, workspaceId: string, options: { limit: number, before?: { createdAt: number, id: string } | undefined }): { rows: AuditRow[], next: { createdAt: number, id: string } | undefined } {
  const members = db.select({ userId: memberships.userId }).from(memberships).where(eq(memberships.workspaceId, workspaceId))
  const cursor = options.before
  const rows = db.select().from(auditLog)
    .where(and(
      or(eq(auditLog.workspaceId, workspaceId), and(isNull(auditLog.workspaceId), inArray(auditLog.subjectUserId, members))),
      cursor === undefined ? undefined : or(lt(auditLog.createdAt, cursor.createdAt), and(eq(auditLog.createdAt, cursor.createdAt), lt(auditLog.id, cursor.id)))
    ))
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(options.limit + 1)
    .all()
  const page = rows.slice(0, options.limit)
  const last = page.at(-1)
  return { rows: page, next: rows.length > options.limit && last !== undefined ? { createdAt: last.createdAt, id: last.id } : undefined }
}

/**
 * An audit row with the names of the people involved (null when the actor is the system or unknown).
 * actorEmail is for the avatar colour only; pages do not show it.
 */
export interface AuditEntryView extends AuditRow { actorName: string | null, actorEmail: string | null, subjectName: string | null }

/** Like listWorkspaceAudit, with the actor's and subject's names. */
export function listWorkspaceAuditNamed (db: Db, workspaceId: string, options: { limit: number, before?: { createdAt: number, id: string } | undefined }): { rows: AuditEntryView[], next: { createdAt: number, id: string } | undefined } {
  const page = listWorkspaceAudit(db, workspaceId, options)
  const ids = page.rows.flatMap(r => [r.actorUserId, r.subjectUserId]).filter((id): id is string => id !== null)
  const found = people(db, ids)
  const who = (id: string | null) => id === null ? undefined : found.get(id)
  return {
    rows: page.rows.map(r => ({ ...r, actorName: who(r.actorUserId)?.name ?? null, actorEmail: who(r.actorUserId)?.email ?? null, subjectName: who(r.subjectUserId)?.name ?? null })),
    next: page.next
  }
}

const roleWords = new Set(['owner', 'admin', 'agent'])

/**
 * One audit entry as a sentence in the reader's language, e.g. "Ana changed Bruno's role to admin"
 * (catalogue keys audit.action.<action>; unknown actions get a generic sentence).
 */
export function auditSentence (t: (key: string, params?: Record<string, string | number>) => string, entry: AuditEntryView): string {
  const someone = t('audit.someone')
  const actor = entry.actorName ?? (entry.actorUserId === null ? t('audit.system') : someone)
  const subject = entry.subjectName ?? someone
  const params: Record<string, string> = { actor, subject }
  for (const [key, value] of Object.entries(entry.details ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') params[key] = String(value)
  }
  for (const key of ['role', 'from', 'to'] as const) {
    const v = params[key]
    if (v !== undefined && roleWords.has(v) && entry.action !== 'workspace_renamed') params[key] = t(`audit.role.${v}`)
  }
  const key = `audit.action.${entry.action}`
  const text = t(key, params)
  return text === key ? t('audit.action.unknown', { ...params, action: entry.action }) : text
}

/** An IP address with only its network part (the first two IPv4 octets or IPv6 groups), or '' when none. */
export function shortIp (ip: string | null): string {
  if (ip === null || ip === '') return ''
  const v4 = /(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(ip)
  if (v4 !== null) return `${v4[1]}.${v4[2]}.x.x`
  const groups = ip.split(':').filter(Boolean)
  return groups.length >= 2 ? `${groups[0]}:${groups[1]}:…` : ''
}

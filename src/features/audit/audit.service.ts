// The security audit log: who did what, when. Written in the same transaction as the change itself.
// Account events (sign-in, password, email, two-factor) carry no workspace; admins see them for their
// members. Details never hold secrets or message content.
import { and, desc, eq, inArray, isNull, lt, or } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { auditLog, memberships } from '../../db/schema.js'

export type AuditAction =
  | 'login' | 'login_failed' | 'logout' | 'logout_everywhere' | 'password_changed' | 'password_reset'
  | 'email_change_requested' | 'email_changed' | 'email_verified' | 'two_factor_enabled' | 'two_factor_disabled'
  | 'recovery_code_used' | 'recovery_codes_regenerated' | 'account_created' | 'instance_setup'
  | 'workspace_created' | 'workspace_renamed' | 'workspace_two_factor_required' | 'workspace_two_factor_optional'
  | 'member_invited' | 'invite_revoked' | 'invite_accepted' | 'member_role_changed' | 'member_removed' | 'member_left'

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

// Queries of account deletion and purge.
import { and, eq, isNotNull, lt, or, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { auditLog, memberships, recoveryCodes, userTokens, users, workspaces } from '../../db/schema.js'

/** Workspaces (live) where the user is an owner and no one else is. */
export function soleOwnedWorkspaces (db: Db, userId: string): Array<{ id: string, name: string, slug: string }> {
  return db.all<{ id: string, name: string, slug: string }>(sql`
    SELECT w.id, w.name, w.slug FROM ${memberships} m JOIN ${workspaces} w ON w.id = m.workspace_id
    WHERE m.user_id = ${userId} AND m.role = 'owner' AND w.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM ${memberships} o WHERE o.workspace_id = m.workspace_id AND o.role = 'owner' AND o.user_id != ${userId})
    ORDER BY w.name`)
}

/**
 * Soft-deletes an account (the caller ends its sessions): out of every workspace, its email free for a new
 * account (the index is replaced; the sealed address stays until the purge, for the confirmation email).
 */
export function softDeleteUser (db: Db, userId: string, now: number): void {
  db.update(users).set({ deletedAt: now, emailIndex: `deleted:${userId}`, totpSecret: null, totpEnabledAt: null, updatedAt: now }).where(eq(users.id, userId)).run()
  db.delete(memberships).where(eq(memberships.userId, userId)).run()
  db.delete(userTokens).where(eq(userTokens.userId, userId)).run()
  db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run()
}

/** Accounts deleted before `before`, to purge (with the sealed address, to find their emails). */
export function deletedUsersBefore (db: Db, before: number, limit: number): Array<{ id: string, email: string }> {
  return db.select({ id: users.id, email: users.email }).from(users).where(and(isNotNull(users.deletedAt), lt(users.deletedAt, before))).limit(limit).all()
}

/**
 * Deletes an account for good: its own audit trail (sign-ins, password changes: no workspace) goes;
 * in workspaces' audit logs its entries stay, without its IP address, and with no one named (the
 * foreign keys set the user to null), as do the messages it wrote and the conversations it had.
 */
export function purgeUser (db: Db, userId: string): void {
  db.delete(auditLog).where(and(sql`${auditLog.workspaceId} IS NULL`, or(eq(auditLog.actorUserId, userId), eq(auditLog.subjectUserId, userId)))).run()
  db.update(auditLog).set({ ip: null }).where(eq(auditLog.actorUserId, userId)).run()
  db.delete(users).where(eq(users.id, userId)).run()
}

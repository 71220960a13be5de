// Queries of "My data": what Weltra stores about one person, always keyed by their own user id. No
// query here selects a password hash, a TOTP secret, a session secret or a token hash.
import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { apiKeys, auditLog, memberships, users, workspaces } from '../../db/schema.js'

export interface AccountRow {
  id: string
  name: string
  email: string
  emailVerifiedAt: number | null
  locale: string | null
  timeZone: string | null
  isInstanceOwner: boolean
  totpEnabledAt: number | null
  passwordChangedAt: number
  createdAt: number
  updatedAt: number
}

/** The user's own row, without its secrets (undefined when deleted or unknown). */
export function accountRow (db: Db, userId: string): AccountRow | undefined {
  return db.select({
    id: users.id,
    name: users.name,
    email: users.email,
    emailVerifiedAt: users.emailVerifiedAt,
    locale: users.locale,
    timeZone: users.timeZone,
    isInstanceOwner: users.isInstanceOwner,
    totpEnabledAt: users.totpEnabledAt,
    passwordChangedAt: users.passwordChangedAt,
    createdAt: users.createdAt,
    updatedAt: users.updatedAt
  }).from(users).where(and(eq(users.id, userId), isNull(users.deletedAt))).get()
}

export interface MembershipRow { id: string, name: string, slug: string, role: 'owner' | 'admin' | 'agent', joinedAt: number, available: boolean }

/** The live workspaces the user is a member of, by name. */
export function membershipsOf (db: Db, userId: string): MembershipRow[] {
  return db.select({ id: workspaces.id, name: workspaces.name, slug: workspaces.slug, role: memberships.role, joinedAt: memberships.createdAt, available: memberships.available })
    .from(memberships).innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.userId, userId), isNull(workspaces.deletedAt)))
    .orderBy(sql`${workspaces.name} COLLATE NOCASE`, workspaces.id)
    .all()
}

export interface OwnApiKeyRow { name: string, prefix: string, role: 'agent' | 'admin', workspaceName: string, createdAt: number, lastUsedAt: number | null, revokedAt: number | null }

/**
 * API keys the user created, in workspaces they are still a member of (a key belongs to its workspace:
 * one left behind is no longer theirs to look at). Name and prefix only, never the token's hash.
 */
export function apiKeysCreatedBy (db: Db, userId: string): OwnApiKeyRow[] {
  return db.select({ name: apiKeys.name, prefix: apiKeys.prefix, role: apiKeys.role, workspaceName: workspaces.name, createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .innerJoin(workspaces, eq(workspaces.id, apiKeys.workspaceId))
    .innerJoin(memberships, and(eq(memberships.workspaceId, apiKeys.workspaceId), eq(memberships.userId, userId)))
    .where(and(eq(apiKeys.createdBy, userId), isNull(workspaces.deletedAt)))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .all()
}

export type ActivityRow = Pick<typeof auditLog.$inferSelect, 'id' | 'action' | 'actorUserId' | 'subjectUserId' | 'details' | 'ip' | 'createdAt'>

/**
 * The user's own account events (no workspace: sign-ins, failed attempts, password, email, two-factor,
 * exports), newest first; `limit` undefined: all of them. Every account event names the user as its
 * subject (the audit_subject index), so the actor column need not be searched.
 */
export function accountActivity (db: Db, userId: string, limit?: number): ActivityRow[] {
  const query = db.select({ id: auditLog.id, action: auditLog.action, actorUserId: auditLog.actorUserId, subjectUserId: auditLog.subjectUserId, details: auditLog.details, ip: auditLog.ip, createdAt: auditLog.createdAt })
    .from(auditLog)
    .where(and(eq(auditLog.subjectUserId, userId), isNull(auditLog.workspaceId)))
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
  return limit === undefined ? query.all() : query.limit(limit).all()
}

// Workspaces and memberships. Synchronous; every member query is filtered by its workspace. Member
// lists read the person's name and email from users (joined through the membership).
import { and, asc, count, eq, isNull } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { inJsonList, ph, prepared } from '../../db/prepared.js'
import { memberships, users, workspaces } from '../../db/schema.js'
import type { Role } from '../../platform/http/policy.js'

export type Workspace = typeof workspaces.$inferSelect
export interface MembershipView { id: string, slug: string, name: string, role: Role, requireTwoFactor: boolean }

/** Inserts a workspace and its first owner. Call inside a transaction. */
export function insertWorkspace (db: Db, w: { id?: string, slug: string, name: string, ownerUserId: string }, now: number): Workspace {
  const row = db.insert(workspaces).values({ ...(w.id === undefined ? {} : { id: w.id }), slug: w.slug, name: w.name, createdAt: now, updatedAt: now }).returning().get()
  db.insert(memberships).values({ workspaceId: row.id, userId: w.ownerUserId, role: 'owner', createdAt: now, updatedAt: now }).run()
  return row
}

/** Whether a slug is taken (by any workspace, deleted ones included). */
export function slugTaken (db: Db, slug: string): boolean {
  return db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.slug, slug)).get() !== undefined
}

/** The user's role in a live workspace, or undefined when not a member. */
export function findMembership (db: Db, workspaceId: string, userId: string): MembershipView | undefined {
  // Every request in a workspace checks the membership: prepared once per handle.
  return prepared(db, 'memberships.view', () => db.select({ id: workspaces.id, slug: workspaces.slug, name: workspaces.name, role: memberships.role, requireTwoFactor: workspaces.requireTwoFactor })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.workspaceId, ph('workspaceId')), eq(memberships.userId, ph('userId')), isNull(workspaces.deletedAt)))
    .prepare()).get({ workspaceId, userId })
}

/** Every live workspace the user belongs to, by name. */
export function listMemberships (db: Db, userId: string): MembershipView[] {
  // Every signed-in request reads this (the workspace switcher): prepared once per connection.
  return prepared(db, 'memberships.ofUser', () => db.select({ id: workspaces.id, slug: workspaces.slug, name: workspaces.name, role: memberships.role, requireTwoFactor: workspaces.requireTwoFactor })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.userId, ph('userId')), isNull(workspaces.deletedAt)))
    .orderBy(asc(workspaces.name))
    .prepare()).all({ userId })
}

/** Every live workspace, for `weltra workspace list`. */
export function listAllWorkspaces (db: Db): Workspace[] {
  return db.select().from(workspaces).where(isNull(workspaces.deletedAt)).orderBy(asc(workspaces.slug)).all()
}

/** The live workspace with this id, or undefined. */
export function findWorkspace (db: Db, workspaceId: string): Workspace | undefined {
  // Prepared once per handle: webhook processing reads the inbox settings for every message.
  return prepared(db, 'workspaces.byId', () => db.select().from(workspaces)
    .where(and(eq(workspaces.id, ph('id')), isNull(workspaces.deletedAt))).prepare())
    .get({ id: workspaceId })
}

/** Applies changes to a workspace's name or two-factor requirement. */
export function updateWorkspace (db: Db, workspaceId: string, changes: Partial<Pick<Workspace, 'name' | 'requireTwoFactor'>>, now: number): void {
  db.update(workspaces).set({ ...changes, updatedAt: now }).where(eq(workspaces.id, workspaceId)).run()
}

// ── members ──

export interface MemberRow { userId: string, name: string, email: string, role: Role, joinedAt: number, twoFactorEnabled: boolean }

/**
 * The names of people by user id (message authors, assignees, who did what on a contact), members or
 * not any more: someone who left still wrote what they wrote. No email: nothing to decrypt.
 */
export function userNames (db: Db, ids: string[]): Map<string, string> {
  const unique = [...new Set(ids)]
  if (unique.length === 0) return new Map()
  return new Map(prepared(db, 'users.names', () => db.select({ id: users.id, name: users.name }).from(users).where(inJsonList(users.id, 'ids')).prepare())
    .all({ ids: JSON.stringify(unique) }).map(r => [r.id, r.name]))
}

/** The workspace's members (live accounts), unsorted. */
export function listMembers (db: Db, workspaceId: string): MemberRow[] {
  return db.select({ userId: users.id, name: users.name, email: users.email, role: memberships.role, joinedAt: memberships.createdAt, totp: users.totpEnabledAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), isNull(users.deletedAt)))
    .all()
    .map(({ totp, ...m }) => ({ ...m, twoFactorEnabled: totp !== null }))
}

/** One member of the workspace, or undefined when the user is not (or no longer) a member. */
export function findMember (db: Db, workspaceId: string, userId: string): MemberRow | undefined {
  const row = db.select({ userId: users.id, name: users.name, email: users.email, role: memberships.role, joinedAt: memberships.createdAt, totp: users.totpEnabledAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId), isNull(users.deletedAt)))
    .get()
  if (row === undefined) return undefined
  const { totp, ...m } = row
  return { ...m, twoFactorEnabled: totp !== null }
}

/** The id of the member whose email has this blind index, or undefined. */
export function memberIdByEmailIndex (db: Db, workspaceId: string, emailIndex: string): string | undefined {
  return db.select({ id: users.id })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(users.emailIndex, emailIndex), isNull(users.deletedAt)))
    .get()?.id
}

/** How many owners the workspace has. */
export function countOwners (db: Db, workspaceId: string): number {
  return db.select({ n: count() }).from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner'), isNull(users.deletedAt)))
    .get()?.n ?? 0
}

/** Adds a member. Call inside a transaction. */
export function insertMember (db: Db, workspaceId: string, userId: string, role: Role, now: number): void {
  db.insert(memberships).values({ workspaceId, userId, role, createdAt: now, updatedAt: now }).run()
}

/** Changes a member's role. */
export function updateMemberRole (db: Db, workspaceId: string, userId: string, role: Role, now: number): void {
  db.update(memberships).set({ role, updatedAt: now }).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId))).run()
}

/** Removes a member; returns whether a membership was deleted. */
export function deleteMember (db: Db, workspaceId: string, userId: string): boolean {
  return db.delete(memberships).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId))).run().changes > 0
}

// Workspaces and memberships. Synchronous; membership lookups are always by (workspace, user).
import { and, asc, eq, isNull } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { memberships, workspaces } from '../../db/schema.js'
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
  return db.select({ id: workspaces.id, slug: workspaces.slug, name: workspaces.name, role: memberships.role, requireTwoFactor: workspaces.requireTwoFactor })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId), isNull(workspaces.deletedAt)))
    .get()
}

/** Every live workspace the user belongs to, by name. */
export function listMemberships (db: Db, userId: string): MembershipView[] {
  return db.select({ id: workspaces.id, slug: workspaces.slug, name: workspaces.name, role: memberships.role, requireTwoFactor: workspaces.requireTwoFactor })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.userId, userId), isNull(workspaces.deletedAt)))
    .orderBy(asc(workspaces.name))
    .all()
}

/** Every live workspace, for `weltra workspace list`. */
export function listAllWorkspaces (db: Db): Workspace[] {
  return db.select().from(workspaces).where(isNull(workspaces.deletedAt)).orderBy(asc(workspaces.slug)).all()
}

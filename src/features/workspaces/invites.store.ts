// Invitations and the accounts they create. Synchronous. Every query is filtered by the workspace,
// except the look-up by token hash: there the secret token itself names the invitation (and so the
// workspace), the way a password-reset link names its account.
import { and, desc, eq, gt, isNull } from 'drizzle-orm'
import { alias } from 'drizzle-orm/sqlite-core'
import type { Db } from '../../db/open.js'
import { invites, users, workspaces } from '../../db/schema.js'

export type Invite = typeof invites.$inferSelect
export type InviteRole = Invite['role']

export interface PendingInvite { id: string, email: string, role: InviteRole, invitedByName: string | null, expiresAt: number, createdAt: number }

/** An invitation found by its token, with what the acceptance page shows. */
export interface InviteByToken extends Invite { workspaceName: string, inviterName: string | null }

const inviter = alias(users, 'inviter')

/** Inserts an invitation; returns its id. Call inside a transaction. */
export function insertInvite (db: Db, row: Omit<typeof invites.$inferInsert, 'id' | 'acceptedAt' | 'revokedAt'>): string {
  return db.insert(invites).values(row).returning({ id: invites.id }).get().id
}

/** The workspace's invitations that can still be accepted, newest first. */
export function listPendingInvites (db: Db, workspaceId: string, now: number): PendingInvite[] {
  return db.select({ id: invites.id, email: invites.email, role: invites.role, invitedByName: inviter.name, expiresAt: invites.expiresAt, createdAt: invites.createdAt })
    .from(invites)
    .leftJoin(inviter, eq(inviter.id, invites.invitedBy))
    .where(and(eq(invites.workspaceId, workspaceId), isNull(invites.acceptedAt), isNull(invites.revokedAt), gt(invites.expiresAt, now)))
    .orderBy(desc(invites.createdAt), desc(invites.id))
    .all()
}

/** One of the workspace's invitations that can still be accepted, or undefined. */
export function findPendingInvite (db: Db, workspaceId: string, id: string, now: number): Invite | undefined {
  return db.select().from(invites)
    .where(and(eq(invites.workspaceId, workspaceId), eq(invites.id, id), isNull(invites.acceptedAt), isNull(invites.revokedAt), gt(invites.expiresAt, now)))
    .get()
}

/** The invitation with this token hash in a live workspace (used, revoked or expired ones included), or undefined. */
export function findInviteByTokenHash (db: Db, tokenHash: string): InviteByToken | undefined {
  const row = db.select({ invite: invites, workspaceName: workspaces.name, inviterName: inviter.name })
    .from(invites)
    .innerJoin(workspaces, eq(workspaces.id, invites.workspaceId))
    .leftJoin(inviter, eq(inviter.id, invites.invitedBy))
    .where(and(eq(invites.tokenHash, tokenHash), isNull(workspaces.deletedAt)))
    .get()
  return row === undefined ? undefined : { ...row.invite, workspaceName: row.workspaceName, inviterName: row.inviterName }
}

/** Revokes one of the workspace's pending invitations; returns whether it was pending. */
export function revokeInvite (db: Db, workspaceId: string, id: string, now: number): boolean {
  return db.update(invites).set({ revokedAt: now })
    .where(and(eq(invites.workspaceId, workspaceId), eq(invites.id, id), isNull(invites.acceptedAt), isNull(invites.revokedAt)))
    .run().changes > 0
}

/** Revokes every pending invitation of the workspace to one address (a new invitation replaces them); returns how many. */
export function revokeInvitesTo (db: Db, workspaceId: string, emailIndex: string, now: number): number {
  return db.update(invites).set({ revokedAt: now })
    .where(and(eq(invites.workspaceId, workspaceId), eq(invites.emailIndex, emailIndex), isNull(invites.acceptedAt), isNull(invites.revokedAt)))
    .run().changes
}

/**
 * Marks an invitation accepted, only if it is still unused, unrevoked and unexpired: of two racing
 * acceptances exactly one gets true.
 */
export function markInviteAccepted (db: Db, id: string, now: number): boolean {
  return db.update(invites).set({ acceptedAt: now })
    .where(and(eq(invites.id, id), isNull(invites.acceptedAt), isNull(invites.revokedAt), gt(invites.expiresAt, now)))
    .run().changes > 0
}

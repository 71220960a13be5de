// API keys of a workspace. Only the SHA-256 of a token is stored (tokenHash); the lookup by hash is the
// one query that is not workspace-scoped: it is how a request finds its workspace in the first place.
import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { ph, prepared } from '../../db/prepared.js'
import { apiKeys, workspaces } from '../../db/schema.js'

export type ApiKeyRow = typeof apiKeys.$inferSelect
export type NewApiKeyRow = typeof apiKeys.$inferInsert

/** What authentication needs about a live key: the key, its workspace's slug. */
export interface ActiveKey { id: string, name: string, role: 'agent' | 'admin', tokenHash: string, lastUsedAt: number | null, workspaceId: string, workspaceSlug: string }

/** The non-revoked key with this token hash in a live workspace, or undefined. */
export function findActiveKeyByHash (db: Db, tokenHash: string): ActiveKey | undefined {
  // Every API request runs this: prepared once per handle.
  return prepared(db, 'apiKeys.byHash', () => db.select({
    id: apiKeys.id,
    name: apiKeys.name,
    role: apiKeys.role,
    tokenHash: apiKeys.tokenHash,
    lastUsedAt: apiKeys.lastUsedAt,
    workspaceId: apiKeys.workspaceId,
    workspaceSlug: workspaces.slug
  })
    .from(apiKeys)
    .innerJoin(workspaces, eq(workspaces.id, apiKeys.workspaceId))
    .where(and(eq(apiKeys.tokenHash, ph('tokenHash')), isNull(apiKeys.revokedAt), isNull(workspaces.deletedAt)))
    .prepare()).get({ tokenHash })
}

/** Records a use of the key; only moves lastUsedAt forward (a concurrent request may have written it). */
export function touchKey (db: Db, workspaceId: string, id: string, now: number): void {
  prepared(db, 'apiKeys.touch', () => db.update(apiKeys).set({ lastUsedAt: ph<number>('now') })
    .where(and(eq(apiKeys.workspaceId, ph('workspaceId')), eq(apiKeys.id, ph('id')), sql`coalesce(${apiKeys.lastUsedAt}, 0) < ${ph<number>('now')}`))
    .prepare()).run({ workspaceId, id, now })
}

/** Every key of the workspace, revoked ones included, newest first. */
export function listKeys (db: Db, workspaceId: string): ApiKeyRow[] {
  return db.select().from(apiKeys).where(eq(apiKeys.workspaceId, workspaceId)).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id)).all()
}

/** One key of the workspace, or undefined (another workspace's id is unknown here). */
export function findKey (db: Db, workspaceId: string, id: string): ApiKeyRow | undefined {
  return db.select().from(apiKeys).where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.id, id))).get()
}

/** The names of the workspace's keys that are not revoked (at most a few dozen). */
export function activeKeyNames (db: Db, workspaceId: string): string[] {
  return db.select({ name: apiKeys.name }).from(apiKeys).where(and(eq(apiKeys.workspaceId, workspaceId), isNull(apiKeys.revokedAt))).all().map(r => r.name)
}

export function insertKey (db: Db, row: NewApiKeyRow): ApiKeyRow {
  return db.insert(apiKeys).values(row).returning().get()
}

/** Marks the key revoked; 0 when it is not a live key of the workspace. */
export function markRevoked (db: Db, workspaceId: string, id: string, now: number): number {
  return db.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).run().changes
}

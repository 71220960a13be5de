// Single-use mailed tokens (verify email, reset password, confirm a new email): hashes only.
import { and, eq, isNull } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { userTokens } from '../../db/schema.js'

export type UserToken = typeof userTokens.$inferSelect
export type TokenPurpose = UserToken['purpose']

export function insertToken (db: Db, row: typeof userTokens.$inferInsert): void {
  db.insert(userTokens).values(row).run()
}

/** The unused token with this hash and purpose, or undefined. */
export function findUnusedToken (db: Db, tokenHash: string, purpose: TokenPurpose): UserToken | undefined {
  return db.select().from(userTokens).where(and(eq(userTokens.tokenHash, tokenHash), eq(userTokens.purpose, purpose), isNull(userTokens.usedAt))).get()
}

/** Marks one token used; false when it was already used (a race lost). */
export function markTokenUsed (db: Db, id: string, now: number): boolean {
  return db.update(userTokens).set({ usedAt: now }).where(and(eq(userTokens.id, id), isNull(userTokens.usedAt))).run().changes === 1
}

/** Invalidates every unused token of a purpose for a user (a newer one replaces them, or the password changed). */
export function expireUserTokens (db: Db, userId: string, purpose: TokenPurpose, now: number): void {
  db.update(userTokens).set({ usedAt: now }).where(and(eq(userTokens.userId, userId), eq(userTokens.purpose, purpose), isNull(userTokens.usedAt))).run()
}

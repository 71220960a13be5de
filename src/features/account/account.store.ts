// The account's own columns of the user row (preferences, TOTP secret) and its recovery codes. Every
// function is keyed by the user id: a person only ever reads and changes their own account.
// The TOTP secret column is encrypted (users.totp_secret); recovery codes are stored as SHA-256 only.
import { and, asc, count, eq, isNull } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { recoveryCodes, users } from '../../db/schema.js'

export interface TwoFactorState { totpSecret: string | null, totpEnabledAt: number | null }

/** The user's TOTP columns, or undefined when the user does not exist (or was deleted). */
export function findTwoFactorState (db: Db, userId: string): TwoFactorState | undefined {
  return db.select({ totpSecret: users.totpSecret, totpEnabledAt: users.totpEnabledAt })
    .from(users).where(and(eq(users.id, userId), isNull(users.deletedAt))).get()
}

/** Sets (or clears) the TOTP secret and when it was turned on. */
export function saveTwoFactorState (db: Db, userId: string, state: TwoFactorState, now: number): void {
  db.update(users).set({ totpSecret: state.totpSecret, totpEnabledAt: state.totpEnabledAt, updatedAt: now }).where(eq(users.id, userId)).run()
}

/** The user's stored language and time zone (null = automatic). */
export function findPreferences (db: Db, userId: string): { locale: string | null, timeZone: string | null } | undefined {
  return db.select({ locale: users.locale, timeZone: users.timeZone }).from(users).where(eq(users.id, userId)).get()
}

/** Stores the user's language and time zone (null = automatic). */
export function savePreferences (db: Db, userId: string, prefs: { locale: string | null, timeZone: string | null }, now: number): void {
  db.update(users).set({ locale: prefs.locale, timeZone: prefs.timeZone, updatedAt: now }).where(eq(users.id, userId)).run()
}

/** Replaces every recovery code of the user with new hashes. Call inside a transaction. */
export function replaceRecoveryCodes (db: Db, userId: string, hashes: string[], now: number): void {
  db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run()
  if (hashes.length > 0) db.insert(recoveryCodes).values(hashes.map(codeHash => ({ userId, codeHash, createdAt: now }))).run()
}

/** The user's unused recovery codes (ids and hashes). */
export function listUnusedRecoveryCodes (db: Db, userId: string): Array<{ id: string, codeHash: string }> {
  return db.select({ id: recoveryCodes.id, codeHash: recoveryCodes.codeHash }).from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt))).orderBy(asc(recoveryCodes.id)).all()
}

/** How many unused recovery codes the user has left. */
export function countUnusedRecoveryCodes (db: Db, userId: string): number {
  return db.select({ n: count() }).from(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt))).get()?.n ?? 0
}

/** Marks one of the user's codes used; false when it was already used (a concurrent sign-in). */
export function markRecoveryCodeUsed (db: Db, userId: string, id: string, now: number): boolean {
  return db.update(recoveryCodes).set({ usedAt: now })
    .where(and(eq(recoveryCodes.id, id), eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt))).run().changes === 1
}

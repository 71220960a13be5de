// Failed sign-in counters (per account and per address), persisted so a restart does not reset them.
import { eq } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { authThrottle } from '../../db/schema.js'

export type ThrottleRow = typeof authThrottle.$inferSelect

export function findThrottle (db: Db, key: string): ThrottleRow | undefined {
  return db.select().from(authThrottle).where(eq(authThrottle.key, key)).get()
}

export function saveThrottle (db: Db, row: ThrottleRow): void {
  db.insert(authThrottle).values(row).onConflictDoUpdate({ target: authThrottle.key, set: { failures: row.failures, windowStart: row.windowStart, blockedUntil: row.blockedUntil } }).run()
}

export function clearThrottle (db: Db, key: string): void {
  db.delete(authThrottle).where(eq(authThrottle.key, key)).run()
}

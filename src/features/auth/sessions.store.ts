// Session rows. The secret itself is never stored: only its SHA-256.
import { and, desc, eq, ne } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { ph, prepared } from '../../db/prepared.js'
import { sessions } from '../../db/schema.js'

export type Session = typeof sessions.$inferSelect

export function insertSession (db: Db, row: typeof sessions.$inferInsert): void {
  db.insert(sessions).values(row).run()
}

export function findSession (db: Db, id: string): Session | undefined {
  // Every signed-in request reads its session: prepared once per handle.
  return prepared(db, 'sessions.byId', () => db.select().from(sessions).where(eq(sessions.id, ph('id'))).prepare()).get({ id })
}

export function updateSession (db: Db, id: string, changes: Partial<Omit<Session, 'id' | 'userId' | 'secretHash'>>): void {
  db.update(sessions).set(changes).where(eq(sessions.id, id)).run()
}

export function deleteSession (db: Db, id: string): void {
  db.delete(sessions).where(eq(sessions.id, id)).run()
}

/** Deletes every session of a user, except `keep` when given; returns how many. */
export function deleteUserSessions (db: Db, userId: string, keep?: string): number {
  return db.delete(sessions).where(and(eq(sessions.userId, userId), keep === undefined ? undefined : ne(sessions.id, keep))).run().changes
}

export function listUserSessions (db: Db, userId: string): Session[] {
  return db.select().from(sessions).where(eq(sessions.userId, userId)).orderBy(desc(sessions.lastSeenAt)).all()
}

// Users. Emails are encrypted; lookups go through emailIndex (the blind index of the normalised email).
import { and, asc, count, eq, isNull } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { ph, prepared } from '../../db/prepared.js'
import { users } from '../../db/schema.js'

export type User = typeof users.$inferSelect
export type NewUser = typeof users.$inferInsert

/** The live user with this id, or undefined. */
export function findUserById (db: Db, id: string): User | undefined {
  return prepared(db, 'users.byId', () => db.select().from(users).where(and(eq(users.id, ph('id')), isNull(users.deletedAt))).prepare()).get({ id })
}

/** The live user with this email blind index, or undefined. */
export function findUserByEmailIndex (db: Db, emailIndex: string): User | undefined {
  return db.select().from(users).where(and(eq(users.emailIndex, emailIndex), isNull(users.deletedAt))).get()
}

/** Whether any user row exists (deleted ones included): setup is only open on an empty instance. */
export function countUsers (db: Db): number {
  return db.select({ n: count() }).from(users).get()?.n ?? 0
}

/** Inserts a user and returns the row. */
export function insertUser (db: Db, user: NewUser): User {
  return db.insert(users).values(user).returning().get()
}

/** Applies changes to a user; returns the updated row or undefined. */
export function updateUser (db: Db, id: string, changes: Partial<Omit<User, 'id' | 'createdAt'>>): User | undefined {
  return db.update(users).set(changes).where(eq(users.id, id)).returning().get()
}

/** All live users, oldest first (for `weltra user list`). */
export function listUsers (db: Db): User[] {
  return db.select().from(users).where(isNull(users.deletedAt)).orderBy(asc(users.createdAt)).all()
}

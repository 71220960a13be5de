// Reads that turn audit rows into something a person can read.
import { inArray } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { users } from '../../db/schema.js'

/** Name and email of the given users (deleted accounts included: the log outlives them). */
export function people (db: Db, ids: readonly string[]): Map<string, { name: string, email: string }> {
  if (ids.length === 0) return new Map()
  const rows = db.select({ id: users.id, name: users.name, email: users.email }).from(users).where(inArray(users.id, [...new Set(ids)])).all()
  return new Map(rows.map(r => [r.id, { name: r.name, email: r.email }]))
}

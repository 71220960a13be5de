// Opens the SQLite database with Weltra's pragmas and verifies them. synchronous=FULL matters:
// better-sqlite3 defaults WAL databases to NORMAL, which can lose acknowledged commits on power loss.
import { existsSync, rmSync } from 'node:fs'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import * as schema from './schema.js'

export type Sqlite = Database.Database
/** The database or a transaction on it: stores accept either, so they compose inside transactions. */
export type Db = BaseSQLiteDatabase<'sync', Database.RunResult, typeof schema>

export interface OpenOptions {
  /** The SQLite native addon, already loaded (inside the binary) or its path. */
  nativeBinding?: unknown
  readonly?: boolean
}

export class DatabaseError extends Error {
  override name = 'DatabaseError'
}

/** Opens (creating if needed) the database file and applies the pragmas; throws DatabaseError when they do not hold. */
export function openDatabase (file: string, options: OpenOptions = {}): { sqlite: Sqlite, db: Db } {
  const sqlite = new Database(file, {
    readonly: options.readonly ?? false,
    ...(options.nativeBinding === undefined ? {} : { nativeBinding: options.nativeBinding as string })
  })
  try {
    applyPragmas(sqlite, file === ':memory:')
  } catch (err) {
    sqlite.close()
    throw err
  }
  const db: Db = drizzle({ client: sqlite, schema, casing: 'snake_case' })
  return { sqlite, db }
}

function applyPragmas (sqlite: Sqlite, memory: boolean): void {
  sqlite.pragma('busy_timeout = 5000')
  if (!memory && !sqlite.readonly) sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  // Deleted data is overwritten with zeros instead of lingering in free pages (privacy: erasure means gone).
  sqlite.pragma('secure_delete = ON')
  const problems = checkPragmas(sqlite, memory)
  if (problems.length > 0) throw new DatabaseError(`database settings did not take effect: ${problems.join('; ')}`)
}

/** Lists every pragma that is not as Weltra requires (empty when all is well). */
export function checkPragmas (sqlite: Sqlite, memory = false): string[] {
  const problems: string[] = []
  const get = (name: string): unknown => sqlite.pragma(name, { simple: true })
  const journal = String(get('journal_mode'))
  if (!memory && !sqlite.readonly && journal !== 'wal') problems.push(`journal_mode is ${journal}, expected wal`)
  if (Number(get('synchronous')) !== 2) problems.push(`synchronous is ${String(get('synchronous'))}, expected 2 (FULL)`)
  if (Number(get('foreign_keys')) !== 1) problems.push('foreign_keys is off')
  if (Number(get('busy_timeout')) < 5000) problems.push(`busy_timeout is ${String(get('busy_timeout'))}, expected at least 5000`)
  if (Number(get('secure_delete')) !== 1) problems.push('secure_delete is off')
  return problems
}

/**
 * Opens a database only to read it, and on close removes the -wal/-shm files that opening created (but
 * never ones that already existed: a running server may be using them).
 */
export function openForReading (file: string, options: Pick<OpenOptions, 'nativeBinding'> = {}): { sqlite: Sqlite, close: () => void } {
  const extras = [`${file}-wal`, `${file}-shm`].filter(f => !existsSync(f))
  const { sqlite } = openDatabase(file, { ...options, readonly: true })
  return {
    sqlite,
    close: () => {
      sqlite.close()
      for (const f of extras) rmSync(f, { force: true })
    }
  }
}

/** Checkpoints the WAL into the main file and truncates it (call before closing and after purges). */
export function checkpoint (sqlite: Sqlite): void {
  if (sqlite.open && !sqlite.readonly) sqlite.pragma('wal_checkpoint(TRUNCATE)')
}

// Applies drizzle-kit's migrations at start. Pending migrations run in one transaction (drizzle's
// better-sqlite3 migrator), after an automatic backup of an existing database into <data_dir>/backups/.
// A failing migration rolls back completely and the caller refuses to start.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import type { Db, Sqlite } from './open.js'

export class MigrationError extends Error {
  override name = 'MigrationError'
}

export interface MigrationPlan { applied: number, pending: Array<{ tag: string, millis: number }> }

const migrationsTable = '__drizzle_migrations'

/** What is applied and what is pending, without changing anything. */
export function planMigrations (sqlite: Sqlite, migrationsFolder: string): MigrationPlan {
  const files = readMigrationFiles({ migrationsFolder })
  const journal = readJournal(migrationsFolder)
  const hasTable = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(migrationsTable) !== undefined
  const last = hasTable
    ? Number((sqlite.prepare(`SELECT max(created_at) AS m FROM "${migrationsTable}"`).get() as { m: number | null }).m ?? 0)
    : 0
  const pending = files
    .map((m, i) => ({ tag: journal[i] ?? `migration ${i}`, millis: m.folderMillis }))
    .filter(m => m.millis > last)
  return { applied: files.length - pending.length, pending }
}

/** The names of every migration, in order (from the journal). */
export function readJournal (folder: string): string[] {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> }
  return journal.entries.map(e => e.tag)
}

export interface MigrateOptions {
  migrationsFolder: string
  /** Where to write the pre-migration backup; omitted for in-memory databases. */
  backupDir?: string | undefined
  backupKeep?: number
  now?: number
}

export interface MigrateResult { applied: string[], backup: string | undefined }

/**
 * Backs up an existing database when migrations are pending, then applies them all in one
 * transaction. Throws MigrationError (database unchanged) when one fails.
 */
export function migrateDatabase (sqlite: Sqlite, db: Db, options: MigrateOptions): MigrateResult {
  let plan: MigrationPlan
  try {
    plan = planMigrations(sqlite, options.migrationsFolder)
  } catch (err) {
    throw new MigrationError(`cannot read the migrations in ${options.migrationsFolder}: ${(err as Error).message}`)
  }
  if (plan.pending.length === 0) return { applied: [], backup: undefined }
  let backup: string | undefined
  const hasData = plan.applied > 0
  if (hasData && options.backupDir !== undefined) {
    backup = backupBeforeMigration(sqlite, options.backupDir, plan, options.now ?? Date.now())
    pruneBackups(options.backupDir, options.backupKeep ?? 10)
  }
  try {
    migrate(db, { migrationsFolder: options.migrationsFolder })
  } catch (err) {
    const first = plan.pending[0]?.tag ?? '?'
    throw new MigrationError(
      `migration failed (${plan.pending.map(p => p.tag).join(', ')}; first pending: ${first}): ${(err as Error).message}. ` +
      'The database was left unchanged' + (backup === undefined ? '.' : `; a backup taken just before is at ${backup}.`))
  }
  return { applied: plan.pending.map(p => p.tag), backup }
}

function backupBeforeMigration (sqlite: Sqlite, dir: string, plan: MigrationPlan, now: number): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const file = join(dir, `weltra-${stamp}-before-${plan.pending[0]!.tag}.db`)
  if (existsSync(file)) rmSync(file)
  sqlite.prepare('VACUUM INTO ?').run(file)
  return file
}

/** Keeps the newest `keep` automatic backups in `dir` and deletes older ones. */
export function pruneBackups (dir: string, keep: number): string[] {
  if (!existsSync(dir)) return []
  const files = readdirSync(dir)
    .filter(f => /^weltra-.*\.db$/.test(f))
    .map(f => ({ f, t: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t || b.f.localeCompare(a.f))
  const removed = files.slice(keep).map(x => join(dir, x.f))
  for (const f of removed) rmSync(f, { force: true })
  return removed
}

/**
 * Deletes automatic backups in `dir` older than `before` (ms): they hold data that was erased or purged
 * since, and deleted means gone within 30 days (the retention job calls this daily).
 */
export function pruneBackupsOlderThan (dir: string, before: number): string[] {
  if (!existsSync(dir)) return []
  const removed = readdirSync(dir)
    .filter(f => /^weltra-.*\.db$/.test(f))
    .map(f => join(dir, f))
    .filter(p => statSync(p).mtimeMs < before)
  for (const f of removed) rmSync(f, { force: true })
  return removed
}

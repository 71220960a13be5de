// `weltra migrate`, `weltra backup FILE`, `weltra restore FILE`: the database's life outside the server.
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { planMigrations, readJournal } from '../db/migrate.js'
import { checkpoint, openDatabase, openForReading, type Sqlite } from '../db/open.js'
import { verifyMasterKey } from '../db/instance-keys.js'
import { databaseFile, dataDirOf, explainFsError, openStorage, prepareDataDir, resolveMasterKey, StartupError } from '../deps.js'
import { resolveAssets, type Assets } from '../platform/assets.js'
import { KeyError } from '../platform/crypto/index.js'
import { acquirePidFile, releasePidFile, runningServerPid } from './pid-file.js'
import { configFrom, globalHelp, parse, UsageError } from './context.js'
import type { Config } from '../config/load-config.js'

export const migrateHelp = `Usage: weltra migrate [--dry-run]

Applies pending database migrations (after an automatic backup into <data_dir>/backups/), exactly as
\`weltra serve\` does at start. --dry-run lists what is pending and changes nothing.

${globalHelp}`

export const backupHelp = `Usage: weltra backup FILE

Writes a consistent copy of the database to FILE while Weltra keeps running (SQLite's online backup),
then checks the copy's integrity. The master key is NOT in the backup: keep it separately.

${globalHelp}`

export const restoreHelp = `Usage: weltra restore FILE

Replaces the database with FILE (a file from \`weltra backup\`). Refuses while a server uses the data
directory. The current database is first saved into <data_dir>/backups/. The master key configured now
must be the one the backup was encrypted with.

${globalHelp}`

function assetsFor (config: Config): Assets {
  const dataDir = dataDirOf(config)
  return resolveAssets(config.storage.runtime_dir === '' ? join(dataDir, '.runtime') : config.storage.runtime_dir)
}

export async function migrateCommand (argv: string[]): Promise<number> {
  const { values } = parse(argv, { 'dry-run': { type: 'boolean' } })
  if (values.help === true) { process.stdout.write(migrateHelp + '\n'); return 0 }
  const config = configFrom(values)
  const dataDir = dataDirOf(config)
  if (values['dry-run'] === true) {
    const assets = assetsFor(config)
    if (!existsSync(databaseFile(dataDir))) {
      const tags = readJournal(assets.migrations)
      process.stdout.write(`${tags.length} pending:\n${tags.map(tag => `  ${tag}`).join('\n')}\n`)
      return 0
    }
    const { sqlite, close } = openForReading(databaseFile(dataDir), { nativeBinding: assets.nativeBinding })
    try {
      const plan = planMigrations(sqlite, assets.migrations)
      process.stdout.write(plan.pending.length === 0
        ? `up to date (${plan.applied} migrations applied)\n`
        : `${plan.pending.length} pending:\n${plan.pending.map(p => `  ${p.tag}`).join('\n')}\n`)
    } finally { close() }
    return 0
  }
  prepareDataDir(dataDir)
  const assets = assetsFor(config)
  const { ring } = resolveMasterKey(config, dataDir, { nativeBinding: assets.nativeBinding })
  const pid = acquirePidFile(dataDir)
  try {
    const storage = openStorage(config, assets, ring)
    checkpoint(storage.sqlite)
    storage.sqlite.close()
    const { applied, backup } = storage.migrated
    process.stdout.write(applied.length === 0 ? 'up to date\n' : `applied ${applied.join(', ')}${backup === undefined ? '' : `\nbackup of the previous state: ${backup}`}\n`)
  } finally { releasePidFile(pid) }
  return 0
}

/** Checks a database file's integrity; returns SQLite's messages (["ok"] when sound). */
export function integrityCheck (sqlite: Sqlite): string[] {
  return (sqlite.pragma('integrity_check') as Array<{ integrity_check: string }>).map(r => r.integrity_check)
}

export async function backupCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { force: { type: 'boolean' } })
  if (values.help === true) { process.stdout.write(backupHelp + '\n'); return 0 }
  if (positionals.length !== 1) throw new UsageError('backup needs exactly one FILE')
  const target = resolve(positionals[0]!)
  const config = configFrom(values)
  const source = databaseFile(dataDirOf(config))
  if (!existsSync(source)) throw new StartupError(`there is no database at ${source} yet (start Weltra once, or check storage.data_dir).`)
  if (existsSync(target) && values.force !== true) throw new StartupError(`${target} already exists; choose another name or pass --force.`)
  const assets = assetsFor(config)
  const tmp = `${target}.partial-${process.pid}`
  try { mkdirSync(dirname(target), { recursive: true }) } catch (err) { throw new StartupError(`cannot create ${dirname(target)}: ${explainFsError(err)}`) }
  const { sqlite } = openDatabase(source, { nativeBinding: assets.nativeBinding })
  try {
    await sqlite.backup(tmp)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw new StartupError(`backup failed: ${explainFsError(err)}`)
  } finally { sqlite.close() }
  // The copy is made self-contained (no -wal/-shm beside it) and then checked.
  const copy = openDatabase(tmp, { nativeBinding: assets.nativeBinding })
  copy.sqlite.pragma('journal_mode = DELETE')
  const problems = integrityCheck(copy.sqlite)
  copy.sqlite.close()
  if (problems.join() !== 'ok') {
    rmSync(tmp, { force: true })
    throw new StartupError(`the backup failed its integrity check: ${problems.slice(0, 5).join('; ')}`)
  }
  const fd = openSync(tmp, 'r+'); fsyncSync(fd); closeSync(fd)
  renameSync(tmp, target)
  process.stdout.write(`backup written to ${target} (integrity ok)\nRemember: the master key is not inside it. Keep the key in a separate safe place.\n`)
  return 0
}

export async function restoreCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {})
  if (values.help === true) { process.stdout.write(restoreHelp + '\n'); return 0 }
  if (positionals.length !== 1) throw new UsageError('restore needs exactly one FILE')
  const from = resolve(positionals[0]!)
  const config = configFrom(values)
  const dataDir = dataDirOf(config)
  const pidNow = runningServerPid(dataDir)
  if (pidNow !== undefined) throw new StartupError(`Weltra is running (pid ${pidNow}) with ${dataDir}; stop it before restoring.`)
  if (!existsSync(from)) throw new StartupError(`${from} does not exist.`)
  prepareDataDir(dataDir)
  const assets = assetsFor(config)
  const target = databaseFile(dataDir)
  const staged = `${target}.restore-${process.pid}`
  // Checks run on a private copy, so the backup file itself is never touched.
  copyFileSync(from, staged)
  let candidate: Sqlite
  try {
    candidate = openDatabase(staged, { nativeBinding: assets.nativeBinding }).sqlite
    candidate.pragma('journal_mode = DELETE')
  } catch (err) {
    rmSync(staged, { force: true })
    throw new StartupError(`${from} is not a usable Weltra backup: ${(err as Error).message}`)
  }
  try {
    const problems = integrityCheck(candidate)
    if (problems.join() !== 'ok') throw new StartupError(`${from} failed its integrity check: ${problems.slice(0, 5).join('; ')}`)
    const { ring } = resolveMasterKey(config, dataDir, { nativeBinding: assets.nativeBinding, allowGenerate: false })
    try {
      verifyMasterKey(candidate, ring)
    } catch (err) {
      if (err instanceof KeyError) throw new StartupError(`${from} was encrypted with another master key than the one configured now; nothing was changed. Configure that key (security.master_key or <data_dir>/master.key) and try again.`)
      throw err
    }
  } catch (err) {
    rmSync(staged, { force: true })
    if (err instanceof StartupError) throw err
    throw new StartupError(`${from} is not a usable Weltra backup: ${(err as Error).message}`)
  } finally { candidate.close() }

  const pid = acquirePidFile(dataDir)
  try {
    let saved: string | undefined
    if (existsSync(target)) {
      const current = openDatabase(target, { nativeBinding: assets.nativeBinding })
      const backups = join(dataDir, 'backups')
      mkdirSync(backups, { recursive: true, mode: 0o700 })
      saved = join(backups, `weltra-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-before-restore.db`)
      current.sqlite.prepare('VACUUM INTO ?').run(saved)
      checkpoint(current.sqlite)
      current.sqlite.close()
    }
    const fd = openSync(staged, 'r+'); fsyncSync(fd); closeSync(fd)
    // A stale write-ahead log must never be replayed onto the restored file.
    rmSync(`${target}-wal`, { force: true })
    rmSync(`${target}-shm`, { force: true })
    renameSync(staged, target)
    process.stdout.write(`restored ${from}${saved === undefined ? '' : `\nthe previous database was saved to ${saved}`}\nStart Weltra to use it; pending migrations (if any) will be applied then.\n`)
  } finally { releasePidFile(pid) }
  return 0
}

// Everything the app needs, built once at start and injected (no module mocking in tests):
// config, database, keyring, clock, events, logger, i18n, assets. Also the start-up steps that must
// succeed before a port is bound, each failing with a message an admin can act on.
import { accessSync, closeSync, constants as fsc, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Config } from './config/load-config.js'
import { migrateDatabase, type MigrateResult } from './db/migrate.js'
import { openDatabase, openForReading, type Db, type Sqlite } from './db/open.js'
import { hasKeyCheck, initInstanceKeys, verifyMasterKey } from './db/instance-keys.js'
import { GroupCommitter } from './db/group-commit.js'
import type { Eta } from 'eta'
import type { Assets } from './platform/assets.js'
import { createEta } from './platform/http/render.js'
import { systemClock, type Clock } from './platform/clock.js'
import { Keyring, KeyError, randomKey, setKeyring } from './platform/crypto/index.js'
import { Events } from './platform/events.js'
import { I18n } from './platform/i18n/i18n.js'
import type { Log } from './platform/logger.js'
import { StartupError } from './platform/startup-error.js'
import { setCommonPasswordsFile } from './features/auth/credentials.js'

export interface KeyStatus { source: 'config' | 'file' | 'generated', file?: string | undefined }

export interface Deps {
  config: Config
  db: Db
  sqlite: Sqlite
  ring: Keyring
  keyStatus: KeyStatus
  clock: Clock
  events: Events
  log: Log
  i18n: I18n
  /** Templates for pages and emails. */
  views: Eta
  assets: Assets
  dataDir: string
  /** Batches durable writes of concurrent requests into one commit (webhook ingest). */
  writer: GroupCommitter
  /** Set when shutdown begins: readiness turns 503 and workers stop taking work. */
  lifecycle: { closing: boolean, demo?: boolean }
}

export { StartupError }

/** The absolute data directory. */
export function dataDirOf (config: Config): string {
  return resolve(config.storage.data_dir)
}

/** The database file inside the data directory. */
export function databaseFile (dataDir: string): string {
  return join(dataDir, 'weltra.db')
}

/** Creates the data directory if needed and proves it is writable; throws StartupError otherwise. */
export function prepareDataDir (dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new StartupError(`cannot create the data directory ${dataDir}: ${explainFsError(err)}. Create it, or set storage.data_dir to a folder Weltra may write.`)
  }
  const probe = join(dataDir, `.write-test-${process.pid}`)
  try {
    const fd = openSync(probe, 'w', 0o600)
    writeFileSync(fd, 'ok')
    closeSync(fd)
    rmSync(probe, { force: true })
  } catch (err) {
    rmSync(probe, { force: true })
    throw new StartupError(`the data directory ${dataDir} is not writable: ${explainFsError(err)}. Fix its permissions or free some space.`)
  }
}

/** Human words for a file-system error code. */
export function explainFsError (err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  switch (code) {
    case 'EACCES': case 'EPERM': return 'permission denied'
    case 'ENOSPC': return 'the disk is full'
    case 'EDQUOT': return 'the disk quota is exhausted'
    case 'EROFS': return 'the file system is read-only'
    case 'ENOTDIR': return 'a part of the path is a file, not a folder'
    case 'ENOENT': return 'no such file or folder'
    default: return code ?? (err as Error).message
  }
}

/**
 * Finds the master key: the config value (or its _file), else <data_dir>/master.key, else — only when
 * no encrypted data exists yet — a newly generated master.key (mode 0600). Never generates a key over
 * existing data.
 */
export function resolveMasterKey (config: Config, dataDir: string, options: { log?: Log, nativeBinding?: unknown, allowGenerate?: boolean } = {}): { ring: Keyring, status: KeyStatus } {
  const log = options.log
  const previous = config.security.previous_master_keys
  const file = join(dataDir, 'master.key')
  try {
    if (config.security.master_key !== '') {
      return { ring: Keyring.fromBase64(config.security.master_key, previous), status: { source: 'config' } }
    }
    if (existsSync(file)) {
      const mode = statSync(file).mode & 0o077
      if (mode !== 0 && log !== undefined) log.warn({ file }, 'master.key is readable by other users; run: chmod 600 ' + file)
      return { ring: Keyring.fromBase64(readFileSync(file, 'utf8'), previous), status: { source: 'file', file } }
    }
  } catch (err) {
    if (err instanceof KeyError) throw new StartupError(`the master key is not valid: ${err.message}`)
    throw new StartupError(`cannot read the master key ${file}: ${explainFsError(err)}`)
  }
  const dbFile = databaseFile(dataDir)
  if (existsSync(dbFile)) {
    let encrypted = false
    try {
      const probe = openForReading(dbFile, { nativeBinding: options.nativeBinding })
      encrypted = hasKeyCheck(probe.sqlite)
      probe.close()
    } catch { encrypted = true }
    if (encrypted) {
      throw new StartupError(`${dbFile} holds encrypted data but no master key was found (not in security.master_key, its _file, nor ${file}). Nothing was changed. Restore the key you backed up, then start again.`)
    }
  }
  if (options.allowGenerate === false) {
    throw new StartupError(`no master key is configured (security.master_key, its _file, or ${file}). Put the key this data was encrypted with in place first.`)
  }
  const key = randomKey(32).toString('base64')
  try {
    writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    throw new StartupError(`cannot write a new master key to ${file}: ${explainFsError(err)}`)
  }
  return { ring: Keyring.fromBase64(key, previous), status: { source: 'generated', file } }
}

export interface Storage { sqlite: Sqlite, db: Db, migrated: MigrateResult }

/**
 * Opens the database, refuses a wrong master key before touching anything, applies pending
 * migrations (with a backup first) and loads the instance keys.
 */
export function openStorage (config: Config, assets: Assets, ring: Keyring, options: { file?: string, now?: number } = {}): Storage {
  const dataDir = dataDirOf(config)
  const file = options.file ?? databaseFile(dataDir)
  let opened: { sqlite: Sqlite, db: Db }
  try {
    opened = openDatabase(file, { nativeBinding: assets.nativeBinding })
  } catch (err) {
    throw new StartupError(`cannot open the database ${file}: ${explainSqliteError(err)}`)
  }
  const { sqlite, db } = opened
  try {
    verifyMasterKey(sqlite, ring)
    const migrated = migrateDatabase(sqlite, db, {
      migrationsFolder: assets.migrations,
      backupDir: file === ':memory:' ? undefined : join(dataDir, 'backups'),
      backupKeep: config.storage.backup_keep,
      now: options.now
    })
    setKeyring(ring)
    initInstanceKeys(db, ring, options.now ?? Date.now())
    return { sqlite, db, migrated }
  } catch (err) {
    sqlite.close()
    if (err instanceof KeyError) throw new StartupError(err.message)
    if (err instanceof StartupError) throw err
    if ((err as Error).name === 'MigrationError') throw new StartupError((err as Error).message)
    throw new StartupError(`cannot prepare the database ${file}: ${explainSqliteError(err)}`)
  }
}

function explainSqliteError (err: unknown): string {
  const code = String((err as { code?: unknown }).code ?? '')
  if (code === 'SQLITE_FULL') return 'the disk is full'
  if (code === 'SQLITE_READONLY') return 'the file is read-only'
  if (code === 'SQLITE_CANTOPEN') return 'the file cannot be opened (check the folder exists and is writable)'
  if (code === 'SQLITE_NOTADB') return 'the file is not a SQLite database'
  if (code === 'SQLITE_CORRUPT') return 'the database file is damaged; restore a backup with `weltra restore`'
  return (err as Error).message
}

/** Assembles Deps from opened storage. */
export function createDeps (parts: { config: Config, storage: Storage, ring: Keyring, keyStatus: KeyStatus, assets: Assets, log: Log, clock?: Clock }): Deps {
  setCommonPasswordsFile(join(parts.assets.resources, 'common-passwords.txt'))
  return {
    config: parts.config,
    db: parts.storage.db,
    sqlite: parts.storage.sqlite,
    ring: parts.ring,
    keyStatus: parts.keyStatus,
    clock: parts.clock ?? systemClock,
    events: new Events(),
    log: parts.log,
    i18n: new I18n(parts.assets.locales, parts.config.ui.default_locale),
    views: createEta(parts.assets.views, true),
    assets: parts.assets,
    dataDir: dataDirOf(parts.config),
    writer: new GroupCommitter(parts.storage.db, parts.storage.sqlite),
    lifecycle: { closing: false }
  }
}

/** Whether a path can be written (used by restore and backup to fail early with a clear message). */
export function canWrite (path: string): boolean {
  try {
    accessSync(path, fsc.W_OK)
    return true
  } catch {
    return false
  }
}

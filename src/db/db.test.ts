import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { checkPragmas, openDatabase } from './open.js'
import { migrateDatabase, MigrationError, planMigrations, pruneBackups } from './migrate.js'
import { verifyMasterKey, initInstanceKeys } from './instance-keys.js'
import { rotateKeys } from './rotate-keys.js'
import { encryptedColumns, encryptedText } from './columns.js'
import { blindIndex, Keyring, KeyError, open as openSealed, sealedKeyId, setKeyring } from '../platform/crypto/index.js'
import { openStorage, resolveMasterKey, StartupError } from '../deps.js'
import { resolveAssets } from '../platform/assets.js'
import { testConfig } from '../../test/helpers/build-test-app.js'

const assets = resolveAssets('/nonexistent-runtime')
const k1 = Buffer.alloc(32, 1)
const k2 = Buffer.alloc(32, 2)

t.test('a fresh database gets WAL, synchronous=FULL, foreign keys, busy timeout and secure delete', async (t) => {
  const dir = t.testdir()
  const { sqlite } = openDatabase(join(dir, 'x.db'))
  t.same(checkPragmas(sqlite), [])
  t.equal(sqlite.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(sqlite.pragma('synchronous', { simple: true }), 2)
  sqlite.pragma('synchronous = NORMAL')
  t.match(checkPragmas(sqlite).join(), /synchronous is 1, expected 2/, 'the self-check notices weaker durability')
  sqlite.close()
})

t.test('a fresh database receives every migration, and a second run applies nothing', async (t) => {
  const dir = t.testdir()
  const { sqlite, db } = openDatabase(join(dir, 'x.db'))
  const first = migrateDatabase(sqlite, db, { migrationsFolder: assets.migrations, backupDir: join(dir, 'backups') })
  t.ok(first.applied.length >= 1)
  t.equal(first.backup, undefined, 'no backup of an empty database')
  t.ok(sqlite.prepare("SELECT 1 FROM sqlite_master WHERE name = 'meta'").get())
  const second = migrateDatabase(sqlite, db, { migrationsFolder: assets.migrations, backupDir: join(dir, 'backups') })
  t.same(second.applied, [])
  t.same(planMigrations(sqlite, assets.migrations).pending, [])
  sqlite.close()
})

function migrationsWith (dir: string, tag: string, sqlText: string): string {
  const folder = join(dir, 'migrations')
  cpSync(assets.migrations, folder, { recursive: true })
  writeFileSync(join(folder, `${tag}.sql`), sqlText)
  const journalFile = join(folder, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<Record<string, unknown>> }
  journal.entries.push({ idx: journal.entries.length, version: '6', when: Date.now() + 1000, tag, breakpoints: true })
  writeFileSync(journalFile, JSON.stringify(journal))
  return folder
}

t.test('a failing migration leaves the database unchanged, keeps a backup and refuses to start', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'weltra.db')
  const { sqlite, db } = openDatabase(file)
  migrateDatabase(sqlite, db, { migrationsFolder: assets.migrations })
  sqlite.prepare("INSERT INTO meta (key, value, updated_at) VALUES ('kept', 'yes', 0)").run()
  const before = sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get()
  const folder = migrationsWith(dir, '0099_broken', 'CREATE TABLE half_done (id text);\n--> statement-breakpoint\nTHIS IS NOT SQL;')
  const err = t.throws(() => migrateDatabase(sqlite, db, { migrationsFolder: folder, backupDir: join(dir, 'backups') })) as Error
  t.type(err, MigrationError)
  t.match(err.message, /0099_broken/)
  t.match(err.message, /left unchanged/)
  t.notOk(sqlite.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").get(), 'the first statement was rolled back')
  t.same(sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get(), before)
  t.equal((sqlite.prepare("SELECT value FROM meta WHERE key = 'kept'").get() as { value: string }).value, 'yes')
  const backups = readdirSync(join(dir, 'backups'))
  t.equal(backups.length, 1)
  t.match(backups[0], /before-0099_broken\.db$/)
  sqlite.close()

  const config = testConfig({ 'storage.data_dir': dir })
  const storageErr = t.throws(() => openStorage(config, { ...assets, migrations: folder }, new Keyring(k1))) as Error
  t.type(storageErr, StartupError)
  t.match(storageErr.message, /migration failed/)
})

t.test('old automatic backups beyond the limit are pruned, newest kept', async (t) => {
  const dir = t.testdir()
  for (let i = 0; i < 5; i++) {
    const f = join(dir, `weltra-2026010${i}-before-x.db`)
    writeFileSync(f, 'x')
    const when = new Date(Date.UTC(2026, 0, 1 + i))
    ;(await import('node:fs')).utimesSync(f, when, when)
  }
  writeFileSync(join(dir, 'notes.txt'), 'not a backup')
  const removed = pruneBackups(dir, 2)
  t.equal(removed.length, 3)
  t.same(readdirSync(dir).sort(), ['notes.txt', 'weltra-20260103-before-x.db', 'weltra-20260104-before-x.db'])
})

t.test('a wrong master key is refused before anything is written', async (t) => {
  const dir = t.testdir()
  const config = testConfig({ 'storage.data_dir': dir })
  const s = openStorage(config, assets, new Keyring(k1))
  s.sqlite.pragma('wal_checkpoint(TRUNCATE)')
  s.sqlite.close()
  const before = readFileSync(join(dir, 'weltra.db'))
  const err = t.throws(() => openStorage(config, assets, new Keyring(k2))) as Error
  t.type(err, StartupError)
  t.match(err.message, /master key does not match/)
  t.ok(readFileSync(join(dir, 'weltra.db')).equals(before), 'database bytes unchanged')
  const { sqlite } = openDatabase(join(dir, 'weltra.db'))
  t.throws(() => verifyMasterKey(sqlite, new Keyring(k2)), KeyError)
  t.equal(verifyMasterKey(sqlite, new Keyring(k1)), 'current')
  t.equal(verifyMasterKey(sqlite, new Keyring(k2, [k1])), 'previous')
  sqlite.close()
})

t.test('a first run generates master.key with mode 0600; later runs reuse it; a missing key over existing data is refused', async (t) => {
  const dir = t.testdir()
  const config = testConfig({ 'storage.data_dir': dir })
  const first = resolveMasterKey(config, dir)
  t.equal(first.status.source, 'generated')
  t.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600)
  const second = resolveMasterKey(config, dir)
  t.equal(second.status.source, 'file')
  t.equal(second.ring.current.id, first.ring.current.id)
  openStorage(config, assets, first.ring).sqlite.close()
  ;(await import('node:fs')).rmSync(join(dir, 'master.key'))
  const err = t.throws(() => resolveMasterKey(config, dir)) as Error
  t.match(err.message, /holds encrypted data but no master key was found/)
  t.notOk(existsSync(join(dir, 'master.key')), 'no new key generated over existing data')
  const configured = resolveMasterKey(testConfig({ 'storage.data_dir': dir, 'security.master_key': k1.toString('base64') }), dir)
  t.equal(configured.status.source, 'config')
})

// A table with an encrypted column, defined only for this test (real tables come with features).
const notes = sqliteTable('test_notes', { id: text().primaryKey(), body: encryptedText('test_notes.body') })

t.test('encrypted columns are transparent to queries and sealed in the file', async (t) => {
  const ring = new Keyring(k1)
  setKeyring(ring)
  const { sqlite } = openDatabase(':memory:')
  sqlite.exec('CREATE TABLE test_notes (id text primary key, body text)')
  const db = drizzle({ client: sqlite, casing: 'snake_case' })
  db.insert(notes).values({ id: 'n1', body: 'canary-plaintext-123' }).run()
  t.equal(db.select().from(notes).where(eq(notes.id, 'n1')).get()?.body, 'canary-plaintext-123')
  const raw = (sqlite.prepare('SELECT body FROM test_notes').get() as { body: string }).body
  t.notMatch(raw, 'canary')
  t.equal(openSealed(raw, 'test_notes.body', ring), 'canary-plaintext-123')
  t.ok(encryptedColumns().some(c => c.table === 'test_notes' && c.column === 'body'))
  sqlite.close()
})

t.test('key rotation re-seals every value, resumes after an interruption, and moves the key check', async (t) => {
  const dir = t.testdir()
  mkdirSync(dir, { recursive: true })
  const config = testConfig({ 'storage.data_dir': dir })
  const old = new Keyring(k1)
  let s = openStorage(config, assets, old)
  s.sqlite.exec('CREATE TABLE test_notes (id text primary key, body text)')
  const plain = drizzle({ client: s.sqlite, casing: 'snake_case' })
  for (let i = 0; i < 25; i++) plain.insert(notes).values({ id: `n${i}`, body: `note ${i}` }).run()
  plain.insert(notes).values({ id: 'empty', body: null as unknown as string }).run()
  const indexBefore = blindIndex('p', 'ws', 'v')
  s.sqlite.close()

  const rotated = new Keyring(k2, [k1])
  s = openStorage(config, assets, rotated)
  t.equal(blindIndex('p', 'ws', 'v'), indexBefore, 'blind indexes survive a master key change')
  const columns = [{ table: 'test_notes', column: 'body' }]
  let batches = 0
  t.throws(() => rotateKeys(s.sqlite, s.db, rotated, { batchSize: 10, columns, onProgress: () => { if (++batches === 1) throw new Error('interrupted') } }))
  const half = (s.sqlite.prepare('SELECT count(*) AS n FROM test_notes WHERE body LIKE ?').get(`v1.${rotated.current.id}.%`) as { n: number }).n
  t.equal(half, 10, 'the first batch committed before the interruption')
  const result = rotateKeys(s.sqlite, s.db, rotated, { batchSize: 10, columns })
  t.equal(result.resealed, 15)
  t.ok(result.finished)
  const rows = s.sqlite.prepare('SELECT body FROM test_notes WHERE body IS NOT NULL').all() as Array<{ body: string }>
  t.ok(rows.every(r => sealedKeyId(r.body) === rotated.current.id))
  s.sqlite.close()

  // The old key can now be dropped.
  s = openStorage(config, assets, new Keyring(k2))
  const db = drizzle({ client: s.sqlite, casing: 'snake_case' })
  setKeyring(new Keyring(k2))
  t.equal(db.select().from(notes).where(eq(notes.id, 'n24')).get()?.body, 'note 24')
  t.equal(blindIndex('p', 'ws', 'v'), indexBefore)
  s.sqlite.close()
})

t.test('instance keys are created once and stay stable', async (t) => {
  const ring = new Keyring(k1)
  const { sqlite, db } = openDatabase(':memory:')
  migrateDatabase(sqlite, db, { migrationsFolder: assets.migrations })
  initInstanceKeys(db, ring, 1)
  const a = blindIndex('p', 'ws', 'v')
  const rows = sqlite.prepare('SELECT key, value FROM meta ORDER BY key').all() as Array<{ key: string, value: string }>
  initInstanceKeys(db, ring, 2)
  t.equal(blindIndex('p', 'ws', 'v'), a)
  t.same(sqlite.prepare('SELECT key, value FROM meta ORDER BY key').all(), rows)
  t.ok(rows.find(r => r.key === 'blind_index_root')?.value.startsWith('v1.'), 'the index root is stored sealed')
  sqlite.close()
})

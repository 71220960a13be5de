// The CLI as an admin meets it: the real `src/main.ts` in a child process, a fresh temp directory per
// test, exit codes (0 ok, 2 usage/config, 1 other) and one-line `weltra: …` messages without stack traces.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import {
  assertCleanFailure, dbFile, fetchStatus, freePort, isListening, metaValue, newMasterKey, repoRoot, runCli, sha256File, stackFrame, startServer, stopOnTeardown, tempDir, watchPort, type CliResult
} from './helpers/process.js'

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version

function integrity (file: string): string {
  const db = new Database(file, { fileMustExist: true })
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map(r => r.integrity_check).join('; ')
  } finally { db.close() }
}

/** The migration tags in order, from drizzle-kit's journal (the set grows as features land). */
function migrationTags (): string[] {
  const journal = JSON.parse(readFileSync(join(repoRoot, 'migrations', 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> }
  return journal.entries.map(e => e.tag)
}

t.test('an unknown command prints usage and exits 2, --help and every "<command> --help" exit 0, version prints the semver', async (t) => {
  const commands = ['serve', 'migrate', 'backup', 'restore', 'keys', 'config', 'healthcheck']
  // Two at a time: every child loads the whole program (~1.5 s of CPU), and the server tests run
  // alongside on a small machine.
  const runs: Array<[string[], CliResult]> = []
  const jobs = [['frobnicate'], ['--help'], ['version'], ...commands.map(c => [c, '--help'])]
  for (let i = 0; i < jobs.length; i += 2) {
    const batch = jobs.slice(i, i + 2)
    const results = await Promise.all(batch.map(async args => await runCli(args)))
    batch.forEach((args, j) => runs.push([args, results[j]!]))
  }
  const result = (args: string[]): CliResult => runs.find(([a]) => a.join(' ') === args.join(' '))![1]

  const unknown = result(['frobnicate'])
  t.equal(unknown.code, 2, 'unknown command exits 2')
  t.match(unknown.stderr, /^weltra: unknown command "frobnicate"/)
  t.match(unknown.stderr, /Usage: weltra \[command\]/, 'usage is printed')
  t.equal(unknown.stdout, '', 'nothing on stdout')

  const help = result(['--help'])
  t.equal(help.code, 0, '--help exits 0')
  t.match(help.stdout, /Usage: weltra \[command\]/)
  for (const c of commands) t.match(help.stdout, new RegExp(`^  ${c} `, 'm'), `usage lists ${c}`)
  t.equal(help.stderr, '')

  for (const c of commands) {
    const r = result([c, '--help'])
    t.equal(r.code, 0, `${c} --help exits 0`)
    t.match(r.stdout, new RegExp(`^Usage: weltra ${c}\\b`), `${c} --help prints its usage`)
    t.match(r.stdout, /--data-dir DIR/, `${c} --help lists the global options`)
    t.equal(r.stderr, '', `${c} --help writes nothing to stderr`)
  }

  const v = result(['version'])
  t.equal(v.code, 0, 'version exits 0')
  t.match(v.stdout, /^weltra \d+\.\d+\.\d+(-[\w.]+)?\b/, 'prints "weltra <semver>"')
  t.ok(v.stdout.startsWith(`weltra ${version}`), `the version is package.json's (${version})`)
})

t.test('a malformed config file makes serve exit 2 listing every problem with its key path, before creating the data directory or binding the port', async (t) => {
  const dir = tempDir(t)
  const port = await freePort()
  const file = join(dir, 'bad.toml')
  // A typo'd listen (";" for ":") that still names the chosen port: a lenient parser would bind it.
  writeFileSync(file, [
    '[server]',
    `listen = "127.0.0.1;${port}"`,
    'lisen = "127.0.0.1:8080"',
    '',
    '[log]',
    'level = "loud"',
    '',
    '[frobnicate]',
    'enabled = true',
    ''
  ].join('\n'))
  const watch = watchPort(port)
  const r = await runCli(['serve', '--config', file], { cwd: dir })
  const bound = await watch.stop()
  t.equal(r.code, 2, 'exit code 2')
  t.match(r.stderr, /^weltra: the configuration has \d+ problems:/)
  t.match(r.stderr, /server\.lisen: unknown key server\.lisen \(did you mean server\.listen\?\)/, 'the unknown key, with its path and a suggestion')
  t.match(r.stderr, /log\.level: must be one of .*"loud"/, 'the bad log level, with its path')
  t.match(r.stderr, /\[frobnicate\]: unknown section/, 'the unknown section')
  t.match(r.stderr, /server\.listen: must be "host:port"/, 'the bad listen address, with its path')
  t.notMatch(r.stderr, stackFrame, 'no stack trace')
  t.equal(r.stdout, '', 'nothing on stdout')
  t.notOk(existsSync(join(dir, 'data')), 'the data directory was not created')
  t.notOk(bound, 'nothing listened on the port while it ran')
  t.notOk(await isListening(port), 'the port is still free')
})

t.test('config check exits 0 on the defaults and 2 on a bad file; config show masks secrets and names each key\'s source', async (t) => {
  const dir = tempDir(t)
  const key = newMasterKey()
  const previous = newMasterKey()
  const bad = join(dir, 'bad.toml')
  writeFileSync(bad, '[server]\nlisten = "127.0.0.1:70000"\n\n[ui]\ndefault_time_zone = "Mars/Olympus_Mons"\n')
  const good = join(dir, 'good.toml')
  writeFileSync(good, '[ui]\ndefault_locale = "pt-BR"\n')

  const [defaults, broken, show] = await Promise.all([
    runCli(['config', 'check'], { cwd: dir }),
    runCli(['config', 'check', '--config', bad], { cwd: dir }),
    runCli(['config', 'show', '--config', good, '--listen', '127.0.0.1:9999'], {
      cwd: dir,
      env: { WELTRA_SECURITY__MASTER_KEY: key, WELTRA_SECURITY__PREVIOUS_MASTER_KEYS: previous, WELTRA_LOG__LEVEL: 'debug' }
    })
  ])
  t.equal(defaults.code, 0, 'config check on the defaults exits 0')
  t.match(defaults.stdout, /configuration is valid \(no config file; built-in defaults\)/)

  t.equal(broken.code, 2, 'config check on a bad file exits 2')
  t.match(broken.stderr, /the configuration has 2 problems/)
  t.match(broken.stderr, /server\.listen: must be "host:port".*"127\.0\.0\.1:70000"/, 'names server.listen')
  t.match(broken.stderr, /ui\.default_time_zone: unknown IANA time zone/, 'names ui.default_time_zone')
  t.notMatch(broken.stderr, stackFrame, 'no stack trace')

  t.equal(show.code, 0, 'config show exits 0')
  t.notOk(show.stdout.includes(key), 'the master key never appears in stdout')
  t.notOk(show.stdout.includes(key.slice(0, 12)), 'not even a part of it')
  t.notOk(show.stdout.includes(previous), 'nor a previous master key')
  t.notOk(show.stderr.includes(key), 'nor on stderr')
  t.match(show.stdout, /^master_key = "\*+" {2}# env$/m, 'master_key is masked and comes from the environment')
  t.match(show.stdout, /^previous_master_keys = \["\*+"\] {2}# env$/m, 'previous_master_keys is masked too')
  t.match(show.stdout, /^default_locale = "pt-BR" {2}# file$/m, 'a value from the file says file')
  t.match(show.stdout, /^level = "debug" {2}# env$/m, 'a value from WELTRA_* says env')
  t.match(show.stdout, /^listen = "127\.0\.0\.1:9999" {2}# flag$/m, 'a value from a flag says flag')
  t.match(show.stdout, /^data_dir = "\.\/data" {2}# default$/m, 'an untouched value says default')
})

t.test('migrate creates weltra.db and a 0600 master.key on a fresh data directory, says up to date the second time, and --dry-run changes nothing', async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const fresh = join(dir, 'fresh')
  const [first, dryFresh] = await Promise.all([
    runCli(['migrate', '--data-dir', data]),
    runCli(['migrate', '--dry-run', '--data-dir', fresh])
  ])
  t.equal(first.code, 0, `first migrate exits 0 (${first.stderr.trim()})`)
  const tags = migrationTags()
  t.equal(first.stdout.split('\n')[0], `applied ${tags.join(', ')}`, 'it applied every migration, in order')
  t.ok(existsSync(dbFile(data)), 'weltra.db exists')
  t.ok(existsSync(join(data, 'master.key')), 'master.key exists')
  t.equal(statSync(join(data, 'master.key')).mode & 0o777, 0o600, 'master.key is private (0600)')
  t.equal(statSync(dbFile(data)).mode & 0o777, 0o600, 'weltra.db is private (0600)')
  t.equal(statSync(data).mode & 0o777, 0o700, 'the data directory is private (0700)')
  t.match(readFileSync(join(data, 'master.key'), 'utf8'), /^[A-Za-z0-9+/]{43}=\n$/, 'master.key holds a base64 key')
  t.equal(integrity(dbFile(data)), 'ok')
  t.ok(metaValue(dbFile(data), 'key_check'), 'the key check was recorded')

  const second = await runCli(['migrate', '--data-dir', data])
  t.equal(second.code, 0, 'second migrate exits 0')
  t.equal(second.stdout, 'up to date\n', 'second migrate says up to date')

  const before = { hash: sha256File(dbFile(data)), files: readdirSync(data).sort(), key: readFileSync(join(data, 'master.key'), 'utf8') }
  const dry = await runCli(['migrate', '--dry-run', '--data-dir', data])
  t.equal(dry.code, 0, 'dry run exits 0')
  t.equal(dry.stdout, `up to date (${tags.length} migrations applied)\n`, 'dry run says up to date')
  t.equal(sha256File(dbFile(data)), before.hash, 'weltra.db is byte-for-byte unchanged')
  t.same(readdirSync(data).sort(), before.files, 'no file was added or removed')
  t.equal(readFileSync(join(data, 'master.key'), 'utf8'), before.key, 'master.key is unchanged')

  t.equal(dryFresh.code, 0, 'dry run on a fresh directory exits 0')
  t.equal(dryFresh.stdout, `${tags.length} pending:\n${tags.map(tag => `  ${tag}\n`).join('')}`, 'lists every pending migration')
  t.notOk(existsSync(dbFile(fresh)), 'dry run on a fresh directory creates no weltra.db')
  t.notOk(existsSync(join(fresh, 'master.key')), 'dry run generates no master key')
})

t.test('backup writes a verified copy (not over an existing file without --force); restore is refused while the server runs and afterwards replaces the database, keeping the previous one', async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const server = await startServer(data)
  stopOnTeardown(t, server)

  const copy = join(dir, 'copies', 'b1.db')
  const backup = await runCli(['backup', copy, '--data-dir', data])
  t.equal(backup.code, 0, `backup exits 0 while the server runs (${backup.stderr.trim()})`)
  t.match(backup.stdout, /backup written to .*b1\.db \(integrity ok\)/)
  t.match(backup.stdout, /master key is not inside it/, 'reminds that the key is not in the backup')
  const written = readdirSync(join(dir, 'copies'))
  t.ok(written.includes('b1.db'), 'the backup file exists')
  t.same(written.filter(f => !/\.partial-\d+-(wal|shm)$/.test(f)), ['b1.db'], 'no temporary database is left next to the copy')
  t.same(written, ['b1.db'], 'no -wal/-shm of the temporary copy is left next to it')
  t.equal(integrity(copy), 'ok', 'the copy passes PRAGMA integrity_check')
  const keyCheck = metaValue(copy, 'key_check')
  t.ok(keyCheck, 'the copy holds the data (meta.key_check)')

  const copyHash = sha256File(copy)
  const again = await runCli(['backup', copy, '--data-dir', data])
  assertCleanFailure(t, again, 1, /already exists.*--force/)
  t.equal(sha256File(copy), copyHash, 'the existing backup file is untouched')

  const liveHash = sha256File(dbFile(data))
  const refused = await runCli(['restore', copy, '--data-dir', data])
  assertCleanFailure(t, refused, 1, new RegExp(`Weltra is running \\(pid ${server.child.pid}\\).*stop it`))
  t.equal(sha256File(dbFile(data)), liveHash, 'the database is unchanged')
  t.notOk(existsSync(join(data, 'backups')), 'nothing was saved into backups/')
  t.equal((await fetchStatus(server.port, '/readyz')), 200, 'the server still serves')

  const stopped = await server.stop('SIGTERM')
  t.equal(stopped.code, 0, 'the server stopped cleanly')

  // Change the live database after the backup, so the restore is visible.
  const live = new Database(dbFile(data))
  live.prepare('INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)').run('test_marker', 'after-backup', Date.now())
  live.close()

  const restored = await runCli(['restore', copy, '--data-dir', data])
  t.equal(restored.code, 0, `restore exits 0 once the server is stopped (${restored.stderr.trim()})`)
  t.match(restored.stdout, /restored .*b1\.db/)
  t.equal(metaValue(dbFile(data), 'test_marker'), undefined, 'the database is the backup again (the later change is gone)')
  t.equal(metaValue(dbFile(data), 'key_check'), keyCheck)
  t.equal(integrity(dbFile(data)), 'ok')
  const saved = readdirSync(join(data, 'backups')).filter(f => /^weltra-\d{8}T\d{6}Z-before-restore\.db$/.test(f))
  t.equal(saved.length, 1, 'the previous database was saved under data/backups/')
  if (saved[0] !== undefined) {
    const previous = join(data, 'backups', saved[0])
    t.match(restored.stdout, new RegExp(`previous database was saved to ${previous.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    t.equal(metaValue(previous, 'test_marker'), 'after-backup', 'the saved copy holds the state from before the restore')
    t.equal(integrity(previous), 'ok')
  }
  t.notOk(existsSync(join(data, 'weltra.pid')), 'restore released its pid file')
})

t.test('a wrong master key refuses to start and touches nothing; a deleted master.key is reported and never silently regenerated', async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const keyA = newMasterKey()
  const keyB = newMasterKey()
  const data2 = join(dir, 'data2')
  // The second data directory (for the lost master.key) is prepared meanwhile.
  const [server, migrated] = await Promise.all([
    startServer(data, [], { WELTRA_SECURITY__MASTER_KEY: keyA }),
    runCli(['migrate', '--data-dir', data2])
  ])
  stopOnTeardown(t, server)
  t.equal((await fetchStatus(server.port, '/readyz')), 200)
  t.equal((await server.stop('SIGTERM')).code, 0, 'the first run shut down cleanly')
  const hash = sha256File(dbFile(data))
  const files = readdirSync(data).sort()
  t.notOk(files.includes('master.key'), 'with a configured key no master.key is written')

  const port = await freePort()
  const watch = watchPort(port)
  const wrong = await runCli(['serve', '--data-dir', data, '--listen', `127.0.0.1:${port}`], { env: { WELTRA_SECURITY__MASTER_KEY: keyB } })
  const bound = await watch.stop()
  assertCleanFailure(t, wrong, 1, /master key does not match this database/)
  t.match(wrong.stderr, /Nothing was changed/)
  t.equal(sha256File(dbFile(data)), hash, 'weltra.db is byte-for-byte unchanged')
  t.same(readdirSync(data).sort(), files, 'no file was added (no backups/, no pid file, no master.key, no -wal)')
  t.notOk(bound, 'the port was never bound')
  t.notOk(wrong.stderr.includes(keyB) || wrong.stderr.includes(keyA), 'no key is printed')

  // A data directory whose master.key was lost.
  t.equal(migrated.code, 0, 'migrate created the second data directory')
  t.ok(existsSync(join(data2, 'master.key')), 'with a generated master.key')
  rmSync(join(data2, 'master.key'))
  const hash2 = sha256File(dbFile(data2))
  const files2 = readdirSync(data2).sort()
  const lost = await runCli(['serve', '--data-dir', data2, '--listen', `127.0.0.1:${port}`])
  assertCleanFailure(t, lost, 1, /holds encrypted data but no master key was found/)
  t.match(lost.stderr, /Restore the key you backed up/)
  t.notOk(existsSync(join(data2, 'master.key')), 'no new master.key was generated')
  t.equal(sha256File(dbFile(data2)), hash2, 'weltra.db is unchanged')
  const after2 = readdirSync(data2).sort()
  t.same(after2.filter(f => !/^weltra\.db-(wal|shm)$/.test(f)), files2, 'no file was added apart from SQLite\'s -wal/-shm')
  if (existsSync(join(data2, 'weltra.db-wal'))) t.equal(statSync(join(data2, 'weltra.db-wal')).size, 0, 'any -wal file is empty')
  t.same(after2, files2, 'not even -wal/-shm files ("Nothing was changed")')
})

t.test('a data directory that cannot be created gives one clear line and exit 1', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'not-a-folder'), 'just a file\n')
  const port = await freePort()
  const target = join(dir, 'not-a-folder', 'sub')
  const watch = watchPort(port)
  const r = await runCli(['serve', '--data-dir', target, '--listen', `127.0.0.1:${port}`])
  const bound = await watch.stop()
  assertCleanFailure(t, r, 1, /cannot create the data directory .*not-a-folder\/sub: a part of the path is a file, not a folder/)
  t.equal(r.stdout, '', 'nothing on stdout')
  t.notOk(bound, 'the port was never bound')
})

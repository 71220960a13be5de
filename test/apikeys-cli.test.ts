// `weltra apikey create|list|revoke` as an admin (or a provisioning script) meets it: the real CLI in a
// child process on a real data directory. create prints the token, and only the token, on stdout (a
// note on stderr); list shows prefixes, never tokens; revoke ends a key; bad arguments and unknown
// workspaces or keys exit 2 with one clean line. Audit entries have no actor (the CLI).
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { newMasterKey, runCli, tempDir, type CliResult } from './helpers/process.js'
import { createUser } from './helpers/accounts.js'
import { withDataDir } from './helpers/build-test-app.js'
import { sha256Hex } from '../src/platform/crypto/index.js'
import { authenticateApiKey } from '../src/features/apikeys/apikeys.service.js'

interface Setup { data: string, env: Record<string, string>, key: string, cli: (...args: string[]) => Promise<CliResult>, rows: (sql: string) => unknown[] }

/** A data directory with two workspaces, "shop" and "other". */
async function setup (t: Test): Promise<Setup> {
  const data = join(tempDir(t), 'data')
  const key = newMasterKey()
  await withDataDir(data, key, async (deps) => {
    await createUser(deps, { name: 'Olivia Owner', workspace: 'Shop' })
    await createUser(deps, { name: 'Otto Other', workspace: 'Other' })
  })
  const env = { WELTRA_SECURITY__MASTER_KEY: key }
  return {
    data,
    env,
    key,
    cli: async (...args: string[]) => await runCli([...args, '--data-dir', data], { env }),
    rows: (sql: string) => {
      const db = new Database(join(data, 'weltra.db'), { readonly: true })
      try { return db.prepare(sql).all() } finally { db.close() }
    }
  }
}

/** An expected failure: exit 2, one `weltra: …` line (then, for usage errors, the usage), no stack. */
function assertRefused (t: Test, r: CliResult, pattern: RegExp, usage = false): void {
  t.equal(r.code, 2, `exit 2 (stderr: ${r.stderr.trim().split('\n')[0]})`)
  t.match(r.stderr, /^weltra: /)
  t.match(r.stderr.split('\n')[0], pattern)
  if (!usage) t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line')
  t.notMatch(r.stderr, /^\s+at .+[(:]/m, 'no stack trace')
  t.equal(r.stdout, '', 'nothing on stdout')
}

t.test('apikey create prints only the token; list shows the prefix; revoke ends the key; all audited without an actor', async (t) => {
  const s = await setup(t)
  const help = await s.cli('apikey', '--help')
  t.equal(help.code, 0)
  t.match(help.stdout, /weltra apikey create --workspace SLUG --name NAME \[--role agent\|admin\]/)

  const created = await s.cli('apikey', 'create', '--workspace', 'shop', '--name', 'Online shop', '--role', 'admin')
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^wk_[A-Za-z0-9_-]{43}\n$/, 'stdout is the token and a newline, nothing else')
  const token = created.stdout.trim()
  t.match(created.stderr, /API key "Online shop" \(admin, id [0-9A-Z]{26}\) created in shop\. This is the only time it is shown/, 'the note is on stderr')
  t.notOk(created.stderr.includes(token), 'stderr does not repeat the token')
  const stored = s.rows('SELECT id, name, role, prefix, token_hash, created_by FROM api_keys') as Array<Record<string, unknown>>
  t.equal(stored.length, 1)
  t.same({ ...stored[0], id: undefined }, { id: undefined, name: 'Online shop', role: 'admin', prefix: token.slice(0, 9), token_hash: sha256Hex(token), created_by: null }, 'only the hash is stored; no creator (the CLI)')
  t.notOk(JSON.stringify(s.rows('SELECT * FROM api_keys')).includes(token.slice(9)), 'the token is in no row')
  const id = stored[0]!.id as string

  const plain = await s.cli('apikey', 'create', '--workspace', 'shop', '--name', 'Stock script')
  t.equal(plain.code, 0, plain.stderr)
  t.match(plain.stderr, /\(agent, id /, 'agent by default')
  const caller = await withDataDir(s.data, s.key, (deps) => authenticateApiKey(deps, token))
  t.equal(caller?.workspaceSlug, 'shop', 'the printed token authenticates, in its workspace')
  t.equal(caller?.role, 'admin')

  const list = await s.cli('apikey', 'list', '--workspace', 'shop')
  t.equal(list.code, 0, list.stderr)
  const lines = list.stdout.trimEnd().split('\n')
  t.equal(lines.length, 2, 'one line per key')
  t.match(lines[1], new RegExp(`^${id}\\t${token.slice(0, 9)}…\\tadmin\\tOnline shop\\t\\d{4}-\\d\\d-\\d\\dT[^\\t]+\\tactive$`), 'id, prefix, role, name, last used, status')
  t.match(lines[0], /\tagent\tStock script\tnever\tactive$/, 'newest first; never used')
  t.notOk(list.stdout.includes(token.slice(9)), 'no token in the list')
  t.equal((await s.cli('apikey', 'list', '--workspace', 'other')).stdout, '', 'another workspace has none')

  const revoked = await s.cli('apikey', 'revoke', '--workspace', 'shop', '--id', id)
  t.equal(revoked.code, 0, revoked.stderr)
  t.equal(revoked.stdout, `${id}\trevoked\n`)
  t.equal(await withDataDir(s.data, s.key, (deps) => authenticateApiKey(deps, token)), undefined, 'the key works no more')
  const again = await s.cli('apikey', 'revoke', '--workspace', 'shop', '--id', id)
  t.equal(again.code, 0)
  t.match(again.stdout, /\talready revoked /, 'revoking twice says so')
  t.match((await s.cli('apikey', 'list', '--workspace', 'shop')).stdout, new RegExp(`^${id}\\t.*\\trevoked \\d{4}-`, 'm'), 'the list marks it')

  const audit = s.rows("SELECT action, actor_user_id AS actor, details FROM audit_log WHERE action LIKE 'api_key_%' ORDER BY created_at, id") as Array<{ action: string, actor: string | null, details: string }>
  t.same(audit.map(a => a.action), ['api_key_created', 'api_key_created', 'api_key_revoked'], 'one entry per change, none for the repeat')
  t.ok(audit.every(a => a.actor === null), 'no actor: the CLI')
  t.same(JSON.parse(audit[2]!.details), { keyId: id, name: 'Online shop', role: 'admin' })
  t.notOk(JSON.stringify(audit).includes(token.slice(9)) || JSON.stringify(audit).includes(sha256Hex(token)), 'neither the token nor its hash in the audit log')
})

t.test('apikey refuses bad arguments, unknown workspaces and other workspaces\' keys with exit 2 and a clear line', async (t) => {
  const s = await setup(t)
  const other = await s.cli('apikey', 'create', '--workspace', 'other', '--name', 'Theirs')
  t.equal(other.code, 0, other.stderr)
  const theirs = (s.rows('SELECT id FROM api_keys') as Array<{ id: string }>)[0]!.id

  assertRefused(t, await s.cli('apikey', 'create', '--name', 'No workspace'), /apikey create needs --workspace SLUG/, true)
  assertRefused(t, await s.cli('apikey', 'create', '--workspace', 'shop'), /apikey create needs --name NAME/, true)
  assertRefused(t, await s.cli('apikey', 'create', '--workspace', 'shop', '--name', 'Owner key', '--role', 'owner'), /--role must be agent or admin/, true)
  assertRefused(t, await s.cli('apikey', 'rotate', '--workspace', 'shop'), /unknown apikey command "rotate"/, true)
  assertRefused(t, await s.cli('apikey', 'create', '--workspace', 'nope', '--name', 'Lost'), /no workspace with slug "nope"/)
  assertRefused(t, await s.cli('apikey', 'create', '--workspace', 'other', '--name', '  THEIRS '), /the key was not created: --name: Another active key already has this name/)
  assertRefused(t, await s.cli('apikey', 'revoke', '--workspace', 'shop', '--id', theirs), /no API key [0-9A-Z]{26} in workspace shop/)
  t.equal((s.rows('SELECT revoked_at FROM api_keys') as Array<{ revoked_at: number | null }>)[0]!.revoked_at, null, 'the other workspace\'s key is untouched')
  t.equal((s.rows('SELECT count(*) AS n FROM api_keys') as Array<{ n: number }>)[0]!.n, 1, 'nothing was created')
})

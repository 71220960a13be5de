// Guard rails read from the live schema (SECURITY.md C19): every table that holds a workspace's data
// names its workspace in a NOT NULL column with a foreign key, and foreign keys are enforced.
import t from 'tap'
import { buildTestApp } from '../../test/helpers/build-test-app.js'

// Account-level audit events (sign-in, password …) belong to a person, not a workspace; a session's
// workspace_id is only the workspace it currently shows (none until the person joins one).
const nullableWorkspace = new Set(['audit_log', 'sessions'])

t.test('every table with a workspace_id requires it and points it at workspaces', async (t) => {
  const { deps } = await buildTestApp(t)
  const tables = (deps.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'").all() as Array<{ name: string }>).map(r => r.name)
  let tenantTables = 0
  for (const table of tables) {
    const columns = deps.sqlite.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string, notnull: number }>
    const ws = columns.find(c => c.name === 'workspace_id')
    if (ws === undefined) continue
    tenantTables++
    if (!nullableWorkspace.has(table)) t.equal(ws.notnull, 1, `${table}.workspace_id is NOT NULL`)
    const fks = deps.sqlite.prepare(`PRAGMA foreign_key_list("${table}")`).all() as Array<{ from: string, table: string }>
    t.ok(fks.some(f => f.from === 'workspace_id' && f.table === 'workspaces'), `${table}.workspace_id references workspaces`)
  }
  t.ok(tenantTables >= 3, `${tenantTables} workspace tables checked`)
  t.equal(deps.sqlite.pragma('foreign_keys', { simple: true }), 1)
})

t.test('a row pointing at a workspace that does not exist is refused by the database', async (t) => {
  const { deps } = await buildTestApp(t)
  t.throws(() => deps.sqlite.prepare("INSERT INTO invites (id, workspace_id, email, email_index, role, token_hash, expires_at, created_at) VALUES ('i', 'no-such-workspace', 'x', 'x', 'agent', 'h', 1, 1)").run(), /FOREIGN KEY/)
})

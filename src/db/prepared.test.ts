import t from 'tap'
import { and, eq, sql } from 'drizzle-orm'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { openDatabase } from './open.js'
import { encryptedText, id } from './columns.js'
import { insertValues, ph, placeholders, plainKeys, prepared } from './prepared.js'
import { Keyring, setKeyring } from '../platform/crypto/index.js'

const things = sqliteTable('test_things', {
  id: id(),
  ws: text().notNull(),
  name: text(),
  secret: encryptedText('test_things.secret'),
  n: integer().notNull().default(0)
})

function setup () {
  setKeyring(new Keyring(Buffer.alloc(32, 3)))
  const { sqlite } = openDatabase(':memory:')
  sqlite.exec('CREATE TABLE test_things (id text primary key, ws text not null, name text, secret text, n integer not null default 0)')
  return { sqlite, db: drizzle({ client: sqlite, casing: 'snake_case' }) }
}

t.test('one statement per handle and key, built on first use', async (t) => {
  const { sqlite, db } = setup()
  let built = 0
  const make = () => { built++; return db.select().from(things).where(eq(things.id, ph('id'))).prepare() }
  const a = prepared(db, 'things.byId', make)
  t.equal(prepared(db, 'things.byId', make), a)
  t.equal(built, 1)
  const other = drizzle({ client: sqlite, casing: 'snake_case' })
  t.not(prepared(other, 'things.byId', make), a, 'another handle gets its own')
  sqlite.close()
})

t.test('column keys: undefined skipped, null marked, non-plain values refused', async (t) => {
  t.same(plainKeys({ b: 1, a: 'x', c: undefined, d: null, e: false }), ['a', 'b', 'd=null', 'e'])
  t.equal(plainKeys({ a: sql`1 + 1` }), undefined)
  t.equal(plainKeys({ a: { json: true } }), undefined)
  const p = placeholders<Record<string, unknown>>(['a', 'd=null'])
  t.equal(p.d, null)
  t.ok(p.a !== null && typeof p.a === 'object', 'a placeholder')
})

t.test('prepared inserts compute JS defaults per row, encrypt, and write NULL without sealing it', async (t) => {
  const { sqlite, db } = setup()
  const insert = (row: typeof things.$inferInsert) => {
    const v = insertValues(things, row)!
    return prepared(db, `things.insert:${v.keys.join(',')}`, () => db.insert(things).values(placeholders<typeof things.$inferInsert>(v.keys)).returning().prepare()).get(v.values)!
  }
  const a = insert({ ws: 'w', name: 'a', secret: 'canary-1' })
  const b = insert({ ws: 'w', name: 'b', secret: 'canary-2' })
  const c = insert({ ws: 'w', name: null, secret: null })
  t.not(a.id, b.id, 'a fresh id for every row, not the one computed when the statement was built')
  t.equal(a.secret, 'canary-1')
  t.equal(c.secret, null)
  t.equal(c.name, null)
  t.equal(c.n, 0, 'database defaults still apply')
  const raw = sqlite.prepare('SELECT secret FROM test_things WHERE id = ?').get(a.id) as { secret: string }
  t.notMatch(raw.secret, /canary/, 'sealed at rest')

  // An update per combination of columns, NULL included.
  const update = (rowId: string, set: Partial<typeof things.$inferInsert>) => {
    const keys = plainKeys(set)!
    const values: Record<string, unknown> = { ...set, __id: rowId, __ws: 'w' }
    prepared(db, `things.update:${keys.join(',')}`, () => db.update(things).set(placeholders<Partial<typeof things.$inferInsert>>(keys))
      .where(and(eq(things.ws, ph('__ws')), eq(things.id, ph('__id')))).prepare()).run(values)
  }
  update(a.id, { secret: null, n: 5 })
  update(b.id, { secret: 'changed', n: 6 })
  const rows = db.select().from(things).all()
  t.same(rows.map(r => [r.name, r.secret, r.n]).sort(), [['a', null, 5], ['b', 'changed', 6], [null, null, 0]].sort())
  sqlite.close()
})

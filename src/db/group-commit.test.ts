import t from 'tap'
import { openDatabase, type Sqlite } from './open.js'
import { GroupCommitter } from './group-commit.js'

function setup () {
  const { sqlite, db } = openDatabase(':memory:')
  sqlite.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)')
  let transactions = 0
  const counting = new Proxy(sqlite, {
    get (target, prop, receiver) {
      if (prop === 'transaction') return (fn: () => unknown) => { transactions++; return target.transaction(fn) }
      return Reflect.get(target, prop, receiver) as unknown
    }
  }) as Sqlite
  return { sqlite, db, counting, transactions: () => transactions }
}

t.test('concurrent writes share one transaction and each caller gets its own result', async (t) => {
  const { sqlite, db, counting, transactions } = setup()
  const writer = new GroupCommitter(db, counting)
  const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => await writer.run(() => sqlite.prepare('INSERT INTO items (v) VALUES (?)').run(`v${i}`).lastInsertRowid)))
  t.equal(results.length, 50)
  t.equal((sqlite.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n, 50)
  t.equal(transactions(), 1, 'one commit for the whole group')
  sqlite.close()
})

t.test('a failing piece is rolled back alone; the others commit', async (t) => {
  const { sqlite, db } = setup()
  const writer = new GroupCommitter(db, sqlite)
  const insert = (v: string) => () => sqlite.prepare('INSERT INTO items (v) VALUES (?)').run(v)
  const outcomes = await Promise.allSettled([
    writer.run(insert('a')),
    writer.run(() => { insert('b')(); insert('a')() }), // the second insert violates UNIQUE: b must be undone too
    writer.run(insert('c'))
  ])
  t.same(outcomes.map(o => o.status), ['fulfilled', 'rejected', 'fulfilled'])
  t.same((sqlite.prepare('SELECT v FROM items ORDER BY v').all() as Array<{ v: string }>).map(r => r.v), ['a', 'c'])
  sqlite.close()
})

t.test('when storage refuses writes every caller is told, and nothing is half-written', async (t) => {
  const { sqlite, db } = setup()
  const writer = new GroupCommitter(db, sqlite)
  sqlite.pragma('query_only = ON')
  const outcomes = await Promise.allSettled([1, 2, 3].map(async i => await writer.run(() => sqlite.prepare('INSERT INTO items (v) VALUES (?)').run(`v${i}`))))
  t.ok(outcomes.every(o => o.status === 'rejected'))
  sqlite.pragma('query_only = OFF')
  t.equal((sqlite.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n, 0)
  sqlite.close()
})

t.test('writes queued in one event-loop turn share a group; a later turn starts the next one', async (t) => {
  const { sqlite, db, counting, transactions } = setup()
  const writer = new GroupCommitter(db, counting)
  const insert = (v: string) => () => sqlite.prepare('INSERT INTO items (v) VALUES (?)').run(v)
  const first = [writer.run(insert('a')), writer.run(insert('b'))]
  await Promise.all(first)
  t.equal(transactions(), 1, 'a and b in one commit, with no timer to wait for')
  await writer.run(insert('c'))
  t.equal(transactions(), 2, 'c in the next')
  sqlite.close()
})

// Group commit: writes from concurrent requests are gathered and committed in ONE durable transaction
// (synchronous=FULL, so one fsync for the whole group instead of one per request). Each piece of work
// runs in its own savepoint, so one failing piece does not undo the others; if the commit itself fails
// (disk full, read-only), every waiting caller gets the error and none of them may acknowledge anything.
//
// By default a group is committed at the end of the event-loop turn in which its first write arrived
// (setImmediate): the commit is synchronous, so every request that arrives while one group is being
// committed is read in the next turn and joins the next group. The group size follows the load and
// the fsync time by itself, and a lone write waits for nobody. Measured on the 2-core bench machine
// at 1,000 webhooks/s: p50 acknowledgement 2.4 ms, against 6.6 ms with a fixed 2 ms window (the
// window also delays requests that arrived during the previous commit) and 11 ms with 4 ms.
import type { Statement } from 'better-sqlite3'
import type { Db, Sqlite } from './open.js'

interface Pending<T> { work: (db: Db) => T, resolve: (value: T) => void, reject: (err: unknown) => void }

export class GroupCommitter {
  private queue: Array<Pending<unknown>> = []
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  private savepoints: { begin: Statement, release: Statement, rollback: Statement } | undefined

  /**
   * `windowMs`: how long the first write of a group waits for company (0: until the end of this
   * event-loop turn); `maxBatch` flushes at once.
   */
  constructor (private readonly db: Db, private readonly sqlite: Sqlite, private readonly windowMs = 0, private readonly maxBatch = 256) {}

  /** Runs `work` inside the next group transaction; resolves with its result once that is committed. */
  run<T> (work: (db: Db) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject } as Pending<unknown>)
      if (this.queue.length >= this.maxBatch) this.flush()
      else this.timer ??= this.windowMs > 0 ? setTimeout(() => this.flush(), this.windowMs) : setImmediate(() => this.flush())
    })
  }

  /** Commits whatever is waiting now (also used at shutdown). */
  flush (): void {
    if (this.timer !== undefined) {
      if (this.windowMs > 0) clearTimeout(this.timer as NodeJS.Timeout)
      else clearImmediate(this.timer as NodeJS.Immediate)
      this.timer = undefined
    }
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return
    const outcomes: Array<{ ok: true, value: unknown } | { ok: false, error: unknown }> = []
    // Savepoints by hand, so each piece runs on the one database handle (its prepared statements are
    // reused from one group to the next) rather than on a new transaction object.
    const sp = this.savepoints ??= {
      begin: this.sqlite.prepare('SAVEPOINT group_item'),
      release: this.sqlite.prepare('RELEASE group_item'),
      rollback: this.sqlite.prepare('ROLLBACK TO group_item')
    }
    try {
      this.sqlite.transaction(() => {
        for (const item of batch) {
          sp.begin.run()
          try {
            outcomes.push({ ok: true, value: item.work(this.db) })
            sp.release.run()
          } catch (error) {
            // Some failures (a full disk) make SQLite roll back the whole transaction: then every
            // piece of the group fails with that error, and nobody acknowledges anything.
            if (!this.sqlite.inTransaction) throw error
            sp.rollback.run()
            sp.release.run()
            outcomes.push({ ok: false, error })
          }
        }
      }).immediate()
    } catch (err) {
      for (const item of batch) item.reject(err)
      return
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!
      if (o.ok) item.resolve(o.value)
      else item.reject(o.error)
    })
  }
}

// Group commit: writes from concurrent requests are gathered for a couple of milliseconds and committed
// in ONE durable transaction (synchronous=FULL, so one fsync for the whole group instead of one per
// request). Each piece of work runs in its own savepoint, so one failing piece does not undo the
// others; if the commit itself fails (disk full, read-only), every waiting caller gets the error and
// none of them may acknowledge anything.
import type { Db, Sqlite } from './open.js'

interface Pending<T> { work: (db: Db) => T, resolve: (value: T) => void, reject: (err: unknown) => void }

export class GroupCommitter {
  private queue: Array<Pending<unknown>> = []
  private timer: NodeJS.Timeout | undefined

  /** `windowMs`: how long the first write of a group waits for company; `maxBatch` flushes at once. */
  constructor (private readonly db: Db, private readonly sqlite: Sqlite, private readonly windowMs = 2, private readonly maxBatch = 256) {}

  /** Runs `work` inside the next group transaction; resolves with its result once that is committed. */
  run<T> (work: (db: Db) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject } as Pending<unknown>)
      if (this.queue.length >= this.maxBatch) this.flush()
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs)
    })
  }

  /** Commits whatever is waiting now (also used at shutdown). */
  flush (): void {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined }
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return
    const outcomes: Array<{ ok: true, value: unknown } | { ok: false, error: unknown }> = []
    // Savepoints by hand, so each piece runs on the one database handle (its prepared statements are
    // reused from one group to the next) rather than on a new transaction object.
    try {
      this.sqlite.transaction(() => {
        for (const item of batch) {
          this.sqlite.exec('SAVEPOINT group_item')
          try {
            outcomes.push({ ok: true, value: item.work(this.db) })
            this.sqlite.exec('RELEASE group_item')
          } catch (error) {
            // Some failures (a full disk) make SQLite roll back the whole transaction: then every
            // piece of the group fails with that error, and nobody acknowledges anything.
            if (!this.sqlite.inTransaction) throw error
            this.sqlite.exec('ROLLBACK TO group_item')
            this.sqlite.exec('RELEASE group_item')
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

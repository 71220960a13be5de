// Group commit: writes from concurrent requests are gathered for a couple of milliseconds and committed
// in ONE durable transaction (synchronous=FULL, so one fsync for the whole group instead of one per
// request). Each piece of work runs in its own savepoint, so one failing piece does not undo the
// others; if the commit itself fails (disk full, read-only), every waiting caller gets the error and
// none of them may acknowledge anything.
import type { Db } from './open.js'

interface Pending<T> { work: (db: Db) => T, resolve: (value: T) => void, reject: (err: unknown) => void }

export class GroupCommitter {
  private queue: Array<Pending<unknown>> = []
  private timer: NodeJS.Timeout | undefined

  /** `windowMs`: how long the first write of a group waits for company; `maxBatch` flushes at once. */
  constructor (private readonly db: Db, private readonly windowMs = 2, private readonly maxBatch = 256) {}

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
    try {
      this.db.transaction((tx) => {
        for (const item of batch) {
          try {
            outcomes.push({ ok: true, value: tx.transaction(inner => item.work(inner as unknown as Db)) })
          } catch (error) {
            outcomes.push({ ok: false, error })
          }
        }
      }, { behavior: 'immediate' })
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

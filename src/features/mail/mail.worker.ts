// The mail worker: sends what queueMail() put in the mail outbox. SQLite is the queue:
//   1. lease — in one short IMMEDIATE transaction, take the due rows (pending and due, or `sending` with an
//      expired lease: the process died mid-send), mark them `sending` for 60 s and count the attempt;
//   2. send — outside any transaction, one message at a time;
//   3. settle — `sent`, or back to `pending` with a full-jitter exponential backoff (30 s base, 1 h cap),
//      or `failed` when the error is permanent or the email is more than 24 h old.
// Delivery is at least once; a lease lost to a crash is retried after it expires. Logs carry the row id,
// kind, attempt and outcome, never the address, subject or body.
import { and, eq, inArray, lt, lte, or, sql } from 'drizzle-orm'
import { mailOutbox } from '../../db/schema.js'
import type { Deps } from '../../deps.js'
import { randomIntBetween } from '../../platform/crypto/index.js'
import { MailSendError, safeErrorText, type MailTransport } from '../../platform/mail/transports.js'
import { startPollLoop } from '../../platform/poll-loop.js'
import { jitteredDelay } from '../../platform/backoff.js'

export const mailLeaseMs = 60_000
export const mailRetryBaseMs = 30_000
export const mailRetryCapMs = 3_600_000
/** After this long since it was queued, a failing email is given up (marked failed). */
export const mailGiveUpAfterMs = 24 * 3_600_000
/** Shortest wait before a retry, so a retried row is never due again within the same run. */
export const mailRetryMinMs = 1_000

export interface MailWorkerOptions {
  /** How often the outbox is polled (ms, default 2000). */
  pollMs?: number
  /** Rows leased per transaction (default 10). */
  batch?: number
  /** The sender (config email.from). */
  from: string
}

export interface MailWorker {
  /** Runs a pass soon (call after committing a transaction that queued mail). */
  kick: () => void
  /** Sends everything due now; resolves with how many emails were attempted. */
  runOnce: () => Promise<number>
  /** Stops polling and waits for an in-flight send to finish; leased but unsent rows are released. */
  stop: () => Promise<void>
}

type Row = typeof mailOutbox.$inferSelect

/**
 * The wait before retry number `attempts` + 1 (attempts ≥ 1 already made): uniformly random in
 * [1 s, min(1 h, 30 s · 2^(attempts − 1))]. `random(min, max)` returns an integer in [min, max).
 */
export function mailRetryDelay (attempts: number, random: (min: number, max: number) => number = randomIntBetween): number {
  return jitteredDelay(attempts, { baseMs: mailRetryBaseMs, capMs: mailRetryCapMs, minMs: mailRetryMinMs }, random)
}

/** Starts the polling loop (first pass after pollMs) and returns its controls. */
export function startMailWorker (deps: Pick<Deps, 'db' | 'clock' | 'log'>, transport: MailTransport, options: MailWorkerOptions = { from: 'Weltra <weltra@localhost>' }): MailWorker {
  const { db, clock } = deps
  const log = deps.log.child({ worker: 'mail' })
  const pollMs = options.pollMs ?? 2000
  const batch = options.batch ?? 10
  let stopped = false

  function lease (cutoff: number): Row[] {
    return db.transaction(tx => {
      const due = tx.select({ id: mailOutbox.id }).from(mailOutbox)
        .where(or(
          and(eq(mailOutbox.status, 'pending'), lte(mailOutbox.nextAttemptAt, cutoff)),
          and(eq(mailOutbox.status, 'sending'), lt(mailOutbox.leaseUntil, cutoff))
        ))
        .orderBy(mailOutbox.nextAttemptAt, mailOutbox.id)
        .limit(batch)
        .all()
      if (due.length === 0) return []
      return tx.update(mailOutbox)
        .set({ status: 'sending', leaseUntil: clock.now() + mailLeaseMs, attempts: sql`${mailOutbox.attempts} + 1` })
        .where(inArray(mailOutbox.id, due.map(r => r.id)))
        .returning()
        .all()
        .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1))
    }, { behavior: 'immediate' })
  }

  /** Updates a row only while this pass still holds its lease. */
  function settle (row: Row, values: Partial<Row>): void {
    db.update(mailOutbox).set(values)
      .where(and(eq(mailOutbox.id, row.id), eq(mailOutbox.status, 'sending'), eq(mailOutbox.leaseUntil, row.leaseUntil ?? -1)))
      .run()
  }

  async function deliver (row: Row): Promise<void> {
    const at = { mailId: row.id, kind: row.kind, attempt: row.attempts, transport: transport.name }
    try {
      await transport.send({ from: options.from, to: row.toAddress, subject: row.subject, html: row.html, text: row.textBody, idempotencyKey: row.id })
    } catch (err) {
      const permanent = err instanceof MailSendError && err.permanent
      const reason = err instanceof MailSendError ? safeErrorText(err.message) : `unexpected ${(err as Error)?.name ?? 'error'}`
      const now = clock.now()
      if (permanent || now - row.createdAt >= mailGiveUpAfterMs) {
        const lastError = safeErrorText(permanent ? reason : `gave up after 24 h: ${reason}`)
        settle(row, { status: 'failed', leaseUntil: null, lastError })
        log.error({ ...at, outcome: 'failed', permanent, error: lastError }, 'email failed')
        return
      }
      const delay = mailRetryDelay(row.attempts)
      settle(row, { status: 'pending', leaseUntil: null, nextAttemptAt: now + delay, lastError: reason })
      log.warn({ ...at, outcome: 'retry', retryInMs: delay, error: reason }, 'email not sent, will retry')
      return
    }
    settle(row, { status: 'sent', leaseUntil: null, sentAt: clock.now(), lastError: null })
    log.info({ ...at, outcome: 'sent' }, 'email sent')
  }

  /** Puts leased rows back as they were (stop() came before they were sent). */
  function release (rows: Row[]): void {
    for (const row of rows) settle(row, { status: 'pending', leaseUntil: null, attempts: row.attempts - 1 })
  }

  async function pass (): Promise<number> {
    // Rows settled in this pass get a next attempt later than `cutoff`, so the pass always ends.
    const cutoff = clock.now()
    let attempted = 0
    for (;;) {
      if (stopped) break
      const rows = lease(cutoff)
      if (rows.length === 0) break
      for (let i = 0; i < rows.length; i++) {
        if (stopped) {
          release(rows.slice(i))
          break
        }
        await deliver(rows[i]!)
        attempted++
      }
    }
    return attempted
  }

  const loop = startPollLoop({ pass, pollMs, onError: (err) => { log.error({ err }, 'mail worker pass failed') } })

  return {
    kick: loop.kick,
    runOnce: loop.runOnce,
    async stop () {
      stopped = true
      loop.stop()
      await loop.settled()
    }
  }
}

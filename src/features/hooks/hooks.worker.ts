// Outgoing webhooks, steps 2 and 3: the worker that (2) turns queued events into deliveries and
// (3) posts them. SQLite is the queue, as for email and WhatsApp sends:
//   - dispatch — in one IMMEDIATE transaction: read queued events, write one delivery per subscription
//     that wants each (payload read now, encrypted), delete the events;
//   - lease — take due deliveries of active subscriptions, mark them `sending` for 60 s, count the attempt;
//   - post — outside any transaction, up to `batch` at a time, signed (signature.ts), through the SSRF
//     guard (platform/net/guarded-post.ts), one deadline each;
//   - settle — `delivered` on 2xx; otherwise back to `pending` with full-jitter backoff (30 s doubling
//     to 1 h), or `failed` when the URL is refused by policy or the event is more than 24 h old. A
//     failure also postpones the subscription's other waiting deliveries to the same time: a receiver
//     that is down costs one attempt per backoff window, not one per waiting event.
// Delivery is at least once (a receiver dedupes by the event id); order is not guaranteed. The log of
// settled deliveries is kept 30 days. Logs carry ids, types, statuses, durations and a reason code,
// never a URL, a host or a payload (the admin reads the full error in the delivery log).
import type { Deps } from '../../deps.js'
import { jitteredDelay } from '../../platform/backoff.js'
import { guardedPost } from '../../platform/net/guarded-post.js'
import type { HostResolver } from '../../platform/net/outbound.js'
import { startPollLoop } from '../../platform/poll-loop.js'
import { dispatchQueued, urlPolicy } from './hooks.service.js'
import { deleteQueued, findSubscription, leaseDeliveries, postponeWaiting, pruneDeliveries, queuedEvents, settleDelivery, type DeliveryRow } from './hooks.store.js'
import { signPayload } from './signature.js'

export const hookLeaseMs = 60_000
export const hookRetry = { baseMs: 30_000, capMs: 3_600_000, minMs: 1_000 }
/** After this long since the event, a failing delivery is given up. */
export const hookGiveUpAfterMs = 24 * 3_600_000
/** Settled deliveries older than this leave the log. */
export const hookLogKeepMs = 30 * 24 * 3_600_000

export interface HooksWorkerOptions {
  pollMs?: number
  /** Deliveries posted at once (default 10). */
  batch?: number
  /** Resolver for receivers' hosts (tests). */
  resolve?: HostResolver
}

export interface HooksWorker {
  kick: () => void
  /** Dispatches and posts everything due now; resolves with how many deliveries were attempted. */
  runOnce: () => Promise<number>
  stop: () => Promise<void>
}

export function startHooksWorker (deps: Pick<Deps, 'db' | 'clock' | 'log' | 'config' | 'assets'>, options: HooksWorkerOptions = {}): HooksWorker {
  const { db, clock } = deps
  const log = deps.log.child({ worker: 'webhooks-out' })
  const batch = options.batch ?? 10
  const userAgent = `Weltra-Webhooks/${deps.assets.version}`
  let stopped = false
  let prunedAt = 0

  function dispatch (): number {
    let made = 0
    for (;;) {
      const n = db.transaction((tx) => {
        const rows = queuedEvents(tx, 200)
        if (rows.length === 0) return -1
        made += dispatchQueued(tx, rows, clock.now())
        deleteQueued(tx, rows.map(r => r.id))
        return rows.length
      }, { behavior: 'immediate' })
      if (n < 200) return made
    }
  }

  async function deliver (row: DeliveryRow): Promise<void> {
    const at = { deliveryId: row.id, subscriptionId: row.subscriptionId, eventType: row.eventType, attempt: row.attempts }
    const sub = findSubscription(db, row.workspaceId, row.subscriptionId)
    if (sub === undefined) return // deleted meanwhile (its deliveries went with it)
    const now = clock.now()
    const secrets = [sub.secret, ...(sub.previousSecret !== null && (sub.previousSecretUntil ?? 0) > now ? [sub.previousSecret] : [])]
    const headers = {
      'content-type': 'application/json',
      'user-agent': userAgent,
      'weltra-event': row.eventType,
      'weltra-event-id': row.eventId,
      'weltra-delivery': row.id,
      'weltra-signature': signPayload(secrets, Math.floor(now / 1000), row.payload)
    }
    const outcome = await guardedPost(sub.url, row.payload, headers, { ...urlPolicy(deps, options.resolve), timeoutMs: deps.config.outgoing_webhooks.timeout_seconds * 1000 })
    const settledAt = clock.now()
    const common = { leaseUntil: null, responseStatus: outcome.status, durationMs: outcome.durationMs, lastError: outcome.error }
    if (outcome.ok) {
      settleDelivery(db, row, { ...common, status: 'delivered', settledAt })
      log.info({ ...at, outcome: 'delivered', status: outcome.status, ms: outcome.durationMs }, 'webhook delivered')
      return
    }
    if (outcome.refused || settledAt - row.createdAt >= hookGiveUpAfterMs) {
      const lastError = outcome.refused ? outcome.error : `gave up after 24 h: ${outcome.error ?? ''}`
      settleDelivery(db, row, { ...common, lastError, status: 'failed', settledAt })
      log.warn({ ...at, outcome: 'failed', status: outcome.status, reason: outcome.refused ? outcome.reason : 'gave_up' }, 'webhook delivery failed')
      return
    }
    const delay = jitteredDelay(row.attempts, hookRetry)
    settleDelivery(db, row, { ...common, status: 'pending', nextAttemptAt: settledAt + delay })
    postponeWaiting(db, row.workspaceId, row.subscriptionId, settledAt + delay)
    log.warn({ ...at, outcome: 'retry', status: outcome.status, reason: outcome.reason, retryInMs: delay }, 'webhook not delivered, will retry')
  }

  async function pass (): Promise<number> {
    const cutoff = clock.now()
    dispatch()
    let attempted = 0
    for (;;) {
      if (stopped) break
      const rows = leaseDeliveries(db, cutoff, batch, clock.now() + hookLeaseMs)
      if (rows.length === 0) break
      await Promise.all(rows.map(r => deliver(r).catch((err: unknown) => { log.error({ err, deliveryId: r.id }, 'webhook delivery crashed') })))
      attempted += rows.length
    }
    if (cutoff - prunedAt > 3_600_000) {
      prunedAt = cutoff
      const gone = pruneDeliveries(db, cutoff - hookLogKeepMs)
      if (gone > 0) log.info({ deliveries: gone }, 'webhook delivery log pruned')
    }
    return attempted
  }

  const loop = startPollLoop({ pass, pollMs: options.pollMs ?? 1000, onError: (err) => { log.error({ err }, 'webhook worker pass failed') } })
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

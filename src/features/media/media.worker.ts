// The media worker: downloads what queueMedia() put in the media table, right after ingest. SQLite is the
// queue (modelled on the mail worker):
//   1. lease — in a short IMMEDIATE transaction take one due item (pending and due, not leased or its lease
//      expired: the process died mid-download), set leaseUntil and count the attempt; two lanes run at once;
//   2. download — outside any transaction: Graph metadata (GET /{media-id}) → the short-lived URL → the
//      bytes with the channel's Bearer token, through the SSRF guards of graph-client.ts (https, host
//      allowlist config whatsapp.media_hosts, vetted and pinned addresses, no redirects, the kind's size
//      cap while streaming, MIME allowlist per kind, deadline and stall timeout), encrypted chunk by
//      chunk into a temporary file under data/media while the SHA-256 is computed;
//   3. settle — only while the lease still holds: `stored` (file renamed into place), or back to
//      `pending` with a full-jitter exponential backoff (30 s base, 1 h cap) for temporary errors
//      (network, 5xx, 429, timeouts, local disk trouble), or `failed` at once for permanent ones (Graph
//      "not found"/expired, too large, disallowed host or MIME, a redirect, a second sha256 mismatch) and
//      for temporary ones older than 24 h. A first sha256 mismatch is retried once, a second one fails.
// A channel that needs reconnecting (expired token) is skipped: its items wait, uncounted, and wake up
// when the channel changes back to active. An item that fails for good is recorded once on the channel's
// health panel (source 'media'); a Graph token error is recorded only while the channel still looks
// active (it flips the channel to "needs reconnecting", which then pauses the others).
// After an item is stored or failed for good, `media.settled` is emitted. Logs carry ids, kind, attempt
// and outcome — never URLs' query strings, file names or bytes.
import type { Deps } from '../../deps.js'
import { randomIntBetween } from '../../platform/crypto/index.js'
import { GraphError, type GraphClient } from '../../platform/whatsapp/graph-client.js'
import { jitteredDelay } from '../../platform/backoff.js'
import { startPollLoop } from '../../platform/poll-loop.js'
import { findChannel, graphClientFor, recordChannelIssue, type Channel } from '../channels/channels.service.js'
import { createMediaWriter, type MediaWriter } from './media.files.js'
import { asMediaKind, baseMimeType, downloadTypes, mediaMaxBytes, mimeAllowed, type MediaKind } from './media.policy.js'
import { conversationOfMessage, leaseNextMedia, settleMedia, wakeChannelMedia, type MediaRow } from './media.store.js'

export const mediaRetryBaseMs = 30_000
export const mediaRetryCapMs = 3_600_000
/** After this long since it was queued, an item that keeps failing temporarily is given up. */
export const mediaGiveUpAfterMs = 24 * 3_600_000
/** Shortest wait before a retry (so a retried item is never due again within the same pass). */
export const mediaRetryMinMs = 1_000
/** How long items of a channel that needs reconnecting wait before looking again (a reconnect wakes them sooner). */
export const mediaReconnectRecheckMs = 10 * 60_000
/** Bytes per second a download must at least average; sets each kind's overall deadline. */
const minBytesPerSecond = 256 * 1024
const mismatchMarker = 'sha256 mismatch'
/** lastError prefix of items parked until their channel works again (only these are woken by a reconnect). */
export const waitingMarker = 'waiting for the channel'

export interface MediaWorkerOptions {
  /** How often the table is polled (ms, default 5000). */
  pollMs?: number
  /** Downloads at once (default 2). */
  concurrency?: number
  /** On stop, how long in-flight downloads may finish before they are aborted and released (ms, default 5000). */
  stopGraceMs?: number
  /** `random(min, max)`: an integer in [min, max) for the retry jitter (injectable for tests). */
  random?: (min: number, max: number) => number
}

export interface MediaWorker {
  /** Runs a pass soon (after a transaction that queued media committed). */
  kick: () => void
  /** Downloads everything due now; resolves with how many items were attempted. */
  runOnce: () => Promise<number>
  /** Stops polling and waits for in-flight downloads (aborting them after the grace period). */
  stop: () => Promise<void>
}

/**
 * The wait before retry number `attempts` + 1: uniformly random in [1 s, min(1 h, 30 s · 2^(attempts − 1))].
 */
export function mediaRetryDelay (attempts: number, random: (min: number, max: number) => number = randomIntBetween): number {
  return jitteredDelay(attempts, { baseMs: mediaRetryBaseMs, capMs: mediaRetryCapMs, minMs: mediaRetryMinMs }, random)
}

/** Why an attempt did not store the file. */
class Failure extends Error {
  override name = 'MediaFailure'
  constructor (
    message: string,
    readonly kind: 'permanent' | 'temporary' | 'mismatch' | 'channel' | 'released',
    readonly code: number | null = null,
    readonly retryAfterMs = 0
  ) { super(message) }
}

type WorkerDeps = Pick<Deps, 'db' | 'clock' | 'log' | 'config' | 'events' | 'dataDir' | 'ring'>

/** Starts the polling loop (first pass soon after start) and returns its controls. */
export function startMediaWorker (deps: WorkerDeps, options: MediaWorkerOptions = {}): MediaWorker {
  const { db, clock, config } = deps
  const log = deps.log.child({ worker: 'media' })
  const pollMs = options.pollMs ?? 5000
  const concurrency = Math.max(1, options.concurrency ?? 2)
  const stopGraceMs = options.stopGraceMs ?? 5000
  const random = options.random ?? randomIntBetween
  const timeoutMs = config.whatsapp.graph_timeout_seconds * 1000
  const deadlineFor = (kind: MediaKind): number => timeoutMs + Math.ceil(mediaMaxBytes[kind] / minBytesPerSecond) * 1000
  // Long enough for the metadata call and the largest download; only matters when the process dies.
  const leaseMs = 2 * timeoutMs + deadlineFor('document') + 60_000
  let stopped = false
  const inFlight = new Set<AbortController>()

  // A channel that comes back (reconnected) wakes the items that were waiting for it.
  const unsubscribe = deps.events.on('channel.changed', ({ workspaceId, channelId }) => {
    if (stopped) return
    try {
      if (findChannel(db, workspaceId, channelId)?.status !== 'active') return
      if (wakeChannelMedia(db, workspaceId, channelId, waitingMarker, clock.now()) > 0) kick()
    } catch (err) {
      log.error({ err }, 'waking media of a channel failed')
    }
  })

  function emitSettled (row: MediaRow): void {
    const conversationId = conversationOfMessage(db, row.workspaceId, row.messageId)
    if (conversationId !== undefined) deps.events.emit('media.settled', { workspaceId: row.workspaceId, messageId: row.messageId, conversationId })
  }

  function settleFailure (row: MediaRow, failure: Failure, channel: Channel | undefined): void {
    const now = clock.now()
    const at = { mediaId: row.id, workspaceId: row.workspaceId, kind: row.kind, attempt: row.attempts }
    const message = failure.message.slice(0, 500)
    if (failure.kind === 'released') {
      settleMedia(db, row, { leaseUntil: null, attempts: row.attempts - 1, nextAttemptAt: now })
      log.info({ ...at, outcome: 'released' }, 'media download interrupted by shutdown')
      return
    }
    if (failure.kind === 'channel') {
      let recorded = false
      const settled = db.transaction(tx => {
        if (!settleMedia(tx, row, { leaseUntil: null, attempts: row.attempts - 1, nextAttemptAt: now + mediaReconnectRecheckMs, lastError: `${waitingMarker}: ${message}`.slice(0, 500) })) return false
        if (channel !== undefined && channel.status === 'active') {
          recordChannelIssue(tx, channel, { source: 'media', code: failure.code, title: 'Media download refused by the Graph API', detail: message }, now)
          recorded = true
        }
        return true
      }, { behavior: 'immediate' })
      if (settled && recorded) deps.events.emit('channel.changed', { workspaceId: row.workspaceId, channelId: row.channelId })
      log.warn({ ...at, outcome: 'waiting', code: failure.code, error: message }, 'media download waits for the channel')
      return
    }
    const secondMismatch = failure.kind === 'mismatch' && (row.lastError ?? '').startsWith(mismatchMarker)
    const tooOld = now - row.createdAt >= mediaGiveUpAfterMs
    if (failure.kind === 'permanent' || secondMismatch || (failure.kind === 'temporary' && tooOld)) {
      const lastError = failure.kind === 'temporary' ? `gave up after 24 h: ${message}` : secondMismatch ? `${message} (twice)` : message
      const settled = db.transaction(tx => {
        if (!settleMedia(tx, row, { status: 'failed', leaseUntil: null, lastError: lastError.slice(0, 500) })) return false
        if (channel !== undefined) {
          recordChannelIssue(tx, channel, { source: 'media', code: failure.code, title: `A ${row.kind} could not be downloaded`, detail: lastError }, now)
        }
        return true
      }, { behavior: 'immediate' })
      log.error({ ...at, outcome: 'failed', code: failure.code, error: lastError }, 'media download failed')
      if (settled) {
        if (channel !== undefined) deps.events.emit('channel.changed', { workspaceId: row.workspaceId, channelId: row.channelId })
        emitSettled(row)
      }
      return
    }
    // Temporary, or a first sha256 mismatch (retried once, soon).
    const delay = failure.kind === 'mismatch' ? mediaRetryMinMs : Math.max(mediaRetryDelay(row.attempts, random), failure.retryAfterMs)
    settleMedia(db, row, { leaseUntil: null, nextAttemptAt: now + delay, lastError: message })
    log.warn({ ...at, outcome: 'retry', retryInMs: delay, code: failure.code, error: message }, 'media not downloaded, will retry')
  }

  /** Turns a Graph client error into a Failure (see the module comment for the policy). */
  function fromGraphError (err: GraphError): Failure {
    const retry = err.classification.retry
    if (retry === 'no') return new Failure(err.message, 'permanent', err.code ?? null)
    if (retry === 'pause-channel' && err.code !== undefined) return new Failure(err.message, 'channel', err.code)
    // backoff, recipient-backoff, or a bare 401/403 from a CDN (an expired URL: fresh metadata next time).
    return new Failure(err.message, 'temporary', err.code ?? null, (err.retryAfterSeconds ?? 0) * 1000)
  }

  async function fetchInto (client: GraphClient, row: MediaRow, kind: MediaKind, signal: AbortSignal): Promise<{ size: number, mimeType: string }> {
    const graphId = row.graphMediaId!
    const metadata = await client.getMediaMetadata(graphId)
    const mimeType = baseMimeType(metadata.mimeType ?? row.mimeType)
    if (!mimeAllowed(kind, mimeType)) throw new Failure(`the ${kind} has a MIME type that is not allowed (${mimeType.slice(0, 100) || 'none'})`, 'permanent')
    const cap = mediaMaxBytes[kind]
    if (metadata.fileSize !== undefined && metadata.fileSize > cap) throw new Failure(`the ${kind} is too large: ${metadata.fileSize} bytes (limit ${cap})`, 'permanent')
    const expected = [metadata.sha256, row.sha256 ?? undefined].filter((v): v is string => v !== undefined)
    if (expected.length === 2 && expected[0] !== expected[1]) throw new Failure(`${mismatchMarker}: the webhook and the Graph metadata disagree`, 'mismatch')
    let writer: MediaWriter | undefined
    try {
      writer = await createMediaWriter(deps.dataDir, row.workspaceId, row.id, deps.ring)
      const w = writer
      const got = await client.downloadMedia(metadata.url, {
        maxBytes: cap,
        allowedHosts: config.whatsapp.media_hosts,
        allowedTypes: downloadTypes(kind),
        stallMs: timeoutMs,
        deadlineMs: deadlineFor(kind),
        onChunk: (chunk) => w.write(chunk),
        signal
      })
      if (expected.length > 0 && got.sha256 !== expected[0]) {
        throw new Failure(`${mismatchMarker}: the downloaded bytes do not match the expected SHA-256`, 'mismatch')
      }
      if (expected.length === 0) log.warn({ mediaId: row.id }, 'media without any sha256 to check against: stored unverified')
      const size = await writer.commit()
      writer = undefined
      return { size, mimeType }
    } finally {
      await writer?.discard()
    }
  }

  async function handle (row: MediaRow): Promise<void> {
    const at = { mediaId: row.id, workspaceId: row.workspaceId, kind: row.kind, attempt: row.attempts }
    const kind = asMediaKind(row.kind)
    if (kind === undefined) return settleFailure(row, new Failure(`unknown media kind ${row.kind.slice(0, 40)}`, 'permanent'), undefined)
    if (row.graphMediaId === null || row.graphMediaId === '') return settleFailure(row, new Failure('no media id to download', 'permanent'), undefined)
    const channel = findChannel(db, row.workspaceId, row.channelId)
    if (channel === undefined) return settleFailure(row, new Failure('the channel was removed', 'permanent'), undefined)
    if (channel.status === 'needs_reconnect') {
      settleMedia(db, row, { leaseUntil: null, attempts: row.attempts - 1, nextAttemptAt: clock.now() + mediaReconnectRecheckMs, lastError: `${waitingMarker}: it needs reconnecting` })
      log.info({ ...at, outcome: 'skipped' }, 'media waits: the channel needs reconnecting')
      return
    }
    const controller = new AbortController()
    inFlight.add(controller)
    try {
      const { size, mimeType } = await fetchInto(graphClientFor(deps, channel), row, kind, controller.signal)
      const now = clock.now()
      if (settleMedia(db, row, { status: 'stored', size, mimeType, storedAt: now, leaseUntil: null, lastError: null })) {
        log.info({ ...at, outcome: 'stored', size }, 'media stored')
        emitSettled(row)
      }
    } catch (err) {
      let failure: Failure
      if (controller.signal.aborted && stopped) failure = new Failure('interrupted by shutdown', 'released')
      else if (err instanceof Failure) failure = err
      else if (err instanceof GraphError) failure = fromGraphError(err)
      else {
        // Local trouble (disk full, permissions …): temporary; the details go to the log only.
        log.error({ ...at, err }, 'media download failed locally')
        const code = (err as { code?: unknown }).code
        failure = new Failure(`local error while storing the file${typeof code === 'string' ? ` (${code})` : ''}`, 'temporary')
      }
      settleFailure(row, failure, channel)
    } finally {
      inFlight.delete(controller)
    }
  }

  async function lane (cutoff: number, counter: { n: number }): Promise<void> {
    for (;;) {
      if (stopped) return
      const row = leaseNextMedia(db, cutoff, clock.now(), leaseMs)
      if (row === undefined) return
      counter.n++
      try {
        await handle(row)
      } catch (err) {
        log.error({ err, mediaId: row.id }, 'media item could not be settled')
      }
    }
  }

  async function pass (): Promise<number> {
    // Items settled in this pass get a next attempt later than `cutoff`, so the pass always ends.
    const cutoff = clock.now()
    const counter = { n: 0 }
    await Promise.all(Array.from({ length: concurrency }, () => lane(cutoff, counter)))
    return counter.n
  }

  function kick (): void { loop.kick() }

  const loop = startPollLoop({ pass, pollMs, firstMs: Math.min(pollMs, 1000), onError: (err) => { log.error({ err }, 'media worker pass failed') } })

  return {
    kick,
    runOnce: loop.runOnce,
    async stop () {
      stopped = true
      unsubscribe()
      loop.stop()
      let grace: NodeJS.Timeout | undefined
      const finished = await Promise.race([
        loop.settled().then(() => true),
        new Promise<boolean>(resolve => { grace = setTimeout(() => resolve(false), stopGraceMs); grace.unref() })
      ])
      clearTimeout(grace)
      if (!finished) for (const c of inFlight) c.abort()
      await loop.settled()
    }
  }
}

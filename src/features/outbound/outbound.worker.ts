// The outbound worker: sends what queueSend() put in the message outbox. SQLite is the queue (modelled
// on the mail and media workers), with `lanes` sends in flight at once:
//   1. lease — in one short IMMEDIATE transaction take the next due row whose number is active and
//      whose conversation has no earlier row still pending or in flight (a conversation's messages go
//      out in order: #2 waits until #1 was accepted or failed), mark it `sending`, count the attempt;
//   2. shape — per number a pacer spaces sends at config whatsapp.send_rate_per_second (default 80/s,
//      Meta's throughput), and per recipient at ≥ recipientSpacingMs (default 1 s) between two messages
//      to the same person on the same number;
//   3. send — outside any transaction: an attachment is first uploaded (POST /{phone-number-id}/media,
//      its Graph id kept in the content for 29 days), then POST /{phone-number-id}/messages with `to` =
//      the contact's wa_id (else `recipient` = BSUID) and always biz_opaque_callback_data = our message id;
//   4. settle — only while the lease holds:
//      - accepted: the wamid is attached (statuses that came first are applied), status `accepted` —
//        never `sent`: only Meta's status webhook says sent;
//      - permanent error (131047, 131026, 132xxx, 100 …): the message fails at once with Meta's code,
//        title and details (a later positive status is never overwritten);
//      - temporary (130429, 131000, 131016, 5xx, network, 4/80007): full-jitter exponential backoff
//        (2 s base, 5 min cap, Retry-After honoured; 130429 also holds the whole number), given up after
//        24 h; 131056 (pair rate) backs off that conversation only, from 6 s upwards;
//      - pause-channel (190 family, 368, 131031, 133010 …): the channel is marked (needs reconnecting /
//        paused) on its health panel and the row waits, uncounted, until the channel is active again
//        ('channel.changed' wakes it; the poll would too); the owners and admins get one email per
//        incident (only the transaction that takes the channel out of `active` queues it);
//      - ambiguous (timeout, connection cut after the request left, unreadable 2xx): the row records
//        ambiguousSince and is NOT re-sent at once. A status webhook carrying biz_opaque_callback_data
//        = our id attaches the wamid (messaging.service recordStatus) and the row is done; only when
//        none arrived within the reconciliation window (default 2 min) is it sent again. A row left
//        `sending` by a crash is treated the same way.
// Logs carry ids, attempt, outcome and Meta's code — never the text, the recipient or the token.
import type { Deps } from '../../deps.js'
import { DecryptError, randomIntBetween } from '../../platform/crypto/index.js'
import { GraphError, type GraphClient } from '../../platform/whatsapp/graph-client.js'
import { backoffCeiling, jitteredDelay } from '../../platform/backoff.js'
import { startPollLoop } from '../../platform/poll-loop.js'
import { findChannel, graphClientFor, graphErrorText, recordChannelIssue, type Channel } from '../channels/channels.service.js'
import { findContact } from '../contacts/contacts.service.js'
import { attachWamid, findConversation, readContent } from '../inbox/messaging.service.js'
import { openMediaFile } from '../media/media.files.js'
import { findMedia } from '../media/media.service.js'
import { queueChannelAlert } from './outbound.alert.js'
import type { OutboundContent } from './outbound.service.js'
import {
  leaseNextOutbox, markMessageFailed, messageById, recoverExpiredLeases, setMessageContent, settleOutbox, settleReconciled, type MessageRow, type OutboxRow
} from './outbound.store.js'

export const outboundRetryBaseMs = 2_000
export const outboundRetryCapMs = 5 * 60_000
/** Shortest wait before a retry (a retried row is never due again within the same moment). */
export const outboundRetryMinMs = 1_000
/** 131056: Meta allows about one message per 6 s to the same person. */
export const pairRateBaseMs = 6_000
/** A message that keeps failing temporarily is given up this long after it was queued. */
export const outboundGiveUpAfterMs = 24 * 3_600_000
/** How long an ambiguous send waits for a status webhook before it is sent again. */
export const reconcileWindowMs = 2 * 60_000
/** An uploaded media id is reused for this long (Meta keeps uploads 30 days). */
const uploadReuseMs = 29 * 24 * 3_600_000
/** Meta's media upload throughput per number (a BSP documents 25/s). */
const uploadsPerSecond = 25
/** A lane waits in place for a pacing slot at most this long; a later slot puts the row back with that due time. */
const maxInlineWaitMs = 5_000

export interface OutboundWorkerOptions {
  /** How often the outbox is polled (ms, default 2000). */
  pollMs?: number
  /** Sends in flight at once (default 16: enough for 80/s at ~200 ms per call). */
  concurrency?: number
  /** Messages per second per number (default config whatsapp.send_rate_per_second). */
  ratePerSecond?: number
  /** Least time between two messages to the same recipient on a number (ms, default 1000). */
  recipientSpacingMs?: number
  /** How long an ambiguous send waits for Meta's status before it is sent again (ms, default 2 min). */
  reconcileWindowMs?: number
  /** Give up temporary failures this long after queuing (ms, default 24 h). */
  giveUpAfterMs?: number
  /** `random(min, max)`: an integer in [min, max) for the retry jitter (injectable for tests). */
  random?: (min: number, max: number) => number
}

export interface OutboundWorker {
  /** Runs a pass soon (after a transaction that queued a message committed). */
  kick: () => void
  /** Sends everything due now; resolves with how many rows were attempted. */
  runOnce: () => Promise<number>
  /** Stops polling, lets sends in flight finish (bounded by the Graph timeout) and puts back rows not sent yet. */
  stop: () => Promise<void>
}

type WorkerDeps = Pick<Deps, 'db' | 'clock' | 'log' | 'config' | 'events' | 'dataDir' | 'ring' | 'i18n' | 'views'>

/**
 * Full-jitter exponential backoff: uniformly random in [1 s, min(5 min, 2 s · 2^(attempts − 1))], and at
 * least what Meta's Retry-After asked for.
 */
export function outboundRetryDelay (attempts: number, retryAfterSeconds: number | undefined, random: (min: number, max: number) => number = randomIntBetween): number {
  return Math.max(jitteredDelay(attempts, { baseMs: outboundRetryBaseMs, capMs: outboundRetryCapMs, minMs: outboundRetryMinMs }, random), (retryAfterSeconds ?? 0) * 1000)
}

/** 131056 (pair rate): half fixed, half jitter, from 6 s doubling per attempt up to 5 min. */
export function pairRateDelay (attempts: number, random: (min: number, max: number) => number = randomIntBetween): number {
  const ceiling = backoffCeiling(attempts, { baseMs: pairRateBaseMs, capMs: outboundRetryCapMs })
  return Math.floor(ceiling / 2) + random(0, Math.floor(ceiling / 2) + 1)
}

/** Next free send times per key, on a monotonic clock (throughput is about real time, not the business clock). */
class Pacer {
  private readonly next = new Map<string, number>()

  /** The earliest time `key` is free at or after `from`. */
  peek (key: string, from: number): number {
    return Math.max(from, this.next.get(key) ?? 0)
  }

  /** Takes the slot at `at` and blocks `key` for `gapMs` after it. */
  take (key: string, at: number, gapMs: number): void {
    this.next.set(key, Math.max(this.next.get(key) ?? 0, at + gapMs))
  }

  /** Blocks `key` until `until` at least. */
  hold (key: string, until: number): void {
    this.next.set(key, Math.max(this.next.get(key) ?? 0, until))
  }

  /** Forgets keys whose slot is long past (recipients come and go). */
  prune (now: number): void {
    if (this.next.size < 10_000) return
    for (const [key, at] of this.next) if (at < now - 60_000) this.next.delete(key)
  }
}

/** A failure decided by us rather than by Meta (no recipient, attachment gone…). */
class SendProblem extends Error {
  override name = 'SendProblem'
  constructor (message: string, readonly kind: 'permanent' | 'temporary') { super(message) }
}

/** Starts the polling loop (first pass soon after start) and returns its controls. */
export function startOutboundWorker (deps: WorkerDeps, options: OutboundWorkerOptions = {}): OutboundWorker {
  const { db, clock, config } = deps
  const log = deps.log.child({ worker: 'outbound' })
  const pollMs = options.pollMs ?? 2000
  const lanes = Math.max(1, options.concurrency ?? 16)
  const rate = Math.max(1, options.ratePerSecond ?? config.whatsapp.send_rate_per_second)
  const sendGapMs = 1000 / rate
  const spacingMs = Math.max(0, options.recipientSpacingMs ?? 1000)
  const windowMs = options.reconcileWindowMs ?? reconcileWindowMs
  const giveUpMs = options.giveUpAfterMs ?? outboundGiveUpAfterMs
  const random = options.random ?? randomIntBetween
  const timeoutMs = config.whatsapp.graph_timeout_seconds * 1000
  // Upload + send + a pacing wait; only matters when the process dies mid-send (the row then turns ambiguous).
  const leaseMs = 4 * timeoutMs + maxInlineWaitMs + 60_000
  const pacer = new Pacer()
  const stopping = new AbortController()
  const mono = (): number => performance.now()
  let stopped = false

  // A number that is active again (reconnected) sends what waited for it.
  const offChannel = deps.events.on('channel.changed', ({ workspaceId, channelId }) => {
    if (stopped) return
    try {
      if (findChannel(db, workspaceId, channelId)?.status === 'active') kick()
    } catch (err) {
      log.error({ err }, 'reacting to a channel change failed')
    }
  })
  // A status webhook reconciled an ambiguous send (its wamid is attached): nothing to re-send, the conversation moves on.
  const offMessage = deps.events.on('message.updated', ({ workspaceId, messageId }) => {
    if (stopped) return
    try {
      if (settleReconciled(db, workspaceId, messageId, clock.now())) {
        log.info({ workspaceId, messageId, outcome: 'reconciled' }, 'ambiguous send reconciled by a status webhook')
        kick()
      }
    } catch (err) {
      log.error({ err }, 'reconciling a send failed')
    }
  })

  function sleep (ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!stopping.signal.aborted)
    return new Promise(resolve => {
      if (stopping.signal.aborted) { resolve(false); return }
      const done = (): void => { clearTimeout(t); stopping.signal.removeEventListener('abort', done); resolve(!stopping.signal.aborted) }
      const t = setTimeout(done, ms)
      stopping.signal.addEventListener('abort', done, { once: true })
    })
  }

  function emitUpdated (message: Pick<MessageRow, 'workspaceId' | 'conversationId' | 'id'>): void {
    deps.events.emit('message.updated', { workspaceId: message.workspaceId, conversationId: message.conversationId, messageId: message.id })
  }

  /** Puts a leased row back as it was, uncounted (stop, or a pacing slot too far ahead). */
  function release (row: OutboxRow, dueAt: number, note?: string): void {
    settleOutbox(db, row, { status: 'pending', leaseUntil: null, attempts: row.attempts - 1, nextAttemptAt: dueAt, ...(note !== undefined ? { lastError: note } : {}) })
  }

  function done (row: OutboxRow, message: MessageRow, outcome: string): void {
    settleOutbox(db, row, { status: 'done', leaseUntil: null, doneAt: clock.now(), lastError: null })
    log.info({ outboxId: row.id, messageId: message.id, attempt: row.attempts, outcome }, 'outbound message already accepted')
  }

  function fail (row: OutboxRow, message: MessageRow | undefined, error: { code: number | null, title: string, detail: string | null }, why: string): void {
    const now = clock.now()
    let changed = false
    db.transaction(tx => {
      if (!settleOutbox(tx, row, { status: 'failed', leaseUntil: null, doneAt: now, lastError: `${error.code !== null ? `#${error.code} ` : ''}${error.title}`.slice(0, 500) })) return
      if (message !== undefined) changed = markMessageFailed(tx, row.workspaceId, message.id, error, now)
    }, { behavior: 'immediate' })
    log.warn({ outboxId: row.id, messageId: row.messageId, attempt: row.attempts, outcome: 'failed', code: error.code, why }, 'outbound message failed')
    if (changed && message !== undefined) emitUpdated(message)
  }

  function retry (row: OutboxRow, message: MessageRow | undefined, delayMs: number, error: { code: number | null, title: string, detail: string | null }, why: string): void {
    const now = clock.now()
    if (now - row.createdAt >= giveUpMs) {
      fail(row, message, { ...error, detail: error.detail ?? 'Weltra gave up after retrying for 24 hours.' }, `gave up after 24 h: ${why}`)
      return
    }
    settleOutbox(db, row, { status: 'pending', leaseUntil: null, nextAttemptAt: now + Math.max(outboundRetryMinMs, delayMs), lastError: `${error.code !== null ? `#${error.code} ` : ''}${error.title}`.slice(0, 500) })
    log.warn({ outboxId: row.id, messageId: row.messageId, attempt: row.attempts, outcome: 'retry', retryInMs: delayMs, code: error.code, why }, 'outbound message not sent, will retry')
  }

  function ambiguous (row: OutboxRow, err: GraphError): void {
    const now = clock.now()
    const since = row.ambiguousSince ?? now
    settleOutbox(db, row, { status: 'pending', leaseUntil: null, ambiguousSince: since, nextAttemptAt: now + windowMs, lastError: `outcome unknown (${graphErrorText(err)}): waiting for Meta's status before sending again`.slice(0, 500) })
    log.warn({ outboxId: row.id, messageId: row.messageId, attempt: row.attempts, outcome: 'ambiguous', reconcileInMs: windowMs, httpStatus: err.httpStatus }, 'outbound send outcome unknown; reconciling through status webhooks')
  }

  /** 190 & co: mark the channel (one email per incident) and let the row wait, uncounted, for the reconnect. */
  function pauseChannel (row: OutboxRow, channel: Channel, err: GraphError): void {
    const now = clock.now()
    let flipped = false
    let mails = 0
    db.transaction(tx => {
      if (!settleOutbox(tx, row, { status: 'pending', leaseUntil: null, attempts: row.attempts - 1, nextAttemptAt: now, lastError: `waiting for the number to be reconnected: #${err.code ?? ''} ${graphErrorText(err)}`.slice(0, 500) })) return
      const fresh = findChannel(tx, channel.workspaceId, channel.id)
      if (fresh === undefined || fresh.status !== 'active') return
      recordChannelIssue(tx, fresh, { source: 'graph', code: err.code ?? null, title: graphErrorText(err), detail: err.details ?? null }, now)
      flipped = findChannel(tx, channel.workspaceId, channel.id)?.status !== 'active'
      if (flipped) mails = queueChannelAlert(deps, tx, fresh, { reason: graphErrorText(err), adviceKey: err.classification.userMessageKey }, now)
    }, { behavior: 'immediate' })
    log.error({ outboxId: row.id, messageId: row.messageId, channelId: channel.id, outcome: 'channel-paused', code: err.code, fbtraceId: err.fbtraceId, alerted: mails }, 'Meta refused the number: sending paused until it is reconnected')
    if (flipped) {
      deps.events.emit('channel.changed', { workspaceId: channel.workspaceId, channelId: channel.id })
      if (mails > 0) deps.events.emit('mail.queued', { at: now })
    }
  }

  function graphFailure (row: OutboxRow, message: MessageRow, channel: Channel, recipientKey: string, err: GraphError, stage: 'upload' | 'send'): void {
    const error = { code: err.code ?? null, title: failureTitle(err), detail: err.details ?? null }
    const policy = err.classification.retry
    if (stage === 'send' && err.ambiguous) { ambiguous(row, err); return }
    if (policy === 'pause-channel' && err.code !== undefined) { pauseChannel(row, channel, err); return }
    if (policy === 'no') { fail(row, message, error, `${stage} refused`); return }
    if (policy === 'recipient-backoff') {
      const delay = pairRateDelay(row.attempts, random)
      pacer.hold(recipientKey, mono() + delay)
      retry(row, message, delay, error, `${stage}: pair rate limit`)
      return
    }
    // 'backoff' (and a pause-channel answer without a code: nothing to mark, try again later).
    const delay = outboundRetryDelay(row.attempts, err.retryAfterSeconds, random)
    if (err.code === 130429) pacer.hold(`c:${channel.id}`, mono() + Math.max(1000, (err.retryAfterSeconds ?? 0) * 1000))
    retry(row, message, delay, error, `${stage}: temporary`)
  }

  async function upload (client: GraphClient, channel: Channel, message: MessageRow, content: OutboundContent): Promise<string> {
    const attachment = content.attachment!
    if (content.upload !== undefined && clock.now() - content.upload.at < uploadReuseMs) return content.upload.id
    const media = findMedia(db, message.workspaceId, attachment.mediaId)
    if (media === undefined || media.status !== 'stored') throw new SendProblem('the attachment is no longer stored', 'permanent')
    let bytes: Buffer
    try {
      const file = await openMediaFile(deps.dataDir, message.workspaceId, media.id, deps.ring)
      const parts: Buffer[] = []
      for await (const part of file.stream(0, file.size - 1)) parts.push(part as Buffer)
      bytes = Buffer.concat(parts)
    } catch (err) {
      if (err instanceof DecryptError || (err as NodeJS.ErrnoException).code === 'ENOENT') throw new SendProblem('the attachment file is missing or unreadable', 'permanent')
      throw new SendProblem(`the attachment file could not be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'temporary')
    }
    const at = pacer.peek(`u:${channel.id}`, mono())
    pacer.take(`u:${channel.id}`, at, 1000 / uploadsPerSecond)
    if (!await sleep(at - mono())) throw new SendProblem('stopped', 'temporary')
    const { id } = await client.uploadMedia(channel.phoneNumberId, { bytes, mimeType: attachment.mimeType, filename: attachment.fileName })
    const next: OutboundContent = { ...content, upload: { id, at: clock.now() } }
    setMessageContent(db, message.workspaceId, message.id, JSON.stringify(next), clock.now())
    return id
  }

  async function handle (row: OutboxRow): Promise<void> {
    const message = messageById(db, row.workspaceId, row.messageId)
    if (message === undefined) { fail(row, undefined, { code: null, title: 'The message no longer exists.', detail: null }, 'message gone'); return }
    // Accepted already: a status webhook reconciled an ambiguous send. Never send twice.
    if (message.wamid !== null) { done(row, message, 'reconciled'); return }
    if (message.status !== 'queued') { done(row, message, `status ${message.status}`); return }
    const channel = findChannel(db, row.workspaceId, row.channelId)
    if (channel === undefined) { fail(row, message, { code: null, title: 'The WhatsApp number was disconnected.', detail: null }, 'channel gone'); return }
    if (channel.status !== 'active') { release(row, clock.now()); return }
    const conversation = findConversation(db, row.workspaceId, message.conversationId)
    const contact = conversation === undefined ? undefined : findContact(db, row.workspaceId, conversation.contactId)
    if (contact === undefined || (contact.waId === null && contact.bsuid === null)) {
      fail(row, message, { code: null, title: 'The contact has no WhatsApp number or user id to send to.', detail: null }, 'no recipient')
      return
    }
    const recipientKey = `r:${channel.id}:${contact.id}`
    const channelKey = `c:${channel.id}`
    const content = readContent(message) as unknown as OutboundContent
    if (row.ambiguousSince !== null) log.info({ outboxId: row.id, messageId: message.id, attempt: row.attempts }, 'no status arrived within the reconciliation window: sending again')

    try {
      // Pacing: the recipient's spacing first, then the number's rate; a far slot puts the row back.
      const now = mono()
      const recipientAt = pacer.peek(recipientKey, now)
      const at = pacer.peek(channelKey, recipientAt)
      if (at - now > maxInlineWaitMs) { release(row, clock.now() + Math.ceil(at - now)); return }
      pacer.take(channelKey, at, sendGapMs)
      pacer.take(recipientKey, at, spacingMs)
      const client = graphClientFor(deps, channel)
      let mediaId: string | undefined
      if (content.attachment !== undefined) {
        try {
          mediaId = await upload(client, channel, message, content)
        } catch (err) {
          if (err instanceof GraphError) { graphFailure(row, message, channel, recipientKey, err, 'upload'); return }
          throw err
        }
      }
      if (!await sleep(at - mono())) { release(row, clock.now()); return }
      const body = graphBody(message, content, contact, mediaId)
      let sent
      try {
        sent = await client.sendMessage(channel.phoneNumberId, body)
      } catch (err) {
        if (err instanceof GraphError) { graphFailure(row, message, channel, recipientKey, err, 'send'); return }
        throw err
      }
      const settledAt = clock.now()
      const wamid = sent.wamid
      const change = db.transaction(tx => {
        const attached = attachWamid(tx, row.workspaceId, message.id, wamid, settledAt)
        settleOutbox(tx, row, { status: 'done', leaseUntil: null, doneAt: settledAt, lastError: null })
        return attached
      }, { behavior: 'immediate' })
      log.info({ outboxId: row.id, messageId: message.id, attempt: row.attempts, outcome: 'accepted', messageStatus: sent.messageStatus }, 'outbound message accepted by Meta')
      if (change !== undefined) emitUpdated(message)
    } catch (err) {
      if (err instanceof SendProblem) {
        if (err.message === 'stopped') { release(row, clock.now()); return }
        if (err.kind === 'permanent') fail(row, message, { code: null, title: `The message could not be sent: ${err.message}.`, detail: null }, err.message)
        else retry(row, message, outboundRetryDelay(row.attempts, undefined, random), { code: null, title: err.message, detail: null }, err.message)
        return
      }
      log.error({ err, outboxId: row.id, messageId: row.messageId }, 'outbound send crashed')
      retry(row, message, outboundRetryDelay(row.attempts, undefined, random), { code: null, title: `unexpected ${(err as Error)?.name ?? 'error'}`, detail: null }, 'unexpected error')
    }
  }

  async function lane (): Promise<number> {
    let attempted = 0
    for (;;) {
      if (stopped) break
      const now = clock.now()
      const row = leaseNextOutbox(db, now, now, leaseMs)
      if (row === undefined) break
      attempted++
      await handle(row)
    }
    return attempted
  }

  async function pass (): Promise<number> {
    const recovered = recoverExpiredLeases(db, clock.now(), windowMs)
    if (recovered > 0) log.warn({ rows: recovered }, 'sends interrupted by a restart wait for reconciliation')
    pacer.prune(mono())
    const counts = await Promise.all(Array.from({ length: lanes }, () => lane()))
    return counts.reduce((a, b) => a + b, 0)
  }

  function kick (): void { loop.kick() }

  const loop = startPollLoop({ pass, pollMs, onError: (err) => { log.error({ err }, 'outbound worker pass failed') } })

  return {
    kick,
    runOnce: loop.runOnce,
    async stop () {
      stopped = true
      offChannel()
      offMessage()
      loop.stop()
      stopping.abort()
      await loop.settled()
    }
  }
}

/**
 * Meta's title of a refused call, as the message row keeps it: its code is stored apart (the thread shows
 * "Meta error #131047 · Re-engagement message"), so the "(#131047) " Meta puts before its own message
 * text is dropped rather than shown twice.
 */
export function failureTitle (err: GraphError): string {
  const text = graphErrorText(err)
  return text.replace(/^\(#\d+(?:\/\d+)?\)\s*/, '') || text
}

/** The Graph API body of one message (SPEC §6). */
export function graphBody (message: Pick<MessageRow, 'id' | 'type'>, content: OutboundContent, contact: { waId: string | null, bsuid: string | null }, mediaId: string | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = { recipient_type: 'individual' }
  if (contact.waId !== null && contact.waId !== '') body.to = contact.waId
  else body.recipient = contact.bsuid
  const b = content.body as { type: string, [k: string]: unknown }
  const needMedia = (): string => {
    if (mediaId === undefined) throw new SendProblem('the attachment was not uploaded', 'temporary')
    return mediaId
  }
  const caption = typeof b.caption === 'string' && b.caption !== '' ? { caption: b.caption } : {}
  switch (b.type) {
    case 'text': {
      const text = String(b.text ?? '')
      Object.assign(body, { type: 'text', text: { body: text, preview_url: /https?:\/\/\S/i.test(text) } })
      break
    }
    case 'image':
    case 'video':
      Object.assign(body, { type: b.type, [b.type]: { id: needMedia(), ...caption } })
      break
    case 'audio':
      Object.assign(body, { type: 'audio', audio: { id: needMedia(), ...(b.voice === true ? { voice: true } : {}) } })
      break
    case 'document':
      Object.assign(body, { type: 'document', document: { id: needMedia(), ...caption, ...(typeof b.filename === 'string' ? { filename: b.filename } : {}) } })
      break
    case 'sticker':
      Object.assign(body, { type: 'sticker', sticker: { id: needMedia() } })
      break
    case 'reaction':
      Object.assign(body, { type: 'reaction', reaction: { message_id: b.messageId, emoji: typeof b.emoji === 'string' ? b.emoji : '' } })
      break
    case 'template': {
      if (content.template === undefined) throw new SendProblem('the template request is missing', 'permanent')
      const request = structuredClone(content.template.request)
      const kind = content.template.headerUpload
      if (kind !== null) {
        const header = (request.components as Array<Record<string, unknown>> | undefined)?.find(c => c.type === 'header')
        const parameter = (header?.parameters as Array<Record<string, Record<string, unknown>>> | undefined)?.[0]
        if (parameter?.[kind] === undefined) throw new SendProblem('the template header is missing', 'permanent')
        parameter[kind] = { id: needMedia() }
      }
      Object.assign(body, { type: 'template', template: request })
      break
    }
    default:
      throw new SendProblem(`messages of type ${String(b.type).slice(0, 40)} cannot be sent`, 'permanent')
  }
  if (b.type !== 'reaction' && content.context?.messageId != null) body.context = { message_id: content.context.messageId }
  body.biz_opaque_callback_data = message.id
  return body
}

// Processing stored deliveries into contacts, conversations, messages, statuses, reactions, media,
// templates and channel health. The stored bytes are the source of truth: processing reads only them,
// so a delivery can be replayed after a fix. One delivery = one savepoint inside a batch transaction
// (one fsync per batch); a delivery that throws is rolled back alone and kept as `failed` with the
// error, visible on the Webhook log page and replayable (`weltra webhooks replay`). Deliveries are
// processed in arrival order by one loop per process; every step is idempotent (wamid once per
// workspace, statuses once per (wamid, status), reactions by timestamp), so a crash between commit
// and acknowledgement, a redelivery or a replay never duplicates anything.
import { performance } from 'node:perf_hooks'
import type { Db } from '../../db/open.js'
import type { Deps } from '../../deps.js'
import type { Log } from '../../platform/logger.js'
import { classifyGraphError } from '../../platform/whatsapp/errors.js'
import { normalize, parseWebhook, type InboundEvent, type InboundMessageEvent } from '../../platform/whatsapp/webhook-payload.js'
import { findChannel, recordChannelIssue, type Channel } from '../channels/channels.service.js'
import { changeIdentity, findWhatsAppContact, touchContactInbound, upsertWhatsAppContact, type WhatsAppIdentity } from '../contacts/contacts.service.js'
import { optOutByKeyword } from '../contacts/consent.service.js'
import { applyEdit, applyReaction, applyRevoke, recordInbound, recordStatus, type MessageChange } from '../inbox/messaging.service.js'
import { autoAssignNew } from '../inbox/conversations.service.js'
import { queueMedia } from '../media/media.service.js'
import { applyTemplateEvent } from '../templates/templates.service.js'
import { inboxSettings } from '../workspaces/workspaces.service.js'
import { loadWebhookEvent, payloadBytes, pendingWebhookEvents, settleWebhookEvent, webhookEventStatus, type WebhookEvent } from './webhook-events.store.js'

/** What processing one delivery changed, emitted on the event bus after commit. */
interface Effects {
  changes: MessageChange[]
  media: boolean
  channelChanged: boolean
  templateWabas: Set<string>
}

interface Outcome { status: 'processed' | 'ignored', note: string | null }

const mediaKinds = new Set(['image', 'video', 'audio', 'document', 'sticker'])

/**
 * Processes one stored delivery inside the caller's transaction; throws to fail it (the caller rolls
 * back to its savepoint). Pure with respect to the outside world: no network, no events.
 */
export function processDelivery (db: Db, stored: WebhookEvent, now: number, effects: Effects, log: Log): Outcome {
  const channel = findChannel(db, stored.workspaceId, stored.channelId)
  if (channel === undefined) return { status: 'ignored', note: 'The number was disconnected before this delivery was processed.' }
  const parsed = parseWebhook(payloadBytes(stored))
  if (!parsed.ok) return { status: 'ignored', note: `Not a WhatsApp payload (${parsed.reason}).` }
  const events = normalize(parsed.payload)
  const notes: string[] = []
  let handled = 0
  for (const event of events) {
    const note = handleEvent(db, channel, event, now, effects, log)
    if (note === null) handled++
    else notes.push(note)
  }
  const note = notes.length === 0 ? null : summarise(notes)
  if (events.length === 0) return { status: 'ignored', note: 'The delivery carried no change.' }
  return { status: handled === 0 ? 'ignored' : 'processed', note }
}

/** Handles one normalised event; returns null when applied, or a note saying what was set aside. */
function handleEvent (db: Db, channel: Channel, event: InboundEvent, now: number, effects: Effects, log: Log): string | null {
  switch (event.kind) {
    case 'message':
    case 'status':
    case 'error':
      if (event.phoneNumberId !== channel.phoneNumberId) {
        log.warn({ channelId: channel.id, phoneNumberId: event.phoneNumberId, kind: event.kind }, 'webhook change for a phone number id that is not this channel\'s: ignored')
        return `Ignored a ${event.kind} for phone number id ${event.phoneNumberId ?? '(none)'}, which is not this channel's number.`
      }
      if (event.kind === 'message') return handleMessage(db, channel, event, now, effects)
      if (event.kind === 'status') {
        if (event.wamid.length > maxWamidLength) return `Ignored a status whose message id is ${event.wamid.length} characters long.`
        const { change } = recordStatus(db, { workspaceId: channel.workspaceId, channelId: channel.id, event }, now)
        if (change !== undefined) effects.changes.push(change)
        const code = event.errors[0]?.code ?? null
        if (event.status === 'failed' && code !== null && classifyGraphError(code, 400).retry === 'pause-channel') {
          recordChannelIssue(db, channel, { source: 'webhook', code, title: event.errors[0]?.title ?? event.errors[0]?.message ?? 'Message failed', detail: event.errors[0]?.details ?? null }, now)
          effects.channelChanged = true
        }
        return null
      }
      recordChannelIssue(db, channel, { source: 'webhook', code: event.error.code, title: event.error.title ?? event.error.message ?? 'WhatsApp reported an error', detail: event.error.details ?? event.error.message }, now)
      effects.channelChanged = true
      return null
    case 'template':
      if (event.wabaId !== null && event.wabaId !== channel.wabaId) return `Ignored a template update for WhatsApp Business Account ${event.wabaId}, which is not this channel's.`
      if (applyTemplateEvent(db, channel.workspaceId, { ...event, wabaId: channel.wabaId }, now)) effects.templateWabas.add(channel.wabaId)
      return null
    case 'unknown':
      return `Kept a change Weltra does not handle (${event.field ?? 'no field'}: ${event.reason}).`
  }
}

/** Meta's wamids are ~60 characters; anything far longer is not one (and would bloat every index). */
const maxWamidLength = 512

function handleMessage (db: Db, channel: Channel, event: InboundMessageEvent, now: number, effects: Effects): string | null {
  const ws = channel.workspaceId
  if (event.wamid.length > maxWamidLength) return `Ignored a message whose id is ${event.wamid.length} characters long (not a WhatsApp message id).`
  const who: WhatsAppIdentity = {
    bsuid: event.fromUserId ?? event.profile?.userId ?? null,
    waId: event.from ?? event.profile?.waId ?? null,
    parentBsuid: event.fromParentUserId ?? event.profile?.parentUserId ?? null,
    profileName: event.profile?.name ?? null,
    username: event.profile?.username ?? null
  }
  const body = event.body
  let contact
  if (body.type === 'system') {
    // Number / user-id changes: find the person by the old ids, then give them the new ones.
    const old = { bsuid: body.previousUserId ?? who.bsuid, waId: who.waId }
    contact = findWhatsAppContact(db, ws, old) ?? findWhatsAppContact(db, ws, { bsuid: body.userId, waId: body.waId })
    if (contact === undefined) contact = upsertWhatsAppContact(db, ws, { ...who, bsuid: body.userId ?? who.bsuid, waId: body.waId ?? who.waId }, now)
    else contact = changeIdentity(db, ws, contact, { bsuid: body.userId, waId: body.waId }, now)
  } else {
    contact = upsertWhatsAppContact(db, ws, who, now)
  }
  if (contact === undefined) return `Ignored message ${event.wamid}: it names no sender (no user id, no phone).`
  const at = event.timestamp ?? now
  if (body.type === 'reaction') {
    if (body.messageId === null) return `Ignored reaction ${event.wamid}: it names no message.`
    const change = applyReaction(db, { workspaceId: ws, contactId: contact.id, targetWamid: body.messageId, emoji: body.emoji, timestamp: at }, now)
    if (change !== undefined) effects.changes.push(change)
    return null
  }
  if (body.type === 'edit') {
    const change = applyEdit(db, { workspaceId: ws, channelId: channel.id, contactId: contact.id, event, body }, now)
    if (change !== undefined) effects.changes.push(change)
    return null
  }
  if (body.type === 'revoke') {
    const change = applyRevoke(db, ws, body.originalMessageId, at, now)
    if (change !== undefined) effects.changes.push(change)
    return null
  }
  const stored = recordInbound(db, { workspaceId: ws, channelId: channel.id, contactId: contact.id, event, resolvedReply: inboxSettings(db, ws).resolvedReply }, now)
  if (stored === undefined) return null // a redelivered wamid: already stored once
  if (stored.newConversation) autoAssignNew(db, ws, stored.conversation.id, now)
  if (body.type !== 'system' && (contact.lastInboundAt ?? 0) < at) touchContactInbound(db, ws, contact.id, at, now)
  // A text that is exactly an opt-out keyword ("STOP") opts the contact out (contacts/consent.service.ts).
  if (body.type === 'text') optOutByKeyword(db, ws, contact, body.text, at)
  effects.changes.push({ kind: 'created', conversationId: stored.conversation.id, messageId: stored.message.id, direction: 'in' })
  if (mediaKinds.has(body.type) && 'media' in body) {
    const kind = body.type === 'audio' && 'voice' in body && body.voice ? 'voice' : body.type
    queueMedia(db, {
      workspaceId: ws,
      messageId: stored.message.id,
      channelId: channel.id,
      graphMediaId: body.media.id,
      kind: kind as 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker',
      mimeType: body.media.mimeType,
      sha256Base64: body.media.sha256,
      fileName: body.type === 'document' ? body.filename : null
    }, now)
    effects.media = true
  }
  return null
}

function summarise (notes: string[]): string {
  const unique = [...new Set(notes)]
  const head = unique.slice(0, 5).join(' ')
  return (unique.length > 5 ? `${head} (+${unique.length - 5} more)` : head).slice(0, 2000)
}

/** A safe one-line error for the Webhook log: the message only, never the payload or parameters. */
function errorNote (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return `Processing failed: ${message.split('\n')[0]!.slice(0, 500)}`
}

export interface ProcessSummary { processed: number, ignored: number, failed: number }

interface Emitted { workspaceId: string, channelId: string, effects: Effects }
type Pending = ReturnType<typeof pendingWebhookEvents>[number]

/**
 * Processes one pending delivery inside the caller's transaction, in a savepoint of its own; records
 * the outcome in `summary` and what to announce in `emitted`. False when it is no longer pending.
 */
function processPending (deps: Pick<Deps, 'db' | 'sqlite'>, pending: Pending, now: number, log: Log, summary: ProcessSummary, emitted: Emitted[]): boolean {
  const { db, sqlite } = deps
  // Another process (the CLI) may have taken it since the list was read.
  if (webhookEventStatus(db, pending.id) !== 'pending') return false
  const effects: Effects = { changes: [], media: false, channelChanged: false, templateWabas: new Set() }
  sqlite.exec('SAVEPOINT webhook_event')
  let outcome: Outcome | undefined
  let failure: unknown
  try {
    outcome = processDelivery(db, loadWebhookEvent(db, pending.id), now, effects, log)
    sqlite.exec('RELEASE webhook_event')
  } catch (err) {
    if (!sqlite.inTransaction) throw err
    sqlite.exec('ROLLBACK TO webhook_event')
    sqlite.exec('RELEASE webhook_event')
    failure = err
  }
  if (outcome !== undefined) {
    settleWebhookEvent(db, pending.id, outcome.status, outcome.note, now)
    summary[outcome.status]++
    emitted.push({ workspaceId: pending.workspaceId, channelId: pending.channelId, effects })
  } else {
    log.error({ err: failure, eventId: pending.id, workspaceId: pending.workspaceId }, 'webhook delivery failed to process')
    settleWebhookEvent(db, pending.id, 'failed', errorNote(failure), now)
    summary.failed++
  }
  return true
}

/** Announces what a committed batch changed (only after the commit: listeners may read it at once). */
function emitEffects (deps: Pick<Deps, 'events'>, emitted: Emitted[]): void {
  for (const { workspaceId, channelId, effects } of emitted) {
    for (const c of effects.changes) {
      if (c.kind === 'created') deps.events.emit('message.created', { workspaceId, conversationId: c.conversationId, messageId: c.messageId, direction: c.direction })
      else deps.events.emit('message.updated', { workspaceId, conversationId: c.conversationId, messageId: c.messageId })
    }
    if (effects.media) deps.events.emit('media.queued', { workspaceId })
    if (effects.channelChanged) deps.events.emit('channel.changed', { workspaceId, channelId })
    for (const wabaId of effects.templateWabas) deps.events.emit('template.changed', { workspaceId, wabaId })
  }
}

/**
 * Processes up to `limit` pending deliveries (all workspaces) in one transaction, a savepoint each,
 * then emits their events. Synchronous; returns what happened.
 */
export function processPendingBatch (deps: Pick<Deps, 'db' | 'sqlite' | 'clock' | 'events' | 'log'>, limit = 50): ProcessSummary {
  const { db, sqlite } = deps
  const log = deps.log.child({ worker: 'webhooks' })
  const summary: ProcessSummary = { processed: 0, ignored: 0, failed: 0 }
  const emitted: Emitted[] = []
  sqlite.transaction(() => {
    const now = deps.clock.now()
    for (const pending of pendingWebhookEvents(db, limit)) processPending(deps, pending, now, log, summary, emitted)
  }).immediate()
  emitEffects(deps, emitted)
  return summary
}

/** Processes every pending delivery now (start-up, tests, the CLI). */
export function processAllPending (deps: Pick<Deps, 'db' | 'sqlite' | 'clock' | 'events' | 'log'>): ProcessSummary {
  const total: ProcessSummary = { processed: 0, ignored: 0, failed: 0 }
  for (;;) {
    const s = processPendingBatch(deps)
    total.processed += s.processed; total.ignored += s.ignored; total.failed += s.failed
    if (s.processed + s.ignored + s.failed === 0) return total
  }
}

export interface WebhookProcessor {
  /** Processes soon (after a delivery was stored). */
  kick: () => void
  /** Stops; resolves once the batch in progress (if any) is committed. */
  stop: () => Promise<void>
}

export interface ProcessorOptions {
  /** How often to look for deliveries queued by another process (a CLI replay). */
  pollMs?: number
  /**
   * Longest slice while deliveries are arriving: processing runs on the event loop that answers
   * Meta, so a slice delays the acknowledgements queued behind it by up to this much.
   */
  busySliceMs?: number
  /** Slice length when nothing arrived recently (draining a backlog). */
  idleSliceMs?: number
  /**
   * While deliveries are arriving, processing may use the event loop up to this utilisation minus
   * what everything else (receiving, storing, the UI) uses, between `minShare` and `maxShare`.
   */
  targetUtilization?: number
  minShare?: number
  maxShare?: number
  /** At most this many deliveries per slice. */
  maxPerSlice?: number
}

/** Deliveries read ahead from the queue at once: the pending query sorts the whole backlog. */
const readAhead = 1000
/** A delivery stored this recently means deliveries are arriving: processing yields. */
const busyWindowMs = 100
/** How often the share of the event loop left for processing is re-measured. */
const shareWindowMs = 250

/**
 * The processing loop of a server: drains the backlog at start (deliveries acknowledged before a
 * crash), then runs after every stored delivery (kick) and polls every few seconds for anything a
 * CLI replay queued.
 *
 * Acknowledgements come first. Processing runs in slices with a time budget. While deliveries are
 * arriving it gets only the share of the event loop that receiving and storing leave (measured
 * with event-loop utilisation, `targetUtilization` minus the rest), so a burst is acknowledged at
 * full speed and builds a backlog; when they stop, slices grow to `idleSliceMs` back to back and
 * the backlog drains. With a group committer (`deps.writer`, the server) each slice is one piece
 * of the next group transaction: it shares the fsync of the deliveries stored with it instead of
 * paying one of its own (at synchronous=FULL the fsync is the largest cost of a commit), and never
 * waits for the write lock. Events are emitted after that commit. Without one (tests), each slice
 * is its own transaction.
 */
export function startWebhookProcessor (deps: Pick<Deps, 'db' | 'sqlite' | 'clock' | 'events' | 'log'> & Partial<Pick<Deps, 'writer'>>, options: ProcessorOptions = {}): WebhookProcessor {
  const pollMs = options.pollMs ?? 5000
  const busySliceMs = options.busySliceMs ?? 4
  const idleSliceMs = options.idleSliceMs ?? 25
  const targetUtilization = options.targetUtilization ?? 0.8
  const minShare = options.minShare ?? 0.05
  const maxShare = options.maxShare ?? 0.6
  const maxPerSlice = options.maxPerSlice ?? 500
  const log = deps.log.child({ worker: 'webhooks' })
  let stopped = false
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined
  let inFlight: Promise<void> | undefined
  // Set when a kick arrives while a slice is queued or running: look again after it.
  let again = false
  let lastStored = -Infinity
  // Read-ahead list of pending deliveries (each re-checked before processing).
  let queue: Pending[] = []
  let next = 0

  // The processing share: re-measured every shareWindowMs from event-loop utilisation.
  let share = maxShare
  let eluMark = performance.eventLoopUtilization()
  let windowStart = performance.now()
  let spentInWindow = 0
  // Milliseconds of processing allowed now while busy (a token bucket filled at `share`).
  let credit = busySliceMs
  let creditAt = performance.now()

  const busy = (now: number): boolean => now - lastStored < busyWindowMs
  const refill = (now: number): void => {
    if (now - windowStart >= shareWindowMs) {
      const mark = performance.eventLoopUtilization()
      const used = performance.eventLoopUtilization(mark, eluMark).utilization
      const others = Math.max(0, used - spentInWindow / (now - windowStart))
      share = Math.min(maxShare, Math.max(minShare, targetUtilization - others))
      eluMark = mark
      windowStart = now
      spentInWindow = 0
    }
    credit = Math.min(busySliceMs, credit + (now - creditAt) * share)
    creditAt = now
  }

  /** One slice, inside the caller's transaction. */
  const slice = (): { summary: ProcessSummary, emitted: Emitted[] } => {
    const started = performance.now()
    refill(started)
    const whileBusy = busy(started)
    const budget = whileBusy ? Math.max(0, credit) : idleSliceMs
    const now = deps.clock.now()
    const summary: ProcessSummary = { processed: 0, ignored: 0, failed: 0 }
    const emitted: Emitted[] = []
    try {
      for (let n = 0; n < maxPerSlice; n++) {
        if (next >= queue.length) {
          queue = pendingWebhookEvents(deps.db, readAhead)
          next = 0
          if (queue.length === 0) break
        }
        processPending(deps, queue[next++]!, now, log, summary, emitted)
        if (performance.now() - started >= budget) break
      }
    } finally {
      const spent = performance.now() - started
      spentInWindow += spent
      // Only time taken while deliveries were arriving is paid back; an idle drain owes nothing.
      credit = whileBusy ? Math.max(-busySliceMs, credit - spent) : busySliceMs
    }
    return { summary, emitted }
  }

  const done = (result: { summary: ProcessSummary, emitted: Emitted[] }): void => {
    emitEffects(deps, result.emitted)
    const s = result.summary
    if (s.processed + s.ignored + s.failed > 0 || next < queue.length || again) kick()
  }
  const failed = (err: unknown): void => {
    // Storage trouble (disk full, locked): the deliveries stay pending and are retried at the next poll.
    queue = []
    next = 0
    log.error({ err }, 'webhook processing paused')
  }

  const run = (): void => {
    scheduled = undefined
    if (stopped || inFlight !== undefined) return
    const now = performance.now()
    if (busy(now)) {
      // Deliveries are arriving: wait until the share has earned a useful slice.
      refill(now)
      const wanted = busySliceMs / 2
      if (credit < wanted) {
        scheduled = setTimeout(run, Math.max(1, (wanted - credit) / share)).unref()
        return
      }
    }
    again = false
    if (deps.writer !== undefined) {
      inFlight = deps.writer.run(slice).then(
        (result) => { inFlight = undefined; done(result) },
        (err: unknown) => { inFlight = undefined; failed(err) })
      return
    }
    let result
    try {
      result = deps.sqlite.transaction(slice).immediate()
    } catch (err) {
      failed(err)
      return
    }
    done(result)
  }
  const kick = (): void => {
    if (stopped) return
    if (scheduled !== undefined || inFlight !== undefined) { again = true; return }
    scheduled = setImmediate(run)
  }
  const onStored = (): void => {
    lastStored = performance.now()
    kick()
  }
  const poll = setInterval(kick, pollMs)
  poll.unref()
  const unsubscribe = deps.events.on('webhook.stored', onStored)
  kick()
  return {
    kick,
    stop: async () => {
      stopped = true
      unsubscribe()
      clearInterval(poll)
      if (scheduled !== undefined) { clearImmediate(scheduled as NodeJS.Immediate); clearTimeout(scheduled as NodeJS.Timeout) }
      await inFlight
    }
  }
}

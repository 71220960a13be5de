// Outgoing webhooks: the workspace's subscriptions (a URL, the events it wants, a signing secret), the
// payloads they receive, test events and replays. Admins manage them under Settings → Webhooks or with
// an admin API key (/api/v1/webhooks). What is sent, and how it is signed, is documented on the API
// reference page; payload records are the API's own (a message, a conversation, a contact), so an
// integration reads one shape whether it polls or listens.
//
// Every URL is checked when saved and again before every delivery (its host may resolve elsewhere
// later): https only and public addresses only, unless the instance's config allows more
// (outgoing_webhooks.allow_http / allow_private_addresses). Secrets are shown once, when made.
import type { Deps } from '../../deps.js'
import type { Db } from '../../db/open.js'
import { newId, randomToken } from '../../platform/crypto/index.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { iso } from '../../platform/http/api.js'
import { urlShapeProblem, vetUrl, type UrlPolicy } from '../../platform/net/guarded-post.js'
import type { HostResolver } from '../../platform/net/outbound.js'
import { recordAudit } from '../audit/audit.service.js'
import { contactJson } from '../contacts/contact-json.js'
import { contactRecords } from '../contacts/contact-records.service.js'
import { conversationJson, messageJson } from '../inbox/inbox.api.js'
import { conversationRecords, messageRecords } from '../inbox/inbox-records.service.js'
import { findMessage } from '../inbox/messaging.service.js'
import { userNames } from '../workspaces/workspaces.service.js'
import { forgetWantedTypes, hookEventTypes, isHookEventType, type HookEventType, type HookSubject } from './hooks.queue.js'
import {
  countSubscriptions, deleteSubscription, deliveriesOf, deliveryHealth, findDelivery, findSubscription, insertDelivery, insertSubscription,
  listSubscriptions, updateSubscription, type DeliveryRow, type DeliverySummary, type QueueRow, type SubscriptionRow
} from './hooks.store.js'

export { hookEventTypes, type HookEventType }

/** The event a "Send test event" button sends; nobody subscribes to it. */
export const testEventType = 'webhook.test'
export const maxSubscriptions = 20
export const urlMaxLength = 2000
export const descriptionMaxLength = 200
/** After a rotation the previous secret still signs deliveries this long. */
export const previousSecretGraceMs = 24 * 3_600_000
export const deliveryLogPage = 50

/** Who changes subscriptions: an admin in the active workspace, or an admin API key. */
export interface HookActor { userId: string | null, workspaceId: string, ip?: string | undefined, apiKeyId?: string | undefined }

export type FieldErrors = Record<string, string>

export interface SubscriptionInput { url: string, description: string, events: readonly string[] }

export interface DeliveryView extends DeliverySummary { }

export interface SubscriptionView {
  id: string
  url: string
  /** Scheme, host and port only: safe for lists and logs (the path or query may hold a token). */
  origin: string
  description: string
  events: HookEventType[]
  active: boolean
  createdAt: number
  updatedAt: number
  createdByName: string | null
  /** Until when the previous secret still signs deliveries (after a rotation). */
  previousSecretUntil: number | null
  last: DeliveryView | undefined
  waiting: number
}

/** The URL rules of this instance. */
export function urlPolicy (deps: Pick<Deps, 'config'>, resolve?: HostResolver): UrlPolicy {
  const c = deps.config.outgoing_webhooks
  return { allowHttp: c.allow_http, allowPrivate: c.allow_private_addresses, resolve }
}

function newSecret (): string {
  return 'whsec_' + randomToken(32)
}

function originOf (url: string): string {
  try { return new URL(url).origin } catch { return '' }
}

function viewOf (row: SubscriptionRow, names: Map<string, string>, health?: { last: DeliverySummary | undefined, waiting: number }, now?: number): SubscriptionView {
  return {
    id: row.id,
    url: row.url,
    origin: originOf(row.url),
    description: row.description,
    events: row.events.filter(isHookEventType),
    active: row.active,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdByName: row.createdBy === null ? null : names.get(row.createdBy) ?? null,
    previousSecretUntil: row.previousSecretUntil !== null && (now === undefined || row.previousSecretUntil > now) ? row.previousSecretUntil : null,
    last: health?.last,
    waiting: health?.waiting ?? 0
  }
}

/** Trims and de-duplicates the input (events in catalogue order). */
export function cleanSubscriptionInput (raw: SubscriptionInput): SubscriptionInput {
  const wanted = new Set(raw.events.map(e => e.trim()))
  const unknown = [...wanted].filter(e => !isHookEventType(e))
  return { url: raw.url.trim(), description: raw.description.trim(), events: [...hookEventTypes.filter(e => wanted.has(e)), ...unknown] }
}

/** Field errors (catalogue keys) for a subscription's input; the URL's host is resolved. */
export async function subscriptionProblems (deps: Pick<Deps, 'config'>, input: SubscriptionInput, resolve?: HostResolver, checkUrl = true): Promise<FieldErrors> {
  const errors: FieldErrors = {}
  if (!checkUrl) {
    // the URL is the one already saved
  } else if (input.url === '') errors.url = 'hooks.errors.urlRequired'
  else if (input.url.length > urlMaxLength) errors.url = 'hooks.errors.urlTooLong'
  else {
    const policy = urlPolicy(deps, resolve)
    const shape = urlShapeProblem(input.url, policy)
    if ('problem' in shape) errors.url = `hooks.errors.url.${shape.problem}`
    else {
      const vetted = await vetUrl(shape.url, policy)
      if ('problem' in vetted) errors.url = `hooks.errors.url.${vetted.problem}`
    }
  }
  if (input.description.length > descriptionMaxLength) errors.description = 'hooks.errors.descriptionTooLong'
  // eslint-disable-next-line no-control-regex
  else if (/[\u0000-\u001f\u007f]/.test(input.description)) errors.description = 'hooks.errors.descriptionControl'
  if (input.events.length === 0) errors.events = 'hooks.errors.eventsRequired'
  else if (input.events.some(e => !isHookEventType(e))) errors.events = 'hooks.errors.eventsUnknown'
  return errors
}

function audit (db: Db, actor: HookActor, action: 'webhook_created' | 'webhook_updated' | 'webhook_deleted' | 'webhook_secret_rotated', row: Pick<SubscriptionRow, 'id' | 'url'>, now: number, extra: Record<string, string | number | boolean> = {}): void {
  // The host only: a URL's path or query may carry the receiver's own token.
  let host = ''
  try { host = new URL(row.url).host } catch {}
  recordAudit(db, {
    action,
    workspaceId: actor.workspaceId,
    actorUserId: actor.userId ?? undefined,
    details: { subscriptionId: row.id, host, ...(actor.apiKeyId !== undefined ? { apiKeyId: actor.apiKeyId } : {}), ...extra },
    ip: actor.ip
  }, now)
}

/** The workspace's subscriptions with their latest delivery. */
export function listSubscriptionViews (deps: Pick<Deps, 'db' | 'clock'>, workspaceId: string): SubscriptionView[] {
  const rows = listSubscriptions(deps.db, workspaceId)
  const names = userNames(deps.db, rows.flatMap(r => r.createdBy === null ? [] : [r.createdBy]))
  const health = deliveryHealth(deps.db, workspaceId, rows.map(r => r.id))
  return rows.map(r => viewOf(r, names, health.get(r.id), deps.clock.now()))
}

function rowOf (db: Db, workspaceId: string, id: string): SubscriptionRow {
  const row = findSubscription(db, workspaceId, id)
  if (row === undefined) throw new NotFoundError()
  return row
}

/** One subscription of the workspace (404 for another workspace's or an unknown id). */
export function subscriptionView (deps: Pick<Deps, 'db' | 'clock'>, workspaceId: string, id: string): SubscriptionView {
  const row = rowOf(deps.db, workspaceId, id)
  const names = userNames(deps.db, row.createdBy === null ? [] : [row.createdBy])
  return viewOf(row, names, deliveryHealth(deps.db, workspaceId, [row.id]).get(row.id), deps.clock.now())
}

/** Creates a subscription; the secret is in the result and nowhere else (shown once). */
export async function createSubscription (deps: Pick<Deps, 'db' | 'clock' | 'config'>, actor: HookActor, raw: SubscriptionInput, resolve?: HostResolver):
Promise<{ ok: true, subscription: SubscriptionView, secret: string } | { ok: false, errors: FieldErrors }> {
  const input = cleanSubscriptionInput(raw)
  const errors = await subscriptionProblems(deps, input, resolve)
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const now = deps.clock.now()
  const result = deps.db.transaction((db) => {
    if (countSubscriptions(db, actor.workspaceId) >= maxSubscriptions) return { ok: false as const, errors: { form: 'hooks.errors.tooMany' } }
    const secret = newSecret()
    const row = insertSubscription(db, { workspaceId: actor.workspaceId, url: input.url, description: input.description, events: [...input.events], secret, active: true, createdBy: actor.userId, createdAt: now, updatedAt: now })
    audit(db, actor, 'webhook_created', row, now, { events: input.events.join(' ') })
    return { ok: true as const, row, secret }
  }, { behavior: 'immediate' })
  if (!result.ok) return result
  forgetWantedTypes(actor.workspaceId)
  return { ok: true, subscription: subscriptionView(deps, actor.workspaceId, result.row.id), secret: result.secret }
}

/** Changes the URL, description, events and/or whether it is active. Fields left undefined stay. */
export async function updateSubscriptionOf (deps: Pick<Deps, 'db' | 'clock' | 'config'>, actor: HookActor, id: string, raw: Partial<SubscriptionInput> & { active?: boolean }, resolve?: HostResolver):
Promise<{ ok: true, subscription: SubscriptionView } | { ok: false, errors: FieldErrors }> {
  const current = rowOf(deps.db, actor.workspaceId, id)
  const input = cleanSubscriptionInput({ url: raw.url ?? current.url, description: raw.description ?? current.description, events: raw.events ?? current.events })
  // An unchanged URL is not resolved again (its host may be down; that is what deliveries report).
  const errors = await subscriptionProblems(deps, input, resolve, input.url !== current.url)
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    rowOf(db, actor.workspaceId, id)
    const active = raw.active ?? current.active
    updateSubscription(db, actor.workspaceId, id, { url: input.url, description: input.description, events: [...input.events], active, updatedAt: now })
    const changed = [input.url !== current.url ? 'url' : '', input.description !== current.description ? 'description' : '', input.events.join(' ') !== current.events.join(' ') ? 'events' : '', active !== current.active ? (active ? 'resumed' : 'paused') : ''].filter(s => s !== '')
    if (changed.length > 0) audit(db, actor, 'webhook_updated', { id, url: input.url }, now, { changed: changed.join(' ') })
  }, { behavior: 'immediate' })
  forgetWantedTypes(actor.workspaceId)
  return { ok: true, subscription: subscriptionView(deps, actor.workspaceId, id) }
}

/** A new secret, shown once; the previous one still signs deliveries for 24 hours. */
export function rotateSecret (deps: Pick<Deps, 'db' | 'clock'>, actor: HookActor, id: string): { secret: string, previousUntil: number } {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const row = rowOf(db, actor.workspaceId, id)
    const secret = newSecret()
    const previousUntil = now + previousSecretGraceMs
    updateSubscription(db, actor.workspaceId, id, { secret, previousSecret: row.secret, previousSecretUntil: previousUntil, updatedAt: now })
    audit(db, actor, 'webhook_secret_rotated', row, now)
    return { secret, previousUntil }
  }, { behavior: 'immediate' })
}

/** Deletes a subscription, its waiting deliveries and its log. */
export function removeSubscription (deps: Pick<Deps, 'db' | 'clock'>, actor: HookActor, id: string): void {
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    const row = rowOf(db, actor.workspaceId, id)
    deleteSubscription(db, actor.workspaceId, id)
    audit(db, actor, 'webhook_deleted', row, now)
  }, { behavior: 'immediate' })
  forgetWantedTypes(actor.workspaceId)
}

/** The JSON body of an event (the envelope every delivery has). */
export function envelope (eventId: string, type: string, workspaceId: string, at: number, data: Record<string, unknown>): string {
  return JSON.stringify({ id: eventId, type, created_at: iso(at), workspace_id: workspaceId, data })
}

/** Queues a `webhook.test` delivery to one subscription (even a paused one is tried once it resumes). */
export function queueTestDelivery (deps: Pick<Deps, 'db' | 'clock'>, workspaceId: string, id: string): DeliveryRow {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const row = rowOf(db, workspaceId, id)
    const eventId = newId(now)
    return insertDelivery(db, {
      workspaceId,
      subscriptionId: row.id,
      eventId,
      eventType: testEventType,
      payload: envelope(eventId, testEventType, workspaceId, now, { message: 'A test event from Weltra: your endpoint is reachable and verifies signatures.' }),
      nextAttemptAt: now,
      createdAt: now
    })
  }, { behavior: 'immediate' })
}

/**
 * Sends a delivery's event again, as a new delivery with the same event id and payload (re-signed when
 * sent). A delivery of another subscription (or workspace) is a 404.
 */
export function replayDelivery (deps: Pick<Deps, 'db' | 'clock'>, workspaceId: string, subscriptionId: string, deliveryId: string): DeliveryRow {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const original = findDelivery(db, workspaceId, deliveryId)
    if (original === undefined || original.subscriptionId !== subscriptionId) throw new NotFoundError()
    return insertDelivery(db, {
      workspaceId,
      subscriptionId: original.subscriptionId,
      eventId: original.eventId,
      eventType: original.eventType,
      payload: original.payload,
      nextAttemptAt: now,
      replayOf: original.replayOf ?? original.id,
      createdAt: now
    })
  }, { behavior: 'immediate' })
}

/** A subscription's deliveries, newest first, a page at a time (cursor: the last id of the page before). */
export function deliveryLog (deps: Pick<Deps, 'db'>, workspaceId: string, subscriptionId: string, before?: string): { rows: DeliveryView[], next: string | null } {
  rowOf(deps.db, workspaceId, subscriptionId)
  const rows = deliveriesOf(deps.db, workspaceId, subscriptionId, deliveryLogPage + 1, before)
  const more = rows.length > deliveryLogPage
  const page = more ? rows.slice(0, deliveryLogPage) : rows
  return { rows: page, next: more ? page[page.length - 1]!.id : null }
}

/** One delivery with its payload, pretty-printed (admins only: it holds customer data). */
export function deliveryDetail (deps: Pick<Deps, 'db'>, workspaceId: string, subscriptionId: string, deliveryId: string): DeliveryView & { payload: string } {
  const row = findDelivery(deps.db, workspaceId, deliveryId)
  if (row === undefined || row.subscriptionId !== subscriptionId) throw new NotFoundError()
  let payload = row.payload
  try { payload = JSON.stringify(JSON.parse(row.payload), null, 2) } catch {}
  return { ...row, payload }
}

/**
 * The `data` of a queued event, read now; undefined when its subject is gone (a contact deleted before
 * dispatch): such an event is dropped.
 */
export function eventData (db: Db, workspaceId: string, type: HookEventType, subject: HookSubject, now: number): Record<string, unknown> | undefined {
  const contact = (id: string | undefined): Record<string, unknown> | undefined => {
    const r = id === undefined ? undefined : contactRecords(db, workspaceId, [id])[0]
    return r === undefined ? undefined : contactJson(r)
  }
  const conversation = (id: string | undefined): { json: Record<string, unknown>, contactId: string } | undefined => {
    const r = id === undefined ? undefined : conversationRecords(db, workspaceId, [id], now)[0]
    return r === undefined ? undefined : { json: conversationJson(r), contactId: r.row.contactId }
  }
  switch (type) {
    case 'message.received':
    case 'message.status': {
      const row = subject.messageId === undefined ? undefined : findMessage(db, workspaceId, subject.messageId)
      if (row === undefined) return undefined
      const message = messageJson(messageRecords(db, workspaceId, [row])[0]!)
      if (type === 'message.status') return { status: subject.status ?? row.status, message }
      const c = conversation(row.conversationId)
      if (c === undefined) return undefined
      return { message, conversation: c.json, contact: contact(c.contactId) ?? null }
    }
    case 'conversation.created':
    case 'conversation.assigned':
    case 'conversation.resolved': {
      const c = conversation(subject.conversationId)
      if (c === undefined) return undefined
      return type === 'conversation.created' ? { conversation: c.json, contact: contact(c.contactId) ?? null } : { conversation: c.json }
    }
    case 'contact.created':
    case 'contact.updated': {
      const c = contact(subject.contactId)
      return c === undefined ? undefined : { contact: c }
    }
  }
}

/**
 * Turns queued events into deliveries: one per active subscription that wants the type, with the
 * payload read now, in the same transaction that deletes the queue row. Returns how many deliveries.
 */
export function dispatchQueued (db: Db, rows: QueueRow[], now: number): number {
  let made = 0
  const subscriptions = new Map<string, SubscriptionRow[]>()
  for (const q of rows) {
    if (!isHookEventType(q.eventType)) continue
    let subs = subscriptions.get(q.workspaceId)
    if (subs === undefined) { subs = listSubscriptions(db, q.workspaceId).filter(s => s.active); subscriptions.set(q.workspaceId, subs) }
    const targets = subs.filter(s => s.events.includes(q.eventType))
    if (targets.length === 0) continue
    const data = eventData(db, q.workspaceId, q.eventType, q.subject as HookSubject, now)
    if (data === undefined) continue
    const body = envelope(q.id, q.eventType, q.workspaceId, q.createdAt, data)
    for (const s of targets) {
      insertDelivery(db, { workspaceId: q.workspaceId, subscriptionId: s.id, eventId: q.id, eventType: q.eventType, payload: body, nextAttemptAt: now, createdAt: now })
      made++
    }
  }
  return made
}

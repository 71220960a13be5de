// Receiving Meta's deliveries: authenticate the exact bytes with the channel's app secret, store them
// durably (group commit), and only then let the route answer 200. Processing reads the stored copy.
import { eraseMentions } from '../../db/erase-mentions.js'
import type { Deps } from '../../deps.js'
import { handshake, type HandshakeResult } from '../../platform/whatsapp/verify-handshake.js'
import { verifySignature } from '../../platform/whatsapp/webhook-signature.js'
import { markWebhookVerified, touchLastWebhook, webhookTarget } from '../channels/channels.service.js'
import { insertWebhookEvent, requeueWebhookEvents, webhookLogCounts, webhookLogPage } from './webhook-events.store.js'

export type ReceiveOutcome = 'stored' | 'unknown-channel' | 'bad-signature'

/**
 * Authenticates and durably stores one delivery for the channel behind `publicId`. Resolves 'stored'
 * only after the commit; rejects when storage fails (the caller answers 503 so Meta retries).
 */
export async function receiveDelivery (deps: Pick<Deps, 'db' | 'clock' | 'writer' | 'events'>, publicId: string, raw: Uint8Array, signature: string | string[] | undefined): Promise<ReceiveOutcome> {
  const target = webhookTarget(deps.db, publicId, deps.clock.now())
  if (target === undefined) return 'unknown-channel'
  if (!verifySignature(raw, signature, target.appSecrets)) return 'bad-signature'
  const now = deps.clock.now()
  await deps.writer.run((db) => {
    insertWebhookEvent(db, { workspaceId: target.workspaceId, channelId: target.id, raw, receivedAt: now })
    touchLastWebhook(db, target.workspaceId, target.id, now)
  })
  deps.events.emit('webhook.stored', { workspaceId: target.workspaceId, channelId: target.id })
  return 'stored'
}

/** Meta's GET verification for a channel's callback URL; records success on the channel. */
export function verifyCallback (deps: Pick<Deps, 'db' | 'clock'>, publicId: string, query: Record<string, unknown>): HandshakeResult {
  const target = webhookTarget(deps.db, publicId, deps.clock.now())
  if (target === undefined) return { ok: false }
  const result = handshake(query, [target.verifyToken])
  if (result.ok) markWebhookVerified(deps.db, target.workspaceId, target.id, deps.clock.now())
  return result
}

/**
 * Puts failed deliveries (or one delivery, whatever its state) back in the processing queue: the
 * Replay button and `weltra webhooks replay`. Processing is idempotent, so replaying a processed
 * delivery changes nothing that was already applied. Returns how many were queued.
 */
export function queueReplay (deps: Pick<Deps, 'db' | 'events'>, scope: { workspaceId: string | null, id?: string | undefined, channelId?: string }): number {
  const n = requeueWebhookEvents(deps.db, { workspaceId: scope.workspaceId, id: scope.id, statuses: scope.id === undefined ? ['failed'] : ['failed', 'processed', 'ignored'] })
  if (n > 0 && scope.workspaceId !== null) deps.events.emit('webhook.stored', { workspaceId: scope.workspaceId, channelId: scope.channelId ?? '' })
  return n
}

/** How many stored deliveries of a workspace are in each state. */
export function webhookCounts (deps: Pick<Deps, 'db'>, workspaceId: string): ReturnType<typeof webhookLogCounts> {
  return webhookLogCounts(deps.db, workspaceId)
}

/** One page of the Webhook log (newest first, without payloads), with each delivery's number. */
export function webhookLog (deps: Pick<Deps, 'db'>, workspaceId: string, options: Parameters<typeof webhookLogPage>[2]): ReturnType<typeof webhookLogPage> {
  return webhookLogPage(deps.db, workspaceId, options)
}

/**
 * Erasure: deletes the stored raw deliveries from Meta that mention any needle (a number, a user id, a
 * message id). A delivery can hold several people's messages; the whole copy goes (the messages it
 * carried were stored already, and the raw copy is only kept for replay and inspection).
 */
export function eraseRawPayloadsMentioning (db: Deps['db'], workspaceId: string, needles: readonly string[]): number {
  return eraseMentions(db, workspaceId, { table: 'webhook_events', column: 'payload', decode: (b64) => Buffer.from(b64, 'base64').toString('utf8') }, needles)
}

// Channel rules other features use. The connect flow (credential check against the Graph API,
// subscribed_apps, health panel) builds on these.
import type { Db } from '../../db/open.js'
import { randomToken } from '../../platform/crypto/index.js'
import { findChannelByPublicId, insertChannel, markWebhookVerified, touchLastWebhook, type Channel } from './channels.store.js'

export type { Channel }
export { markWebhookVerified, touchLastWebhook }

export interface ChannelCredentials {
  name: string
  wabaId: string
  phoneNumberId: string
  accessToken: string
  appSecret: string
  graphApiVersion: string
  displayPhoneNumber?: string
  verifiedName?: string
}

/** Stores a channel with a fresh callback id and verify token. Call inside a transaction. */
export function createChannel (db: Db, workspaceId: string, input: ChannelCredentials, now: number): Channel {
  return insertChannel(db, {
    workspaceId,
    publicId: randomToken(18),
    name: input.name,
    wabaId: input.wabaId,
    phoneNumberId: input.phoneNumberId,
    displayPhoneNumber: input.displayPhoneNumber ?? '',
    verifiedName: input.verifiedName ?? '',
    graphApiVersion: input.graphApiVersion,
    accessToken: input.accessToken,
    accessTokenLast4: input.accessToken.slice(-4),
    appSecret: input.appSecret,
    verifyToken: randomToken(24),
    createdAt: now,
    updatedAt: now
  })
}

export interface WebhookTarget { id: string, workspaceId: string, phoneNumberId: string, appSecrets: string[], verifyToken: string }

// Deliveries for one channel arrive in bursts: its decrypted secrets are kept for a few seconds so each
// delivery does not re-read and re-decrypt them. A changed secret or a removed channel applies within that.
const targetTtlMs = 3000
const targets = new WeakMap<Db, Map<string, { at: number, target: WebhookTarget | undefined }>>()

/** What the webhook endpoint needs to authenticate a delivery for a callback id, or undefined. */
export function webhookTarget (db: Db, publicId: string, now: number = Date.now()): WebhookTarget | undefined {
  if (!/^[A-Za-z0-9_-]{10,64}$/.test(publicId)) return undefined
  let cache = targets.get(db)
  if (cache === undefined) { cache = new Map(); targets.set(db, cache) }
  const hit = cache.get(publicId)
  if (hit !== undefined && now - hit.at < targetTtlMs && now >= hit.at) return hit.target
  const target = readTarget(db, publicId)
  if (cache.size > 10_000) cache.clear()
  cache.set(publicId, { at: now, target })
  return target
}

function readTarget (db: Db, publicId: string): WebhookTarget | undefined {
  const channel = findChannelByPublicId(db, publicId)
  if (channel === undefined) return undefined
  return {
    id: channel.id,
    workspaceId: channel.workspaceId,
    phoneNumberId: channel.phoneNumberId,
    appSecrets: [channel.appSecret, ...(channel.previousAppSecret === null ? [] : [channel.previousAppSecret])],
    verifyToken: channel.verifyToken
  }
}

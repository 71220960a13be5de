// Channel rules other features use. The connect flow (credential check against the Graph API,
// subscribed_apps, health panel) builds on these.
import type { Db } from '../../db/open.js'
import type { Deps } from '../../deps.js'
import { randomToken } from '../../platform/crypto/index.js'
import { classifyGraphError } from '../../platform/whatsapp/errors.js'
import { createGraphClient, type GraphClient } from '../../platform/whatsapp/graph-client.js'
import { findChannel, findChannelByPublicId, insertChannel, insertChannelIssue, markWebhookVerified, setChannelStatus, touchLastWebhook, type Channel } from './channels.store.js'

export type { Channel }
export { findChannel, markWebhookVerified, touchLastWebhook }

/** A Graph API client speaking for `channel` (its token and version, the configured base URL). */
export function graphClientFor (deps: Pick<Deps, 'config'>, channel: Pick<Channel, 'accessToken' | 'graphApiVersion'>): GraphClient {
  const wa = deps.config.whatsapp
  return createGraphClient({ baseUrl: wa.graph_base_url, version: channel.graphApiVersion, accessToken: channel.accessToken, timeoutMs: wa.graph_timeout_seconds * 1000 })
}

/** Errors that mean the token no longer works (expired, revoked, missing permission): reconnect. */
const tokenErrorCodes: ReadonlySet<number> = new Set([190, 0, 3, 10])

export interface ChannelIssueInput { source: 'webhook' | 'graph' | 'media' | 'processing', code: number | null, title: string, detail?: string | null }

/**
 * Records a problem on the channel's health panel. An expired or revoked token (190 and its family)
 * also marks the channel "needs reconnecting", which pauses sending until an admin pastes a new token.
 * Call inside the transaction of what found the problem.
 */
export function recordChannelIssue (db: Db, channel: Pick<Channel, 'workspaceId' | 'id'>, issue: ChannelIssueInput, now: number): void {
  insertChannelIssue(db, { workspaceId: channel.workspaceId, channelId: channel.id, source: issue.source, code: issue.code, title: issue.title.slice(0, 300), detail: issue.detail?.slice(0, 2000) ?? null, at: now })
  if (issue.code === null || classifyGraphError(issue.code, 400).retry !== 'pause-channel') return
  const status = tokenErrorCodes.has(issue.code) ? 'needs_reconnect' : 'paused'
  setChannelStatus(db, channel.workspaceId, channel.id, status, issue.title.slice(0, 300), now)
}

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

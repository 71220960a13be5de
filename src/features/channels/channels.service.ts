// Channel rules other features use, and the connect flow of the settings pages: credentials checked
// against the Graph API (GET /{phone-number-id}, POST /{waba-id}/subscribed_apps) before anything is
// stored, the health panel (token check, recent issues), credential replacement behind the user's
// password, rename and disconnect (soft delete). Secrets never leave this module except to the Graph
// client and the webhook check; pages get summaries without them.
import { publicUrl } from '../../config/load-config.js'
import type { Db } from '../../db/open.js'
import type { Deps } from '../../deps.js'
import { randomToken, verifyPassword } from '../../platform/crypto/index.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { nameFieldProblem } from '../../platform/text.js'
import { classifyGraphError } from '../../platform/whatsapp/errors.js'
import { createGraphClient, GraphError, type GraphClient, type GraphPhoneNumber } from '../../platform/whatsapp/graph-client.js'
import { recordAudit, type AuditAction } from '../audit/audit.service.js'
import { findUserById } from '../auth/auth.service.js'
import { markReauthenticated } from '../auth/sessions.service.js'
import { blockedUntil, clearFailures, recordFailure } from '../auth/throttle.service.js'
import { syncTemplates, templateSummary, type SyncResult } from '../templates/templates.service.js'
import {
  countLiveChannels, findChannel, findChannelByPhoneNumberId, findChannelByPublicId, insertChannel, insertChannelIssue, listChannelIssues,
  listChannelSummaries, markWebhookVerified, setChannelStatus, touchLastWebhook, updateChannel, type Channel, type ChannelIssue, type ChannelSummary
} from './channels.store.js'

export type { Channel, ChannelIssue, ChannelSummary }
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
  /** A demo channel wired to the built-in fake Graph API (`weltra demo`). */
  sandbox?: boolean
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
    sandbox: input.sandbox ?? false,
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

// ── settings pages ────────────────────────────────────────────────────────

export type FieldErrors = Record<string, string>
export type Result<T> = { ok: true, value: T } | { ok: false, errors: FieldErrors }

/** Who changes a channel: the member (the route checked the admin role), their session and address. */
export interface ChannelActor { userId: string, sessionId: string, workspaceId: string, ip: string | undefined }

type D = Pick<Deps, 'db' | 'config' | 'clock' | 'log' | 'events'>

// The audit log's action names for channels (rendered by the catalogue keys audit.action.<name>).
type ChannelAuditAction = Extract<AuditAction, `channel_${string}`>

/** Who connects a number: a member (from the settings page), or an admin API key (userId null, its id in the audit). */
export type ConnectActor = Pick<ChannelActor, 'workspaceId' | 'ip'> & { userId: string | null, apiKeyId?: string }

function audit (db: Db, actor: ConnectActor, action: ChannelAuditAction, details: Record<string, string | number | boolean | null>, now: number): void {
  recordAudit(db, { action, workspaceId: actor.workspaceId, actorUserId: actor.userId ?? undefined, details: actor.apiKeyId === undefined ? details : { ...details, apiKeyId: actor.apiKeyId }, ip: actor.ip }, now)
}

/** The live channels of a workspace for lists (no credentials). */
export function listChannels (deps: Pick<Deps, 'db'>, workspaceId: string): ChannelSummary[] {
  return listChannelSummaries(deps.db, workspaceId)
}

/** Whether the workspace (or, without one, the instance) has at least one connected number. */
export function hasChannels (deps: Pick<Deps, 'db'>, workspaceId?: string): boolean {
  return countLiveChannels(deps.db, workspaceId) > 0
}

/** The channel or a 404 (another workspace's id looks exactly like an unknown one). */
function channelOr404 (db: Db, workspaceId: string, id: string): Channel {
  const channel = typeof id === 'string' && /^[0-9A-Za-z]{10,40}$/.test(id) ? findChannel(db, workspaceId, id) : undefined
  if (channel === undefined) throw new NotFoundError()
  return channel
}

/** Where Meta must send this channel's webhooks, and whether that address can work for Meta. */
export interface CallbackInfo {
  url: string
  /** server.public_url is set (else the URL is a guess based on the listen address). */
  configured: boolean
  https: boolean
}

/** The callback URL of a channel: `<public url>/webhooks/whatsapp/<public id>`. */
export function callbackInfo (deps: Pick<Deps, 'config'>, publicId: string): CallbackInfo {
  const base = publicUrl(deps.config)
  return { url: `${base}/webhooks/whatsapp/${publicId}`, configured: deps.config.server.public_url !== '', https: base.startsWith('https://') }
}

/** Where the webhook set-up stands: nothing yet, Meta's handshake done, or events arriving. */
export type WebhookState = 'waiting' | 'verified' | 'receiving'

export function webhookState (channel: Pick<ChannelSummary, 'webhookVerifiedAt' | 'lastWebhookAt'>): WebhookState {
  if (channel.lastWebhookAt !== null) return 'receiving'
  return channel.webhookVerifiedAt !== null ? 'verified' : 'waiting'
}

/** Everything the channel page shows. The verify token is the only secret in it (admins paste it into Meta). */
export interface ChannelPage {
  channel: ChannelSummary
  verifyToken: string
  callback: CallbackInfo
  webhook: WebhookState
  issues: ChannelIssue[]
  templates: { total: number, approved: number, lastSyncedAt: number | null }
}

export function channelPage (deps: Pick<Deps, 'db' | 'config'>, workspaceId: string, id: string): ChannelPage {
  const full = channelOr404(deps.db, workspaceId, id)
  const channel = summaryOf(full)
  return {
    channel,
    verifyToken: full.verifyToken,
    callback: callbackInfo(deps, full.publicId),
    webhook: webhookState(full),
    issues: listChannelIssues(deps.db, workspaceId, full.id, 10),
    templates: templateSummary(deps.db, workspaceId, full.wabaId)
  }
}

/** What the polled webhook status line needs. */
export function channelWebhookStatus (deps: Pick<Deps, 'db'>, workspaceId: string, id: string): { channel: ChannelSummary, webhook: WebhookState } {
  const channel = summaryOf(channelOr404(deps.db, workspaceId, id))
  return { channel, webhook: webhookState(channel) }
}

function summaryOf (c: Channel): ChannelSummary {
  const { accessToken: _a, appSecret: _s, previousAppSecret: _p, verifyToken: _v, deletedAt: _d, ...summary } = c
  return summary
}

// ── validation ──

export interface ConnectInput { name: string, wabaId: string, phoneNumberId: string, accessToken: string, appSecret: string }

const graphId = /^\d{5,30}$/
const tokenPattern = /^\S{20,4096}$/
const secretPattern = /^\S{16,256}$/

/** Trims what people paste (spaces, line breaks around ids and tokens). */
export function cleanConnectInput (input: ConnectInput): ConnectInput {
  return {
    name: input.name.trim(),
    wabaId: input.wabaId.trim(),
    phoneNumberId: input.phoneNumberId.trim(),
    accessToken: input.accessToken.trim(),
    appSecret: input.appSecret.trim()
  }
}

/** The channel name's problem (catalogue key) or undefined. */
export function channelNameProblem (name: string): string | undefined {
  return nameFieldProblem(name, 'channels.name', 60)
}

function idProblem (value: string, field: 'wabaId' | 'phoneNumberId'): string | undefined {
  if (value === '') return `channels.${field}.required`
  return graphId.test(value) ? undefined : `channels.${field}.invalid`
}

function tokenProblem (value: string): string | undefined {
  if (value === '') return 'channels.accessToken.required'
  return tokenPattern.test(value) ? undefined : 'channels.accessToken.invalid'
}

function secretProblem (value: string, required: boolean): string | undefined {
  if (value === '') return required ? 'channels.appSecret.required' : undefined
  return secretPattern.test(value) ? undefined : 'channels.appSecret.invalid'
}

function validateConnect (input: ConnectInput): FieldErrors {
  const errors: FieldErrors = {}
  const problems: Array<[keyof ConnectInput, string | undefined]> = [
    ['name', channelNameProblem(input.name)],
    ['wabaId', idProblem(input.wabaId, 'wabaId')],
    ['phoneNumberId', idProblem(input.phoneNumberId, 'phoneNumberId')],
    ['accessToken', tokenProblem(input.accessToken)],
    ['appSecret', secretProblem(input.appSecret, true)]
  ]
  for (const [field, problem] of problems) if (problem !== undefined) errors[field] = problem
  return errors
}

// ── Graph errors → what the admin can do about them ──

type Stage = 'phone' | 'subscribe' | 'token'
const permissionCodes = new Set([0, 3, 10])

/**
 * Maps a failed Graph call of the connect or replace flow to field errors (catalogue keys): an expired
 * or invalid token (190), a token without the WhatsApp permissions, an id this token cannot see (100),
 * Meta unreachable (network, timeout, 5xx), Meta's call budget, or anything else Meta refused.
 */
export function graphProblem (err: GraphError, stage: Stage): FieldErrors {
  const code = err.code
  if (code === 190) return { accessToken: 'channels.error.tokenInvalid' }
  if (code !== undefined && (permissionCodes.has(code) || (code >= 200 && code <= 299))) return { accessToken: 'channels.error.tokenPermission' }
  if (code === 100 || code === 803) {
    if (stage === 'phone') return { phoneNumberId: 'channels.error.phoneNotFound' }
    if (stage === 'subscribe') return { wabaId: 'channels.error.wabaNotFound' }
    return { accessToken: 'channels.error.tokenOtherNumber' }
  }
  if (code === 4 || code === 80007) return { form: 'channels.error.callLimit' }
  if (err.httpStatus === 0 || err.httpStatus >= 500 || classifyGraphError(code, err.httpStatus).retry === 'backoff') return { form: 'channels.error.unreachable' }
  return { form: 'channels.error.refused' }
}

/** Meta's own words from a GraphError (its message without our request prefix), for the issues list. */
export function graphErrorText (err: GraphError): string {
  const m = /HTTP \d+ (?:#\d+(?:\/\d+)? )?(.+)$/.exec(err.message)
  if (m !== null && err.code !== undefined) return m[1]!
  if (err.httpStatus === 0) return /timed out/.test(err.message) ? 'Meta did not answer in time' : `Could not reach Meta (${/failed: (.+)$/.exec(err.message)?.[1] ?? 'network error'})`
  return `Meta answered HTTP ${err.httpStatus}`
}

function clientWith (deps: Pick<Deps, 'config'>, accessToken: string, version: string): GraphClient {
  return graphClientFor(deps, { accessToken, graphApiVersion: version })
}

function phoneFields (phone: GraphPhoneNumber): Pick<Channel, 'displayPhoneNumber' | 'verifiedName' | 'qualityRating' | 'messagingTier'> {
  return {
    displayPhoneNumber: phone.displayPhoneNumber ?? '',
    verifiedName: phone.verifiedName ?? '',
    qualityRating: phone.qualityRating ?? null,
    messagingTier: phone.messagingLimitTier ?? null
  }
}

// ── connect ──

/**
 * Connects a number: validates the form, refuses a phone number id already connected in this
 * workspace, checks the token against GET /{phone-number-id}, subscribes the app to the WABA, and only
 * then stores the channel (credentials encrypted) with an audit entry. Templates are synced afterwards;
 * a failed sync is recorded on the channel's health panel and does not undo the connection.
 */
export async function connectChannel (deps: D, actor: ConnectActor, raw: ConnectInput): Promise<Result<{ channel: Channel, templates: SyncResult | undefined }>> {
  const input = cleanConnectInput(raw)
  const errors = validateConnect(input)
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  if (findChannelByPhoneNumberId(deps.db, actor.workspaceId, input.phoneNumberId) !== undefined) return { ok: false, errors: { phoneNumberId: 'channels.error.duplicate' } }
  const version = deps.config.whatsapp.graph_api_version
  const client = clientWith(deps, input.accessToken, version)
  let phone: GraphPhoneNumber
  try {
    phone = await client.getPhoneNumber(input.phoneNumberId)
    await subscribe(client, input.wabaId)
  } catch (err) {
    if (!(err instanceof GraphError)) throw err
    deps.log.warn({ code: err.code, subcode: err.subcode, httpStatus: err.httpStatus, fbtraceId: err.fbtraceId }, 'channel connect refused by the Graph API')
    return { ok: false, errors: graphProblem(err, err instanceof SubscribeError ? 'subscribe' : 'phone') }
  }
  const now = deps.clock.now()
  const stored = deps.db.transaction((db) => {
    if (findChannelByPhoneNumberId(db, actor.workspaceId, input.phoneNumberId) !== undefined) return undefined
    const created = createChannel(db, actor.workspaceId, { ...input, graphApiVersion: version }, now)
    const details = { ...phoneFields(phone), tokenCheckedAt: now, subscribedAt: now, updatedAt: now }
    updateChannel(db, actor.workspaceId, created.id, details)
    audit(db, actor, 'channel_connected', { channel: created.name, number: details.displayPhoneNumber || created.phoneNumberId }, now)
    return { ...created, ...details }
  }, { behavior: 'immediate' })
  if (stored === undefined) return { ok: false, errors: { phoneNumberId: 'channels.error.duplicate' } }
  const templates = await syncChannelTemplates(deps, stored)
  return { ok: true, value: { channel: stored, templates: templates.ok ? templates.value : undefined } }
}

class SubscribeError extends GraphError {}

async function subscribe (client: GraphClient, wabaId: string): Promise<void> {
  try {
    await client.subscribeApp(wabaId)
  } catch (err) {
    if (!(err instanceof GraphError)) throw err
    throw new SubscribeError(err.message, err)
  }
}

/** Syncs the WABA's templates for a channel; a failure is recorded on its health panel. */
async function syncChannelTemplates (deps: D, channel: Channel): Promise<{ ok: true, value: SyncResult } | { ok: false, errors: FieldErrors }> {
  try {
    return { ok: true, value: await syncTemplates(deps, channel) }
  } catch (err) {
    if (!(err instanceof GraphError)) throw err
    deps.log.warn({ code: err.code, httpStatus: err.httpStatus, fbtraceId: err.fbtraceId }, 'template sync failed')
    recordChannelIssue(deps.db, channel, { source: 'graph', code: err.code ?? null, title: `Template sync failed: ${graphErrorText(err)}`, detail: err.details ?? null }, deps.clock.now())
    return { ok: false, errors: graphProblem(err, 'token') }
  }
}

/** The "Sync templates" button: how many templates Meta lists, or why it could not be asked. */
export async function syncTemplatesNow (deps: D, workspaceId: string, id: string): Promise<Result<SyncResult>> {
  return await syncChannelTemplates(deps, channelOr404(deps.db, workspaceId, id))
}

// ── health ──

export type CheckOutcome = 'ok' | 'token' | 'unreachable' | 'failed'

/**
 * "Check now": asks Meta for the phone number with the stored token and refreshes what it says (name,
 * quality rating, messaging tier). A failure is recorded as an issue; 190 and its family mark the
 * channel "needs reconnecting". A successful check (the admin says "fixed") makes the channel active again.
 */
export async function checkChannel (deps: D, workspaceId: string, id: string): Promise<CheckOutcome> {
  const channel = channelOr404(deps.db, workspaceId, id)
  try {
    const phone = await graphClientFor(deps, channel).getPhoneNumber(channel.phoneNumberId)
    const now = deps.clock.now()
    const reconnected = channel.status !== 'active' ? { status: 'active' as const, statusDetail: null } : {}
    updateChannel(deps.db, workspaceId, channel.id, { ...phoneFields(phone), ...reconnected, tokenCheckedAt: now, updatedAt: now })
    // Workers waiting on this number (queued sends, media) resume at once.
    deps.events.emit('channel.changed', { workspaceId, channelId: channel.id })
    return 'ok'
  } catch (err) {
    if (!(err instanceof GraphError)) throw err
    deps.log.warn({ code: err.code, httpStatus: err.httpStatus, fbtraceId: err.fbtraceId }, 'channel check failed')
    deps.db.transaction((db) => {
      recordChannelIssue(db, channel, { source: 'graph', code: err.code ?? null, title: graphErrorText(err), detail: err.details ?? null }, deps.clock.now())
    }, { behavior: 'immediate' })
    deps.events.emit('channel.changed', { workspaceId, channelId: channel.id })
    const problem = graphProblem(err, 'phone')
    if (problem.accessToken !== undefined) return 'token'
    return problem.form === 'channels.error.unreachable' ? 'unreachable' : 'failed'
  }
}

// ── step-up: the current password again, throttled like sign-in ──

export type PasswordCheck = 'ok' | 'wrong' | 'throttled'

/**
 * Checks the signed-in user's password again before a sensitive change. Failures count towards a
 * per-account throttle (growing waits after a few tries); success clears it and marks the session as
 * freshly re-authenticated.
 */
export async function confirmPassword (deps: Pick<Deps, 'db' | 'clock'>, actor: Pick<ChannelActor, 'userId' | 'sessionId'>, password: string): Promise<PasswordCheck> {
  const key = `step-up:${actor.userId}`
  const now = deps.clock.now()
  if (blockedUntil(deps.db, key, now) !== undefined) return 'throttled'
  const user = findUserById(deps.db, actor.userId)
  const ok = user !== undefined && password !== '' && await verifyPassword(password.length > 4096 ? '' : password, user.passwordHash)
  const later = deps.clock.now()
  if (!ok) {
    recordFailure(deps.db, key, 'account', later)
    return 'wrong'
  }
  clearFailures(deps.db, key)
  markReauthenticated(deps.db, actor.sessionId, later)
  return 'ok'
}

// ── replace credentials, rename, disconnect ──

export interface CredentialsInput { current: string, accessToken: string, appSecret: string }

/**
 * Replaces the access token (and optionally the app secret) after the user's password: the new token
 * must read this channel's phone number before it is stored. The old app secret stays accepted for
 * signatures (previousAppSecret) while Meta finishes rotating. The channel becomes active again.
 */
export async function replaceCredentials (deps: D, actor: ChannelActor, id: string, raw: CredentialsInput): Promise<Result<null>> {
  const channel = channelOr404(deps.db, actor.workspaceId, id)
  const accessToken = raw.accessToken.trim()
  const appSecret = raw.appSecret.trim()
  const errors: FieldErrors = {}
  const tokenError = tokenProblem(accessToken)
  const secretError = secretProblem(appSecret, false)
  if (tokenError !== undefined) errors.accessToken = tokenError
  if (secretError !== undefined) errors.appSecret = secretError
  if (raw.current === '') errors.current = 'channels.current.required'
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const password = await confirmPassword(deps, actor, raw.current)
  if (password !== 'ok') return { ok: false, errors: { current: password === 'throttled' ? 'channels.current.throttled' : 'auth.current.wrong' } }
  let phone: GraphPhoneNumber
  try {
    phone = await clientWith(deps, accessToken, channel.graphApiVersion).getPhoneNumber(channel.phoneNumberId)
  } catch (err) {
    if (!(err instanceof GraphError)) throw err
    deps.log.warn({ code: err.code, httpStatus: err.httpStatus, fbtraceId: err.fbtraceId }, 'new channel token refused by the Graph API')
    return { ok: false, errors: graphProblem(err, 'token') }
  }
  const now = deps.clock.now()
  const rotate = appSecret !== '' && appSecret !== channel.appSecret
  deps.db.transaction((db) => {
    updateChannel(db, actor.workspaceId, channel.id, {
      ...phoneFields(phone),
      accessToken,
      accessTokenLast4: accessToken.slice(-4),
      ...(rotate ? { appSecret, previousAppSecret: channel.appSecret } : {}),
      status: 'active',
      statusDetail: null,
      tokenCheckedAt: now,
      updatedAt: now
    })
    audit(db, actor, 'channel_credentials_replaced', { channel: channel.name, secret: rotate }, now)
  }, { behavior: 'immediate' })
  deps.events.emit('channel.changed', { workspaceId: actor.workspaceId, channelId: channel.id })
  return { ok: true, value: null }
}

/** Renames a channel (the name the team sees). */
export function renameChannel (deps: Pick<Deps, 'db' | 'clock'>, actor: ChannelActor, id: string, rawName: string): Result<null> {
  const channel = channelOr404(deps.db, actor.workspaceId, id)
  const name = rawName.trim()
  const problem = channelNameProblem(name)
  if (problem !== undefined) return { ok: false, errors: { name: problem } }
  if (name === channel.name) return { ok: true, value: null }
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    updateChannel(db, actor.workspaceId, channel.id, { name, updatedAt: now })
    audit(db, actor, 'channel_renamed', { from: channel.name, to: name }, now)
  }, { behavior: 'immediate' })
  return { ok: true, value: null }
}

/** A channel to confirm disconnecting (404 when it is not this workspace's). */
export function channelToDisconnect (deps: Pick<Deps, 'db'>, workspaceId: string, id: string): ChannelSummary {
  return summaryOf(channelOr404(deps.db, workspaceId, id))
}

/**
 * Disconnects a channel: soft delete. Its callback URL stops answering (within the webhook cache's few
 * seconds), its conversations stay readable in the database for the retention rules to handle.
 */
export function disconnectChannel (deps: Pick<Deps, 'db' | 'clock'>, actor: ChannelActor, id: string): void {
  const channel = channelOr404(deps.db, actor.workspaceId, id)
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    updateChannel(db, actor.workspaceId, channel.id, { deletedAt: now, updatedAt: now })
    audit(db, actor, 'channel_disconnected', { channel: channel.name, number: channel.displayPhoneNumber || channel.phoneNumberId }, now)
  }, { behavior: 'immediate' })
}

// The message side of WhatsApp: inbound messages into conversations (once per wamid), statuses that
// only move forward, reactions attached to their target, edits and revokes. Synchronous: every
// function runs inside the caller's transaction. Events are returned, to be emitted after commit.
import type { Db } from '../../db/open.js'
import type { InboundMessageEvent, StatusEvent, WaMessageBody } from '../../platform/whatsapp/webhook-payload.js'
import {
  findMessage, findOpenConversation, insertConversation, latestResolvedConversation, insertMessage, insertStatusOnce, markStatusApplied, messageByWamid,
  parkedStatuses, updateConversation, updateMessage, upsertReaction, findReaction, type Conversation, type Message, type MessageStatusRow
} from './messages.store.js'
import { queueHookEvent } from '../hooks/hooks.queue.js'

export type { Conversation, Message }
export { conversationMessages, deleteStatusesOf, findConversation, findMessage, reactionsTo, statusHistory, tracesOfContacts } from './messages.store.js'

/** What changed, for the event bus (emitted by the caller after commit). */
export type MessageChange =
  | { kind: 'created', conversationId: string, messageId: string, direction: 'in' | 'out' }
  | { kind: 'updated', conversationId: string, messageId: string }

const dayMs = 24 * 60 * 60 * 1000

/** The customer-service window: 24 h from the contact's latest message (Meta's timestamp). */
export function windowClosesAt (conversation: Pick<Conversation, 'lastInboundAt'>): number | null {
  return conversation.lastInboundAt === null ? null : conversation.lastInboundAt + dayMs
}

/** The decrypted content of a message as stored by recordInbound. */
export interface MessageContent {
  body: WaMessageBody | { type: 'revoked' }
  context?: InboundMessageEvent['context']
  referral?: InboundMessageEvent['referral']
  errors?: InboundMessageEvent['errors']
  /** For edits: how many times the customer changed the text. */
  edits?: number
}

export function readContent (message: Pick<Message, 'content'>): MessageContent {
  return JSON.parse(message.content) as MessageContent
}

/** Body types that are kept and shown, but mean Weltra did not understand what Meta sent. */
const unknownTypes = new Set(['unsupported', 'invalid', 'other'])
/** Inbound types that are not the customer writing (they do not open the 24-hour window). */
const nonUserTypes = new Set(['system'])

export interface InboundInput {
  workspaceId: string
  channelId: string
  contactId: string
  event: InboundMessageEvent
  /** A message on a resolved conversation reopens it, or starts a new one (workspace setting). */
  resolvedReply?: 'reopen' | 'new'
}

/**
 * Stores an inbound message once per wamid in the contact's open conversation on that number (a new
 * conversation when none is open). Returns undefined for a redelivered wamid.
 */
export function recordInbound (db: Db, input: InboundInput, now: number): { message: Message, conversation: Conversation, newConversation: boolean } | undefined {
  const { workspaceId, event } = input
  const { key, message: existing } = messageByWamid(db, workspaceId, event.wamid)
  if (existing !== undefined) return undefined
  const at = event.timestamp ?? now
  const opensWindow = !nonUserTypes.has(event.body.type)
  let conversation = findOpenConversation(db, workspaceId, input.channelId, input.contactId)
  let newConversation = false
  if (conversation === undefined && input.resolvedReply !== 'new') {
    const resolved = latestResolvedConversation(db, workspaceId, input.channelId, input.contactId)
    if (resolved !== undefined) {
      updateConversation(db, workspaceId, resolved.id, { status: 'open', resolvedAt: null, updatedAt: now })
      conversation = { ...resolved, status: 'open', resolvedAt: null }
    }
  }
  if (conversation === undefined) {
    conversation = insertConversation(db, { workspaceId, channelId: input.channelId, contactId: input.contactId, status: 'open', lastMessageAt: at, createdAt: now, updatedAt: now })
    newConversation = true
  }
  const lastInboundAt = opensWindow ? Math.max(conversation.lastInboundAt ?? 0, at) : conversation.lastInboundAt
  const entryPointUntil = opensWindow && event.referral !== null ? Math.max(conversation.entryPointUntil ?? 0, at + 3 * dayMs) : conversation.entryPointUntil
  const set: Partial<Conversation> = {
    lastMessageAt: Math.max(conversation.lastMessageAt, at),
    lastInboundAt,
    entryPointUntil,
    unreadCount: conversation.unreadCount + 1,
    updatedAt: now,
    // A customer writing on a pending or snoozed conversation brings it back to the team.
    ...(conversation.status === 'pending' || conversation.status === 'snoozed' ? { status: 'open' as const } : {})
  }
  updateConversation(db, workspaceId, conversation.id, set)
  conversation = { ...conversation, ...set }
  const content: MessageContent = { body: event.body }
  if (event.context !== null) content.context = event.context
  if (event.referral !== null) content.referral = event.referral
  if (event.errors.length > 0) content.errors = event.errors
  const message = insertMessage(db, {
    workspaceId,
    conversationId: conversation.id,
    channelId: input.channelId,
    direction: 'in',
    wamid: event.wamid,
    wamidKey: key,
    type: event.body.type,
    content: JSON.stringify(content),
    replyToWamid: event.context?.messageId ?? null,
    forwarded: event.context?.frequentlyForwarded === true ? 2 : event.context?.forwarded === true ? 1 : 0,
    unknown: unknownTypes.has(event.body.type),
    status: 'received',
    statusRank: 0,
    timestamp: at,
    createdAt: now,
    updatedAt: now
  })
  if (at >= conversation.lastMessageAt || conversation.lastMessageId === null) {
    updateConversation(db, workspaceId, conversation.id, { lastMessageId: message.id })
    conversation = { ...conversation, lastMessageId: message.id }
  }
  if (newConversation) queueHookEvent(db, workspaceId, 'conversation.created', { conversationId: conversation.id }, now)
  queueHookEvent(db, workspaceId, 'message.received', { messageId: message.id }, now)
  return { message, conversation, newConversation }
}

/**
 * Applies a customer's edit (Coexistence numbers) to the message it edits. An edit of a message
 * Weltra never saw is stored as a message of its own, marked edited.
 */
export function applyEdit (db: Db, input: InboundInput & { body: Extract<WaMessageBody, { type: 'edit' }> }, now: number): MessageChange | undefined {
  const { workspaceId, event, body } = input
  const original = body.originalMessageId === null ? undefined : messageByWamid(db, workspaceId, body.originalMessageId).message
  const inner = body.message ?? { type: 'invalid' as const, declaredType: 'edit', reason: 'edit without message' }
  if (original === undefined || original.direction !== 'in') {
    const stored = recordInbound(db, { ...input, event: { ...event, body: inner } }, now)
    if (stored === undefined) return undefined
    updateMessage(db, workspaceId, stored.message.id, { editedAt: event.timestamp ?? now })
    return { kind: 'created', conversationId: stored.conversation.id, messageId: stored.message.id, direction: 'in' }
  }
  // Idempotent: the edit's own wamid is remembered in the status log of the original.
  const seen = insertStatusOnce(db, { workspaceId, channelId: input.channelId, wamid: event.wamid, status: 'edit', timestamp: event.timestamp ?? now, receivedAt: now, appliedAt: now })
  if (!seen.inserted) return undefined
  const previous = readContent(original)
  updateMessage(db, workspaceId, original.id, { content: JSON.stringify({ ...previous, body: inner, edits: (previous.edits ?? 0) + 1 }), type: inner.type, editedAt: event.timestamp ?? now, updatedAt: now })
  return { kind: 'updated', conversationId: original.conversationId, messageId: original.id }
}

/** The customer deleted a message (Coexistence numbers): its content is wiped, a marker stays. */
export function applyRevoke (db: Db, workspaceId: string, originalWamid: string | null, at: number, now: number): MessageChange | undefined {
  if (originalWamid === null) return undefined
  const original = messageByWamid(db, workspaceId, originalWamid).message
  if (original === undefined || original.direction !== 'in' || original.revokedAt !== null) return undefined
  updateMessage(db, workspaceId, original.id, { content: JSON.stringify({ body: { type: 'revoked' } } satisfies MessageContent), revokedAt: at, updatedAt: now })
  return { kind: 'updated', conversationId: original.conversationId, messageId: original.id }
}

/**
 * A customer's reaction: set, changed or removed (emoji null). Older reaction events than the one
 * applied change nothing, so out-of-order deliveries end in the customer's latest choice.
 */
export function applyReaction (db: Db, input: { workspaceId: string, contactId: string, targetWamid: string, emoji: string | null, timestamp: number }, now: number): MessageChange | undefined {
  const current = findReaction(db, input.workspaceId, input.targetWamid, input.contactId)
  if (current !== undefined && current.targetWamid === input.targetWamid && current.timestamp > input.timestamp) return undefined
  if (current !== undefined && current.emoji === input.emoji && current.timestamp === input.timestamp) return undefined
  upsertReaction(db, { ...input, now })
  const target = messageByWamid(db, input.workspaceId, input.targetWamid).message
  return target === undefined ? undefined : { kind: 'updated', conversationId: target.conversationId, messageId: target.id }
}

// ── statuses ──
/** Forward-only ranks (SPEC §5). `failed` has no rank: it overrides only accepted/sent. */
const ranks: Readonly<Record<string, number>> = { accepted: 0, sent: 1, delivered: 2, read: 3, played: 4 }
const timestampColumn = { sent: 'sentAt', delivered: 'deliveredAt', read: 'readAt', played: 'playedAt', failed: 'failedAt' } as const

/**
 * Records a status webhook once per (wamid, status) and applies it to the message. A status for a
 * wamid Weltra does not know is parked and applied when the wamid shows up (attachWamid). A status
 * carrying biz_opaque_callback_data = one of our outbound message ids reconciles a send whose
 * response was lost.
 */
export function recordStatus (db: Db, input: { workspaceId: string, channelId: string, event: StatusEvent }, now: number): { change: MessageChange | undefined, duplicate: boolean } {
  const { workspaceId, event } = input
  const error = event.errors[0]
  const row = {
    workspaceId,
    channelId: input.channelId,
    wamid: event.wamid,
    status: event.status.slice(0, 40),
    timestamp: event.timestamp ?? now,
    errorCode: error?.code ?? null,
    errorTitle: error?.title?.slice(0, 300) ?? error?.message?.slice(0, 300) ?? null,
    errorDetail: error?.details?.slice(0, 1000) ?? null,
    pricingCategory: event.pricing?.category ?? null,
    pricingType: event.pricing?.type ?? null,
    receivedAt: now
  }
  const stored = insertStatusOnce(db, row)
  if (!stored.inserted) return { change: undefined, duplicate: true }
  let message = messageByWamid(db, workspaceId, event.wamid).message
  if (message === undefined && event.bizOpaqueCallbackData !== null) {
    const ours = findMessage(db, workspaceId, event.bizOpaqueCallbackData)
    if (ours !== undefined && ours.direction === 'out' && ours.wamid === null) {
      return { change: attachWamid(db, workspaceId, ours.id, event.wamid, now), duplicate: false }
    }
  }
  if (message === undefined || message.direction !== 'out') return { change: undefined, duplicate: false }
  message = applyStatusRow(db, message, { ...row, id: stored.id! } as MessageStatusRow, now)
  return { change: { kind: 'updated', conversationId: message.conversationId, messageId: message.id }, duplicate: false }
}

/**
 * Gives an outbound message the wamid Meta returned for it, then applies any statuses that arrived
 * before (parked). Used by the send path and by reconciliation.
 */
export function attachWamid (db: Db, workspaceId: string, messageId: string, wamid: string, now: number): MessageChange | undefined {
  let message = findMessage(db, workspaceId, messageId)
  if (message === undefined) return undefined
  if (message.wamid !== wamid) {
    const { key, message: holder } = messageByWamid(db, workspaceId, wamid)
    if (holder !== undefined) return undefined
    updateMessage(db, workspaceId, messageId, { wamid, wamidKey: key, status: message.status === 'queued' || message.status === 'accepted' ? 'accepted' : message.status, updatedAt: now })
    message = { ...message, wamid, wamidKey: key }
  }
  for (const parked of parkedStatuses(db, workspaceId, wamid)) message = applyStatusRow(db, message, parked, now)
  return { kind: 'updated', conversationId: message.conversationId, messageId: message.id }
}

function applyStatusRow (db: Db, message: Message, s: MessageStatusRow, now: number): Message {
  const set: Partial<Message> = {}
  const column = timestampColumn[s.status as keyof typeof timestampColumn]
  if (column !== undefined && message[column] === null) set[column] = s.timestamp
  const rank = ranks[s.status]
  if (s.status === 'failed') {
    set.errorCode = s.errorCode
    set.errorTitle = s.errorTitle
    set.errorDetail = s.errorDetail
    if (message.statusRank <= ranks.sent! && message.status !== 'failed') set.status = 'failed'
  } else if (rank !== undefined) {
    // A positive status after `failed` (a multi-device edge case) wins, keeping the error.
    if (message.status === 'failed' ? rank > ranks.sent! : rank > message.statusRank) {
      set.status = s.status
      set.statusRank = rank
    }
  }
  if (s.pricingCategory !== null) set.pricingCategory = s.pricingCategory
  if (s.pricingType !== null) set.pricingType = s.pricingType
  if (Object.keys(set).length > 0) updateMessage(db, message.workspaceId, message.id, { ...set, updatedAt: now })
  if (set.status !== undefined) queueHookEvent(db, message.workspaceId, 'message.status', { messageId: message.id, status: set.status }, now)
  markStatusApplied(db, message.workspaceId, s.id, now)
  return { ...message, ...set }
}

/** Outbound rows are written by the send path (the inbox composer); exported for it and for tests. */
export function insertOutbound (db: Db, row: { workspaceId: string, conversationId: string, channelId: string, type: string, content: MessageContent, authorId: string | null, clientId?: string | null, direction?: 'out' | 'note' }, now: number): Message {
  const { direction = 'out', clientId = null, ...rest } = row
  const message = insertMessage(db, { ...rest, clientId, content: JSON.stringify(row.content), direction, status: direction === 'note' ? 'note' : 'queued', statusRank: 0, timestamp: now, createdAt: now, updatedAt: now })
  updateConversation(db, row.workspaceId, row.conversationId, { lastMessageAt: now, lastMessageId: message.id, updatedAt: now })
  return message
}

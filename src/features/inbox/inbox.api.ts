// Conversations and messages in the public API (/api/v1): the inbox's filters, assignment, status and
// labels, a conversation's messages with their delivery state, and sending (text, a private note, an
// approved template) with an Idempotency-Key so a retried request sends once. The same services as the
// inbox screens: the 24-hour window, opt-outs and channel state are checked exactly as for an agent.
//
//   GET    /api/v1/conversations                                   agent  list, cursor-paged
//   GET    /api/v1/conversations/:conversationId                   agent  one conversation
//   PATCH  /api/v1/conversations/:conversationId                   agent  status (snoozed_until), assignee
//   PUT    /api/v1/conversations/:conversationId/labels/:labelId   agent  add a label
//   DELETE /api/v1/conversations/:conversationId/labels/:labelId   agent  remove a label
//   GET    /api/v1/conversations/:conversationId/messages          agent  messages, newest first, cursor-paged
//   POST   /api/v1/conversations/:conversationId/messages          agent  send (Idempotency-Key)
//   POST   /api/v1/conversations/:conversationId/media             agent  send a file (multipart; Idempotency-Key)
//   GET    /api/v1/templates                                       agent  approved templates, with their parameters
//   GET    /api/v1/media/:mediaId                                  agent  a message's file (the media id of a message)
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../deps.js'
import type { ApiPrincipal } from '../../platform/http/access.js'
import { apiConfig, apiError, apiPrincipal, Id, iso, labelRoutes, Nullable, OneOf, pageQuery, pageSchema, Time } from '../../platform/http/api.js'
import { AppError, NotFoundError, ValidationError } from '../../platform/http/errors.js'
import { sha256Base64Url } from '../../platform/crypto/index.js'
import { displayName } from '../contacts/contact-page.service.js'
import { assignConversation, conversationOf, cursorText, listSearch, parseCursor, setLabel, setStatus, type Status } from './conversations.service.js'
import { listConversations, threadMessages } from './conversations.store.js'
import { sendFromComposer, sendTemplate, templateForm, type ComposerActor, type ComposerErrors, type SendResult } from './composer.service.js'
import { listChannels } from '../channels/channels.service.js'
import { approvedTemplates } from '../templates/templates.service.js'
import { conversationRecords, messageRecords, type ConversationRecord, type MessageRecord } from './inbox-records.service.js'
import { composerMultipart, readComposerForm } from './composer.routes.js'
import { attachmentLimits } from './composer.service.js'
import multipart from '@fastify/multipart'
import { serveMedia, type MediaAnswers } from '../media/media.routes.js'

const statuses = ['open', 'pending', 'snoozed', 'resolved'] as const

export const conversationSchema = Type.Object({
  id: Type.String(),
  status: OneOf(statuses),
  channel_id: Type.String({ description: 'The WhatsApp number (channel) it is on.' }),
  contact: Type.Object({
    id: Type.String(),
    display_name: Nullable(Type.String()),
    whatsapp: Nullable(Type.String(), 'E.164')
  }),
  assignee: Nullable(Type.Object({ id: Type.String(), name: Nullable(Type.String()) }), 'The member it is assigned to.'),
  labels: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
  unread_count: Type.Integer({ description: 'Customer messages nobody has opened yet.' }),
  window: Type.Object({
    state: OneOf(['open', 'closing', 'closed', 'none'] as const, 'The 24-hour customer service window: free-form replies only while open or closing; otherwise a template.'),
    closes_at: Nullable(Time())
  }),
  snoozed_until: Nullable(Time()),
  last_message_at: Time(),
  last_inbound_at: Nullable(Time()),
  created_at: Time(),
  updated_at: Time()
}, { description: 'A conversation.' })

export const messageSchema = Type.Object({
  id: Type.String(),
  conversation_id: Type.String(),
  direction: OneOf(['in', 'out', 'note'] as const, 'in: from the customer; out: from the team; note: private, never sent.'),
  type: Type.String({ description: 'text, image, video, audio, document, sticker, location, contacts, interactive, button, reaction, order, template, system, unsupported …' }),
  text: Nullable(Type.String(), 'The text a person reads: the text, a caption, a button label.'),
  body: Type.Record(Type.String(), Type.Unknown(), { description: 'The message as WhatsApp described it, without Meta\'s media ids.' }),
  media: Nullable(Type.Object({ id: Type.String(), kind: Type.String(), mime_type: Nullable(Type.String()), file_name: Nullable(Type.String()), size: Nullable(Type.Integer()), stored: Type.Boolean() })),
  status: Type.String({ description: 'Outbound: queued, sent, delivered, read, played or failed. Inbound: received.' }),
  error: Nullable(Type.Object({ code: Nullable(Type.Integer()), title: Nullable(Type.String()), detail: Nullable(Type.String()) }), 'Why a send failed, as Meta said.'),
  author_id: Nullable(Type.String(), 'The member who wrote it; null for customers and API sends.'),
  timestamp: Time(),
  sent_at: Nullable(Time()),
  delivered_at: Nullable(Time()),
  read_at: Nullable(Time()),
  failed_at: Nullable(Time()),
  edited_at: Nullable(Time()),
  revoked_at: Nullable(Time())
}, { description: 'A message.' })

export function conversationJson (c: ConversationRecord): Record<string, unknown> {
  const r = c.row
  return {
    id: r.id,
    status: r.status,
    channel_id: r.channelId,
    contact: { id: r.contactId, display_name: c.contact === undefined ? null : displayName(c.contact), whatsapp: c.contact?.waId == null ? null : `+${c.contact.waId}` },
    assignee: r.assigneeId === null ? null : { id: r.assigneeId, name: c.assigneeName },
    labels: c.labels,
    unread_count: r.unreadCount,
    window: { state: c.window.state, closes_at: iso(c.window.closesAt) },
    snoozed_until: r.status === 'snoozed' ? iso(r.snoozedUntil) : null,
    last_message_at: iso(r.lastMessageAt),
    last_inbound_at: iso(r.lastInboundAt),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt)
  }
}

export function messageJson (m: MessageRecord): Record<string, unknown> {
  const r = m.row
  return {
    id: r.id,
    conversation_id: r.conversationId,
    direction: r.direction,
    type: r.type,
    text: m.text,
    body: m.body,
    media: m.media === null ? null : { id: m.media.id, kind: m.media.kind, mime_type: m.media.mimeType, file_name: m.media.fileName, size: m.media.size, stored: m.media.stored },
    status: r.status,
    error: r.errorCode === null && r.errorTitle === null ? null : { code: r.errorCode, title: r.errorTitle, detail: r.errorDetail },
    author_id: r.authorId,
    timestamp: iso(r.timestamp),
    sent_at: iso(r.sentAt),
    delivered_at: iso(r.deliveredAt),
    read_at: iso(r.readAt),
    failed_at: iso(r.failedAt),
    edited_at: iso(r.editedAt),
    revoked_at: iso(r.revokedAt)
  }
}

const templateSchema = Type.Object({
  id: Type.String({ description: 'What POST …/messages takes as template_id.' }),
  channel_id: Type.String(),
  name: Type.String(),
  language: Type.String(),
  category: Nullable(Type.String()),
  header: Type.Object({ format: Type.String(), text: Nullable(Type.String()) }),
  body: Type.String(),
  footer: Nullable(Type.String()),
  buttons: Type.Array(Type.Object({ type: Type.String(), text: Type.String(), url: Nullable(Type.String()) })),
  parameters: Type.Array(Type.Object({ name: Type.String({ description: 'The key to send in `parameters`: "header", "body.1", "body.first_name", "button.0".' }), example: Nullable(Type.String()) })),
  sendable: Type.Boolean({ description: 'false for templates whose parameters Weltra cannot send (OTP, catalogues, flows, media headers).' })
}, { description: 'An approved message template.' })

const conversationParams = Type.Object({ conversationId: Id('The conversation\'s id.') })
const labelParams = Type.Object({ conversationId: Id('The conversation\'s id.'), labelId: Id('A label of the workspace.') })
const tags = ['Conversations']
const messageTags = ['Messages']

function composerActor (key: ApiPrincipal): ComposerActor {
  return { userId: null, workspaceId: key.workspaceId, role: key.role, name: key.name }
}

/** The send could not go (window closed, opted out, channel not ready…): the request was fine, the state was not. */
class SendRefusedError extends AppError {
  override name = 'SendRefusedError'
  constructor (key: string, params: Record<string, string | number> = {}) { super(409, 'send_refused', key, params) }
}

/** The Idempotency-Key was used before for a different message. */
class IdempotencyConflictError extends AppError {
  override name = 'IdempotencyConflictError'
  constructor () { super(409, 'idempotency_conflict', 'api.errors.idempotencyConflict') }
}

/** Composer errors as the API's: a refusal of the whole send (form) is a 409, a field's problem a 422. */
function refused (errors: ComposerErrors): never {
  const form = errors.form
  if (form !== undefined) throw new SendRefusedError(form.key, form.params)
  throw new ValidationError(Object.fromEntries(Object.entries(errors).map(([field, e]) => [field === 'template' ? 'template_id' : field, e.key])))
}

const idempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_:.-]+$', description: 'Makes a retried request send once.' })) })

/** The composer's client id for an Idempotency-Key: scoped to the API key, so one key's retries never meet another's. */
function clientIdOf (req: FastifyRequest, key: ApiPrincipal): string {
  const idempotency = req.headers['idempotency-key']
  return typeof idempotency === 'string' ? 'api_' + sha256Base64Url(`${key.keyId}:${idempotency}`).slice(0, 40) : ''
}

/** A send's responses: 201 queued, 200 a retry, 409 refused (why, for this kind of send) or a reused key, and `extra`. */
function sendResponses (refusedWhen: string, extra: Record<number, Record<string, unknown>>): Record<number, Record<string, unknown>> {
  return {
    201: { ...messageSchema, description: 'Queued: the new message.' },
    200: { ...messageSchema, description: 'A retry: the message this Idempotency-Key already queued (Idempotent-Replayed: true).' },
    409: apiError(`send_refused: ${refusedWhen}; idempotency_conflict: this Idempotency-Key was used for another message.`),
    ...extra
  }
}

export async function inboxApi (app: FastifyInstance, deps: Deps): Promise<void> {
  const now = (): number => deps.clock.now()

  /**
   * Answers a send: its refusal as an error; a new message 201; a retry with the same Idempotency-Key
   * 200 with the message queued then — unless that message is another one (another conversation, or
   * not `same`), which is a client bug: 409, nothing sent.
   */
  function answerSend (reply: FastifyReply, key: ApiPrincipal, conversationId: string, result: SendResult, same: (record: MessageRecord) => boolean): FastifyReply {
    if (!result.ok) refused(result.errors)
    const record = messageRecords(deps.db, key.workspaceId, [result.message])[0]!
    if (!result.duplicate) return reply.code(201).send(messageJson(record))
    if (record.row.conversationId !== conversationId || !same(record)) throw new IdempotencyConflictError()
    return reply.code(200).header('idempotent-replayed', 'true').send(messageJson(record))
  }
  // Multipart for the media send only (this plugin's routes); its limits are the composer's.
  await app.register(multipart, composerMultipart)
  const one = (req: FastifyRequest, id: string): Record<string, unknown> => {
    const record = conversationRecords(deps.db, apiPrincipal(req).workspaceId, [id], now())[0]
    if (record === undefined) throw new NotFoundError()
    return conversationJson(record)
  }

  app.get('/api/v1/conversations', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'List conversations',
      description: 'One status at a time (open by default), most recent activity first, like the inbox. `q` finds the contact by part of a name or an exact phone number.',
      operationId: 'listConversations',
      tags,
      querystring: Type.Object({
        status: Type.Optional(OneOf(statuses, 'open (default), pending, snoozed or resolved.')),
        assignee_id: Type.Optional(Id('Only conversations assigned to this member.')),
        unassigned: Type.Optional(Type.Boolean({ description: 'true: only conversations nobody is assigned to.' })),
        label_id: Type.Optional(Id('Only conversations with this label.')),
        channel_id: Type.Optional(Id('Only conversations on this number.')),
        q: Type.Optional(Type.String({ maxLength: 100, description: 'A contact name fragment or phone number.' })),
        ...pageQuery
      }, { additionalProperties: false }),
      response: { 200: pageSchema(conversationSchema) }
    }
  }, async (req) => {
    const q = req.query as { status?: Status, assignee_id?: string, unassigned?: boolean, label_id?: string, channel_id?: string, q?: string, cursor?: string, limit?: number }
    if (q.assignee_id !== undefined && q.unassigned === true) throw new ValidationError({ unassigned: 'api.errors.assigneeOrUnassigned' })
    const after = q.cursor === undefined ? undefined : parseCursor(q.cursor)
    if (q.cursor !== undefined && after === undefined) throw new ValidationError({ cursor: 'api.errors.badCursor' })
    const ws = apiPrincipal(req).workspaceId
    const view = q.assignee_id !== undefined ? 'mine' : q.unassigned === true ? 'unassigned' : 'all'
    const { rows, more } = listConversations(deps.db, ws, {
      status: q.status ?? 'open', view, userId: q.assignee_id ?? '', labelId: q.label_id, channelId: q.channel_id, ...listSearch(deps.db, ws, (q.q ?? '').trim()), after, limit: q.limit ?? 50
    })
    const last = rows.at(-1)
    return { data: conversationRecords(deps.db, ws, rows.map(r => r.id), now()).map(conversationJson), next_cursor: more && last !== undefined ? cursorText({ at: last.lastMessageAt, id: last.id }) : null }
  })

  app.get('/api/v1/conversations/:conversationId', {
    config: apiConfig('api:agent'),
    schema: { summary: 'Get a conversation', operationId: 'getConversation', tags, params: conversationParams, response: { 200: conversationSchema } }
  }, async (req) => one(req, (req.params as { conversationId: string }).conversationId))

  app.patch('/api/v1/conversations/:conversationId', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'Change status or assignee',
      description: '`status: snoozed` needs `snoozed_until` in the future; a snoozed conversation opens again by itself then. `assignee_id: null` unassigns.',
      operationId: 'updateConversation',
      tags,
      params: conversationParams,
      body: Type.Object({
        status: Type.Optional(OneOf(statuses)),
        snoozed_until: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 time, for status snoozed.' })),
        assignee_id: Type.Optional(Nullable(Id('A member of the workspace.')))
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: conversationSchema, 422: apiError('invalid: not a member, a snooze time in the past, or reopening a conversation when a newer one is open.') }
    }
  }, async (req) => {
    const { conversationId } = req.params as { conversationId: string }
    const body = req.body as { status?: Status, snoozed_until?: string, assignee_id?: string | null }
    const actor = apiPrincipal(req)
    conversationOf(deps, actor, conversationId)
    let until: number | undefined
    if (body.snoozed_until !== undefined) {
      until = Date.parse(body.snoozed_until)
      if (Number.isNaN(until) || body.status !== 'snoozed') throw new ValidationError({ snoozed_until: 'api.errors.snoozeTime' })
    }
    if (body.assignee_id !== undefined) assignConversation(deps, actor, conversationId, body.assignee_id)
    if (body.status !== undefined) setStatus(deps, actor, conversationId, body.status, until)
    return one(req, conversationId)
  })

  labelRoutes(app, {
    path: '/api/v1/conversations/:conversationId',
    thing: 'conversation',
    operation: 'Conversation',
    tags,
    params: labelParams,
    response: conversationSchema,
    apply: (req, labelId, on) => {
      const { conversationId } = req.params as { conversationId: string }
      setLabel(deps, apiPrincipal(req), conversationId, labelId, on)
      return one(req, conversationId)
    }
  })

  app.get('/api/v1/conversations/:conversationId/messages', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'List a conversation\'s messages',
      description: 'Newest first. Each message carries its delivery state (sent, delivered, read, failed with Meta\'s reason).',
      operationId: 'listMessages',
      tags: messageTags,
      params: conversationParams,
      querystring: Type.Object(pageQuery, { additionalProperties: false }),
      response: { 200: pageSchema(messageSchema) }
    }
  }, async (req) => {
    const { conversationId } = req.params as { conversationId: string }
    const q = req.query as { cursor?: string, limit?: number }
    const key = apiPrincipal(req)
    const conversation = conversationOf(deps, key, conversationId)
    const before = q.cursor === undefined ? undefined : parseCursor(q.cursor)
    if (q.cursor !== undefined && before === undefined) throw new ValidationError({ cursor: 'api.errors.badCursor' })
    const page = threadMessages(deps.db, key.workspaceId, conversation.id, { before, limit: q.limit ?? 50 })
    const newestFirst = [...page.rows].reverse()
    const oldest = page.rows[0]
    return { data: messageRecords(deps.db, key.workspaceId, newestFirst).map(messageJson), next_cursor: page.older && oldest !== undefined ? cursorText({ at: oldest.timestamp, id: oldest.id }) : null }
  })

  app.post('/api/v1/conversations/:conversationId/messages', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'Send a message',
      description: 'text: a free-form reply, only while the 24-hour window is open. template: an approved template of the conversation\'s number, with a value for each of its parameters (the names GET /api/v1/templates lists: "body.1", "body.first_name" …); refused for contacts who opted out. note: a private note for the team, never sent. ' +
        'The message is queued and sent by the outbound worker: its status moves from queued to sent, delivered and read (or failed, with Meta\'s reason). ' +
        'Send an Idempotency-Key header (8–64 characters) to make a retry safe: the same key returns the same message instead of sending twice.',
      operationId: 'sendMessage',
      tags: messageTags,
      params: conversationParams,
      headers: idempotencyHeaders,
      body: Type.Union([
        Type.Object({ type: Type.Literal('text'), text: Type.String({ minLength: 1, maxLength: 4096 }), reply_to: Type.Optional(Id('A message of the conversation to quote.')) }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('note'), text: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('template'), template_id: Type.String({ maxLength: 64, description: 'The id from GET /api/v1/templates.' }), parameters: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }), { description: 'A value for each parameter the template lists (body.1, header …).' })) }, { additionalProperties: false })
      ]),
      response: sendResponses('the 24-hour window is closed, the contact opted out, or the number cannot send', {
        422: apiError('invalid: a field is not valid, e.g. a template parameter left out (error.details says which).')
      })
    }
  }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const body = req.body as { type: 'text', text: string, reply_to?: string } | { type: 'note', text: string } | { type: 'template', template_id: string, parameters?: Record<string, string> }
    const key = apiPrincipal(req)
    const clientId = clientIdOf(req, key)
    const actor = composerActor(key)
    const result = body.type === 'template'
      ? await sendTemplate(deps, actor, conversationId, { templateId: body.template_id, clientId, values: body.parameters ?? {} })
      : await sendFromComposer(deps, actor, conversationId, { mode: body.type === 'note' ? 'note' : 'reply', text: body.text, clientId, replyTo: body.type === 'text' ? body.reply_to ?? '' : '' })
    return answerSend(reply, key, conversationId, result, (record) => body.type === 'template' ? record.row.type === 'template' : record.text === body.text)
  })

  const kinds = attachmentLimits()
  app.post('/api/v1/conversations/:conversationId/media', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'Send a file',
      description: 'An image, video, audio or document, as multipart/form-data, while the 24-hour window is open. Types and sizes WhatsApp accepts: ' +
        Object.entries(kinds).map(([kind, l]) => `${kind} (${l.types.join(', ')}; up to ${Math.round(l.maxBytes / 1024 / 1024)} MB)`).join('; ') +
        '. The file is checked before it is uploaded to Meta. An Idempotency-Key makes a retry safe.',
      operationId: 'sendMedia',
      tags: messageTags,
      params: conversationParams,
      headers: idempotencyHeaders,
      multipart: Type.Object({
        file: Type.String({ format: 'binary', description: 'The file, with its content type.' }),
        caption: Type.Optional(Type.String({ maxLength: 1024, description: 'Text under the file (not for audio).' })),
        reply_to: Type.Optional(Id('A message of the conversation to quote.'))
      }),
      response: sendResponses('the 24-hour window is closed or the number cannot send', {
        415: apiError('unsupported_media_type: send multipart/form-data.'),
        422: apiError('invalid: no file, a type WhatsApp does not take, too large, or a caption on audio (error.details says which).')
      })
    }
  }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const key = apiPrincipal(req)
    conversationOf(deps, key, conversationId)
    if (!req.isMultipart()) throw new AppError(415, 'unsupported_media_type', 'api.errors.multipart')
    const form = await readComposerForm(req)
    if (form.file === undefined) throw new ValidationError({ file: 'api.errors.fileRequired' })
    const result = await sendFromComposer(deps, composerActor(key), conversationId, { mode: 'reply', text: form.fields.caption ?? '', clientId: clientIdOf(req, key), replyTo: form.fields.reply_to ?? '', file: form.file })
    return answerSend(reply, key, conversationId, result, (record) => record.media !== null)
  })

  // A file not downloaded from Meta yet answers 202 (try again), one whose download failed for good 410.
  const mediaAnswers: MediaAnswers = {
    missing: () => { throw new NotFoundError() },
    pending: (_req, reply) => reply.code(202).header('retry-after', '5').header('cache-control', 'no-store').send({ status: 'pending', retry_after_seconds: 5 }),
    failed: () => { throw new AppError(410, 'gone', 'media.failed') }
  }
  app.get('/api/v1/media/:mediaId', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'Download a message\'s file',
      description: 'The bytes of a photo, video, voice note, document or sticker (a message\'s `media.id`), decrypted, with its type. Inbound files are fetched from Meta right after they arrive: until then the answer is 202 with Retry-After. Supports single byte ranges.',
      operationId: 'getMedia',
      tags: messageTags,
      params: Type.Object({ mediaId: Id('The `media.id` of a message.') }),
      response: {
        200: Type.String({ format: 'binary', description: 'The file.' }),
        202: Type.Object({ status: Type.Literal('pending'), retry_after_seconds: Type.Integer() }, { description: 'Not downloaded from Meta yet: try again after Retry-After.' }),
        410: apiError('gone: the download from Meta failed for good (the channel\'s health panel says why).')
      }
    }
  }, async (req, reply) => {
    return await serveMedia(deps, req, reply, apiPrincipal(req).workspaceId, (req.params as { mediaId: string }).mediaId, mediaAnswers)
  })

  app.get('/api/v1/templates', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'List approved templates',
      description: 'The approved templates of every number (or of one), as synced from Meta, with the parameters each needs.',
      operationId: 'listTemplates',
      tags: messageTags,
      querystring: Type.Object({ channel_id: Type.Optional(Id('Only this number\'s templates.')) }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(templateSchema) }, { description: 'The approved templates.' }) }
    }
  }, async (req) => {
    const q = req.query as { channel_id?: string }
    const ws = apiPrincipal(req).workspaceId
    const data: Array<Record<string, unknown>> = []
    for (const channel of listChannels(deps, ws)) {
      if (q.channel_id !== undefined && channel.id !== q.channel_id) continue
      const approved = approvedTemplates(deps.db, ws, channel.wabaId)
      for (const template of approved) {
        const form = templateForm(template, approved)
        data.push({
          id: form.id,
          channel_id: channel.id,
          name: form.name,
          language: form.language,
          category: form.category,
          header: { format: form.headerFormat, text: form.headerText },
          body: form.body,
          footer: form.footer,
          buttons: form.buttons,
          parameters: form.params.map(p => ({ name: p.key, example: p.example })),
          sendable: form.unsupported === null && !['IMAGE', 'VIDEO', 'DOCUMENT'].includes(form.headerFormat)
        })
      }
    }
    return { data }
  })
}

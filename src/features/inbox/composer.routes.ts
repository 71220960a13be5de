// The composer's requests. The thread page (inbox.routes.ts) renders the composer the first time; these
// routes send from it and re-render it. Every route is 'agent' and takes the conversation from the
// actor's workspace: another workspace's (or an unknown) conversation answers 404.
//
//   POST /inbox/:conversationId/messages            send a reply (text, or a file + caption) or save a note
//   POST /inbox/:conversationId/templates           send an approved template (parameters, header file)
//   POST /inbox/:conversationId/reactions           react to a customer's message (messageId, emoji)
//   GET  /inbox/:conversationId/composer            the composer (?mode=reply|note|template, ?replyTo=, ?template=)
//   GET  /inbox/:conversationId/reply-target        the "replying to" chip for ?messageId= (the bubbles' Reply action)
//   GET  /inbox/:conversationId/templates/preview   the live preview of ?template= with its p.* values
//   POST /inbox/:conversationId/typing              "I am writing a note" (typing=1, repeated at most every ~3 s
//                                                   while typing) or "I stopped" (typing=0): 204. Rate-limited per member.
//   GET  /inbox/:conversationId/typing              who else is writing a note here ("Ana is writing a note…")
//
// Typing is kept in memory for a few seconds (typing.service.ts); a change rings the live doorbell
// `conversation-<id>-typing` (ids only) and the pages refetch the GET above, which never lists the viewer.
// htmx requests get the composer fragment back (200 after a send with a fresh client id, 422 with the
// text and the problems kept); plain form posts are redirected to the thread (303) or get the composer
// page (422). Uploads are multipart, parsed only here (@fastify/multipart, registered in this plugin's
// scope): one file, capped at the largest size WhatsApp accepts; each kind's own cap is checked while
// the bytes arrive and again by the outbound policy before anything is queued.
import multipart from '@fastify/multipart'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, readCapped } from '../../platform/http/forms.js'
import { outboundMaxBytes } from '../outbound/outbound.policy.js'
import { selfAssignIfUnassigned } from './conversations.service.js'
import {
  attachmentKindOf, attachmentMaxBytes, composerView, composerViewer, conversationForComposer, findApprovedTemplateForm, reactToMessage, sendFromComposer,
  sendTemplate, templatePreview, typingNames, type ComposerErrors, type ComposerOptions, type ComposerViewer, type UploadedFile
} from './composer.service.js'
import { typingBoard } from './typing.service.js'

/** Where the thread of a conversation lives (the inbox's page). */
export function threadHref (conversationId: string): string {
  return `/inbox/${encodeURIComponent(conversationId)}`
}

const agent = { policy: 'agent' as const }
const sending = { ...agent, rateLimit: { max: 120, timeWindow: 60_000 } }
/** The composer repeats "typing" every ~3 s at most: 60 a minute per member leaves room for stops and several tabs. */
const typingSignal = {
  ...agent,
  rateLimit: { max: 60, timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => `typing:${req.principal?.userId ?? req.ip}` }
}

interface ComposerForm { fields: Record<string, string>, file: UploadedFile | undefined }

function isHtmx (req: FastifyRequest): boolean {
  return req.headers['hx-request'] === 'true'
}

function queryValue (req: FastifyRequest, name: string, max = 200): string {
  const v = (req.query as Record<string, unknown> | undefined)?.[name]
  return typeof v === 'string' ? v.slice(0, max) : ''
}

/** The `p.*` template values of a form or query (at most 50, each at most 4 KiB). */
function templateValues (source: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = {}
  let n = 0
  for (const [k, v] of Object.entries(source)) {
    if (!k.startsWith('p.') || typeof v !== 'string' || ++n > 50) continue
    values[k.slice(2, 80)] = v.slice(0, 4096)
  }
  return values
}

/**
 * Reads a urlencoded or multipart form: string fields (a repeated field counts as empty) and at most one
 * non-empty file. A file larger than its kind's cap is drained, not kept (marked truncated).
 */
export async function readComposerForm (req: FastifyRequest): Promise<ComposerForm> {
  if (!req.isMultipart()) {
    const body = req.body !== null && typeof req.body === 'object' ? req.body as Record<string, unknown> : {}
    const fields: Record<string, string> = {}
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') fields[k] = v
    return { fields, file: undefined }
  }
  const fields: Record<string, string> = {}
  const seen = new Set<string>()
  let file: UploadedFile | undefined
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (file !== undefined || part.filename === '') { part.file.resume(); continue }
      const kind = attachmentKindOf(part.mimetype)
      const cap = kind === undefined ? 0 : outboundMaxBytes[kind]
      const { bytes, size, truncated } = await readCapped(part.file, cap)
      file = { filename: part.filename, mimeType: part.mimetype, bytes, size, truncated }
    } else {
      const value = typeof part.value === 'string' ? part.value : ''
      fields[part.fieldname] = seen.has(part.fieldname) ? '' : value
      seen.add(part.fieldname)
    }
  }
  return { fields, file }
}

/** The multipart limits of a composer form (also the API's media send). */
export const composerMultipart = {
  throwFileSizeLimit: false,
  limits: { fileSize: attachmentMaxBytes + 1, files: 1, fields: 80, fieldSize: 64 * 1024, parts: 82, fieldNameSize: 100, headerPairs: 100 }
}

export async function composerRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  // Multipart for this plugin's routes only. Multipart bodies bypass Fastify's bodyLimit: these limits are the cap.
  await app.register(multipart, composerMultipart)

  const typing = typingBoard(deps)
  app.addHook('onClose', async () => { typing.close() })

  function actorOf (req: FastifyRequest): { viewer: ComposerViewer, actor: { userId: string, workspaceId: string, role: ComposerViewer['role'], name: string } } {
    const viewer = composerViewer(req.principal!)
    return { viewer, actor: { userId: viewer.userId, workspaceId: viewer.workspaceId, role: viewer.role, name: viewer.name } }
  }

  /** Renders the composer: the fragment for htmx, else the composer page (a browser without JavaScript). */
  function renderComposer (req: FastifyRequest, reply: FastifyReply, conversationId: string, options: ComposerOptions, status = 200): FastifyReply {
    const { viewer } = actorOf(req)
    const { conversation, channel } = conversationForComposer(deps, viewer.workspaceId, conversationId)
    const composer = composerView(deps, conversation, channel, { viewer, ...options })
    reply.code(status)
    if (isHtmx(req)) return reply.partial('inbox/_composer', { composer })
    return reply.page('inbox/_composer-page', { titleKey: 'composer.page.title', nav: 'inbox', composer, threadHref: threadHref(conversationId) })
  }

  function sent (req: FastifyRequest, reply: FastifyReply, conversationId: string, messageId: string, mode: string): FastifyReply {
    if (!isHtmx(req)) return reply.redirect(threadHref(conversationId), 303)
    reply.header('hx-trigger', JSON.stringify({ 'message-sent': { conversationId, messageId } }))
    return renderComposer(req, reply, conversationId, { mode })
  }

  app.post('/inbox/:conversationId/messages', { config: sending }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const { actor } = actorOf(req)
    conversationForComposer(deps, actor.workspaceId, conversationId)
    const form = await readComposerForm(req)
    const f = form.fields
    const input = { mode: f.mode ?? 'reply', text: f.text ?? '', clientId: f.clientId ?? '', replyTo: f.replyTo ?? '', file: form.file }
    const result = await sendFromComposer(deps, actor, conversationId, input)
    if (result.ok) {
      // The note is in the thread now: nobody needs to be told it is being written.
      if (input.mode === 'note') typing.stop(actor.workspaceId, conversationId, actor.userId)
      // Replying to an unassigned conversation makes it yours (workspace setting); a note does not.
      if (input.mode !== 'note' && !result.duplicate) selfAssignIfUnassigned(deps, actor, conversationId)
      return sent(req, reply, conversationId, result.message.id, input.mode === 'note' ? 'note' : 'reply')
    }
    return renderComposer(req, reply, conversationId, { mode: input.mode, text: input.text.replace(/\r\n?/g, '\n'), errors: result.errors, replyTo: input.replyTo, clientId: input.clientId }, 422)
  })

  app.post('/inbox/:conversationId/templates', { config: sending }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const { actor } = actorOf(req)
    conversationForComposer(deps, actor.workspaceId, conversationId)
    const form = await readComposerForm(req)
    const templateId = (form.fields.template ?? '').slice(0, 64)
    const values = templateValues(form.fields)
    const result = await sendTemplate(deps, actor, conversationId, { templateId, clientId: form.fields.clientId ?? '', values, headerFile: form.file })
    if (result.ok) {
      if (!result.duplicate) selfAssignIfUnassigned(deps, actor, conversationId)
      return sent(req, reply, conversationId, result.message.id, 'template')
    }
    return renderComposer(req, reply, conversationId, { mode: 'template', templateId, templateValues: values, errors: result.errors, clientId: form.fields.clientId ?? '' }, 422)
  })

  app.post('/inbox/:conversationId/reactions', { config: sending }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const { actor } = actorOf(req)
    const result = reactToMessage(deps, actor, conversationId, { messageId: field(req, 'messageId', 64), emoji: field(req, 'emoji', 32), clientId: field(req, 'clientId', 100) })
    if (result.ok) {
      if (!isHtmx(req)) return reply.redirect(threadHref(conversationId), 303)
      return reply.code(204).header('hx-trigger', JSON.stringify({ 'message-sent': { conversationId, messageId: result.message.id } })).send()
    }
    const message = req.t(Object.values(result.errors)[0]?.key ?? 'errors.invalid.text')
    if (isHtmx(req)) return reply.code(422).header('hx-retarget', '#flash').header('hx-reswap', 'afterbegin').partial('errors/_error-flash', { message })
    return renderComposer(req, reply, conversationId, { errors: result.errors as ComposerErrors }, 422)
  })

  app.get('/inbox/:conversationId/composer', { config: agent }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    return renderComposer(req, reply, conversationId, { mode: queryValue(req, 'mode', 20), replyTo: queryValue(req, 'replyTo', 64), templateId: queryValue(req, 'template', 64) })
  })

  app.get('/inbox/:conversationId/reply-target', { config: agent }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const { viewer } = actorOf(req)
    const { conversation, channel } = conversationForComposer(deps, viewer.workspaceId, conversationId)
    const composer = composerView(deps, conversation, channel, { viewer, replyTo: queryValue(req, 'messageId', 64) })
    return reply.partial('inbox/_composer-reply', { composer })
  })

  app.post('/inbox/:conversationId/typing', { config: typingSignal }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const { actor } = actorOf(req)
    const { conversation } = conversationForComposer(deps, actor.workspaceId, conversationId)
    if (field(req, 'typing', 1) === '0') typing.stop(actor.workspaceId, conversation.id, actor.userId)
    else typing.start(actor.workspaceId, conversation.id, actor.userId)
    return reply.code(204).header('cache-control', 'no-store').send()
  })

  app.get('/inbox/:conversationId/typing', { config: agent }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const { viewer } = actorOf(req)
    const { conversation } = conversationForComposer(deps, viewer.workspaceId, conversationId)
    const names = typingNames(deps, viewer.workspaceId, conversation.id, viewer.userId)
    return reply.partial('inbox/_composer-typing', { typing: { conversationId: conversation.id, names } })
  })

  app.get('/inbox/:conversationId/templates/preview', { config: agent }, async (req, reply) => {
    const { conversationId } = req.params as { conversationId: string }
    const { viewer } = actorOf(req)
    const { channel } = conversationForComposer(deps, viewer.workspaceId, conversationId)
    const form = channel === undefined ? undefined : findApprovedTemplateForm(deps, viewer.workspaceId, channel.wabaId, queryValue(req, 'template', 64))
    if (form === undefined) return reply.partial('inbox/_composer-template-preview', { preview: undefined, form: undefined })
    const values = templateValues((req.query ?? {}) as Record<string, unknown>)
    return reply.partial('inbox/_composer-template-preview', { preview: templatePreview(form, values), form })
  })
}

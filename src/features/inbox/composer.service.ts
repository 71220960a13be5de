// The composer under a thread: what it shows (the 24-hour window, the modes it offers, canned responses,
// members to @mention, approved templates, the message replied to) and what it does (queue a text, an
// attachment, a reaction or a template through the outbound feature; store a private note with its
// mentions). The inbox's thread route calls composerView and includes views/inbox/_composer.eta with the
// result; composer.routes.ts serves the composer's own requests.
//
// Modes: 'reply' (free-form, only while the customer-service window is open), 'template' (when it is
// closed or never opened: SPEC §9), 'note' (private to the team, never sent, always available).
import { and, eq } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { messages, noteMentions } from '../../db/schema.js'
import type { Deps } from '../../deps.js'
import type { Principal } from '../../platform/http/access.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { roleAtLeast, type Role } from '../../platform/http/policy.js'
import { colourOf, initials } from '../../platform/http/render.js'
import { newId } from '../../platform/crypto/index.js'
import { fillCannedVariables, listCannedResponses, normaliseText } from '../canned/canned.service.js'
import { findChannel, type Channel } from '../channels/channels.service.js'
import { findContact } from '../contacts/contacts.service.js'
import { baseMimeType, mediaTypes } from '../media/media.policy.js'
import { checkMedia, kindOf, outboundMaxBytes } from '../outbound/outbound.policy.js'
import { queueMediaSend, queueReactionSend, queueTemplateSend, queueTextSend, type TemplateSendParameters } from '../outbound/outbound.service.js'
import { buildTemplate, type TemplateParameters } from '../outbound/outbound.templates.js'
import { approvedTemplates, findApprovedTemplate, type Template } from '../templates/templates.service.js'
import { listTeam } from '../workspaces/team.service.js'
import { findMessage, messageContents, messageKinds, windowRefusedSince } from './messages.store.js'
import { findConversation, insertOutbound, readContent, type Conversation, type Message, type MessageContent } from './messaging.service.js'
import { typingBoard } from './typing.service.js'

// ── limits (SPEC §6, §7) ──
export const textMaxLength = 4096
export const captionMaxLength = 1024
const dayMs = 24 * 60 * 60 * 1000

/**
 * The kinds of attachment the composer sends, with the types and sizes WhatsApp accepts (SPEC §7). The
 * outbound feature's policy decides (kindOf, checkMedia); these lists feed the browser's own check.
 */
export const attachmentKinds = ['image', 'video', 'audio', 'document', 'sticker'] as const
export type AttachmentKind = typeof attachmentKinds[number]

const candidateTypes = [...new Set(Object.values(mediaTypes).flat())]

/** MIME types the file picker offers per kind. */
export const attachmentTypes: Readonly<Record<AttachmentKind, readonly string[]>> = Object.fromEntries(
  attachmentKinds.map(k => [k, candidateTypes.filter(t => kindOf(t) === k)])
) as unknown as Record<AttachmentKind, readonly string[]>

/** The attachment kind a MIME type is sent as, or undefined when WhatsApp refuses it. */
export function attachmentKindOf (mime: string): AttachmentKind | undefined {
  return kindOf(baseMimeType(mime))
}

/** The largest file any kind accepts (the upload route's hard cap). */
export const attachmentMaxBytes = Math.max(...attachmentKinds.map(k => outboundMaxBytes[k]))

/** The per-kind limits the browser checks before uploading (the server checks them again). */
export function attachmentLimits (): Record<AttachmentKind, { maxBytes: number, types: string[] }> {
  return Object.fromEntries(attachmentKinds.map(k => [k, { maxBytes: outboundMaxBytes[k], types: [...attachmentTypes[k]] }])) as Record<AttachmentKind, { maxBytes: number, types: string[] }>
}

// ── view ──
export type ComposerMode = 'reply' | 'template' | 'note'

/** A problem to show: a catalogue key and its parameters (the template translates it). */
export interface ComposerError { key: string, params?: Record<string, string | number> }
export type ComposerErrors = Record<string, ComposerError>

/** Who is looking at the composer. */
export interface ComposerViewer { userId: string, name: string, role: Role, workspaceId: string, workspaceName: string }

/** The viewer from the request's principal (the access hook guarantees an active workspace on agent routes). */
export function composerViewer (principal: Principal): ComposerViewer {
  const ws = principal.workspace!
  return { userId: principal.userId, name: principal.name, role: ws.role, workspaceId: ws.id, workspaceName: ws.name }
}

export interface ComposerOptions {
  viewer?: ComposerViewer
  /** A message id of this conversation to reply to (the thread's "Reply" action; `?replyTo=` on the thread page). */
  replyTo?: string | null
  /** The mode to open in (ignored when the conversation does not offer it). */
  mode?: string | null
  /** Text kept after a refused send. */
  text?: string
  errors?: ComposerErrors
  /** The template chosen in the picker (a templates row id) and the values typed so far. */
  templateId?: string | null
  templateValues?: Record<string, string>
  /** Keep this client id (a re-rendered form after a refused send keeps its id; a success gets a new one). */
  clientId?: string | null
}

/** The message a reply quotes, as the composer shows it above the text box. */
export interface ReplyTarget { id: string, fromContact: boolean, type: string, preview: string | null }

export interface ComposerMember { userId: string, name: string, initials: string, colour: number }

export interface TemplateChoice {
  name: string
  category: string | null
  /** The body text, cut at its {{placeholders}} (all empty), for the list. */
  snippet: PreviewSegment[]
  headerFormat: string
  languages: Array<{ id: string, language: string }>
}

export interface ComposerView {
  conversationId: string
  /** When the 24-hour customer-service window closes (ms), or null when it is closed / never opened. */
  windowClosesAt: number | null
  /** The window is open now: free-form messages may be sent. */
  windowOpen: boolean
  /** The customer never wrote (a conversation started by a template): there is no window yet. */
  windowNeverOpened: boolean
  /** The number cannot send (needs reconnecting / paused / disconnected): the composer explains why. */
  channelBlocked: boolean
  channelProblem: 'needs_reconnect' | 'paused' | 'disconnected' | null
  /** Meta's words for the problem, when known. */
  channelDetail: string | null
  /** The number's settings page, for admins who can fix it (null for agents). */
  channelHref: string | null
  channelId: string | null
  /** Render time (the countdown starts from it). */
  now: number
  modes: ComposerMode[]
  mode: ComposerMode
  clientId: string
  text: string
  errors: ComposerErrors
  replyTo: ReplyTarget | null
  canned: Array<{ id: string, shortcut: string, body: string }>
  members: ComposerMember[]
  templates: TemplateChoice[]
  template: TemplateForm | null
  templateValues: Record<string, string>
  /** The chosen template's preview with the values typed so far. */
  templatePreview: TemplatePreview | null
  /** Admins may re-read the WABA's templates from the number's page. */
  canSyncTemplates: boolean
  canManageCanned: boolean
  limits: { text: number, caption: number, attachments: Record<AttachmentKind, { maxBytes: number, types: string[] }> }
  /** The names of the other members writing a note in this conversation now ("Ana is writing a note…"). */
  typing: string[]
  /** The contact opted out (contacts/consent.service.ts): no template (business-initiated message) may be sent. */
  contactOptedOut: boolean
}

/** What composerView needs of the conversation (the thread passes its row). */
export type ComposerConversation = Pick<Conversation, 'id' | 'lastInboundAt'> & Partial<Pick<Conversation, 'workspaceId' | 'contactId' | 'channelId'>>
/** What composerView needs of the channel (the thread passes its row; undefined when it was disconnected). */
export type ComposerChannel = { status: string } & Partial<Pick<Channel, 'id' | 'wabaId' | 'statusDetail' | 'workspaceId'>>

/** The 24-hour customer-service window of a conversation at `now` (SPEC §9). */
export function windowState (conversation: Pick<Conversation, 'lastInboundAt'>, now: number): { closesAt: number | null, open: boolean, neverOpened: boolean } {
  if (conversation.lastInboundAt === null) return { closesAt: null, open: false, neverOpened: true }
  const closesAt = conversation.lastInboundAt + dayMs
  return closesAt > now ? { closesAt, open: true, neverOpened: false } : { closesAt: null, open: false, neverOpened: false }
}

/**
 * The window as Meta applies it: ours (windowState), closed as well when Meta refused a send with
 * 131047 after the customer's last message (clocks differ; a message may have reached Meta late), so
 * the composer offers templates instead of a reply that would fail the same way.
 */
export function effectiveWindow (db: Db, conversation: Pick<Conversation, 'lastInboundAt'> & Partial<Pick<Conversation, 'workspaceId' | 'id'>>, now: number): ReturnType<typeof windowState> {
  const window = windowState(conversation, now)
  if (!window.open || conversation.workspaceId === undefined || conversation.id === undefined) return window
  return windowRefusedSince(db, conversation.workspaceId, conversation.id, conversation.lastInboundAt!) ? { closesAt: null, open: false, neverOpened: false } : window
}

function channelProblemOf (channel: ComposerChannel | undefined): ComposerView['channelProblem'] {
  if (channel === undefined) return 'disconnected'
  if (channel.status === 'needs_reconnect' || channel.status === 'paused') return channel.status
  return channel.status === 'active' ? null : 'paused'
}

/** The modes a conversation offers now: reply or template (never both), and notes. */
export function composerModes (windowOpen: boolean, channelBlocked: boolean): ComposerMode[] {
  if (channelBlocked) return ['note']
  return windowOpen ? ['reply', 'note'] : ['template', 'note']
}

/** A client id as the browser generates it (or the server did when rendering the form). */
export function validClientId (value: string): boolean {
  return /^[A-Za-z0-9_-]{8,64}$/.test(value)
}

/** The composer's data for one conversation of the viewer's workspace. */
export function composerView (deps: Pick<Deps, 'db' | 'clock'> & Partial<Pick<Deps, 'events'>>, conversation: ComposerConversation, channel: ComposerChannel | undefined, options: ComposerOptions = {}): ComposerView {
  const now = deps.clock.now()
  const window = effectiveWindow(deps.db, conversation, now)
  const problem = channelProblemOf(channel)
  const modes = composerModes(window.open, problem !== null)
  const mode = modes.includes(options.mode as ComposerMode) ? options.mode as ComposerMode : modes[0]!
  const viewer = options.viewer
  const workspaceId = conversation.workspaceId ?? viewer?.workspaceId
  const admin = viewer !== undefined && roleAtLeast(viewer.role, 'admin')
  const view: ComposerView = {
    conversationId: conversation.id,
    windowClosesAt: window.closesAt,
    windowOpen: window.open,
    windowNeverOpened: window.neverOpened,
    channelBlocked: problem !== null,
    channelProblem: problem,
    channelDetail: channel?.statusDetail ?? null,
    channelHref: admin && channel?.id !== undefined && problem !== 'disconnected' ? `/settings/channels/${channel.id}` : null,
    channelId: channel?.id ?? null,
    now,
    modes,
    mode,
    clientId: options.clientId !== undefined && options.clientId !== null && validClientId(options.clientId) ? options.clientId : newId(),
    text: options.text ?? '',
    errors: options.errors ?? {},
    replyTo: null,
    canned: [],
    members: [],
    templates: [],
    template: null,
    templateValues: options.templateValues ?? {},
    templatePreview: null,
    canSyncTemplates: admin && channel?.id !== undefined && problem !== 'disconnected',
    canManageCanned: admin,
    limits: { text: textMaxLength, caption: captionMaxLength, attachments: attachmentLimits() },
    typing: [],
    contactOptedOut: false
  }
  if (workspaceId === undefined) return view

  if (options.replyTo !== undefined && options.replyTo !== null && options.replyTo !== '') {
    view.replyTo = replyTarget(deps.db, workspaceId, conversation.id, options.replyTo) ?? null
  }
  const contact = conversation.contactId === undefined ? undefined : findContact(deps.db, workspaceId, conversation.contactId)
  view.contactOptedOut = contact?.consent === 'opted_out'
  const context = { contactName: contact?.name ?? contact?.profileName ?? null, agentName: viewer?.name ?? null, workspaceName: viewer?.workspaceName ?? null }
  view.canned = listCannedResponses(deps, workspaceId).map(c => ({ id: c.id, shortcut: c.shortcut, body: fillCannedVariables(c.body, context) }))
  const team = listTeam(deps, workspaceId).members
  view.members = team
    .filter(m => m.userId !== viewer?.userId)
    .map(m => ({ userId: m.userId, name: m.name, initials: initials(m.name), colour: colourOf(m.userId) }))
  if (deps.events !== undefined) view.typing = typingNames({ events: deps.events, clock: deps.clock, db: deps.db }, workspaceId, conversation.id, viewer?.userId, team)
  if (modes.includes('template') && channel?.wabaId !== undefined) {
    const approved = approvedTemplates(deps.db, workspaceId, channel.wabaId)
    view.templates = templateChoices(approved)
    if (options.templateId !== undefined && options.templateId !== null && options.templateId !== '') {
      const chosen = approved.find(t => t.id === options.templateId)
      if (chosen !== undefined) {
        view.template = templateForm(chosen, approved)
        view.templatePreview = templatePreview(view.template, view.templateValues)
      }
    }
  }
  return view
}

/** A short plain-text preview of a message (what a reply quotes). */
export function messagePreview (message: Pick<Message, 'content' | 'type'>): string | null {
  let content: MessageContent
  try { content = readContent(message) } catch { return null }
  const body = content.body as { type: string, text?: unknown, caption?: unknown, body?: unknown, filename?: unknown }
  const text = typeof body.text === 'string' ? body.text : typeof body.caption === 'string' ? body.caption : typeof body.filename === 'string' ? body.filename : null
  if (text === null || text.trim() === '') return null
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > 140 ? `${flat.slice(0, 139)}…` : flat
}

/** The message `id` of this conversation as a reply target: it must be a real WhatsApp message (a wamid), not a note. */
function replyTarget (db: Db, workspaceId: string, conversationId: string, id: string): ReplyTarget | undefined {
  const message = findMessage(db, workspaceId, id.slice(0, 64))
  if (message === undefined || message.conversationId !== conversationId || message.direction === 'note' || message.wamid === null || message.revokedAt !== null) return undefined
  return { id: message.id, fromContact: message.direction === 'in', type: message.type, preview: messagePreview(message) }
}

// ── mentions ──
export interface Mention { userId: string, name: string }

const wordChar = /[\p{L}\p{N}_]/u

/**
 * The members @mentioned in a note: "@" followed by a member's full name (any case) and then not a
 * letter or digit. The longest name wins ("@Ana Souza" is Ana Souza even when an "Ana" exists).
 */
export function detectMentions (text: string, members: Array<{ userId: string, name: string }>): Mention[] {
  const candidates = members.filter(m => m.name.trim() !== '').sort((a, b) => b.name.length - a.name.length)
  const found = new Map<string, Mention>()
  const lower = text.toLowerCase()
  for (let i = lower.indexOf('@'); i !== -1; i = lower.indexOf('@', i + 1)) {
    for (const m of candidates) {
      const name = m.name.toLowerCase()
      if (!lower.startsWith(name, i + 1)) continue
      const next = text[i + 1 + name.length]
      if (next !== undefined && wordChar.test(next)) continue
      if (!found.has(m.userId)) found.set(m.userId, { userId: m.userId, name: m.name })
      break
    }
  }
  return [...found.values()]
}

/** A piece of a note's text: plain, or an @mention of a member (the thread highlights those; `userId` says whom). */
export interface NoteSegment { text: string, mention: boolean, userId?: string }

/**
 * A note's text cut into plain pieces and @mentions, for the thread to render (each piece escaped;
 * mentions in <mark class="mention">). Reads the mentions stored with the note (content.mentions).
 */
export function noteSegments (content: MessageContent): NoteSegment[] {
  const body = content.body as { type: string, text?: unknown }
  const text = typeof body.text === 'string' ? body.text : ''
  const stored = (content as { mentions?: unknown }).mentions
  const mentions = (Array.isArray(stored) ? stored as Array<Partial<Mention>> : [])
    .filter((m): m is Mention => typeof m?.name === 'string' && m.name !== '' && typeof m.userId === 'string')
    .sort((a, b) => b.name.length - a.name.length)
  const segments: NoteSegment[] = []
  const lower = text.toLowerCase()
  let plainFrom = 0
  for (let i = lower.indexOf('@'); i !== -1 && mentions.length > 0; i = lower.indexOf('@', i + 1)) {
    const m = mentions.find(n => lower.startsWith(n.name.toLowerCase(), i + 1) && !wordChar.test(text[i + 1 + n.name.length] ?? ' '))
    if (m === undefined) continue
    if (i > plainFrom) segments.push({ text: text.slice(plainFrom, i), mention: false })
    segments.push({ text: text.slice(i, i + 1 + m.name.length), mention: true, userId: m.userId })
    plainFrom = i + 1 + m.name.length
    i = plainFrom - 1
  }
  if (plainFrom < text.length) segments.push({ text: text.slice(plainFrom), mention: false })
  return segments
}

// ── the thread's bubbles ──
/**
 * What a bubble of the thread needs beyond the inbox's MessageView: its wamid (Reply and React need a
 * message WhatsApp accepted) and, for a private note, its text cut at its @mentions.
 */
export interface BubbleDetails { wamid: string | null, note: NoteSegment[] | null }

/** The bubble details of these messages of the workspace (message id → details); unknown ids are left out. */
export function bubbleDetails (db: Db, workspaceId: string, messageIds: string[]): Record<string, BubbleDetails> {
  const out: Record<string, BubbleDetails> = {}
  const notes: string[] = []
  for (const r of messageKinds(db, workspaceId, messageIds)) {
    out[r.id] = { wamid: r.wamid, note: null }
    if (r.direction === 'note') notes.push(r.id)
  }
  if (notes.length === 0) return out
  // Only the notes' contents are decrypted again (the thread already read the others').
  for (const r of messageContents(db, workspaceId, notes)) {
    try { out[r.id]!.note = noteSegments(readContent(r)) } catch { out[r.id]!.note = null }
  }
  return out
}

/** The thread with what its bubbles need (bubble actions, highlighted @mentions) and who is looking at it. */
export function withBubbles<T extends { items: Array<{ message: { id: string } }> }> (deps: Pick<Deps, 'db'>, viewer: { userId: string, workspaceId: string }, thread: T): T & { bubbles: Record<string, BubbleDetails>, viewerId: string } {
  return { ...thread, bubbles: bubbleDetails(deps.db, viewer.workspaceId, thread.items.map(i => i.message.id)), viewerId: viewer.userId }
}

// ── typing (private notes) ──
/**
 * The names of the members writing a note in the conversation now, without the viewer, oldest first.
 * Someone who left the workspace is not shown. `team` saves a look-up when the caller has it.
 */
export function typingNames (deps: Pick<Deps, 'events' | 'clock' | 'db'>, workspaceId: string, conversationId: string, viewerId: string | undefined, team?: Array<{ userId: string, name: string }>): string[] {
  const ids = typingBoard(deps).typers(workspaceId, conversationId, viewerId)
  if (ids.length === 0) return []
  const members = team ?? listTeam(deps, workspaceId).members
  const names = new Map(members.map(m => [m.userId, m.name]))
  return ids.map(id => names.get(id)).filter((n): n is string => n !== undefined && n.trim() !== '')
}

// ── templates (SPEC §8) ──
/** One input of a template: a {{1}} / {{name}} placeholder of the header, body or a URL button. */
export interface TemplateParam {
  /** The form field without its "p." prefix, as the outbound feature names problems: header, body.1, body.first_name, button.0. */
  key: string
  component: 'header' | 'body' | 'button'
  /** The placeholder's name inside the braces ("1", "first_name"). */
  name: string
  /** Meta's example value, shown as the input's placeholder. */
  example: string | null
  /** For buttons: the button's index. */
  buttonIndex?: number
}

export interface TemplateForm {
  id: string
  name: string
  language: string
  category: string | null
  parameterFormat: 'POSITIONAL' | 'NAMED'
  headerFormat: 'NONE' | 'TEXT' | 'IMAGE' | 'VIDEO' | 'DOCUMENT' | 'LOCATION' | string
  headerText: string | null
  body: string
  footer: string | null
  buttons: Array<{ type: string, text: string, url: string | null }>
  params: TemplateParam[]
  /** The same template in other languages (the language choice). */
  languages: Array<{ id: string, language: string }>
  /** Null when the composer can send it; else why not (a catalogue key). */
  unsupported: string | null
}

interface RawComponent { type?: unknown, format?: unknown, text?: unknown, example?: unknown, buttons?: unknown, add_security_recommendation?: unknown }

const placeholderPattern = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g

/** The distinct placeholders of a text, in order of first appearance. */
export function placeholders (text: string): string[] {
  const names: string[] = []
  for (const m of text.matchAll(placeholderPattern)) if (!names.includes(m[1]!)) names.push(m[1]!)
  return names
}

function str (value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

function examplesOf (example: unknown, positionalKey: string, namedKey: string): { positional: string[], named: Record<string, string> } {
  const e = (example !== null && typeof example === 'object' ? example : {}) as Record<string, unknown>
  const rawPositional = e[positionalKey]
  const positional = (Array.isArray(rawPositional) ? (Array.isArray(rawPositional[0]) ? rawPositional[0] as unknown[] : rawPositional) : []).map(v => String(v))
  const named: Record<string, string> = {}
  const rawNamed = e[namedKey]
  if (Array.isArray(rawNamed)) {
    for (const item of rawNamed) {
      const n = item as { param_name?: unknown, example?: unknown }
      if (typeof n.param_name === 'string') named[n.param_name] = String(n.example ?? '')
    }
  }
  return { positional, named }
}

function exampleFor (name: string, ex: { positional: string[], named: Record<string, string> }): string | null {
  if (/^\d+$/.test(name)) return ex.positional[Number(name) - 1] ?? null
  return ex.named[name] ?? null
}

/** Buttons the composer can send (OTP, copy-code, flows, catalogues need parameters it does not collect). */
const sendableButtons = new Set(['QUICK_REPLY', 'URL', 'PHONE_NUMBER', 'VOICE_CALL'])

/** Reads a cached template's components into the form the picker renders (defensive: the JSON is Meta's). */
export function templateForm (template: Template, siblings: Template[] = [template]): TemplateForm {
  const components = (Array.isArray(template.components) ? template.components : []) as RawComponent[]
  const form: TemplateForm = {
    id: template.id,
    name: template.name,
    language: template.language,
    category: template.category,
    parameterFormat: 'POSITIONAL',
    headerFormat: 'NONE',
    headerText: null,
    body: '',
    footer: null,
    buttons: [],
    params: [],
    languages: siblings.filter(t => t.name === template.name).map(t => ({ id: t.id, language: t.language })),
    unsupported: null
  }
  for (const c of components) {
    if (c === null || typeof c !== 'object') continue
    const type = str(c.type)?.toUpperCase()
    if (type === 'HEADER') {
      form.headerFormat = str(c.format)?.toUpperCase() ?? 'TEXT'
      if (form.headerFormat === 'TEXT') {
        form.headerText = str(c.text) ?? ''
        const ex = examplesOf(c.example, 'header_text', 'header_text_named_params')
        const names = placeholders(form.headerText)
        if (names.length > 1) form.unsupported ??= 'composer.template.unsupported.component'
        if (names.length === 1) form.params.push({ key: 'header', component: 'header', name: names[0]!, example: exampleFor(names[0]!, ex) })
      } else if (!['IMAGE', 'VIDEO', 'DOCUMENT'].includes(form.headerFormat)) {
        form.unsupported ??= 'composer.template.unsupported.location'
      }
    } else if (type === 'BODY') {
      form.body = str(c.text) ?? ''
      if (c.add_security_recommendation !== undefined || template.category === 'AUTHENTICATION') form.unsupported ??= 'composer.template.unsupported.authentication'
      const ex = examplesOf(c.example, 'body_text', 'body_text_named_params')
      for (const name of placeholders(form.body)) form.params.push({ key: `body.${name}`, component: 'body', name, example: exampleFor(name, ex) })
    } else if (type === 'FOOTER') {
      form.footer = str(c.text)
    } else if (type === 'BUTTONS') {
      const buttons = Array.isArray(c.buttons) ? c.buttons as Array<Record<string, unknown>> : []
      buttons.forEach((b, index) => {
        const buttonType = (str(b.type) ?? '').toUpperCase()
        const url = str(b.url)
        form.buttons.push({ type: buttonType, text: str(b.text) ?? '', url })
        if (!sendableButtons.has(buttonType)) form.unsupported ??= 'composer.template.unsupported.button'
        const example = Array.isArray(b.example) ? String(b.example[0] ?? '') : str(b.example)
        if (buttonType === 'URL' && url !== null && placeholders(url).length > 0) {
          form.params.push({ key: `button.${index}`, component: 'button', name: placeholders(url)[0]!, example, buttonIndex: index })
        }
      })
    } else if (type !== undefined) {
      form.unsupported ??= 'composer.template.unsupported.component'
    }
  }
  const names = form.params.filter(p => p.component !== 'button').map(p => p.name)
  form.parameterFormat = template.parameterFormat !== null ? (template.parameterFormat.toUpperCase() === 'NAMED' ? 'NAMED' : 'POSITIONAL') : (names.some(n => !/^\d+$/.test(n)) ? 'NAMED' : 'POSITIONAL')
  return form
}

/** The form of one APPROVED template of the WABA (undefined when unknown, another WABA's or not approved). */
export function findApprovedTemplateForm (deps: Pick<Deps, 'db'>, workspaceId: string, wabaId: string, id: string): TemplateForm | undefined {
  if (id === '') return undefined
  const template = findApprovedTemplate(deps.db, workspaceId, wabaId, id)
  return template === undefined ? undefined : templateForm(template, approvedTemplates(deps.db, workspaceId, wabaId))
}

/** Approved templates grouped by name (one entry per name, its languages listed). */
export function templateChoices (approved: Template[]): TemplateChoice[] {
  const byName = new Map<string, TemplateChoice>()
  for (const t of approved) {
    let choice = byName.get(t.name)
    if (choice === undefined) {
      const form = templateForm(t)
      choice = { name: t.name, category: t.category, snippet: previewSegments(form.body, {}, name => name), headerFormat: form.headerFormat, languages: [] }
      byName.set(t.name, choice)
    }
    choice.languages.push({ id: t.id, language: t.language })
  }
  return [...byName.values()]
}

/** A piece of preview text: literal, or a parameter (value null while the agent has not typed it). */
export type PreviewSegment = { text: string } | { param: string, value: string | null }

/** Cuts a template text at its placeholders, filling each from `values` by the key `keyOf(name)`. */
export function previewSegments (text: string, values: Record<string, string>, keyOf: (name: string) => string): PreviewSegment[] {
  const out: PreviewSegment[] = []
  let last = 0
  for (const m of text.matchAll(placeholderPattern)) {
    if (m.index > last) out.push({ text: text.slice(last, m.index) })
    const value = values[keyOf(m[1]!)]?.trim() ?? ''
    out.push({ param: m[0], value: value === '' ? null : value })
    last = m.index + m[0].length
  }
  if (last < text.length) out.push({ text: text.slice(last) })
  return out
}

export interface TemplatePreview {
  header: PreviewSegment[] | null
  headerMedia: 'image' | 'video' | 'document' | null
  body: PreviewSegment[]
  footer: string | null
  buttons: Array<{ type: string, text: string }>
}

/** The template's texts with the parameters filled, for the live preview (the view escapes every piece). */
export function templatePreview (form: TemplateForm, values: Record<string, string>): TemplatePreview {
  const media = headerMediaKind(form)
  return {
    header: form.headerText === null ? null : previewSegments(form.headerText, values, () => 'header'),
    headerMedia: media === 'image' || media === 'video' || media === 'document' ? media : null,
    body: previewSegments(form.body, values, name => `body.${name}`),
    footer: form.footer,
    buttons: form.buttons.map(b => ({ type: b.type, text: b.text }))
  }
}

/** The form's values as the outbound feature takes them. */
export function templateParameters (form: TemplateForm, values: Record<string, string>, headerUpload: boolean): TemplateParameters {
  const params: TemplateParameters = {}
  const header = form.params.find(p => p.component === 'header')
  if (header !== undefined) params.header = values.header ?? ''
  if (headerMediaKind(form) !== undefined && headerUpload) params.header = { upload: true }
  const body = form.params.filter(p => p.component === 'body')
  if (form.parameterFormat === 'NAMED') {
    params.body = Object.fromEntries(body.map(p => [p.name, values[p.key] ?? '']))
  } else if (body.length > 0) {
    const count = body.reduce((max, p) => Math.max(max, Number(p.name) || 0), 0)
    params.body = Array.from({ length: count }, (_, i) => values[`body.${i + 1}`] ?? '')
  }
  const buttons = form.params.filter(p => p.component === 'button')
  if (buttons.length > 0) params.buttons = Object.fromEntries(buttons.map(p => [p.buttonIndex!, values[p.key] ?? '']))
  return params
}

/** An uploaded file, as the routes read it (truncated: it was larger than the route accepts). */
export interface UploadedFile { filename: string, mimeType: string, bytes: Buffer, size: number, truncated: boolean }

/**
 * Checks a template form's values (with the outbound feature's own rules, so the composer never shows
 * a form the queue would refuse) and its header file; returns field → problem.
 */
export function templateProblems (template: Template, form: TemplateForm, values: Record<string, string>, headerFile: UploadedFile | undefined): ComposerErrors {
  const errors: ComposerErrors = {}
  if (form.unsupported !== null) return { template: { key: form.unsupported } }
  const built = buildTemplate(template, templateParameters(form, values, headerFile !== undefined))
  if (!built.ok) for (const [field, key] of Object.entries(built.errors)) errors[field] = { key }
  const kind = headerMediaKind(form)
  if (kind !== undefined) {
    delete errors.header
    const problem = headerFile === undefined ? { key: 'composer.template.errors.headerFile' } : fileProblem(headerFile, kind)
    if (problem !== undefined) errors.headerFile = problem
  }
  return errors
}

/** The attachment kind a media header needs, or undefined for text / no header. */
export function headerMediaKind (form: Pick<TemplateForm, 'headerFormat'>): 'image' | 'video' | 'document' | undefined {
  switch (form.headerFormat) {
    case 'IMAGE': return 'image'
    case 'VIDEO': return 'video'
    case 'DOCUMENT': return 'document'
    default: return undefined
  }
}

// ── attachments ──
/**
 * Why an uploaded file cannot be sent (type, size and first bytes, SPEC §7 — the outbound feature's
 * rules), or undefined when it can. `kind` forces a kind (a template's media header).
 */
export function fileProblem (file: UploadedFile, kind?: 'image' | 'video' | 'document', caption?: string | null): ComposerError | undefined {
  const mime = baseMimeType(file.mimeType)
  const as = kind ?? attachmentKindOf(mime)
  if (file.size === 0) return { key: 'outbound.error.fileEmpty' }
  if (as === undefined || (kind !== undefined && kind !== 'document' && attachmentKindOf(mime) !== kind)) return { key: 'outbound.error.fileType' }
  if (file.truncated || file.size > outboundMaxBytes[as]) return { key: `outbound.error.fileTooLarge.${as}` }
  const check = checkMedia({ bytes: file.bytes, mimeType: file.mimeType, filename: file.filename }, { asDocument: kind === 'document', caption: caption ?? null })
  if (!check.ok) return { key: check.key }
  return undefined
}

// ── sending ──
/** The acting member. */
/** Who sends: a member, or an API key (userId null: the message has no author). */
export interface ComposerActor { userId: string | null, workspaceId: string, role: Role, name: string }

export type SendResult = { ok: true, message: Message, duplicate: boolean } | { ok: false, errors: ComposerErrors }

type SendDeps = Pick<Deps, 'db' | 'clock' | 'events' | 'dataDir' | 'ring'>

/** The conversation of the actor's workspace with its channel (undefined when disconnected); 404 otherwise. */
export function conversationForComposer (deps: Pick<Deps, 'db'>, workspaceId: string, conversationId: string): { conversation: Conversation, channel: Channel | undefined } {
  const conversation = findConversation(deps.db, workspaceId, conversationId.slice(0, 64))
  if (conversation === undefined) throw new NotFoundError()
  return { conversation, channel: findChannel(deps.db, workspaceId, conversation.channelId) }
}

/** The outbound feature's field → key problems as the composer shows them (a caption problem goes under the text box). */
function fromOutbound (errors: Record<string, string>, rename: Record<string, string> = {}): ComposerErrors {
  const out: ComposerErrors = {}
  for (const [field, key] of Object.entries(errors)) out[rename[field] ?? field] ??= { key }
  return out
}

/** Why nothing free-form can go out now (channel state first, then the 24-hour window), or undefined. */
function freeFormProblem (deps: Pick<Deps, 'db' | 'clock'>, conversation: Conversation, channel: Channel | undefined): ComposerErrors | undefined {
  const problem = channelProblemOf(channel)
  if (problem !== null) return { form: { key: `composer.channel.${problem}.title` } }
  if (!effectiveWindow(deps.db, conversation, deps.clock.now()).open) return { form: { key: 'composer.errors.windowClosed' } }
  return undefined
}

export interface TextInput {
  mode: string
  text: string
  clientId: string
  replyTo: string
  file?: UploadedFile | undefined
}

/**
 * Sends what the composer holds: a private note (stored with its mentions, never sent), or a reply
 * (text, or an attachment with its caption) queued through the outbound feature. Refusals come back as
 * field errors; nothing is queued then.
 */
export async function sendFromComposer (deps: SendDeps, actor: ComposerActor, conversationId: string, input: TextInput): Promise<SendResult> {
  const { conversation, channel } = conversationForComposer(deps, actor.workspaceId, conversationId)
  const text = normaliseText(input.text)
  const clientId = validClientId(input.clientId) ? input.clientId : newId()
  if (input.mode === 'note') return addNote(deps, actor, conversation, text, clientId)

  const blocked = freeFormProblem(deps, conversation, channel)
  if (blocked !== undefined) return { ok: false, errors: blocked }
  const target = { workspaceId: actor.workspaceId, conversationId: conversation.id, authorId: actor.userId, clientId }
  const replyTo = input.replyTo === '' ? null : input.replyTo.slice(0, 64)
  const rename = { caption: 'text', replyTo: 'replyTo', targetMessageId: 'replyTo' }
  if (input.file !== undefined) {
    // The bytes were drained past the kind's cap while they arrived: say so without handing them on.
    const early = fileProblem(input.file, undefined, text)
    if (early !== undefined) return { ok: false, errors: { [early.key.startsWith('outbound.error.caption') ? 'text' : 'file']: early } }
    const result = await queueMediaSend(deps, { ...target, file: { bytes: input.file.bytes, mimeType: input.file.mimeType, filename: input.file.filename }, caption: text.trim() === '' ? null : text, replyTo })
    return result.ok ? result : { ok: false, errors: fromOutbound(result.errors, rename) }
  }
  if (text.trim() === '') return { ok: false, errors: { text: { key: 'composer.errors.textRequired' } } }
  if (text.length > textMaxLength) return { ok: false, errors: { text: { key: 'composer.errors.textTooLong', params: { max: textMaxLength, count: text.length } } } }
  const result = queueTextSend(deps, { ...target, text, replyTo })
  if (!result.ok && result.errors.replyTo !== undefined) return { ok: false, errors: { replyTo: { key: 'composer.errors.replyGone' } } }
  return result.ok ? result : { ok: false, errors: fromOutbound(result.errors, rename) }
}

/** A private note: the message (direction 'note', never queued) and its mentions, in one transaction. */
function addNote (deps: Pick<Deps, 'db' | 'clock' | 'events'>, actor: ComposerActor, conversation: Conversation, text: string, clientId: string): SendResult {
  if (text.trim() === '') return { ok: false, errors: { text: { key: 'composer.errors.noteRequired' } } }
  if (text.length > textMaxLength) return { ok: false, errors: { text: { key: 'composer.errors.textTooLong', params: { max: textMaxLength, count: text.length } } } }
  const members = listTeam(deps, actor.workspaceId).members
  const mentions = detectMentions(text, members.filter(m => m.userId !== actor.userId))
  const now = deps.clock.now()
  const result = deps.db.transaction((db) => {
    const existing = db.select().from(messages).where(and(eq(messages.workspaceId, actor.workspaceId), eq(messages.clientId, clientId))).get()
    if (existing !== undefined) return { message: existing, duplicate: true }
    const content = { body: { type: 'text' as const, text }, mentions }
    const message = insertOutbound(db, { workspaceId: actor.workspaceId, conversationId: conversation.id, channelId: conversation.channelId, type: 'text', content, authorId: actor.userId, clientId, direction: 'note' }, now)
    for (const m of mentions) db.insert(noteMentions).values({ workspaceId: actor.workspaceId, messageId: message.id, userId: m.userId, createdAt: now }).onConflictDoNothing().run()
    return { message, duplicate: false }
  }, { behavior: 'immediate' })
  // The event bus has no 'note' direction: a note is the team's own message ('out'); listeners re-read the row.
  if (!result.duplicate) deps.events.emit('message.created', { workspaceId: actor.workspaceId, conversationId: conversation.id, messageId: result.message.id, direction: 'out' })
  return { ok: true, ...result }
}

/** A reaction to a customer's message (SPEC §6: reaction { message_id, emoji }), queued like any send. */
export function reactToMessage (deps: Pick<Deps, 'db' | 'clock' | 'events'>, actor: ComposerActor, conversationId: string, input: { messageId: string, emoji: string, clientId: string }): SendResult {
  const { conversation, channel } = conversationForComposer(deps, actor.workspaceId, conversationId)
  const target = findMessage(deps.db, actor.workspaceId, input.messageId.slice(0, 64))
  if (target === undefined || target.conversationId !== conversation.id) throw new NotFoundError()
  if (target.direction !== 'in' || target.wamid === null) return { ok: false, errors: { form: { key: 'composer.errors.reactTarget' } } }
  // An empty emoji takes our reaction back (WhatsApp's way of removing one).
  if (input.emoji !== '' && !isReactionEmoji(input.emoji)) return { ok: false, errors: { form: { key: 'composer.errors.reactEmoji' } } }
  const blocked = freeFormProblem(deps, conversation, channel)
  if (blocked !== undefined) return { ok: false, errors: blocked }
  const clientId = validClientId(input.clientId) ? input.clientId : newId()
  const result = queueReactionSend(deps, { workspaceId: actor.workspaceId, conversationId: conversation.id, authorId: actor.userId, clientId, targetMessageId: target.id, emoji: input.emoji })
  return result.ok ? result : { ok: false, errors: fromOutbound(result.errors, { emoji: 'form', targetMessageId: 'form' }) }
}

/** The quick reactions the thread offers on a customer's message (views/inbox/_composer-bubble-actions.eta). */
export const quickReactions = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const

/** One emoji (with its variation selector, skin tone or ZWJ sequence), nothing else. */
export function isReactionEmoji (value: string): boolean {
  return value.length <= 16 && /^\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier}|\u200D\p{Extended_Pictographic}\uFE0F?)*$/u.test(value)
}

export interface TemplateInput { templateId: string, clientId: string, values: Record<string, string>, headerFile?: UploadedFile | undefined }

/** Sends an approved template of the conversation's number with its parameters (SPEC §8), through the outbound feature. */
export async function sendTemplate (deps: SendDeps, actor: ComposerActor, conversationId: string, input: TemplateInput): Promise<SendResult> {
  const { conversation, channel } = conversationForComposer(deps, actor.workspaceId, conversationId)
  const problem = channelProblemOf(channel)
  if (problem !== null) return { ok: false, errors: { form: { key: `composer.channel.${problem}.title` } } }
  // A template is business-initiated: never to a contact who opted out (replies inside the window stay allowed).
  if (findContact(deps.db, actor.workspaceId, conversation.contactId)?.consent === 'opted_out') return { ok: false, errors: { form: { key: 'consent.composer.refused' } } }
  const template = findApprovedTemplate(deps.db, actor.workspaceId, channel!.wabaId, input.templateId.slice(0, 64))
  if (template === undefined) return { ok: false, errors: { template: { key: 'composer.template.errors.gone' } } }
  const form = templateForm(template, approvedTemplates(deps.db, actor.workspaceId, channel!.wabaId))
  const errors = templateProblems(template, form, input.values, input.headerFile)
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const { header, ...rest } = templateParameters(form, input.values, input.headerFile !== undefined)
  const parameters: TemplateSendParameters = { ...rest }
  if (typeof header === 'string') parameters.header = header
  if (input.headerFile !== undefined && headerMediaKind(form) !== undefined) parameters.header = { file: { bytes: input.headerFile.bytes, mimeType: input.headerFile.mimeType, filename: input.headerFile.filename } }
  const clientId = validClientId(input.clientId) ? input.clientId : newId()
  const result = await queueTemplateSend(deps, { workspaceId: actor.workspaceId, conversationId: conversation.id, authorId: actor.userId, clientId, templateName: template.name, language: template.language, parameters })
  if (result.ok) return result
  return { ok: false, errors: fromOutbound(result.errors, { templateName: 'template', language: 'template', ...(headerMediaKind(form) !== undefined ? { header: 'headerFile' } : {}) }) }
}

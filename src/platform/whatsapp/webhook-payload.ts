// Webhook payloads: a safe parse of the verified raw body, then normalisation of Meta's envelope into a
// flat list of typed events. parseWebhook requires valid UTF-8, bounds the nesting depth with a linear
// scan before JSON.parse (no recursion blow-up on 100k-deep input), drops `__proto__`, `constructor` and
// `prototype` keys during the parse and repairs lone surrogates. normalize never throws and never drops:
// every entry × change × message / status / error becomes one event, and anything it cannot read (wrong
// types, unknown fields, missing ids) becomes a `{ kind: 'unknown' }` event carrying the raw value.
// Only reading happens here: routing, storage and idempotency belong to the webhooks feature.

/** Why a raw body could not be parsed. */
export type ParseFailure = 'empty' | 'invalid-utf8' | 'too-deep' | 'invalid-json'

/** Outcome of parseWebhook: the parsed JSON value, or why it was refused. */
export type ParseResult = { ok: true, payload: unknown } | { ok: false, reason: ParseFailure }

/** Deepest object/array nesting parseWebhook accepts (real payloads stay under 12). */
export const maxJsonDepth = 64

const forbiddenKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** Parses JSON text with the depth guard and key filter of parseWebhook. */
export function parseJsonText (text: string): ParseResult {
  if (text.trim() === '') return { ok: false, reason: 'empty' }
  if (exceedsDepth(text, maxJsonDepth)) return { ok: false, reason: 'too-deep' }
  try {
    return { ok: true, payload: JSON.parse(text, reviveSafely) }
  } catch {
    return { ok: false, reason: 'invalid-json' }
  }
}

/** Parses a raw webhook body: strict UTF-8, bounded depth, no prototype keys; never throws. */
export function parseWebhook (raw: Uint8Array): ParseResult {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw)
  } catch {
    return { ok: false, reason: 'invalid-utf8' }
  }
  return parseJsonText(text)
}

function reviveSafely (key: string, value: unknown): unknown {
  if (forbiddenKeys.has(key)) return undefined
  return typeof value === 'string' ? value.toWellFormed() : value
}

/** True when brackets outside strings nest deeper than max; a linear scan with no recursion. */
function exceedsDepth (text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
  }
  return false
}

// ——— event types ———

/** A media attachment reference; `sha256` is base64 in webhooks. */
export interface WaMedia {
  id: string | null
  mimeType: string | null
  sha256: string | null
  url: string | null
}

/** One shared contact card (a vCard), not the sender. */
export interface WaContactCard {
  formattedName: string | null
  firstName: string | null
  lastName: string | null
  phones: Array<{ phone: string | null, waId: string | null, type: string | null }>
  emails: Array<{ email: string | null, type: string | null }>
  urls: Array<{ url: string | null, type: string | null }>
  org: { company: string | null, department: string | null, title: string | null } | null
  birthday: string | null
}

/** One line of a catalog order. */
export interface WaOrderItem {
  productRetailerId: string | null
  quantity: number | null
  itemPrice: number | null
  currency: string | null
}

/** The user's answer to an interactive message. */
export type WaInteractiveReply =
  | { type: 'button_reply', id: string | null, title: string | null }
  | { type: 'list_reply', id: string | null, title: string | null, description: string | null }
  | { type: 'nfm_reply', name: string | null, body: string | null, responseJson: string | null, response: unknown, flowToken: string | null }
  | { type: 'other', interactiveType: string | null }

/** The type-specific content of an inbound message (SPEC §4). */
export type WaMessageBody =
  | { type: 'text', text: string }
  | { type: 'image', media: WaMedia, caption: string | null }
  | { type: 'video', media: WaMedia, caption: string | null }
  | { type: 'audio', media: WaMedia, voice: boolean }
  | { type: 'document', media: WaMedia, caption: string | null, filename: string | null }
  | { type: 'sticker', media: WaMedia, animated: boolean }
  | { type: 'location', latitude: number, longitude: number, name: string | null, address: string | null, url: string | null }
  | { type: 'contacts', cards: WaContactCard[] }
  | { type: 'interactive', reply: WaInteractiveReply }
  | { type: 'button', payload: string | null, text: string | null }
  /** emoji null = the user removed the reaction (both the missing-key and the empty-string forms). */
  | { type: 'reaction', messageId: string | null, emoji: string | null }
  | { type: 'order', catalogId: string | null, text: string | null, items: WaOrderItem[] }
  | { type: 'system', systemType: string | null, body: string | null, waId: string | null, userId: string | null, previousUserId: string | null }
  | { type: 'request_welcome' }
  /** Meta could not render the message (poll, event…): `declaredType` is `unsupported` or the legacy `unknown`. */
  | { type: 'unsupported', declaredType: string, unsupportedType: string | null }
  | { type: 'edit', originalMessageId: string | null, message: WaMessageBody | null }
  | { type: 'revoke', originalMessageId: string | null }
  /** A known type whose payload is missing or malformed (e.g. latitude 91). */
  | { type: 'invalid', declaredType: string, reason: string }
  /** A type this adapter does not know yet; the raw message keeps everything. */
  | { type: 'other', declaredType: string | null }

/** An error object as Meta sends it in messages[], statuses[] and value.errors[]. */
export interface WaError {
  code: number | null
  title: string | null
  message: string | null
  details: string | null
  href: string | null
}

/** The reply / forward information of an inbound message. */
export interface WaContext {
  messageId: string | null
  from: string | null
  forwarded: boolean
  frequentlyForwarded: boolean
  referredProduct: { catalogId: string | null, productRetailerId: string | null } | null
}

/** Click-to-WhatsApp ad / post attribution. */
export interface WaReferral {
  sourceUrl: string | null
  sourceId: string | null
  sourceType: string | null
  headline: string | null
  body: string | null
  mediaType: string | null
  imageUrl: string | null
  videoUrl: string | null
  thumbnailUrl: string | null
  ctwaClid: string | null
  welcomeMessageText: string | null
}

/** The sender's profile from value.contacts[], matched by BSUID or wa_id. */
export interface WaSenderProfile {
  name: string | null
  username: string | null
  waId: string | null
  userId: string | null
  parentUserId: string | null
}

/** Where a change came from: WABA (entry.id) and the business number (value.metadata). */
interface WaOrigin {
  wabaId: string | null
  phoneNumberId: string | null
  displayPhoneNumber: string | null
}

/** One inbound user message. */
export interface InboundMessageEvent extends WaOrigin {
  kind: 'message'
  wamid: string
  from: string | null
  fromUserId: string | null
  fromParentUserId: string | null
  profile: WaSenderProfile | null
  /** Unix milliseconds, or null when Meta's timestamp was missing or malformed. */
  timestamp: number | null
  type: string | null
  body: WaMessageBody
  context: WaContext | null
  referral: WaReferral | null
  errors: WaError[]
  groupId: string | null
  raw: unknown
}

/** A known status value, or whatever new string Meta sends. */
export type WaStatus = 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'deleted' | (string & {})

/** A status update about a message the business sent. */
export interface StatusEvent extends WaOrigin {
  kind: 'status'
  wamid: string
  status: WaStatus
  timestamp: number | null
  recipientId: string | null
  recipientUserId: string | null
  recipientType: string | null
  bizOpaqueCallbackData: string | null
  errors: WaError[]
  pricing: { billable: boolean | null, pricingModel: string | null, type: string | null, category: string | null } | null
  conversation: { id: string | null, expirationTimestamp: number | null, originType: string | null } | null
  raw: unknown
}

/** A value-level error (not tied to one message). */
export interface ValueErrorEvent extends WaOrigin {
  kind: 'error'
  field: string
  error: WaError
  raw: unknown
}

/** A template status, category or quality update. */
export interface TemplateEvent {
  kind: 'template'
  field: string
  wabaId: string | null
  time: number | null
  event: string | null
  templateId: string | null
  templateName: string | null
  language: string | null
  reason: string | null
  category: string | null
  previousCategory: string | null
  newCategory: string | null
  previousQuality: string | null
  newQuality: string | null
  raw: unknown
}

/** Anything this adapter cannot read (unknown field, wrong shape, missing id), kept with its raw value. */
export interface UnknownEvent {
  kind: 'unknown'
  field: string | null
  wabaId: string | null
  reason: string
  raw: unknown
}

/** One normalised webhook event. */
export type InboundEvent = InboundMessageEvent | StatusEvent | ValueErrorEvent | TemplateEvent | UnknownEvent

/** The `field` values normalised as template events. */
export const templateFields: ReadonlySet<string> = new Set([
  'message_template_status_update', 'template_category_update', 'message_template_quality_update',
  'message_template_components_update'
])

// ——— safe readers (own properties only, exact types) ———

type Rec = Record<string, unknown>

function isRec (v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function get (o: Rec, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined
}

function rec (o: Rec, k: string): Rec | null {
  const v = get(o, k)
  return isRec(v) ? v : null
}

function list (o: Rec, k: string): unknown[] {
  const v = get(o, k)
  return Array.isArray(v) ? v : []
}

function records (o: Rec, k: string): Rec[] {
  return list(o, k).filter(isRec)
}

function str (o: Rec | null, k: string): string | null {
  if (o === null) return null
  const v = get(o, k)
  return typeof v === 'string' ? v : null
}

function nonEmpty (v: string | null): string | null {
  return v === '' ? null : v
}

/** Ids are strings; a safe integer (template ids) is accepted and turned into its decimal string. */
function id (o: Rec | null, k: string): string | null {
  if (o === null) return null
  const v = get(o, k)
  if (typeof v === 'string') return v === '' ? null : v
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v)
  return null
}

function finite (o: Rec, k: string): number | null {
  const v = get(o, k)
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

function bool (o: Rec, k: string): boolean | null {
  const v = get(o, k)
  return typeof v === 'boolean' ? v : null
}

/** Unix seconds (a digit string as Meta sends it, or a non-negative integer) to milliseconds. */
function ms (o: Rec | null, k: string): number | null {
  if (o === null) return null
  const v = get(o, k)
  if (typeof v === 'string' && /^[0-9]{1,11}$/.test(v)) return Number(v) * 1000
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < 1e11) return v * 1000
  return null
}

// ——— normalisation ———

/** Flattens a parsed webhook envelope into events; tolerant of any shape, never throws, never drops. */
export function normalize (payload: unknown): InboundEvent[] {
  const events: InboundEvent[] = []
  try {
    normalizeEnvelope(payload, events)
  } catch {
    // Defensive only: the readers above do not throw; if something still does, keep the payload.
    events.push(unknown(null, null, 'normalisation failed', payload))
  }
  return events
}

function unknown (field: string | null, wabaId: string | null, reason: string, raw: unknown): UnknownEvent {
  return { kind: 'unknown', field, wabaId, reason, raw }
}

function normalizeEnvelope (payload: unknown, events: InboundEvent[]): void {
  if (!isRec(payload)) { events.push(unknown(null, null, 'payload is not an object', payload)); return }
  const object = get(payload, 'object')
  if (object !== 'whatsapp_business_account') { events.push(unknown(null, null, 'object is not whatsapp_business_account', payload)); return }
  const entries = get(payload, 'entry')
  if (!Array.isArray(entries)) { events.push(unknown(null, null, 'entry is not an array', payload)); return }
  if (entries.length === 0) { events.push(unknown(null, null, 'entry is empty', payload)); return }
  for (const entry of entries) {
    if (!isRec(entry)) { events.push(unknown(null, null, 'entry is not an object', entry)); continue }
    const wabaId = id(entry, 'id')
    const changes = get(entry, 'changes')
    if (!Array.isArray(changes)) { events.push(unknown(null, wabaId, 'changes is not an array', entry)); continue }
    for (const change of changes) {
      if (!isRec(change)) { events.push(unknown(null, wabaId, 'change is not an object', change)); continue }
      normalizeChange(change, wabaId, ms(entry, 'time'), events)
    }
  }
}

function normalizeChange (change: Rec, wabaId: string | null, time: number | null, events: InboundEvent[]): void {
  const field = str(change, 'field')
  const value = rec(change, 'value')
  if (field === null) { events.push(unknown(null, wabaId, 'change has no field', change)); return }
  if (value === null) { events.push(unknown(field, wabaId, 'change has no value object', change)); return }
  if (field === 'messages') { normalizeMessages(value, field, wabaId, events); return }
  if (templateFields.has(field)) { events.push(templateEvent(value, field, wabaId, time)); return }
  events.push(unknown(field, wabaId, 'field not handled', change))
}

function normalizeMessages (value: Rec, field: string, wabaId: string | null, events: InboundEvent[]): void {
  const metadata = rec(value, 'metadata')
  const origin: WaOrigin = { wabaId, phoneNumberId: id(metadata, 'phone_number_id'), displayPhoneNumber: str(metadata, 'display_phone_number') }
  const profiles = records(value, 'contacts').map(readProfile)
  const before = events.length
  for (const m of list(value, 'messages')) events.push(messageEvent(m, origin, profiles, field))
  for (const s of list(value, 'statuses')) events.push(statusEvent(s, origin, field))
  for (const e of list(value, 'errors')) {
    events.push(isRec(e) ? { kind: 'error', ...origin, field, error: readError(e), raw: e } : unknown(field, wabaId, 'error is not an object', e))
  }
  if (events.length === before) events.push(unknown(field, wabaId, 'no messages, statuses or errors', value))
}

function readProfile (c: Rec): WaSenderProfile {
  const profile = rec(c, 'profile')
  return {
    name: str(profile, 'name'),
    username: str(profile, 'username'),
    waId: id(c, 'wa_id'),
    userId: id(c, 'user_id'),
    parentUserId: id(c, 'parent_user_id')
  }
}

function readError (e: Rec): WaError {
  const code = get(e, 'code')
  return {
    code: typeof code === 'number' && Number.isSafeInteger(code) ? code : null,
    title: str(e, 'title'),
    message: str(e, 'message'),
    details: str(rec(e, 'error_data'), 'details'),
    href: str(e, 'href')
  }
}

function messageEvent (m: unknown, origin: WaOrigin, profiles: WaSenderProfile[], field: string): InboundEvent {
  if (!isRec(m)) return unknown(field, origin.wabaId, 'message is not an object', m)
  const wamid = nonEmpty(str(m, 'id'))
  if (wamid === null) return unknown(field, origin.wabaId, 'message has no id', m)
  const from = id(m, 'from')
  const fromUserId = id(m, 'from_user_id')
  const profile = (fromUserId !== null ? profiles.find(p => p.userId === fromUserId) : undefined) ??
    (from !== null ? profiles.find(p => p.waId === from) : undefined) ?? null
  const type = str(m, 'type')
  return {
    kind: 'message',
    ...origin,
    wamid,
    from,
    fromUserId,
    fromParentUserId: id(m, 'from_parent_user_id'),
    profile,
    timestamp: ms(m, 'timestamp'),
    type,
    body: readBody(m, type, 0),
    context: readContext(rec(m, 'context')),
    referral: readReferral(rec(m, 'referral')),
    errors: records(m, 'errors').map(readError),
    groupId: id(m, 'group_id'),
    raw: m
  }
}

function readMedia (o: Rec): WaMedia {
  return { id: id(o, 'id'), mimeType: str(o, 'mime_type'), sha256: str(o, 'sha256'), url: str(o, 'url') }
}

const knownTypes: ReadonlySet<string> = new Set([
  'text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'interactive', 'button', 'reaction', 'order', 'system', 'edit', 'revoke'
])

/** Reads the `<type>` object of a message (or of an edit's new message; depth guards nested edits). */
function readBody (m: Rec, type: string | null, depth: number): WaMessageBody {
  if (type === null) return { type: 'other', declaredType: null }
  if (type === 'request_welcome') return { type: 'request_welcome' }
  if (type === 'unsupported' || type === 'unknown') {
    return { type: 'unsupported', declaredType: type, unsupportedType: str(rec(m, type), 'type') }
  }
  const invalid = (reason: string): WaMessageBody => ({ type: 'invalid', declaredType: type, reason })
  if (type === 'contacts') {
    return Array.isArray(get(m, 'contacts')) ? { type: 'contacts', cards: records(m, 'contacts').map(readCard) } : invalid('contacts is not an array')
  }
  const o = rec(m, type)
  if (o === null) return knownTypes.has(type) ? invalid(`${type} object missing`) : { type: 'other', declaredType: type }
  switch (type) {
    case 'text': {
      const text = str(o, 'body')
      return text === null ? invalid('text.body is not a string') : { type: 'text', text }
    }
    case 'image': return { type: 'image', media: readMedia(o), caption: str(o, 'caption') }
    case 'video': return { type: 'video', media: readMedia(o), caption: str(o, 'caption') }
    case 'audio': return { type: 'audio', media: readMedia(o), voice: bool(o, 'voice') === true }
    case 'document': return { type: 'document', media: readMedia(o), caption: str(o, 'caption'), filename: str(o, 'filename') }
    case 'sticker': return { type: 'sticker', media: readMedia(o), animated: bool(o, 'animated') === true }
    case 'location': {
      const latitude = finite(o, 'latitude')
      const longitude = finite(o, 'longitude')
      if (latitude === null || longitude === null || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return invalid('latitude/longitude out of range')
      return { type: 'location', latitude, longitude, name: str(o, 'name'), address: str(o, 'address'), url: str(o, 'url') }
    }
    case 'interactive': return { type: 'interactive', reply: readInteractive(o) }
    case 'button': return { type: 'button', payload: str(o, 'payload'), text: str(o, 'text') }
    case 'reaction': {
      const emoji = str(o, 'emoji')
      return { type: 'reaction', messageId: id(o, 'message_id'), emoji: emoji === '' ? null : emoji }
    }
    case 'order': return {
      type: 'order',
      catalogId: id(o, 'catalog_id'),
      text: str(o, 'text'),
      items: records(o, 'product_items').map(i => ({
        productRetailerId: id(i, 'product_retailer_id'), quantity: finite(i, 'quantity'), itemPrice: finite(i, 'item_price'), currency: str(i, 'currency')
      }))
    }
    case 'system': return {
      type: 'system',
      systemType: str(o, 'type'),
      body: str(o, 'body'),
      waId: id(o, 'wa_id') ?? id(o, 'new_wa_id'),
      userId: id(o, 'user_id'),
      previousUserId: id(o, 'previous_user_id')
    }
    case 'edit': {
      const inner = rec(o, 'message')
      const message = inner !== null && depth < 2 ? readBody(inner, str(inner, 'type'), depth + 1) : null
      return { type: 'edit', originalMessageId: id(o, 'original_message_id'), message }
    }
    case 'revoke': return { type: 'revoke', originalMessageId: id(o, 'original_message_id') }
    default: return { type: 'other', declaredType: type }
  }
}

function readCard (c: Rec): WaContactCard {
  const name = rec(c, 'name')
  const org = rec(c, 'org')
  return {
    formattedName: str(name, 'formatted_name'),
    firstName: str(name, 'first_name'),
    lastName: str(name, 'last_name'),
    phones: records(c, 'phones').map(p => ({ phone: str(p, 'phone'), waId: id(p, 'wa_id'), type: str(p, 'type') })),
    emails: records(c, 'emails').map(e => ({ email: str(e, 'email'), type: str(e, 'type') })),
    urls: records(c, 'urls').map(u => ({ url: str(u, 'url'), type: str(u, 'type') })),
    org: org === null ? null : { company: str(org, 'company'), department: str(org, 'department'), title: str(org, 'title') },
    birthday: str(c, 'birthday')
  }
}

function readInteractive (o: Rec): WaInteractiveReply {
  const kind = str(o, 'type')
  const r = kind === null ? null : rec(o, kind)
  if (kind === 'button_reply' && r !== null) return { type: 'button_reply', id: id(r, 'id'), title: str(r, 'title') }
  if (kind === 'list_reply' && r !== null) return { type: 'list_reply', id: id(r, 'id'), title: str(r, 'title'), description: str(r, 'description') }
  if (kind === 'nfm_reply' && r !== null) {
    const responseJson = str(r, 'response_json')
    const parsed = responseJson === null ? null : parseJsonText(responseJson)
    const response = parsed !== null && parsed.ok ? parsed.payload : null
    return { type: 'nfm_reply', name: str(r, 'name'), body: str(r, 'body'), responseJson, response, flowToken: isRec(response) ? str(response, 'flow_token') : null }
  }
  return { type: 'other', interactiveType: kind }
}

function readContext (c: Rec | null): WaContext | null {
  if (c === null) return null
  const product = rec(c, 'referred_product')
  return {
    messageId: id(c, 'id'),
    from: id(c, 'from'),
    forwarded: bool(c, 'forwarded') === true,
    frequentlyForwarded: bool(c, 'frequently_forwarded') === true,
    referredProduct: product === null ? null : { catalogId: id(product, 'catalog_id'), productRetailerId: id(product, 'product_retailer_id') }
  }
}

function readReferral (r: Rec | null): WaReferral | null {
  if (r === null) return null
  return {
    sourceUrl: str(r, 'source_url'),
    sourceId: id(r, 'source_id'),
    sourceType: str(r, 'source_type'),
    headline: str(r, 'headline'),
    body: str(r, 'body'),
    mediaType: str(r, 'media_type'),
    imageUrl: str(r, 'image_url'),
    videoUrl: str(r, 'video_url'),
    thumbnailUrl: str(r, 'thumbnail_url'),
    ctwaClid: str(r, 'ctwa_clid'),
    welcomeMessageText: str(rec(r, 'welcome_message'), 'text')
  }
}

function statusEvent (s: unknown, origin: WaOrigin, field: string): InboundEvent {
  if (!isRec(s)) return unknown(field, origin.wabaId, 'status is not an object', s)
  const wamid = nonEmpty(str(s, 'id'))
  const status = nonEmpty(str(s, 'status'))
  if (wamid === null || status === null) return unknown(field, origin.wabaId, 'status has no id or status', s)
  const pricing = rec(s, 'pricing')
  const conversation = rec(s, 'conversation')
  return {
    kind: 'status',
    ...origin,
    wamid,
    status,
    timestamp: ms(s, 'timestamp'),
    recipientId: id(s, 'recipient_id'),
    recipientUserId: id(s, 'recipient_user_id'),
    recipientType: str(s, 'recipient_type'),
    bizOpaqueCallbackData: str(s, 'biz_opaque_callback_data'),
    errors: records(s, 'errors').map(readError),
    pricing: pricing === null
      ? null
      : { billable: bool(pricing, 'billable'), pricingModel: str(pricing, 'pricing_model'), type: str(pricing, 'type'), category: str(pricing, 'category') },
    conversation: conversation === null
      ? null
      : { id: id(conversation, 'id'), expirationTimestamp: ms(conversation, 'expiration_timestamp'), originType: str(rec(conversation, 'origin'), 'type') },
    raw: s
  }
}

function templateEvent (v: Rec, field: string, wabaId: string | null, time: number | null): TemplateEvent {
  return {
    kind: 'template',
    field,
    wabaId,
    time,
    event: str(v, 'event'),
    templateId: id(v, 'message_template_id'),
    templateName: str(v, 'message_template_name'),
    language: str(v, 'message_template_language'),
    reason: str(v, 'reason'),
    category: str(v, 'message_template_category'),
    previousCategory: str(v, 'previous_category'),
    newCategory: str(v, 'new_category'),
    previousQuality: str(v, 'previous_quality_score'),
    newQuality: str(v, 'new_quality_score'),
    raw: v
  }
}

// The shared inbox: the conversation list (filters, search, keyset pages), the thread of one
// conversation with every WhatsApp message type, the contact panel, and the workflow — assignment
// (by hand, self-assign on reply, round robin for new conversations), statuses (open, pending,
// snoozed until a time, resolved), labels and bulk actions. Every change emits
// 'conversation.updated' after its commit; the live stream rings the doorbell from there.
//
// Views are plain data for the eta templates in views/inbox/. Message text is never turned into HTML
// here: formatWhatsApp splits it into styled segments and the templates escape every one of them, so
// nothing a customer writes can become markup.
import type { Db } from '../../db/open.js'
import type { Deps } from '../../deps.js'
import { initials, colourOf } from '../../platform/http/render.js'
import { NotFoundError, ValidationError } from '../../platform/http/errors.js'
import type { Translate } from '../../platform/i18n/i18n.js'
import { classifyGraphError } from '../../platform/whatsapp/errors.js'
import type { WaContactCard, WaInteractiveReply, WaOrderItem } from '../../platform/whatsapp/webhook-payload.js'
import { contactsNamed, findWhatsAppContact, likeEscape, namePhrase } from '../contacts/contacts.service.js'
import { formatPhone } from '../contacts/phone.js'
import { ensureLabel, findLabel, listLabels } from '../labels/labels.service.js'
import { isId } from '../../platform/crypto/index.js'
import { markConversationRead } from '../outbound/outbound.service.js'
import { inboxSettings, userNames } from '../workspaces/workspaces.service.js'
import { messageByWamid, windowRefusedSince } from './messages.store.js'
import { readContent, windowClosesAt, type MessageContent } from './messaging.service.js'
import {
  addConversationLabel, assignedConversations, channelBrief, contactById, contactConversations, conversationsIn, dueSnoozed, findConversationRow,
  labelsOfConversations, listConversations, markAssigned, mediaOfMessages, memberOf, membersOf, messagePreviews,
  nextRoundRobin, reactionsOf, removeConversationLabel, setConversation, setMemberAvailable, threadMessages, viewCounts,
  workspaceChannels, type ChannelBrief, type ConversationRow, type Cursor, type LabelRow, type ListQuery, type ListRow, type MediaItem, type MemberBrief, type MessageRow, type Status
} from './conversations.store.js'

export type { ChannelBrief, ConversationRow, Cursor, LabelRow, MemberBrief, Status }
/** LIKE escaping for name searches elsewhere (the contact list): one definition, in the store. */

type D = Pick<Deps, 'db' | 'clock' | 'events'>

/** Who acts: a member of the workspace (the access hook checked the role). */
export interface InboxActor { userId: string, workspaceId: string, role: 'owner' | 'admin' | 'agent' }

/** How the viewer reads dates: their language, time zone and the current time. */
export interface ViewerClock { t: Translate, locale: string, timeZone: string, now: number }

export const statuses: readonly Status[] = ['open', 'pending', 'snoozed', 'resolved']
export const views = ['mine', 'unassigned', 'all'] as const
export type View = typeof views[number]

const hourMs = 3_600_000
const dayMs = 24 * hourMs
/** The window indicator turns to "closing soon" this long before the 24-hour window ends. */
const closingSoonMs = 2 * hourMs
const listPageSize = 40
const refreshCap = 400
const threadPageSize = 60

// ── small helpers ─────────────────────────────────────────────────────────

export { isId }

/** "<time>.<id>" ↔ Cursor. */
export function cursorText (c: Cursor): string {
  return `${c.at}.${c.id}`
}

export function parseCursor (raw: string): Cursor | undefined {
  const m = /^(\d{1,15})\.([0-9A-HJKMNP-TV-Z]{26})$/.exec(raw)
  return m === null ? undefined : { at: Number(m[1]), id: m[2]! }
}

/** +digits for a wa_id (Meta sends digits only). */
export function phoneOf (waId: string | null): string | null {
  if (waId === null || waId === '') return null
  // Written the international way people read it ("+55 11 98765 4321"), not as bare digits.
  return formatPhone(waId.replace(/[^0-9]/g, ''))
}

function contactDisplayName (c: { name: string | null, profileName: string | null, username: string | null }, phone: string | null, t: Translate): string {
  return c.name ?? c.profileName ?? (c.username === null ? null : '@' + c.username) ?? phone ?? t('inbox.contact.unknown')
}

const intlCache = new Map<string, Intl.DateTimeFormat>()
function dtf (locale: string, timeZone: string, kind: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${kind}`
  let f = intlCache.get(key)
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat(locale, { timeZone, ...options })
    } catch {
      f = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', ...options })
    }
    intlCache.set(key, f)
  }
  return f
}

interface ZonedParts { y: number, m: number, d: number, h: number, mi: number, weekday: number }
// formatToParts is the costliest call of a list render (several per row, "now" included): the wall
// clock of a zone is the same for a whole minute, so the parts are remembered per zone and minute.
const zonedCache = new Map<string, ZonedParts>()
function zoned (ms: number, timeZone: string): ZonedParts {
  const minute = Math.floor(ms / 60_000)
  const key = `${timeZone}|${minute}`
  const hit = zonedCache.get(key)
  if (hit !== undefined) return hit
  const parts = zonedParts(minute * 60_000, timeZone)
  if (zonedCache.size >= 20_000) zonedCache.clear()
  zonedCache.set(key, parts)
  return parts
}

function zonedParts (ms: number, timeZone: string): ZonedParts {
  const parts = dtf('en-US', timeZone, 'parts', { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short', hourCycle: 'h23' }).formatToParts(ms)
  const get = (type: string): string => parts.find(p => p.type === type)?.value ?? '0'
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday'))
  return { y: Number(get('year')), m: Number(get('month')), d: Number(get('day')), h: Number(get('hour')) % 24, mi: Number(get('minute')), weekday }
}

/** The instant at which the wall clock of `timeZone` shows y-m-d h:mi. */
export function zonedTime (y: number, m: number, d: number, h: number, mi: number, timeZone: string): number {
  const wanted = Date.UTC(y, m - 1, d, h, mi)
  let guess = wanted
  for (let i = 0; i < 3; i++) {
    const p = zoned(guess, timeZone)
    const shown = Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi)
    if (shown === wanted) break
    guess += wanted - shown
  }
  return guess
}

function dayNumber (ms: number, timeZone: string): number {
  const p = zoned(ms, timeZone)
  return Math.floor(Date.UTC(p.y, p.m - 1, p.d) / dayMs)
}

/** "14:32" today, "Tue" this week, "12 Mar" this year, "12 Mar 2024" before. */
export function shortWhen (ms: number, v: Omit<ViewerClock, 't'>): string {
  const days = dayNumber(v.now, v.timeZone) - dayNumber(ms, v.timeZone)
  if (days <= 0) return clockTime(ms, v)
  if (days < 7) return dtf(v.locale, v.timeZone, 'weekday', { weekday: 'short' }).format(ms)
  if (zoned(ms, v.timeZone).y === zoned(v.now, v.timeZone).y) return dtf(v.locale, v.timeZone, 'dayMonth', { day: 'numeric', month: 'short' }).format(ms)
  return dtf(v.locale, v.timeZone, 'dayMonthYear', { day: 'numeric', month: 'short', year: 'numeric' }).format(ms)
}

export function clockTime (ms: number, v: Pick<ViewerClock, 'locale' | 'timeZone'>): string {
  return dtf(v.locale, v.timeZone, 'time', { timeStyle: 'short' }).format(ms)
}

function fullTime (ms: number, v: Pick<ViewerClock, 'locale' | 'timeZone'>): string {
  return dtf(v.locale, v.timeZone, 'full', { dateStyle: 'full', timeStyle: 'short' }).format(ms)
}

/** The day separator of a thread: "Today", "Yesterday", "Monday", "12 March 2026". */
function dayLabel (ms: number, v: ViewerClock): string {
  const days = dayNumber(v.now, v.timeZone) - dayNumber(ms, v.timeZone)
  if (days === 0) return v.t('inbox.day.today')
  if (days === 1) return v.t('inbox.day.yesterday')
  if (days > 1 && days < 7) return dtf(v.locale, v.timeZone, 'weekdayLong', { weekday: 'long' }).format(ms)
  return dtf(v.locale, v.timeZone, 'longDate', { day: 'numeric', month: 'long', year: 'numeric' }).format(ms)
}

/** Time left, as the composer's countdown writes it (whole minutes rounded up: "23 h 12 min"), so the two agree. */
export function timeLeft (ms: number, t: Translate): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000))
  if (minutes < 60) return t('inbox.duration.minutes', { count: minutes })
  const hours = Math.floor(minutes / 60)
  const rest = minutes % 60
  return rest === 0 ? t('inbox.duration.hours', { count: hours }) : t('inbox.duration.hoursMinutes', { hours, minutes: rest })
}

function fileSize (bytes: number | null, locale: string): string | null {
  if (bytes === null) return null
  const nf = (n: number, digits: number): string => new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(n)
  if (bytes < 1024) return `${nf(bytes, 0)} B`
  if (bytes < 1024 * 1024) return `${nf(bytes / 1024, 0)} KB`
  return `${nf(bytes / (1024 * 1024), 1)} MB`
}

// ── WhatsApp formatting, safely ──────────────────────────────────────────

/**
 * A run of message text with its styles. `href` is set for links (http and https only). Templates
 * print `text` escaped inside the tags the flags name; nothing here is HTML.
 */
export interface Segment { text: string, b?: true, i?: true, s?: true, code?: true, mono?: true, href?: string }

type Flags = Omit<Segment, 'text' | 'href'>
interface Opaque { start: number, end: number, kind: 'mono' | 'code' | 'url', inner: string }

const maxFormatted = 10_000
const urlPattern = /\bhttps?:\/\/[^\s<>"'`]+/giu
const trailing = /[.,:;!?*_~)\]}'"]+$/u
const wordChar = /[\p{L}\p{N}]/u

function opaqueRanges (text: string): Opaque[] {
  const ranges: Opaque[] = []
  const taken = (a: number, b: number): boolean => ranges.some(r => a < r.end && b > r.start)
  for (const m of text.matchAll(/```([\s\S]+?)```/g)) ranges.push({ start: m.index, end: m.index + m[0].length, kind: 'mono', inner: m[1]! })
  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    if (!taken(m.index, m.index + m[0].length)) ranges.push({ start: m.index, end: m.index + m[0].length, kind: 'code', inner: m[1]! })
  }
  for (const m of text.matchAll(urlPattern)) {
    const url = m[0].replace(trailing, '')
    if (url.length < 9 || taken(m.index, m.index + url.length)) continue
    let ok = false
    try { ok = ['http:', 'https:'].includes(new URL(url).protocol) } catch { ok = false }
    if (ok) ranges.push({ start: m.index, end: m.index + url.length, kind: 'url', inner: url })
  }
  return ranges.sort((a, b) => a.start - b.start)
}

/**
 * Splits WhatsApp-formatted text into styled segments: *bold*, _italic_, ~strike~, ```monospace```,
 * `inline code`, and http(s) links. Markers follow WhatsApp's rules (an opening marker starts a word,
 * a closing one ends it, both on one line); markers inside code or links are text.
 */
export function formatWhatsApp (input: string): Segment[] {
  const text = input.length > maxFormatted ? input.slice(0, maxFormatted) + '…' : input
  // Most messages have no marker and no link: one plain segment, without the parse.
  if (!/[*_~`]|https?:/i.test(text)) return text === '' ? [] : [{ text }]
  const opaque = opaqueRanges(text)
  // Work stays linear-ish whatever the input: opaque positions, line ends and candidate closers are
  // computed once, and an opener finds its closer by binary search.
  const hidden = new Uint8Array(text.length)
  for (const r of opaque) hidden.fill(1, r.start, r.end)
  const lineEnd = new Int32Array(text.length + 1)
  lineEnd[text.length] = text.length
  for (let i = text.length - 1; i >= 0; i--) lineEnd[i] = text[i] === '\n' ? i : lineEnd[i + 1]!
  const out: Segment[] = []

  const push = (seg: Segment): void => {
    const last = out.at(-1)
    if (last !== undefined && seg.href === undefined && last.href === undefined && sameFlags(last, seg)) last.text += seg.text
    else if (seg.text !== '') out.push(seg)
  }
  const leaf = (start: number, end: number, flags: Flags): void => {
    let i = start
    for (const r of opaque) {
      if (r.end <= i || r.start >= end) continue
      if (r.start > i) push({ text: text.slice(i, r.start), ...flags })
      if (r.kind === 'url') push({ text: r.inner, href: r.inner, ...flags })
      else push({ text: r.inner, ...flags, ...(r.kind === 'mono' ? { mono: true } : { code: true }) })
      i = r.end
    }
    if (i < end) push({ text: text.slice(i, end), ...flags })
  }
  const opens = (i: number, start: number): boolean => {
    const c = text[i]!
    const prev = i > start ? text[i - 1]! : ''
    const next = text[i + 1] ?? ''
    return hidden[i] === 0 && (prev === '' || (!wordChar.test(prev) && prev !== c)) && next !== '' && !/\s/u.test(next) && next !== c
  }
  const closes = (j: number, end: number, c: string): boolean => {
    const prev = text[j - 1] ?? ''
    const next = j + 1 < end ? text[j + 1]! : ''
    return hidden[j] === 0 && text[j] === c && prev !== '' && !/\s/u.test(prev) && prev !== c && (next === '' || !wordChar.test(next))
  }
  const styles: Record<string, keyof Flags> = { '*': 'b', _: 'i', '~': 's' }
  // Positions that could close a style (checked again against the exact range when used).
  const candidates: Record<string, number[]> = { '*': [], _: [], '~': [] }
  for (let j = 1; j < text.length; j++) {
    const c = text[j]!
    if (styles[c] !== undefined && hidden[j] === 0 && !/\s/u.test(text[j - 1]!) && text[j - 1] !== c) candidates[c]!.push(j)
  }
  const firstAfter = (list: number[], min: number): number => {
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (list[mid]! < min) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const parse = (start: number, end: number, flags: Flags, depth: number): void => {
    let plain = start
    let i = start
    while (i < end) {
      const c = text[i]!
      const style = styles[c]
      if (style !== undefined && depth < 6 && opens(i, start)) {
        const list = candidates[c]!
        const limit = Math.min(end, lineEnd[i]!)
        let found = -1
        for (let k = firstAfter(list, i + 2); k < list.length && list[k]! < limit; k++) {
          if (closes(list[k]!, end, c)) { found = list[k]!; break }
        }
        if (found !== -1) {
          leaf(plain, i, flags)
          parse(i + 1, found, { ...flags, [style]: true }, depth + 1)
          i = found + 1
          plain = i
          continue
        }
      }
      i++
    }
    leaf(plain, end, flags)
  }
  parse(0, text.length, {}, 0)
  return out
}

function sameFlags (a: Segment, b: Segment): boolean {
  return a.b === b.b && a.i === b.i && a.s === b.s && a.code === b.code && a.mono === b.mono
}

/**
 * The text of formatted segments without markers (for previews). A preview shows one line of at
 * most 140 characters, so only the start of a long message is formatted.
 */
function plainText (text: string): string {
  const start = text.length > 600 ? text.slice(0, 600) : text
  // No marker character: nothing to strip (most messages), so no need to parse.
  if (!/[*_~`]/.test(start)) return start
  return formatWhatsApp(start).map(s => s.text).join('')
}

// ── message previews ──────────────────────────────────────────────────────

type Body = Record<string, unknown> & { type: string }

function str (v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null
}

function bodyOf (content: MessageContent): Body {
  const b = content.body as unknown
  return (typeof b === 'object' && b !== null && typeof (b as { type?: unknown }).type === 'string') ? b as Body : { type: 'other' }
}

function oneLine (text: string, max = 140): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > max ? line.slice(0, max - 1) + '…' : line
}

/** The icon (views/inbox/_glyph) that says what kind of message a preview is about, if any. */
export function previewKind (message: Pick<MessageRow, 'content' | 'direction' | 'revokedAt'>): string | null {
  if (message.direction === 'note') return 'note'
  if (message.revokedAt !== null) return 'ban'
  let content: MessageContent
  try { content = readContent(message) } catch { return 'alert' }
  const b = bodyOf(content)
  switch (b.type) {
    case 'revoked': case 'expired': return 'ban'
    case 'image': return 'image'
    case 'video': return 'video'
    case 'audio': return b.voice === true ? 'mic' : 'volume'
    case 'document': return 'file'
    case 'sticker': return 'sticker'
    case 'location': return 'pin'
    case 'contacts': return 'contact'
    case 'interactive': case 'button': return 'reply'
    case 'order': return 'cart'
    case 'template': return 'template'
    case 'text': case 'system': case 'request_welcome': case 'reaction': return null
    default: return 'alert'
  }
}

/** One line saying what a message is: the text itself, "Photo", "Voice message", a file name… */
export function previewOf (message: Pick<MessageRow, 'content' | 'direction' | 'revokedAt'>, t: Translate): string {
  let content: MessageContent
  try { content = readContent(message) } catch { return t('inbox.preview.unsupported') }
  const b = bodyOf(content)
  const caption = str(b.caption)
  let text: string
  switch (message.revokedAt !== null ? 'revoked' : b.type) {
    case 'revoked': text = t('inbox.msg.deleted'); break
    case 'expired': text = t('inbox.msg.expired'); break
    case 'text': text = plainText(str(b.text) ?? ''); break
    case 'image': text = caption === null ? t('inbox.preview.photo') : plainText(caption); break
    case 'video': text = caption === null ? t('inbox.preview.video') : plainText(caption); break
    case 'audio': text = b.voice === true ? t('inbox.preview.voice') : t('inbox.preview.audio'); break
    case 'document': text = str(b.filename) ?? caption ?? t('inbox.preview.document'); break
    case 'sticker': text = t('inbox.preview.sticker'); break
    case 'location': text = str(b.name) ?? str(b.address) ?? t('inbox.preview.location'); break
    case 'contacts': {
      const cards = Array.isArray(b.cards) ? b.cards as WaContactCard[] : []
      const first = cards[0]?.formattedName ?? t('inbox.preview.contact')
      text = cards.length > 1 ? t('inbox.preview.contacts', { name: first, count: cards.length - 1 }) : first
      break
    }
    case 'interactive': {
      const r = b.reply as WaInteractiveReply | undefined
      text = r?.type === 'nfm_reply' ? t('inbox.preview.form') : (r !== undefined && 'title' in r && r.title !== null ? r.title : t('inbox.preview.reply'))
      break
    }
    case 'button': text = str(b.text) ?? t('inbox.preview.reply'); break
    case 'order': {
      const items = Array.isArray(b.items) ? b.items.length : 0
      text = t('inbox.preview.order', { count: items })
      break
    }
    case 'template': text = plainText(str(b.text) ?? str(b.name) ?? t('inbox.preview.template')); break
    case 'reaction': text = str(b.emoji) === null ? t('inbox.preview.reactionRemoved') : t('inbox.preview.reaction', { emoji: str(b.emoji)! }); break
    case 'system': text = str(b.body) ?? t('inbox.preview.system'); break
    case 'request_welcome': text = t('inbox.msg.welcome'); break
    default: text = t('inbox.preview.unsupported')
  }
  text = oneLine(text)
  return message.direction === 'note' ? t('inbox.preview.note', { text }) : text
}

// ── the list ──────────────────────────────────────────────────────────────

export interface ListFilter {
  view: View
  status: Status
  labelId?: string | undefined
  channelId?: string | undefined
  q: string
}

export interface RowView {
  id: string
  name: string
  initials: string
  colour: number
  preview: string
  /** An icon for the kind of the last message (photo, voice note…), or null for plain text. */
  previewIcon: string | null
  /** Outbound tick of the last message, when the last message is ours. */
  lastOut: string | null
  when: string
  whenTitle: string
  unread: number
  assignee: { name: string, initials: string, colour: number, me: boolean } | null
  window: 'closing' | 'closed' | null
  snoozedUntil: string | null
  labels: Array<{ name: string, colour: number }>
  channelName: string | null
}

export interface ListView {
  filter: ListFilter
  rows: RowView[]
  /** Cursor of the next (older) page, when there is one. */
  next: string | null
  /** Cursor of the last row shown: a refresh fetches everything down to it. */
  upto: string | null
  /** Tab counts, capped at viewCountCap (shown as "999+"). */
  counts: { mine: number, unassigned: number }
  labels: LabelRow[]
  channels: ChannelBrief[]
  members: MemberBrief[]
  me: MemberBrief | undefined
}

export function windowState (conversation: Pick<ConversationRow, 'lastInboundAt' | 'status'>, now: number): { state: 'open' | 'closing' | 'closed' | 'none', closesAt: number | null } {
  const closes = windowClosesAt(conversation)
  if (closes === null) return { state: 'none', closesAt: null }
  if (closes <= now) return { state: 'closed', closesAt: closes }
  return { state: closes - now <= closingSoonMs ? 'closing' : 'open', closesAt: closes }
}

const phoneLike = /^\+?[\d\s().-]{6,24}$/

/** A name search matching at most this many contacts lists them first (see listView). */
const fewNamed = 100

/** The list for a filter: one page (after = older page; upto = refresh of everything shown). */
export function listView (deps: Pick<Deps, 'db'>, actor: InboxActor, filter: ListFilter, page: { after?: Cursor | undefined, upto?: Cursor | undefined }, v: ViewerClock): ListView {
  const ws = actor.workspaceId
  const q = filter.q.trim().slice(0, 100)
  const search = listSearch(deps.db, ws, q)
  const limit = page.upto !== undefined ? refreshCap : listPageSize
  const { rows, more } = listConversations(deps.db, ws, { status: filter.status, view: filter.view, userId: actor.userId, labelId: filter.labelId, channelId: filter.channelId, ...search, after: page.after, upto: page.upto, limit })
  const channels = workspaceChannels(deps.db, ws)
  const members = membersOf(deps.db, ws)
  const view = rowViews(deps.db, ws, rows, actor, channels, colourOf, v)
  const last = rows.at(-1)
  // A refresh that hit its cap continues with "load more" from its last row.
  const hasMore = page.upto !== undefined ? rows.length >= limit || olderThan(deps.db, ws, filter, actor, search, last) : more
  return {
    filter: { ...filter, q },
    rows: view,
    next: hasMore && last !== undefined ? cursorText({ at: last.lastMessageAt, id: last.id }) : null,
    upto: last === undefined ? null : cursorText({ at: last.lastMessageAt, id: last.id }),
    counts: viewCounts(deps.db, ws, filter.status, actor.userId),
    labels: listLabels(deps.db, ws),
    channels,
    members,
    me: members.find(m => m.userId === actor.userId)
  }
}

function olderThan (db: Db, ws: string, filter: ListFilter, actor: InboxActor, search: ListSearch, last: ListRow | undefined): boolean {
  if (last === undefined) return false
  return listConversations(db, ws, { status: filter.status, view: filter.view, userId: actor.userId, labelId: filter.labelId, channelId: filter.channelId, ...search, after: { at: last.lastMessageAt, id: last.id }, limit: 1 }).rows.length > 0
}

export type ListSearch = Pick<ListQuery, 'namePattern' | 'contactIds' | 'nameMatch'>

/**
 * What the search box asks the list for. A full phone number: the contact with that WhatsApp number.
 * A name: through the trigram index (any case, any accents); few contacts and the list starts from
 * theirs, more and the list is walked testing each row against the index's answer. Under three
 * characters the index cannot help, and names are scanned with LIKE.
 */
export function listSearch (db: Db, ws: string, q: string): ListSearch {
  if (q === '') return {}
  const namePattern = `%${likeEscape(q)}%`
  if (phoneLike.test(q)) {
    const contact = findWhatsAppContact(db, ws, { bsuid: null, waId: q.replace(/[^0-9]/g, '') })
    // No contact with that number: the digits may still be part of a name.
    return contact === undefined ? { namePattern } : { contactIds: [contact.id] }
  }
  const named = contactsNamed(db, ws, q, fewNamed + 1)
  if (named === undefined) return { namePattern }
  return named.length <= fewNamed ? { contactIds: named } : { nameMatch: namePhrase(q) }
}

function rowViews (db: Db, ws: string, rows: ListRow[], actor: InboxActor, channels: ChannelBrief[], colourFor: (userId: string) => number, v: ViewerClock): RowView[] {
  const last = messagePreviews(db, ws, rows.map(r => r.lastMessageId).filter((id): id is string => id !== null))
  const labels = labelsOfConversations(db, ws, rows.map(r => r.id))
  const channelNames = new Map(channels.map(c => [c.id, c.name]))
  return rows.map(r => {
    const message = r.lastMessageId === null ? undefined : last.get(r.lastMessageId)
    const name = contactDisplayName({ name: r.contactName, profileName: r.contactProfileName, username: r.contactUsername }, null, v.t)
    const w = windowState(r, v.now)
    return {
      id: r.id,
      name,
      initials: initials(name),
      colour: colourOf(r.contactId),
      preview: message === undefined ? '' : previewOf(message, v.t),
      previewIcon: message === undefined ? null : previewKind(message),
      lastOut: message?.direction === 'out' ? message.status : null,
      when: shortWhen(r.lastMessageAt, v),
      whenTitle: fullTime(r.lastMessageAt, v),
      unread: r.unreadCount,
      assignee: r.assigneeId === null ? null : { name: r.assigneeName ?? '', initials: initials(r.assigneeName ?? '?'), colour: colourFor(r.assigneeId), me: r.assigneeId === actor.userId },
      window: r.status === 'resolved' ? null : w.state === 'closing' ? 'closing' : w.state === 'closed' ? 'closed' : null,
      snoozedUntil: r.status === 'snoozed' && r.snoozedUntil !== null ? shortWhen(r.snoozedUntil, { ...v, now: r.snoozedUntil }) : null,
      labels: (labels.get(r.id) ?? []).slice(0, 3).map(l => ({ name: l.name, colour: l.colour })),
      channelName: channels.length > 1 ? channelNames.get(r.channelId) ?? null : null
    }
  })
}

// ── one conversation: header, contact panel, thread ──────────────────────

/** A conversation of the actor's workspace, or NotFoundError (another workspace's id looks unknown). */
export function conversationOf (deps: Pick<Deps, 'db'>, actor: Pick<InboxActor, 'workspaceId'>, id: string): ConversationRow {
  const c = isId(id) ? findConversationRow(deps.db, actor.workspaceId, id) : undefined
  if (c === undefined) throw new NotFoundError()
  return c
}

export interface HeaderView {
  id: string
  name: string
  initials: string
  colour: number
  phone: string | null
  status: Status
  snoozedUntil: string | null
  assignee: { id: string, name: string, initials: string, colour: number, me: boolean } | null
  members: Array<MemberBrief & { initials: string, colour: number }>
  labels: Array<{ id: string, name: string, colour: number }>
  window: { state: 'open' | 'closing' | 'closed' | 'none', left: string | null }
  channel: ChannelBrief | undefined
  contactId: string
}

export interface ContactPanelView {
  conversationId: string
  contactId: string
  name: string
  initials: string
  colour: number
  savedName: string | null
  profileName: string | null
  username: string | null
  phone: string | null
  bsuid: string | null
  channel: ChannelBrief | undefined
  labels: Array<{ id: string, name: string, colour: number }>
  allLabels: LabelRow[]
  others: Array<{ id: string, status: Status, when: string, preview: string }>
  /** Marketing consent (contacts/consent.service.ts): 'opted_out' is marked, templates are refused. */
  consent: 'unknown' | 'opted_in' | 'opted_out'
}

export function headerView (deps: Pick<Deps, 'db'>, actor: InboxActor, conversation: ConversationRow, v: ViewerClock): HeaderView {
  const ws = actor.workspaceId
  const contact = contactById(deps.db, ws, conversation.contactId)
  const phone = phoneOf(contact?.waId ?? null)
  const name = contact === undefined ? v.t('inbox.contact.unknown') : contactDisplayName(contact, phone, v.t)
  const members = membersOf(deps.db, ws)
  // Members' avatars are seeded by their user id, like the app shell's (a person looks the same everywhere).
  const colourFor = colourOf
  const assignee = conversation.assigneeId === null ? undefined : members.find(m => m.userId === conversation.assigneeId)
  const assigneeName = assignee?.name ?? (conversation.assigneeId === null ? undefined : userNames(deps.db, [conversation.assigneeId]).get(conversation.assigneeId))
  const ours = windowState(conversation, v.now)
  // Meta refused a send for a closed window after the customer's last message: its clock wins.
  const w = ours.closesAt !== null && windowRefusedSince(deps.db, ws, conversation.id, conversation.lastInboundAt!) ? { state: 'closed' as const, closesAt: null } : ours
  return {
    id: conversation.id,
    name,
    initials: initials(name),
    colour: colourOf(conversation.contactId),
    phone,
    status: conversation.status,
    snoozedUntil: conversation.status === 'snoozed' && conversation.snoozedUntil !== null ? `${shortWhen(conversation.snoozedUntil, { ...v, now: Math.min(v.now, conversation.snoozedUntil) })} ${clockTime(conversation.snoozedUntil, v)}` : null,
    assignee: conversation.assigneeId === null ? null : { id: conversation.assigneeId, name: assigneeName ?? '', initials: initials(assigneeName ?? '?'), colour: colourFor(conversation.assigneeId), me: conversation.assigneeId === actor.userId },
    members: members.map(m => ({ ...m, initials: initials(m.name), colour: colourFor(m.userId) })),
    labels: (labelsOfConversations(deps.db, ws, [conversation.id]).get(conversation.id) ?? []).map(l => ({ id: l.id, name: l.name, colour: l.colour })),
    window: { state: w.state, left: w.closesAt !== null && w.closesAt > v.now ? timeLeft(w.closesAt - v.now, v.t) : null },
    channel: channelBrief(deps.db, ws, conversation.channelId),
    contactId: conversation.contactId
  }
}

export function contactPanelView (deps: Pick<Deps, 'db'>, actor: InboxActor, conversation: ConversationRow, v: ViewerClock): ContactPanelView {
  const ws = actor.workspaceId
  const contact = contactById(deps.db, ws, conversation.contactId)
  const phone = phoneOf(contact?.waId ?? null)
  const name = contact === undefined ? v.t('inbox.contact.unknown') : contactDisplayName(contact, phone, v.t)
  const others = contactConversations(deps.db, ws, conversation.contactId, conversation.id, 10)
  const last = messagePreviews(deps.db, ws, others.map(o => o.lastMessageId).filter((id): id is string => id !== null))
  return {
    conversationId: conversation.id,
    contactId: conversation.contactId,
    name,
    initials: initials(name),
    colour: colourOf(conversation.contactId),
    savedName: contact?.name ?? null,
    profileName: contact?.profileName ?? null,
    username: contact?.username ?? null,
    phone,
    bsuid: contact?.bsuid ?? null,
    consent: contact?.consent ?? 'unknown',
    channel: channelBrief(deps.db, ws, conversation.channelId),
    labels: (labelsOfConversations(deps.db, ws, [conversation.id]).get(conversation.id) ?? []).map(l => ({ id: l.id, name: l.name, colour: l.colour })),
    allLabels: listLabels(deps.db, ws),
    others: others.map(o => {
      const m = o.lastMessageId === null ? undefined : last.get(o.lastMessageId)
      return { id: o.id, status: o.status, when: shortWhen(o.lastMessageAt, v), preview: m === undefined ? '' : previewOf(m, v.t) }
    })
  }
}

// ── the thread ────────────────────────────────────────────────────────────

export interface MediaView {
  id: string
  url: string
  state: 'pending' | 'stored' | 'failed'
  mime: string | null
  size: string | null
  fileName: string | null
}

export interface MessageView {
  id: string
  direction: 'in' | 'out' | 'note'
  /** bubble: a message; event: a centred system line. */
  layout: 'bubble' | 'event'
  type: string
  time: string
  timeTitle: string
  author: string | null
  text: Segment[] | null
  caption: Segment[] | null
  media: MediaView | null
  voice: boolean
  animated: boolean
  location: { name: string | null, address: string | null, mapUrl: string, coords: string, url: string | null } | null
  cards: Array<{ name: string, org: string | null, phones: Array<{ value: string, type: string | null }>, emails: Array<{ value: string, type: string | null }>, urls: string[] }>
  interactive: { kind: 'button' | 'list' | 'form' | 'other', title: string | null, description: string | null, fields: Array<{ key: string, value: string }> } | null
  order: { items: Array<{ product: string, quantity: number, price: string | null }>, total: string | null, text: Segment[] | null } | null
  /** A template's name, and the parts around its body the customer saw (header text, footer, button titles). */
  template: { name: string | null, header: string | null, footer: string | null, buttons: string[] } | null
  system: string | null
  unsupported: { reason: string | null } | null
  reply: { who: string, preview: string, targetId: string } | { missing: true } | null
  forwarded: 0 | 1 | 2
  edited: boolean
  revoked: boolean
  reactions: Array<{ emoji: string, count: number, mine: boolean }>
  status: { key: string, label: string } | null
  failure: { reason: string, code: number | null, title: string | null, action: { label: string, href: string, composer: boolean } | null } | null
  referral: { headline: string | null, body: string | null, url: string | null } | null
}

export interface ThreadItem { day: string | null, message: MessageView }

export interface ThreadView {
  conversationId: string
  items: ThreadItem[]
  /** Refresh from here: the oldest message shown. */
  from: string | null
  /** Cursor for older messages ("Load earlier"), when there are some. */
  older: string | null
  /** The newest message's id (the page compares it to show "new messages"). */
  lastId: string | null
}

const statusKeys = new Set(['queued', 'accepted', 'sent', 'delivered', 'read', 'played', 'failed'])

/**
 * The thread: the newest page, an older window (`before`: everything from the page before it on), or
 * a refresh of what is shown (`from`).
 */
export function threadView (deps: Pick<Deps, 'db'>, actor: InboxActor, conversation: ConversationRow, page: { from?: Cursor | undefined, before?: Cursor | undefined }, v: ViewerClock & { isAdmin: boolean }): ThreadView {
  const ws = actor.workspaceId
  let from = page.from
  if (page.before !== undefined) {
    const older = threadMessages(deps.db, ws, conversation.id, { before: page.before, limit: threadPageSize })
    const first = older.rows[0]
    from = first === undefined ? page.before : { at: first.timestamp, id: first.id }
  }
  const { rows, older } = from === undefined
    ? threadMessages(deps.db, ws, conversation.id, { limit: threadPageSize })
    : threadMessages(deps.db, ws, conversation.id, { from, limit: refreshCap })
  const contact = contactById(deps.db, ws, conversation.contactId)
  const contactName = contact === undefined ? v.t('inbox.contact.unknown') : contactDisplayName(contact, phoneOf(contact.waId), v.t)
  const mediaRows = mediaOfMessages(deps.db, ws, rows.map(r => r.id))
  const reactions = reactionsOf(deps.db, ws, rows.map(r => r.wamid).filter((w): w is string => w !== null))
  const authors = userNames(deps.db, rows.map(r => r.authorId).filter((a): a is string => a !== null))
  const shown = new Map(rows.filter(r => r.wamid !== null).map(r => [r.wamid!, r]))
  // Our own reactions are outbound rows of type "reaction": shown as badges under their target (the
  // latest one per target wins; an empty emoji removed it), never as bubbles.
  const ours = new Map<string, { emoji: string | null, at: number }>()
  for (const row of rows) {
    if (row.direction !== 'out' || row.type !== 'reaction' || row.status === 'failed') continue
    const body = bodyOf(readContentSafe(row))
    const target = str(body.messageId)
    if (target === null) continue
    const previous = ours.get(target)
    if (previous === undefined || previous.at <= row.timestamp) ours.set(target, { emoji: str(body.emoji), at: row.timestamp })
  }
  const visible = rows.filter(r => !(r.direction === 'out' && r.type === 'reaction'))
  const items: ThreadItem[] = []
  let lastDay = ''
  for (const row of visible) {
    const day = dayNumber(row.timestamp, v.timeZone)
    const label = String(day) === lastDay ? null : dayLabel(row.timestamp, v)
    lastDay = String(day)
    const replyTarget = row.replyToWamid === null ? undefined : shown.get(row.replyToWamid) ?? messageByWamid(deps.db, ws, row.replyToWamid).message
    const mine = row.wamid === null ? undefined : ours.get(row.wamid)?.emoji ?? undefined
    items.push({ day: label, message: messageView(row, { media: mediaRows.get(row.id), reactions: row.wamid === null ? [] : reactions.get(row.wamid) ?? [], mine: mine ?? null, author: row.authorId === null ? null : authors.get(row.authorId) ?? null, replyTarget, contactName, channelId: conversation.channelId }, v) })
  }
  const first = rows[0]
  const last = visible.at(-1)
  return {
    conversationId: conversation.id,
    items,
    from: first === undefined ? null : cursorText({ at: first.timestamp, id: first.id }),
    older: older && first !== undefined ? cursorText({ at: first.timestamp, id: first.id }) : null,
    lastId: last?.id ?? null
  }
}

interface MessageExtras { media: MediaItem | undefined, reactions: string[], mine: string | null, author: string | null, replyTarget: MessageRow | undefined, contactName: string, channelId: string }

function mediaView (m: MediaItem | undefined, locale: string): MediaView | null {
  if (m === undefined) return null
  return { id: m.id, url: `/media/${m.id}`, state: m.status, mime: m.mimeType, size: fileSize(m.size, locale), fileName: m.fileName }
}

function segmentsOrNull (text: string | null): Segment[] | null {
  return text === null ? null : formatWhatsApp(text)
}

function interactiveView (reply: WaInteractiveReply | undefined): MessageView['interactive'] {
  if (reply === undefined) return { kind: 'other', title: null, description: null, fields: [] }
  switch (reply.type) {
    case 'button_reply': return { kind: 'button', title: reply.title, description: null, fields: [] }
    case 'list_reply': return { kind: 'list', title: reply.title, description: reply.description, fields: [] }
    case 'nfm_reply': {
      const fields: Array<{ key: string, value: string }> = []
      const response = reply.response
      if (typeof response === 'object' && response !== null && !Array.isArray(response)) {
        for (const [key, value] of Object.entries(response as Record<string, unknown>)) {
          if (key === 'flow_token' || fields.length >= 20) continue
          if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields.push({ key: key.replace(/_/g, ' ').slice(0, 60), value: String(value).slice(0, 300) })
          else if (Array.isArray(value) && value.every(x => typeof x === 'string' || typeof x === 'number')) fields.push({ key: key.replace(/_/g, ' ').slice(0, 60), value: value.join(', ').slice(0, 300) })
        }
      }
      return { kind: 'form', title: reply.name ?? reply.body, description: null, fields }
    }
    default: return { kind: 'other', title: null, description: null, fields: [] }
  }
}

function money (amount: number, currency: string | null, locale: string): string {
  if (currency !== null) {
    try { return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(amount) } catch { /* unknown currency code */ }
  }
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(amount) + (currency === null ? '' : ` ${currency}`)
}

function orderView (items: WaOrderItem[], text: string | null, locale: string): NonNullable<MessageView['order']> {
  const currencies = new Set(items.map(i => i.currency))
  const priced = items.every(i => i.itemPrice !== null && i.quantity !== null)
  const total = priced && items.length > 0 && currencies.size === 1 ? money(items.reduce((sum, i) => sum + i.itemPrice! * i.quantity!, 0), items[0]!.currency, locale) : null
  return {
    items: items.slice(0, 50).map(i => ({ product: i.productRetailerId ?? '?', quantity: i.quantity ?? 1, price: i.itemPrice === null ? null : money(i.itemPrice, i.currency, locale) })),
    total,
    text: segmentsOrNull(text)
  }
}

/** What fixes a failed send, by the catalogue key of Meta's error. */
function failureAction (key: string, channelId: string, isAdmin: boolean, t: Translate): { label: string, href: string, composer: boolean } | null {
  if (key === 'whatsapp.error.windowClosed' || key === 'whatsapp.error.ecosystemLimit') return { label: t('inbox.fail.sendTemplate'), href: '#composer', composer: true }
  const channelKeys = ['whatsapp.error.tokenExpired', 'whatsapp.error.permission', 'whatsapp.error.accountLocked', 'whatsapp.error.payment', 'whatsapp.error.numberNotRegistered', 'whatsapp.error.policyBlock', 'whatsapp.error.templateMissing', 'whatsapp.error.templatePaused', 'whatsapp.error.templateDisabled']
  if (channelKeys.includes(key) && isAdmin) return { label: t('inbox.fail.openNumber'), href: `/settings/channels/${channelId}`, composer: false }
  return null
}

function readContentSafe (row: Pick<MessageRow, 'content'>): MessageContent {
  try { return readContent(row) } catch { return { body: { type: 'other', declaredType: null } } }
}

function messageView (row: MessageRow, x: MessageExtras, v: ViewerClock & { isAdmin: boolean }): MessageView {
  const content = readContentSafe(row)
  const b = bodyOf(content)
  const type = row.revokedAt !== null ? 'revoked' : b.type
  const view: MessageView = {
    id: row.id,
    direction: row.direction,
    layout: type === 'system' || type === 'request_welcome' ? 'event' : 'bubble',
    type,
    time: clockTime(row.timestamp, v),
    timeTitle: fullTime(row.timestamp, v),
    author: row.direction === 'in' ? null : x.author,
    text: null,
    caption: null,
    media: null,
    voice: false,
    animated: false,
    location: null,
    cards: [],
    interactive: null,
    order: null,
    template: null,
    system: null,
    unsupported: null,
    reply: null,
    forwarded: row.forwarded === 2 ? 2 : row.forwarded === 1 ? 1 : 0,
    edited: row.editedAt !== null && row.revokedAt === null,
    revoked: type === 'revoked',
    reactions: [],
    status: null,
    failure: null,
    referral: null
  }
  switch (type) {
    case 'revoked': case 'expired': break
    case 'text': view.text = formatWhatsApp(str(b.text) ?? ''); break
    case 'image': case 'video': case 'document': case 'sticker': case 'audio':
      view.media = mediaView(x.media, v.locale)
      view.caption = segmentsOrNull(str(b.caption))
      view.voice = type === 'audio' && b.voice === true
      view.animated = type === 'sticker' && b.animated === true
      if (type === 'document' && view.media !== null && view.media.fileName === null) view.media.fileName = str(b.filename)
      if (type === 'document' && view.media === null) view.media = { id: '', url: '', state: 'failed', mime: null, size: null, fileName: str(b.filename) }
      break
    case 'location': {
      const lat = typeof b.latitude === 'number' ? b.latitude : 0
      const lon = typeof b.longitude === 'number' ? b.longitude : 0
      const url = str(b.url)
      let safeUrl: string | null = null
      if (url !== null) { try { safeUrl = ['http:', 'https:'].includes(new URL(url).protocol) ? url : null } catch { safeUrl = null } }
      view.location = {
        name: str(b.name),
        address: str(b.address),
        mapUrl: `https://www.openstreetmap.org/?mlat=${lat.toFixed(6)}&mlon=${lon.toFixed(6)}#map=17/${lat.toFixed(6)}/${lon.toFixed(6)}`,
        coords: `${lat.toFixed(5)}, ${lon.toFixed(5)}`,
        url: safeUrl
      }
      break
    }
    case 'contacts': {
      const cards = Array.isArray(b.cards) ? b.cards as WaContactCard[] : []
      view.cards = cards.slice(0, 20).map(c => ({
        name: c.formattedName ?? ([c.firstName, c.lastName].filter(Boolean).join(' ') || v.t('inbox.contact.unknown')),
        org: c.org === null ? null : [c.org.company, c.org.title].filter(Boolean).join(' · ') || null,
        phones: c.phones.filter(p => p.phone !== null).map(p => ({ value: p.phone!, type: p.type })),
        emails: c.emails.filter(e => e.email !== null).map(e => ({ value: e.email!, type: e.type })),
        urls: c.urls.map(u => u.url).filter((u): u is string => u !== null && /^https?:\/\//i.test(u))
      }))
      break
    }
    case 'interactive': view.interactive = interactiveView(b.reply as WaInteractiveReply | undefined); break
    case 'button': view.interactive = { kind: 'button', title: str(b.text), description: null, fields: [] }; break
    case 'order': view.order = orderView(Array.isArray(b.items) ? b.items as WaOrderItem[] : [], str(b.text), v.locale); break
    case 'template':
      view.template = {
        name: str(b.name),
        header: str(b.header),
        footer: str(b.footer),
        buttons: Array.isArray(b.buttons) ? b.buttons.filter((x): x is string => typeof x === 'string' && x !== '').slice(0, 10) : []
      }
      view.text = segmentsOrNull(str(b.text) ?? str(b.body))
      break
    case 'system': view.system = str(b.body) ?? v.t('inbox.preview.system'); break
    case 'request_welcome': view.system = v.t('inbox.msg.welcome'); break
    default: {
      const reason = str(b.reason) ?? str(b.unsupportedType) ?? str(b.declaredType)
      view.unsupported = { reason: reason === null ? null : reason.slice(0, 200) }
      if (str(b.text) !== null) view.text = formatWhatsApp(str(b.text)!)
    }
  }
  // Reply context: the referenced message's preview, or a note that it is not here.
  const context = content.context
  if (context?.messageId != null && !view.revoked) {
    const target = x.replyTarget
    view.reply = target === undefined
      ? { missing: true }
      : { who: target.direction === 'in' ? x.contactName : v.t('inbox.msg.you'), preview: previewOf(target, v.t), targetId: target.id }
  }
  const referral = content.referral
  if (referral != null && !view.revoked) {
    const url = referral.sourceUrl !== null && /^https?:\/\//i.test(referral.sourceUrl) ? referral.sourceUrl : null
    view.referral = { headline: referral.headline, body: referral.body, url }
  }
  const counts = new Map<string, number>()
  for (const e of x.reactions) counts.set(e, (counts.get(e) ?? 0) + 1)
  view.reactions = [...counts].map(([emoji, count]) => ({ emoji, count, mine: false }))
  if (x.mine !== null) view.reactions.push({ emoji: x.mine, count: 1, mine: true })
  if (row.direction === 'out') {
    const key = statusKeys.has(row.status) ? row.status : 'queued'
    view.status = { key, label: v.t(`inbox.tick.${key}`) }
    if (row.status === 'failed') {
      const cls = classifyGraphError(row.errorCode ?? undefined, 400)
      const reasonKey = row.errorCode === null ? 'whatsapp.error.unknown' : cls.userMessageKey
      view.failure = { reason: v.t(reasonKey), code: row.errorCode, title: row.errorTitle, action: failureAction(reasonKey, x.channelId, v.isAdmin, v.t) }
    }
  }
  return view
}

// ── workflow ──────────────────────────────────────────────────────────────

function emit (deps: Pick<Deps, 'events'>, workspaceId: string, conversationId: string): void {
  deps.events.emit('conversation.updated', { workspaceId, conversationId })
}

/**
 * Opening a conversation (or seeing new messages arrive in it, in a visible tab): its unread count goes
 * to 0, and the outbound feature sends Meta a read receipt when the workspace wants that. The receipt
 * is sent in the background; nothing waits for it.
 */
export function markRead (deps: Pick<Deps, 'db' | 'clock' | 'events' | 'config' | 'log'>, workspaceId: string, conversationId: string): void {
  markConversationRead(deps, workspaceId, conversationId).catch(() => {}) // never rejects; failures are logged there
}

/** Assigns a conversation to a member of its workspace, or unassigns it (null). */
export function assignConversation (deps: D, actor: Pick<InboxActor, 'workspaceId'>, conversationId: string, assigneeId: string | null): void {
  const conversation = conversationOf(deps, actor, conversationId)
  if (assigneeId !== null && memberOf(deps.db, actor.workspaceId, assigneeId) === undefined) throw new ValidationError({ assignee: 'inbox.errors.notMember' })
  if (conversation.assigneeId === assigneeId) return
  setConversation(deps.db, actor.workspaceId, conversation.id, { assigneeId, updatedAt: deps.clock.now() })
  emit(deps, actor.workspaceId, conversation.id)
}

/**
 * For the composer: replying to an unassigned conversation assigns it to whoever replied, when the
 * workspace's "assign on reply" setting is on. Returns whether it assigned.
 */
export function selfAssignIfUnassigned (deps: D, actor: Pick<InboxActor, 'userId' | 'workspaceId'>, conversationId: string): boolean {
  if (!inboxSettings(deps.db, actor.workspaceId).selfAssignOnReply) return false
  const conversation = isId(conversationId) ? findConversationRow(deps.db, actor.workspaceId, conversationId) : undefined
  if (conversation === undefined || conversation.assigneeId !== null) return false
  if (memberOf(deps.db, actor.workspaceId, actor.userId) === undefined) return false
  setConversation(deps.db, actor.workspaceId, conversation.id, { assigneeId: actor.userId, updatedAt: deps.clock.now() })
  emit(deps, actor.workspaceId, conversation.id)
  return true
}

/**
 * Round robin for a conversation just created by an inbound message (the webhook processor calls it
 * inside its transaction): when the workspace assigns automatically, the available member who has
 * waited longest gets it. Returns the assignee, if any. The processor's 'message.created' after the
 * commit announces the change.
 */
export function autoAssignNew (db: Db, workspaceId: string, conversationId: string, now: number): string | undefined {
  if (inboxSettings(db, workspaceId).autoAssign !== 'round_robin') return undefined
  const conversation = findConversationRow(db, workspaceId, conversationId)
  if (conversation === undefined || conversation.assigneeId !== null) return undefined
  const next = nextRoundRobin(db, workspaceId)
  if (next === undefined) return undefined
  setConversation(db, workspaceId, conversationId, { assigneeId: next, updatedAt: now })
  markAssigned(db, workspaceId, next, now)
  return next
}

export type SnoozePreset = 'later' | 'tomorrow' | 'week'

/** When a snooze preset ends, in the viewer's time zone: in 3 hours, tomorrow 09:00, next Monday 09:00. */
export function snoozeUntil (preset: SnoozePreset, now: number, timeZone: string): number {
  if (preset === 'later') return now + 3 * hourMs
  const today = zoned(now, timeZone)
  const base = Date.UTC(today.y, today.m - 1, today.d)
  const days = preset === 'tomorrow' ? 1 : ((8 - today.weekday) % 7) || 7
  const target = new Date(base + days * dayMs)
  return zonedTime(target.getUTCFullYear(), target.getUTCMonth() + 1, target.getUTCDate(), 9, 0, timeZone)
}

/** Parses a datetime-local value ("2026-03-12T09:30") as wall-clock time in `timeZone`. */
export function parseLocalDateTime (value: string, timeZone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value)
  if (m === null) return undefined
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number]
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return undefined
  return zonedTime(y, mo, d, h, mi, timeZone)
}

/** Sets a conversation's status; snoozed needs `until` in the future. */
export function setStatus (deps: D, actor: Pick<InboxActor, 'workspaceId'>, conversationId: string, status: Status, until?: number): void {
  const conversation = conversationOf(deps, actor, conversationId)
  const now = deps.clock.now()
  if (status === 'snoozed' && (until === undefined || until <= now)) throw new ValidationError({ until: 'inbox.errors.snoozeFuture' })
  applyStatus(deps.db, actor.workspaceId, conversation, status, until, now)
  emit(deps, actor.workspaceId, conversation.id)
}

function applyStatus (db: Db, workspaceId: string, conversation: ConversationRow, status: Status, until: number | undefined, now: number): void {
  if (status !== 'resolved' && conversation.status === 'resolved') {
    // Only one conversation per contact and number may be unresolved: reopening an old one when a
    // newer is open would break that, so the newer one is the place to continue.
    const clash = contactConversations(db, workspaceId, conversation.contactId, conversation.id, 50).find(c => c.channelId === conversation.channelId && c.status !== 'resolved')
    if (clash !== undefined) throw new ValidationError({ status: 'inbox.errors.otherOpen' })
  }
  setConversation(db, workspaceId, conversation.id, {
    status,
    snoozedUntil: status === 'snoozed' ? until ?? null : null,
    resolvedAt: status === 'resolved' ? now : null,
    updatedAt: now
  })
}

/** Wakes snoozed conversations whose time has come (status back to open). Returns how many. */
export function wakeSnoozed (deps: D): number {
  const now = deps.clock.now()
  const due = dueSnoozed(deps.db, now, 500)
  if (due.length === 0) return 0
  deps.db.transaction((db) => {
    for (const c of due) setConversation(db, c.workspaceId, c.id, { status: 'open', snoozedUntil: null, updatedAt: now })
  })
  for (const c of due) emit(deps, c.workspaceId, c.id)
  return due.length
}

/** Wakes snoozed conversations every `intervalMs` (serve). */
export function startSnoozeWaker (deps: D & Pick<Deps, 'log'>, intervalMs = 30_000): { stop: () => void } {
  const tick = (): void => {
    try { wakeSnoozed(deps) } catch (err) { deps.log.error({ err }, 'waking snoozed conversations failed') }
  }
  const timer = setInterval(tick, intervalMs)
  timer.unref()
  tick()
  return { stop: () => clearInterval(timer) }
}

/** Creates a label (or finds the one with that name); adds it to the conversation when one is given. */
export function createLabel (deps: D, actor: InboxActor, rawName: string, conversationId?: string): LabelRow {
  const conversation = conversationId === undefined ? undefined : conversationOf(deps, actor, conversationId)
  const now = deps.clock.now()
  const label = deps.db.transaction((db) => {
    const l = ensureLabel(db, actor.workspaceId, rawName, now)
    if (conversation !== undefined) addConversationLabel(db, actor.workspaceId, conversation.id, l.id, now)
    return l
  })
  if (conversation !== undefined) emit(deps, actor.workspaceId, conversation.id)
  return label
}

/** Adds or removes a label of the workspace on a conversation. */
export function setLabel (deps: D, actor: Pick<InboxActor, 'workspaceId'>, conversationId: string, labelId: string, on: boolean): void {
  const conversation = conversationOf(deps, actor, conversationId)
  const label = isId(labelId) ? findLabel(deps.db, actor.workspaceId, labelId) : undefined
  if (label === undefined) throw new NotFoundError()
  const changed = on ? addConversationLabel(deps.db, actor.workspaceId, conversation.id, label.id, deps.clock.now()) : removeConversationLabel(deps.db, actor.workspaceId, conversation.id, label.id)
  if (changed) emit(deps, actor.workspaceId, conversation.id)
}

export type BulkOp = { kind: 'assign', userId: string | null } | { kind: 'status', status: Exclude<Status, 'snoozed'> } | { kind: 'label', labelId: string }

/** Parses a bulk button value: "assign:<id>", "unassign", "status:<status>", "label:<id>". */
export function parseBulkOp (value: string): BulkOp | undefined {
  if (value === 'unassign') return { kind: 'assign', userId: null }
  const [kind, arg = ''] = value.split(':', 2)
  if (kind === 'assign' && isId(arg)) return { kind, userId: arg }
  if (kind === 'status' && (arg === 'open' || arg === 'pending' || arg === 'resolved')) return { kind, status: arg }
  if (kind === 'label' && isId(arg)) return { kind, labelId: arg }
  return undefined
}

/** Applies one action to many conversations of the workspace (others' ids are ignored). Returns how many changed. */
export function bulkUpdate (deps: D, actor: InboxActor, ids: string[], op: BulkOp): number {
  const list = conversationsIn(deps.db, actor.workspaceId, [...new Set(ids.filter(isId))].slice(0, 200))
  if (op.kind === 'assign' && op.userId !== null && memberOf(deps.db, actor.workspaceId, op.userId) === undefined) throw new ValidationError({ assignee: 'inbox.errors.notMember' })
  const label = op.kind === 'label' ? findLabel(deps.db, actor.workspaceId, op.labelId) : undefined
  if (op.kind === 'label' && label === undefined) throw new NotFoundError()
  const now = deps.clock.now()
  const changed: string[] = []
  deps.db.transaction((db) => {
    for (const c of list) {
      if (op.kind === 'assign') {
        if (c.assigneeId === op.userId) continue
        setConversation(db, actor.workspaceId, c.id, { assigneeId: op.userId, updatedAt: now })
      } else if (op.kind === 'status') {
        if (c.status === op.status) continue
        try { applyStatus(db, actor.workspaceId, c, op.status, undefined, now) } catch (err) {
          if (err instanceof ValidationError) continue
          throw err
        }
      } else if (!addConversationLabel(db, actor.workspaceId, c.id, label!.id, now)) continue
      changed.push(c.id)
    }
  })
  for (const id of changed) emit(deps, actor.workspaceId, id)
  return changed.length
}

/** The member's own "available for new conversations" switch (round robin skips the unavailable). */
export function setAvailability (deps: D, actor: InboxActor, available: boolean): void {
  setMemberAvailable(deps.db, actor.workspaceId, actor.userId, available, deps.clock.now())
}

/** Members of the workspace (assignment menus). */
export function members (deps: Pick<Deps, 'db'>, workspaceId: string): MemberBrief[] {
  return membersOf(deps.db, workspaceId)
}

/** The workspace's labels. */
export function labelsOf (deps: Pick<Deps, 'db'>, workspaceId: string): LabelRow[] {
  return listLabels(deps.db, workspaceId)
}

/** The workspace's connected numbers. */
export function channelsOf (deps: Pick<Deps, 'db'>, workspaceId: string): ChannelBrief[] {
  return workspaceChannels(deps.db, workspaceId)
}

/** Who a live doorbell for a conversation concerns: its assignee (null: nobody yet). */
export function assigneeOf (deps: Pick<Deps, 'db'>, workspaceId: string, conversationId: string): string | null | undefined {
  return findConversationRow(deps.db, workspaceId, conversationId)?.assigneeId
}

/**
 * Someone leaves a workspace (removed, left, or deleted their account; workspaceId null: every
 * workspace): their conversations go back to the unassigned queue instead of waiting for a person who
 * is gone. Runs in the caller's transaction; returns how many.
 */
export function unassignMember (db: Db, workspaceId: string | null, userId: string, now: number): number {
  const rows = assignedConversations(db, workspaceId, userId)
  for (const c of rows) setConversation(db, c.workspaceId, c.id, { assigneeId: null, updatedAt: now })
  return rows.length
}

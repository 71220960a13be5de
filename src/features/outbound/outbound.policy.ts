// What may be sent (pure checks, no I/O): the kind of an attachment from its MIME type and the sizes and
// types of SPEC §7 (image jpeg/png 5 MB, video mp4/3gpp 16 MB, audio aac/amr/mpeg/mp4/ogg 16 MB, document
// pdf/office/txt… 100 MB, sticker webp 100 KB static / 500 KB animated), the first bytes of images and
// stickers matching the type they claim (no HTML disguised as a JPEG), captions, text and reactions.
// Problems are catalogue keys (locales: outbound.error.*) for the composer to show next to the field.
import { baseMimeType, mediaMaxBytes, mediaTypes } from '../media/media.policy.js'

/** The kinds of attachment WhatsApp sends. A voice note is an audio sent with voice: true. */
export type OutboundMediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker'

/** Meta's post-processing limits (SPEC §7), per kind: the same caps as received media. */
export const outboundMaxBytes: Readonly<Record<OutboundMediaKind, number>> = {
  image: mediaMaxBytes.image,
  video: mediaMaxBytes.video,
  audio: mediaMaxBytes.audio,
  document: mediaMaxBytes.document,
  sticker: mediaMaxBytes.sticker
}
/** A static (not animated) sticker may be at most this large. */
export const staticStickerMaxBytes = 100 * 1024

/** WhatsApp's limits on text (SPEC §6). */
export const maxTextChars = 4096
export const maxCaptionChars = 1024
const maxFileNameChars = 240

const sendTypes: Readonly<Record<OutboundMediaKind, readonly string[]>> = {
  image: ['image/jpeg', 'image/png'],
  video: ['video/mp4', 'video/3gpp'],
  audio: ['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg'],
  sticker: ['image/webp'],
  // Meta's document list: anything the media feature accepts as a document except archives and raw bytes.
  document: mediaTypes.document.filter(t => !['application/zip', 'application/x-zip-compressed', 'application/octet-stream'].includes(t))
}

/** A file the composer hands over. */
export interface OutboundFile {
  bytes: Buffer
  mimeType: string
  filename: string
}

export type MediaCheck =
  | { ok: true, kind: OutboundMediaKind, mimeType: string, fileName: string, animated: boolean }
  | { ok: false, field: 'file' | 'caption', key: string }

/**
 * Checks an attachment: its kind (from the MIME type, or `document` when asked to send any allowed file
 * as a document), size, first bytes, and the caption (image, video and document only, ≤ 1024 characters).
 */
export function checkMedia (file: OutboundFile | undefined, options: { asDocument?: boolean, voice?: boolean, caption?: string | null } = {}): MediaCheck {
  if (file === undefined || !Buffer.isBuffer(file.bytes)) return { ok: false, field: 'file', key: 'outbound.error.fileRequired' }
  if (file.bytes.length === 0) return { ok: false, field: 'file', key: 'outbound.error.fileEmpty' }
  const mime = baseMimeType(file.mimeType)
  const kind = options.asDocument === true ? (sendTypes.document.includes(mime) ? 'document' : undefined) : kindOf(mime)
  if (kind === undefined) return { ok: false, field: 'file', key: 'outbound.error.fileType' }
  if (options.voice === true && !(kind === 'audio' && mime === 'audio/ogg')) return { ok: false, field: 'file', key: 'outbound.error.voiceType' }
  const animated = kind === 'sticker' && isAnimatedWebp(file.bytes)
  const max = kind === 'sticker' && !animated ? staticStickerMaxBytes : outboundMaxBytes[kind]
  if (file.bytes.length > max) return { ok: false, field: 'file', key: `outbound.error.fileTooLarge.${kind}` }
  if (!bytesMatch(mime, file.bytes)) return { ok: false, field: 'file', key: 'outbound.error.fileContent' }
  const caption = options.caption ?? ''
  if (caption.trim() !== '') {
    if (kind !== 'image' && kind !== 'video' && kind !== 'document') return { ok: false, field: 'caption', key: 'outbound.error.captionNotAllowed' }
    if ([...caption].length > maxCaptionChars) return { ok: false, field: 'caption', key: 'outbound.error.captionTooLong' }
  }
  return { ok: true, kind, mimeType: mime, fileName: cleanFileName(file.filename, kind, mime), animated }
}

/** The kind a MIME type is sent as (images, video, audio and webp stickers by type; everything else allowed as a document). */
export function kindOf (mime: string): OutboundMediaKind | undefined {
  const base = baseMimeType(mime)
  for (const kind of ['image', 'video', 'audio', 'sticker', 'document'] as const) {
    if (sendTypes[kind].includes(base)) return kind
  }
  return undefined
}

/** Whether `mime` may be sent as `kind` (template header media). */
export function mimeSendable (kind: OutboundMediaKind, mime: string): boolean {
  return sendTypes[kind].includes(baseMimeType(mime))
}

/** The first bytes agree with the claimed type for formats that browsers would render (images, stickers, PDF). */
function bytesMatch (mime: string, b: Buffer): boolean {
  if (mime === 'image/jpeg') return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff
  if (mime === 'image/png') return b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  if (mime === 'image/webp') return b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP'
  if (mime === 'application/pdf') return b.subarray(0, 1024).includes('%PDF-')
  return true
}

/** A WebP with the VP8X animation flag (an animated sticker may be larger). */
function isAnimatedWebp (b: Buffer): boolean {
  return b.length >= 21 && b.subarray(12, 16).toString('latin1') === 'VP8X' && (b[20]! & 0x02) !== 0
}

/** A file name fit for Meta's `filename` and our encrypted column: last path segment, no control characters. */
function cleanFileName (name: string, kind: OutboundMediaKind, mime: string): string {
  let n = String(name ?? '').normalize('NFC').split(/[/\\]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  n = n.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '').replace(/\s+/g, ' ').trim()
  if ([...n].length > maxFileNameChars) n = [...n].slice(-maxFileNameChars).join('')
  if (n === '' || n === '.' || n === '..') n = `${kind}.${mime.split('/')[1]?.replace(/[^a-z0-9]/g, '').slice(0, 8) || 'bin'}`
  return n
}

/** Checks a text message: not blank, at most 4096 characters. Returns a catalogue key or undefined. */
export function textProblem (text: unknown): string | undefined {
  if (typeof text !== 'string' || text.trim() === '') return 'outbound.error.textRequired'
  if ([...text].length > maxTextChars) return 'outbound.error.textTooLong'
  return undefined
}

/** Checks a reaction emoji: one emoji (a short sequence without spaces), or null/'' to remove the reaction. */
export function emojiProblem (emoji: string | null): string | undefined {
  if (emoji === null || emoji === '') return undefined
  if (emoji.length > 32 || /\s/u.test(emoji) || !/\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u.test(emoji)) return 'outbound.error.emojiInvalid'
  return undefined
}

/** A client id (the composer's hidden field): 8–100 letters, digits, '-' and '_'. */
export function clientIdProblem (clientId: unknown): string | undefined {
  return typeof clientId === 'string' && /^[A-Za-z0-9_-]{8,100}$/.test(clientId) ? undefined : 'outbound.error.clientId'
}

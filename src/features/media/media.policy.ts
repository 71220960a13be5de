// What media Weltra accepts and how it is served: the kinds of SPEC §7, their size caps, the MIME types
// allowed per kind (anything else is refused at download and never reflected when serving), and the
// filename a document is offered under.

export const mediaKinds = ['image', 'video', 'audio', 'voice', 'document', 'sticker'] as const
export type MediaKind = typeof mediaKinds[number]

const MiB = 1024 * 1024

/** Size caps per kind (SPEC §7: image 5 MB, video and audio 16 MB, document 100 MB, sticker 500 KB). */
export const mediaMaxBytes: Readonly<Record<MediaKind, number>> = {
  image: 5 * MiB,
  video: 16 * MiB,
  audio: 16 * MiB,
  voice: 16 * MiB,
  document: 100 * MiB,
  sticker: 500 * 1024
}

const audioTypes = ['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg', 'audio/opus']

/**
 * MIME types accepted per kind (lowercase, without parameters). Documents get Meta's list plus common
 * office/archive formats; they are always served as attachments. Never: HTML, SVG, XML, scripts.
 */
export const mediaTypes: Readonly<Record<MediaKind, readonly string[]>> = {
  image: ['image/jpeg', 'image/png'],
  video: ['video/mp4', 'video/3gpp'],
  audio: audioTypes,
  voice: audioTypes,
  sticker: ['image/webp'],
  document: [
    'application/pdf',
    'text/plain',
    'text/csv',
    'application/rtf',
    'application/msword',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.ms-excel',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/vnd.ms-powerpoint',
    'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    'application/vnd.oasis.opendocument.text',
    'application/vnd.oasis.opendocument.spreadsheet',
    'application/vnd.oasis.opendocument.presentation',
    'application/zip',
    'application/x-zip-compressed',
    'application/octet-stream',
    'image/jpeg',
    'image/png',
    'image/webp',
    'video/mp4',
    'audio/mpeg',
    'audio/ogg'
  ]
}

/** Content-Types a CDN may serve any kind with (the metadata's type then decides). */
const genericDownloadTypes = ['application/octet-stream', 'binary/octet-stream']

/** The kind, when `value` is one. */
export function asMediaKind (value: string): MediaKind | undefined {
  return (mediaKinds as readonly string[]).includes(value) ? value as MediaKind : undefined
}

/** A MIME type lowercased without parameters ("audio/ogg; codecs=opus" → "audio/ogg"); '' if absent. */
export function baseMimeType (value: string | null | undefined): string {
  return (value ?? '').split(';')[0]!.trim().toLowerCase()
}

/** Whether `mime` (any case, with or without parameters) is allowed for `kind`. */
export function mimeAllowed (kind: MediaKind, mime: string | null | undefined): boolean {
  const base = baseMimeType(mime)
  return base !== '' && mediaTypes[kind].includes(base)
}

/** The Content-Types a download of `kind` may arrive with. */
export function downloadTypes (kind: MediaKind): string[] {
  return [...mediaTypes[kind], ...genericDownloadTypes]
}

/** The Content-Type to serve a stored item with: its type when allowed for its kind, else octet-stream. */
export function servedType (kind: MediaKind, mime: string | null | undefined): string {
  return mimeAllowed(kind, mime) ? baseMimeType(mime) : 'application/octet-stream'
}

/** Images, video, audio and stickers may show in the page; documents (and unknown kinds) download. */
export function servedInline (kind: MediaKind): boolean {
  return kind !== 'document'
}

const extensions: Record<string, string> = {
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'application/zip': 'zip'
}

/**
 * A safe download name from a sender-chosen file name: the last path segment only, no control or
 * bidirectional-override characters, no quotes, backslashes, semicolons or leading dots, at most 120
 * characters; a generic "document.<ext>" when nothing usable is left.
 */
export function safeFileName (name: string | null | undefined, mime: string | null | undefined): string {
  let n = (name ?? '').normalize('NFC')
  n = n.split(/[/\\]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  n = n.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"';*?<>|:]/g, '')
  n = n.replace(/\s+/g, ' ').trim().replace(/^\.+/, '')
  if ([...n].length > 120) {
    const dot = n.lastIndexOf('.')
    const ext = dot > 0 && n.length - dot <= 10 ? n.slice(dot) : ''
    n = [...n].slice(0, 120 - ext.length).join('') + ext
  }
  if (n === '' || n === '.' || n === '..') n = `document.${extensions[baseMimeType(mime)] ?? 'bin'}`
  return n
}

/** A Content-Disposition header: inline, or attachment with an ASCII fallback and the UTF-8 name (RFC 6266/8187). */
export function contentDisposition (inline: boolean, fileName: string): string {
  if (inline) return 'inline'
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/[\\"%]/g, '_')
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

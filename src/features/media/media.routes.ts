// Media files of WhatsApp messages, served to the members of their workspace only.
//
//   GET /media/:id   any member of the active workspace (policy 'agent'); an id of another workspace
//                    is indistinguishable from an unknown one.
//     200/206  the file, decrypted while streaming. Content-Type: the stored type only when it is on the
//              kind's allowlist (and, for images and stickers, when the first bytes really are a
//              JPEG/PNG/WebP), else application/octet-stream as an attachment. nosniff, a
//              `default-src 'none'; sandbox` CSP (opened directly, it can run nothing), inline for
//              image/video/audio/sticker, `attachment; filename*=UTF-8''…` (sanitised) for documents,
//              Cache-Control private + immutable (an id's bytes never change), a strong ETag.
//              Range: single byte ranges (`bytes=a-b`, `a-`, `-n`) answer 206 with Content-Range — audio
//              and video players seek with them; only the 64 KiB chunks covering the range are read and
//              authenticated. Several ranges in one header are answered with the whole file (200), which
//              RFC 9110 allows; an unsatisfiable range is 416.
//     202      not downloaded yet (the worker is on it): short text, no-store, Retry-After: 5. The inbox
//              renders `<img src="/media/<id>">`; it shows the placeholder until `media.settled` makes it
//              re-render the message. (202 rather than 404, so a pending item is not mistaken for an
//              unknown one; rather than 5xx, so monitoring does not count it as a server error.)
//     410      the download failed for good (the reason is on the channel's health panel).
//     404      unknown id, or another workspace's.
//   The short text answers keep the global strict CSP of every page.
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { contentDisposition, asMediaKind, safeFileName, servedInline, servedType, type MediaKind } from './media.policy.js'
import { openMediaFile, type MediaFile } from './media.files.js'
import { findMedia } from './media.service.js'

const idPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/
const mediaCsp = "default-src 'none'; sandbox"
const cacheSeconds = 86_400

/** A single byte range of a `size`-byte file; undefined: serve it all; 'unsatisfiable': answer 416. */
export function parseRange (header: string | undefined, size: number): { start: number, end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (m === null) return undefined // malformed, another unit, or several ranges: the whole file
  const [, a, b] = m as unknown as [string, string, string]
  if (a === '' && b === '') return undefined
  if (a.length > 15 || b.length > 15) return 'unsatisfiable'
  if (a === '') {
    const n = Number(b)
    if (n === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(a)
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (b !== '' && Number(b) < start) return undefined // invalid: ignore the header
  if (start >= size) return 'unsatisfiable'
  return { start, end }
}

/** Whether the bytes start like the raster image format `type` claims. */
function looksLike (type: string, head: Buffer): boolean {
  if (type === 'image/jpeg') return head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff
  if (type === 'image/png') return head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  if (type === 'image/webp') return head.length >= 12 && head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP'
  return true
}

function short (reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(text)
}

/** How a caller is told a file is unknown, not downloaded yet, or failed for good (the page's short texts, or the API's JSON). */
export interface MediaAnswers {
  missing: (req: FastifyRequest, reply: FastifyReply) => FastifyReply
  pending: (req: FastifyRequest, reply: FastifyReply) => FastifyReply
  failed: (req: FastifyRequest, reply: FastifyReply) => FastifyReply
}

const pageAnswers: MediaAnswers = {
  missing: (req, reply) => short(reply, 404, req.t('media.notFound')),
  pending: (req, reply) => short(reply, 202, req.t('media.pending')).header('retry-after', '5'),
  failed: (req, reply) => short(reply, 410, req.t('media.failed'))
}

export async function mediaRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  app.get('/media/:id', { config: { policy: 'agent' } }, async (req: FastifyRequest, reply: FastifyReply) => {
    return await serveMedia(deps, req, reply, req.principal!.workspace!.id, (req.params as { id: string }).id, pageAnswers)
  })
}

/** Streams a media file of the workspace (see the top of this file for every header and status). */
export async function serveMedia (deps: Deps, req: FastifyRequest, reply: FastifyReply, workspaceId: string, id: string, answers: MediaAnswers): Promise<FastifyReply> {
  const row = idPattern.test(id) ? findMedia(deps.db, workspaceId, id) : undefined
  if (row === undefined) return answers.missing(req, reply)
  if (row.status === 'pending') return answers.pending(req, reply)
  if (row.status === 'failed') return answers.failed(req, reply)

  let file: MediaFile
  try {
    file = await openMediaFile(deps.dataDir, workspaceId, row.id, deps.ring)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      req.log.error({ mediaId: row.id }, 'stored media file is missing from data/media')
      return answers.missing(req, reply)
    }
    throw err // a file that fails authentication: logged by the error handler, a generic 500
  }
  try {
    const kind: MediaKind = asMediaKind(row.kind) ?? 'document'
    let type = servedType(kind, row.mimeType)
    let inline = servedInline(kind) && type !== 'application/octet-stream'
    if (inline && (kind === 'image' || kind === 'sticker') && !looksLike(type, await file.peek(16))) {
      req.log.warn({ mediaId: row.id }, 'image bytes do not match their type: served as a download')
      type = 'application/octet-stream'
      inline = false
    }
    const etag = `"m-${row.id}"`
    reply
      .header('content-type', type)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', mediaCsp)
      .header('cache-control', `private, max-age=${cacheSeconds}, immutable`)
      .header('content-disposition', contentDisposition(inline, safeFileName(row.fileName, type === 'application/octet-stream' ? row.mimeType : type)))
      .header('accept-ranges', 'bytes')
      .header('etag', etag)
    if (req.headers['if-none-match'] === etag) {
      await file.close()
      return reply.code(304).send()
    }
    const ifRange = req.headers['if-range']
    const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, file.size) : undefined
    if (range === 'unsatisfiable') {
      await file.close()
      return reply.code(416).header('content-range', `bytes */${file.size}`).header('content-type', 'text/plain; charset=utf-8').send('')
    }
    const { start, end } = range ?? { start: 0, end: file.size - 1 }
    if (range !== undefined) reply.code(206).header('content-range', `bytes ${start}-${end}/${file.size}`)
    reply.header('content-length', String(Math.max(0, end - start + 1)))
    if (req.method === 'HEAD' || file.size === 0) {
      await file.close()
      // An empty stream: Fastify's HEAD handling keeps the Content-Length set above for streams.
      return reply.send(Readable.from([]))
    }
    const body = file.stream(start, end)
    body.on('error', (err) => { req.log.error({ err, mediaId: row.id }, 'media file failed while streaming') })
    return reply.send(body)
  } catch (err) {
    await file.close()
    throw err
  }
}

// Graph API client: the outbound half of the WhatsApp adapter (SPEC §0, §6, §7, §8, §10). One client per
// channel credential set: every call sends `Authorization: Bearer` and `Accept: application/json`, runs
// under one timeout that covers the response body too, and fails with GraphError — never with a raw
// network or JSON exception. GraphError carries Meta's code/subcode, the HTTP status, the classification of
// errors.ts and `ambiguous`: true when the request may have reached Meta although no usable answer came back
// (timeout, connection cut after connecting, an unparseable 5xx or 2xx), so the outbox reconciles through
// status webhooks instead of sending again. Error messages never hold the access token or a media URL's
// query string.
//
// Media downloads (SSRF-hardened, SECURITY.md F40): the URL must be https on an allowed media host
// (default Meta's CDNs; "*.fbsbx.com" patterns) on the standard port — or on the configured base URL's
// own origin, which is how tests and the demo talk to the fake on http://127.0.0.1. The host is resolved
// ONCE and refused unless every address is public (platform/net: no loopback, private, link-local,
// CGNAT, unique-local, multicast, IPv4-mapped private …; the base origin is exempt); the request then
// goes through node:http/https with a `lookup` pinned to exactly those vetted addresses and a fresh
// connection (agent: false), so a DNS answer that changes between check and connect (rebinding) cannot
// redirect it. No redirects are followed, no compression is asked for, the size cap is enforced from
// Content-Length and again while streaming, an overall deadline and a stall timeout bound the time,
// the Content-Type can be checked against an allowlist, and SHA-256 is computed on the fly. The body can
// be handed chunk by chunk to a sink (onChunk) so a 100 MB document is never held in memory.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createSha256 } from '../crypto/index.js'
import { hostAsAddress } from '../net/address.js'
import { hostMatches, normaliseHost, OutboundRefusedError, pinnedLookup, vetHost, type HostResolver } from '../net/outbound.js'
import { classifyGraphError, readGraphError, type GraphErrorClass } from './errors.js'

/** Options of createGraphClient; fetch is injectable for tests. */
export interface GraphClientOptions {
  baseUrl?: string
  version: string
  accessToken: string
  timeoutMs?: number
  fetch?: typeof globalThis.fetch
  /** Resolves media hosts (default: the system resolver); injectable so tests can play DNS. */
  resolveHost?: HostResolver
}

/** The parts of a phone number object (GET /{phone-number-id}) a channel shows and checks. */
export interface GraphPhoneNumber {
  id: string
  displayPhoneNumber: string | undefined
  verifiedName: string | undefined
  qualityRating: string | undefined
  messagingLimitTier: string | undefined
  throughputLevel: string | undefined
  nameStatus: string | undefined
  codeVerificationStatus: string | undefined
  platformType: string | undefined
}

/** What Meta answered to an accepted send: the wamid to store, and who it resolved the recipient to. */
export interface GraphSendResult {
  wamid: string
  messageStatus: string | undefined
  input: string | undefined
  waId: string | undefined
  userId: string | undefined
}

/** GET /{media-id}: a short-lived download URL plus the declared type, hex sha256 and size. */
export interface GraphMediaMetadata {
  id: string
  url: string
  mimeType: string | undefined
  sha256: string | undefined
  fileSize: number | undefined
}

/** Downloaded media: the bytes (empty when a sink took them), the Content-Type, size and SHA-256 (hex). */
export interface GraphMediaDownload {
  bytes: Buffer
  contentType: string | undefined
  size: number
  sha256: string
}

/** Hosts media may come from when the caller names none (the default of config whatsapp.media_hosts). */
export const defaultMediaHosts: readonly string[] = ['lookaside.fbsbx.com', '*.fbsbx.com', '*.fbcdn.net', '*.whatsapp.net']

/** Options of downloadMedia. */
export interface MediaDownloadOptions {
  /** Refuse bodies larger than this (by Content-Length, and while streaming). */
  maxBytes: number
  /** Hosts besides the base URL's origin that media may come from (default defaultMediaHosts). */
  allowedHosts?: readonly string[]
  /** Accepted Content-Types (lowercase, no parameters); a missing Content-Type passes. Default: any. */
  allowedTypes?: readonly string[]
  /** Abort when no byte arrives for this long (default: the client timeout). */
  stallMs?: number
  /** Overall deadline for the answer and the whole body (default: timeout + maxBytes at 256 KiB/s). */
  deadlineMs?: number
  /** Takes the body chunk by chunk (awaited: backpressure); the result's bytes is then empty. */
  onChunk?: (chunk: Buffer) => void | Promise<void>
  /** Aborts the download (a temporary GraphError). */
  signal?: AbortSignal
}

/** One message template as listed by GET /{waba-id}/message_templates; components are kept as sent. */
export interface GraphTemplate {
  id: string
  name: string
  language: string
  status: string
  category: string | undefined
  parameterFormat: string | undefined
  components: unknown[]
}

/** One page of templates; `after` is the cursor of the next page, undefined on the last page. */
export interface GraphTemplatePage {
  templates: GraphTemplate[]
  after: string | undefined
}

/** The Graph client of one channel. */
export interface GraphClient {
  /** GET /{phone-number-id} with the fields a channel needs. */
  getPhoneNumber: (phoneNumberId: string) => Promise<GraphPhoneNumber>
  /** POST /{waba-id}/subscribed_apps; without it no webhooks arrive for that WABA. */
  subscribeApp: (wabaId: string) => Promise<void>
  /** POST /{phone-number-id}/messages with messaging_product "whatsapp"; a 200 without a wamid is a GraphError. */
  sendMessage: (phoneNumberId: string, body: Record<string, unknown>) => Promise<GraphSendResult>
  /** Marks an inbound message (and the earlier ones) as read, optionally showing a typing indicator. */
  markRead: (phoneNumberId: string, wamid: string, options?: { typing?: boolean }) => Promise<void>
  /** GET /{media-id}: the short-lived download URL and metadata. */
  getMediaMetadata: (mediaId: string) => Promise<GraphMediaMetadata>
  /** GETs a media URL with the Bearer token under the SSRF guards of MediaDownloadOptions (see the file header). */
  downloadMedia: (url: string, options: MediaDownloadOptions) => Promise<GraphMediaDownload>
  /** POST /{phone-number-id}/media as multipart form data; returns the media id. */
  uploadMedia: (phoneNumberId: string, media: { bytes: Uint8Array, mimeType: string, filename: string }) => Promise<{ id: string }>
  /** One page of GET /{waba-id}/message_templates; pass the previous page's `after` to continue. */
  listTemplates: (wabaId: string, options?: { after?: string, limit?: number }) => Promise<GraphTemplatePage>
}

/** Fields of a GraphError besides its message. */
export interface GraphErrorFields {
  code?: number | undefined
  subcode?: number | undefined
  httpStatus: number
  classification: GraphErrorClass
  ambiguous: boolean
  fbtraceId?: string | undefined
  details?: string | undefined
  retryAfterSeconds?: number | undefined
}

/**
 * A failed Graph call. httpStatus 0: no response. ambiguous: the request may have reached Meta (reconcile,
 * do not blindly re-send). classification: what errors.ts says the sender should do.
 */
export class GraphError extends Error {
  override name = 'GraphError'
  readonly code: number | undefined
  readonly subcode: number | undefined
  readonly httpStatus: number
  readonly classification: GraphErrorClass
  readonly ambiguous: boolean
  readonly fbtraceId: string | undefined
  readonly details: string | undefined
  readonly retryAfterSeconds: number | undefined
  constructor (message: string, fields: GraphErrorFields) {
    super(message)
    this.code = fields.code
    this.subcode = fields.subcode
    this.httpStatus = fields.httpStatus
    this.classification = fields.classification
    this.ambiguous = fields.ambiguous
    this.fbtraceId = fields.fbtraceId
    this.details = fields.details
    this.retryAfterSeconds = fields.retryAfterSeconds
  }
}

const defaultBaseUrl = 'https://graph.facebook.com'
const defaultTimeoutMs = 15_000
const maxErrorTextChars = 300
const phoneNumberFields = 'id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,throughput,name_status,code_verification_status,platform_type'
// A media download that cannot succeed as asked (refused URL, redirect, too large): do not retry it.
const mediaRefused: GraphErrorClass = { retry: 'no', userMessageKey: 'whatsapp.error.media' }
// Failures that happen before any byte of the request can have left this machine.
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_INVALID_URL', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'SELF_SIGNED_CERT_IN_CHAIN'])

/** The parts of an HTTP answer the error readers look at (a fetch Response, or node's IncomingMessage adapted). */
interface ResponseHead {
  status: number
  headers: { get: (name: string) => string | null }
}

interface CallInit {
  query?: Record<string, string>
  json?: Record<string, unknown>
  form?: FormData
}

/** Builds the Graph client of one channel (see GraphClientOptions for the defaults). */
export function createGraphClient (options: GraphClientOptions): GraphClient {
  const base = new URL(options.baseUrl ?? defaultBaseUrl)
  const baseOrigin = base.origin
  const basePath = base.pathname.replace(/\/+$/, '')
  const version = options.version
  const token = options.accessToken
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  const doFetch = options.fetch ?? globalThis.fetch
  if (!/^v\d+\.\d+$/.test(version)) throw new TypeError('Graph version must look like v25.0')
  if (typeof token !== 'string' || token === '') throw new TypeError('Graph access token is required')

  const redact = (s: string): string => s.split(token).join('[redacted]').slice(0, maxErrorTextChars)

  function urlFor (segments: string[], query?: Record<string, string>): URL {
    const url = new URL(`${baseOrigin}${basePath}/${version}/${segments.map(idSegment).join('/')}`)
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v)
    return url
  }

  function headers (extra?: Record<string, string>): Record<string, string> {
    return { authorization: `Bearer ${token}`, accept: 'application/json', ...extra }
  }

  // Runs one request with a deadline over headers and body; returns the parsed JSON object of a 2xx answer.
  async function call (method: 'GET' | 'POST', segments: string[], init: CallInit = {}): Promise<Record<string, unknown>> {
    const url = urlFor(segments, init.query)
    const what = `Graph ${method} ${url.pathname}`
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), timeoutMs)
    try {
      let res: Response
      try {
        res = await doFetch(url, {
          method,
          headers: headers(init.json !== undefined ? { 'content-type': 'application/json' } : undefined),
          body: init.json !== undefined ? JSON.stringify(init.json) : init.form,
          redirect: 'manual',
          signal: controller.signal
        })
      } catch (err) {
        throw networkError(what, err, controller.signal.aborted)
      }
      let text: string
      try {
        text = await res.text()
      } catch (err) {
        throw bodyError(what, res, err, controller.signal.aborted)
      }
      return interpret(what, res, text)
    } finally {
      clearTimeout(timer)
    }
  }

  function networkError (what: string, err: unknown, timedOut: boolean): GraphError {
    const temporary = classifyGraphError(undefined, 0)
    if (timedOut) return new GraphError(`${what} timed out after ${timeoutMs} ms`, { httpStatus: 0, classification: temporary, ambiguous: true })
    const code = causeCode(err)
    return new GraphError(redact(`${what} failed: ${code ?? 'network error'}`), { httpStatus: 0, classification: temporary, ambiguous: code === undefined || !notSentCodes.has(code) })
  }

  function bodyError (what: string, res: ResponseHead, err: unknown, timedOut: boolean): GraphError {
    const reason = timedOut ? `timed out after ${timeoutMs} ms` : (causeCode(err) ?? 'connection closed')
    return new GraphError(redact(`${what}: HTTP ${res.status} response body cut off (${reason})`), {
      httpStatus: res.status, classification: classifyGraphError(undefined, 0), ambiguous: true, retryAfterSeconds: retryAfter(res)
    })
  }

  function interpret (what: string, res: ResponseHead, text: string): Record<string, unknown> {
    let parsed: unknown
    try { parsed = JSON.parse(text) } catch { parsed = undefined }
    const info = readGraphError(parsed)
    if (info !== undefined) {
      const code = info.code !== undefined ? `#${info.code}${info.subcode !== undefined ? `/${info.subcode}` : ''} ` : ''
      return fail(new GraphError(redact(`${what}: HTTP ${res.status} ${code}${info.message ?? 'error'}`), {
        code: info.code,
        subcode: info.subcode,
        httpStatus: res.status,
        classification: classifyGraphError(info.code, res.status, info.subcode),
        ambiguous: false,
        fbtraceId: info.fbtraceId,
        details: info.details !== undefined ? redact(info.details) : undefined,
        retryAfterSeconds: retryAfter(res)
      }))
    }
    if (res.status >= 200 && res.status < 300 && isRecord(parsed)) return parsed
    const kind = parsed === undefined ? ((res.headers.get('content-type') ?? '').includes('html') ? 'an HTML page' : 'an unreadable body') : 'an unexpected body'
    const answered = res.status >= 300 && res.status < 500
    return fail(new GraphError(`${what}: HTTP ${res.status} with ${kind}`, {
      httpStatus: res.status,
      classification: res.status >= 200 && res.status < 300 ? classifyGraphError(undefined, 0) : classifyGraphError(undefined, res.status),
      ambiguous: !answered,
      retryAfterSeconds: retryAfter(res)
    }))
  }

  async function downloadMedia (rawUrl: string, opts: MediaDownloadOptions): Promise<GraphMediaDownload> {
    let url: URL
    try { url = new URL(rawUrl) } catch { throw new GraphError('Graph media download refused: not a URL', { httpStatus: 0, classification: mediaRefused, ambiguous: false }) }
    const what = `Graph GET media ${url.origin}${url.pathname}`
    const refused = (reason: string, httpStatus = 0): GraphError => new GraphError(redact(`${what} refused: ${reason}`), { httpStatus, classification: mediaRefused, ambiguous: false })
    if (url.protocol !== 'https:' && url.origin !== baseOrigin) throw refused('not https')
    if (url.username !== '' || url.password !== '') throw refused('credentials in URL')
    const fromBase = url.origin === baseOrigin
    const host = normaliseHost(url.hostname)
    if (!fromBase) {
      if (!hostMatches(host, opts.allowedHosts ?? defaultMediaHosts)) throw refused(`host ${host} is not an allowed media host`)
      if (url.port !== '') throw refused(`port ${url.port} is not allowed`)
    }
    const maxBytes = opts.maxBytes
    const stallMs = opts.stallMs ?? timeoutMs
    const deadlineMs = opts.deadlineMs ?? timeoutMs + Math.ceil(maxBytes / (256 * 1024)) * 1000
    const allowedTypes = opts.allowedTypes
    const temporary = classifyGraphError(undefined, 0)

    // Resolve once; the socket below connects only to these addresses (see the file header).
    let addresses
    try {
      addresses = await vetHost(host, { resolve: options.resolveHost, allowPrivate: fromBase })
    } catch (err) {
      if (err instanceof OutboundRefusedError) throw refused(err.reason)
      throw new GraphError(redact(`${what} failed: ${causeCode(err) ?? 'cannot resolve the host'}`), { httpStatus: 0, classification: temporary, ambiguous: false })
    }
    if (opts.signal?.aborted === true) throw new GraphError(`${what} aborted`, { httpStatus: 0, classification: temporary, ambiguous: false })

    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send({
      protocol: url.protocol,
      host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, accept: '*/*', 'accept-encoding': 'identity' },
      lookup: pinnedLookup(addresses),
      agent: false,
      // TLS checks the certificate against the name; an address literal gets no SNI (as browsers do).
      ...(hostAsAddress(host) === undefined ? { servername: host } : {})
    })
    // Errors reach us through the promise below or the body iteration; this keeps a late one from going unhandled.
    req.on('error', () => {})
    let stopped: 'deadline' | 'stall' | 'aborted' | undefined
    const stop = (why: 'deadline' | 'stall' | 'aborted'): void => {
      stopped ??= why
      req.destroy(new Error(why))
    }
    const deadline = setTimeout(() => stop('deadline'), deadlineMs)
    let stall: NodeJS.Timeout | undefined
    const armStall = (): void => {
      if (stall !== undefined) clearTimeout(stall)
      stall = setTimeout(() => stop('stall'), stallMs)
    }
    const onAbort = (): void => stop('aborted')
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    const stoppedText = (): string => stopped === 'deadline' ? `timed out after ${deadlineMs} ms` : stopped === 'stall' ? `stalled: no data for ${stallMs} ms` : 'aborted'
    let sinkFailure: { err: unknown } | undefined
    try {
      armStall()
      let res: IncomingMessage
      try {
        res = await new Promise<IncomingMessage>((resolve, reject) => {
          req.once('response', resolve)
          req.once('error', reject)
          req.end()
        })
      } catch (err) {
        if (stopped !== undefined) throw new GraphError(`${what} ${stoppedText()}`, { httpStatus: 0, classification: temporary, ambiguous: false })
        throw new GraphError(redact(`${what} failed: ${causeCode(err) ?? 'network error'}`), { httpStatus: 0, classification: temporary, ambiguous: false })
      }
      const status = res.statusCode ?? 0
      const head: ResponseHead = { status, headers: { get: (name) => headerValue(res, name) } }
      const cutOff = (err: unknown): GraphError => new GraphError(redact(`${what}: HTTP ${status} response body cut off (${stopped !== undefined ? stoppedText() : causeCode(err) ?? 'connection closed'})`), {
        httpStatus: status, classification: temporary, ambiguous: false, retryAfterSeconds: retryAfter(head)
      })
      if (status >= 300 && status < 400) throw refused(`redirect (HTTP ${status})`, status)
      if (status < 200 || status >= 300) {
        let text = ''
        try {
          for await (const chunk of res) {
            armStall()
            text += (chunk as Buffer).toString('utf8')
            if (text.length >= 65_536) break // enough to read an error; the rest is dropped with the connection
          }
        } catch (err) { throw cutOff(err) }
        interpret(what, head, text)
        throw new GraphError(`${what}: HTTP ${status}`, { httpStatus: status, classification: classifyGraphError(undefined, status), ambiguous: false })
      }
      const declared = Number(res.headers['content-length'] ?? NaN)
      if (Number.isFinite(declared) && declared > maxBytes) throw refused(`${declared} bytes exceeds the ${maxBytes} byte limit`, status)
      const contentType = headerValue(res, 'content-type') ?? undefined
      const type = contentType?.split(';')[0]!.trim().toLowerCase()
      if (allowedTypes !== undefined && type !== undefined && type !== '' && !allowedTypes.includes(type)) {
        throw refused(`content type ${type.slice(0, 100)} is not allowed`, status)
      }
      const hash = createSha256()
      const chunks: Buffer[] = []
      let size = 0
      try {
        for await (const piece of res) {
          const chunk = piece as Buffer
          armStall()
          size += chunk.length
          if (size > maxBytes) throw refused(`more than the ${maxBytes} byte limit`, status)
          hash.update(chunk)
          if (opts.onChunk !== undefined) {
            try {
              await opts.onChunk(chunk)
            } catch (err) {
              sinkFailure = { err }
              throw err
            }
          } else {
            chunks.push(chunk)
          }
        }
      } catch (err) {
        if (err instanceof GraphError || sinkFailure !== undefined) throw err
        throw cutOff(err)
      }
      if (!res.complete || (Number.isFinite(declared) && size !== declared)) throw cutOff(undefined)
      return { bytes: Buffer.concat(chunks), contentType, size, sha256: hash.hex() }
    } catch (err) {
      if (sinkFailure !== undefined) throw sinkFailure.err
      throw err
    } finally {
      clearTimeout(deadline)
      if (stall !== undefined) clearTimeout(stall)
      opts.signal?.removeEventListener('abort', onAbort)
      req.destroy()
    }
  }

  return {
    async getPhoneNumber (phoneNumberId) {
      const o = await call('GET', [phoneNumberId], { query: { fields: phoneNumberFields } })
      const throughput = isRecord(o.throughput) ? o.throughput : {}
      return {
        id: str(o, 'id') ?? phoneNumberId,
        displayPhoneNumber: str(o, 'display_phone_number'),
        verifiedName: str(o, 'verified_name'),
        qualityRating: str(o, 'quality_rating'),
        messagingLimitTier: str(o, 'messaging_limit_tier'),
        throughputLevel: str(throughput, 'level'),
        nameStatus: str(o, 'name_status'),
        codeVerificationStatus: str(o, 'code_verification_status'),
        platformType: str(o, 'platform_type')
      }
    },

    async subscribeApp (wabaId) {
      const o = await call('POST', [wabaId, 'subscribed_apps'])
      if (o.success !== true) throw unexpected(`Graph POST /${version}/${wabaId}/subscribed_apps`, 'no success flag')
    },

    async sendMessage (phoneNumberId, body) {
      const what = `Graph POST /${version}/${phoneNumberId}/messages`
      const o = await call('POST', [phoneNumberId, 'messages'], { json: { ...body, messaging_product: 'whatsapp' } })
      const message = Array.isArray(o.messages) && isRecord(o.messages[0]) ? o.messages[0] : {}
      const wamid = str(message, 'id')
      // Meta said 200 but gave no id: it may well have taken the message, so the outbox must reconcile.
      if (wamid === undefined || wamid === '') throw unexpected(what, 'no messages[0].id')
      const contact = Array.isArray(o.contacts) && isRecord(o.contacts[0]) ? o.contacts[0] : {}
      return { wamid, messageStatus: str(message, 'message_status'), input: str(contact, 'input'), waId: str(contact, 'wa_id'), userId: str(contact, 'user_id') }
    },

    async markRead (phoneNumberId, wamid, opts) {
      const json: Record<string, unknown> = { messaging_product: 'whatsapp', status: 'read', message_id: wamid }
      if (opts?.typing === true) json.typing_indicator = { type: 'text' }
      const o = await call('POST', [phoneNumberId, 'messages'], { json })
      if (o.success !== true) throw unexpected(`Graph POST /${version}/${phoneNumberId}/messages (read)`, 'no success flag')
    },

    async getMediaMetadata (mediaId) {
      const o = await call('GET', [mediaId])
      const url = str(o, 'url')
      if (url === undefined) throw unexpected(`Graph GET /${version}/${mediaId}`, 'no url')
      const size = o.file_size
      const fileSize = typeof size === 'number' ? size : typeof size === 'string' && /^\d+$/.test(size) ? Number(size) : undefined
      return { id: str(o, 'id') ?? mediaId, url, mimeType: str(o, 'mime_type'), sha256: normaliseSha256(str(o, 'sha256')), fileSize }
    },

    downloadMedia,

    async uploadMedia (phoneNumberId, media) {
      const form = new FormData()
      form.set('messaging_product', 'whatsapp')
      form.set('type', media.mimeType)
      form.set('file', new Blob([new Uint8Array(media.bytes)], { type: media.mimeType }), media.filename)
      const o = await call('POST', [phoneNumberId, 'media'], { form })
      const id = str(o, 'id')
      if (id === undefined || id === '') throw unexpected(`Graph POST /${version}/${phoneNumberId}/media`, 'no id')
      return { id }
    },

    async listTemplates (wabaId, opts) {
      const query: Record<string, string> = {}
      if (opts?.after !== undefined) query.after = opts.after
      if (opts?.limit !== undefined) query.limit = String(opts.limit)
      const o = await call('GET', [wabaId, 'message_templates'], { query })
      const templates: GraphTemplate[] = []
      for (const t of Array.isArray(o.data) ? o.data : []) {
        if (!isRecord(t)) continue
        const id = str(t, 'id')
        const name = str(t, 'name')
        const language = str(t, 'language')
        const status = str(t, 'status')
        if (id === undefined || name === undefined || language === undefined || status === undefined) continue
        templates.push({ id, name, language, status, category: str(t, 'category'), parameterFormat: str(t, 'parameter_format'), components: Array.isArray(t.components) ? t.components : [] })
      }
      const paging = isRecord(o.paging) ? o.paging : {}
      const cursors = isRecord(paging.cursors) ? paging.cursors : {}
      // The next page exists only when Meta gives paging.next; a lone `after` cursor on the last page is not one.
      const after = typeof paging.next === 'string' ? str(cursors, 'after') : undefined
      return { templates, after }
    }
  }
}

function unexpected (what: string, reason: string): GraphError {
  return new GraphError(`${what}: HTTP 200 with ${reason}`, { httpStatus: 200, classification: classifyGraphError(undefined, 0), ambiguous: true })
}

// A path segment: Graph ids are digits, but never let one add a path or query.
function idSegment (id: string): string {
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') throw new TypeError('Graph id must be a non-empty string')
  return encodeURIComponent(id)
}

// Throws; typed never so that the branches of `interpret` read as returns.
function fail (err: GraphError): never {
  throw err
}

function causeCode (err: unknown): string | undefined {
  let e: unknown = err
  for (let depth = 0; depth < 4 && isRecord(e); depth++) {
    if (typeof e.code === 'string') return e.code
    e = e.cause
  }
  return undefined
}

function retryAfter (res: ResponseHead): number | undefined {
  const v = res.headers.get('retry-after')
  if (v === null) return undefined
  if (/^\d+$/.test(v.trim())) return Number(v.trim())
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

/**
 * A SHA-256 as lowercase hex: Meta's metadata sends hex, webhooks send base64 (SPEC §7); anything that is
 * not 32 bytes in either form is undefined.
 */
export function normaliseSha256 (value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  if (/^[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase()
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const bytes = Buffer.from(v, 'base64')
    if (bytes.length === 32) return bytes.toString('hex')
  }
  return undefined
}

function headerValue (res: IncomingMessage, name: string): string | null {
  const v = res.headers[name.toLowerCase()]
  if (v === undefined) return null
  return Array.isArray(v) ? v.join(', ') : v
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str (o: Record<string, unknown>, k: string): string | undefined {
  const v = Object.hasOwn(o, k) ? o[k] : undefined
  return typeof v === 'string' ? v : undefined
}

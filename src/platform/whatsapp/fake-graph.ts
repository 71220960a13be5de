// A fake Graph API server on 127.0.0.1 (node:http) for tests, browser tests and a demo mode. It answers the
// calls graph-client.ts makes — phone number, subscribed_apps, messages (send and mark-read), media upload,
// media metadata whose url points back here (/media-bytes/{id}), media bytes, message templates — checks the
// Bearer token on every call (401 with error 190 otherwise), records every request, and sends correctly
// signed webhooks to Weltra (postWebhook, over the exact bytes). Faults are scripted per request:
// script(match, fault) applies to the next `times` (default 1) matching requests. A fault that replaces the
// answer (error, status, html, and reset 'before') means the request was not processed; delayMs, truncate
// and reset 'after' hit a request that was processed (a send is in sentMessages), like a lost answer from
// Meta. Error bodies come from the graph-responses fixtures (fixturesDir, default test/fixtures/…).
// Media (setMedia) can be given faults of its own: metadata that lies (another url, sha256 or size) and
// downloads that misbehave (another Content-Type, a missing or false Content-Length, a redirect, a slow
// or stalled body), so every guard of the media worker can be exercised against real HTTP.
import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { randomToken, sha256Hex } from '../crypto/index.js'
import { signatureHeader } from './webhook-signature.js'

/** Options of startFakeGraph; accessToken unset means any non-empty Bearer token is accepted. */
export interface FakeGraphOptions {
  port?: number
  appSecret?: string
  verifyToken?: string
  accessToken?: string
  fixturesDir?: string
}

/** One request as the fake received it; body is empty until it has been read (and for reset 'before'). */
export interface FakeGraphRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  body: Buffer
}

/** Which requests a scripted fault hits: a path suffix, a RegExp over the path, or a predicate (no body yet). */
export type FakeGraphMatch = string | RegExp | ((request: FakeGraphRequest) => boolean)

/**
 * A scripted fault. error: a graph-responses fixture name (e.g. 'error-131047-reengagement') or a literal
 * answer; status: a bare 5xx with a plain-text body; html: an HTML error page; truncate: half of the body;
 * delayMs: stall before answering; reset: destroy the socket before reading the body or after handling the
 * request; retryAfter: a Retry-After header (a 503 unless another field sets the answer); times: how many
 * matching requests it hits (default 1).
 */
export interface FakeGraphFault {
  error?: string | { status: number, body: unknown }
  /** Answer 302 with this Location instead. */
  redirect?: string
  status?: number
  html?: boolean
  truncate?: boolean
  delayMs?: number
  reset?: 'before' | 'after'
  retryAfter?: number
  times?: number
}

/**
 * A media item the fake serves. metadata overrides what GET /{media-id} says (null removes the field);
 * download changes how GET /media-bytes/{id} answers.
 */
export interface FakeMedia {
  bytes: Uint8Array
  mimeType: string
  metadata?: {
    /** The download URL (default: this fake's /media-bytes/{id}). */
    url?: string
    /** Hex SHA-256 (default: of bytes); null: no sha256 field. */
    sha256?: string | null
    /** file_size (default: the byte count, as a string); null: no file_size field. */
    fileSize?: string | number | null
    /** mime_type (default: mimeType). */
    mimeType?: string
  }
  download?: {
    /** Content-Type of the bytes (default: mimeType); null: none. */
    contentType?: string | null
    /** 'omit': no Content-Length (chunked); a number: declare that length whatever the body is. */
    contentLength?: 'omit' | number
    /** Answer 302 with this Location instead of the bytes. */
    redirect?: string
    /** Send the body in pieces of this many bytes… */
    chunkBytes?: number
    /** …pausing this long between pieces. */
    chunkDelayMs?: number
    /** Stop after this many bytes and hold the connection open until the client gives up. */
    stallAfterBytes?: number
    /** Answer with this status and an HTML page instead (e.g. 200 with HTML, 404, 500). */
    htmlStatus?: number
  }
}

/** A registered business phone number. */
export interface FakePhoneNumber {
  id: string
  display: string
  verifiedName: string
  quality: string
  wabaId: string
}

/** A message the fake accepted on POST /{phone-number-id}/messages. */
export interface FakeSentMessage {
  wamid: string
  phoneNumberId: string
  body: Record<string, unknown>
}

/** A running fake Graph server. */
export interface FakeGraph {
  readonly url: string
  readonly port: number
  readonly requests: FakeGraphRequest[]
  readonly sentMessages: FakeSentMessage[]
  readonly readReceipts: Array<{ phoneNumberId: string, wamid: string }>
  readonly subscribedWabas: Set<string>
  readonly phoneNumbers: Map<string, FakePhoneNumber>
  /** Stops the server, cutting open connections. */
  close: () => Promise<void>
  /** Applies fault to the next `fault.times ?? 1` requests matching match. */
  script: (match: FakeGraphMatch, fault: FakeGraphFault) => void
  /** Forgets recorded requests, messages, read receipts, subscriptions and pending faults (keeps numbers and media). */
  reset: () => void
  /** Registers a phone number (quality defaults to GREEN). */
  addPhoneNumber: (phone: { id: string, display: string, verifiedName: string, quality?: string, wabaId: string }) => void
  /** Makes media downloadable under mediaId (with optional metadata and download faults, see FakeMedia). */
  setMedia: (mediaId: string, media: FakeMedia) => void
  /** Forgets a media item: its metadata then answers "object not found" (as an expired media id does). */
  deleteMedia: (mediaId: string) => void
  /** The bytes and type stored under mediaId (uploaded or set). */
  getMedia: (mediaId: string) => { bytes: Buffer, mimeType: string } | undefined
  /** POSTs a webhook signed over its exact bytes (object → JSON.stringify) with secret, else the appSecret. */
  postWebhook: (targetUrl: string, payload: object | Buffer, options?: { secret?: string }) => Promise<{ status: number, body: string }>
  /** Performs Meta's GET verification handshake against targetUrl with the verifyToken (or the given one). */
  handshake: (targetUrl: string, options?: { verifyToken?: string, challenge?: string }) => Promise<{ status: number, body: string }>
}

interface Answer {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** Media download shaping (see FakeMedia.download). */
  shape?: { contentLength?: 'omit' | number, chunkBytes?: number, chunkDelayMs?: number, stallAfterBytes?: number }
}

interface Script {
  match: FakeGraphMatch
  fault: FakeGraphFault
  left: number
}

const defaultFixturesDir = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'whatsapp', 'graph-responses')
const versionPattern = /^v\d+\.\d+$/
const templatePageSize = 2
const htmlPage = '<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Sorry, something went wrong.</h1></body></html>'

/** Starts the fake on 127.0.0.1 (port 0 = any free port). */
export async function startFakeGraph (options: FakeGraphOptions = {}): Promise<FakeGraph> {
  const fixturesDir = options.fixturesDir ?? defaultFixturesDir
  const requests: FakeGraphRequest[] = []
  const sentMessages: FakeSentMessage[] = []
  const readReceipts: Array<{ phoneNumberId: string, wamid: string }> = []
  const subscribedWabas = new Set<string>()
  const phoneNumbers = new Map<string, FakePhoneNumber>()
  const media = new Map<string, FakeMedia & { bytes: Buffer }>()
  let scripts: Script[] = []
  let counter = 0
  const timers = new Set<NodeJS.Timeout>()
  const fixtureCache = new Map<string, Answer>()
  let statusByFile: Map<string, number> | undefined
  let url = ''

  function fixture (name: string): Answer {
    const file = name.endsWith('.json') ? name : `${name}.json`
    const cached = fixtureCache.get(file)
    if (cached !== undefined) return cached
    if (statusByFile === undefined) {
      const index = JSON.parse(readFileSync(join(fixturesDir, 'index.json'), 'utf8')) as { files: Array<{ file: string, http_status: number }> }
      statusByFile = new Map(index.files.map(f => [f.file, f.http_status]))
    }
    const body = readFileSync(join(fixturesDir, file.replace(/[/\\]/g, '')))
    const answer = { status: statusByFile.get(file) ?? 400, headers: { 'content-type': 'application/json; charset=UTF-8' }, body }
    fixtureCache.set(file, answer)
    return answer
  }

  const json = (status: number, value: unknown): Answer => ({ status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: Buffer.from(JSON.stringify(value), 'utf8') })
  const invalidParameter = (): Answer => fixture('error-100-invalid-parameter')
  const notFound = (): Answer => fixture('error-100-33-object-not-found')

  function authorized (headers: IncomingHttpHeaders): boolean {
    const h = headers.authorization
    if (typeof h !== 'string' || !h.startsWith('Bearer ') || h.length <= 'Bearer '.length) return false
    return options.accessToken === undefined || h === `Bearer ${options.accessToken}`
  }

  function nextFault (request: FakeGraphRequest): FakeGraphFault | undefined {
    for (const s of scripts) {
      const m = s.match
      const hit = typeof m === 'string' ? request.path.endsWith(m) : m instanceof RegExp ? m.test(request.path) : m(request)
      if (!hit) continue
      s.left -= 1
      scripts = scripts.filter(x => x.left > 0)
      return s.fault
    }
    return undefined
  }

  async function handle (request: FakeGraphRequest): Promise<Answer> {
    if (!authorized(request.headers)) return fixture('error-190-token-expired')
    const segments = request.path.split('/').filter(s => s !== '').map(decodeURIComponent)
    if (request.method === 'GET' && segments.length === 2 && segments[0] === 'media-bytes') {
      const m = media.get(segments[1]!)
      if (m === undefined) return { status: 404, headers: { 'content-type': 'text/html' }, body: Buffer.from(htmlPage) }
      const d = m.download ?? {}
      if (d.redirect !== undefined) return { status: 302, headers: { location: d.redirect, 'content-type': 'text/html' }, body: Buffer.alloc(0) }
      if (d.htmlStatus !== undefined) return { status: d.htmlStatus, headers: { 'content-type': 'text/html; charset=utf-8' }, body: Buffer.from(htmlPage) }
      const headers: Record<string, string> = {}
      const type = d.contentType === undefined ? m.mimeType : d.contentType
      if (type !== null) headers['content-type'] = type
      return { status: 200, headers, body: m.bytes, shape: { contentLength: d.contentLength, chunkBytes: d.chunkBytes, chunkDelayMs: d.chunkDelayMs, stallAfterBytes: d.stallAfterBytes } }
    }
    const [version, id, edge, ...rest] = segments
    if (version === undefined || !versionPattern.test(version) || id === undefined || rest.length > 0) return invalidParameter()
    if (edge === undefined) {
      if (request.method !== 'GET') return invalidParameter()
      const phone = phoneNumbers.get(id)
      if (phone !== undefined) {
        return json(200, {
          id: phone.id,
          display_phone_number: phone.display,
          verified_name: phone.verifiedName,
          quality_rating: phone.quality,
          messaging_limit_tier: 'TIER_1K',
          throughput: { level: 'STANDARD' },
          name_status: 'APPROVED',
          code_verification_status: 'VERIFIED',
          platform_type: 'CLOUD_API'
        })
      }
      const m = media.get(id)
      if (m !== undefined) {
        const o = m.metadata ?? {}
        const answer: Record<string, unknown> = { messaging_product: 'whatsapp', url: o.url ?? `${url}/media-bytes/${encodeURIComponent(id)}`, mime_type: o.mimeType ?? m.mimeType }
        if (o.sha256 !== null) answer.sha256 = o.sha256 ?? sha256Hex(m.bytes)
        if (o.fileSize !== null) answer.file_size = o.fileSize ?? String(m.bytes.length)
        answer.id = id
        return json(200, answer)
      }
      return notFound()
    }
    if (request.method === 'POST' && edge === 'subscribed_apps') {
      subscribedWabas.add(id)
      return json(200, { success: true })
    }
    if (request.method === 'GET' && edge === 'message_templates') return templatePage(request)
    if (request.method === 'POST' && edge === 'messages') {
      if (!phoneNumbers.has(id)) return notFound()
      let body: unknown
      try { body = JSON.parse(request.body.toString('utf8')) } catch { return invalidParameter() }
      if (!isRecord(body) || body.messaging_product !== 'whatsapp') return invalidParameter()
      if (body.status === 'read') {
        if (typeof body.message_id !== 'string') return invalidParameter()
        readReceipts.push({ phoneNumberId: id, wamid: body.message_id })
        return json(200, { success: true })
      }
      const to = typeof body.to === 'string' ? body.to : undefined
      const recipient = typeof body.recipient === 'string' ? body.recipient : undefined
      if ((to === undefined && recipient === undefined) || typeof body.type !== 'string') return invalidParameter()
      counter += 1
      const wamid = `wamid.FAKE${counter}.${randomToken(9)}`
      sentMessages.push({ wamid, phoneNumberId: id, body })
      const contact = to !== undefined ? { input: to, wa_id: to.replace(/\D/g, '') } : { input: recipient, user_id: recipient }
      const message: Record<string, string> = { id: wamid }
      if (body.type === 'template') message.message_status = 'accepted'
      return json(200, { messaging_product: 'whatsapp', contacts: [contact], messages: [message] })
    }
    if (request.method === 'POST' && edge === 'media') {
      if (!phoneNumbers.has(id)) return notFound()
      let file: FormDataEntryValue | null
      let type: FormDataEntryValue | null
      let product: FormDataEntryValue | null
      try {
        const form = await new Response(new Uint8Array(request.body), { headers: { 'content-type': String(request.headers['content-type'] ?? '') } }).formData()
        file = form.get('file')
        type = form.get('type')
        product = form.get('messaging_product')
      } catch {
        return invalidParameter()
      }
      if (product !== 'whatsapp' || typeof type !== 'string' || file === null || typeof file === 'string') return invalidParameter()
      counter += 1
      const mediaId = String(1890000000000000 + counter)
      media.set(mediaId, { bytes: Buffer.from(await file.arrayBuffer()), mimeType: type })
      return json(200, { id: mediaId })
    }
    return invalidParameter()
  }

  function templatePage (request: FakeGraphRequest): Answer {
    const query = request.query
    const all = (JSON.parse(fixture('template-list').body.toString('utf8')) as { data: unknown[] }).data
    const after = query.get('after')
    const start = after !== null && /^CURSOR-\d+$/.test(after) ? Number(after.slice('CURSOR-'.length)) : 0
    const limit = Math.max(1, Math.min(100, Number(query.get('limit') ?? templatePageSize) || templatePageSize))
    const end = Math.min(all.length, start + limit)
    const paging: Record<string, unknown> = { cursors: { before: `CURSOR-${start}`, after: `CURSOR-${end}` } }
    if (end < all.length) paging.next = `${url}${request.path}?limit=${limit}&after=CURSOR-${end}`
    return json(200, { data: all.slice(start, end), paging })
  }

  function faultAnswer (fault: FakeGraphFault): Answer | undefined {
    if (fault.error !== undefined) {
      if (typeof fault.error === 'string') return fixture(fault.error)
      const body = Buffer.isBuffer(fault.error.body) ? fault.error.body : Buffer.from(JSON.stringify(fault.error.body), 'utf8')
      return { status: fault.error.status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body }
    }
    if (fault.redirect !== undefined) return { status: 302, headers: { location: fault.redirect }, body: Buffer.alloc(0) }
    if (fault.html === true) return { status: fault.status ?? 502, headers: { 'content-type': 'text/html; charset=utf-8' }, body: Buffer.from(htmlPage) }
    if (fault.status !== undefined) return { status: fault.status, headers: { 'content-type': 'text/plain' }, body: Buffer.from('Service Unavailable') }
    if (fault.retryAfter !== undefined) return { status: 503, headers: { 'content-type': 'text/plain' }, body: Buffer.from('Service Unavailable') }
    return undefined
  }

  function wait (ms: number, req: IncomingMessage): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(done, ms)
      timers.add(timer)
      req.socket.once('close', done)
      function done (): void {
        clearTimeout(timer)
        timers.delete(timer)
        req.socket.off('close', done)
        resolve()
      }
    })
  }

  async function onRequest (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1')
    const request: FakeGraphRequest = { method: req.method ?? 'GET', path: parsed.pathname, query: parsed.searchParams, headers: req.headers, body: Buffer.alloc(0) }
    requests.push(request)
    const fault = nextFault(request)
    if (fault?.reset === 'before') {
      req.socket.destroy()
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    request.body = Buffer.concat(chunks)
    let answer = (fault !== undefined ? faultAnswer(fault) : undefined) ?? await handle(request)
    if (fault?.delayMs !== undefined) await wait(fault.delayMs, req)
    if (fault?.reset === 'after' || req.socket.destroyed) {
      req.socket.destroy()
      return
    }
    if (fault?.truncate === true) answer = { ...answer, body: answer.body.subarray(0, Math.floor(answer.body.length / 2)) }
    const shape = answer.shape ?? {}
    const headers: Record<string, string> = { ...answer.headers }
    if (shape.contentLength === undefined) headers['content-length'] = String(answer.body.length)
    else if (shape.contentLength !== 'omit') headers['content-length'] = String(shape.contentLength)
    if (fault?.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter)
    res.writeHead(answer.status, headers)
    if (shape.chunkBytes === undefined && shape.stallAfterBytes === undefined) {
      res.end(answer.body)
      return
    }
    const piece = Math.max(1, shape.chunkBytes ?? answer.body.length)
    const limit = Math.min(answer.body.length, shape.stallAfterBytes ?? Infinity)
    for (let at = 0; at < limit; at += piece) {
      if (req.socket.destroyed) return
      res.write(answer.body.subarray(at, Math.min(limit, at + piece)))
      if (shape.chunkDelayMs !== undefined && at + piece < limit) await wait(shape.chunkDelayMs, req)
    }
    if (shape.stallAfterBytes !== undefined) {
      // Hold the connection open, sending nothing more, until the client gives up (or close()).
      await wait(3_600_000, req)
      req.socket.destroy()
      return
    }
    res.end()
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent && !req.socket.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end('fake graph failure')
      } else {
        req.socket.destroy()
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  url = `http://127.0.0.1:${port}`

  return {
    url,
    port,
    requests,
    sentMessages,
    readReceipts,
    subscribedWabas,
    phoneNumbers,
    async close () {
      for (const t of timers) clearTimeout(t)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
    script (match, fault) {
      scripts.push({ match, fault, left: Math.max(1, fault.times ?? 1) })
    },
    reset () {
      requests.length = 0
      sentMessages.length = 0
      readReceipts.length = 0
      subscribedWabas.clear()
      scripts = []
    },
    addPhoneNumber (phone) {
      phoneNumbers.set(phone.id, { id: phone.id, display: phone.display, verifiedName: phone.verifiedName, quality: phone.quality ?? 'GREEN', wabaId: phone.wabaId })
    },
    setMedia (mediaId, m) {
      media.set(mediaId, { ...m, bytes: Buffer.from(m.bytes) })
    },
    deleteMedia (mediaId) {
      media.delete(mediaId)
    },
    getMedia (mediaId) {
      return media.get(mediaId)
    },
    async postWebhook (targetUrl, payload, opts) {
      const secret = opts?.secret ?? options.appSecret
      if (secret === undefined || secret === '') throw new TypeError('postWebhook needs a secret (option or appSecret)')
      const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), 'utf8')
      const res = await fetch(targetUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureHeader(bytes, secret) },
        body: new Uint8Array(bytes)
      })
      return { status: res.status, body: await res.text() }
    },
    async handshake (targetUrl, opts) {
      const token = opts?.verifyToken ?? options.verifyToken
      if (token === undefined) throw new TypeError('handshake needs a verify token (option or verifyToken)')
      const u = new URL(targetUrl)
      u.searchParams.set('hub.mode', 'subscribe')
      u.searchParams.set('hub.verify_token', token)
      u.searchParams.set('hub.challenge', opts?.challenge ?? String(1_000_000_000 + (counter++)))
      const res = await fetch(u)
      return { status: res.status, body: await res.text() }
    }
  }
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

// POST a small body to a URL someone else chose (outgoing webhooks), safely:
//   - the URL is checked (http(s) only, no credentials in it, http only when allowed);
//   - the host is resolved once and every address must be public unless private ones are allowed
//     (vetHost), and the socket connects to exactly those addresses (pinnedLookup: no DNS rebinding);
//   - redirects are not followed (a 3xx is an answer, not a hop: following one would let a public URL
//     point the request at an internal address);
//   - one deadline covers connecting, sending and reading, and at most 64 KB of the answer is read.
// The outcome says what happened in plain words that are safe to show and log: never the response
// body (it may echo the payload), never the URL's query.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { hostAsAddress } from './address.js'
import { normaliseHost, OutboundRefusedError, pinnedLookup, vetHost, type HostResolver } from './outbound.js'

export interface UrlPolicy {
  /** Allow http:// (no TLS). */
  allowHttp: boolean
  /** Allow private, loopback, link-local and other non-public addresses. */
  allowPrivate: boolean
  /** Resolver (tests inject one; default: the system resolver). */
  resolve?: HostResolver | undefined
}

/** Why a URL is refused before anything is sent: a catalogue-friendly code and safe words. */
export type UrlProblem = 'invalid' | 'scheme' | 'http' | 'credentials' | 'private' | 'unresolvable'

/** Checks the shape of a URL (no DNS). */
export function urlShapeProblem (raw: string, policy: Pick<UrlPolicy, 'allowHttp'>): { problem: UrlProblem } | { url: URL } {
  let url: URL
  try { url = new URL(raw) } catch { return { problem: 'invalid' } }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: 'scheme' }
  if (url.protocol === 'http:' && !policy.allowHttp) return { problem: 'http' }
  if (url.username !== '' || url.password !== '') return { problem: 'credentials' }
  if (url.hostname === '') return { problem: 'invalid' }
  return { url }
}

/** Resolves the URL's host under the policy: the addresses to connect to, or why not. */
export async function vetUrl (url: URL, policy: UrlPolicy): Promise<{ problem: UrlProblem, reason: string } | { addresses: Awaited<ReturnType<typeof vetHost>> }> {
  const host = normaliseHost(url.hostname)
  if (!policy.allowPrivate && (host === 'localhost' || host.endsWith('.localhost'))) return { problem: 'private', reason: `${host} is this machine` }
  try {
    return { addresses: await vetHost(host, { resolve: policy.resolve, allowPrivate: policy.allowPrivate }) }
  } catch (err) {
    if (err instanceof OutboundRefusedError) return { problem: 'private', reason: err.reason }
    return { problem: 'unresolvable', reason: (err as Error).message }
  }
}

export interface PostOutcome {
  /** The receiver's HTTP status, or null when it never answered. */
  status: number | null
  /** 2xx. */
  ok: boolean
  /** Refused by policy (no request was made): retrying will not help until the URL or settings change. */
  refused: boolean
  /** Why it did not succeed, in plain words (may name the host: for the admin, not for logs); null on success. */
  error: string | null
  /** The same as a code without any part of the URL, for logs; null on success. */
  reason: 'url' | 'private' | 'unresolvable' | 'timeout' | 'connect' | 'redirect' | 'http' | null
  durationMs: number
}

/** Posts `body` and reports the outcome; never throws. */
export async function guardedPost (rawUrl: string, body: string, headers: Record<string, string>, options: UrlPolicy & { timeoutMs: number }): Promise<PostOutcome> {
  const started = performance.now()
  const done = (o: Omit<PostOutcome, 'durationMs' | 'ok'>): PostOutcome => ({ ...o, ok: o.status !== null && o.status >= 200 && o.status < 300 && o.error === null, durationMs: Math.round(performance.now() - started) })
  const shape = urlShapeProblem(rawUrl, options)
  if ('problem' in shape) return done({ status: null, refused: true, reason: 'url', error: `the URL is not allowed (${shape.problem})` })
  const url = shape.url
  const vetted = await vetUrl(url, options)
  if ('problem' in vetted) return done({ status: null, refused: vetted.problem === 'private', reason: vetted.problem === 'private' ? 'private' : 'unresolvable', error: vetted.problem === 'private' ? `refused: ${vetted.reason}` : `cannot resolve ${normaliseHost(url.hostname)}` })
  const host = normaliseHost(url.hostname)
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return await new Promise<PostOutcome>((resolve) => {
    let settled = false
    const finish = (o: Omit<PostOutcome, 'durationMs' | 'ok'>): void => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      resolve(done(o))
    }
    const req = send({
      protocol: url.protocol,
      host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: pinnedLookup(vetted.addresses),
      agent: false,
      ...(hostAsAddress(host) === undefined ? { servername: host } : {})
    })
    const deadline = setTimeout(() => {
      req.destroy(new Error('deadline'))
      finish({ status: null, refused: false, reason: 'timeout', error: `no answer within ${Math.round(options.timeoutMs / 1000)} s` })
    }, options.timeoutMs)
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish({ status: null, refused: false, reason: 'connect', error: `could not connect: ${err.code ?? 'network error'}` })
    })
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      let read = 0
      res.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read > 65_536) res.destroy()
      })
      const answered = (): void => {
        if (status >= 300 && status < 400) finish({ status, refused: false, reason: 'redirect', error: `HTTP ${status}: redirects are not followed; use the final URL` })
        else if (status < 200 || status >= 300) finish({ status, refused: false, reason: 'http', error: `HTTP ${status}` })
        else finish({ status, refused: false, reason: null, error: null })
      }
      res.on('end', answered)
      res.on('close', answered)
      res.on('error', answered)
    })
    req.end(body)
  })
}

// Test-only fakes at the process edge for the mail tests: a local SMTP server (smtp-server) that keeps
// every raw message it accepts, a fake Resend API (node:http), a port with nothing listening, and a tiny
// MIME reader for the messages nodemailer builds. Everything listens on 127.0.0.1 only. Not imported by
// production code.
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface ReceivedSmtp {
  /** MAIL FROM and RCPT TO of the SMTP envelope. */
  envelopeFrom: string
  envelopeTo: string[]
  /** The message exactly as received (headers and body, CRLF line ends). */
  raw: string
}

export interface SmtpStub {
  port: number
  received: ReceivedSmtp[]
  close: () => Promise<void>
}

/** Starts an SMTP server on 127.0.0.1 (plain, no TLS, optional auth); `rejectRcpt` may return a 5xx/4xx code. */
export async function startSmtpStub (options: { port?: number, rejectRcpt?: (address: string) => number | undefined } = {}): Promise<SmtpStub> {
  const received: ReceivedSmtp[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo (address, _session, callback) {
      const code = options.rejectRcpt?.(address.address)
      if (code === undefined) return callback()
      const err = new Error(code >= 500 ? 'No such user here' : 'Try again later') as Error & { responseCode: number }
      err.responseCode = code
      callback(err)
    },
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        received.push({
          envelopeFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          envelopeTo: session.envelope.rcptTo.map(r => r.address),
          raw: Buffer.concat(chunks).toString('utf8')
        })
        callback()
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.server.address() as AddressInfo).port
  return {
    port,
    received,
    close: async () => { await new Promise<void>(resolve => server.close(() => resolve())) }
  }
}

/** A 127.0.0.1 port that nothing listens on (a server was bound to it, then closed). */
export async function unusedPort (): Promise<number> {
  const server = createNetServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

export interface ResendRequest { method: string, url: string, headers: IncomingHttpHeaders, body: unknown }

export interface ResendStub {
  baseUrl: string
  requests: ResendRequest[]
  close: () => Promise<void>
}

/** A fake Resend API: answers each POST with the next status of `statuses` (the last one repeats). */
export async function startResendStub (statuses: number[]): Promise<ResendStub> {
  const requests: ResendRequest[] = []
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body: unknown
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { body = undefined }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      const status = statuses[Math.min(requests.length - 1, statuses.length - 1)] ?? 200
      const answer = status < 300
        ? { id: `re_${requests.length}` }
        : { statusCode: status, name: status === 422 ? 'validation_error' : 'internal_server_error', message: status === 422 ? 'Invalid `to` field: evil@example.com is not allowed.' : 'Something broke.' }
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

export interface ParsedMessage {
  /** Header lines after unfolding, in order, as [lower-case name, raw value]. */
  headers: Array<[string, string]>
  header: (name: string) => string | undefined
  /** Decoded text/plain and text/html parts. */
  text: string | undefined
  html: string | undefined
}

/** Reads a message built by nodemailer: headers (unfolded, encoded words decoded) and the text/html parts. */
export function parseMessage (raw: string): ParsedMessage {
  const { headers, body } = splitEntity(raw)
  const header = (name: string): string | undefined => headers.find(([n]) => n === name.toLowerCase())?.[1]
  const parts: Record<string, string> = {}
  collectParts(headers, body, parts)
  return { headers, header, text: parts['text/plain'], html: parts['text/html'] }
}

function splitEntity (raw: string): { headers: Array<[string, string]>, body: string } {
  const end = raw.indexOf('\r\n\r\n')
  const head = end === -1 ? raw : raw.slice(0, end)
  const body = end === -1 ? '' : raw.slice(end + 4)
  const headers: Array<[string, string]> = []
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim())])
  }
  return { headers, body }
}

function collectParts (headers: Array<[string, string]>, body: string, out: Record<string, string>): void {
  const type = headers.find(([n]) => n === 'content-type')?.[1] ?? 'text/plain'
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1]
  if (/^multipart\//i.test(type) && boundary !== undefined) {
    const sections = body.split(`--${boundary}`).slice(1)
    for (const section of sections) {
      if (section.startsWith('--')) break
      const part = splitEntity(section.replace(/^\r\n/, ''))
      collectParts(part.headers, part.body.replace(/\r\n$/, ''), out)
    }
    return
  }
  const encoding = (headers.find(([n]) => n === 'content-transfer-encoding')?.[1] ?? '7bit').toLowerCase()
  out[type.split(';')[0]!.trim().toLowerCase()] = decodeBody(body, encoding)
}

function decodeBody (body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body.replace(/=\r\n/g, ''))
  return body
}

function decodeQuotedPrintable (text: string): string {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'))
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

function decodeWords (value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QB])\?([^?]*)\?=/gi, (_whole, _charset: string, enc: string, text: string) => enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' ')))
}

// The load generators' HTTP/1.1 client: keep-alive connections to 127.0.0.1, one request in flight
// per connection, new connections opened while requests wait (up to a cap). Plain sockets rather than
// an HTTP client library, so the generator's own overhead stays small and its timing honest.
import { connect, type Socket } from 'node:net'

/** Called once per request: status (0 when the connection failed) and the response body's size. */
export type Done = (status: number, bodyBytes: number) => void

interface Conn { socket: Socket, busy: boolean, chunks: Buffer[], size: number, onDone: Done | undefined }

/**
 * One complete response at the start of buf: [status, bytes used, body bytes], or undefined while
 * incomplete. Handles content-length and chunked bodies.
 */
export function parseResponse (buf: Buffer): [number, number, number] | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const head = buf.toString('latin1', 0, end)
  const status = Number(head.slice(9, 12))
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  if (length !== null) {
    const n = Number(length[1])
    return buf.length < end + 4 + n ? undefined : [status, end + 4 + n, n]
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) return [status, end + 4, 0]
  let at = end + 4
  let body = 0
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at)
    if (lineEnd < 0) return undefined
    const size = parseInt(buf.toString('latin1', at, lineEnd), 16)
    if (size === 0) {
      const trailerEnd = buf.indexOf('\r\n', lineEnd + 2)
      return trailerEnd < 0 ? undefined : [status, trailerEnd + 2, body]
    }
    if (buf.length < lineEnd + 2 + size + 2) return undefined
    body += size
    at = lineEnd + 2 + size + 2
  }
}

/** The value at quantile p of an ascending array (NaN when empty). */
export function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

export class HttpPool {
  private readonly conns: Conn[] = []
  private readonly idle: Conn[] = []
  /** Requests waiting for a free connection; `request` is built when one is free (so ids follow send order). */
  private readonly waiting: Array<{ request: () => Buffer, done: Done }> = []
  private connecting = 0

  constructor (private readonly port: number, private readonly maxConnections: number) {}

  /** Sends `request()` on a free connection (or the next one to become free). */
  submit (request: () => Buffer, done: Done): void {
    const c = this.idle.pop()
    if (c !== undefined) { this.send(c, request, done); return }
    this.waiting.push({ request, done })
    if (this.conns.length + this.connecting < this.maxConnections) this.open()
  }

  /** A stalled phase: drops the connections with a request in flight and fails every request still waiting. */
  abort (): void {
    for (const c of this.conns) if (c.busy) c.socket.destroy()
    for (const w of this.waiting.splice(0)) w.done(0, 0)
  }

  /** Closes every connection (the generator is exiting). */
  close (): void {
    for (const c of this.conns) c.socket.destroy()
  }

  get connections (): number { return this.conns.length }
  describe (): string {
    return `connections ${this.conns.length}, connecting ${this.connecting}, idle ${this.idle.length}, waiting ${this.waiting.length}`
  }

  private send (c: Conn, request: () => Buffer, done: Done): void {
    c.busy = true
    c.onDone = done
    c.socket.write(request())
  }

  private release (c: Conn): void {
    c.busy = false
    c.onDone = undefined
    const w = this.waiting.shift()
    if (w !== undefined) this.send(c, w.request, w.done)
    else this.idle.push(c)
  }

  private open (): void {
    this.connecting++
    const socket = connect({ host: '127.0.0.1', port: this.port, noDelay: true })
    const c: Conn = { socket, busy: false, chunks: [], size: 0, onDone: undefined }
    socket.on('connect', () => { this.connecting--; this.conns.push(c); this.release(c) })
    socket.on('data', (chunk: Buffer) => {
      c.chunks.push(chunk)
      c.size += chunk.length
      const buf = c.chunks.length === 1 ? c.chunks[0]! : Buffer.concat(c.chunks, c.size)
      const parsed = parseResponse(buf)
      if (parsed === undefined) { c.chunks = [buf]; return }
      const rest = buf.subarray(parsed[1])
      c.chunks = rest.length > 0 ? [rest] : []
      c.size = rest.length
      const done = c.onDone
      // An answer to no request (e.g. a 408 on an idle connection): drop this connection.
      if (!c.busy || done === undefined) { c.socket.destroy(); return }
      c.onDone = undefined
      done(parsed[0], parsed[2])
      this.release(c)
    })
    const fail = (): void => {
      const i = this.conns.indexOf(c)
      if (i >= 0) this.conns.splice(i, 1)
      else { this.connecting--; this.waiting.shift()?.done(0, 0) } // could not connect: fail one queued request
      const j = this.idle.indexOf(c)
      if (j >= 0) this.idle.splice(j, 1)
      const done = c.onDone
      c.onDone = undefined
      done?.(0, 0)
      if (this.waiting.length > 0 && this.conns.length + this.connecting < this.maxConnections) this.open()
    }
    socket.on('error', () => { /* close follows */ })
    socket.on('close', fail)
  }
}

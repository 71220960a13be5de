// The HTTP load generator of `npm run bench:inbox`, in its own process (forked by inbox.ts, which sends
// it one phase at a time over IPC). Open loop: request i is due at start + i / rate whatever happened
// to the previous ones, and its latency is measured from that scheduled time (no coordinated
// omission). Each phase cycles through the raw requests it was given (different sessions, filters,
// conversations), on keep-alive connections with one request in flight each (like browsers), opened
// on demand. A minimal client on raw sockets: Node's http.request costs CPU the server under test
// would miss on a 2-core machine.
import { connect, type Socket } from 'node:net'

export interface LoadSetup { type: 'setup', port: number, maxConnections?: number }
export interface LoadPhase { type: 'phase', name: string, rate: number, seconds: number, requests: string[] }
export interface LoadResult {
  type: 'result'
  name: string
  rate: number
  seconds: number
  sent: number
  ok: number
  /** Responses by status code ('network' for connection failures). */
  statuses: Record<string, number>
  elapsed: number
  achieved: number
  p50: number
  p90: number
  p95: number
  p99: number
  max: number
  /** Mean response body size in bytes. */
  bodyBytes: number
  /** How late the generator itself sent requests (scheduled → written), p99 in ms. */
  sendLagP99: number
  connections: number
  /** CPU the generator used during the phase, in % of one core. */
  generatorCpu: number
}

interface Conn { socket: Socket, busy: boolean, chunks: Buffer[], size: number, onDone: ((status: number, bytes: number) => void) | undefined }

let setup: LoadSetup | undefined
const conns: Conn[] = []
const idle: Conn[] = []
const waiting: Array<{ request: Buffer, done: (status: number, bytes: number) => void }> = []
let connecting = 0

/**
 * One complete response at the start of buf: [status, bytes used, body bytes], or undefined while
 * incomplete. Handles content-length and chunked bodies.
 */
function parseResponse (buf: Buffer): [number, number, number] | undefined {
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

function release (c: Conn): void {
  c.busy = false
  c.onDone = undefined
  const w = waiting.shift()
  if (w !== undefined) send(c, w.request, w.done)
  else idle.push(c)
}

function openConnection (): void {
  const s = setup!
  connecting++
  const socket = connect({ host: '127.0.0.1', port: s.port, noDelay: true })
  const c: Conn = { socket, busy: false, chunks: [], size: 0, onDone: undefined }
  socket.on('connect', () => { connecting--; conns.push(c); release(c) })
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
    if (!c.busy || done === undefined) { c.socket.destroy(); return }
    c.onDone = undefined
    done(parsed[0], parsed[2])
    release(c)
  })
  const fail = (): void => {
    const i = conns.indexOf(c)
    if (i >= 0) conns.splice(i, 1)
    else { connecting--; waiting.shift()?.done(0, 0) }
    const j = idle.indexOf(c)
    if (j >= 0) idle.splice(j, 1)
    const done = c.onDone
    c.onDone = undefined
    done?.(0, 0)
    if (waiting.length > 0 && conns.length + connecting < (s.maxConnections ?? 64)) openConnection()
  }
  socket.on('error', () => { /* close follows */ })
  socket.on('close', fail)
}

function send (c: Conn, request: Buffer, done: (status: number, bytes: number) => void): void {
  c.busy = true
  c.onDone = done
  c.socket.write(request)
}

function submit (request: Buffer, done: (status: number, bytes: number) => void): void {
  const c = idle.pop()
  if (c !== undefined) { send(c, request, done); return }
  waiting.push({ request, done })
  if (conns.length + connecting < (setup!.maxConnections ?? 64)) openConnection()
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

async function runPhase (p: LoadPhase): Promise<LoadResult> {
  const requests = p.requests.map(r => Buffer.from(r, 'latin1'))
  const total = Math.round(p.rate * p.seconds)
  const latencies = new Float64Array(total)
  const lags = new Float64Array(total)
  let done = 0
  let ok = 0
  let bytes = 0
  const statuses: Record<string, number> = {}
  const cpu0 = process.cpuUsage()
  const start = performance.now() + 5
  let sent = 0
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined
    const complete = (scheduled: number) => (status: number, size: number): void => {
      latencies[done++] = performance.now() - scheduled
      const k = status === 0 ? 'network' : String(status)
      statuses[k] = (statuses[k] ?? 0) + 1
      if (status === 200) { ok++; bytes += size }
      if (done === total) { if (timer !== undefined) clearTimeout(timer); clearInterval(watchdog); resolve() } else pump()
    }
    // Sends every request that is due; runs on a timer and after every response.
    const pump = (): void => {
      const now = performance.now()
      const due = Math.min(total, Math.floor((now - start) * p.rate / 1000) + 1)
      while (sent < due) {
        const scheduled = start + sent * 1000 / p.rate
        lags[sent] = now - scheduled
        submit(requests[sent % requests.length]!, complete(scheduled))
        sent++
      }
      if (sent < total && timer === undefined) {
        const wait = start + sent * 1000 / p.rate - performance.now()
        timer = setTimeout(() => { timer = undefined; pump() }, Math.max(0, wait))
      }
    }
    timer = setTimeout(() => { timer = undefined; pump() }, Math.max(0, start - performance.now()))
    let seen = -1
    const watchdog = setInterval(() => {
      if (done === seen && sent === total) {
        process.stderr.write(`inbox-load: no progress for 30 s in ${p.name} (${done}/${total}); counting the rest as failed\n`)
        for (const c of conns) if (c.busy) c.socket.destroy()
        for (const w of waiting.splice(0)) w.done(0, 0)
        for (let lost = total - done; lost > 0; lost--) complete(performance.now())(0, 0)
      }
      seen = done
    }, 30_000)
    watchdog.unref()
  })
  const elapsed = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpu0)
  latencies.sort()
  lags.sort()
  return {
    type: 'result',
    name: p.name,
    rate: p.rate,
    seconds: p.seconds,
    sent: total,
    ok,
    statuses,
    elapsed,
    achieved: ok / elapsed,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? NaN,
    bodyBytes: ok === 0 ? 0 : bytes / ok,
    sendLagP99: percentile(lags, 0.99),
    connections: conns.length,
    generatorCpu: (cpu.user + cpu.system) / 1000 / (elapsed * 1000) * 100
  }
}

process.on('message', (msg: LoadSetup | LoadPhase | { type: 'exit' }) => {
  if (msg.type === 'setup') { setup = msg; process.send!({ type: 'ready' }); return }
  if (msg.type === 'exit') { for (const c of conns) c.socket.destroy(); process.disconnect(); return }
  runPhase(msg).then((r) => process.send!(r), (err: unknown) => { process.stderr.write(String((err as Error).stack)); process.exit(1) })
})

// The load generator of `npm run bench:webhooks`, in its own process (forked by webhooks.ts, which
// sends it one phase at a time over IPC). Open loop: request i is due at start + i / rate, whatever
// happened to the previous ones, and its latency is measured from that scheduled time, so a server
// that stalls pays for every request that queued behind the stall (no coordinated omission).
//
// A minimal HTTP/1.1 client on raw keep-alive sockets, one request in flight per connection (no
// pipelining, like Meta's senders): Node's http.request costs ~40 µs of CPU per request, which on a
// 2-core machine is CPU taken from the server under test. Connections are opened on demand (up to
// `maxConnections`); a request that finds none free waits in a queue, and that wait counts.
import { createHmac } from 'node:crypto'
import { connect, type Socket } from 'node:net'

export interface PhaseRequest { type: 'phase', name: string, rate: number, seconds: number }
export interface SetupMessage { type: 'setup', port: number, path: string, secret: string, template: string, phoneNumberId: string, maxConnections?: number }
export interface PhaseResult {
  type: 'result'
  name: string
  rate: number
  seconds: number
  sent: number
  ok: number
  errors: number
  /** Status codes other than 200 (and 'network' for connection failures). */
  errorKinds: Record<string, number>
  elapsed: number
  achieved: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  /** How late the generator itself sent requests (scheduled → written), p99 in ms. */
  sendLagP99: number
  connections: number
  /** CPU the generator used during the phase (user + system), in % of one core. */
  generatorCpu: number
  /** p99 and max latency of the requests scheduled in each second of the phase (ms). */
  perSecond: Array<{ p99: number, max: number }>
}

interface Conn { socket: Socket, busy: boolean, buf: Buffer, scheduled: number, onDone: ((status: number) => void) | undefined }

let setup: SetupMessage | undefined
let counter = 0
const conns: Conn[] = []
const idle: Conn[] = []
const waiting: Array<{ scheduled: number, done: (status: number) => void }> = []
let connecting = 0

// 500 different senders (a busy shop): contact upserts are spread like real traffic, not all on one row.
const senders = 500

function nextRequest (): Buffer {
  const s = setup!
  counter++
  const who = counter % senders
  const wa = `1555${String(7000000 + who)}`
  const body = s.template
    .replaceAll('15550100111', wa)
    .replaceAll('US.1000000000000000111', `US.bench${who}`)
    .replace('Ana Souza', `Customer ${who}`)
    .replace(/wamid\.[A-Za-z0-9=_-]+/, `wamid.BENCH${process.pid.toString(36)}${counter.toString(36).padStart(10, '0')}`)
    .replace('1789200000', String(1_789_200_000 + counter))
  const bytes = Buffer.from(body)
  const sig = createHmac('sha256', s.secret).update(bytes).digest('hex')
  const head = `POST ${s.path} HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\ncontent-type: application/json\r\ncontent-length: ${bytes.length}\r\nx-hub-signature-256: sha256=${sig}\r\nuser-agent: facebookexternalua\r\n\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes])
}

/** Parses one complete response at the start of buf; returns [status, bytes used] or undefined if incomplete. */
function parseResponse (buf: Buffer): [number, number] | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const head = buf.toString('latin1', 0, end)
  const status = Number(head.slice(9, 12))
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  const length = m === null ? 0 : Number(m[1])
  if (buf.length < end + 4 + length) return undefined
  return [status, end + 4 + length]
}

function release (c: Conn): void {
  c.busy = false
  c.onDone = undefined
  const w = waiting.shift()
  if (w !== undefined) send(c, w.scheduled, w.done)
  else idle.push(c)
}

function openConnection (): void {
  const s = setup!
  connecting++
  const socket = connect({ host: '127.0.0.1', port: s.port, noDelay: true })
  const c: Conn = { socket, busy: false, buf: Buffer.alloc(0), scheduled: 0, onDone: undefined }
  socket.on('connect', () => { connecting--; conns.push(c); release(c) })
  socket.on('data', (chunk: Buffer) => {
    c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk])
    const parsed = parseResponse(c.buf)
    if (parsed === undefined) return
    c.buf = c.buf.subarray(parsed[1])
    const done = c.onDone
    // An answer to no request (e.g. a 408 on an idle connection): drop this connection.
    if (!c.busy || done === undefined) { c.socket.destroy(); return }
    c.onDone = undefined
    done(parsed[0])
    release(c)
  })
  const fail = (): void => {
    const i = conns.indexOf(c)
    if (i >= 0) conns.splice(i, 1)
    else { connecting--; waiting.shift()?.done(0) } // could not connect: fail one queued request
    const j = idle.indexOf(c)
    if (j >= 0) idle.splice(j, 1)
    const done = c.onDone
    c.onDone = undefined
    done?.(0)
    if (waiting.length > 0 && conns.length + connecting < (s.maxConnections ?? 256)) openConnection()
  }
  socket.on('error', () => { /* close follows */ })
  socket.on('close', fail)
}

function send (c: Conn, scheduled: number, done: (status: number) => void): void {
  c.busy = true
  c.scheduled = scheduled
  c.onDone = done
  c.socket.write(nextRequest())
}

function submit (scheduled: number, done: (status: number) => void): void {
  const c = idle.pop()
  if (c !== undefined) { send(c, scheduled, done); return }
  waiting.push({ scheduled, done })
  if (conns.length + connecting < (setup!.maxConnections ?? 256)) openConnection()
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

async function runPhase (p: PhaseRequest): Promise<PhaseResult> {
  const total = Math.round(p.rate * p.seconds)
  const latencies = new Float64Array(total)
  const bySecond: number[][] = Array.from({ length: Math.ceil(p.seconds) }, () => [])
  const lags = new Float64Array(total)
  let done = 0
  let ok = 0
  const errorKinds: Record<string, number> = {}
  const cpu0 = process.cpuUsage()
  const start = performance.now() + 5
  let sent = 0
  let watchdog: NodeJS.Timeout | undefined
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined
    const complete = (scheduled: number) => (status: number): void => {
      const latency = performance.now() - scheduled
      latencies[done++] = latency
      bySecond[Math.min(bySecond.length - 1, Math.floor((scheduled - start) / 1000))]!.push(latency)
      if (status === 200) ok++
      else { const k = status === 0 ? 'network' : String(status); errorKinds[k] = (errorKinds[k] ?? 0) + 1 }
      if (done === total) { if (timer !== undefined) clearTimeout(timer); clearInterval(watchdog); resolve() } else pump()
    }
    // Sends every request that is due. Runs on a timer and after every response: timers are ~1 ms
    // coarse, but under load responses arrive far more often, so requests leave close to their time
    // without a busy loop eating the CPU the server needs.
    const pump = (): void => {
      const now = performance.now()
      const due = Math.min(total, Math.floor((now - start) * p.rate / 1000) + 1)
      while (sent < due) {
        const scheduled = start + sent * 1000 / p.rate
        lags[sent] = now - scheduled
        sent++
        submit(scheduled, complete(scheduled))
      }
      if (sent < total && timer === undefined) {
        const wait = start + sent * 1000 / p.rate - performance.now()
        timer = setTimeout(() => { timer = undefined; pump() }, Math.max(0, wait))
      }
    }
    const first = start - performance.now()
    timer = setTimeout(() => { timer = undefined; pump() }, Math.max(0, first))
    // Watchdog: a request the server never answers must not hang the benchmark.
    let seen = -1
    watchdog = setInterval(() => {
      if (done === seen && sent === total) {
        process.stderr.write(`generator: no progress for 30 s (done ${done}/${total}, connections ${conns.length}, connecting ${connecting}, idle ${idle.length}, waiting ${waiting.length}); counting the rest as failed\n`)
        for (const c of conns) if (c.busy) c.socket.destroy()
        for (const w of waiting.splice(0)) w.done(0)
        // Requests lost by this client (a bug here): count them as failed.
        for (let lost = total - done; lost > 0; lost--) complete(performance.now())(0)
      }
      seen = done
    }, 30_000)
    watchdog.unref()
  })
  const elapsed = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpu0)
  latencies.sort()
  lags.sort()
  const errors = total - ok
  return {
    type: 'result',
    name: p.name,
    rate: p.rate,
    seconds: p.seconds,
    sent: total,
    ok,
    errors,
    errorKinds,
    elapsed,
    achieved: ok / elapsed,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
    p999: percentile(latencies, 0.999),
    max: latencies[latencies.length - 1] ?? NaN,
    sendLagP99: percentile(lags, 0.99),
    connections: conns.length,
    generatorCpu: (cpu.user + cpu.system) / 1000 / (elapsed * 1000) * 100,
    perSecond: bySecond.map((l) => {
      const sorted = Float64Array.from(l).sort()
      return { p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN }
    })
  }
}

process.on('message', (msg: SetupMessage | PhaseRequest | { type: 'exit' }) => {
  if (msg.type === 'setup') { setup = msg; process.send!({ type: 'ready' }); return }
  if (msg.type === 'exit') { for (const c of conns) c.socket.destroy(); process.disconnect(); return }
  runPhase(msg).then((r) => process.send!(r), (err: unknown) => { process.stderr.write(String((err as Error).stack)); process.exit(1) })
})

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
import { HttpPool, percentile } from './http-pool.js'

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

let setup: SetupMessage | undefined
let counter = 0
let pool: HttpPool | undefined

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
        pool!.submit(nextRequest, complete(scheduled))
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
        process.stderr.write(`generator: no progress for 30 s (done ${done}/${total}, ${pool!.describe()}); counting the rest as failed\n`)
        pool!.abort()
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
    connections: pool!.connections,
    generatorCpu: (cpu.user + cpu.system) / 1000 / (elapsed * 1000) * 100,
    perSecond: bySecond.map((l) => {
      const sorted = Float64Array.from(l).sort()
      return { p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN }
    })
  }
}

process.on('message', (msg: SetupMessage | PhaseRequest | { type: 'exit' }) => {
  if (msg.type === 'setup') { setup = msg; pool = new HttpPool(msg.port, msg.maxConnections ?? 256); process.send!({ type: 'ready' }); return }
  if (msg.type === 'exit') { pool?.close(); process.disconnect(); return }
  runPhase(msg).then((r) => process.send!(r), (err: unknown) => { process.stderr.write(String((err as Error).stack)); process.exit(1) })
})

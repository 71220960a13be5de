// The HTTP load generator of `npm run bench:inbox`, in its own process (forked by inbox.ts, which sends
// it one phase at a time over IPC). Open loop: request i is due at start + i / rate whatever happened
// to the previous ones, and its latency is measured from that scheduled time (no coordinated
// omission). Each phase cycles through the raw requests it was given (different sessions, filters,
// conversations), on keep-alive connections with one request in flight each (like browsers), opened
// on demand. A minimal client on raw sockets: Node's http.request costs CPU the server under test
// would miss on a 2-core machine.
import { HttpPool, percentile } from './http-pool.js'
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

let pool: HttpPool | undefined

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
        const request = requests[sent % requests.length]!
        pool!.submit(() => request, complete(scheduled))
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
        pool!.abort()
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
    connections: pool!.connections,
    generatorCpu: (cpu.user + cpu.system) / 1000 / (elapsed * 1000) * 100
  }
}

process.on('message', (msg: LoadSetup | LoadPhase | { type: 'exit' }) => {
  if (msg.type === 'setup') { pool = new HttpPool(msg.port, msg.maxConnections ?? 64); process.send!({ type: 'ready' }); return }
  if (msg.type === 'exit') { pool?.close(); process.disconnect(); return }
  runPhase(msg).then((r) => process.send!(r), (err: unknown) => { process.stderr.write(String((err as Error).stack)); process.exit(1) })
})

// The live part of `npm run bench:inbox`, in its own process (forked by inbox.ts): N EventSource-like
// clients on GET /live (each with its own session of a workspace member), then signed inbound
// webhook deliveries on a fixed schedule (open loop), one text message each from a known contact, so
// every message lands in a known conversation and rings `conversation-<id>` on every stream.
// Receive times are wall-clock milliseconds (performance.timeOrigin + now), comparable with the
// server's own timestamps on this machine. inbox.ts matches them to the messages afterwards.
import { createHmac } from 'node:crypto'
import { Agent, request, type IncomingMessage } from 'node:http'

export interface LiveSetup {
  type: 'setup'
  port: number
  cookies: string[]
  path: string
  secret: string
  template: string
  phoneNumberId: string
  senders: Array<{ waId: string, bsuid: string, profileName: string }>
}
export interface LiveRun { type: 'run', rate: number, seconds: number }
export interface LiveResult {
  type: 'result'
  connected: number
  failed: Record<string, number>
  /** Per stream: conversation id → receive times of `conversation-<id>` events. */
  receipts: Array<Map<string, number[]>>
  /** Per stream: how many times it ended or errored during the run. */
  dropped: number
  sent: Array<{ wamid: string, scheduled: number, acked: number, status: number }>
  generatorCpu: number
  elapsed: number
}

const wallNow = (): number => performance.timeOrigin + performance.now()
let setup: LiveSetup | undefined
const receipts: Array<Map<string, number[]>> = []
const streams: IncomingMessage[] = []
const failed: Record<string, number> = {}
let dropped = 0

async function connectAll (): Promise<number> {
  const s = setup!
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
  let connected = 0
  await Promise.all(s.cookies.map(async (cookie, i) => {
    const got = new Map<string, number[]>()
    receipts[i] = got
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: s.port, path: '/live', agent, headers: { accept: 'text/event-stream', cookie } }, (res) => {
        if (res.statusCode !== 200) {
          failed[String(res.statusCode)] = (failed[String(res.statusCode)] ?? 0) + 1
          res.resume()
          resolve()
          return
        }
        res.setEncoding('utf8')
        let buf = ''
        let ready = false
        res.on('data', (text: string) => {
          const t = wallNow()
          buf += text
          let end: number
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end)
            buf = buf.slice(end + 2)
            if (!ready && block.includes(': connected')) { ready = true; connected++; streams.push(res); resolve() }
            const m = /^event: conversation-([0-9A-Z]+)$/m.exec(block)
            if (m !== null) {
              const list = got.get(m[1]!)
              if (list === undefined) got.set(m[1]!, [t])
              else list.push(t)
            }
          }
        })
        res.on('close', () => { if (ready) dropped++; else resolve() })
      })
      req.on('error', () => { failed.network = (failed.network ?? 0) + 1; resolve() })
      req.end()
    })
  }))
  return connected
}

async function run (r: LiveRun): Promise<LiveResult> {
  const s = setup!
  const connected = await connectAll()
  dropped = 0
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const total = Math.round(r.rate * r.seconds)
  const sent: LiveResult['sent'] = []
  const cpu0 = process.cpuUsage()
  const start = performance.now() + 20
  let next = 0
  let done = 0
  await new Promise<void>((resolve) => {
    const post = (i: number, scheduledPerf: number): void => {
      const who = s.senders[i % s.senders.length]!
      const wamid = `wamid.BENCHLIVE${process.pid.toString(36)}${i.toString(36).padStart(8, '0')}`
      const body = Buffer.from(s.template
        .replaceAll('15550100111', who.waId)
        .replaceAll('US.1000000000000000111', who.bsuid)
        .replace('Ana Souza', who.profileName)
        .replace('110000000000101', s.phoneNumberId)
        .replace(/wamid\.[A-Za-z0-9=_-]+/, wamid)
        .replace('1789200000', String(Math.floor(wallNow() / 1000))))
      const sig = createHmac('sha256', s.secret).update(body).digest('hex')
      const entry = { wamid, scheduled: performance.timeOrigin + scheduledPerf, acked: 0, status: 0 }
      sent.push(entry)
      const req = request({ host: '127.0.0.1', port: s.port, path: s.path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-hub-signature-256': `sha256=${sig}` } }, (res) => {
        res.resume()
        res.on('end', () => { entry.acked = wallNow(); entry.status = res.statusCode ?? 0; if (++done === total) resolve() })
      })
      req.on('error', () => { entry.acked = wallNow(); if (++done === total) resolve() })
      req.end(body)
    }
    const pump = (): void => {
      const now = performance.now()
      const due = Math.min(total, Math.floor((now - start) * r.rate / 1000) + 1)
      while (next < due) { post(next, start + next * 1000 / r.rate); next++ }
      if (next < total) setTimeout(pump, Math.max(0, start + next * 1000 / r.rate - performance.now()))
    }
    setTimeout(pump, 20)
  })
  const elapsed = (performance.now() - start) / 1000
  // Every delivery is acknowledged: inbox.ts waits until the server has processed them all (and a
  // moment for the last doorbells), then asks for the receipts.
  process.send!({ type: 'sent' })
  await new Promise<void>(resolve => { collect = resolve })
  const cpu = process.cpuUsage(cpu0)
  return { type: 'result', connected, failed, receipts, dropped, sent, generatorCpu: (cpu.user + cpu.system) / 1000 / (performance.now() - start) * 100, elapsed }
}

let collect: (() => void) | undefined

process.on('message', (msg: LiveSetup | LiveRun | { type: 'exit' } | { type: 'collect' }) => {
  if (msg.type === 'setup') { setup = msg; process.send!({ type: 'ready' }); return }
  if (msg.type === 'collect') { collect?.(); return }
  if (msg.type === 'exit') { for (const s of streams) s.destroy(); process.disconnect(); process.exit(0) }
  run(msg).then((r) => process.send!(r), (err: unknown) => { process.stderr.write(String((err as Error).stack)); process.exit(1) })
})

// npm run bench:inbox — the inbox under a big workspace, against the single binary on this machine.
// This process only orchestrates: it seeds (or reuses) a database of 100k conversations and 5M
// messages (inbox-seed.ts, cached under .bench-cache/), copies it into a new data directory, creates
// sessions for the members, starts the server, and forks the load generators:
//
// 1. Routes (inbox-load.ts, its own process): for each fragment, an open loop of authenticated htmx
//    GETs at 200 requests/s — the conversation list with every filter (views, statuses, labels, a
//    channel, search by name and by exact phone, the keyset "more" page) and the thread of
//    conversations with 50 messages. Client latency per route from the scheduled send, and the
//    server's own time from its log (Fastify's `responseTime` of each "request completed" line,
//    from the request's arrival to the last byte written: query + decrypt + render + send).
// 2. Live (inbox-live.ts, its own process): 200 EventSource-like clients on GET /live (10 sessions
//    of each of the 20 members), then one inbound message every 10 ms as a signed webhook delivery.
//    Lag = when a stream received `conversation-<id>` minus the message's created_at (the server's
//    clock when it processed the delivery, i.e. when the message was recorded), per stream and
//    message; also from the scheduled webhook send.
//
//   BENCH_QUICK=1              10k conversations / 200k messages, 3 s per route (smoke run)
//   BENCH_CONVERSATIONS=, BENCH_MESSAGES=   another seed size
//   BENCH_RATE=200             requests/s per route; BENCH_SECONDS=10 per route
//   BENCH_ONLY=thread,search   only the phases whose name contains one of these words ("live" for live)
//   BENCH_CLIENTS=200, BENCH_LIVE_RATE=100, BENCH_LIVE_SECONDS=30
//   BENCH_SERVER=binary        (default) dist/weltra; `bundle`: dist/build/weltra.cjs; `source`: src/main.ts
//                              under tsx. The last two take BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
//   BENCH_KEEP=1 keeps the data directory; BENCH_JSON=file writes the raw results
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, createReadStream, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import Database from 'better-sqlite3'
import { databaseFile } from '../../src/deps.js'
import { createSession } from '../../src/features/auth/sessions.service.js'
import { contactById } from '../../src/features/inbox/conversations.store.js'
import { hash53 } from '../../src/platform/crypto/index.js'
import { ensureSeed, type SeedSize } from './inbox-seed.js'
import type { LoadResult } from './inbox-load.js'
import type { LiveResult } from './inbox-live.js'
import { benchServer } from './server-command.js'
import { openBenchDeps } from './bench-deps.js'

const root = join(import.meta.dirname, '..', '..')
const quick = process.env.BENCH_QUICK === '1'
const serverKind = process.env.BENCH_SERVER ?? 'binary'
const size: SeedSize = {
  conversations: Number(process.env.BENCH_CONVERSATIONS ?? (quick ? 10_000 : 100_000)),
  messages: Number(process.env.BENCH_MESSAGES ?? (quick ? 200_000 : 5_000_000))
}
const rate = Number(process.env.BENCH_RATE ?? 200)
const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 3 : 10))
const only = (process.env.BENCH_ONLY ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
const clients = Number(process.env.BENCH_CLIENTS ?? 200)
const liveRate = Number(process.env.BENCH_LIVE_RATE ?? 100)
const liveSeconds = Number(process.env.BENCH_LIVE_SECONDS ?? (quick ? 10 : 30))
const log = (line: string): void => { process.stderr.write(line + '\n') }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const a = s.address() as { port: number }; s.close(() => resolve(a.port)) })
  })
}

// ── the server command ──
const benched = benchServer(root, 'weltra-bench-inbox-', serverKind)
const { dir, dataDir, version } = benched
const serverCmd = benched.cmd
const serverArgs = benched.args
const loadBefore = loadavg()

// ── the seed (cached), copied into a fresh data directory ──
log(`inbox bench: seed ${size.conversations} conversations / ${size.messages} messages`)
const seeded = await ensureSeed({ root, serverCmd, serverArgs, size, log })
const meta = seeded.meta
log(`inbox bench: ${seeded.reused ? 'reusing' : 'created'} ${seeded.dir} (seeded in ${meta.seedSeconds.toFixed(0)} s)`)
const copyStart = performance.now()
mkdirSync(dataDir, { mode: 0o700 })
for (const f of ['weltra.db', 'master.key']) copyFileSync(join(seeded.dir, 'data', f), join(dataDir, f))
execFileSync('chmod', ['600', join(dataDir, 'master.key')])
const copySeconds = (performance.now() - copyStart) / 1000
const dbBytes = statSync(databaseFile(dataDir)).size

// ── sessions and samples (the app's own session service) ──
const { storage, deps } = openBenchDeps(dataDir, { runtimeDir: join(dir, '.runtime-src') })
const ws = meta.workspaceId
const now = Date.now()
const cookieOf = (userId: string): string => `weltra_session=${createSession(deps.db, { userId, workspaceId: ws, twoFactorVerified: true, userAgent: 'bench' }, now).token}`
const memberCookies = meta.users.map(u => cookieOf(u.id))
const liveCookies = Array.from({ length: clients }, (_, i) => cookieOf(meta.users[i % meta.users.length]!.id))
const q = storage.sqlite
const one = <T>(sql: string, ...params: unknown[]): T => q.prepare(sql).get(...params) as T
const all = <T>(sql: string, ...params: unknown[]): T[] => q.prepare(sql).all(...params) as T[]
const openCount = one<{ n: number }>("SELECT count(*) AS n FROM conversations WHERE workspace_id = ? AND status = 'open'", ws).n
// The keyset cursors of pages 2 to 11 (the last row of each page before them).
const cursors = Array.from({ length: 10 }, (_, i) => one<{ at: number, id: string } | undefined>("SELECT last_message_at AS at, id FROM conversations WHERE workspace_id = ? AND status = 'open' ORDER BY last_message_at DESC, id DESC LIMIT 1 OFFSET ?", ws, 39 + 40 * i))
  .filter(c => c !== undefined)
// Contacts with an open conversation: what agents search for, and who writes during the live run.
const openRows = all<{ id: string, contact_id: string, channel_id: string }>("SELECT id, contact_id, channel_id FROM conversations WHERE workspace_id = ? AND status = 'open' ORDER BY id", ws)
const sampleContacts = openRows.filter((_, i) => i % Math.max(1, Math.floor(openRows.length / 200)) === 0).slice(0, 200).map(r => contactById(deps.db, ws, r.contact_id)!)
const phones = sampleContacts.map(c => `+${c.waId!}`)
const fullNames = sampleContacts.map(c => c.name ?? c.profileName ?? '').filter(n => n !== '')
const surnames = fullNames.map(n => n.split(' ')[1] ?? n)
const sales = meta.channels[0]!
const liveSenders = openRows.filter(r => r.channel_id === sales.id).slice(0, 4000).map(r => {
  const c = contactById(deps.db, ws, r.contact_id)!
  return { waId: c.waId!, bsuid: c.bsuid!, profileName: c.profileName ?? 'Customer', conversationId: r.id }
})
const counts = (where: string, ...params: unknown[]): number => one<{ n: number }>(`SELECT count(*) AS n FROM conversations c WHERE c.workspace_id = ? AND ${where}`, ws, ...params).n
const labelCommon = meta.labels.find(l => l.name === 'Lead')!
const labelRare = meta.labels.find(l => l.name === 'Wholesale')!
const support = meta.channels[1]!
const ownerId = meta.users[0]!.id
// ── the routes ──
interface Route { name: string, target: string, paths: (i: number) => string, matching: string }
const enc = encodeURIComponent
const routes: Route[] = [
  { name: 'list · all · open', target: 'inbox-list', paths: () => '/inbox', matching: `${openCount}` },
  { name: 'list · mine · open', target: 'inbox-list', paths: () => '/inbox?view=mine', matching: `~${counts("status = 'open' AND assignee_id = ?", ownerId)} (each member)` },
  { name: 'list · unassigned · open', target: 'inbox-list', paths: () => '/inbox?view=unassigned', matching: `${counts("status = 'open' AND assignee_id IS NULL")}` },
  { name: 'list · all · pending', target: 'inbox-list', paths: () => '/inbox?status=pending', matching: `${counts("status = 'pending'")}` },
  { name: 'list · all · snoozed', target: 'inbox-list', paths: () => '/inbox?status=snoozed', matching: `${counts("status = 'snoozed'")}` },
  { name: 'list · all · resolved', target: 'inbox-list', paths: () => '/inbox?status=resolved', matching: `${counts("status = 'resolved'")}` },
  { name: 'list · mine · resolved', target: 'inbox-list', paths: () => '/inbox?view=mine&status=resolved', matching: `~${counts("status = 'resolved' AND assignee_id = ?", ownerId)} (each member)` },
  { name: `list · label "${labelCommon.name}" (${(labelCommon.conversations / meta.size.conversations * 100).toFixed(0)} %) · open`, target: 'inbox-list', paths: () => `/inbox?label=${labelCommon.id}`, matching: `${counts("status = 'open' AND EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id AND l.label_id = ?)", labelCommon.id)}` },
  { name: `list · label "${labelRare.name}" (${(labelRare.conversations / meta.size.conversations * 100).toFixed(0)} %) · open`, target: 'inbox-list', paths: () => `/inbox?label=${labelRare.id}`, matching: `${counts("status = 'open' AND EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id AND l.label_id = ?)", labelRare.id)}` },
  { name: `list · channel "${support.name}" · open`, target: 'inbox-list', paths: () => `/inbox?channel=${support.id}`, matching: `${counts("status = 'open' AND channel_id = ?", support.id)}` },
  { name: 'list · search full name · open', target: 'inbox-list', paths: i => `/inbox?q=${enc(fullNames[i % fullNames.length]!)}`, matching: 'a few' },
  { name: 'list · search surname · open', target: 'inbox-list', paths: i => `/inbox?q=${enc(surnames[i % surnames.length]!)}`, matching: 'tens to hundreds' },
  { name: 'list · search exact phone · open', target: 'inbox-list', paths: i => `/inbox?q=${enc(phones[i % phones.length]!)}`, matching: '1' },
  { name: 'list · more (pages 2–11) · all · open', target: 'list-more', paths: i => { const c = cursors[i % cursors.length]!; return `/inbox?after=${c.at}.${c.id}` }, matching: '40 per page' },
  { name: 'thread · 50 messages', target: 'thread', paths: i => `/inbox/${meta.thread50[(i * 7) % meta.thread50.length]!}/thread`, matching: '50 rendered' }
]
storage.sqlite.pragma('wal_checkpoint(TRUNCATE)')
storage.sqlite.close()

interface Stats { n: number, p50: number, p90: number, p95: number, p99: number, max: number }
function stats (values: number[]): Stats {
  const s = Float64Array.from(values).sort()
  const at = (p: number): number => s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(s.length * p))]!
  return { n: s.length, p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: s.length === 0 ? NaN : s[s.length - 1]! }
}
const selected = routes.filter(r => only.length === 0 || only.some(o => r.name.includes(o)))
const runLive = only.length === 0 || only.includes('live')

// ── the server ──
const port = await freePort()
const serverLog = join(dir, 'server.log')
const logFd = openSync(serverLog, 'a')
const server: ChildProcess = spawn(serverCmd, [...serverArgs, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', 'info'], {
  cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', logFd, 'pipe']
})
let serverErr = ''
server.stderr!.on('data', (d: Buffer) => { if (serverErr.length < 20_000) serverErr += d.toString() })
const pid = server.pid!
const startT = performance.now()
for (let i = 0; ; i++) {
  try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break } catch { /* starting */ }
  if (i > 3000 || server.exitCode !== null) throw new Error(`server did not start:\n${serverErr}`)
  await sleep(20)
}
const startSeconds = (performance.now() - startT) / 1000
function raw (path: string, cookie: string, target: string): string {
  return `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncookie: ${cookie}\r\nhx-request: true\r\nhx-target: #${target}\r\nhx-current-url: http://127.0.0.1:${port}/inbox\r\naccept: text/html\r\naccept-language: en\r\nuser-agent: weltra-bench\r\n\r\n`
}
// A sanity check of every route before measuring: 200, and the phone search finds its contact.
for (const r of selected) {
  const res = await fetch(`http://127.0.0.1:${port}${r.paths(0)}`, { headers: { cookie: memberCookies[0]!, 'hx-request': 'true', 'hx-target': `#${r.target}` } })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${r.name}: ${res.status}\n${body.slice(0, 500)}`)
  if (r.name.includes('phone') && !body.includes(fullNames[0]!.split(' ')[0]!)) log(`warning: the phone search did not show ${fullNames[0]!}`)
}

function procCpuSeconds (p: number): number {
  const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}
function machineCpuSeconds (): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100
}
function rssMb (field: string): number {
  try { return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024 } catch { return NaN }
}
async function mark (name: string): Promise<void> {
  await (await fetch(`http://127.0.0.1:${port}/__bench/${enc(name)}`)).arrayBuffer()
}

// ── phase 1: routes ──
const generator = fork(join(import.meta.dirname, 'inbox-load.ts'), [], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
function ask<T> (child: ChildProcess, msg: object, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }): void => { if (m.type === type) { child.off('message', onMessage); child.off('exit', onExit); resolve(m as T) } }
    const onExit = (code: number | null): void => { reject(new Error(`a generator exited (${String(code)})`)) }
    child.on('message', onMessage)
    child.once('exit', onExit)
    child.send(msg)
  })
}
await ask(generator, { type: 'setup', port, maxConnections: 64 }, 'ready')

interface Row extends LoadResult { route: Route, serverCpu: number, otherCpu: number }
async function phase (route: Route, phaseRate: number, phaseSeconds: number, requests: string[]): Promise<Row> {
  await mark(route.name)
  const cpu0 = procCpuSeconds(pid)
  const gen0 = procCpuSeconds(generator.pid!)
  const machine0 = machineCpuSeconds()
  const self0 = process.cpuUsage()
  const r = await ask<LoadResult>(generator, { type: 'phase', name: route.name, rate: phaseRate, seconds: phaseSeconds, requests }, 'result')
  const cpu = procCpuSeconds(pid) - cpu0
  const gen = procCpuSeconds(generator.pid!) - gen0
  const self = process.cpuUsage(self0)
  const machine = machineCpuSeconds() - machine0
  return { ...r, route, serverCpu: cpu / r.elapsed * 100, otherCpu: Math.max(0, machine - cpu - gen - (self.user + self.system) / 1e6) / r.elapsed * 100 }
}
const requestsOf = (r: Route): string[] => Array.from({ length: 400 }, (_, i) => raw(r.paths(i), memberCookies[i % memberCookies.length]!, r.target))

// Warm-up: every route, mixed (JIT, statement caches, page cache), not reported.
const warm: Route = { name: 'warm-up', target: '', paths: () => '', matching: '' }
await phase(warm, 100, quick ? 3 : 8, selected.flatMap(r => requestsOf(r).slice(0, 40)).sort(() => Math.random() - 0.5))
const rows: Row[] = []
for (const r of selected) {
  log(`inbox bench: ${r.name}`)
  rows.push(await phase(r, rate, seconds, requestsOf(r)))
}
generator.send({ type: 'exit' })
const peakRoutesRss = rssMb('VmHWM')

// ── phase 2: live ──
let live: { result: LiveResult, drainSeconds: number, lag: Stats, e2e: Stats, ack: Stats, missing: number, expected: number, mismatched: number, serverCpu: number, otherCpu: number, rss: number } | undefined
if (runLive) {
  log(`inbox bench: live — ${clients} streams, ${liveRate} messages/s for ${liveSeconds} s`)
  await mark('live')
  const liveGen = fork(join(import.meta.dirname, 'inbox-live.ts'), [], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
  const template = readFileSync(join(root, 'test', 'fixtures', 'whatsapp', 'webhooks', '01-text.json'), 'utf8')
  await ask(liveGen, { type: 'setup', port, cookies: liveCookies, path: `/webhooks/whatsapp/${sales.publicId}`, secret: meta.appSecret, template, phoneNumberId: sales.phoneNumberId, senders: liveSenders }, 'ready')
  const cpu0 = procCpuSeconds(pid)
  const gen0 = procCpuSeconds(liveGen.pid!)
  const machine0 = machineCpuSeconds()
  const self0 = process.cpuUsage()
  const resultP = new Promise<LiveResult>((resolve) => { liveGen.on('message', (m: { type: string }) => { if (m.type === 'result') resolve(m as LiveResult) }) })
  await ask(liveGen, { type: 'run', rate: liveRate, seconds: liveSeconds }, 'sent')
  // Wait until every delivery is processed (the server acknowledges before processing), then for the last doorbells.
  const reader = new Database(databaseFile(dataDir), { readonly: true, fileMustExist: true })
  const pendingStmt = reader.prepare("SELECT count(*) AS n FROM webhook_events WHERE status = 'pending'")
  const drainStart = performance.now()
  while ((pendingStmt.get() as { n: number }).n > 0 && performance.now() - drainStart < 120_000) await sleep(50)
  const drainSeconds = (performance.now() - drainStart) / 1000
  await sleep(1000)
  liveGen.send({ type: 'collect' })
  const result = await resultP
  const cpu = procCpuSeconds(pid) - cpu0
  const gen = procCpuSeconds(liveGen.pid!) - gen0
  const self = process.cpuUsage(self0)
  const machine = machineCpuSeconds() - machine0
  const span = result.elapsed + drainSeconds + 1
  const rss = rssMb('VmHWM')
  liveGen.send({ type: 'exit' })
  // When each message was recorded, from the database.
  const byKey = reader.prepare('SELECT wamid, created_at AS createdAt, conversation_id AS conversationId FROM messages WHERE workspace_id = ? AND wamid_key >= ? AND wamid_key < ? + 16')
  const lags: number[] = []
  const e2e: number[] = []
  let missing = 0
  let expected = 0
  let mismatched = 0
  for (const s of result.sent) {
    const k = hash53(s.wamid)
    const row = (byKey.all(ws, k, k) as Array<{ wamid: string, createdAt: number, conversationId: string }>).find(r => r.wamid === s.wamid)
    if (row === undefined) { missing += result.connected; expected += result.connected; continue }
    if (liveSenders.find(l => l.conversationId === row.conversationId) === undefined) mismatched++
    for (const got of result.receipts) {
      if (got === undefined) continue
      expected++
      const t = got.get(row.conversationId)?.find(x => x >= row.createdAt)
      if (t === undefined) { missing++; continue }
      lags.push(t - row.createdAt)
      e2e.push(t - s.scheduled)
    }
  }
  reader.close()
  live = {
    result,
    drainSeconds,
    lag: stats(lags),
    e2e: stats(e2e),
    ack: stats(result.sent.filter(s => s.status === 200).map(s => s.acked - s.scheduled)),
    missing,
    expected,
    mismatched,
    serverCpu: cpu / span * 100,
    otherCpu: Math.max(0, machine - cpu - gen - (self.user + self.system) / 1e6) / span * 100,
    rss
  }
}

server.kill('SIGTERM')
await new Promise(resolve => server.once('exit', resolve))
const loadAfter = loadavg()

// ── the server's own times, from its log ──
const serverTimes = new Map<string, number[]>()
{
  const urls = new Map<string, string>()
  let current = ''
  const lines = createInterface({ input: createReadStream(serverLog) })
  for await (const line of lines) {
    if (!line.startsWith('{')) continue
    let e: { msg?: string, reqId?: string, req?: { url?: string }, responseTime?: number, res?: { statusCode?: number } }
    try { e = JSON.parse(line) as typeof e } catch { continue }
    if (e.msg === 'incoming request' && e.reqId !== undefined) {
      const url = e.req?.url ?? ''
      if (url.startsWith('/__bench/')) current = decodeURIComponent(url.slice('/__bench/'.length))
      else urls.set(e.reqId, url)
    } else if (e.msg === 'request completed' && e.reqId !== undefined && e.responseTime !== undefined) {
      const url = urls.get(e.reqId)
      urls.delete(e.reqId)
      if (url === undefined || !url.startsWith('/inbox') || e.res?.statusCode !== 200) continue
      const list = serverTimes.get(current) ?? []
      list.push(e.responseTime)
      serverTimes.set(current, list)
    }
  }
}
if (process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true })

// ── report ──
const ms = (v: number): string => Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)
const target = 5
const report = rows.map(r => {
  const st = stats(serverTimes.get(r.route.name) ?? [])
  const errors = r.sent - r.ok
  const met = st.n > 0 && st.p95 <= target && errors === 0
  return `| ${r.route.name} | ${r.route.matching} | ${r.achieved.toFixed(0)}/s | ${errors === 0 ? 0 : `${errors} (${Object.entries(r.statuses).filter(([k]) => k !== '200').map(([k, v]) => `${k}: ${v}`).join(', ')})`} | ${ms(st.p50)} | **${ms(st.p95)}** | ${ms(st.p99)} | ${ms(st.max)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.max)} | ${(r.bodyBytes / 1024).toFixed(1)} KB | ${r.serverCpu.toFixed(0)} % | ${r.otherCpu.toFixed(0)} % | ${met ? 'met' : '**missed**'} |`
}).join('\n')
const cpuModel = cpus()[0]?.model ?? '?'
let out = `
inbox: ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC — server ${serverKind === 'binary' ? 'dist/weltra' : serverKind}: ${version}
machine: ${cpus().length} × ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}; load average before ${loadBefore.map(l => l.toFixed(2)).join(' ')}, after ${loadAfter.map(l => l.toFixed(2)).join(' ')}
seed: ${meta.size.conversations} conversations (${Object.entries(meta.statusCounts).map(([k, v]) => `${k} ${v}`).join(', ')}), ${meta.size.messages} messages, ${meta.contacts} contacts, ${meta.users.length} members, ${meta.channels.length} channels, ${meta.labels.length} labels; ${seeded.reused ? 'reused from cache, ' : ''}seeded in ${meta.seedSeconds.toFixed(0)} s (${Object.entries(meta.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join('; ')})
database: ${(dbBytes / 2 ** 30).toFixed(2)} GiB (copied in ${copySeconds.toFixed(1)} s; in the OS page cache); server started in ${startSeconds.toFixed(1)} s
routes: ${rate} requests/s per route for ${seconds} s each (open loop, generator in its own process, ${memberCookies.length} members' sessions in turn), after a ${quick ? 3 : 8} s mixed warm-up; peak server RSS ${peakRoutesRss.toFixed(0)} MB
server time = Fastify's responseTime (arrival → last byte written); client = generator, from the scheduled send. Target: server p95 ≤ ${target} ms.

| route | matching conversations | achieved | errors | server p50 | server p95 | server p99 | server max | client p50 | client p95 | client p99 | client max | body | server CPU | other CPU | target |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${report}
`
if (live !== undefined) {
  const l = live
  out += `
live: ${l.result.connected}/${clients} streams connected${Object.keys(l.result.failed).length > 0 ? ` (failed: ${Object.entries(l.result.failed).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}; ${l.result.sent.length} inbound messages at ${liveRate}/s (signed webhooks, open loop), ${l.result.sent.filter(s => s.status === 200).length} acknowledged; streams dropped during the run: ${l.result.dropped}; processing backlog after the last acknowledgement drained in ${l.drainSeconds.toFixed(1)} s
deliveries expected ${l.expected} (messages × streams), missing ${l.missing}${l.mismatched > 0 ? `, ${l.mismatched} messages in an unexpected conversation` : ''}; server CPU ${l.serverCpu.toFixed(0)} %, generator CPU ${l.result.generatorCpu.toFixed(0)} %, other CPU ${l.otherCpu.toFixed(0)} %, peak server RSS ${l.rss.toFixed(0)} MB

| measure | p50 | p90 | p99 | max | target |
|---|---|---|---|---|---|
| doorbell lag: recorded (messages.created_at) → stream received \`conversation-<id>\` | ${ms(l.lag.p50)} ms | ${ms(l.lag.p90)} ms | **${ms(l.lag.p99)} ms** | ${ms(l.lag.max)} ms | p99 ≤ 100 ms: ${l.lag.p99 <= 100 && l.missing === 0 ? 'met' : '**missed**'} |
| webhook scheduled → stream received | ${ms(l.e2e.p50)} ms | ${ms(l.e2e.p90)} ms | ${ms(l.e2e.p99)} ms | ${ms(l.e2e.max)} ms | |
| webhook scheduled → 200 | ${ms(l.ack.p50)} ms | ${ms(l.ack.p90)} ms | ${ms(l.ack.p99)} ms | ${ms(l.ack.max)} ms | |
`
}
process.stdout.write(out)
if (serverErr !== '') process.stdout.write(`\nserver stderr (first ${Math.min(serverErr.length, 4000)} characters):\n${serverErr.slice(0, 4000)}\n`)
if (process.env.BENCH_JSON !== undefined) {
  writeFileSync(process.env.BENCH_JSON, JSON.stringify({ version, meta, size, rate, seconds, rows: rows.map(r => ({ ...r, route: r.route.name, server: stats(serverTimes.get(r.route.name) ?? []) })), live: live === undefined ? undefined : { ...live, result: { ...live.result, receipts: undefined } } }, null, 2))
}

// npm run bench:webhooks — signed single-message webhook POSTs against the single binary on this
// machine. This process only orchestrates: it prepares a data directory, starts the server, forks the
// open-loop load generator (webhook-load.ts, its own process) and watches the server from outside:
// peak RSS (/proc/<pid>/status), CPU time (/proc/<pid>/stat) and the processing backlog (a read-only
// SQLite connection counting pending deliveries).
//
// Phases: 1,000/s and 3,000/s for latency, then 5,000/s for 60 s for sustained throughput. After each
// phase it waits for the processing backlog to drain (reported) before the next one starts.
//
//   BENCH_QUICK=1          short phases (smoke run)
//   BENCH_PHASES=r:s,…     custom phases (offered rate : seconds)
//   BENCH_SERVER=binary    (default) dist/weltra; `bundle`: dist/build/weltra.cjs under the pinned node;
//                          `source`: src/main.ts under tsx. The last two accept BENCH_NODE_FLAGS, e.g.
//                          BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (the binary ignores NODE_OPTIONS)
//   BENCH_DRAIN_MAX=900    seconds to wait for the backlog to drain after a phase
//   BENCH_JSON=file        also write the raw results as JSON
//   BENCH_SERVER_ENV=K=V,… extra environment for the server; BENCH_SERVER_LOG=file its stdout;
//   BENCH_KEEP=1 keeps the data directory
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, release, totalmem } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { databaseFile } from '../../src/deps.js'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { createUserFromCli } from '../../src/features/auth/auth.service.js'
import type { PhaseResult } from './webhook-load.js'
import { benchServer } from './server-command.js'
import { openBenchDeps } from './bench-deps.js'

const root = join(import.meta.dirname, '..', '..')
const secret = 'bench-app-secret'
const quick = process.env.BENCH_QUICK === '1'
const serverKind = process.env.BENCH_SERVER ?? 'binary'
const drainMaxSeconds = Number(process.env.BENCH_DRAIN_MAX ?? 900)
const phoneNumberId = '110000000000101'
/** BENCH_SERVER_LOG=file: the server's standard output goes there (e.g. with --trace-gc). */
const serverLog = process.env.BENCH_SERVER_LOG
/** BENCH_SERVER_ENV="A=1,B=2": extra environment for the server (diagnosis). */
const serverEnv = Object.fromEntries((process.env.BENCH_SERVER_ENV ?? '').split(',').filter(kv => kv.includes('=')).map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const a = s.address() as { port: number }; s.close(() => resolve(a.port)) })
  })
}
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

const benched = benchServer(root, 'weltra-bench-wh-', serverKind)
const { dir, dataDir, version } = benched
const serverCmd = benched.cmd
const serverArgs = benched.args

// Disk: how long one 4 KiB write + fsync takes where the database lives (the floor of every acknowledgement).
function fsyncMillis (): { p50: number, p99: number } {
  const f = join(dir, 'fsync-probe')
  const fd = openSync(f, 'w')
  const buf = Buffer.alloc(4096, 7)
  const times: number[] = []
  for (let i = 0; i < 200; i++) {
    const t = performance.now()
    writeSync(fd, buf, 0, buf.length, (i % 32) * 4096)
    fsyncSync(fd)
    times.push(performance.now() - t)
  }
  closeSync(fd)
  rmSync(f)
  times.sort((a, b) => a - b)
  return { p50: times[100]!, p99: times[198]! }
}
const fsync = fsyncMillis()

// Prepare the data directory with one workspace and one channel (the server then finds them).
execFileSync(serverCmd, [...serverArgs, 'migrate', '--data-dir', dataDir], { cwd: root, stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } })
const { storage, deps } = openBenchDeps(dataDir)
const owner = await createUserFromCli(deps, { name: 'Bench', email: 'bench@example.com', password: 'bench passphrase for load', owner: true, workspaceName: 'Bench' })
if (!owner.ok) throw new Error('setup failed')
const channel = createChannel(deps.db, owner.value.workspaceId!, { name: 'Bench', wabaId: '1', phoneNumberId, accessToken: 'EAAG-bench-0000', appSecret: secret, graphApiVersion: 'v25.0' }, Date.now())
storage.sqlite.pragma('wal_checkpoint(TRUNCATE)')
storage.sqlite.close()

const port = await freePort()
const server: ChildProcess = spawn(serverCmd, [...serverArgs, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', 'warn'], {
  cwd: dir, env: { PATH: '/usr/bin:/bin', ...serverEnv }, stdio: ['ignore', serverLog === undefined ? 'ignore' : openSync(serverLog, 'a'), 'pipe']
})
let serverErr = ''
server.stderr!.on('data', (d: Buffer) => { if (serverErr.length < 20_000) serverErr += d.toString() })
const pid = server.pid!
for (let i = 0; ; i++) {
  try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break } catch { /* starting */ }
  if (i > 1500 || server.exitCode !== null) throw new Error(`server did not start:\n${serverErr}`)
  await sleep(20)
}

// ── watching the server from outside ──
const reader = new Database(databaseFile(dataDir), { readonly: true, fileMustExist: true })
const pendingStmt = reader.prepare("SELECT count(*) AS n FROM webhook_events WHERE status = 'pending'")
const storedStmt = reader.prepare('SELECT coalesce(max(rowid), 0) AS n FROM webhook_events')
function queue (): { pending: number, stored: number } {
  return { pending: (pendingStmt.get() as { n: number }).n, stored: (storedStmt.get() as { n: number }).n }
}
function procStatus (field: string): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
  } catch { return NaN }
}
function cpuSeconds (): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in clock ticks of 1/100 s
}
/** CPU seconds used by the whole machine (all cores) since boot, from /proc/stat. */
function machineCpuSeconds (): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100 // user nice system irq softirq steal
}
let phasePeakRss = 0
const rssTimer = setInterval(() => { phasePeakRss = Math.max(phasePeakRss, procStatus('VmRSS')) }, 100)

// ── the generator ──
const generator = fork(join(import.meta.dirname, 'webhook-load.ts'), [], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
function ask<T> (msg: object, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }): void => { if (m.type === type) { generator.off('message', onMessage); generator.off('exit', onExit); resolve(m as T) } }
    const onExit = (code: number | null): void => { reject(new Error(`the generator exited (${String(code)})`)) }
    generator.on('message', onMessage)
    generator.once('exit', onExit)
    generator.send(msg)
  })
}
const template = readFileSync(join(root, 'test', 'fixtures', 'whatsapp', 'webhooks', '01-text.json'), 'utf8')
await ask({ type: 'setup', port, path: `/webhooks/whatsapp/${channel.publicId}`, secret, template, phoneNumberId, maxConnections: 256 }, 'ready')

interface Row extends PhaseResult { processedDuring: number, processingRate: number, backlogEnd: number, drainSeconds: number, drainRate: number, rss: number, serverCpu: number, otherCpu: number }

/** Waits until nothing is pending (or the limit); returns the seconds it took. */
async function drain (): Promise<number> {
  const t0 = performance.now()
  while (queue().pending > 0) {
    if (performance.now() - t0 > drainMaxSeconds * 1000) return NaN
    await sleep(100)
  }
  return (performance.now() - t0) / 1000
}

async function phase (name: string, rate: number, seconds: number): Promise<Row> {
  const before = queue()
  const cpu0 = cpuSeconds()
  const machine0 = machineCpuSeconds()
  const self0 = process.cpuUsage()
  phasePeakRss = procStatus('VmRSS')
  const r = await ask<PhaseResult>({ type: 'phase', name, rate, seconds }, 'result')
  const cpu1 = cpuSeconds()
  const machine1 = machineCpuSeconds()
  const self = process.cpuUsage(self0)
  const after = queue()
  const rss = phasePeakRss
  const processedDuring = (after.stored - after.pending) - (before.stored - before.pending)
  const drainSeconds = await drain()
  return {
    ...r,
    processedDuring,
    processingRate: processedDuring / r.elapsed,
    backlogEnd: after.pending,
    drainSeconds,
    drainRate: after.pending / drainSeconds,
    rss,
    serverCpu: (cpu1 - cpu0) / r.elapsed * 100,
    // Everything else on the machine (other users' jobs, the kernel's own threads) during the phase:
    // a run where this is more than a few % competed for the 2 cores and is not trustworthy.
    otherCpu: Math.max(0, (machine1 - machine0) - (cpu1 - cpu0) - (self.user + self.system) / 1e6 - r.generatorCpu / 100 * r.elapsed) / r.elapsed * 100
  }
}

const phases = process.env.BENCH_PHASES !== undefined
  ? process.env.BENCH_PHASES.split(',').map(p => p.split(':').map(Number) as [number, number])
  : quick ? [[1000, 5], [3000, 5], [5000, 10]] as Array<[number, number]> : [[1000, 20], [3000, 20], [5000, 60]] as Array<[number, number]>

await phase('warm-up', 500, quick ? 2 : 5) // JIT, connections, page cache
const rows: Row[] = []
for (const [rate, seconds] of phases) rows.push(await phase(`${rate}/s`, rate, seconds))

const final = reader.prepare('SELECT status, count(*) AS n FROM webhook_events GROUP BY status').all() as Array<{ status: string, n: number }>
const messages = (reader.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n
const peakRss = procStatus('VmHWM')
const walMiB = (() => { try { return readFileSync(`${databaseFile(dataDir)}-wal`).length / 2 ** 20 } catch { return 0 } })()
clearInterval(rssTimer)
reader.close()
generator.send({ type: 'exit' })
server.kill('SIGTERM')
await new Promise(resolve => server.once('exit', resolve))
if (process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true })

const ms = (v: number): string => Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(1) : v.toFixed(0)
const out = `
webhook ingest: signed single-message POSTs → HMAC check → encrypted, durable insert (synchronous=FULL, group commit) → 200;
then in-process processing (contact, conversation, message). ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC
machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}; fsync of 4 KiB p50 ${fsync.p50.toFixed(2)} ms, p99 ${fsync.p99.toFixed(2)} ms
server: ${serverKind === 'binary' ? 'dist/weltra' : serverKind} — ${version}; generator: separate process, open loop, ${process.version}

| offered | duration | acknowledged/s | errors | p50 | p90 | p99 | p99.9 | max | processed/s (during) | backlog at end | drain | server CPU | generator CPU | other CPU | peak RSS |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.map(r => `| ${r.rate}/s | ${r.seconds} s | ${r.achieved.toFixed(0)} | ${r.errors}${r.errors > 0 ? ` (${Object.entries(r.errorKinds).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''} | ${ms(r.p50)} ms | ${ms(r.p90)} ms | ${ms(r.p99)} ms | ${ms(r.p999)} ms | ${ms(r.max)} ms | ${r.processingRate.toFixed(0)} | ${r.backlogEnd} | ${Number.isNaN(r.drainSeconds) ? `> ${drainMaxSeconds} s` : `${r.drainSeconds.toFixed(1)} s (${Number.isFinite(r.drainRate) ? r.drainRate.toFixed(0) : '–'}/s)`} | ${r.serverCpu.toFixed(0)} % | ${r.generatorCpu.toFixed(0)} % | ${r.otherCpu.toFixed(0)} % | ${r.rss.toFixed(0)} MB |`).join('\n')}

peak server RSS (VmHWM): ${peakRss.toFixed(0)} MB; generator send lag p99: ${rows.map(r => ms(r.sendLagP99)).join(' / ')} ms; connections: ${rows.map(r => r.connections).join(' / ')}
deliveries: ${final.map(f => `${f.status} ${f.n}`).join(', ')}; messages stored: ${messages}; WAL at the end: ${walMiB.toFixed(1)} MiB
`
process.stdout.write(out)
if (serverErr !== '') process.stdout.write(`\nserver stderr (first ${Math.min(serverErr.length, 20_000)} characters):\n${serverErr.slice(0, 4000)}\n`)
if (process.env.BENCH_JSON !== undefined) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ fsync, version, rows, peakRss, final, messages }, null, 2))

// npm run bench:webhooks — signed single-message webhook POSTs against the single binary on this
// machine, with an open-loop load generator in this process (requests leave on a fixed schedule and
// latency is measured from the scheduled time, so a slow server cannot hide its own queueing).
// Phases: 1,000/s and 3,000/s for latency, then 5,000/s for 60 s for sustained throughput.
// Records p50/p99 ack latency, achieved rate, errors and the server's peak RSS.
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load-config.js'
import { createDeps, openStorage, resolveMasterKey } from '../../src/deps.js'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { createUserFromCli } from '../../src/features/auth/auth.service.js'
import { resolveAssets } from '../../src/platform/assets.js'
import { createLogger } from '../../src/platform/logger.js'
import { signatureHeader } from '../../src/platform/whatsapp/webhook-signature.js'

const root = join(import.meta.dirname, '..', '..')
const binary = join(root, 'dist', 'weltra')
const secret = 'bench-app-secret'
const quick = process.env.BENCH_QUICK === '1'

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const a = s.address() as { port: number }; s.close(() => resolve(a.port)) })
  })
}

if (!existsSync(binary)) execFileSync(process.execPath, [join(root, 'scripts', 'build-binary.mjs')], { stdio: 'inherit' })
const dir = mkdtempSync(join(tmpdir(), 'weltra-bench-wh-'))
copyFileSync(binary, join(dir, 'weltra'))
execFileSync('chmod', ['755', join(dir, 'weltra')])
const dataDir = join(dir, 'data')

// Prepare the data directory with one workspace and one channel (the binary then finds them).
const result = loadConfig({ flags: { 'storage.data_dir': dataDir, 'log.level': 'silent' }, env: {}, readFile: () => '', exists: () => false })
if (!result.ok) throw new Error(result.errors.join('\n'))
const config = result.config
execFileSync(join(dir, 'weltra'), ['migrate', '--data-dir', dataDir], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } })
const assets = resolveAssets(join(dataDir, '.runtime-src'))
const { ring, status } = resolveMasterKey(config, dataDir)
const storage = openStorage(config, assets, ring)
const deps = createDeps({ config, storage, ring, keyStatus: status, assets, log: createLogger('silent') })
const owner = await createUserFromCli(deps, { name: 'Bench', email: 'bench@example.com', password: 'bench passphrase for load', owner: true, workspaceName: 'Bench' })
if (!owner.ok) throw new Error('setup failed')
const channel = createChannel(deps.db, owner.value.workspaceId!, { name: 'Bench', wabaId: '1', phoneNumberId: '110000000000101', accessToken: 'EAAG-bench-0000', appSecret: secret, graphApiVersion: 'v25.0' }, Date.now())
storage.sqlite.pragma('wal_checkpoint(TRUNCATE)')
storage.sqlite.close()

const port = await freePort()
const server = spawn(join(dir, 'weltra'), ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', 'warn'], { cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore' })
for (;;) {
  try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break } catch { /* starting */ }
  await new Promise(resolve => setTimeout(resolve, 20))
}

const template = readFileSync(join(root, 'test', 'fixtures', 'whatsapp', 'webhooks', '01-text.json'), 'utf8')
const agent = new Agent({ keepAlive: true, maxSockets: 512 })
let counter = 0
function nextBody (): Buffer {
  counter++
  return Buffer.from(template.replace(/wamid\.[A-Za-z0-9=_-]+/, `wamid.BENCH${counter.toString(36).padStart(10, '0')}`))
}

let peakRss = 0
const rssTimer = setInterval(() => {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid!}/status`, 'utf8'))![1])
    peakRss = Math.max(peakRss, kb / 1024)
  } catch { /* exited */ }
}, 250)

async function phase (rate: number, seconds: number): Promise<{ rate: number, sent: number, ok: number, errors: number, achieved: number, p50: number, p99: number, max: number }> {
  const latencies: number[] = []
  let ok = 0
  let errors = 0
  let inflight = 0
  const total = rate * seconds
  const start = performance.now()
  let sent = 0
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor((performance.now() - start) * rate / 1000))
      while (sent < due) {
        const scheduled = start + sent * 1000 / rate
        sent++
        inflight++
        const body = nextBody()
        const req = request({ host: '127.0.0.1', port, path: `/webhooks/whatsapp/${channel.publicId}`, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-hub-signature-256': signatureHeader(body, secret) } }, (res) => {
          res.resume()
          res.on('end', () => {
            latencies.push(performance.now() - scheduled)
            if (res.statusCode === 200) ok++
            else errors++
            if (--inflight === 0 && sent === total) resolve()
          })
        })
        req.on('error', () => { errors++; if (--inflight === 0 && sent === total) resolve() })
        req.end(body)
      }
      if (sent < total) setImmediate(tick)
      else if (inflight === 0) resolve()
    }
    tick()
  })
  const elapsed = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN
  return { rate, sent, ok, errors, achieved: ok / elapsed, p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1) ?? NaN }
}

const phases = process.env.BENCH_PHASES !== undefined
  ? process.env.BENCH_PHASES.split(',').map(p => p.split(':').map(Number))
  : quick ? [[1000, 5], [3000, 5], [5000, 10]] : [[1000, 20], [3000, 20], [5000, 60]]
const results = []
for (const [rate, seconds] of phases) {
  await phase(200, 2) // settle
  results.push(await phase(rate!, seconds!))
}
clearInterval(rssTimer)
server.kill('SIGTERM')
await new Promise(resolve => server.on('exit', resolve))
agent.destroy()
rmSync(dir, { recursive: true, force: true })

process.stdout.write(`
webhook ingest (HMAC check, encrypt, durable insert with synchronous=FULL, 200) — ${new Date().toISOString().slice(0, 10)}
machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; generator in the same machine

| offered | duration | acknowledged | achieved | errors | p50 | p99 | max |
|---|---|---|---|---|---|---|---|
${results.map(r => `| ${r.rate}/s | ${(r.sent / r.rate).toFixed(0)} s | ${r.ok} | ${r.achieved.toFixed(0)}/s | ${r.errors} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.max.toFixed(0)} ms |`).join('\n')}

peak server RSS: ${peakRss.toFixed(0)} MB
`)

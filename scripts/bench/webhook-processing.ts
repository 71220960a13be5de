// Micro-benchmark of webhook processing alone (no HTTP): stores N single-text-message deliveries
// (500 senders), then times processing them, in this process, on a file database with the server's
// pragmas. Diagnosis aid for `npm run bench:webhooks`:
//   node --import=tsx scripts/bench/webhook-processing.ts [N]      (add --cpu-prof to profile)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { createUserFromCli } from '../../src/features/auth/auth.service.js'
import { insertWebhookEvent } from '../../src/features/webhooks/webhook-events.store.js'
import { processPendingBatch } from '../../src/features/webhooks/webhook-processor.js'
import { openBenchDeps } from './bench-deps.js'

const n = Number(process.argv[2] ?? 5000)
const root = join(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'weltra-bench-proc-'))
const dataDir = join(dir, 'data')
const { mkdirSync } = await import('node:fs')
mkdirSync(dataDir, { recursive: true })
const { storage, deps } = openBenchDeps(dataDir, { logLevel: process.env.LOG ?? 'silent' })
const owner = await createUserFromCli(deps, { name: 'Bench', email: 'bench@example.com', password: 'bench passphrase for load', owner: true, workspaceName: 'Bench' })
if (!owner.ok) throw new Error('setup failed')
const ws = owner.value.workspaceId!
const channel = createChannel(deps.db, ws, { name: 'Bench', wabaId: '1', phoneNumberId: '110000000000101', accessToken: 'EAAG-bench-0000', appSecret: 'x', graphApiVersion: 'v25.0' }, Date.now())
const template = readFileSync(join(root, 'test', 'fixtures', 'whatsapp', 'webhooks', '01-text.json'), 'utf8')

function body (i: number): Buffer {
  const who = i % 500
  return Buffer.from(template
    .replaceAll('15550100111', `1555${String(7000000 + who)}`)
    .replaceAll('US.1000000000000000111', `US.bench${who}`)
    .replace('Ana Souza', `Customer ${who}`)
    .replace(/wamid\.[A-Za-z0-9=_-]+/, `wamid.BENCH${i.toString(36).padStart(10, '0')}`))
}

async function round (label: string, count: number, offset: number, limit: number): Promise<void> {
  storage.sqlite.transaction(() => {
    for (let i = 0; i < count; i++) insertWebhookEvent(deps.db, { workspaceId: ws, channelId: channel.id, raw: body(offset + i), receivedAt: Date.now() })
  }).immediate()
  const t0 = performance.now()
  let done = 0
  let batches = 0
  const slices: number[] = []
  for (;;) {
    const t = performance.now()
    const s = processPendingBatch(deps, limit)
    const k = s.processed + s.ignored + s.failed
    if (k === 0) break
    slices.push(performance.now() - t)
    done += k
    batches++
    if (s.failed > 0) throw new Error('a delivery failed')
  }
  const ms = performance.now() - t0
  slices.sort((a, b) => a - b)
  process.stdout.write(`${label}: ${done} deliveries in ${ms.toFixed(0)} ms = ${(done / ms * 1000).toFixed(0)}/s, ${(ms / done * 1000).toFixed(0)} µs each; ${batches} batches, slice p50 ${slices[Math.floor(slices.length / 2)]?.toFixed(1)} ms max ${slices.at(-1)?.toFixed(1)} ms\n`)
}

const limit = Number(process.env.BATCH ?? 50)
await round('warm-up (new contacts)', 1000, 0, limit)
await round('measured', n, 1000, limit)
storage.sqlite.close()
rmSync(dir, { recursive: true, force: true })

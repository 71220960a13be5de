// npm run bench:contacts — imports a generated CSV of 100k contacts into a workspace that already has
// some of them, through the same service calls the routes and the worker make, on an on-disk database
// with the production pragmas (WAL, synchronous=FULL). Target (issue 6): 100k rows in ≤ 30 s.
//
// Phases timed separately: upload (decode + every CSV limit checked + sealed store), the mapping page
// (header guess + 20-row preview), and the run (time-boxed batches, one transaction each, with a yield
// before each, exactly as import.worker.ts runs it). While the run goes, a 10 ms timer measures the
// event loop's lag: the longest a request would have waited; each batch's work and commit times are
// reported too (the commit — FTS flush, index pages, WAL checkpoint — is where much of the time goes).
//
// The file: Brazilian numbers in assorted spellings (national, +55, with and without the 9th digit),
// emails, two label columns, consent, a select custom field and notes; ~5% of the rows match existing
// contacts (WhatsApp ids or emails), ~1% repeat an earlier row of the file, ~1% have a bad phone.
//
//   BENCH_ROWS=100000         rows in the file (e.g. 2000 for a smoke run)
//   BENCH_EXISTING=0.05       share of rows that match a contact created beforehand
//   BENCH_BATCH=2000          at most this many rows per transaction
//   BENCH_BATCH_MS=100        a batch's time box (work + expected commit), as RunOptions.batchMs
//   BENCH_CACHE=-65536        cache_size for the run (default: the connection's)
//   BENCH_JSON=file           also write the results as JSON
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { workspaces } from '../../src/db/schema.js'
import { createUserFromCli } from '../../src/features/auth/auth.service.js'
import { createField } from '../../src/features/contacts/contact-fields.service.js'
import { upsertWhatsAppContact } from '../../src/features/contacts/contacts.service.js'
import { createContact } from '../../src/features/contacts/contact-edit.service.js'
import { findImport } from '../../src/features/contacts/import.store.js'
import { mappingView, runImport, startImport, uploadImport } from '../../src/features/contacts/import.service.js'
import { openBenchDeps } from './bench-deps.js'

const rows = Number(process.env.BENCH_ROWS ?? 100_000)
const existingShare = Number(process.env.BENCH_EXISTING ?? 0.05)
const batchRows = Number(process.env.BENCH_BATCH ?? 2000)
const batchMs = process.env.BENCH_BATCH_MS === undefined ? undefined : Number(process.env.BENCH_BATCH_MS)
const targetMs = 30_000
const log = (line: string): void => { process.stderr.write(line + '\n') }
const ms = (start: number): number => Math.round(performance.now() - start)

/** A deterministic pseudo-random sequence (same file every run). */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6D2B79F5) >>> 0
    let x = Math.imul(s ^ (s >>> 15), 1 | s)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const first = ['Ana', 'Bruno', 'Carla', 'Diego', 'Elisa', 'Fábio', 'Gabriela', 'Heitor', 'Iara', 'João', 'Kátia', 'Luís', 'Marina', 'Nuno', 'Otávio', 'Paula', 'Rafael', 'Sofia', 'Tiago', 'Vitória']
const last = ['Souza', 'Lima', 'Oliveira', 'Santos', 'Pereira', 'Costa', 'Rodrigues', 'Almeida', 'Nascimento', 'Araújo', 'Barbosa', 'Ribeiro', 'Gonçalves', 'Carvalho']
const areas = ['11', '21', '31', '41', '51', '61', '71', '81', '85', '27']

/** The n-th mobile: 55 AA 9 XXXX XXXX (13 digits). */
function mobile (n: number): { area: string, local: string, digits: string } {
  const area = areas[n % areas.length]!
  const local = String(70_000_000 + (n * 7919) % 29_999_999).padStart(8, '0')
  return { area, local, digits: `55${area}9${local}` }
}

/** One of several spellings people use for the same number. */
function spelling (n: number, r: number): string {
  const m = mobile(n)
  if (r < 0.3) return `(${m.area}) 9${m.local.slice(0, 4)}-${m.local.slice(4)}`
  if (r < 0.55) return `+55 ${m.area} 9${m.local.slice(0, 4)}-${m.local.slice(4)}`
  if (r < 0.75) return m.digits
  if (r < 0.85) return `55${m.area}${m.local}` // without the 9th digit (old WhatsApp ids)
  return `0${m.area} 9${m.local}`
}

function csvText (): { text: string, existing: number[] } {
  const random = rng(6)
  const lines = ['Nome;Sobrenome;Celular;E-mail;Etiquetas;Grupo;Consentimento;Plano;Observações']
  const existing: number[] = []
  for (let i = 0; i < rows; i++) {
    const r = random()
    // ~1% repeat an earlier row (another spelling of its number), ~1% carry a bad number.
    const n = r < 0.01 && i > 10 ? Math.floor(random() * i) : i
    if (r >= 0.01 && r < 0.01 + existingShare) existing.push(n)
    const phone = r >= 0.99 ? '12-34' : spelling(n, random())
    const name = first[n % first.length]!
    const surname = last[(n * 7) % last.length]!
    const email = random() < 0.6 ? `${name.toLowerCase().normalize('NFKD').replace(/[^a-z]/g, '')}.${n}@example.com` : ''
    const labels = random() < 0.3 ? '"vip; atacado"' : random() < 0.5 ? 'varejo' : ''
    const group = random() < 0.2 ? `Grupo ${n % 5}` : ''
    const consent = random() < 0.5 ? 'sim' : random() < 0.5 ? 'não' : ''
    const plan = random() < 0.4 ? (random() < 0.5 ? 'Básico' : 'Pro') : ''
    const notes = random() < 0.1 ? `"Cliente desde 20${10 + (n % 15)}; prefere ""WhatsApp"""` : ''
    lines.push([name, surname, phone, email, labels, group, consent, plan, notes].join(';'))
  }
  return { text: lines.join('\r\n') + '\r\n', existing }
}

async function main (): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weltra-bench-import-'))
  try {
    const { storage, deps } = openBenchDeps(dataDir, { logLevel: 'warn' })
    if (process.env.BENCH_CACHE !== undefined) storage.sqlite.pragma(`cache_size = ${process.env.BENCH_CACHE}`)
    const pragmas = { journal: storage.sqlite.pragma('journal_mode', { simple: true }), synchronous: storage.sqlite.pragma('synchronous', { simple: true }) }

    const owner = await createUserFromCli(deps, { name: 'Bench Owner', email: 'bench@example.com', password: 'correct horse battery staple', owner: true, workspaceName: 'Bench shop' })
    if (!owner.ok) throw new Error('owner')
    const workspaceId = owner.value.workspaceId!
    const actor = { userId: owner.value.userId, workspaceId }
    deps.db.update(workspaces).set({ defaultCountry: 'BR' }).where(eq(workspaces.id, workspaceId)).run()
    const plan = createField(deps.db, actor, { label: 'Plano', type: 'select', options: 'Básico\nPro' }, deps.clock.now())
    if (!plan.ok) throw new Error('field')

    let t0 = performance.now()
    const { text, existing } = csvText()
    const bytes = Buffer.from(text)
    log(`generated ${rows} rows (${(bytes.length / 1024 / 1024).toFixed(1)} MB) in ${ms(t0)} ms`)

    // Contacts that exist before the import: half WhatsApp contacts (by number), half hand-made (by email).
    t0 = performance.now()
    const now = deps.clock.now()
    deps.db.transaction((db) => {
      existing.forEach((n, i) => {
        if (i % 2 === 0) upsertWhatsAppContact(db, workspaceId, { bsuid: null, waId: mobile(n).digits, profileName: `WA ${n}` }, now)
        else createContact(db, workspaceId, { emails: [`${first[n % first.length]!.toLowerCase().normalize('NFKD').replace(/[^a-z]/g, '')}.${n}@example.com`], name: `Existing ${n}` }, null, now)
      })
    })
    log(`seeded ${existing.length} existing contacts in ${ms(t0)} ms`)

    t0 = performance.now()
    const uploaded = uploadImport(deps, actor, { filename: 'bench.csv', bytes, truncated: false })
    if (!uploaded.ok) throw new Error(JSON.stringify(uploaded.error))
    const uploadMs = ms(t0)
    const id = uploaded.value.id

    t0 = performance.now()
    const view = mappingView(deps, workspaceId, id)
    const mappingMs = ms(t0)
    log(`upload ${uploadMs} ms, mapping page ${mappingMs} ms, guessed: ${view.mapping.join(', ')}`)

    const started = startImport(deps, actor, id, view.mapping)
    if (!started.ok) throw new Error(JSON.stringify(started.errors))

    let maxLag = 0
    let last = performance.now()
    const lagTimer = setInterval(() => {
      const t = performance.now()
      maxLag = Math.max(maxLag, t - last - 10)
      last = t
    }, 10)
    t0 = performance.now()
    const batches: Array<{ rows: number, workMs: number, commitMs: number, checkpointMs: number }> = []
    const processed = await runImport(deps, workspaceId, id, { batchRows, ...(batchMs === undefined ? {} : { batchMs }), onBatch: b => batches.push(b) })
    const runMs = ms(t0)
    clearInterval(lagTimer)
    const result = findImport(deps.db, workspaceId, id)!
    const contacts = (deps.sqlite.prepare('SELECT count(*) AS n FROM contacts WHERE workspace_id = ?').get(workspaceId) as { n: number }).n

    const pct = (xs: number[], p: number): number => Math.round(xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0)
    const work = batches.map(b => b.workMs)
    const commit = batches.map(b => b.commitMs)
    const checkpoints = batches.map(b => b.checkpointMs).filter(x => x > 0)
    const batchStats = { batches: batches.length, rowsPerBatch: Math.round(processed / Math.max(1, batches.length)), workMsP50: pct(work, 0.5), workMsMax: pct(work, 1), commitMsP50: pct(commit, 0.5), commitMsP99: pct(commit, 0.99), commitMsMax: pct(commit, 1), commitMsTotal: Math.round(commit.reduce((a, b) => a + b, 0)), checkpoints: checkpoints.length, checkpointMsP50: pct(checkpoints, 0.5), checkpointMsMax: pct(checkpoints, 1), checkpointMsTotal: Math.round(checkpoints.reduce((a, b) => a + b, 0)) }
    const totalMs = uploadMs + mappingMs + runMs
    const summary = {
      rows,
      bytes: bytes.length,
      pragmas,
      uploadMs,
      mappingMs,
      runMs,
      totalMs,
      rowsPerSecond: Math.round(processed / (runMs / 1000)),
      maxEventLoopLagMs: Math.round(maxLag),
      ...batchStats,
      status: result.status,
      created: result.createdCount,
      updated: result.updatedCount,
      skipped: result.skippedCount,
      contactsInWorkspace: contacts,
      targetMs: Math.round(targetMs * rows / 100_000),
      pass: totalMs <= targetMs * rows / 100_000
    }
    log(`${batchStats.batches} batches of ~${batchStats.rowsPerBatch} rows: work p50 ${batchStats.workMsP50} / max ${batchStats.workMsMax} ms, commit p50 ${batchStats.commitMsP50} / p99 ${batchStats.commitMsP99} / max ${batchStats.commitMsMax} ms (total ${batchStats.commitMsTotal} ms); ${batchStats.checkpoints} checkpoints p50 ${batchStats.checkpointMsP50} / max ${batchStats.checkpointMsMax} ms (total ${batchStats.checkpointMsTotal} ms)`)
    log(`run ${runMs} ms (${summary.rowsPerSecond} rows/s), longest event-loop stall ${summary.maxEventLoopLagMs} ms`)
    log(`created ${result.createdCount}, updated ${result.updatedCount}, skipped ${result.skippedCount}; ${contacts} contacts in the workspace`)
    log(`${summary.pass ? 'PASS' : 'FAIL'}: ${totalMs} ms for ${rows} rows (target ≤ ${summary.targetMs} ms)`)
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
    if (process.env.BENCH_JSON !== undefined) writeFileSync(process.env.BENCH_JSON, JSON.stringify(summary, null, 2))
    storage.sqlite.close()
    if (!summary.pass || result.status !== 'done') process.exitCode = 1
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  log(String((err as Error).stack ?? err))
  process.exitCode = 1
})

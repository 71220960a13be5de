// npm run bench:contacts-list — the contact list of a workspace with 100k contacts (issue 6, item 7:
// server-side p95 ≤ 15 ms). Seeds an on-disk database with the production pragmas: contacts with
// names, WhatsApp ids (sealed, with their blind index), a third with an email, a tenth with an extra
// number, labels on ~30 %, a select custom field on half, consent in every state and activity spread
// over a year. Then, for each route, requests go one at a time through the app (app.inject: routing,
// session, query, decrypting the numbers shown, rendering), so the time is the server's own work
// without network or queueing. The first quarter of each route's requests warms up and is left out.
//
//   BENCH_CONTACTS=100000   contacts in the workspace
//   BENCH_REQUESTS=400      requests per route
//   BENCH_JSON=file         also write the results as JSON
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../../src/app.js'
import { contactEmails, contactFieldValues, contactLabels, contactPhones, labels } from '../../src/db/schema.js'
import { createUserFromCli } from '../../src/features/auth/auth.service.js'
import { createSession } from '../../src/features/auth/sessions.service.js'
import { createField, validateFieldValue } from '../../src/features/contacts/contact-fields.service.js'
import { emailIndex, phoneIndex, waIdIndexOf } from '../../src/features/contacts/phone.js'
import { insertContact } from '../../src/features/contacts/contacts.store.js'
import { openBenchDeps } from './bench-deps.js'

const total = Number(process.env.BENCH_CONTACTS ?? 100_000)
const requests = Number(process.env.BENCH_REQUESTS ?? 400)
const log = (line: string): void => { process.stderr.write(line + '\n') }

// A small deterministic generator, so every run seeds the same workspace.
let state = 0x9e3779b9
function random (): number {
  state = (state + 0x6d2b79f5) | 0
  let x = Math.imul(state ^ (state >>> 15), 1 | state)
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296
}
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
const firstNames = ['Ana', 'Bruno', 'Carla', 'Daniel', 'Eduarda', 'Felipe', 'Gabriela', 'Heitor', 'Isabela', 'João', 'Larissa', 'Lúcia', 'Marcos', 'Natália', 'Otávio', 'Paula', 'Rafael', 'Sofia', 'Tiago', 'Vitória', 'Aisha', 'Chen', 'Dmitri', 'Emma', 'Fatima', 'Hiroshi', 'Ingrid', 'Kwame', 'Liam', 'Maya', 'Noah', 'Olga', 'Priya', 'Omar', 'Zoe']
const surnames = ['Silva', 'Santos', 'Oliveira', 'Souza', 'Lima', 'Pereira', 'Ferreira', 'Costa', 'Rodrigues', 'Almeida', 'Nascimento', 'Gomes', 'Martins', 'Araújo', 'Ribeiro', 'Carvalho', 'Barbosa', 'Rocha', 'Dias', 'Teixeira', 'Moreira', 'Cardoso', 'Mendes', 'Nunes', 'Vieira', 'Ahmed', 'Kowalski', 'Müller', 'Nakamura', 'Okafor', 'Petrov', 'Schmidt', 'Tanaka', 'Wang', 'Yilmaz', 'Zhou', 'Castellanos', 'Fitzgerald', 'Abernathy', 'Quintanilha']

async function main (): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weltra-bench-contacts-'))
  try {
    const { storage, deps } = openBenchDeps(dataDir, { logLevel: 'warn' })
    const owner = await createUserFromCli(deps, { name: 'Bench Owner', email: 'bench@example.com', password: 'correct horse battery staple', owner: true, workspaceName: 'Bench shop' })
    if (!owner.ok) throw new Error('could not create the owner')
    const ws = owner.value.workspaceId!
    const now = Date.now()
    const field = createField(deps.db, { userId: owner.value.userId, workspaceId: ws }, { label: 'Plan', type: 'select', options: 'Basic\nPro\nEnterprise' }, now)
    if (!field.ok) throw new Error('could not create the field')
    const labelIds = ['VIP', 'Lead', 'Wholesale', 'Returns', 'Newsletter'].map(name => deps.db.insert(labels).values({ workspaceId: ws, name, createdAt: now }).returning().get().id)

    // ── seed ──
    const seedStart = performance.now()
    const samples = { names: [] as string[], phones: [] as string[], emails: [] as string[] }
    const consentStates = ['unknown', 'unknown', 'opted_in', 'opted_out'] as const
    const batch = 5000
    for (let start = 0; start < total; start += batch) {
      deps.db.transaction((tx) => {
        for (let i = start; i < Math.min(total, start + batch); i++) {
          const name = `${pick(firstNames)} ${pick(surnames)}`
          const digits = `55${11 + Math.floor(random() * 80)}9${String(10_000_000 + i).padStart(8, '0')}`
          const created = now - Math.floor(random() * 365) * 86_400_000
          const contact = insertContact(tx, {
            workspaceId: ws,
            name: random() < 0.7 ? name : null,
            profileName: name,
            waId: digits,
            waIdIndex: waIdIndexOf(ws, digits),
            consent: pick(consentStates),
            lastInboundAt: random() < 0.8 ? created + Math.floor(random() * (now - created)) : null,
            createdAt: created,
            updatedAt: created
          })
          if (i % 3 === 0) {
            const email = `customer${i}@example.com`
            tx.insert(contactEmails).values({ workspaceId: ws, contactId: contact.id, email, emailIndex: emailIndex(ws, email), createdAt: created }).run()
            if (samples.emails.length < 50 && i % 999 === 0) samples.emails.push(email)
          }
          if (i % 10 === 1) {
            const extra = `5511${String(30_000_000 + i).padStart(8, '0')}`
            tx.insert(contactPhones).values({ workspaceId: ws, contactId: contact.id, phone: '+' + extra, phoneIndex: phoneIndex(ws, extra), createdAt: created }).run()
          }
          if (random() < 0.3) tx.insert(contactLabels).values({ workspaceId: ws, contactId: contact.id, labelId: pick(labelIds), createdAt: created }).run()
          if (random() < 0.5) {
            const valid = validateFieldValue(field.value, pick(['Basic', 'Pro', 'Enterprise']))
            if (!valid.ok) throw new Error('invalid seed value')
            tx.insert(contactFieldValues).values({ workspaceId: ws, contactId: contact.id, fieldId: field.value.id, value: valid.value, valueIndex: valid.index, updatedAt: created }).run()
          }
          if (samples.phones.length < 50 && i % 1999 === 0) samples.phones.push(`+${digits.slice(0, 2)} (${digits.slice(2, 4)}) ${digits.slice(4, 9)}-${digits.slice(9)}`)
          if (samples.names.length < 50 && i % 1999 === 7) samples.names.push(name)
        }
      })
    }
    const seedSeconds = (performance.now() - seedStart) / 1000
    log(`seeded ${total} contacts in ${seedSeconds.toFixed(1)} s`)

    // ── routes ──
    const app = await buildApp(deps)
    const cookie = `weltra_session=${createSession(deps.db, { userId: owner.value.userId, workspaceId: ws, twoFactorVerified: true, userAgent: 'bench' }, now).token}`
    const headers = { cookie, 'hx-request': 'true', 'hx-target': '#contacts-results' }
    const firstPage = await app.inject({ method: 'GET', url: '/contacts', headers })
    const more = /href="\/contacts\?(?:[^"]*&amp;)?after=([^"&]+)"/.exec(firstPage.body)?.[1]
    const routes: Array<{ name: string, path: (i: number) => string }> = [
      { name: 'all · by name', path: () => '/contacts' },
      { name: 'all · most recent', path: () => '/contacts?sort=recent' },
      { name: 'all · newest', path: () => '/contacts?sort=created' },
      { name: 'load more (page 2)', path: () => `/contacts?after=${more ?? ''}` },
      { name: 'search full name', path: i => `/contacts?q=${encodeURIComponent(samples.names[i % samples.names.length]!)}` },
      { name: 'search surname', path: i => `/contacts?q=${encodeURIComponent(samples.names[i % samples.names.length]!.split(' ')[1]!)}` },
      { name: 'search two letters', path: () => '/contacts?q=ab' },
      { name: 'search exact phone', path: i => `/contacts?q=${encodeURIComponent(samples.phones[i % samples.phones.length]!)}` },
      { name: 'search exact email', path: i => `/contacts?q=${encodeURIComponent(samples.emails[i % samples.emails.length]!)}` },
      { name: 'label (~6 %)', path: () => `/contacts?label=${labelIds[2]!}` },
      { name: 'consent: opted out', path: () => '/contacts?consent=opted_out' },
      { name: 'field Plan = Pro', path: () => `/contacts?field=${field.value.id}&value=Pro` },
      { name: 'active in 7 days', path: () => '/contacts?activity=7d' },
      { name: 'label + opted in, most recent', path: () => `/contacts?label=${labelIds[0]!}&consent=opted_in&sort=recent` }
    ]
    const rows: Array<{ route: string, p50: number, p95: number, p99: number, max: number, bytes: number }> = []
    for (const route of routes) {
      const times: number[] = []
      let bytes = 0
      for (let i = 0; i < requests; i++) {
        const started = performance.now()
        const res = await app.inject({ method: 'GET', url: route.path(i), headers })
        const ms = performance.now() - started
        if (res.statusCode !== 200) throw new Error(`${route.path(i)} → ${res.statusCode}`)
        if (i >= requests / 4) times.push(ms)
        bytes = res.body.length
      }
      times.sort((a, b) => a - b)
      const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(times.length * q))]!
      rows.push({ route: route.name, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: times.at(-1)!, bytes })
      log(`${route.name}: p95 ${at(0.95).toFixed(2)} ms`)
    }
    await app.close()

    const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown'
    const out: string[] = []
    out.push(`contacts list: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — node ${process.version}`)
    out.push(`machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}; load average ${loadavg().map(l => l.toFixed(2)).join(' ')}`)
    out.push(`workspace: ${total} contacts (seeded in ${seedSeconds.toFixed(1)} s); ${requests} requests per route one at a time through the app, the first quarter left out. Target: p95 ≤ 15 ms.`)
    out.push('')
    out.push('| route | p50 | p95 | p99 | max | body | target |')
    out.push('|---|---|---|---|---|---|---|')
    for (const r of rows) out.push(`| ${r.route} | ${r.p50.toFixed(2)} ms | **${r.p95.toFixed(2)} ms** | ${r.p99.toFixed(2)} ms | ${r.max.toFixed(1)} ms | ${(r.bytes / 1024).toFixed(1)} KB | ${r.p95 <= 15 ? 'met' : '**missed**'} |`)
    process.stdout.write(out.join('\n') + '\n')
    if (process.env.BENCH_JSON !== undefined) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ total, requests, seedSeconds, rows }, null, 2))
    storage.sqlite.close()
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()

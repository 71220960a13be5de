// A profile helper for the inbox bench: serves the inbox fragments in-process (app.inject, no
// network) against a copy of the bench seed, to see where a request's time goes without a load
// generator. `node --import=tsx --cpu-prof scripts/bench/inbox-inproc.ts <data dir> [route] [n]`
// with route one of: list, thread, label, name, surname. Prints the mean and p95 per request.
import { join } from 'node:path'
import { buildApp } from '../../src/app.js'
import { createSession } from '../../src/features/auth/sessions.service.js'
import { openBenchDeps } from './bench-deps.js'

const dataDir = process.argv[2] ?? ''
const route = process.argv[3] ?? 'list'
const n = Number(process.argv[4] ?? 400)
const { storage, deps } = openBenchDeps(dataDir, { runtimeDir: join(dataDir, '..', '.runtime-src') })
const app = await buildApp(deps)
const q = storage.sqlite
const ws = (q.prepare('SELECT id FROM workspaces LIMIT 1').get() as { id: string }).id
const owner = (q.prepare("SELECT user_id AS id FROM memberships WHERE workspace_id = ? AND role = 'owner'").get(ws) as { id: string }).id
const cookie = `weltra_session=${createSession(deps.db, { userId: owner, workspaceId: ws, twoFactorVerified: true, userAgent: 'bench' }, Date.now()).token}`
const label = (name: string): string => (q.prepare('SELECT id FROM labels WHERE workspace_id = ? AND name = ?').get(ws, name) as { id: string }).id
const threads = (q.prepare('SELECT conversation_id AS id FROM messages WHERE workspace_id = ? GROUP BY conversation_id HAVING count(*) >= 50 LIMIT 200').all(ws) as Array<{ id: string }>).map(r => r.id)
const names = (q.prepare("SELECT ct.name FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.workspace_id = ? AND c.status = 'open' AND ct.name IS NOT NULL LIMIT 200").all(ws) as Array<{ name: string }>).map(r => r.name)
const paths: Record<string, (i: number) => string> = {
  list: () => '/inbox',
  label: () => `/inbox?label=${label('Wholesale')}`,
  common: () => `/inbox?label=${label('Lead')}`,
  name: i => `/inbox?q=${encodeURIComponent(names[i % names.length]!)}`,
  surname: i => `/inbox?q=${encodeURIComponent(names[i % names.length]!.split(' ')[1] ?? 'Silva')}`,
  thread: i => `/inbox/${threads[i % threads.length]!}/thread`
}
const path = paths[route]!
const target = route === 'thread' ? 'thread' : 'inbox-list'
const times: number[] = []
for (let i = 0; i < n; i++) {
  const started = performance.now()
  const res = await app.inject({ method: 'GET', url: path(i), headers: { cookie, 'hx-request': 'true', 'hx-target': '#' + target } })
  times.push(performance.now() - started)
  if (i === 0 && process.env.DUMP === '1') console.log(res.body)
  if (res.statusCode !== 200) throw new Error(`${path(i)} → ${res.statusCode} ${res.body.slice(0, 200)}`)
}
const sorted = times.slice(n / 4).sort((a, b) => a - b)
console.log(`${route}: mean ${(sorted.reduce((a, b) => a + b, 0) / sorted.length).toFixed(2)} ms, p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}, p95 ${sorted[Math.floor(sorted.length * 0.95)]!.toFixed(2)} (after ${n / 4} warm-up requests)`)
await app.close()

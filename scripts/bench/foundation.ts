// npm run bench: the single binary's size, cold start to first 200 (first run, including unpacking the
// embedded files and creating the database; and a restart), and idle memory. Results go to stdout as a
// Markdown table for BENCHMARKS.md. Builds dist/weltra first if it is missing.
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus as cpuList, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..', '..')
const binary = join(root, 'dist', 'weltra')
const runs = Number(process.env.BENCH_RUNS ?? 7)

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const a = s.address() as { port: number }; s.close(() => resolve(a.port)) })
  })
}

async function firstOk (url: string, started: bigint): Promise<number> {
  for (;;) {
    try {
      const res = await fetch(url)
      if (res.status === 200) { await res.arrayBuffer(); return Number(process.hrtime.bigint() - started) / 1e6 }
    } catch { /* not listening yet */ }
    await new Promise(resolve => setTimeout(resolve, 2))
  }
}

async function startOnce (dir: string): Promise<{ ms: number, stop: () => Promise<void>, pid: number }> {
  const port = await freePort()
  const started = process.hrtime.bigint()
  const child = spawn(join(dir, 'weltra'), ['--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], { cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore' })
  const ms = await firstOk(`http://127.0.0.1:${port}/`, started)
  const exited = new Promise<void>(resolve => child.on('exit', () => resolve()))
  return { ms, pid: child.pid!, stop: async () => { child.kill('SIGTERM'); await exited } }
}

function rssMb (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

const stats = (xs: number[]): { median: number, min: number, max: number } => {
  const s = [...xs].sort((a, b) => a - b)
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! }
}

if (!existsSync(binary)) execFileSync(process.execPath, [join(root, 'scripts', 'build-binary.mjs')], { stdio: 'inherit' })
const size = statSync(binary).size
const version = execFileSync(binary, ['version']).toString().trim()

const cold: number[] = []
const warm: number[] = []
const rss: number[] = []
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'weltra-bench-'))
  try {
    copyFileSync(binary, join(dir, 'weltra'))
    execFileSync('chmod', ['755', join(dir, 'weltra')])
    const first = await startOnce(dir)
    cold.push(first.ms)
    await first.stop()
    const second = await startOnce(dir)
    warm.push(second.ms)
    await new Promise(resolve => setTimeout(resolve, 1500))
    rss.push(rssMb(second.pid))
    await second.stop()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const c = stats(cold)
const w = stats(warm)
const r = stats(rss)
const cpu = cpuList()[0]?.model ?? 'unknown CPU'
process.stdout.write(`
${version}
machine: ${cpuList().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${new Date().toISOString().slice(0, 10)}; ${runs} runs

| measure | result | target |
|---|---|---|
| binary size | ${(size / 1e6).toFixed(1)} MB | ≤ 120 MB |
| cold start, first run (unpack + new database + migrations) → first 200 on / | median ${c.median.toFixed(0)} ms (min ${c.min.toFixed(0)}, max ${c.max.toFixed(0)}) | ≤ 300 ms |
| restart (existing data) → first 200 on / | median ${w.median.toFixed(0)} ms (min ${w.min.toFixed(0)}, max ${w.max.toFixed(0)}) | ≤ 300 ms |
| idle RSS after one page | median ${r.median.toFixed(1)} MB (max ${r.max.toFixed(1)}) | ≤ 90 MB |
`)

// Smoke-tests the single binary as a customer would: copied alone into an empty directory, run with a
// bare environment, it must create its data, serve the UI and health checks, stop cleanly on SIGTERM
// with exit code 0, and find its data again on the next start.
//   node scripts/smoke-binary.mjs dist/weltra
import { spawn, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

function freePort () {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
    s.on('error', reject)
  })
}

async function waitFor (url, ms) {
  const until = Date.now() + ms
  for (;;) {
    try {
      const res = await fetch(url)
      if (res.status === 200) return res
    } catch { /* not up yet */ }
    if (Date.now() > until) throw new Error(`${url} did not answer 200 within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

function start (dir, port) {
  const child = spawn('./weltra', ['--listen', `127.0.0.1:${port}`], { cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', d => { output += d })
  child.stderr.on('data', d => { output += d })
  const exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
  return { child, exited, output: () => output }
}

async function stop (server) {
  const t0 = Date.now()
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 12_000)
  const { code, signal } = await server.exited
  clearTimeout(timer)
  return { code, signal, ms: Date.now() - t0 }
}

/** Runs every check; returns a list of { name, ok, detail }. */
export async function smoke (binary, { print = true } = {}) {
  const results = []
  const check = (name, ok, detail = '') => {
    results.push({ name, ok, detail })
    if (print) process.stdout.write(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}\n`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'weltra-smoke-'))
  try {
    copyFileSync(resolve(binary), join(dir, 'weltra'))
    execFileSync('chmod', ['755', join(dir, 'weltra')])
    const version = execFileSync('./weltra', ['version'], { cwd: dir, env: { PATH: '/usr/bin:/bin' } }).toString()
    check('version prints the product version', /^weltra \d+\.\d+\.\d+ \(build [0-9a-f]{16}/.test(version), version.trim())

    const port = await freePort()
    const t0 = Date.now()
    let server = start(dir, port)
    await waitFor(`http://127.0.0.1:${port}/healthz`, 20_000)
    check('cold start to first 200 on /healthz', true, `${Date.now() - t0} ms`)
    const home = await fetch(`http://127.0.0.1:${port}/`)
    const html = await home.text()
    check('GET / serves the welcome page', home.status === 200 && /Weltra/.test(html) && /text\/html/.test(home.headers.get('content-type') ?? ''))
    const css = html.match(/\/static\/css\/app\.css\?v=[0-9a-f]+/)?.[0]
    const cssRes = css ? await fetch(`http://127.0.0.1:${port}${css}`) : undefined
    check('embedded static files are served', cssRes?.status === 200)
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
    check('GET /readyz writes to the database', ready.status === 200)
    check('the data directory was created with its database and key', existsSync(join(dir, 'data', 'weltra.db')) && existsSync(join(dir, 'data', 'master.key')))
    const key = readFileSync(join(dir, 'data', 'master.key'), 'utf8')
    let stopped = await stop(server)
    check('SIGTERM stops with exit code 0 within 10 s', stopped.code === 0 && stopped.ms < 10_000, `code ${stopped.code}, ${stopped.ms} ms`)

    server = start(dir, port)
    await waitFor(`http://127.0.0.1:${port}/readyz`, 20_000)
    check('a restart finds the same data and key', readFileSync(join(dir, 'data', 'master.key'), 'utf8') === key && !/created a new master/.test(server.output()))
    stopped = await stop(server)
    check('the second stop is clean too', stopped.code === 0, `code ${stopped.code}`)
    if (results.some(r => !r.ok)) process.stderr.write(server.output().slice(-4000) + '\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return results
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const binary = process.argv[2] ?? 'dist/weltra'
  if (!existsSync(binary)) { process.stderr.write(`${binary} does not exist: run npm run build\n`); process.exit(1) }
  const results = await smoke(binary)
  const failed = results.filter(r => !r.ok).length
  process.stdout.write(`smoke: ${results.length - failed} passed, ${failed} failed\n`)
  process.exit(failed === 0 ? 0 : 1)
}

// Process-level helpers: run the real CLI (src/main.ts through tsx) as a child process, start a real
// server on a free 127.0.0.1 port and wait until it is healthy, stop it with a signal and time the exit.
// Paths are absolute, so a child may run with any working directory.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import type { Test } from 'tap'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const mainScript = join(repoRoot, 'src', 'main.ts')
/** tsx's loader as a file URL, so `--import` works from any working directory. */
export const tsxLoader = import.meta.resolve('tsx')

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

export interface RunOptions {
  cwd?: string
  /** Extra environment variables (WELTRA_* from the parent are never inherited). */
  env?: Record<string, string>
  timeoutMs?: number
}

/** The parent's environment without WELTRA_* (tests choose their own) and without tap's node options. */
export function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('WELTRA_') || k === 'NODE_OPTIONS' || k.startsWith('TAP') || k.startsWith('_TAPJS')) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

/** Starts `node src/main.ts ...args` with a clean environment (stdout and stderr piped). */
export function spawnWeltra (args: string[], options: RunOptions): ChildProcess {
  return spawn(process.execPath, [`--import=${tsxLoader}`, mainScript, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

/** Runs one CLI command to completion; kills it (and fails) after the timeout. */
export async function runCli (args: string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnWeltra(args, options)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const timeoutMs = options.timeoutMs ?? 30_000
  return await new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`weltra ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort (): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Whether something accepts connections on 127.0.0.1:port. */
export async function isListening (port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(true))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)))
  })
}

/**
 * Watches a port while something else runs: tries to connect every `intervalMs`. `stop()` resolves to
 * whether any connection was ever accepted (i.e. some process listened on it meanwhile).
 */
export function watchPort (port: number, intervalMs = 25): { stop: () => Promise<boolean> } {
  let accepted = false
  const state = { running: true }
  const probe = async (): Promise<void> => {
    while (state.running) {
      accepted = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1')
        socket.once('connect', () => { socket.destroy(); resolve(true) })
        socket.once('error', () => resolve(false))
      }) || accepted
      await new Promise(resolve => setTimeout(resolve, intervalMs))
    }
  }
  const done = probe()
  return {
    stop: async () => {
      state.running = false
      await done
      return accepted
    }
  }
}

export interface HttpResult { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** One GET (or other method) to 127.0.0.1:port; a fresh connection unless an agent is given. */
export async function httpGet (port: number, path: string, options: { method?: string, timeoutMs?: number, headers?: Record<string, string>, body?: Buffer } = {}): Promise<HttpResult> {
  return await new Promise<HttpResult>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: false, headers: options.headers, timeout: options.timeoutMs ?? 5000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)))
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Polls `check` every `intervalMs` until it returns true; throws after `timeoutMs`. */
export async function waitFor (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

export interface StopResult { code: number | null, signal: NodeJS.Signals | null, ms: number }

export interface ServerHandle {
  port: number
  child: ChildProcess
  /** Every stdout line so far (pino writes JSON lines there). */
  logs: string[]
  /** Everything written to stderr so far. */
  stderr: () => string
  /** Resolves when the process has exited (with its code), however it ended. */
  exited: Promise<StopResult>
  /** Sends the signal (default SIGTERM) and resolves on exit with the time it took. */
  stop: (signal?: NodeJS.Signals) => Promise<StopResult>
}

export interface StartOptions {
  cwd?: string
  /** Do not pass --data-dir (the server then uses its default, ./data under cwd). */
  defaultDataDir?: boolean
  /** How long to wait for /healthz to answer 200. */
  timeoutMs?: number
}

/** The outcome of a server that exited before it became healthy. */
export class StartFailed extends Error {
  constructor (message: string, readonly code: number | null, readonly stdout: string, readonly stderr: string) { super(message) }
}

function launch (port: number, dataDir: string, extraArgs: string[], env: Record<string, string>, options: StartOptions): ServerHandle {
  const args = ['serve', '--listen', `127.0.0.1:${port}`, ...(options.defaultDataDir === true ? [] : ['--data-dir', dataDir]), ...extraArgs]
  const child = spawnWeltra(args, { cwd: options.cwd, env })
  const logs: string[] = []
  let partial = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const lines = (partial + d).split('\n')
    partial = lines.pop() ?? ''
    logs.push(...lines.filter(l => l !== ''))
  })
  child.stdout!.on('end', () => { if (partial !== '') logs.push(partial); partial = '' })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const started = { at: 0 }
  const exited = new Promise<StopResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, ms: started.at === 0 ? 0 : Date.now() - started.at }))
  })
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<StopResult> => {
    if (child.exitCode === null && child.signalCode === null) {
      started.at = Date.now()
      child.kill(signal)
    }
    return await exited
  }
  return { port, child, logs, stderr: () => stderr, exited, stop }
}

/**
 * Starts `weltra serve` on a free port with the data directory and waits until GET /healthz answers
 * 200 (max 15 s). Retries with another port if the chosen one was taken meanwhile. Throws StartFailed
 * when the process exits first. The caller must stop it (see `stopOnTeardown`).
 */
export async function startServer (dataDir: string, extraArgs: string[] = [], env: Record<string, string> = {}, options: StartOptions = {}): Promise<ServerHandle> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const server = launch(port, dataDir, extraArgs, env, options)
    let exitedEarly: StopResult | undefined
    server.exited.then((r) => { exitedEarly = r }, () => {})
    try {
      await waitFor(async () => {
        if (exitedEarly !== undefined) return true
        try {
          return (await httpGet(port, '/healthz', { timeoutMs: 1000 })).status === 200
        } catch {
          return false
        }
      }, `weltra to answer /healthz on port ${port}`, options.timeoutMs ?? 15_000, 100)
    } catch (err) {
      server.child.kill('SIGKILL')
      await server.exited
      throw new Error(`${(err as Error).message}\nstderr: ${server.stderr()}\nstdout: ${server.logs.join('\n')}`)
    }
    if (exitedEarly === undefined) return server
    await new Promise(resolve => setImmediate(resolve))
    if (/already in use/.test(server.stderr()) && attempt < 3) continue
    throw new StartFailed(`weltra exited with ${String(exitedEarly.code)} before it was healthy: ${server.stderr()}`, exitedEarly.code, server.logs.join('\n'), server.stderr())
  }
}

/** Kills the server when the test ends, if it still runs. */
export function stopOnTeardown (t: { teardown: (fn: () => unknown) => void }, server: ServerHandle): void {
  t.teardown(async () => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return
    server.child.kill('SIGKILL')
    await server.exited
  })
}

/**
 * A fresh, empty directory under the system temp folder, removed when the test ends. Unique per run
 * (unlike t.testdir(), whose name derives from the test's name), so concurrent runs cannot collide.
 */
export function tempDir (t: { teardown: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'weltra-test-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** The sha256 of a file's bytes, hex. */
export function sha256File (file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** A fresh random master key, base64 (32 bytes), without spawning the CLI. */
export function newMasterKey (): string {
  return randomBytes(32).toString('base64')
}

/** A stack frame line such as "    at foo (file.ts:1:2)". */
export const stackFrame = /^\s+at .+[(:]/m

/** Asserts an expected failure: the exit code, a single `weltra: …` line matching `pattern`, no stack. */
export function assertCleanFailure (t: Test, r: CliResult, code: number, pattern: RegExp): void {
  t.equal(r.code, code, `exit code ${code} (stderr: ${r.stderr.trim()})`)
  const lines = r.stderr.trimEnd().split('\n')
  t.equal(lines.length, 1, 'exactly one line on stderr')
  t.match(lines[0], /^weltra: /, 'the line starts with "weltra: "')
  t.match(r.stderr, pattern)
  t.notMatch(r.stderr, stackFrame, 'no stack trace')
  t.notMatch(r.stderr, /unexpected error/, 'not reported as an unexpected error')
}

/** The database file of a data directory. */
export const dbFile = (dataDir: string): string => join(dataDir, 'weltra.db')

/** Reads one meta value straight from a database file (read-write, so closing removes -wal/-shm). */
export function metaValue (file: string, key: string): string | undefined {
  const db = new Database(file, { fileMustExist: true })
  try {
    return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
  } finally { db.close() }
}

export async function fetchStatus (port: number, path: string): Promise<number> {
  return (await httpGet(port, path)).status
}

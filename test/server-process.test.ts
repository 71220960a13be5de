// The server as a process: start on defaults, answer health checks and pages, shut down on signals
// without losing data or waiting on idle clients, refuse a second instance and a busy port, and keep
// secrets and query strings out of its logs. Each test starts its own server in a fresh temp directory.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { connect, createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import { join } from 'node:path'
import t from 'tap'
import {
  freePort, httpGet, isListening, newMasterKey, repoRoot, runCli, startServer, stopOnTeardown, tempDir, waitFor, watchPort, type ServerHandle
} from './helpers/process.js'

/** A stack frame line such as "    at foo (file.ts:1:2)". */
const stackFrame = /^\s+at .+[(:]/m

async function keepAliveGet (agent: Agent, port: number, path: string): Promise<{ status: number, socket: Socket }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket! }))
    })
    req.on('error', reject)
    req.end()
  })
}

function parsedLogs (server: ServerHandle): Array<Record<string, unknown>> {
  return server.logs.map(l => JSON.parse(l) as Record<string, unknown>)
}

t.test('the server starts on embedded defaults in an empty directory, serves the welcome page and health checks, and answers a missing page with a plain 404', async (t) => {
  const dir = tempDir(t)
  const server = await startServer('', [], {}, { cwd: dir, defaultDataDir: true })
  stopOnTeardown(t, server)
  const data = join(dir, 'data')
  t.ok(existsSync(join(data, 'weltra.db')), 'it created ./data/weltra.db in its working directory')
  t.ok(existsSync(join(data, 'master.key')), 'and generated ./data/master.key')
  t.equal(readFileSync(join(data, 'weltra.pid'), 'utf8').trim(), String(server.child.pid), 'the pid file names the server')
  t.match(server.stderr(), /created a new master encryption key/, 'it told the admin about the new key')

  const home = await httpGet(server.port, '/')
  t.equal(home.status, 200, 'GET / is 200')
  t.match(home.headers['content-type'], /^text\/html/, 'as HTML')
  t.match(home.body, /Weltra/)
  t.match(home.headers['content-security-policy'], /(^|;)\s*script-src 'self'(;|$)/, 'with the strict CSP')
  t.match(home.headers['content-security-policy'], /default-src 'none'/)
  t.notMatch(home.headers['content-security-policy'], /unsafe-inline|unsafe-eval/, 'without unsafe-inline or unsafe-eval')
  t.equal(home.headers['x-frame-options'], 'DENY')
  t.equal(home.headers['x-content-type-options'], 'nosniff')

  const healthz = await httpGet(server.port, '/healthz')
  t.equal(healthz.status, 200, '/healthz is 200')
  t.same(JSON.parse(healthz.body), { status: 'ok' })
  const readyz = await httpGet(server.port, '/readyz')
  t.equal(readyz.status, 200, '/readyz is 200')
  t.same(JSON.parse(readyz.body), { status: 'ready' })

  const missing = await httpGet(server.port, '/no/such/page')
  t.equal(missing.status, 404, 'a missing page is 404')
  t.match(missing.headers['content-type'], /^text\/html/, 'as HTML')
  t.match(missing.headers['content-security-policy'], /script-src 'self'/, 'with the CSP too')
  t.notMatch(missing.body, stackFrame, 'no stack trace')
  t.notMatch(missing.body, /node_modules|\.(ts|js|mjs):\d|\/src\/|\/tmp\/|\/home\/|ENOENT|TypeError|ReferenceError/, 'no file paths or error details')
  t.notOk(missing.body.includes(repoRoot), 'not the program\'s folder')
  t.notOk(missing.body.includes(dir), 'not the data directory')

  const stopped = await server.stop('SIGTERM')
  t.equal(stopped.code, 0, 'it stops with exit code 0')
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} shuts down gracefully and promptly: exit 0, pid file removed, WAL checkpointed, idle keep-alive connections do not hold it up`, async (t) => {
    const dir = tempDir(t)
    const data = join(dir, 'data')
    const server = await startServer(data)
    stopOnTeardown(t, server)
    const pidFile = join(data, 'weltra.pid')
    t.ok(existsSync(pidFile), 'the pid file exists while running')
    // A write, so there is something in the WAL to checkpoint.
    t.equal((await httpGet(server.port, '/readyz')).status, 200)

    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    t.teardown(() => agent.destroy())
    const { status, socket } = await keepAliveGet(agent, server.port, '/healthz')
    t.equal(status, 200, 'a keep-alive request succeeded')
    const socketClosed = once(socket, 'close')
    t.notOk(socket.destroyed, 'its connection stays open and idle')

    const stopped = await server.stop(signal)
    t.equal(stopped.code, 0, 'exit code 0')
    t.ok(stopped.ms < 5000, `exited in ${stopped.ms} ms (under 5 s: the idle connection did not hold it up)`)
    await socketClosed
    t.pass('the server closed the idle keep-alive connection')
    t.notOk(existsSync(pidFile), 'the pid file was removed')
    const wal = join(data, 'weltra.db-wal')
    t.ok(!existsSync(wal) || statSync(wal).size === 0, 'the WAL is gone or empty (checkpointed)')
    const logs = parsedLogs(server)
    t.ok(logs.some(l => l.msg === 'shutting down' && l.reason === signal), `logged "shutting down" with reason ${signal}`)
    t.ok(logs.some(l => l.msg === 'stopped'), 'logged "stopped"')
    t.notMatch(server.stderr(), stackFrame, 'nothing alarming on stderr')
  })
}

t.test('during shutdown /readyz is not 200 (a request that arrives while draining gets 503)', async (t) => {
  const dir = tempDir(t)
  const server = await startServer(join(dir, 'data'))
  stopOnTeardown(t, server)
  t.equal((await httpGet(server.port, '/readyz')).status, 200, '/readyz is 200 before the signal')

  // A slow client: the request line and one header are sent, the end of the headers is not, so the
  // connection counts as busy and keeps the server draining.
  const slow = connect(server.port, '127.0.0.1')
  await once(slow, 'connect')
  let response = ''
  slow.setEncoding('utf8').on('data', (d: string) => { response += d })
  const slowClosed = once(slow, 'close')
  t.teardown(() => { slow.destroy() })
  slow.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  // The server must have read those bytes before the signal, or the connection still looks idle and is
  // simply closed. A full round trip on another connection, started after them, is the barrier.
  t.equal((await httpGet(server.port, '/healthz')).status, 200)

  server.child.kill('SIGTERM')
  await waitFor(async () => !(await isListening(server.port)), 'the server to stop accepting connections', 5000, 20)
  t.equal(server.child.exitCode, null, 'the server is still draining')

  slow.write('\r\n')
  await slowClosed
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0)
  t.not(status, 200, `the request answered during shutdown is not 200 (got ${status})`)
  t.equal(status, 503, 'it is 503 Service Unavailable')
  t.match(response, /connection: close/i, 'and closes the connection')

  const stopped = await server.exited
  t.equal(stopped.code, 0, 'then the server exits 0')
})

t.test('a second server on the same data directory refuses to start while the first keeps serving', async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const first = await startServer(data)
  stopOnTeardown(t, first)
  const port = await freePort()
  const watch = watchPort(port)
  const second = await runCli(['serve', '--data-dir', data, '--listen', `127.0.0.1:${port}`], { timeoutMs: 20_000 })
  const bound = await watch.stop()
  t.equal(second.code, 1, `the second exits 1 (${second.stderr.trim()})`)
  t.match(second.stderr, new RegExp(`^weltra: another Weltra server \\(pid ${first.child.pid}\\) is using .*data`), 'it names the other server and its pid')
  t.equal(second.stderr.trimEnd().split('\n').length, 1, 'in one line')
  t.notMatch(second.stderr, stackFrame, 'no stack trace')
  t.notOk(bound, 'the second never listened on its port')
  t.equal(readFileSync(join(data, 'weltra.pid'), 'utf8').trim(), String(first.child.pid), 'the pid file still names the first server')
  t.equal((await httpGet(first.port, '/healthz')).status, 200, 'the first still answers /healthz')
  t.equal((await httpGet(first.port, '/readyz')).status, 200, 'and /readyz')
  t.equal((await first.stop('SIGTERM')).code, 0, 'and stops cleanly')
})

t.test('a listen port already in use gives a clear one-line message and exit 1', async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const blocker = createServer()
  blocker.listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => { blocker.close() })
  const address = blocker.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const r = await runCli(['serve', '--data-dir', data, '--listen', `127.0.0.1:${port}`], { timeoutMs: 20_000 })
  t.equal(r.code, 1, `exit code 1 (${r.stderr.trim()})`)
  t.equal(r.stderr.trimEnd().split('\n').filter(l => !/^=+$|^\s|^$/.test(l)).length, 1, 'one weltra: line (besides the new-key notice)')
  t.match(r.stderr, new RegExp(`^weltra: 127\\.0\\.0\\.1:${port} is already in use; .*free port`, 'm'), 'names the address and what to do')
  t.notMatch(r.stderr, stackFrame, 'no stack trace')
  t.notOk(existsSync(join(data, 'weltra.pid')), 'the pid file was released')
})

t.test('logs are JSON lines that never contain a request\'s query string nor the master key, and no response contains the key', async (t) => {
  const dir = tempDir(t)
  const key = newMasterKey()
  const server = await startServer(join(dir, 'data'), [], { WELTRA_SECURITY__MASTER_KEY: key })
  stopOnTeardown(t, server)
  const responses = await Promise.all([
    httpGet(server.port, '/?token=CANARY-abc123'),
    httpGet(server.port, '/no-such-page?token=CANARY-abc123&x=1'),
    httpGet(server.port, '/readyz?token=CANARY-abc123'),
    httpGet(server.port, '/static/nope.js?v=CANARY-abc123')
  ])
  t.equal(responses[0]!.status, 200, 'the page with a token in its query string was served')
  t.equal(responses[1]!.status, 404)
  t.equal((await server.stop('SIGTERM')).code, 0, 'the server stopped cleanly')

  t.ok(server.logs.length > 0, 'there are log lines')
  const lines = server.logs.map((line) => {
    try { return JSON.parse(line) as Record<string, unknown> } catch { return undefined }
  })
  t.equal(lines.filter(l => l === undefined).length, 0, 'every stdout line is a JSON object')
  t.ok(lines.some(l => (l?.req as { url?: string } | undefined)?.url === '/'), 'the request to / was logged (by path)')
  t.ok(lines.some(l => (l?.req as { url?: string } | undefined)?.url === '/no-such-page'), 'the 404 was logged (by path)')
  const all = server.logs.join('\n') + server.stderr()
  t.notOk(all.includes('CANARY'), 'no log line contains the query string')
  t.notOk(all.includes(key), 'no log line contains the master key')
  t.notOk(all.includes(key.slice(0, 16)), 'not even a part of it')
  for (const r of responses) {
    t.notOk(r.body.includes(key) || JSON.stringify(r.headers).includes(key), 'no response contains the master key')
  }
})

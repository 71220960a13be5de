// HTTPS served directly: the configured certificate is used, HSTS is sent, a renewed certificate is
// picked up on SIGHUP without a restart, and `weltra healthcheck` speaks TLS.
import { execFileSync } from 'node:child_process'
import { copyFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { freePort, runCli, spawnWeltra, tempDir, waitFor } from './helpers/process.js'

function makeCertificate (dir: string, name: string): { cert: string, key: string } {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}.localhost`], { stdio: 'ignore' })
  return { cert, key }
}

async function fetchTls (port: number, path: string): Promise<{ status: number, hsts: string | undefined, fingerprint: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false, timeout: 2000 }, (res) => {
      res.resume()
      const socket = res.socket as unknown as { getPeerCertificate: () => { fingerprint256: string } }
      resolve({ status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'] as string | undefined, fingerprint: socket.getPeerCertificate().fingerprint256 })
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end()
  })
}

t.test('HTTPS with a configured certificate: HSTS, reload on SIGHUP, healthcheck over TLS', async (t) => {
  const dir = tempDir(t)
  const first = makeCertificate(dir, 'first')
  const second = makeCertificate(dir, 'second')
  const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') }
  copyFileSync(first.cert, live.cert)
  copyFileSync(first.key, live.key)
  const port = await freePort()
  const args = ['--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--set', `server.tls_cert_file=${live.cert}`, '--set', `server.tls_key_file=${live.key}`]
  const child = spawnWeltra(['serve', ...args], {})
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const exited = new Promise<number | null>(resolve => child.on('close', code => resolve(code)))
  let answer: Awaited<ReturnType<typeof fetchTls>> | undefined
  await waitFor(async () => {
    try { answer = await fetchTls(port, '/healthz'); return answer.status === 200 } catch { return false }
  }, 'the HTTPS server to answer', 20_000, 100)
  const home = await fetchTls(port, '/')
  t.match(home.hsts ?? '', /max-age=\d+/, 'HSTS over HTTPS')
  const before = answer!.fingerprint

  t.equal((await runCli(['healthcheck', ...args])).code, 0, 'weltra healthcheck speaks TLS')

  copyFileSync(second.cert, live.cert)
  copyFileSync(second.key, live.key)
  child.kill('SIGHUP')
  await waitFor(async () => (await fetchTls(port, '/healthz')).fingerprint !== before, 'the renewed certificate to be served', 5000, 50)
  t.pass('after SIGHUP new connections get the renewed certificate')

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'stops cleanly')
})

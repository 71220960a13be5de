// Crash test (issue "WhatsApp channel" §8): 2,000 signed webhooks with unique wamids, 20 at a time,
// while the server is killed with SIGKILL at random moments at least 10 times and restarted. The
// client re-sends whatever was not acknowledged (as Meta does). At the end every acknowledged wamid
// is stored exactly once, nothing is left unprocessed, and PRAGMA integrity_check is ok.
import { request, Agent } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import Database from 'better-sqlite3'
import { newMasterKey, startServer, stopOnTeardown, tempDir, waitFor, type ServerHandle } from './helpers/process.js'
import { envelope, fixtureSecret, message, messagesValue, seedChannelDataDir } from './helpers/whatsapp.js'
import { signatureHeader } from '../src/platform/whatsapp/webhook-signature.js'

const total = 2000
const concurrency = 20
const minKills = 10

function post (port: number, path: string, body: Buffer, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, timeout: 5000, headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-hub-signature-256': signatureHeader(body, fixtureSecret) } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(0))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
    req.end(body)
  })
}

t.test('SIGKILL at random moments loses no acknowledged webhook and duplicates none', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const key = newMasterKey()
  const channel = await seedChannelDataDir(data, key)
  const env = { WELTRA_SECURITY__MASTER_KEY: key, WELTRA_LOG__LEVEL: 'warn' }
  const path = `/webhooks/whatsapp/${channel.publicId}`
  const bodies = Array.from({ length: total }, (_, i) => {
    const who = { waId: `1555020${String(i % 50).padStart(4, '0')}`, userId: `US.crash${i % 50}`, name: `Customer ${i % 50}` }
    return Buffer.from(JSON.stringify(envelope(messagesValue([who], { messages: [message(`wamid.CRASH.${i}`, who, 'text', { body: `message ${i}` }, {}, 1_789_200_000 + i)] }))))
  })

  let server: ServerHandle = await startServer(data, [], env)
  stopOnTeardown(t, server)
  let up = true
  const queue = bodies.map((_, i) => i)
  const acked = new Set<number>()
  let inFlight = 0
  let kills = 0
  let attempts = 0

  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = queue.shift()
      if (i === undefined) {
        if (inFlight === 0) return
        await new Promise(resolve => setTimeout(resolve, 5))
        continue
      }
      if (!up) { queue.unshift(i); await new Promise(resolve => setTimeout(resolve, 20)); continue }
      inFlight++
      attempts++
      const status = await post(server.port, path, bodies[i]!, agent)
      inFlight--
      if (status === 200) acked.add(i)
      else queue.push(i) // not acknowledged: Meta would retry it
    }
  }

  const killer = async (): Promise<void> => {
    while (kills < minKills) {
      await new Promise(resolve => setTimeout(resolve, 80 + Math.floor(Math.random() * 250)))
      up = false
      await server.stop('SIGKILL')
      kills++
      server = await startServer(data, [], env)
      stopOnTeardown(t, server)
      up = true
    }
  }

  await Promise.all([killer(), ...Array.from({ length: concurrency }, worker)])
  agent.destroy()
  t.ok(kills >= minKills, `killed ${kills} times while ${attempts} requests were made`)
  t.equal(acked.size, total, 'every webhook was eventually acknowledged')

  // Deliveries acknowledged just before the last kill are processed by this run at start.
  const db = new Database(join(data, 'weltra.db'), { readonly: true, fileMustExist: true })
  t.teardown(() => db.close())
  await waitFor(() => (db.prepare("SELECT count(*) AS n FROM webhook_events WHERE status = 'pending'").get() as { n: number }).n === 0, 'the backlog to be processed', 30_000, 100)
  const stopped = await server.stop('SIGTERM')
  t.equal(stopped.code, 0, 'clean stop')

  const rows = db.prepare("SELECT wamid, count(*) AS n FROM messages WHERE wamid LIKE 'wamid.CRASH.%' GROUP BY wamid").all() as Array<{ wamid: string, n: number }>
  const counts = new Map(rows.map(r => [r.wamid, r.n]))
  const missing = [...acked].filter(i => !counts.has(`wamid.CRASH.${i}`))
  t.same(missing, [], 'every acknowledged wamid is stored')
  t.same(rows.filter(r => r.n !== 1), [], 'and stored exactly once')
  t.equal(rows.length, total)
  t.same(db.prepare("SELECT status, count(*) AS n FROM webhook_events WHERE status <> 'processed' GROUP BY status").all(), [], 'every stored delivery was processed')
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'integrity_check ok')
  t.equal((db.prepare('SELECT count(*) AS n FROM conversations').get() as { n: number }).n, 50, 'one conversation per customer')
})

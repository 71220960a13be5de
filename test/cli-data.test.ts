// The CLI on a data directory, part 2 (split from cli.test.ts so each file stays well inside the test
// timeout on a loaded machine): master key rotation, and the webhook log commands with and without a
// running server.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { assertCleanFailure, dbFile, fetchStatus, httpGet, metaValue, newMasterKey, runCli, startServer, stopOnTeardown, tempDir } from './helpers/process.js'

t.test('keys generate prints a new base64 key; keys rotate moves data from key A to key B so that B alone then starts', async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const keyA = newMasterKey()

  const [generated, migrated] = await Promise.all([
    runCli(['keys', 'generate']),
    runCli(['migrate', '--data-dir', data], { env: { WELTRA_SECURITY__MASTER_KEY: keyA } })
  ])
  t.equal(generated.code, 0, 'keys generate exits 0')
  t.match(generated.stdout, /^[A-Za-z0-9+/]{43}=\n$/, 'a 44-character base64 key on one line')
  const keyB = generated.stdout.trim()
  t.equal(keyB.length, 44)
  t.equal(Buffer.from(keyB, 'base64').length, 32, 'it decodes to 32 bytes')
  t.not(keyB, keyA)
  t.equal(migrated.code, 0, `data created with key A (${migrated.stderr.trim()})`)

  const before = { check: metaValue(dbFile(data), 'key_check'), root: metaValue(dbFile(data), 'blind_index_root') }
  const rotate = await runCli(['keys', 'rotate', '--data-dir', data], {
    env: { WELTRA_SECURITY__MASTER_KEY: keyB, WELTRA_SECURITY__PREVIOUS_MASTER_KEYS: keyA }
  })
  t.equal(rotate.code, 0, `keys rotate exits 0 (${rotate.stderr.trim()})`)
  t.match(rotate.stdout, /^finished: re-sealed \d+ values and \d+ media files under key /, 'reports finished')
  t.notOk(rotate.stdout.includes(keyA) || rotate.stdout.includes(keyB), 'no key is printed')
  t.not(metaValue(dbFile(data), 'key_check'), before.check, 'the key check moved to the new key')
  t.not(metaValue(dbFile(data), 'blind_index_root'), before.root, 'the instance secret was re-sealed')

  const server = await startServer(data, [], { WELTRA_SECURITY__MASTER_KEY: keyB })
  stopOnTeardown(t, server)
  t.equal(await fetchStatus(server.port, '/readyz'), 200, 'with only key B the server starts and is ready')
  t.equal((await server.stop('SIGTERM')).code, 0, 'and shuts down cleanly')
})

t.test('webhooks status counts stored deliveries; webhooks replay re-processes failed ones without the server, or hands them to a running server', async (t) => {
  const { seedChannelDataDir, envelope, message, messagesValue, fixtureSecret } = await import('./helpers/whatsapp.js')
  const { signatureHeader } = await import('../src/platform/whatsapp/webhook-signature.js')
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const key = newMasterKey()
  const env = { WELTRA_SECURITY__MASTER_KEY: key }
  const channel = await seedChannelDataDir(data, key)
  const server = await startServer(data, [], env)
  stopOnTeardown(t, server)
  const who = { waId: '15550100111', userId: 'US.cli', name: 'Ana' }
  const body = Buffer.from(JSON.stringify(envelope(messagesValue([who], { messages: [message('wamid.CLI1', who, 'text', { body: 'hello' })] }))))
  const res = await httpGet(server.port, `/webhooks/whatsapp/${channel.publicId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureHeader(body, fixtureSecret) }, body })
  t.equal(res.status, 200)
  // Make the stored delivery look failed, as after a bug in processing.
  const dbFile = join(data, 'weltra.db')
  await new Promise(resolve => setTimeout(resolve, 500))
  const running = await runCli(['webhooks', 'status', '--data-dir', data], { env })
  t.equal(running.code, 0, running.stderr)
  t.match(running.stdout, /^shop\tpending 0\tprocessed 1\tignored 0\tfailed 0$/m)
  await server.stop()
  const raw = new Database(dbFile)
  raw.prepare("UPDATE webhook_events SET status = 'failed', last_error = 'Processing failed: simulated'").run()
  raw.prepare('DELETE FROM messages').run()
  raw.close()
  const replay = await runCli(['webhooks', 'replay', '--data-dir', data], { env })
  t.equal(replay.code, 0, replay.stderr)
  t.match(replay.stdout, /1 deliveries replayed: 1 processed, 0 ignored, 0 failed/)
  const check = new Database(dbFile, { readonly: true })
  t.same(check.prepare('SELECT wamid FROM messages').all(), [{ wamid: 'wamid.CLI1' }])
  check.close()
  const again = await runCli(['webhooks', 'replay', '--data-dir', data], { env })
  t.match(again.stdout, /0 deliveries replayed/, 'nothing failed any more')
  assertCleanFailure(t, await runCli(['webhooks', 'replay', '--workspace', 'nope', '--data-dir', data], { env }), 2, /no workspace with slug "nope"/)
})

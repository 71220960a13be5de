// Demo mode end to end on 127.0.0.1: the sandbox number appears in a workspace, simulated customers'
// messages go through the real webhook pipeline (signed, stored, processed, media downloaded), and a
// reply sent to the fake Graph API gets its ticks back as status webhooks.
import t from 'tap'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createUser } from '../../../test/helpers/accounts.js'
import { waitFor } from '../../../test/helpers/process.js'
import { startFakeGraph } from '../../platform/whatsapp/fake-graph.js'
import { systemClock } from '../../platform/clock.js'
import { graphClientFor, findChannel, listChannels } from '../channels/channels.service.js'
import { attachWamid, insertOutbound } from '../inbox/messaging.service.js'
import { startMediaWorker } from '../media/media.worker.js'
import { startWebhookProcessor } from '../webhooks/webhook-processor.js'
import { demoPicture, demoVoiceNote, startDemo } from './demo.service.js'

t.test('a workspace gets a sandbox number whose customers write in and whose replies get ticks', async (t) => {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const env = await buildTestApp(t, { set: { 'whatsapp.graph_base_url': fake.url } })
  const deps = { ...env.deps, clock: systemClock }
  await env.app.listen({ host: '127.0.0.1', port: 0 })
  const port = (env.app.server.address() as { port: number }).port
  const processor = startWebhookProcessor(deps, { pollMs: 50 })
  const media = startMediaWorker(deps, { pollMs: 50 })
  const owner = await createUser(env.deps, { workspace: 'Demo shop' })
  const ws = owner.workspaceId!
  const demo = startDemo(deps, fake, { selfUrl: `http://127.0.0.1:${port}`, speed: 0.02 })
  t.teardown(async () => { await demo.stop(); await processor.stop(); await media.stop() })

  await waitFor(() => listChannels(env.deps, ws).some(c => c.sandbox), 'the sandbox number', 5000)
  const sandbox = listChannels(env.deps, ws).find(c => c.sandbox)!
  await waitFor(() => env.count('messages') === 4, 'four customers to write in', 10_000)
  t.same((env.deps.sqlite.prepare('SELECT type FROM messages ORDER BY timestamp, rowid').all() as Array<{ type: string }>).map(r => r.type).sort(), ['audio', 'image', 'location', 'text'])
  await waitFor(() => (env.deps.sqlite.prepare("SELECT count(*) AS n FROM media WHERE status = 'stored'").get() as { n: number }).n === 2, 'the photo and the voice note to be downloaded', 10_000)
  t.ok((env.deps.sqlite.prepare('SELECT webhook_verified_at FROM channels WHERE id = ?').get(sandbox.id) as { webhook_verified_at: number | null }).webhook_verified_at, 'the sandbox webhook is verified')

  // A reply as the send path will make it: message row, Graph send, wamid attached.
  const conversationId = (env.deps.sqlite.prepare('SELECT id FROM conversations LIMIT 1').get() as { id: string }).id
  const channel = findChannel(env.deps.db, ws, sandbox.id)!
  const out = insertOutbound(env.deps.db, { workspaceId: ws, conversationId, channelId: channel.id, type: 'text', content: { body: { type: 'text', text: 'Yes, we ship to Lisbon!' } }, authorId: owner.id }, Date.now())
  const sent = await graphClientFor(env.deps, channel).sendMessage(channel.phoneNumberId, { to: '15550100201', type: 'text', text: { body: 'Yes, we ship to Lisbon!' }, biz_opaque_callback_data: out.id })
  attachWamid(env.deps.db, ws, out.id, sent.wamid, Date.now())
  await waitFor(() => (env.deps.sqlite.prepare('SELECT status FROM messages WHERE id = ?').get(out.id) as { status: string }).status === 'read', 'the reply to be read', 10_000)
  t.pass('sent → delivered → read came back as webhooks')
  t.equal(env.count('webhook_events') >= 7, true)
  t.same(env.deps.sqlite.prepare("SELECT count(*) AS n FROM webhook_events WHERE status <> 'processed'").get(), { n: 0 })
})

t.test('generated demo media are real files', async (t) => {
  const png = demoPicture()
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature')
  const wav = demoVoiceNote()
  t.equal(wav.subarray(0, 4).toString('ascii'), 'RIFF')
  t.equal(wav.readUInt32LE(40), wav.length - 44, 'WAV data length')
})

// Media end to end over real HTTP: the worker downloads from the fake Graph API on 127.0.0.1 (metadata →
// URL → bytes with the channel's token), stores the file encrypted under data/media, and GET /media/:id
// serves it back to the members of its workspace only, with safe headers and byte ranges. Every guard
// is driven through the fake's scripted faults: sha256 mismatch, oversize (metadata, header, stream),
// disallowed MIME, 5xx then success (fake clock), Graph 404, token error, needs-reconnect channel,
// redirects, private and non-allowlisted URLs, stalls, shutdown mid-download, and key rotation.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { addMember, createUser, get, signIn } from '../../../test/helpers/accounts.js'
import { channelIssues, channels, conversations, media, messages } from '../../db/schema.js'
import { Keyring, newId, sha256Hex } from '../../platform/crypto/index.js'
import { startFakeGraph, type FakeGraph, type FakeMedia } from '../../platform/whatsapp/fake-graph.js'
import { createChannel, type Channel } from '../channels/channels.service.js'
import { mediaFilePath } from './media.files.js'
import { mediaMaxBytes, type MediaKind } from './media.policy.js'
import { parseRange } from './media.routes.js'
import { queueMedia, rewrapMediaFiles } from './media.service.js'
import { mediaGiveUpAfterMs, mediaReconnectRecheckMs, mediaRetryBaseMs, mediaRetryDelay, startMediaWorker, type MediaWorker } from './media.worker.js'
import { insertContact } from '../contacts/contacts.service.js'

const token = 'EAAG-media-test-token-NOT-REAL-9f8e7d'
const canary = 'CANARY-media-plaintext-5b1e'
let graphIds = 1_880_000_000_000_000

interface World extends TestApp {
  fake: FakeGraph
  channel: Channel
  conversationId: string
  dataDir: string
  owner: { cookie: string, workspaceId: string }
  agentCookie: string
  outsiderCookie: string
  worker: MediaWorker
  settled: Array<{ workspaceId: string, messageId: string, conversationId: string }>
  /** Queues one item of `kind` whose Graph media is `fake` (set on the fake under a fresh id). */
  queue: (kind: MediaKind, item: FakeMedia | null, extra?: { fileName?: string | null, sha256Base64?: string | null, mimeType?: string | null }) => { id: string, graphId: string }
  row: (id: string) => typeof media.$inferSelect
  issues: () => Array<typeof channelIssues.$inferSelect>
}

async function world (t: Test, set: Record<string, string> = {}): Promise<World> {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  const dataDir = join(t.testdir({}), 'data')
  const env = await buildTestApp(t, { set: { 'whatsapp.graph_base_url': fake.url, 'whatsapp.graph_timeout_seconds': '2', 'storage.data_dir': dataDir, ...set } })
  const { deps } = env
  const owner = await createUser(deps, { workspace: 'Workspace A' })
  const agent = await createUser(deps)
  addMember(deps, owner.workspaceId!, agent.id, 'agent')
  const outsider = await createUser(deps, { workspace: 'Workspace B' })
  const now = env.clock.now()
  const ws = owner.workspaceId!
  const channel = deps.db.transaction(tx => createChannel(tx, ws, { name: 'Sales', wabaId: '2001', phoneNumberId: '1001', accessToken: token, appSecret: 'secret-NOT-REAL', graphApiVersion: 'v25.0' }, now))
  const contact = insertContact(deps.db, { workspaceId: ws, profileName: 'Bia', createdAt: now, updatedAt: now })
  const conversation = deps.db.insert(conversations).values({ workspaceId: ws, channelId: channel.id, contactId: contact.id, lastMessageAt: now, createdAt: now, updatedAt: now }).returning().get()
  const worker = startMediaWorker(deps, { pollMs: 3_600_000, stopGraceMs: 200 })
  t.teardown(() => worker.stop())
  const settled: World['settled'] = []
  deps.events.on('media.settled', e => settled.push(e))
  const queue: World['queue'] = (kind, item, extra = {}) => {
    const graphId = String(graphIds++)
    if (item !== null) fake.setMedia(graphId, item)
    const at = env.clock.now()
    const message = deps.db.insert(messages).values({ workspaceId: ws, conversationId: conversation.id, channelId: channel.id, direction: 'in', type: kind === 'voice' ? 'audio' : kind, content: '{}', status: 'received', timestamp: at, createdAt: at, updatedAt: at }).returning().get()
    const id = queueMedia(deps.db, {
      workspaceId: ws,
      messageId: message.id,
      channelId: channel.id,
      graphMediaId: graphId,
      kind,
      mimeType: extra.mimeType !== undefined ? extra.mimeType : item?.mimeType ?? null,
      sha256Base64: extra.sha256Base64 !== undefined ? extra.sha256Base64 : item === null ? null : Buffer.from(sha256Hex(item.bytes), 'hex').toString('base64'),
      fileName: extra.fileName ?? null
    }, at)
    return { id, graphId }
  }
  return {
    ...env,
    fake,
    channel,
    conversationId: conversation.id,
    dataDir,
    owner: { cookie: await signIn(env.app, owner), workspaceId: ws },
    agentCookie: await signIn(env.app, agent),
    outsiderCookie: await signIn(env.app, outsider),
    worker,
    settled,
    queue,
    row: (id) => deps.db.select().from(media).where(eq(media.id, id)).get()!,
    issues: () => deps.db.select().from(channelIssues).where(eq(channelIssues.channelId, channel.id)).all()
  }
}

const png = (extra: string | Buffer = ''): Buffer => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(canary), Buffer.from(extra)])
const webp = (): Buffer => Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x20, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.from(canary)])
const filler = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) % 251))

t.test('every kind is downloaded, stored encrypted, and served back identical to members only', async (t) => {
  const w = await world(t)
  const items: Array<[MediaKind, FakeMedia, string]> = [
    ['image', { bytes: png(), mimeType: 'image/jpeg' }, 'image/jpeg'],
    ['video', { bytes: Buffer.concat([Buffer.from(canary), filler(200_000)]), mimeType: 'video/mp4' }, 'video/mp4'],
    ['audio', { bytes: Buffer.concat([Buffer.from('ID3'), Buffer.from(canary)]), mimeType: 'audio/mpeg' }, 'audio/mpeg'],
    ['voice', { bytes: Buffer.concat([Buffer.from('OggS'), Buffer.from(canary)]), mimeType: 'audio/ogg; codecs=opus' }, 'audio/ogg'],
    ['document', { bytes: Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(canary)]), mimeType: 'application/pdf' }, 'application/pdf'],
    ['sticker', { bytes: webp(), mimeType: 'image/webp' }, 'image/webp']
  ]
  // The image's bytes are a PNG although Meta said JPEG: stored, but not served inline as an image.
  const queued = items.map(([kind, item]) => ({ kind, item, ...w.queue(kind, item, kind === 'document' ? { fileName: '../../etc/Relatório "final"\r\n;.pdf' } : {}) }))
  t.equal(await w.worker.runOnce(), items.length, 'every item attempted in one pass')
  for (const [i, { kind, item, id }] of queued.entries()) {
    const row = w.row(id)
    t.match(row, { status: 'stored', size: item.bytes.length, mimeType: items[i]![2], storedAt: w.clock.now(), leaseUntil: null, lastError: null, attempts: 1 }, `${kind} stored`)
    const path = mediaFilePath(w.dataDir, w.owner.workspaceId, id)
    const onDisk = readFileSync(path)
    t.equal(onDisk.indexOf(canary), -1, `${kind}: the plaintext is not in the file on disk`)
    t.equal(onDisk.indexOf(item.bytes.subarray(0, 64)), -1, `${kind}: no run of the plaintext either`)
    t.equal(statSync(path).mode & 0o777, 0o600, `${kind}: file mode 0600`)

    const res = await get(w.app, `/media/${id}`, w.agentCookie)
    t.equal(res.statusCode, 200, `${kind}: an agent of the workspace gets it`)
    t.ok(res.rawPayload.equals(item.bytes), `${kind}: served bytes are identical`)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox")
    t.equal(res.headers['cache-control'], 'private, max-age=86400, immutable')
    t.equal(res.headers['content-length'], String(item.bytes.length))
    t.equal(res.headers['accept-ranges'], 'bytes')
    if (kind === 'image') {
      t.equal(res.headers['content-type'], 'application/octet-stream', 'not a JPEG after all: a download')
      t.match(res.headers['content-disposition'], /^attachment; /)
    } else if (kind === 'document') {
      t.equal(res.headers['content-type'], 'application/pdf')
      t.equal(res.headers['content-disposition'], 'attachment; filename="Relat_rio final.pdf"; filename*=UTF-8\'\'Relat%C3%B3rio%20final.pdf', 'sanitised name, UTF-8 form')
    } else {
      t.equal(res.headers['content-type'], items[i]![2])
      t.equal(res.headers['content-disposition'], 'inline')
    }
    t.equal((await get(w.app, `/media/${id}`, w.owner.cookie)).statusCode, 200, 'the owner too')
    const outsider = await get(w.app, `/media/${id}`, w.outsiderCookie)
    t.equal(outsider.statusCode, 404, `${kind}: another workspace's owner gets 404`)
    t.equal(outsider.body.indexOf(canary), -1)
    const anonymous = await get(w.app, `/media/${id}`)
    t.equal(anonymous.statusCode, 303)
    t.match(anonymous.headers.location, /^\/login\?next=/)
  }
  t.equal(statSync(join(w.dataDir, 'media', w.owner.workspaceId)).mode & 0o777, 0o700, 'folder mode 0700')
  t.same(readdirSync(join(w.dataDir, 'media', w.owner.workspaceId)).filter(n => n.startsWith('.')), [], 'no temporary files left')
  t.equal(w.settled.length, items.length, 'media.settled once per item')
  t.ok(w.settled.every(e => e.conversationId === w.conversationId && e.workspaceId === w.owner.workspaceId))
  const downloads = w.fake.requests.filter(r => r.path.startsWith('/media-bytes/'))
  t.equal(downloads.length, items.length)
  t.ok(downloads.every(r => r.headers.authorization === `Bearer ${token}`), 'downloads carry the channel token')
  t.notOk(w.logs.some(l => l.includes(canary) || l.includes('Relat')), 'no bytes or file names in the log')
  t.same(w.issues(), [], 'no channel issue')
})

t.test('the serving route: pending 202, failed 410, unknown and malformed ids 404, ranges', async (t) => {
  const w = await world(t)
  const bytes = filler(150_000)
  const { id } = w.queue('video', { bytes, mimeType: 'video/mp4' })
  const pending = await get(w.app, `/media/${id}`, w.agentCookie)
  t.equal(pending.statusCode, 202)
  t.equal(pending.headers['retry-after'], '5')
  t.equal(pending.headers['cache-control'], 'no-store')
  t.match(pending.headers['content-security-policy'], /script-src 'self'/, 'short answers keep the page CSP')
  await w.worker.runOnce()
  t.equal(w.row(id).status, 'stored')
  for (const bad of ['x', newId(), '../../etc/passwd', id.toLowerCase()]) {
    t.equal((await get(w.app, `/media/${encodeURIComponent(bad)}`, w.agentCookie)).statusCode, 404, bad)
  }

  const range = async (header: string, extra: Record<string, string> = {}) => await get(w.app, `/media/${id}`, w.agentCookie, { range: header, ...extra })
  let res = await range('bytes=0-9')
  t.equal(res.statusCode, 206)
  t.equal(res.headers['content-range'], `bytes 0-9/${bytes.length}`)
  t.equal(res.headers['content-length'], '10')
  t.ok(res.rawPayload.equals(bytes.subarray(0, 10)))
  res = await range('bytes=65530-131080') // across two chunk boundaries
  t.equal(res.statusCode, 206)
  t.ok(res.rawPayload.equals(bytes.subarray(65530, 131081)))
  res = await range('bytes=-5')
  t.ok(res.rawPayload.equals(bytes.subarray(bytes.length - 5)))
  t.equal(res.headers['content-range'], `bytes ${bytes.length - 5}-${bytes.length - 1}/${bytes.length}`)
  res = await range('bytes=149990-')
  t.ok(res.rawPayload.equals(bytes.subarray(149990)))
  res = await range('bytes=100-999999999')
  t.equal(res.headers['content-range'], `bytes 100-${bytes.length - 1}/${bytes.length}`)
  t.equal(res.rawPayload.length, bytes.length - 100)
  res = await range(`bytes=${bytes.length}-`)
  t.equal(res.statusCode, 416)
  t.equal(res.headers['content-range'], `bytes */${bytes.length}`)
  res = await range('bytes=0-1,5-6')
  t.equal(res.statusCode, 200, 'several ranges: the whole file')
  t.equal(res.rawPayload.length, bytes.length)
  res = await range('bytes=0-9', { 'if-range': '"something-else"' })
  t.equal(res.statusCode, 200, 'If-Range that does not match: the whole file')
  res = await range('bytes=0-9', { 'if-range': String(res.headers.etag) })
  t.equal(res.statusCode, 206, 'matching If-Range: the range')
  res = await get(w.app, `/media/${id}`, w.agentCookie, { 'if-none-match': `"m-${id}"` })
  t.equal(res.statusCode, 304)
  const head = await w.app.inject({ method: 'HEAD', url: `/media/${id}`, headers: { cookie: w.agentCookie } })
  t.equal(head.statusCode, 200)
  t.equal(head.headers['content-length'], String(bytes.length), JSON.stringify(head.headers))
  t.equal(head.rawPayload.length, 0)

  t.same(parseRange('bytes=5-2', 10), undefined, 'an inverted range is ignored')
  t.same(parseRange('bytes=-0', 10), 'unsatisfiable')
  t.same(parseRange('bytes=0-', 0), 'unsatisfiable')
  t.same(parseRange('items=0-1', 10), undefined)
  t.same(parseRange('bytes=-', 10), undefined)

  // A failed item answers 410.
  const gone = w.queue('image', null)
  await w.worker.runOnce()
  t.equal(w.row(gone.id).status, 'failed')
  t.equal((await get(w.app, `/media/${gone.id}`, w.agentCookie)).statusCode, 410)
})

t.test('sha256: a mismatch is retried once, a second one fails; webhook and metadata must agree', async (t) => {
  const w = await world(t)
  const bytes = png('tampered')
  const { id } = w.queue('image', { bytes, mimeType: 'image/png', metadata: { sha256: sha256Hex('something else') } }, { sha256Base64: null })
  await w.worker.runOnce()
  t.match(w.row(id), { status: 'pending', attempts: 1, lastError: /^sha256 mismatch/, nextAttemptAt: w.clock.now() + 1000 })
  t.notOk(existsSync(mediaFilePath(w.dataDir, w.owner.workspaceId, id)), 'nothing stored')
  t.same(readdirSync(join(w.dataDir, 'media', w.owner.workspaceId)), [], 'the temporary file is gone')
  w.clock.advance(1000)
  await w.worker.runOnce()
  t.match(w.row(id), { status: 'failed', attempts: 2, lastError: /^sha256 mismatch.*\(twice\)$/ })
  t.equal(w.issues().length, 1, 'one channel issue for the item')
  t.match(w.issues()[0], { source: 'media', title: 'A image could not be downloaded' })
  t.equal(w.settled.length, 1, 'settled once it failed for good')

  // The webhook's hash (base64) disagrees with the bytes Meta serves.
  const other = w.queue('image', { bytes: png('x'), mimeType: 'image/png' }, { sha256Base64: Buffer.from(sha256Hex('not these bytes'), 'hex').toString('base64') })
  await w.worker.runOnce()
  t.match(w.row(other.id), { status: 'pending', lastError: /^sha256 mismatch/ })
  w.clock.advance(1000)
  await w.worker.runOnce()
  t.equal(w.row(other.id).status, 'failed')

  // A good webhook hash and no metadata hash: checked against the webhook's.
  const good = png('fine')
  const ok = w.queue('image', { bytes: good, mimeType: 'image/png', metadata: { sha256: null } })
  t.equal(w.row(ok.id).sha256, sha256Hex(good), 'queueMedia stored the webhook hash as hex')
  await w.worker.runOnce()
  t.equal(w.row(ok.id).status, 'stored')
})

t.test('size caps: by metadata, by Content-Length and while streaming', async (t) => {
  const w = await world(t)
  const big = Buffer.concat([webp(), filler(mediaMaxBytes.sticker)])
  const byMeta = w.queue('sticker', { bytes: webp(), mimeType: 'image/webp', metadata: { fileSize: mediaMaxBytes.sticker + 1 } })
  const byHeader = w.queue('sticker', { bytes: big, mimeType: 'image/webp', metadata: { fileSize: null } })
  const byStream = w.queue('sticker', { bytes: big, mimeType: 'image/webp', metadata: { fileSize: null }, download: { contentLength: 'omit' } })
  const justFits = w.queue('sticker', { bytes: Buffer.concat([webp(), filler(mediaMaxBytes.sticker - webp().length)]), mimeType: 'image/webp' })
  await w.worker.runOnce()
  t.match(w.row(byMeta.id), { status: 'failed', lastError: /too large/ })
  t.match(w.row(byHeader.id), { status: 'failed', lastError: /exceeds the 512000 byte limit/ })
  t.match(w.row(byStream.id), { status: 'failed', lastError: /more than the 512000 byte limit/ })
  t.match(w.row(justFits.id), { status: 'stored', size: mediaMaxBytes.sticker })
  t.equal(w.fake.requests.filter(r => r.path === `/media-bytes/${byMeta.graphId}`).length, 0, 'too large by metadata: never downloaded')
  t.equal(w.issues().length, 3)
})

t.test('MIME allowlist per kind: metadata type and served Content-Type', async (t) => {
  const w = await world(t)
  const html = w.queue('image', { bytes: Buffer.from('<script>alert(1)</script>'), mimeType: 'text/html' })
  const svg = w.queue('sticker', { bytes: Buffer.from('<svg onload=alert(1)>'), mimeType: 'image/svg+xml' })
  const servedHtml = w.queue('image', { bytes: png(), mimeType: 'image/png', download: { contentType: 'text/html; charset=utf-8' } })
  const octet = w.queue('image', { bytes: png(), mimeType: 'image/png', download: { contentType: 'application/octet-stream' } })
  const pageOk = w.queue('image', { bytes: png(), mimeType: 'image/png', download: { htmlStatus: 200 } })
  await w.worker.runOnce()
  t.match(w.row(html.id), { status: 'failed', lastError: /MIME type that is not allowed \(text\/html\)/ })
  t.match(w.row(svg.id), { status: 'failed', lastError: /image\/svg\+xml/ })
  t.match(w.row(servedHtml.id), { status: 'failed', lastError: /content type text\/html is not allowed/ })
  t.match(w.row(pageOk.id), { status: 'failed', lastError: /content type text\/html is not allowed/ }, 'an HTML page answered with 200')
  t.match(w.row(octet.id), { status: 'stored', mimeType: 'image/png' }, 'a generic Content-Type passes; the metadata type is stored')
  const res = await get(w.app, `/media/${octet.id}`, w.agentCookie)
  t.equal(res.headers['content-type'], 'image/png')
  t.equal(res.headers['content-disposition'], 'inline')
})

t.test('a 5xx is retried after the backoff (fake clock), then stored', async (t) => {
  const w = await world(t)
  const bytes = png('retry')
  const { id, graphId } = w.queue('image', { bytes, mimeType: 'image/png' })
  w.fake.script(`/media-bytes/${graphId}`, { status: 503 })
  await w.worker.runOnce()
  const first = w.row(id)
  t.match(first, { status: 'pending', attempts: 1, leaseUntil: null, lastError: /HTTP 503/ })
  t.ok(first.nextAttemptAt > w.clock.now() && first.nextAttemptAt <= w.clock.now() + mediaRetryBaseMs, 'first retry within 30 s')
  t.equal(await w.worker.runOnce(), 0, 'not due yet')
  w.clock.set(first.nextAttemptAt)
  w.fake.script(`/v25.0/${graphId}`, { status: 502 })
  await w.worker.runOnce()
  const second = w.row(id)
  t.match(second, { status: 'pending', attempts: 2, lastError: /HTTP 502/ }, 'a 5xx on the metadata call too')
  t.ok(second.nextAttemptAt - w.clock.now() <= 2 * mediaRetryBaseMs)
  w.clock.set(second.nextAttemptAt)
  w.fake.script(`/v25.0/${graphId}`, { error: 'error-130429-throughput', retryAfter: 120 })
  await w.worker.runOnce()
  t.ok(w.row(id).nextAttemptAt - w.clock.now() >= 120_000, 'Retry-After is honoured')
  w.clock.set(w.row(id).nextAttemptAt)
  await w.worker.runOnce()
  t.match(w.row(id), { status: 'stored', attempts: 4, lastError: null })
  t.ok((await get(w.app, `/media/${id}`, w.agentCookie)).rawPayload.equals(bytes))
  t.same(w.issues(), [], 'temporary failures are not channel issues')

  t.equal(mediaRetryDelay(1, (_min, max) => max - 1), 30_000)
  t.equal(mediaRetryDelay(5, (_min, max) => max - 1), 480_000)
  t.equal(mediaRetryDelay(20, (_min, max) => max - 1), 3_600_000, 'capped at 1 h')
  t.equal(mediaRetryDelay(3, () => 0), 1000, 'at least 1 s')
})

t.test('temporary failures give up after 24 h', async (t) => {
  const w = await world(t)
  const { id, graphId } = w.queue('audio', { bytes: Buffer.from('ID3xx'), mimeType: 'audio/mpeg' })
  w.fake.script(`/media-bytes/${graphId}`, { status: 500, times: 100 })
  await w.worker.runOnce()
  t.equal(w.row(id).status, 'pending')
  w.clock.advance(mediaGiveUpAfterMs)
  await w.worker.runOnce()
  t.match(w.row(id), { status: 'failed', lastError: /^gave up after 24 h: .*HTTP 500/ })
  t.equal(w.issues().length, 1)
})

t.test('Graph "not found" (an expired media id) fails at once; a token error waits for the channel', async (t) => {
  const w = await world(t)
  const expired = w.queue('document', null)
  await w.worker.runOnce()
  t.match(w.row(expired.id), { status: 'failed', attempts: 1, lastError: /#100\/33/ })
  t.match(w.issues(), [{ source: 'media', code: 100 }])

  const a = w.queue('image', { bytes: png('a'), mimeType: 'image/png' })
  w.fake.script(`/v25.0/${a.graphId}`, { error: 'error-190-token-expired' })
  await w.worker.runOnce()
  t.match(w.row(a.id), { status: 'pending', attempts: 0, nextAttemptAt: w.clock.now() + mediaReconnectRecheckMs })
  const channel = w.deps.db.select().from(channels).where(eq(channels.id, w.channel.id)).get()!
  t.equal(channel.status, 'needs_reconnect', 'the 190 marked the channel')
  t.equal(w.issues().filter(i => i.code === 190).length, 1, 'recorded once')

  // While the channel needs reconnecting, its media is skipped without a request.
  const b = w.queue('image', { bytes: png('b'), mimeType: 'image/png' })
  const before = w.fake.requests.length
  w.clock.advance(mediaReconnectRecheckMs)
  await w.worker.runOnce()
  t.equal(w.fake.requests.length, before, 'no Graph call for a channel that needs reconnecting')
  t.match(w.row(a.id), { status: 'pending', attempts: 0, lastError: /^waiting for the channel: it needs reconnecting/ })
  t.match(w.row(b.id), { status: 'pending', attempts: 0, nextAttemptAt: w.clock.now() + mediaReconnectRecheckMs })
  t.equal(w.issues().filter(i => i.code === 190).length, 1, 'still recorded once')

  // An item in an ordinary backoff on the same channel.
  const c = w.queue('image', { bytes: png('c'), mimeType: 'image/png' })
  w.deps.db.update(media).set({ nextAttemptAt: w.clock.now() + 60_000, lastError: 'Graph GET media …: HTTP 503' }).where(eq(media.id, c.id)).run()
  // Reconnected: the waiting items become due at once; the one in backoff keeps its time.
  w.deps.db.update(channels).set({ status: 'active' }).where(eq(channels.id, w.channel.id)).run()
  w.deps.events.emit('channel.changed', { workspaceId: w.owner.workspaceId, channelId: w.channel.id })
  t.equal(w.row(a.id).nextAttemptAt, w.clock.now())
  t.equal(w.row(c.id).nextAttemptAt, w.clock.now() + 60_000, 'backoff untouched')
  await w.worker.runOnce()
  t.equal(w.row(a.id).status, 'stored')
  t.equal(w.row(b.id).status, 'stored')
  t.equal(w.row(c.id).status, 'pending')
})

t.test('SSRF: redirects, non-https, hosts off the allowlist and private addresses are refused', async (t) => {
  const w = await world(t, { 'whatsapp.media_hosts': '*.fbsbx.com,localhost,127.0.0.1' })
  const cases: Array<[FakeMedia, RegExp]> = [
    [{ bytes: png(), mimeType: 'image/png', download: { redirect: 'http://169.254.169.254/latest/meta-data/' } }, /redirect \(HTTP 302\)/],
    [{ bytes: png(), mimeType: 'image/png', metadata: { url: 'http://169.254.169.254/latest/meta-data/' } }, /not https/],
    [{ bytes: png(), mimeType: 'image/png', metadata: { url: 'https://evil.example.com/x.png' } }, /host evil\.example\.com is not an allowed media host/],
    [{ bytes: png(), mimeType: 'image/png', metadata: { url: 'https://169.254.169.254/x' } }, /host 169\.254\.169\.254 is not an allowed media host/],
    [{ bytes: png(), mimeType: 'image/png', metadata: { url: 'https://localhost/x.png' } }, /localhost resolves to a loopback address/],
    [{ bytes: png(), mimeType: 'image/png', metadata: { url: 'https://127.0.0.1/x.png' } }, /127\.0\.0\.1 resolves to a loopback address/],
    [{ bytes: png(), mimeType: 'image/png', metadata: { url: 'https://2130706433/x.png' } }, /loopback address/],
    [{ bytes: png(), mimeType: 'image/png', metadata: { url: 'https://127.0.0.1:8443/x.png' } }, /port 8443 is not allowed/],
    [{ bytes: png(), mimeType: 'image/png', metadata: { url: 'file:///etc/passwd' } }, /not https/]
  ]
  const ids = cases.map(([item]) => w.queue('image', item).id)
  await w.worker.runOnce()
  for (const [i, [, reason]] of cases.entries()) t.match(w.row(ids[i]!), { status: 'failed', attempts: 1, lastError: reason }, String(reason))
  t.equal(w.fake.requests.filter(r => r.path.includes('meta-data')).length, 0, 'the redirect was not followed')
  t.equal(w.issues().length, cases.length, 'one issue per item that failed for good')
})

t.test('a stalled download is cut off and retried', async (t) => {
  const w = await world(t, { 'whatsapp.graph_timeout_seconds': '1' })
  const bytes = Buffer.concat([png(), filler(5000)])
  const { id, graphId } = w.queue('image', { bytes, mimeType: 'image/png', download: { stallAfterBytes: 100 } })
  const started = Date.now()
  await w.worker.runOnce()
  t.ok(Date.now() - started < 5000, 'cut off by the stall timeout')
  t.match(w.row(id), { status: 'pending', lastError: /stalled/ })
  t.same(readdirSync(join(w.dataDir, 'media', w.owner.workspaceId)), [], 'the partial file was removed')
  w.fake.setMedia(graphId, { bytes, mimeType: 'image/png' })
  w.clock.advance(mediaRetryBaseMs)
  await w.worker.runOnce()
  t.equal(w.row(id).status, 'stored')
})

t.test('stop waits for in-flight downloads, then aborts and releases them', async (t) => {
  const w = await world(t)
  const { id } = w.queue('video', { bytes: filler(100_000), mimeType: 'video/mp4', download: { chunkBytes: 1000, chunkDelayMs: 50 } })
  const pass = w.worker.runOnce()
  while (w.fake.requests.filter(r => r.path.startsWith('/media-bytes/')).length === 0) await new Promise(resolve => setTimeout(resolve, 10))
  const started = Date.now()
  await w.worker.stop()
  t.ok(Date.now() - started < 2000, 'stopped after the grace period')
  await pass
  t.match(w.row(id), { status: 'pending', attempts: 0, leaseUntil: null, nextAttemptAt: w.clock.now() }, 'released for the next start')
  t.same(readdirSync(join(w.dataDir, 'media', w.owner.workspaceId)), [], 'no partial file')
})

t.test('two downloads run at once, never more', async (t) => {
  const w = await world(t)
  const ids = [1, 2, 3, 4].map(() => w.queue('video', { bytes: filler(4000), mimeType: 'video/mp4', download: { chunkBytes: 500, chunkDelayMs: 25 } }).id)
  let most = 0
  const leased = (): number => (w.deps.sqlite.prepare('SELECT count(*) AS n FROM media WHERE lease_until IS NOT NULL').get() as { n: number }).n
  const poll = setInterval(() => { most = Math.max(most, leased()) }, 5)
  t.equal(await w.worker.runOnce(), 4)
  clearInterval(poll)
  t.equal(most, 2, 'at most two items leased (in flight) at any moment, and two did overlap')
  t.ok(ids.every(id => w.row(id).status === 'stored'))
})

t.test('a lease lost to a crash is taken over after it expires', async (t) => {
  const w = await world(t)
  const { id } = w.queue('image', { bytes: png(), mimeType: 'image/png' })
  // A worker leased the item and died.
  w.deps.db.update(media).set({ leaseUntil: w.clock.now() + 60_000, attempts: 1 }).where(eq(media.id, id)).run()
  t.equal(await w.worker.runOnce(), 0, 'a live lease is respected')
  w.clock.advance(60_001)
  t.equal(await w.worker.runOnce(), 1)
  t.match(w.row(id), { status: 'stored', attempts: 2 })
})

t.test('queueMedia: base64 → hex, and an item without a media id fails at once', async (t) => {
  const w = await world(t)
  const { id } = w.queue('image', { bytes: png(), mimeType: 'image/png' })
  t.match(w.row(id), { status: 'pending', sha256: sha256Hex(png()), nextAttemptAt: w.clock.now(), attempts: 0 })
  const at = w.clock.now()
  const message = w.deps.db.insert(messages).values({ workspaceId: w.owner.workspaceId, conversationId: w.conversationId, channelId: w.channel.id, direction: 'in', type: 'document', content: '{}', status: 'received', timestamp: at, createdAt: at, updatedAt: at }).returning().get()
  const none = queueMedia(w.deps.db, { workspaceId: w.owner.workspaceId, messageId: message.id, channelId: w.channel.id, graphMediaId: null, kind: 'document', mimeType: 'application/pdf', sha256Base64: 'garbage', fileName: 'a.pdf' }, at)
  t.match(w.row(none), { status: 'failed', sha256: null, lastError: /no media id/ })
  const raw = w.deps.sqlite.prepare('SELECT file_name FROM media WHERE id = ?').get(none) as { file_name: string }
  t.notOk(raw.file_name.includes('a.pdf'), 'the file name is encrypted at rest')
  t.equal(await w.worker.runOnce(), 1, 'only the pending item is attempted')
})

t.test('key rotation re-wraps the files; they open with the new key alone', async (t) => {
  const w = await world(t)
  const bytes = Buffer.concat([Buffer.from('%PDF'), filler(70_000)])
  const { id } = w.queue('document', { bytes, mimeType: 'application/pdf' })
  await w.worker.runOnce()
  const path = mediaFilePath(w.dataDir, w.owner.workspaceId, id)
  const oldKey = Buffer.alloc(32, 7)
  const newKey = Buffer.alloc(32, 9)
  const during = new Keyring(newKey, [oldKey])
  const before = readFileSync(path)
  const first = await rewrapMediaFiles(w.deps.db, w.dataDir, during)
  t.same(first, { rewrapped: 1, current: 0, missing: 0, failed: [] })
  const after = readFileSync(path)
  t.ok(after.subarray(76).equals(before.subarray(76)), 'chunks unchanged')
  t.equal(after.subarray(4, 12).toString(), during.current.id)
  t.same(await rewrapMediaFiles(w.deps.db, w.dataDir, during), { rewrapped: 0, current: 1, missing: 0, failed: [] }, 'resumable: nothing left to do')
  const onlyNew = new Keyring(newKey)
  t.same(await rewrapMediaFiles(w.deps.db, w.dataDir, new Keyring(Buffer.alloc(32, 5))), { rewrapped: 0, current: 0, missing: 0, failed: [{ workspaceId: w.owner.workspaceId, id }] }, 'a key that opens nothing is reported')
  const { openMediaFile } = await import('./media.files.js')
  const file = await openMediaFile(w.dataDir, w.owner.workspaceId, id, onlyNew)
  const parts: Buffer[] = []
  for await (const c of file.stream(0, file.size - 1)) parts.push(c as Buffer)
  t.ok(Buffer.concat(parts).equals(bytes), 'opens with the new key only')
})

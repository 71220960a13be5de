// The inbox in a real browser: a member opens it, a webhook arrives and the list and the open thread
// update without a reload (SSE doorbell → htmx refetch) and catch up after a drop, j/k move between conversations, and at phone
// width the panes come one at a time (list → thread → contact). Screenshots: the empty inbox, a busy
// inbox, a thread with every message type, a failed send, phone widths and dark mode.
import { deflateSync, crc32 } from 'node:zlib'
import { join } from 'node:path'
import t from 'tap'
import type { BrowserContext, Page } from 'playwright-core'
import { browserApp, screenshotDir, signInThroughForm, watchedPage, type BrowserApp } from '../helpers/browser.js'
import { addMember, createUser } from '../helpers/accounts.js'
import { deliver, envelope, message, messagesValue, status, fixtureSecret, type Sender } from '../helpers/whatsapp.js'
import { startFakeGraph, type FakeGraph } from '../../src/platform/whatsapp/fake-graph.js'
import { createChannel, type Channel } from '../../src/features/channels/channels.service.js'
import { processAllPending } from '../../src/features/webhooks/webhook-processor.js'
import { startMediaWorker } from '../../src/features/media/media.worker.js'
import { attachWamid, insertOutbound, type MessageContent } from '../../src/features/inbox/messaging.service.js'
import { assignConversation, createLabel, setStatus } from '../../src/features/inbox/conversations.service.js'
import { sha256Hex } from '../../src/platform/crypto/index.js'
import { conversations, contacts, memberships } from '../../src/db/schema.js'
import { and, eq } from 'drizzle-orm'

const token = 'EAAG-inbox-browser-token-0001'
const waba = '109876543210001'
const phoneNumberId = '110000000000101'
const minute = 60_000
const hour = 60 * minute
/** Thursday 12 March 2026, 14:30 UTC: "now" for the seeded inbox. */
const now = Date.UTC(2026, 2, 12, 14, 30)

/** A small PNG drawn by `paint` (RGB per pixel): product photos for the screenshots. */
function png (width: number, height: number, paint: (x: number, y: number) => [number, number, number]): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0
    for (let x = 0; x < width; x++) {
      const [r, g, b] = paint(x, y)
      const o = y * (width * 3 + 1) + 1 + x * 3
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type), data])
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td) >>> 0)
    return Buffer.concat([len, td, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr[8] = 8; ihdr[9] = 2
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

/** A tote bag on a warm backdrop. */
const photo = (): Buffer => png(480, 360, (x, y) => {
  const bag = x > 150 && x < 330 && y > 120 && y < 310
  const handle = Math.abs(Math.hypot(x - 240, y - 125) - 55) < 7 && y < 125
  if (bag || handle) return [38 + (y % 7), 84, 96 + (x % 5)]
  const shade = Math.round(30 * (y / 360))
  return [236 - shade, 220 - shade, 196 - shade]
})
/**
 * A smiley sticker: a lossless WebP (VP8L) with two colours per channel, written by hand — each
 * channel gets a "simple" Huffman code of two symbols, so every pixel costs one bit per channel.
 */
function sticker (): Buffer {
  const inside = (x: number, y: number): boolean => {
    if (Math.hypot(x - 64, y - 64) > 56) return false
    if (Math.hypot(x - 44, y - 50) < 8 || Math.hypot(x - 84, y - 50) < 8) return false
    return !(y > 74 && Math.abs(Math.hypot(x - 64, y - 60) - 30) < 5)
  }
  const on = [250, 196, 61, 255]
  const off = [0, 0, 0, 0]
  const bits: number[] = []
  const put = (value: number, n: number): void => { for (let i = 0; i < n; i++) bits.push((value >> i) & 1) }
  put(0x2f, 8); put(127, 14); put(127, 14); put(1, 1); put(0, 3) // signature, 128×128, alpha, version 0
  put(0, 1); put(0, 1); put(0, 1) // no transform, no colour cache, no meta codes
  const channels = [1, 0, 2, 3] // green, red, blue, alpha
  const symbols = channels.map(c => [Math.min(on[c]!, off[c]!), Math.max(on[c]!, off[c]!)] as const)
  for (const [a, b] of symbols) { put(1, 1); put(1, 1); put(1, 1); put(a, 8); put(b, 8) }
  put(1, 1); put(0, 1); put(0, 1); put(0, 1) // distance code: one symbol
  for (let y = 0; y < 128; y++) {
    for (let x = 0; x < 128; x++) {
      const px = inside(x, y) ? on : off
      channels.forEach((c, i) => put(px[c] === symbols[i]![1] ? 1 : 0, 1))
    }
  }
  const data = Buffer.alloc(Math.ceil(bits.length / 8))
  bits.forEach((b, i) => { if (b === 1) data[i >> 3]! |= 1 << (i & 7) })
  const chunk = Buffer.alloc(8); chunk.write('VP8L', 0); chunk.writeUInt32LE(data.length, 4)
  const riff = Buffer.alloc(12); riff.write('RIFF', 0); riff.writeUInt32LE(4 + 8 + data.length + (data.length % 2), 4); riff.write('WEBP', 8)
  return Buffer.concat([riff, chunk, data, Buffer.alloc(data.length % 2)])
}

interface Seeded { ownerId: string, agentId: string, maria: string, lucas: string, busy: string[] }

interface World extends BrowserApp { fake: FakeGraph, channel: Channel, owner: { email: string, password: string, id: string }, url: string }

async function world (t: Parameters<typeof browserApp>[0]): Promise<World | undefined> {
  const fake = await startFakeGraph({ accessToken: token })
  t.teardown(() => fake.close())
  const env = await browserApp(t, { set: { 'whatsapp.graph_base_url': fake.url, 'storage.data_dir': join(t.testdir({}), 'data') } })
  if (env === undefined) return undefined
  env.clock.set(now - 3 * 24 * hour)
  const owner = await createUser(env.deps, { name: 'Ana Souza', workspace: 'Souza Imports' })
  const channel = createChannel(env.deps.db, owner.workspaceId!, { name: 'Main number', wabaId: waba, phoneNumberId, accessToken: token, appSecret: fixtureSecret, graphApiVersion: 'v25.0', displayPhoneNumber: '+1 555-010-0100' }, env.clock.now())
  return { ...env, fake, channel, owner: { ...owner }, url: `/webhooks/whatsapp/${channel.publicId}` }
}

/** Seeds a busy inbox: nine customers, every message type, outbound ticks, a failed send, notes, labels. */
async function seed (w: World): Promise<Seeded> {
  const { deps } = w
  const ws = w.channel.workspaceId
  const agent = await createUser(deps, { name: 'Bruno Lima' })
  addMember(deps, ws, agent.id, 'agent')
  let seq = 0
  let mediaSeq = 0
  const wamid = (): string => `wamid.SEED.${String(++seq).padStart(4, '0')}`
  const media = (bytes: Buffer, mimeType: string): Record<string, string> => {
    const id = `seed-media-${++mediaSeq}`
    w.fake.setMedia(id, { bytes, mimeType })
    return { id, mime_type: mimeType, sha256: Buffer.from(sha256Hex(bytes), 'hex').toString('base64') }
  }
  const at = (ms: number): number => Math.floor(ms / 1000)
  const send = async (who: Sender, items: unknown[]): Promise<void> => {
    const res = await deliver(w, w.url, envelope(messagesValue([who], { messages: items })))
    if (res.statusCode !== 200) throw new Error(`webhook ${res.statusCode}`)
    processAllPending(deps)
  }
  const statuses = async (items: unknown[]): Promise<void> => {
    await deliver(w, w.url, envelope(messagesValue([], { statuses: items })))
    processAllPending(deps)
  }
  const conversationOf = (waId: string): string => {
    const contact = deps.db.select().from(contacts).where(eq(contacts.workspaceId, ws)).all().find(c => c.waId === waId || c.username === waId)!
    return deps.db.select().from(conversations).where(and(eq(conversations.workspaceId, ws), eq(conversations.contactId, contact.id))).get()!.id
  }
  const outbound = async (conversationId: string, when: number, content: MessageContent, type: string, author: string | null, states: string[], error?: Record<string, unknown>): Promise<string> => {
    w.clock.set(when)
    const m = insertOutbound(deps.db, { workspaceId: ws, conversationId, channelId: w.channel.id, type, content, authorId: author }, when)
    const id = wamid()
    attachWamid(deps.db, ws, m.id, id, when)
    await statuses(states.map((s, i) => status(id, s, at(when) + 2 + i * 30, s === 'failed' && error !== undefined ? { errors: [error] } : {})))
    return id
  }
  const note = (conversationId: string, when: number, text: string, author: string): void => {
    insertOutbound(deps.db, { workspaceId: ws, conversationId, channelId: w.channel.id, type: 'text', content: { body: { type: 'text', text } }, authorId: author, direction: 'note' }, when)
  }

  // Maria: one conversation with every message type.
  const maria: Sender = { waId: '15550100201', userId: 'US.seed0000000000201', name: 'Maria Silva' }
  const y = now - 26 * hour
  const mariaFirst = wamid()
  await send(maria, [message(mariaFirst, maria, 'text', { body: 'Hi! I ordered the *canvas tote* last week — order _#58213_. Can I still change the delivery address?' }, {}, at(y))])
  const mConv = conversationOf('15550100201')
  const hello = await outbound(mConv, y + 4 * minute, { body: { type: 'text', text: 'Hi Maria! Of course — send me the new address and I\'ll update it before it ships 🙂' } }, 'text', agent.id, ['sent', 'delivered', 'read'])
  await send(maria, [
    message(wamid(), maria, 'location', { latitude: 38.7223, longitude: -9.1393, name: 'Praça do Comércio', address: '1100-148 Lisboa, Portugal' }, {}, at(y + 6 * minute)),
    message(wamid(), maria, 'text', { body: 'Here is the tracking page I got: https://example.com/track/58213?ref=mail — it still says "processing".' }, {}, at(y + 7 * minute)),
    message(wamid(), maria, 'reaction', { message_id: hello, emoji: '❤️' }, {}, at(y + 7 * minute + 20_000))
  ])
  note(mConv, y + 10 * minute, 'VIP customer — @Ana offer free shipping on the exchange.', agent.id)
  const template = await outbound(mConv, y + 12 * minute, { body: { type: 'template', name: 'order_update', text: 'Your order #58213 is on its way! Track it at https://example.com/t/58213' } as unknown as MessageContent['body'] }, 'template', agent.id, ['sent', 'delivered'])
  await send(maria, [
    message(wamid(), maria, 'button', { payload: 'CONFIRM', text: 'Yes, that\'s right' }, { context: { from: '15550100100', id: template } }, at(y + 20 * minute)),
    message(wamid(), maria, 'image', { ...media(photo(), 'image/png'), caption: 'This is the bag — is the _strap_ adjustable?' }, {}, at(now - 3 * hour)),
    message(wamid(), maria, 'video', { ...media(Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(6000, 3)]), 'video/mp4'), caption: 'How it looks on' }, {}, at(now - 3 * hour + 30_000)),
    message(wamid(), maria, 'audio', { ...media(Buffer.concat([Buffer.from('OggS'), Buffer.alloc(4000, 1)]), 'audio/ogg; codecs=opus'), voice: true }, {}, at(now - 3 * hour + minute)),
    message(wamid(), maria, 'document', { ...media(Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(182_000, 32)]), 'application/pdf'), filename: 'invoice-58213.pdf', caption: 'My invoice' }, {}, at(now - 3 * hour + 2 * minute)),
    message(wamid(), maria, 'sticker', { ...media(sticker(), 'image/webp'), animated: false }, {}, at(now - 3 * hour + 3 * minute)),
    message(wamid(), maria, 'contacts', undefined, {
      contacts: [{ name: { formatted_name: 'João Silva', first_name: 'João' }, phones: [{ phone: '+351 912 345 678', type: 'CELL' }], emails: [{ email: 'joao@example.pt', type: 'HOME' }], org: { company: 'Silva & Filhos' } }]
    }, at(now - 2 * hour)),
    message(wamid(), maria, 'interactive', { type: 'list_reply', list_reply: { id: 'slot_2', title: 'Sat 10:00–12:00', description: 'Home delivery, Lisbon' } }, { context: { from: '15550100100', id: template } }, at(now - 2 * hour + minute)),
    message(wamid(), maria, 'order', { catalog_id: 'CAT1', text: 'And add these please!', product_items: [{ product_retailer_id: 'TOTE-NAVY', quantity: 1, item_price: 39.9, currency: 'EUR' }, { product_retailer_id: 'STRAP-LEATHER', quantity: 2, item_price: 12.5, currency: 'EUR' }] }, {}, at(now - 2 * hour + 2 * minute)),
    message(wamid(), maria, 'text', { body: 'Sounds good 👍' }, { context: { from: '15550100100', id: hello } }, at(now - 90 * minute)),
    message(wamid(), maria, 'text', { body: 'Look at this deal my friend sent me' }, { context: { forwarded: true } }, at(now - 80 * minute)),
    message(wamid(), maria, 'unsupported', { type: 'poll' }, { errors: [{ code: 131051, title: 'Message type unknown' }] }, at(now - 70 * minute))
  ])
  const typo = wamid()
  const oops = wamid()
  await send(maria, [
    message(typo, maria, 'text', { body: 'The flat is 3rd floor, door B' }, {}, at(now - 60 * minute)),
    message(oops, maria, 'text', { body: 'oops wrong chat' }, {}, at(now - 59 * minute)),
    message(wamid(), maria, 'edit', { original_message_id: typo, message: { type: 'text', text: { body: 'The flat is on the 3rd floor, door *B*' } } }, {}, at(now - 58 * minute)),
    message(wamid(), maria, 'revoke', { original_message_id: oops }, {}, at(now - 57 * minute))
  ])
  await outbound(mConv, now - 50 * minute, { body: { type: 'text', text: 'Done! The new address is saved and the strap is adjustable (70–120 cm).' } }, 'text', w.owner.id, ['sent', 'delivered'])
  await send(maria, [message(wamid(), maria, 'text', { body: 'Perfect, thank you so much! 🙏\nSee you next time.' }, {}, at(now - 4 * minute))])

  // A busy list around her.
  const others: Array<{ who: Sender, items: (t: number) => unknown[], when: number }> = [
    { who: { waId: '15550100202', userId: 'US.seed0000000000202', name: 'James Carter' }, when: now - 12 * minute, items: (t) => [message(wamid(), {}, 'image', { ...media(photo(), 'image/png'), caption: 'Is this the right size for a 15" laptop?' }, {}, t), message(wamid(), {}, 'text', { body: 'Also, do you ship to Dublin?' }, {}, t + 30)] },
    { who: { waId: '15550100203', userId: 'US.seed0000000000203', name: 'Aiko Tanaka' }, when: now - 23 * hour, items: (t) => [message(wamid(), {}, 'audio', { ...media(Buffer.concat([Buffer.from('OggS'), Buffer.alloc(3000, 2)]), 'audio/ogg; codecs=opus'), voice: true }, {}, t)] },
    { who: { waId: '15550100204', userId: 'US.seed0000000000204', name: 'Lucas Moreau' }, when: now - 50 * hour, items: (t) => [message(wamid(), {}, 'text', { body: 'Bonjour ! Do you have the tote in green?' }, {}, t)] },
    { who: { waId: '15550100205', userId: 'US.seed0000000000205', name: 'Priya Raman' }, when: now - 5 * hour, items: (t) => [message(wamid(), {}, 'text', { body: 'Can I pay on delivery?' }, {}, t)] },
    { who: { waId: '447700900222', userId: 'US.seed0000000000222', name: 'عمر حداد' }, when: now - 40 * minute, items: (t) => [message(wamid(), {}, 'text', { body: 'مرحبا، هل طلبي جاهز للاستلام؟' }, {}, t)] },
    { who: { userId: 'US.seed0000000000300', username: 'lina.k', name: 'Lina K' }, when: now - 2 * 24 * hour, items: (t) => [message(wamid(), {}, 'location', { latitude: 52.52, longitude: 13.405, name: 'Alexanderplatz' }, {}, t)] },
    { who: { waId: '15550100155', userId: 'US.seed0000000000155', name: 'Kenji Mori' }, when: now - 7 * 24 * hour, items: (t) => [message(wamid(), {}, 'document', { ...media(Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(52_000, 32)]), 'application/pdf'), filename: 'purchase-order-1187.pdf' }, {}, t)] },
    { who: { waId: '15550100206', userId: 'US.seed0000000000206', name: 'Sofia Rossi' }, when: now - 32 * hour, items: (t) => [message(wamid(), {}, 'text', { body: 'Thanks, received it!' }, {}, t)] }
  ]
  for (const o of others) {
    w.clock.set(o.when)
    const items = o.items(at(o.when)).map(m => ({ ...(m as Record<string, unknown>), ...(o.who.waId != null ? { from: o.who.waId } : {}), from_user_id: o.who.userId }))
    await send(o.who, items)
  }
  const lucas = conversationOf('15550100204')
  await outbound(lucas, now - 2 * hour, { body: { type: 'text', text: 'Hi Lucas, yes — the green one is back in stock. Want me to reserve it?' } }, 'text', agent.id, ['failed'], { code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' } })
  w.clock.set(now)
  const actor = { userId: w.owner.id, workspaceId: ws, role: 'owner' as const }
  const james = conversationOf('15550100202')
  assignConversation(deps, actor, james, agent.id)
  assignConversation(deps, actor, mConv, w.owner.id)
  assignConversation(deps, actor, conversationOf('15550100155'), agent.id)
  createLabel(deps, actor, 'VIP', mConv)
  createLabel(deps, actor, 'Exchange', mConv)
  createLabel(deps, actor, 'Wholesale', conversationOf('15550100155'))
  createLabel(deps, actor, 'Shipping', james)
  setStatus(deps, actor, conversationOf('15550100205'), 'pending')
  // Media: download what the fake holds.
  const worker = startMediaWorker(deps, { pollMs: 3_600_000, stopGraceMs: 200 })
  for (let i = 0; i < 6; i++) if (await worker.runOnce() === 0) break
  await worker.stop()
  return { ownerId: w.owner.id, agentId: agent.id, maria: mConv, lucas, busy: [james] }
}

/** A screenshot of the viewport (the inbox fills it; its panes scroll inside). */
async function shoot (page: Page, path: string): Promise<void> {
  await page.waitForTimeout(150)
  await page.screenshot({ path, caret: 'initial' })
}

t.test('the inbox lives: a webhook updates the list and the open thread without a reload, catches up after a drop; j/k move', async (t) => {
  t.setTimeout(180_000)
  const w = await world(t)
  if (w === undefined) return
  const shots = screenshotDir(t)
  const seeded = await seed(w)
  w.clock.set(now)
  const context = await w.browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, w.base, w.owner)
  await page.waitForURL(/\/inbox$/)
  t.equal(await page.locator('#inbox-list .row').count(), 8, 'eight open conversations (Priya is pending)')
  await shoot(page, join(shots, 'inbox-busy.png'))

  await page.locator(`#row-${seeded.maria} .row-link`).click()
  await page.waitForURL(new RegExp(`/inbox/${seeded.maria}$`))
  await page.locator('#thread .msg').first().waitFor()
  t.match(await page.locator('#conv-header').innerText(), /Maria Silva/)
  await shoot(page, join(shots, 'inbox-conversation.png'))

  // A customer writes; another starts a conversation. Nothing is reloaded.
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 42 })
  const news = { waId: '15550100201', userId: 'US.seed0000000000201', name: 'Maria Silva' }
  const newcomer = { waId: '15550100299', userId: 'US.seed0000000000299', name: 'Noah Becker' }
  await deliver(w, w.url, envelope(messagesValue([news, newcomer], {
    messages: [
      message('wamid.LIVE.1', news, 'text', { body: 'One more thing: can you gift-wrap it?' }, {}, Math.floor(now / 1000) + 10),
      message('wamid.LIVE.2', newcomer, 'text', { body: 'Hello! Are you open on Sundays?' }, {}, Math.floor(now / 1000) + 12)
    ]
  })))
  processAllPending(w.deps)
  await page.locator('#thread').getByText('can you gift-wrap it?').waitFor({ timeout: 10_000 })
  t.pass('the open thread shows the new message')
  await page.locator('#inbox-list .row-name', { hasText: 'Noah Becker' }).waitFor({ timeout: 10_000 })
  t.pass('the list shows the new conversation')
  t.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'without a reload')

  // The stream drops (here: the member is briefly not a member) while a customer writes: when it
  // reconnects, the page fetches the list again and catches up.
  // The network drops while a customer writes: when the stream reconnects, the page fetches the
  // list again and catches up.
  const quiet = problems.length
  await context.setOffline(true)
  await page.waitForTimeout(500)
  const late = { waId: '15550100298', userId: 'US.seed0000000000298', name: 'Zoe Late' }
  await deliver(w, w.url, envelope(messagesValue([late], { messages: [message('wamid.LIVE.3', late, 'text', { body: 'Hi, anyone there?' }, {}, Math.floor(now / 1000) + 20)] })))
  processAllPending(w.deps)
  await page.waitForTimeout(500)
  t.equal(await page.locator('#inbox-list .row-name', { hasText: 'Zoe Late' }).count(), 0, 'while offline, nothing arrives')
  await context.setOffline(false)
  await page.locator('#inbox-list .row-name', { hasText: 'Zoe Late' }).waitFor({ timeout: 20_000 })
  t.pass('back online, the list caught up')
  // Requests that failed while offline are logged by the browser (and htmx); that is expected.
  const offline = problems.splice(quiet)
  problems.push(...offline.filter(p => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(p)))

  // The stream itself drops (the server ends it: here the member is briefly not a member) while a
  // customer writes: EventSource reconnects and the page fetches the list again.
  await page.waitForTimeout(1500)
  const membership = w.deps.db.select().from(memberships).where(eq(memberships.userId, w.owner.id)).get()!
  w.deps.db.delete(memberships).where(eq(memberships.userId, w.owner.id)).run()
  const later = { waId: '15550100297', userId: 'US.seed0000000000297', name: 'Yara Later' }
  await deliver(w, w.url, envelope(messagesValue([later], { messages: [message('wamid.LIVE.4', later, 'text', { body: 'Hello?' }, {}, Math.floor(now / 1000) + 30)] })))
  processAllPending(w.deps)
  await page.waitForTimeout(200)
  w.deps.db.insert(memberships).values(membership).run()
  t.equal(await page.locator('#inbox-list .row-name', { hasText: 'Yara Later' }).count(), 0, 'the dropped stream did not ring')
  await page.locator('#inbox-list .row-name', { hasText: 'Yara Later' }).waitFor({ timeout: 20_000 })
  t.pass('after the reconnect the list caught up')

  // j/k: next and previous conversation.
  await page.locator('body').click({ position: { x: 700, y: 400 } })
  const ids = await page.locator('#inbox-list .row').evaluateAll(rows => rows.map(r => r.getAttribute('data-conversation')))
  const at = ids.indexOf(seeded.maria)
  t.ok(at > 0, 'Maria is not the first row any more')
  const step = async (key: string, id: string | null): Promise<void> => {
    await page.keyboard.press(key)
    await page.waitForURL(new RegExp(`/inbox/${id}`))
    await page.locator(`#row-${id} .row-link[aria-current="true"]`).waitFor()
    await page.locator(`#thread[data-conversation="${id}"]`).waitFor()
  }
  await step('k', ids[at - 1]!)
  await step('j', seeded.maria)
  await step('j', ids[at + 1]!)
  t.pass('j and k move between conversations')
  t.same(problems, [], 'no CSP violations or script errors')
  await context.close()
})

/** The thread at its full height, every message in view. */
async function shootThread (page: Page, path: string): Promise<void> {
  const viewport = page.viewportSize()!
  const height = await page.evaluate(() => {
    const scroller = document.getElementById('thread-scroll')!
    return scroller.scrollHeight - scroller.clientHeight + window.innerHeight
  })
  await page.setViewportSize({ width: viewport.width, height: Math.min(height, 7000) })
  await page.mouse.move(1, 1)
  await shoot(page, path)
  await page.setViewportSize(viewport)
}

t.test('screenshots: empty, busy, every message type, a failed send, phone widths, dark', async (t) => {
  t.setTimeout(300_000)
  const w = await world(t)
  if (w === undefined) return
  const shots = screenshotDir(t)

  // An admin of a workspace without a number: the inbox says what to do.
  const newcomer = await createUser(w.deps, { name: 'Carla Dias', workspace: 'Dias & Filhos' })
  const fresh = await w.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC' })
  const { page: empty, problems: emptyProblems } = await watchedPage(fresh)
  await signInThroughForm(empty, w.base, newcomer)
  await empty.waitForURL(/\/inbox$/)
  t.match(await empty.locator('#inbox-list').innerText(), /Connect a WhatsApp number/)
  t.equal(await empty.locator('#inbox-list a[href="/settings/channels"]').count(), 1, 'admins get the way to connect one')
  await empty.mouse.move(1, 1)
  await shoot(empty, join(shots, 'inbox-empty.png'))
  t.same(emptyProblems, [])
  await fresh.close()

  const seeded = await seed(w)
  w.clock.set(now)
  const context = await w.browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, w.base, w.owner)
  await page.waitForURL(/\/inbox$/)

  await page.goto(`${w.base}/inbox/${seeded.maria}`)
  await page.locator('#thread .msg-type-image img').waitFor()
  await page.mouse.move(1, 1)
  await shoot(page, join(shots, 'inbox-thread.png'))
  await shootThread(page, join(shots, 'inbox-thread-every-type.png'))
  const thread = await page.locator('#thread').innerText()
  t.equal(await page.locator('#thread video.msg-video').count(), 1, 'a video player')
  t.equal(await page.locator('#thread .msg-audio.is-voice audio').count(), 1, 'a voice note player')
  t.equal(await page.locator('#thread .msg-type-sticker img').count(), 1, 'a sticker')
  for (const text of ['Praça do Comércio', 'invoice-58213.pdf', 'João Silva', 'Sat 10:00–12:00', 'Total', '€64.90', 'Forwarded', 'This message was deleted', 'Edited', 'isn\'t supported yet', 'VIP customer', 'Template: order_update']) {
    t.ok(thread.includes(text), `the thread shows ${text}`)
  }
  t.equal(await page.locator('#thread .reaction').count(), 1, 'the reaction sits under its message')

  // The image opens in the viewer.
  await page.locator('#thread .msg-type-image [data-viewer]').click()
  await page.locator('#media-viewer[open]').waitFor()
  await shoot(page, join(shots, 'inbox-image-viewer.png'))
  await page.keyboard.press('Escape')

  // A failed send says why and what fixes it.
  await page.goto(`${w.base}/inbox/${seeded.lucas}`)
  const failure = page.locator('.msg-failure')
  await failure.waitFor()
  t.match(await failure.innerText(), /More than 24 hours have passed/)
  t.match(await failure.innerText(), /Send a template/)
  t.match(await failure.innerText(), /131047/)
  await page.mouse.move(1, 1)
  await shoot(page, join(shots, 'inbox-failed-send.png'))

  // Keyboard help.
  await page.keyboard.press('?')
  await page.locator('#shortcuts[open]').waitFor()
  await shoot(page, join(shots, 'inbox-shortcuts.png'))
  await page.keyboard.press('Escape')
  t.same(problems, [], 'no CSP violations or script errors')
  const state = await context.storageState()
  await context.close()

  // Dark.
  const dark = await w.browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark', locale: 'en-US', timezoneId: 'UTC', storageState: state })
  const { page: d, problems: dp } = await watchedPage(dark)
  await d.goto(`${w.base}/inbox/${seeded.maria}`)
  await d.locator('#thread .msg-type-image img').waitFor()
  await d.mouse.move(1, 1)
  await shoot(d, join(shots, 'inbox-thread-dark.png'))
  await shootThread(d, join(shots, 'inbox-thread-every-type-dark.png'))
  await d.goto(`${w.base}/inbox/${seeded.lucas}`)
  await d.locator('.msg-failure').waitFor()
  await shoot(d, join(shots, 'inbox-failed-send-dark.png'))
  t.same(dp, [], 'dark: no CSP violations or script errors')
  await dark.close()

  // Tablet: the contact panel is a drawer.
  const tablet = await w.browser.newContext({ viewport: { width: 900, height: 1000 }, locale: 'en-US', timezoneId: 'UTC', storageState: state })
  const { page: tp, problems: tpp } = await watchedPage(tablet)
  await tp.goto(`${w.base}/inbox/${seeded.maria}`)
  await tp.locator('#thread .msg').first().waitFor()
  t.notOk(await tp.locator('#contact-panel').isVisible(), 'tablet: the contact panel starts closed')
  await tp.locator('.conv-panel-toggle').click()
  await tp.waitForTimeout(300)
  t.ok(await tp.locator('#contact-panel').isVisible(), 'tablet: it opens as a drawer')
  await shoot(tp, join(shots, 'inbox-tablet-drawer.png'))
  t.same(tpp, [], 'tablet: no CSP violations or script errors')
  await tablet.close()

  // Phone: one pane at a time — list → thread → contact, with back buttons.
  for (const scheme of ['light', 'dark'] as const) {
    const phone: BrowserContext = await w.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: scheme, locale: 'en-US', timezoneId: 'UTC', storageState: state })
    const { page: p, problems: pp } = await watchedPage(phone)
    await p.goto(`${w.base}/inbox`)
    t.ok(await p.locator('.list-pane').isVisible(), `${scheme} phone: the list shows`)
    t.notOk(await p.locator('#conversation').isVisible(), `${scheme} phone: no thread beside it`)
    t.notOk(await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), `${scheme} phone: no horizontal scrolling`)
    await shoot(p, join(shots, `inbox-phone-list${scheme === 'dark' ? '-dark' : ''}.png`))
    await p.locator(`#row-${seeded.maria} .row-link`).tap()
    await p.locator('#thread .msg').first().waitFor()
    await p.waitForTimeout(200)
    t.notOk(await p.locator('.list-pane').isVisible(), `${scheme} phone: the thread replaces the list`)
    t.ok(await p.locator('#thread').isVisible(), `${scheme} phone: the thread shows`)
    t.notOk(await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), `${scheme} phone: thread without horizontal scrolling`)
    await shoot(p, join(shots, `inbox-phone-thread${scheme === 'dark' ? '-dark' : ''}.png`))
    await p.locator('.conv-who').tap()
    await p.waitForTimeout(300)
    t.ok(await p.locator('#contact-panel').isVisible(), `${scheme} phone: the contact panel opens`)
    await shoot(p, join(shots, `inbox-phone-contact${scheme === 'dark' ? '-dark' : ''}.png`))
    await p.locator('.contact-close').tap()
    await p.waitForTimeout(300)
    t.notOk(await p.locator('#contact-panel').isVisible(), `${scheme} phone: and closes again`)
    await p.locator('.conv-back').tap()
    await p.waitForURL(/\/inbox$/)
    await p.locator('.list-pane').waitFor()
    t.ok(await p.locator('.list-pane').isVisible(), `${scheme} phone: back to the list`)
    t.same(pp, [], `${scheme} phone: no CSP violations or script errors`)
    await phone.close()
  }
})

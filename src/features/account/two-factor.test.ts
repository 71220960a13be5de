import t from 'tap'
import { and, eq, isNull } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { auditLog, recoveryCodes, sessions, users, workspaces } from '../../db/schema.js'
import { base32Decode, totpCode } from '../../platform/crypto/index.js'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createUser, get, goodPassword, post, sessionCookie, signIn, type TestUser } from '../../../test/helpers/accounts.js'
import { inlineCode } from '../../../test/helpers/html.js'

const step = 30_000
const codePattern = /<code class="tabular">([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{2})<\/code>/g

/** The text of escaped HTML, enough for matching messages with apostrophes and quotes. */
function unescape (html: string): string {
  return html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&')
}

/** Starts enrolment on the security page and reads the secret off the page. */
async function startEnrolment (app: FastifyInstance, cookie: string): Promise<{ secret: string, body: string }> {
  const res = await post(app, '/settings/security/two-factor/start', { current: goodPassword }, cookie)
  if (res.statusCode !== 200) throw new Error(`start: ${res.statusCode}`)
  const grouped = /id="totp-secret">([A-Z2-7 ]+)</.exec(res.body)?.[1]
  if (grouped === undefined) throw new Error('no secret on the page')
  return { secret: grouped.replace(/ /g, ''), body: res.body }
}

/** Enrols fully; returns the secret and the recovery codes shown. */
async function enrol (env: TestApp, cookie: string): Promise<{ secret: string, codes: string[] }> {
  const { secret } = await startEnrolment(env.app, cookie)
  const res = await post(env.app, '/settings/security/two-factor/confirm', { code: totpCode(base32Decode(secret), env.clock.now()) }, cookie)
  if (res.statusCode !== 200) throw new Error(`confirm: ${res.statusCode}`)
  const codes = [...res.body.matchAll(codePattern)].map(m => m[1]!)
  return { secret, codes }
}

/** Signs in with the password only: returns the cookie of the half-signed-in session and the redirect. */
async function passwordStep (app: FastifyInstance, user: TestUser, next?: string): Promise<{ cookie: string, location: string }> {
  const res = await post(app, '/login', { email: user.email, password: user.password, ...(next === undefined ? {} : { next }) })
  const cookie = sessionCookie(res)
  if (res.statusCode !== 303 || cookie === undefined) throw new Error(`sign-in failed: ${res.statusCode}`)
  return { cookie, location: String(res.headers.location) }
}

function code (env: TestApp, secret: string, offset = 0): string {
  return totpCode(base32Decode(secret), env.clock.now() + offset)
}

t.test('enrolling shows a QR code and a key, needs the password, and keeps the secret encrypted at rest', async (t) => {
  const env = await buildTestApp(t)
  const { app, deps } = env
  const user = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, user)

  const off = await get(app, '/settings/security', cookie)
  t.match(off.body, 'Set up two-factor authentication')

  const wrong = await post(app, '/settings/security/two-factor/start', { current: 'not the password' }, cookie)
  t.equal(wrong.statusCode, 422)
  t.match(wrong.body, 'That is not your current password.')
  t.equal(deps.db.select().from(users).where(eq(users.id, user.id)).get()?.totpSecret, null, 'no secret without the password')

  const { secret, body } = await startEnrolment(app, cookie)
  t.match(secret, /^[A-Z2-7]{32}$/, '20 random bytes in base32')
  t.match(body, /<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" width="200" height="200" alt="[^"]+">/, 'the QR code is an inline SVG image')
  const svg = Buffer.from(/data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(body)![1]!, 'base64').toString()
  t.match(svg, /^<svg /)
  t.match(body, /id="totp-secret">[A-Z2-7]{4}( [A-Z2-7]{4}){7}</, 'the key is shown in groups of four')
  t.same(inlineCode(body), [])

  const raw = deps.sqlite.prepare('select totp_secret, totp_enabled_at from users where id = ?').get(user.id) as { totp_secret: string, totp_enabled_at: number | null }
  t.ok(raw.totp_secret.startsWith('v1.'), 'the column holds a sealed value')
  t.notMatch(raw.totp_secret, secret, 'the base32 secret is not in the database')
  t.equal(raw.totp_enabled_at, null, 'pending until confirmed')

  const reloaded = await get(app, '/settings/security', cookie)
  t.match(reloaded.body, `id="totp-secret">${secret.match(/.{4}/g)!.join(' ')}<`, 'a reload of this session still shows the pending set-up')
  const otherSession = await signIn(app, user)
  t.notMatch((await get(app, '/settings/security', otherSession)).body, 'totp-secret', 'another session does not see the pending secret')

  const bad = await post(app, '/settings/security/two-factor/confirm', { code: code(env, secret) === '000000' ? '111111' : '000000' }, cookie)
  t.equal(bad.statusCode, 422)
  t.match(unescape(bad.body), "That code isn't right.")
  t.match(bad.body, 'id="totp-secret"', 'the QR code is shown again')

  const ok = await post(app, '/settings/security/two-factor/confirm', { code: code(env, secret) }, cookie)
  t.equal(ok.statusCode, 200)
  t.match(ok.body, 'Two-factor authentication is on')
  const shown = [...ok.body.matchAll(codePattern)].map(m => m[1]!)
  t.equal(shown.length, 10, 'ten recovery codes are shown')
  t.equal(new Set(shown).size, 10)
  const stored = deps.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id)).all()
  t.equal(stored.length, 10)
  for (const row of stored) t.match(row.codeHash, /^[0-9a-f]{64}$/, 'only hashes are stored')
  const dump = JSON.stringify(deps.sqlite.prepare('select * from recovery_codes').all())
  t.notOk(shown.some(c => dump.includes(c) || dump.includes(c.replace(/-/g, ''))), 'no recovery code in the table')
  t.ok(deps.db.select().from(users).where(eq(users.id, user.id)).get()?.totpEnabledAt, 'two-factor is on')
  t.equal(deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'two_factor_enabled'), eq(auditLog.subjectUserId, user.id))).all().length, 1)

  const on = await get(app, '/settings/security', cookie)
  t.equal(on.statusCode, 200, 'this session stays signed in')
  t.match(on.body, '10 of 10 still unused')
  t.notMatch(on.body, 'totp-secret', 'the secret is never shown again')
})

t.test('a pending set-up can be cancelled, and expires after 15 minutes', async (t) => {
  const env = await buildTestApp(t)
  const user = await createUser(env.deps, { workspace: 'Acme' })
  const cookie = await signIn(env.app, user)
  await startEnrolment(env.app, cookie)
  const cancelled = await post(env.app, '/settings/security/two-factor/cancel', {}, cookie)
  t.equal(cancelled.statusCode, 303)
  t.equal(env.deps.db.select().from(users).where(eq(users.id, user.id)).get()?.totpSecret, null)

  const { secret } = await startEnrolment(env.app, cookie)
  env.clock.advance(16 * 60_000)
  const late = await post(env.app, '/settings/security/two-factor/confirm', { code: code(env, secret) }, cookie)
  t.equal(late.statusCode, 422)
  t.match(late.body, 'The set-up took too long')
  t.equal(env.deps.db.select().from(users).where(eq(users.id, user.id)).get()?.totpEnabledAt, null)
})

t.test('with two-factor on, signing in stops at the code step until a right, unused code is entered', async (t) => {
  const env = await buildTestApp(t)
  const { app, deps } = env
  const user = await createUser(deps, { workspace: 'Acme' })
  const first = await signIn(app, user)
  const { secret } = await enrol(env, first)
  t.equal((await post(app, '/logout', {}, first)).statusCode, 303)

  const { cookie, location } = await passwordStep(app, user)
  t.equal(location, '/login/two-factor', 'the password leads to the code step')
  const inbox = await get(app, '/inbox', cookie)
  t.equal(inbox.statusCode, 303, '/inbox is not reachable yet')
  t.equal(inbox.headers.location, '/login/two-factor')
  t.equal((await get(app, '/settings/security', cookie)).headers.location, '/login/two-factor')
  t.equal((await post(app, '/settings/security/sessions/revoke-others', {}, cookie)).statusCode, 303, 'POSTs are sent back to the code step too')
  const stepPage = await get(app, '/login/two-factor', cookie)
  t.equal(stepPage.statusCode, 200)
  t.match(stepPage.body, 'autocomplete="one-time-code"')
  t.same(inlineCode(stepPage.body), [])

  const wrong = await post(app, '/login/two-factor', { code: code(env, secret, 10 * step) }, cookie)
  t.equal(wrong.statusCode, 422, 'a wrong code is refused')
  t.match(unescape(wrong.body), "That code isn't right.")
  t.equal((await get(app, '/inbox', cookie)).statusCode, 303)

  const replay = await post(app, '/login/two-factor', { code: code(env, secret) }, cookie)
  t.equal(replay.statusCode, 422, 'the step already used to turn two-factor on is refused')
  t.match(replay.body, 'That code was already used.')

  env.clock.advance(step)
  const right = await post(app, '/login/two-factor', { code: code(env, secret).replace(/^(...)/, '$1 ') }, cookie)
  t.equal(right.statusCode, 303, 'the right code (spaces allowed) lets you in')
  t.equal(right.headers.location, '/inbox')
  t.equal((await get(app, '/inbox', cookie)).statusCode, 200)
  t.equal((await get(app, '/login/two-factor', cookie)).headers.location, '/inbox', 'the step is done')
  const logins = deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'login'), eq(auditLog.subjectUserId, user.id))).all()
  t.same(logins.at(-1)?.details, { secondFactor: 'totp' })

  const again = await passwordStep(app, user)
  const reused = await post(app, '/login/two-factor', { code: code(env, secret) }, again.cookie)
  t.equal(reused.statusCode, 422, 'the same time step cannot sign in twice')
  t.match(reused.body, 'That code was already used.')
  env.clock.advance(step)
  t.equal((await post(app, '/login/two-factor', { code: code(env, secret) }, again.cookie)).statusCode, 303, 'the next step works')
})

t.test('the code step keeps where the user was going, and only on this site', async (t) => {
  const env = await buildTestApp(t)
  const user = await createUser(env.deps, { workspace: 'Acme' })
  const { secret } = await enrol(env, await signIn(env.app, user))
  env.clock.advance(step)
  const { cookie, location } = await passwordStep(env.app, user, '/settings/profile')
  t.equal(location, '/login/two-factor?next=%2Fsettings%2Fprofile')
  t.match((await get(env.app, location, cookie)).body, 'name="next" value="/settings/profile"')
  const res = await post(env.app, '/login/two-factor', { code: code(env, secret), next: '/settings/profile' }, cookie)
  t.equal(res.headers.location, '/settings/profile')

  env.clock.advance(step)
  const evil = await passwordStep(env.app, user)
  const res2 = await post(env.app, '/login/two-factor', { code: code(env, secret), next: '//evil.example/' }, evil.cookie)
  t.equal(res2.headers.location, '/inbox')
})

t.test('a recovery code signs in once, is audited, and then no longer works', async (t) => {
  const env = await buildTestApp(t)
  const { app, deps } = env
  const user = await createUser(deps, { workspace: 'Acme' })
  const { codes } = await enrol(env, await signIn(app, user))
  const recovery = codes[3]!

  const { cookie } = await passwordStep(app, user)
  const form = await get(app, '/login/two-factor?recovery=1', cookie)
  t.match(form.body, 'Recovery code')
  const res = await post(app, '/login/two-factor', { code: recovery.toUpperCase(), recovery: '1' }, cookie)
  t.equal(res.statusCode, 303, 'a recovery code works (case does not matter)')
  t.equal((await get(app, '/inbox', cookie)).statusCode, 200)
  t.equal(deps.db.select().from(recoveryCodes).where(and(eq(recoveryCodes.userId, user.id), isNull(recoveryCodes.usedAt))).all().length, 9)
  t.equal(deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'recovery_code_used'), eq(auditLog.subjectUserId, user.id))).all().length, 1)
  t.match((await get(app, '/settings/security', cookie)).body, '9 of 10 still unused')

  const second = await passwordStep(app, user)
  const reused = await post(app, '/login/two-factor', { code: recovery }, second.cookie)
  t.equal(reused.statusCode, 422, 'the same recovery code is refused the second time')
  t.equal((await get(app, '/inbox', second.cookie)).statusCode, 303)
  t.equal((await post(app, '/login/two-factor', { code: codes[4]!.replace(/-/g, '') }, second.cookie)).statusCode, 303, 'another code works, dashes optional')
})

t.test('five wrong codes end the half-signed-in session; the account throttle then slows further tries', async (t) => {
  const env = await buildTestApp(t)
  const { app, deps } = env
  const user = await createUser(deps, { workspace: 'Acme' })
  const { secret } = await enrol(env, await signIn(app, user))
  env.clock.advance(step)
  const { cookie } = await passwordStep(app, user)
  const wrong = code(env, secret, 20 * step)
  for (let i = 1; i <= 4; i++) {
    t.equal((await post(app, '/login/two-factor', { code: wrong }, cookie)).statusCode, 422, `wrong code ${i}`)
  }
  const fifth = await post(app, '/login/two-factor', { code: wrong }, cookie)
  t.equal(fifth.statusCode, 429)
  t.match(fifth.body, 'Too many wrong codes')
  t.equal(deps.db.select().from(sessions).where(eq(sessions.userId, user.id)).all().length, 1, 'the session was ended (the enrolling one remains)')
  const after = await get(app, '/login/two-factor', cookie)
  t.equal(after.statusCode, 303)
  t.match(after.headers.location, /^\/login/)
  t.equal((await post(app, '/login/two-factor', { code: code(env, secret) }, cookie)).statusCode, 401, 'even the right code is too late')

  const next = await passwordStep(app, user)
  const throttled = await post(app, '/login/two-factor', { code: code(env, secret) }, next.cookie)
  t.equal(throttled.statusCode, 429, 'right after, the account waits a moment')
  t.ok(Number(throttled.headers['retry-after']) >= 1)
  env.clock.advance(5_000)
  t.equal((await post(app, '/login/two-factor', { code: code(env, secret) }, next.cookie)).statusCode, 303, 'after the wait the right code works')
})

t.test('turning two-factor off needs the password and a code; recovery codes go with it', async (t) => {
  const env = await buildTestApp(t)
  const { app, deps } = env
  const user = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, user)
  const { secret, codes } = await enrol(env, cookie)
  env.clock.advance(step)

  const page = await get(app, '/settings/security/two-factor/disable', cookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Turn off two-factor authentication')

  const noPassword = await post(app, '/settings/security/two-factor/disable', { current: 'wrong password!', code: code(env, secret) }, cookie)
  t.equal(noPassword.statusCode, 422)
  t.match(noPassword.body, 'That is not your current password.')
  const noCode = await post(app, '/settings/security/two-factor/disable', { current: goodPassword, code: '' }, cookie)
  t.equal(noCode.statusCode, 422)
  t.match(noCode.body, 'Enter the code.')
  const badCode = await post(app, '/settings/security/two-factor/disable', { current: goodPassword, code: code(env, secret, 10 * step) }, cookie)
  t.equal(badCode.statusCode, 422)
  t.ok(deps.db.select().from(users).where(eq(users.id, user.id)).get()?.totpEnabledAt, 'still on')

  const ok = await post(app, '/settings/security/two-factor/disable', { current: goodPassword, code: codes[0]! }, cookie)
  t.equal(ok.statusCode, 303)
  const row = deps.db.select().from(users).where(eq(users.id, user.id)).get()
  t.same({ secret: row?.totpSecret, enabled: row?.totpEnabledAt }, { secret: null, enabled: null })
  t.equal(deps.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id)).all().length, 0)
  t.equal(deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'two_factor_disabled'), eq(auditLog.subjectUserId, user.id))).all().length, 1)
  t.match((await get(app, '/settings/security?done=twoFactorOff', cookie)).body, 'Two-factor authentication is off.')
  const { location } = await passwordStep(app, user)
  t.equal(location, '/inbox', 'signing in needs no code any more')
})

t.test('new recovery codes need the password and replace the old ones', async (t) => {
  const env = await buildTestApp(t)
  const { app, deps } = env
  const user = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, user)
  const { codes } = await enrol(env, cookie)
  t.equal((await get(app, '/settings/security/two-factor/recovery-codes', cookie)).statusCode, 200)
  const wrong = await post(app, '/settings/security/two-factor/recovery-codes', { current: 'nope nope nope' }, cookie)
  t.equal(wrong.statusCode, 422)
  const res = await post(app, '/settings/security/two-factor/recovery-codes', { current: goodPassword }, cookie)
  t.equal(res.statusCode, 200)
  const fresh = [...res.body.matchAll(codePattern)].map(m => m[1]!)
  t.equal(fresh.length, 10)
  t.equal(deps.db.select().from(auditLog).where(eq(auditLog.action, 'recovery_codes_regenerated')).all().length, 1)

  const { cookie: half } = await passwordStep(app, user)
  t.equal((await post(app, '/login/two-factor', { code: codes[0]! }, half)).statusCode, 422, 'an old code no longer works')
  t.equal((await post(app, '/login/two-factor', { code: fresh[0]! }, half)).statusCode, 303, 'a new one does')
})

t.test('a workspace that requires two-factor sends members without it to set it up, and keeps it on', async (t) => {
  const env = await buildTestApp(t)
  const { app, deps } = env
  const user = await createUser(deps, { workspace: 'Acme Requires' })
  deps.db.update(workspaces).set({ requireTwoFactor: true }).where(eq(workspaces.id, user.workspaceId!)).run()
  const cookie = await signIn(app, user)

  const inbox = await get(app, '/inbox', cookie)
  t.equal(inbox.statusCode, 303)
  t.equal(inbox.headers.location, '/settings/security?required=1')
  const page = await get(app, '/settings/security?required=1', cookie)
  t.equal(page.statusCode, 200, 'the security page is reachable')
  t.match(page.body, 'Two-factor authentication is required')
  t.match(page.body, 'Acme Requires requires every member to use two-factor authentication.')
  t.equal((await get(app, '/settings/profile', cookie)).statusCode, 200, 'so is the profile')

  const { secret } = await enrol(env, cookie)
  t.equal((await get(app, '/inbox', cookie)).statusCode, 200, 'with two-factor on, the inbox opens')
  t.notMatch((await get(app, '/settings/security?required=1', cookie)).body, 'Two-factor authentication is required', 'no notice once it is on')

  const security = await get(app, '/settings/security', cookie)
  t.notMatch(security.body, 'href="/settings/security/two-factor/disable"', 'no way to turn it off is offered')
  t.match(unescape(security.body), "so it can't be turned off while you're a member")
  env.clock.advance(step)
  const refused = await post(app, '/settings/security/two-factor/disable', { current: goodPassword, code: code(env, secret) }, cookie)
  t.equal(refused.statusCode, 422, 'turning it off is refused')
  t.match(refused.body, 'Acme Requires requires two-factor authentication')
  t.ok(deps.db.select().from(users).where(eq(users.id, user.id)).get()?.totpEnabledAt, 'still on')
})

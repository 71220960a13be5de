import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditLog, mailOutbox, sessions, users } from '../../db/schema.js'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createUser, get, goodPassword, post, sessionCookie, signIn } from '../../../test/helpers/accounts.js'
import { inlineCode } from '../../../test/helpers/html.js'
import { describeDevice } from './user-agent.js'

const newPassword = 'a brand new passphrase for weltra'

const agents = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
}

async function signInAs (app: Parameters<typeof signIn>[0], user: { email: string, password: string }, userAgent: string): Promise<string> {
  const res = await post(app, '/login', { email: user.email, password: user.password }, undefined, { headers: { 'user-agent': userAgent } })
  const cookie = sessionCookie(res)
  if (res.statusCode !== 303 || cookie === undefined) throw new Error(`sign-in failed: ${res.statusCode}`)
  return cookie
}

function mailsOf (deps: Awaited<ReturnType<typeof buildTestApp>>['deps'], kind: string) {
  return deps.db.select().from(mailOutbox).where(eq(mailOutbox.kind, kind)).all()
}

t.test('the profile and security pages need a signed-in user and contain no inline code', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'Acme' })
  for (const url of ['/settings/profile', '/settings/security']) {
    const anonymous = await get(app, url)
    t.equal(anonymous.statusCode, 303, `${url} without a session`)
    t.match(anonymous.headers.location, /^\/login\?next=/)
  }
  t.equal((await post(app, '/settings/profile', { name: 'X' })).statusCode, 401)
  const cookie = await signIn(app, user)
  for (const url of ['/settings/profile', '/settings/security']) {
    const res = await get(app, url, cookie)
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], 'no-store')
    t.same(inlineCode(res.body), [], `${url}: no inline script or style`)
  }
})

t.test('the profile form saves the name, language and time zone, and refuses values not offered', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, user)

  const bad = await post(app, '/settings/profile', { name: 'Ana Souza', locale: 'xx', timeZone: 'Mars/Olympus' }, cookie)
  t.equal(bad.statusCode, 422)
  t.match(bad.body, 'Choose one of the languages in the list.')
  t.match(bad.body, 'value="Ana Souza"', 'the typed name is kept')
  t.equal(deps.db.select().from(users).where(eq(users.id, user.id)).get()?.name, user.name, 'nothing was saved')

  const empty = await post(app, '/settings/profile', { name: '  ', locale: '', timeZone: '' }, cookie)
  t.equal(empty.statusCode, 422)
  t.match(empty.body, 'Enter your name.')

  const ok = await post(app, '/settings/profile', { name: 'Ana Souza', locale: 'pt-BR', timeZone: 'America/Sao_Paulo' }, cookie)
  t.equal(ok.statusCode, 303)
  t.equal(ok.headers.location, '/settings/profile?done=profile')
  const row = deps.db.select().from(users).where(eq(users.id, user.id)).get()
  t.same({ name: row?.name, locale: row?.locale, timeZone: row?.timeZone }, { name: 'Ana Souza', locale: 'pt-BR', timeZone: 'America/Sao_Paulo' })
  const page = await get(app, '/settings/profile?done=profile', cookie)
  // The chosen language applies at once, over the browser's.
  t.match(page.body, '<html lang="pt-BR"')
  t.match(page.body, 'Seu perfil foi salvo.')
  t.match(page.body, '<option value="America/Sao_Paulo" selected>')

  const auto = await post(app, '/settings/profile', { name: 'Ana Souza', locale: '', timeZone: '' }, cookie)
  t.equal(auto.statusCode, 303)
  const cleared = deps.db.select().from(users).where(eq(users.id, user.id)).get()
  t.same({ locale: cleared?.locale, timeZone: cleared?.timeZone }, { locale: null, timeZone: null })
})

t.test('changing the password with a wrong current password is refused and changes nothing', async (t) => {
  const { app, deps, count } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, user)
  const other = await signIn(app, user)
  const before = deps.db.select().from(users).where(eq(users.id, user.id)).get()!.passwordHash
  const res = await post(app, '/settings/security/password', { current: 'not my password at all', password: newPassword }, cookie)
  t.equal(res.statusCode, 422)
  t.match(res.body, 'That is not your current password.')
  t.notMatch(res.body, newPassword, 'passwords are never echoed back')
  t.equal(sessionCookie(res), undefined, 'no new cookie')
  t.equal(deps.db.select().from(users).where(eq(users.id, user.id)).get()!.passwordHash, before)
  t.equal(count('sessions'), 2)
  t.equal((await get(app, '/settings/security', other)).statusCode, 200, 'other sessions live on')
  t.equal(mailsOf(deps, 'password_changed_notice').length, 0)
})

t.test('changing the password signs out every other session and gives this browser a new cookie', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'Acme' })
  const first = await signIn(app, user)
  const second = await signIn(app, user)
  const current = await signIn(app, user)
  const res = await post(app, '/settings/security/password', { current: goodPassword, password: newPassword }, current)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/settings/security?done=password')
  const fresh = sessionCookie(res)
  t.ok(fresh, 'a new session cookie is set')
  t.not(fresh, current, 'and it is a new token')

  for (const [name, cookie] of [['first', first], ['second', second], ['the old cookie of this browser', current]] as const) {
    const page = await get(app, '/settings/security', cookie)
    t.equal(page.statusCode, 303, `${name} is signed out`)
    t.match(page.headers.location, /^\/login/)
    t.equal((await post(app, '/settings/security/sessions/revoke-others', {}, cookie)).statusCode, 401, `${name}: POST is 401`)
  }
  const page = await get(app, '/settings/security?done=password', fresh)
  t.equal(page.statusCode, 200, 'the new cookie works')
  t.match(page.body, 'Password changed.')
  t.equal(deps.db.select().from(sessions).where(eq(sessions.userId, user.id)).all().length, 1)

  const notices = mailsOf(deps, 'password_changed_notice')
  t.equal(notices.length, 1, 'a password_changed_notice email is queued')
  t.equal(notices[0]?.toAddress, user.email)
  t.ok(await signIn(app, { email: user.email, password: newPassword }), 'the new password signs in')
  await t.rejects(signIn(app, user), 'the old password no longer does')
})

t.test('changing the email needs the current password, and the link sent to the new address changes it once', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, user)
  const newEmail = `new.${Date.now()}@example.org`

  const wrong = await post(app, '/settings/profile/email', { email: newEmail, current: 'wrong password here' }, cookie)
  t.equal(wrong.statusCode, 422)
  t.match(wrong.body, 'That is not your current password.')
  t.match(wrong.body, `value="${newEmail}"`, 'the typed address is kept')
  t.equal(mailsOf(deps, 'email_change_confirm').length, 0, 'nothing is sent')

  const invalid = await post(app, '/settings/profile/email', { email: 'not-an-address', current: goodPassword }, cookie)
  t.equal(invalid.statusCode, 422)

  const res = await post(app, '/settings/profile/email', { email: newEmail, current: goodPassword }, cookie)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/settings/profile?emailSent=1')
  const page = await get(app, res.headers.location!, cookie)
  t.match(page.body, 'Check your new inbox')
  t.equal(deps.db.select().from(users).where(eq(users.id, user.id)).get()?.email, user.email.toLowerCase(), 'the address has not changed yet')

  const [confirm] = mailsOf(deps, 'email_change_confirm')
  t.equal(confirm?.toAddress, newEmail, 'the confirmation goes to the new address')
  const url = /https?:\/\/[^\s"<>]+\/confirm-email\?token=[A-Za-z0-9_%-]+/.exec(confirm?.textBody ?? '')?.[0]
  t.ok(url, 'the email holds the confirmation link')
  const path = new URL(url!).pathname + new URL(url!).search

  const followed = await get(app, path)
  t.equal(followed.statusCode, 200)
  t.equal(deps.db.select().from(users).where(eq(users.id, user.id)).get()?.email, newEmail, 'the address changed')
  const [notice] = mailsOf(deps, 'email_changed_notice')
  t.equal(notice?.toAddress, user.email.toLowerCase(), 'the old address is told')
  t.equal((await get(app, path)).statusCode, 410, 'the link works only once')
  t.ok(await signIn(app, { email: newEmail, password: goodPassword }), 'the new address signs in')
})

t.test('the sessions page lists devices in plain words; one device can be signed out; others cannot be touched', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'Acme' })
  const windows = await signInAs(app, user, agents.chromeWindows)
  const iphone = await signInAs(app, user, agents.safariIphone)
  const current = await signInAs(app, user, agents.firefoxLinux)

  const page = await get(app, '/settings/security', current)
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Chrome on Windows')
  t.match(page.body, 'Safari on iPhone')
  t.match(page.body, 'Firefox on Linux')
  t.match(page.body, 'This device')
  for (const row of deps.db.select().from(sessions).all()) t.notMatch(page.body, row.id, 'session ids never reach the page')
  const handles = [...page.body.matchAll(/\/settings\/security\/sessions\/([0-9a-f]{32})\/revoke/g)].map(m => m[1]!)
  t.equal(handles.length, 2, 'every other device has a sign-out button; this one does not')

  const iphoneRow = page.body.split('<tr>').find(row => row.includes('Safari on iPhone')) ?? ''
  const iphoneHandle = /\/settings\/security\/sessions\/([0-9a-f]{32})\/revoke/.exec(iphoneRow)?.[1]
  t.ok(iphoneHandle !== undefined && handles.includes(iphoneHandle), "the iPhone's row has its own sign-out button")
  const revoked = await post(app, `/settings/security/sessions/${iphoneHandle}/revoke`, {}, current)
  t.equal(revoked.statusCode, 303)
  t.equal(revoked.headers.location, '/settings/security?done=revoked#sessions')
  t.equal((await get(app, '/settings/security', iphone)).statusCode, 303, 'the iPhone is signed out')
  t.equal((await get(app, '/settings/security', windows)).statusCode, 200, 'Windows is not')

  // Someone else's session: 404, and it stays alive.
  const stranger = await createUser(deps, { workspace: 'Other' })
  const strangerCookie = await signInAs(app, stranger, agents.chromeWindows)
  const strangerPage = await get(app, '/settings/security', strangerCookie)
  const strangerHandle = /\/settings\/security\/sessions\/([0-9a-f]{32})\/revoke/.exec(strangerPage.body)
  t.equal(strangerHandle, null, 'a single session has nothing to revoke')
  const mine = await get(app, '/settings/security', current)
  const myWindowsHandle = /\/settings\/security\/sessions\/([0-9a-f]{32})\/revoke/.exec(mine.body)![1]
  t.equal((await post(app, `/settings/security/sessions/${myWindowsHandle}/revoke`, {}, strangerCookie)).statusCode, 404, "another user's session is 404")
  t.equal((await post(app, '/settings/security/sessions/0123456789abcdef0123456789abcdef/revoke', {}, current)).statusCode, 404, 'an unknown handle is 404')
  t.equal((await get(app, '/settings/security', windows)).statusCode, 200, 'and the session survives')
})

t.test('"log out everywhere else" keeps only the current session and is audited', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'Acme' })
  const a = await signInAs(app, user, agents.chromeWindows)
  const b = await signInAs(app, user, agents.safariIphone)
  const current = await signInAs(app, user, agents.firefoxLinux)
  const other = await createUser(deps, { workspace: 'Other' })
  const othersCookie = await signIn(app, other)

  const res = await post(app, '/settings/security/sessions/revoke-others', {}, current)
  t.equal(res.statusCode, 303)
  t.equal((await get(app, '/settings/security', a)).statusCode, 303)
  t.equal((await get(app, '/settings/security', b)).statusCode, 303)
  const page = await get(app, '/settings/security?done=others', current)
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Every other device was signed out.')
  t.notMatch(page.body, 'Log out everywhere else', 'nothing left to log out')
  t.equal(deps.db.select().from(sessions).where(eq(sessions.userId, user.id)).all().length, 1)
  t.equal((await get(app, '/settings/security', othersCookie)).statusCode, 200, "other users' sessions are untouched")
  const audit = deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'logout_everywhere'), eq(auditLog.subjectUserId, user.id))).all()
  t.equal(audit.length, 1)
  t.same(audit[0]?.details, { sessions: 2 })
})

t.test('revoking the current session from the list signs this browser out', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'Acme' })
  const cookie = await signIn(app, user)
  const id = deps.db.select().from(sessions).where(eq(sessions.userId, user.id)).get()!.id
  const { sessionHandle } = await import('./account.service.js')
  const res = await post(app, `/settings/security/sessions/${sessionHandle(id)}/revoke`, {}, cookie)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/login')
  t.equal((await get(app, '/settings/security', cookie)).statusCode, 303)
})

t.test('user agents are described in plain words', async (t) => {
  const cases: Array<[string, string | undefined, string | undefined, 'mobile' | 'desktop']> = [
    [agents.chromeWindows, 'Chrome', 'Windows', 'desktop'],
    [agents.safariIphone, 'Safari', 'iPhone', 'mobile'],
    [agents.firefoxLinux, 'Firefox', 'Linux', 'desktop'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 'Safari', 'macOS', 'desktop'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge', 'Windows', 'desktop'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome', 'Android', 'mobile'],
    ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36', 'Samsung Internet', 'Android', 'mobile'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1', 'Chrome', 'iPhone', 'mobile'],
    ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome', 'ChromeOS', 'desktop'],
    ['', undefined, undefined, 'desktop'],
    ['something odd', undefined, undefined, 'desktop']
  ]
  for (const [ua, browser, os, kind] of cases) t.same(describeDevice(ua), { browser, os, kind }, ua.slice(0, 60) || '(empty)')
})

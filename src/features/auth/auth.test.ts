// Accounts and sessions against SECURITY.md A and B: tokens, cookies, fixation, timeouts, termination,
// password policy, throttling, enumeration, reset links and CSRF. Real SQLite, real HTTP (inject).
import t from 'tap'
import { desc, eq, sql } from 'drizzle-orm'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createUser, get, goodPassword, origin, post, sessionCookie, signIn } from '../../../test/helpers/accounts.js'
import { mailOutbox, sessions } from '../../db/schema.js'
import type { Deps } from '../../deps.js'

function lastMail (deps: Deps, kind: string) {
  return deps.db.select().from(mailOutbox).where(eq(mailOutbox.kind, kind)).orderBy(desc(sql`rowid`)).get()
}

function linkIn (text: string): string {
  const m = /https?:\/\/[^\s"<>]+/.exec(text)
  if (m === null) throw new Error('no link in mail')
  return m[0]
}

function rawDatabase (deps: Deps): string {
  const out: string[] = []
  for (const { name } of deps.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>) {
    out.push(JSON.stringify(deps.sqlite.prepare(`SELECT * FROM "${name}"`).all()))
  }
  return out.join('\n')
}

t.test('first-run setup creates the owner and workspace once, validates every field and keeps what was typed', async (t) => {
  const { app, count } = await buildTestApp(t)
  const bad = await post(app, '/setup', { name: '', email: 'not-an-email', password: 'short', workspaceName: 'Acme <Shop>' })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /Enter your name/)
  t.match(bad.body, /Enter an email address like/)
  t.match(bad.body, /at least 8 characters/)
  t.match(bad.body, /value="not-an-email"/)
  t.match(bad.body, /value="Acme &lt;Shop&gt;"/, 'typed values come back, escaped')
  t.notMatch(bad.body, /value="short"/, 'passwords are never echoed')
  const ok = await post(app, '/setup', { name: 'Ana', email: 'Ana@Example.com', password: goodPassword, workspaceName: 'Acme' })
  t.equal(ok.statusCode, 303)
  t.equal(ok.headers.location, '/inbox')
  t.ok(sessionCookie(ok))
  t.equal(count('users'), 1)
  t.equal(count('workspaces'), 1)
  const again = await post(app, '/setup', { name: 'Eve', email: 'eve@example.com', password: goodPassword, workspaceName: 'Evil' })
  t.equal(again.statusCode, 303)
  t.equal(again.headers.location, '/login')
  t.equal(count('users'), 1, 'setup closes once an account exists')
  t.equal((await get(app, '/setup')).statusCode, 303)
})

t.test('session tokens: only a hash is stored, a changed character is refused, cookies are HttpOnly and Lax', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const users = await Promise.all(Array.from({ length: 5 }, async (_, i) => await createUser(deps, { workspace: `W${i}` })))
  const cookies: string[] = []
  for (const u of users) cookies.push(await signIn(app, u))
  const raw = rawDatabase(deps)
  for (const c of cookies) {
    const secret = c.split('=')[1]!.split('.')[1]!
    t.ok(secret.length >= 22, 'at least 128 bits of secret')
    t.notOk(raw.includes(secret), 'the secret is not in the database')
  }
  const [name, value] = cookies[0]!.split('=') as [string, string]
  const tampered = `${name}=${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`
  const res = await get(app, '/inbox', tampered)
  t.equal(res.statusCode, 303)
  t.match(String(res.headers.location), /^\/login/)
  const login = await post(app, '/login', { email: users[0]!.email, password: goodPassword })
  const setCookie = String(login.headers['set-cookie'])
  t.match(setCookie, /HttpOnly/)
  t.match(setCookie, /SameSite=Lax/)
  t.match(setCookie, /Path=\//)
  t.match(setCookie, /Max-Age=2592000/)
  t.notMatch(setCookie, /Domain=/)
  t.equal((await get(app, '/inbox', cookies[1])).headers['cache-control'], 'no-store')
})

t.test('over HTTPS (through a trusted proxy) the cookie is __Host- prefixed and Secure', async (t) => {
  const { app, deps } = await buildTestApp(t, { set: { 'server.trusted_proxies': '127.0.0.1', 'server.public_url': 'https://crm.example.com' } })
  const user = await createUser(deps)
  const res = await app.inject({ method: 'POST', url: '/login', remoteAddress: '127.0.0.1', payload: `email=${encodeURIComponent(user.email)}&password=${encodeURIComponent(goodPassword)}`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https', 'sec-fetch-site': 'same-origin' } })
  t.equal(res.statusCode, 303)
  t.match(String(res.headers['set-cookie']), /^__Host-weltra_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax/)
})

t.test('signing in replaces any session the browser brought (no fixation)', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const victim = await createUser(deps)
  const attacker = await createUser(deps)
  const attackerCookie = await signIn(app, attacker)
  const res = await post(app, '/login', { email: victim.email, password: goodPassword }, attackerCookie)
  const fresh = sessionCookie(res)
  t.ok(fresh)
  t.not(fresh, attackerCookie)
  t.equal((await get(app, '/inbox', attackerCookie)).statusCode, 303, 'the planted session is gone')
})

t.test('sessions end after the idle timeout and after the absolute lifetime; activity is written at most hourly', async (t) => {
  const { app, deps, clock } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'W' })
  let cookie = await signIn(app, user)
  clock.advance(12 * 3_600_000 + 1000)
  t.equal((await get(app, '/inbox', cookie)).statusCode, 303, 'idle 12 h + 1 s → signed out')

  cookie = await signIn(app, user)
  const seen = new Set<number>()
  for (let elapsed = 0; elapsed < 3 * 3_600_000; elapsed += 10 * 60_000) {
    clock.advance(10 * 60_000)
    t.equal((await get(app, '/inbox', cookie)).statusCode, 200)
    seen.add(deps.db.select().from(sessions).get()!.lastSeenAt)
  }
  t.ok(seen.size <= 4, `activity recorded ${seen.size} times in 3 hours of use`)
  for (let day = 0; day < 34; day++) {
    clock.advance(11 * 3_600_000)
    await get(app, '/inbox', cookie)
    clock.advance(11 * 3_600_000)
    await get(app, '/inbox', cookie)
  }
  t.equal((await get(app, '/inbox', cookie)).statusCode, 303, 'past the 30-day absolute lifetime → signed out')
})

t.test('logging out deletes the session; a password reset ends every session', async (t) => {
  const { app, deps, count } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'W' })
  const devices = [await signIn(app, user), await signIn(app, user), await signIn(app, user)]
  t.equal(count('sessions'), 3)
  const out = await post(app, '/logout', {}, devices[0])
  t.equal(out.statusCode, 303)
  t.equal(count('sessions'), 2)
  t.equal((await get(app, '/inbox', devices[0])).statusCode, 303)

  await post(app, '/forgot', { email: user.email })
  const link = linkIn(lastMail(deps, 'reset_password')!.textBody)
  const token = new URL(link).searchParams.get('token')!
  const done = await post(app, '/reset-password', { token, password: 'a brand new passphrase' })
  t.equal(done.statusCode, 200)
  t.equal(sessionCookie(done), undefined, 'no automatic sign-in after a reset')
  for (const d of devices.slice(1)) t.equal((await get(app, '/inbox', d)).statusCode, 303, 'every device signed out')
  t.equal(count('sessions'), 0)
  await signIn(app, { email: user.email, password: 'a brand new passphrase' })
})

t.test('reset links: built from the public URL, stored hashed, single use, expiring, no referrer', async (t) => {
  const { app, deps, clock } = await buildTestApp(t, { set: { 'server.public_url': 'https://crm.example.com' } })
  const user = await createUser(deps)
  await post(app, '/forgot', { email: user.email }, undefined, { headers: { host: 'evil.test', origin: 'http://evil.test' } })
  const link = linkIn(lastMail(deps, 'reset_password')!.textBody)
  t.match(link, /^https:\/\/crm\.example\.com\/reset-password\?token=/)
  const token = new URL(link).searchParams.get('token')!
  t.notOk(rawDatabase(deps).includes(token), 'the token is not in the database')
  const form = await get(app, `/reset-password?token=${token}`)
  t.equal(form.statusCode, 200)
  t.equal(form.headers['referrer-policy'], 'no-referrer')
  const sameSite = { headers: { origin: 'https://crm.example.com' } }
  t.equal((await post(app, '/reset-password', { token, password: 'another fine passphrase' }, undefined, sameSite)).statusCode, 200)
  t.equal((await post(app, '/reset-password', { token, password: 'yet another passphrase' }, undefined, sameSite)).statusCode, 410, 'used once')
  await post(app, '/forgot', { email: user.email }, undefined, sameSite)
  const second = new URL(linkIn(lastMail(deps, 'reset_password')!.textBody)).searchParams.get('token')!
  clock.advance(31 * 60_000)
  t.equal((await get(app, `/reset-password?token=${second}`)).statusCode, 410, 'expired after 30 minutes')
  t.equal((await get(app, '/reset-password?token=made-up')).statusCode, 410)
})

t.test('passwords: NIST policy, exactly as typed, no truncation, common ones refused', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps)
  await signIn(app, user)
  const cases: Array<[string, boolean]> = [
    ['short77', false],
    ['password123', false],
    ['iloveyou', false],
    ['aaaaaaaaaaaa', false],
    ['  spaces around  ', true],
    ['Ünïcødé pässwörd 🔑', true],
    ['x'.repeat(63) + 'y', true],
    ['long passphrase '.repeat(12).slice(0, 200), true],
    ['é'.repeat(513), false]
  ]
  for (const [pw, accepted] of cases) {
    await post(app, '/forgot', { email: user.email })
    const token = new URL(linkIn(lastMail(deps, 'reset_password')!.textBody)).searchParams.get('token')!
    const res = await post(app, '/reset-password', { token, password: pw })
    t.equal(res.statusCode, accepted ? 200 : 422, `${JSON.stringify(pw.slice(0, 20))} ${accepted ? 'accepted' : 'refused'}`)
    if (accepted) {
      await signIn(app, { email: user.email, password: pw })
      const near = pw.length > 1 ? pw.slice(0, -1) + (pw.endsWith('z') ? 'y' : 'z') : pw + 'z'
      t.equal((await post(app, '/login', { email: user.email, password: near })).statusCode, 422, 'one character off does not sign in')
    }
  }
  // A password that differs only after the 72nd byte (where bcrypt would truncate) is a different password.
  const base = 'b'.repeat(72)
  await post(app, '/forgot', { email: user.email })
  const token = new URL(linkIn(lastMail(deps, 'reset_password')!.textBody)).searchParams.get('token')!
  t.equal((await post(app, '/reset-password', { token, password: base + 'first' })).statusCode, 200)
  t.equal((await post(app, '/login', { email: user.email, password: base + 'other' })).statusCode, 422)
})

t.test('failed sign-ins are throttled per account before hashing, without locking others out', async (t) => {
  const { app, deps, clock } = await buildTestApp(t)
  const user = await createUser(deps)
  const other = await createUser(deps)
  let evaluated = 0
  let throttled = 0
  for (let i = 0; i < 150; i++) {
    const res = await post(app, '/login', { email: user.email, password: `wrong ${i}` }, undefined, { remoteAddress: `10.0.0.${i % 6}` } as never)
    if (res.statusCode === 422) evaluated++
    else if (res.statusCode === 429) throttled++
    clock.advance(24_000)
  }
  t.ok(evaluated <= 100, `${evaluated} passwords checked in an hour (at most 100)`)
  t.ok(throttled > 0, 'the rest were refused')
  await signIn(app, other)
  clock.advance(60 * 60_000)
  await signIn(app, user)
  t.pass('the right password works after the cool-off')
})

t.test('sign-in, reset and sign-up answers do not reveal whether an account exists', async (t) => {
  const { app, deps, clock } = await buildTestApp(t, { set: { 'server.allow_signup': 'true' } })
  await createUser(deps, { email: 'known@example.com' })
  const strip = (body: string): string => body.replace(/[0-9A-HJKMNP-TV-Z]{26}/g, 'ID')
  const known = await post(app, '/login', { email: 'known@example.com', password: 'wrong password here' })
  const unknown = await post(app, '/login', { email: 'nobody@example.com', password: 'wrong password here' })
  t.equal(known.statusCode, unknown.statusCode)
  t.equal(strip(known.body).replace('known@example.com', 'X'), strip(unknown.body).replace('nobody@example.com', 'X'))
  const f1 = await post(app, '/forgot', { email: 'known@example.com' })
  const f2 = await post(app, '/forgot', { email: 'nobody@example.com' })
  t.equal(f1.statusCode, f2.statusCode)
  t.equal(strip(f1.body), strip(f2.body))
  const r1 = await post(app, '/register', { name: 'A', email: 'known@example.com', password: goodPassword, workspaceName: 'W' })
  const r2 = await post(app, '/register', { name: 'A', email: 'fresh@example.com', password: goodPassword, workspaceName: 'W' })
  t.equal(r1.statusCode, r2.statusCode)
  t.equal(strip(r1.body), strip(r2.body))
  t.ok(lastMail(deps, 'signup_attempt') ?? lastMail(deps, 'verify_email'), 'the existing owner is told by email instead')

  const times = { known: [] as number[], unknown: [] as number[] }
  for (let i = 0; i < 16; i++) {
    for (const kind of (i % 2 === 0 ? ['known', 'unknown'] : ['unknown', 'known']) as Array<'known' | 'unknown'>) {
      const started = process.hrtime.bigint()
      await post(app, '/login', { email: `${kind === 'known' ? 'known' : 'nobody' + String(i)}@example.com`, password: 'wrong password here' }, undefined, { remoteAddress: `10.1.${i}.${kind === 'known' ? 1 : 2}` } as never)
      times[kind].push(Number(process.hrtime.bigint() - started) / 1e6)
    }
    clock.advance(3_600_000) // stay under the throttle: this measures the answer, not the limiter
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const ratio = median(times.known) / median(times.unknown)
  t.ok(ratio > 0.6 && ratio < 1.67, `median timing known/unknown = ${ratio.toFixed(2)} (both pay one hash)`)
})

t.test('CSRF: only same-origin requests may change anything', async (t) => {
  const { app, deps } = await buildTestApp(t)
  const user = await createUser(deps, { workspace: 'W' })
  const cookie = await signIn(app, user)
  const sites = ['cross-site', 'same-site', 'same-origin', 'none', undefined]
  const origins = [origin, 'https://evil.example', 'null', undefined]
  for (const site of sites) {
    for (const o of origins) {
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', cookie }
      if (site !== undefined) headers['sec-fetch-site'] = site
      if (o !== undefined) headers.origin = o
      const res = await app.inject({ method: 'POST', url: '/verify-email/resend', headers, payload: '' })
      const expected = site === 'same-origin' || (site === undefined && o === origin)
      t.equal(res.statusCode !== 403, expected, `sec-fetch-site=${site ?? '∅'} origin=${o ?? '∅'} → ${res.statusCode}`)
    }
  }
  // A plain-http LAN install: the browser addressed us as 192.168.1.20:8080 and sends no Sec-Fetch-*.
  const lan = await app.inject({ method: 'POST', url: '/login', headers: { host: '192.168.1.20:8080', origin: 'http://192.168.1.20:8080', 'content-type': 'application/x-www-form-urlencoded' }, payload: `email=${encodeURIComponent(user.email)}&password=${encodeURIComponent(goodPassword)}` })
  t.equal(lan.statusCode, 303, 'same-origin by the Origin header works without Sec-Fetch-Site')
})

t.test('email verification links confirm once, and a new link can be requested', async (t) => {
  const { app, deps } = await buildTestApp(t)
  await post(app, '/setup', { name: 'Ana', email: 'ana@example.com', password: goodPassword, workspaceName: 'Acme' })
  const link = linkIn(lastMail(deps, 'verify_email')!.textBody)
  const path = new URL(link).pathname + new URL(link).search
  t.equal((await get(app, path)).statusCode, 200)
  t.equal((await get(app, path)).statusCode, 410, 'single use')
})

t.test('form fields given twice or as objects are treated as missing, not guessed', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'POST', url: '/setup', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, payload: 'name=A&name=B&email[x]=a@b.co&password=correct+horse+battery&workspaceName=W' })
  t.equal(res.statusCode, 422)
  t.match(res.body, /Enter your name/)
})

// "My data" (issue 9): the page shows what Weltra stores about the signed-in person and nothing of
// anyone else; the archive holds it as JSON + CSV without a single secret (password hash, TOTP secret,
// session or API key token) and is audited; "delete my account" needs the typed word and the password
// (422, nothing deleted), is blocked for a sole owner, and otherwise signs the person out for good.
import t, { type Test } from 'tap'
import { unzip } from '../../../test/helpers/zip.js'
import { addMember, createUser, get, post, sessionCookie, signIn } from '../../../test/helpers/accounts.js'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { inlineCode } from '../../../test/helpers/html.js'
import { createApiKey } from '../apikeys/apikeys.service.js'
import { saveTwoFactorState } from './account.store.js'

const signInFrom = async (app: Parameters<typeof signIn>[0], user: { email: string, password: string }, ip: string): Promise<string> => {
  const res = await post(app, '/login', { email: user.email, password: user.password }, undefined, { remoteAddress: ip })
  const cookie = sessionCookie(res)
  if (res.statusCode !== 303 || cookie === undefined) throw new Error(`sign-in failed: ${res.statusCode}`)
  return cookie
}

async function world (t: Test) {
  const env = await buildTestApp(t)
  const { deps } = env
  const owner = await createUser(deps, { name: 'Olga Owner', workspace: 'Loja Azul' })
  const ana = await createUser(deps, { name: 'Ana Quintela', email: 'ana.quintela@example.com' })
  addMember(deps, owner.workspaceId!, ana.id, 'admin')
  const other = await createUser(deps, { name: 'Bruno Stranger', email: 'bruno.stranger@example.com', workspace: 'Casa Verde' })
  const anaKey = createApiKey(deps, { userId: ana.id, workspaceId: owner.workspaceId! }, { name: 'Ana ERP sync', role: 'agent' })
  const otherKey = createApiKey(deps, { userId: other.id, workspaceId: other.workspaceId! }, { name: 'Bruno secret robot', role: 'admin' })
  if (!anaKey.ok || !otherKey.ok) throw new Error('api key')
  await post(env.app, '/login', { email: ana.email, password: 'wrong password' }, undefined, { remoteAddress: '198.51.100.23' })
  const cookie = await signInFrom(env.app, ana, '203.0.113.45')
  await signInFrom(env.app, other, '192.0.2.99')
  return { ...env, owner, ana, other, anaKey, otherKey, cookie }
}

t.test('the page shows my account, workspaces, sessions, keys and activity — and nothing of anyone else', async (t) => {
  const { app, anaKey, cookie } = await world(t)
  const anonymous = await get(app, '/settings/my-data')
  t.equal(anonymous.statusCode, 303)
  t.match(anonymous.headers.location, /^\/login\?next=/)
  const res = await get(app, '/settings/my-data', cookie)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(inlineCode(res.body), [], 'no inline code')
  const body = res.body
  t.match(body, /href="\/settings\/my-data" aria-current="page"/, 'the third tab, current')
  t.match(body, 'Ana Quintela')
  t.match(body, 'ana.quintela@example.com')
  t.match(body, /Loja Azul[\s\S]*?Admin/, 'the workspace with my role')
  t.match(body, /1 device signed in/)
  t.match(body, 'href="/settings/security#sessions"')
  t.match(body, 'Ana ERP sync')
  t.match(body, `${anaKey.ok ? anaKey.key.prefix : ''}…`)
  t.match(body, /Ana Quintela signed in/, 'my sign-in')
  t.match(body, /Failed sign-in attempt for Ana Quintela/, 'the failed attempt on my account')
  t.match(body, '203.0.x.x', 'the address, shortened')
  t.notMatch(body, '203.0.113.45', 'never in full on the page')
  t.match(body, /belong to that workspace/, 'what is not mine to take')
  t.match(body, 'href="/settings/my-data/archive.zip"')
  t.match(body, 'href="/settings/my-data/delete"')
  for (const foreign of ['Bruno', 'Casa Verde', 'secret robot', '192.0.', 'Olga']) t.notMatch(body, foreign, `nothing of another person: ${foreign}`)
  t.notMatch(body, /\$argon2|\$scrypt/, 'no password hash')
})

t.test('the archive: JSON + CSV of my data, no secret, audited', async (t) => {
  const { app, deps, ana, anaKey, otherKey, cookie } = await world(t)
  const totpSecret = 'JBSWY3DPEHPK3PXPTOTPCANARY'
  saveTwoFactorState(deps.db, ana.id, { totpSecret, totpEnabledAt: deps.clock.now() }, deps.clock.now())
  deps.sqlite.prepare("INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ('01RC0000000000000000000001', ?, 'recoveryhashcanary0001', ?)").run(ana.id, deps.clock.now())
  // A name a spreadsheet would run as a formula: neutralised in the CSV.
  deps.sqlite.prepare('UPDATE users SET name = ? WHERE id = ?').run('=HYPERLINK("http://evil") Ana', ana.id)

  const res = await get(app, '/settings/my-data/archive.zip', cookie)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/zip')
  t.match(String(res.headers['content-disposition']), /^attachment; filename="weltra-my-data-\d{4}-\d{2}-\d{2}\.zip"$/)
  t.equal(res.headers['cache-control'], 'no-store')
  const files = unzip(res.rawPayload)
  t.same([...files.keys()], ['README.txt', 'account.json', 'workspaces.json', 'sessions.json', 'api-keys.json', 'activity.csv'])
  const json = (name: string): unknown => JSON.parse(files.get(name)!.toString('utf8'))
  t.match(json('account.json'), { id: ana.id, name: '=HYPERLINK("http://evil") Ana', email: 'ana.quintela@example.com', two_factor: { enabled: true, recovery_codes_left: 1 } })
  t.same((json('workspaces.json') as Array<{ name: string, role: string }>).map(w => [w.name, w.role]), [['Loja Azul', 'admin']])
  const sessions = json('sessions.json') as Array<Record<string, unknown>>
  t.equal(sessions.length, 1)
  t.match(sessions[0], { current: true, ip: '203.0.113.45' })
  t.same(Object.keys(sessions[0]!).sort(), ['browser', 'current', 'device', 'ip', 'last_active_at', 'os', 'second_factor_pending', 'signed_in_at'], 'no id, handle or secret')
  t.same(json('api-keys.json'), [{ name: 'Ana ERP sync', prefix: anaKey.ok ? anaKey.key.prefix : '', role: 'agent', workspace: 'Loja Azul', created_at: new Date(deps.clock.now()).toISOString(), last_used_at: null, revoked_at: null }], 'my key only, no hash')
  const csv = files.get('activity.csv')!.toString('utf8')
  t.ok(csv.startsWith('\uFEFFtime,event,description,ip,details\r\n'), 'a spreadsheet with a BOM')
  t.match(csv, /,login,"'=HYPERLINK\(""http:\/\/evil""\) Ana signed in",203\.0\.113\.45,/, 'my sign-in, in full, the formula neutralised')
  t.match(csv, /,login_failed,.*,198\.51\.100\.23,/)
  t.notMatch(csv, '192.0.2.99', 'not the other person\'s sign-in')

  const everything = [...files.values()].map(b => b.toString('utf8')).join('\n')
  const user = deps.sqlite.prepare('SELECT password_hash FROM users WHERE id = ?').get(ana.id) as { password_hash: string }
  const session = deps.sqlite.prepare('SELECT id, secret_hash FROM sessions WHERE user_id = ?').get(ana.id) as { id: string, secret_hash: string }
  const key = deps.sqlite.prepare('SELECT token_hash FROM api_keys WHERE name = ?').get('Ana ERP sync') as { token_hash: string }
  const secrets = {
    'password hash': user.password_hash,
    'TOTP secret': totpSecret,
    'recovery code hash': 'recoveryhashcanary0001',
    'session id': session.id,
    'session secret hash': session.secret_hash,
    'cookie token': cookie.split('=')[1]!,
    'API key token': anaKey.ok ? anaKey.token : '',
    'API key hash': key.token_hash
  }
  for (const [what, secret] of Object.entries(secrets)) {
    t.ok(secret.length > 8, `${what} is known to the test`)
    t.notOk(everything.includes(secret), `no ${what} in the archive`)
  }
  for (const foreign of ['Bruno', 'Casa Verde', 'secret robot', otherKey.ok ? otherKey.key.prefix : '?']) t.notMatch(everything, foreign, `nothing of another person: ${foreign}`)
  const audit = deps.sqlite.prepare("SELECT actor_user_id, subject_user_id, workspace_id FROM audit_log WHERE action = 'account_exported'").all()
  t.same(audit, [{ actor_user_id: ana.id, subject_user_id: ana.id, workspace_id: null }], 'audited once, as an account event')
  t.match((await get(app, '/settings/my-data', cookie)).body, /downloaded a copy of their account data/, 'and shown in my activity')
})

t.test('delete: the word and the password are checked; nothing is deleted on a mistake', async (t) => {
  const { app, deps, ana, cookie } = await world(t)
  const page = await get(app, '/settings/my-data/delete', cookie)
  t.equal(page.statusCode, 200)
  t.same(inlineCode(page.body), [])
  t.match(page.body, /Type <strong class="forget-word-shown">DELETE<\/strong> to confirm/)
  t.match(page.body, /Erased for good on [A-Z][a-z]{2} \d{1,2}, \d{4}/, 'the purge date')
  t.match(page.body, /Messages and notes you wrote/, 'what stays in the workspaces')
  t.match(page.body, /We send you a confirmation email/)
  const deleted = (): boolean => (deps.sqlite.prepare('SELECT deleted_at FROM users WHERE id = ?').get(ana.id) as { deleted_at: number | null }).deleted_at !== null

  const noWord = await post(app, '/settings/my-data/delete', { current: ana.password, confirm: '' }, cookie)
  t.equal(noWord.statusCode, 422)
  t.match(noWord.body, 'Type DELETE to confirm. Nothing was deleted.')
  const wrongWord = await post(app, '/settings/my-data/delete', { current: ana.password, confirm: 'DELET' }, cookie)
  t.equal(wrongWord.statusCode, 422)
  t.match(wrongWord.body, 'That is not DELETE.')
  t.match(wrongWord.body, /name="confirm" type="text" value="DELET"/, 'what was typed is kept')
  const wrongPassword = await post(app, '/settings/my-data/delete', { current: 'not my password', confirm: 'delete' }, cookie)
  t.equal(wrongPassword.statusCode, 422)
  t.match(wrongPassword.body, 'class="field-error"')
  t.notOk(deleted(), 'nothing deleted')
  t.equal((await get(app, '/settings/my-data', cookie)).statusCode, 200, 'still signed in')

  // In Portuguese the word is EXCLUIR; DELETE is not it.
  const pt = await post(app, '/settings/my-data/delete', { current: ana.password, confirm: 'DELETE' }, cookie, { headers: { 'accept-language': 'pt-BR' } })
  t.equal(pt.statusCode, 422)
  t.match(pt.body, 'Isso não é EXCLUIR.')
  t.notOk(deleted())
})

t.test('a sole owner sees what blocks them, and no form', async (t) => {
  const { app, deps, owner } = await world(t)
  const cookie = await signIn(app, owner)
  const page = await get(app, '/settings/my-data/delete', cookie)
  t.equal(page.statusCode, 200)
  t.match(page.body, 'You are the only owner of a workspace.')
  t.match(page.body, /Loja Azul[\s\S]*href="\/settings\/members"/, 'the workspace, with the way to hand it over')
  t.notMatch(page.body, 'name="confirm"', 'no form')
  const refused = await post(app, '/settings/my-data/delete', { current: owner.password, confirm: 'DELETE' }, cookie)
  t.equal(refused.statusCode, 409)
  t.match(refused.body, 'You are the only owner of a workspace.')
  t.equal((deps.sqlite.prepare('SELECT count(*) AS n FROM users WHERE deleted_at IS NOT NULL').get() as { n: number }).n, 0, 'nothing deleted')
})

t.test('deleted: the cookie is cleared, the login page says so, and signing in no longer works', async (t) => {
  const { app, deps, ana, cookie, owner } = await world(t)
  const res = await post(app, '/settings/my-data/delete', { current: ana.password, confirm: ' delete ' }, cookie)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/login?done=deleted')
  const setCookie = String(res.headers['set-cookie'])
  t.match(setCookie, /weltra_session=;/, 'the session cookie is cleared')
  t.match(setCookie, /Expires=Thu, 01 Jan 1970|Max-Age=0/)
  t.not((await get(app, '/settings/my-data', cookie)).statusCode, 200, 'the old session is gone')
  t.ok((deps.sqlite.prepare('SELECT deleted_at FROM users WHERE id = ?').get(ana.id) as { deleted_at: number | null }).deleted_at !== null)
  t.equal((deps.sqlite.prepare('SELECT count(*) AS n FROM memberships WHERE user_id = ?').get(ana.id) as { n: number }).n, 0, 'out of the workspace')
  const login = await get(app, '/login?done=deleted')
  t.equal(login.statusCode, 200)
  t.match(login.body, /Your account was deleted and you are signed out everywhere\. Everything about it is erased for good within 30 days/)
  t.notMatch((await get(app, '/login?done=other')).body, 'Your account was deleted', 'only for that exact value')
  await t.rejects(signIn(app, ana), /sign-in failed/, 'cannot sign in')
  t.ok(await signIn(app, owner), 'the workspace and its owner carry on')
})

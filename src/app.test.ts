import t, { type Test } from 'tap'
import { buildTestApp } from '../test/helpers/build-test-app.js'
import { inlineCode } from '../test/helpers/html.js'
import { PolicyError } from './platform/http/policy.js'

const csp = "default-src 'none';script-src 'self';style-src 'self';img-src 'self' data: blob:;media-src 'self' blob:;font-src 'self';connect-src 'self';manifest-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none';object-src 'none'"

function assertSecurityHeaders (t: Test, headers: Record<string, unknown>, url: string): void {
  t.equal(headers['content-security-policy'], csp, `${url}: strict CSP`)
  t.equal(headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
  t.equal(headers['x-frame-options'], 'DENY', `${url}: no framing`)
  t.equal(headers['referrer-policy'], 'same-origin', `${url}: referrer policy`)
  t.equal(headers['cross-origin-opener-policy'], 'same-origin', `${url}: COOP`)
  t.equal(headers['cross-origin-resource-policy'], 'same-origin', `${url}: CORP`)
  t.match(String(headers['permissions-policy']), /camera=\(\)/, `${url}: permissions policy`)
  t.notOk(headers['x-powered-by'], `${url}: no x-powered-by`)
}

t.test('every kind of response carries the security headers, and no HSTS over plain HTTP', async (t) => {
  const { app } = await buildTestApp(t)
  for (const url of ['/', '/healthz', '/readyz', '/static/css/app.css', '/no-such-page']) {
    const res = await app.inject({ url })
    assertSecurityHeaders(t, res.headers, url)
    t.notOk(res.headers['strict-transport-security'], `${url}: no HSTS over http`)
  }
})

t.test('HSTS is sent when a trusted proxy says the request came over HTTPS, and only then', async (t) => {
  const { app } = await buildTestApp(t, { set: { 'server.trusted_proxies': '127.0.0.1' } })
  const viaProxy = await app.inject({ url: '/', headers: { 'x-forwarded-proto': 'https' }, remoteAddress: '127.0.0.1' })
  t.match(String(viaProxy.headers['strict-transport-security']), /max-age=63072000/)
  const spoofed = await app.inject({ url: '/', headers: { 'x-forwarded-proto': 'https' }, remoteAddress: '203.0.113.9' })
  t.notOk(spoofed.headers['strict-transport-security'], 'an untrusted client cannot claim HTTPS')
})

t.test('the welcome page explains the instance and contains no inline script or style', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.body, /<html lang="en" dir="ltr"/)
  t.match(res.body, /href="\/setup"/)
  t.match(res.body, /\/static\/css\/app\.css\?v=[0-9a-f]{12}/)
  t.match(res.body, /\/static\/vendor\/htmx\.min\.js\?v=[0-9a-f]{12}/)
  t.match(res.body, /Not on HTTPS yet/)
  t.same(inlineCode(res.body), [])
})

t.test('pages follow the browser language when a catalogue exists, English otherwise', async (t) => {
  const { app } = await buildTestApp(t)
  const pt = await app.inject({ url: '/', headers: { 'accept-language': 'pt-BR,pt;q=0.9,en;q=0.5' } })
  t.match(pt.body, /<html lang="pt-BR"/)
  t.notMatch(pt.body, /Not on HTTPS yet/)
  const fallback = await app.inject({ url: '/', headers: { 'accept-language': 'xx-YY' } })
  t.match(fallback.body, /<html lang="en"/)
})

t.test('a missing page is a friendly 404 without internals', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/definitely/not/here' })
  t.equal(res.statusCode, 404)
  t.match(res.headers['content-type'], /text\/html/)
  t.notMatch(res.body, /at .*\.ts:\d+|node_modules|\/work\//)
  t.same(inlineCode(res.body), [])
})

t.test('an unexpected error is a 500 page with a reference and no stack trace; the details go to the log', async (t) => {
  const { app, logs } = await buildTestApp(t)
  app.get('/boom', { config: { policy: 'public' } }, async () => { throw new Error('secret internal detail') })
  const res = await app.inject({ url: '/boom' })
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /secret internal detail|at .*\.ts:\d+|node_modules/)
  const reqId = /[0-9A-HJKMNP-TV-Z]{26}/.exec(res.body)?.[0]
  t.ok(reqId, 'the page shows a reference')
  t.ok(logs.some(l => l.includes('secret internal detail') && l.includes(reqId ?? '?')), 'the log has the details with the same id')
})

t.test('an htmx request that fails gets a flash fragment retargeted to #flash', async (t) => {
  const { app } = await buildTestApp(t)
  app.get('/boom', { config: { policy: 'public' } }, async () => { throw new Error('x') })
  const res = await app.inject({ url: '/boom', headers: { 'hx-request': 'true' } })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['hx-retarget'], '#flash')
  t.notMatch(res.body, /<html/)
})

t.test('a storage failure answers 503 so clients retry', async (t) => {
  const { app } = await buildTestApp(t)
  app.get('/full', { config: { policy: 'public' } }, async () => { throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }) })
  t.equal((await app.inject({ url: '/full' })).statusCode, 503)
})

t.test('a route without an access policy stops the app from starting', async (t) => {
  const { app } = await buildTestApp(t)
  t.throws(() => app.get('/open', async () => 'x'), PolicyError)
  t.throws(() => app.get('/odd', { config: { policy: 'whoever' as 'public' } }, async () => 'x'), PolicyError)
})

t.test('health: /healthz is alive, /readyz proves a durable write and turns 503 while shutting down', async (t) => {
  const { app, deps } = await buildTestApp(t)
  t.same((await app.inject({ url: '/healthz' })).json(), { status: 'ok' })
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.ok(deps.sqlite.prepare("SELECT 1 FROM meta WHERE key = 'ready_check'").get(), 'the probe wrote a row')
  deps.lifecycle.closing = true
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 503)
  deps.lifecycle.closing = false
  deps.sqlite.pragma('query_only = ON')
  const readonly = await app.inject({ url: '/readyz' })
  t.equal(readonly.statusCode, 503)
  t.same(readonly.json(), { status: 'unavailable', reason: 'database' })
})

t.test('static files: versioned URLs are immutable, others revalidate, ETags give 304, text is compressed', async (t) => {
  const { app } = await buildTestApp(t)
  const page = await app.inject({ url: '/' })
  const cssUrl = /\/static\/css\/app\.css\?v=[0-9a-f]{12}/.exec(page.body)![0]
  const versioned = await app.inject({ url: cssUrl })
  t.equal(versioned.statusCode, 200)
  t.equal(versioned.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.match(versioned.headers['content-type'], /text\/css/)
  const plain = await app.inject({ url: '/static/css/app.css' })
  t.equal(plain.headers['cache-control'], 'public, no-cache')
  const again = await app.inject({ url: '/static/css/app.css', headers: { 'if-none-match': String(plain.headers.etag) } })
  t.equal(again.statusCode, 304)
  const br = await app.inject({ url: cssUrl, headers: { 'accept-encoding': 'gzip, br' } })
  t.equal(br.headers['content-encoding'], 'br')
  t.ok(br.rawPayload.length < versioned.rawPayload.length)
  t.equal((await app.inject({ url: '/static/../package.json' })).statusCode, 404)
  t.equal((await app.inject({ url: '/static/nope.js' })).statusCode, 404)
})

t.test('request bodies over 1 MiB are refused with 413', async (t) => {
  const { app } = await buildTestApp(t)
  app.post('/echo', { config: { policy: 'public' } }, async () => 'ok')
  const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:8080' }, payload: 'a=' + 'x'.repeat(2 * 1024 * 1024) })
  t.equal(res.statusCode, 413)
})

t.test('prototype-poisoning JSON is rejected', async (t) => {
  const { app } = await buildTestApp(t)
  app.post('/echo', { config: { policy: 'public' } }, async () => 'ok')
  const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json', origin: 'http://localhost:8080' }, payload: '{"__proto__":{"admin":true}}' })
  t.equal(res.statusCode, 400)
})

t.test('logs carry a request id but never query strings or cookies', async (t) => {
  const { app, logs } = await buildTestApp(t)
  await app.inject({ url: '/?token=CANARY-query-123', headers: { cookie: 'session=CANARY-cookie-456', authorization: 'Bearer CANARY-auth-789' } })
  const text = logs.join('\n')
  t.notMatch(text, /CANARY/)
  t.match(text, /"reqId":"[0-9A-HJKMNP-TV-Z]{26}"/)
})

t.test('every page template renders and every catalogue has the same keys as English', async (t) => {
  const { deps } = await buildTestApp(t)
  const en = new Set(deps.i18n.keys('en'))
  for (const locale of deps.i18n.locales) {
    const keys = new Set(deps.i18n.keys(locale))
    t.same([...en].filter(k => !keys.has(k)), [], `${locale} translates every key`)
    t.same([...keys].filter(k => !en.has(k)), [], `${locale} has no unknown keys`)
  }
})

t.test('every message key used by templates and code exists in the English catalogue', async (t) => {
  const { readdirSync, readFileSync, statSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { deps } = await buildTestApp(t)
  const known = new Set(deps.i18n.keys('en'))
  const files: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name)
      if (statSync(full).isDirectory()) walk(full)
      else if (/\.(eta|ts)$/.test(name) && !name.endsWith('.test.ts')) files.push(full)
    }
  }
  walk(deps.assets.views)
  walk(join(deps.assets.root, 'src'))
  const missing: string[] = []
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z][\w.-]*)'/g)) if (!m[1]!.endsWith('.') && !known.has(m[1]!)) missing.push(`${file}: ${m[1]}`)
    for (const m of text.matchAll(/(?:messageKey|titleKey)[^'\n]*'([a-zA-Z][\w.-]*)'/g)) if (!known.has(m[1]!)) missing.push(`${file}: ${m[1]}`)
    for (const m of text.matchAll(/'(errors\.[a-zA-Z]+\.(?:text|title))'/g)) if (!known.has(m[1]!)) missing.push(`${file}: ${m[1]}`)
  }
  t.same(missing, [])
})

t.test('route schemas are checked by the TypeBox compiler (Ajv is never loaded)', async (t) => {
  const { Type } = await import('@sinclair/typebox')
  const { app } = await buildTestApp(t)
  app.get('/typed', { config: { policy: 'public' }, schema: { querystring: Type.Object({ n: Type.Integer({ minimum: 1 }) }) } }, async (req) => ({ n: (req.query as { n: number }).n }))
  const ok = await app.inject({ url: '/typed?n=3' })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { n: 3 }, 'query strings are converted to the schema type')
  t.equal((await app.inject({ url: '/typed?n=0' })).statusCode, 400)
  t.equal((await app.inject({ url: '/typed?n=abc' })).statusCode, 400)
})

t.test('a wrapped database error is logged with its SQL and cause but never its parameters', async (t) => {
  const { deps, logs } = await buildTestApp(t)
  const { DrizzleQueryError } = await import('drizzle-orm/errors')
  const cause = Object.assign(new Error('UNIQUE constraint failed: users.email_index'), { code: 'SQLITE_CONSTRAINT_UNIQUE' })
  deps.log.error({ err: new DrizzleQueryError('insert into "users" ("name", "password_hash") values (?, ?)', ['CANARY-name', 'CANARY-hash'], cause) }, 'request failed')
  await new Promise(resolve => setImmediate(resolve))
  const text = logs.join('\n')
  t.match(text, /failed query: insert into \\"users\\"/)
  t.match(text, /UNIQUE constraint failed/, 'the driver error is kept')
  t.notMatch(text, /CANARY/)
})

t.test('static files and health checks never look up the session', async (t) => {
  const { app, deps } = await buildTestApp(t)
  let lookups = 0
  const prepare = deps.sqlite.prepare.bind(deps.sqlite)
  deps.sqlite.prepare = ((source: string) => { if (/from "sessions"/i.test(source)) lookups++; return prepare(source) }) as typeof deps.sqlite.prepare
  for (const url of ['/static/css/app.css', '/healthz', '/readyz']) await app.inject({ url, headers: { cookie: 'weltra_session=abc.def' } })
  t.equal(lookups, 0)
  await app.inject({ url: '/', headers: { cookie: 'weltra_session=abc.def' } })
  t.ok(lookups > 0, 'pages do')
})

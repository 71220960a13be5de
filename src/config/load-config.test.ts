import t from 'tap'
import { loadConfig, maskSecrets, parseListen, publicUrl, type ConfigInput } from './load-config.js'

const key = Buffer.alloc(32, 1).toString('base64')
const otherKey = Buffer.alloc(32, 2).toString('base64')

function load (files: Record<string, string>, extra: Partial<ConfigInput> = {}) {
  return loadConfig({
    env: {},
    readFile: (p) => {
      if (files[p] === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' })
      return files[p]
    },
    exists: (p) => files[p] !== undefined,
    ...extra
  })
}

function ok (r: ReturnType<typeof load>) {
  if (!r.ok) throw new Error(r.errors.join('\n'))
  return r
}

t.test('with no file, no environment and no flags the built-in defaults apply', async (t) => {
  const r = ok(load({}))
  t.equal(r.config.server.listen, '127.0.0.1:8080')
  t.equal(r.config.storage.data_dir, './data')
  t.equal(r.file, undefined)
  t.equal(publicUrl(r.config), 'http://localhost:8080')
  t.equal(r.sources['server.listen'], 'default')
})

t.test('./config.toml is read when present and --config is not given', async (t) => {
  const r = ok(load({ 'config.toml': '[server]\nlisten = "0.0.0.0:9000"\n' }))
  t.equal(r.config.server.listen, '0.0.0.0:9000')
  t.equal(r.file, 'config.toml')
})

t.test('precedence is defaults < file < environment < flags', async (t) => {
  const files = { 'c.toml': '[server]\nlisten = "127.0.0.1:1001"\npublic_url = "https://file.example"\n[log]\nlevel = "debug"\n' }
  const r = ok(load(files, {
    configPath: 'c.toml',
    env: { WELTRA_SERVER__LISTEN: '127.0.0.1:1002', WELTRA_LOG__LEVEL: 'warn' },
    flags: { 'server.listen': '127.0.0.1:1003' }
  }))
  t.equal(r.config.server.listen, '127.0.0.1:1003')
  t.equal(r.sources['server.listen'], 'flag')
  t.equal(r.config.log.level, 'warn')
  t.equal(r.sources['log.level'], 'env')
  t.equal(r.config.server.public_url, 'https://file.example')
  t.equal(r.sources['server.public_url'], 'file')
  t.equal(r.config.storage.backup_keep, 10)
})

t.test('environment strings are converted to the key type', async (t) => {
  const r = ok(load({}, { env: { WELTRA_STORAGE__BACKUP_KEEP: '3', WELTRA_SERVER__TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8' } }))
  t.equal(r.config.storage.backup_keep, 3)
  t.same(r.config.server.trusted_proxies, ['127.0.0.1', '10.0.0.0/8'])
})

t.test('every problem is reported at once, each with its key path', async (t) => {
  const files = {
    'c.toml': [
      '[server]', 'listen = "nonsense"', 'lisen = "x"', 'trusted_proxies = ["not-an-ip"]', 'tls_cert_file = "/a.pem"',
      '[storage]', 'backup_keep = 0',
      '[security]', 'master_key = "short"',
      '[log]', 'level = "loud"',
      '[ui]', 'default_time_zone = "Mars/Base"',
      '[whatever]', 'x = 1'
    ].join('\n')
  }
  const r = load(files, { configPath: 'c.toml', env: { WELTRA_SERVER__NOPE: '1', WELTRA_BAD: 'x' } })
  t.equal(r.ok, false)
  if (r.ok) return
  const all = r.errors.join('\n')
  t.match(all, /\[whatever\]: unknown section/)
  t.match(all, /unknown key server\.lisen \(did you mean server\.listen\?\)/)
  t.match(all, /WELTRA_SERVER__NOPE: unknown key server\.nope/)
  t.match(all, /WELTRA_BAD: not a configuration variable/)
  t.match(all, /storage\.backup_keep: must be at least 1/)
  t.match(all, /log\.level: must be one of/)
  t.match(all, /server\.listen: must be "host:port"/, 'meaning checks run alongside type checks')
  const r2 = load({ 'c.toml': '[server]\nlisten = "nonsense"\ntrusted_proxies = ["not-an-ip"]\ntls_cert_file = "/a.pem"\n[security]\nmaster_key = "short"\n[ui]\ndefault_time_zone = "Mars/Base"\n' }, { configPath: 'c.toml' })
  t.equal(r2.ok, false)
  if (r2.ok) return
  const semantic = r2.errors.join('\n')
  t.match(semantic, /server\.listen: must be "host:port"/)
  t.match(semantic, /server\.trusted_proxies\[0\]: must be an IP address or CIDR/)
  t.match(semantic, /tls_cert_file, server\.tls_key_file: give both/)
  t.match(semantic, /security\.master_key: must be 32 random bytes/)
  t.match(semantic, /ui\.default_time_zone: unknown IANA time zone/)
  t.equal(r2.errors.length, 5)
})

t.test('a TOML syntax error names the file, line and column', async (t) => {
  const r = load({ 'c.toml': '[server]\nlisten = \n' }, { configPath: 'c.toml' })
  t.equal(r.ok, false)
  if (!r.ok) t.match(r.errors[0], /^c\.toml:2:\d+: /)
})

t.test('an explicit config file that does not exist is an error; a missing ./config.toml is not', async (t) => {
  const r = load({}, { configPath: 'missing.toml' })
  t.equal(r.ok, false)
  if (!r.ok) t.match(r.errors[0], /missing\.toml: cannot read the config file \(no such file\)/)
  t.equal(load({}).ok, true)
})

t.test('wrong value types in TOML are rejected rather than coerced', async (t) => {
  const r = load({ 'c.toml': '[server]\nlisten = 8080\n[storage]\nbackup_keep = "3"\n' }, { configPath: 'c.toml' })
  t.equal(r.ok, false)
  if (r.ok) return
  t.match(r.errors.join('\n'), /server\.listen: must be a string \(got 8080\)/)
  t.match(r.errors.join('\n'), /storage\.backup_keep: must be a whole number/)
})

t.test('a secret can come from <key>_file in the file or the environment, trailing newline removed', async (t) => {
  const files = { 'c.toml': '[security]\nmaster_key_file = "/run/secrets/key"\n', '/run/secrets/key': key + '\n', '/k2': otherKey + '\n' }
  const fromFile = ok(load(files, { configPath: 'c.toml' }))
  t.equal(fromFile.config.security.master_key, key)
  const fromEnv = ok(load(files, { env: { WELTRA_SECURITY__MASTER_KEY_FILE: '/k2' } }))
  t.equal(fromEnv.config.security.master_key, otherKey)
  t.equal(fromEnv.sources['security.master_key'], 'env')
})

t.test('a list secret read from a file takes one value per line', async (t) => {
  const files = { '/prev': `# old keys\n${key}\n\n${otherKey}\n` }
  const r = ok(load(files, { env: { WELTRA_SECURITY__PREVIOUS_MASTER_KEYS_FILE: '/prev' } }))
  t.same(r.config.security.previous_master_keys, [key, otherKey])
})

t.test('giving a secret and its _file in the same place is an error; an unreadable _file too', async (t) => {
  const files = { 'c.toml': `[security]\nmaster_key = "${key}"\nmaster_key_file = "/k"\n`, '/k': key }
  const r = load(files, { configPath: 'c.toml' })
  t.equal(r.ok, false)
  if (!r.ok) t.match(r.errors.join('\n'), /master_key is given twice/)
  const r2 = load({}, { env: { WELTRA_SECURITY__MASTER_KEY_FILE: '/nope' } })
  t.equal(r2.ok, false)
  if (!r2.ok) t.match(r2.errors[0], /WELTRA_SECURITY__MASTER_KEY_FILE: cannot read \/nope \(no such file\)/)
})

t.test('_file is only accepted for secret keys', async (t) => {
  const r = load({}, { env: { WELTRA_SERVER__LISTEN_FILE: '/x' } })
  t.equal(r.ok, false)
  if (!r.ok) t.match(r.errors[0], /unknown key server\.listen_file/)
})

t.test('the loaded configuration is frozen', async (t) => {
  const r = ok(load({}))
  t.throws(() => { (r.config.server as { listen: string }).listen = 'x' })
  t.throws(() => { (r.config.server.trusted_proxies as string[]).push('x') })
})

t.test('masking hides every secret and nothing else', async (t) => {
  const r = ok(load({}, { env: { WELTRA_SECURITY__MASTER_KEY: key, WELTRA_SECURITY__PREVIOUS_MASTER_KEYS: otherKey } }))
  const masked = maskSecrets(r.config)
  t.equal(masked.security!.master_key, '********')
  t.same(masked.security!.previous_master_keys, ['********'])
  t.equal(masked.server!.listen, '127.0.0.1:8080')
  t.notMatch(JSON.stringify(masked), key.slice(0, 20))
})

t.test('listen addresses parse, IPv6 included, and bad ports are refused', async (t) => {
  t.same(parseListen('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 })
  t.same(parseListen('[::1]:443'), { host: '::1', port: 443 })
  t.same(parseListen('localhost:1'), { host: 'localhost', port: 1 })
  t.equal(parseListen('127.0.0.1:0'), undefined)
  t.equal(parseListen('127.0.0.1:65536'), undefined)
  t.equal(parseListen('8080'), undefined)
  t.equal(parseListen('::1:8080'), undefined)
})

t.test('public_url must be an http(s) URL without query; the trailing slash is dropped', async (t) => {
  t.equal(publicUrl(ok(load({}, { flags: { 'server.public_url': 'https://crm.example.com/' } })).config), 'https://crm.example.com')
  for (const bad of ['ftp://x', 'https://x/?a=1', 'not a url', 'https://user:pw@x']) {
    t.equal(load({}, { flags: { 'server.public_url': bad } }).ok, false, bad)
  }
})

t.test('config.example.toml documents exactly the keys of the schema (regenerate: npm run config:example)', async (t) => {
  const { readFileSync } = await import('node:fs')
  const { renderExampleConfig } = await import('./example.js')
  t.equal(readFileSync(new URL('../../config.example.toml', import.meta.url), 'utf8'), renderExampleConfig())
  const parsed = loadConfig({ configPath: 'x.toml', env: {}, readFile: () => renderExampleConfig(), exists: () => true })
  t.equal(parsed.ok, true, 'the example itself is a valid configuration')
})

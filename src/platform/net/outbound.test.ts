// Host allowlist matching, resolve-once vetting and the pinned lookup, over a real socket on 127.0.0.1.
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { hostMatches, OutboundRefusedError, pinnedLookup, vetHost, type HostResolver } from './outbound.js'

/** The address class an OutboundRefusedError names, or 'accepted'. */
async function refusal (p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
    return 'accepted'
  } catch (err) {
    return err instanceof OutboundRefusedError ? err.addressClass : `unexpected ${String(err)}`
  }
}

t.test('hostMatches: exact hosts and "*." subdomain patterns, case and trailing dot insensitive', async (t) => {
  const allow = ['lookaside.fbsbx.com', '*.fbsbx.com', '*.fbcdn.net', '*.whatsapp.net']
  for (const h of ['lookaside.fbsbx.com', 'LOOKASIDE.FBSBX.COM', 'lookaside.fbsbx.com.', 'a.fbsbx.com', 'a.b.fbsbx.com', 'scontent.xx.fbcdn.net', 'mmg.whatsapp.net']) t.ok(hostMatches(h, allow), h)
  for (const h of ['fbsbx.com', 'evilfbsbx.com', 'fbsbx.com.evil.test', 'lookaside.fbsbx.com.evil.test', 'fbcdn.net', 'x.fbcdn.net.evil', '', '127.0.0.1', 'whatsapp.net']) t.notOk(hostMatches(h, allow), h)
  t.notOk(hostMatches('127.0.0.1', ['*.0.0.1']), 'wildcards never match addresses')
  t.ok(hostMatches('127.0.0.1', ['127.0.0.1']), 'an exact address pattern matches')
  t.ok(hostMatches('[::1]', ['::1']))
  t.notOk(hostMatches('a.example.com', ['*.', '*', '*.*.com']), 'degenerate patterns match nothing')
})

t.test('vetHost refuses names that resolve to any non-public address, and literals in any spelling', async (t) => {
  const table: Record<string, string[]> = {
    'public.test': ['157.240.1.1', '2a03:2880:f10c:83:face:b00c:0:25de'],
    'loop.test': ['127.0.0.1'],
    'mixed.test': ['157.240.1.1', '10.0.0.5'],
    'meta.test': ['169.254.169.254'],
    'mapped.test': ['::ffff:127.0.0.1'],
    'empty.test': []
  }
  const resolve: HostResolver = async (h) => (table[h] ?? []).map(address => ({ address, family: address.includes(':') ? 6 : 4 }))
  t.same(await vetHost('public.test', { resolve }), [{ address: '157.240.1.1', family: 4 }, { address: '2a03:2880:f10c:83:face:b00c:0:25de', family: 6 }])
  for (const h of ['loop.test', 'mixed.test', 'meta.test', 'mapped.test']) {
    await t.rejects(vetHost(h, { resolve }), OutboundRefusedError, h)
  }
  await t.rejects(vetHost('empty.test', { resolve }), /no addresses/)
  t.equal(await refusal(vetHost('127.0.0.1')), 'loopback', '127.0.0.1')
  t.equal(await refusal(vetHost('[::1]')), 'loopback', '[::1]')
  t.equal(await refusal(vetHost('[::ffff:127.0.0.1]')), 'loopback', '[::ffff:127.0.0.1]')
  t.equal(await refusal(vetHost('2130706433')), 'loopback', '2130706433')
  t.equal(await refusal(vetHost('0x7f.1')), 'loopback', '0x7f.1')
  t.equal(await refusal(vetHost('0.0.0.0')), 'unspecified', '0.0.0.0')
  t.equal(await refusal(vetHost('169.254.169.254')), 'link-local', '169.254.169.254')
  await t.rejects(vetHost('localhost'), OutboundRefusedError, 'the system resolver is used for names, and localhost is loopback')
  t.same(await vetHost('127.0.0.1', { allowPrivate: true }), [{ address: '127.0.0.1', family: 4 }], 'allowPrivate is for the configured base URL only')
  t.same(await vetHost('8.8.8.8'), [{ address: '8.8.8.8', family: 4 }], 'a public literal is not resolved')
})

t.test('pinnedLookup connects to the vetted address whatever name the request uses (no second resolution)', async (t) => {
  const server = createServer((req, res) => { res.end(`host header ${req.headers.host ?? ''}`) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const port = (server.address() as AddressInfo).port
  let resolutions = 0
  const resolve: HostResolver = async () => { resolutions++; return [{ address: '127.0.0.1', family: 4 }] }
  const vetted = await vetHost('rebind.invalid', { resolve, allowPrivate: true })
  // "rebind.invalid" cannot be resolved by any real resolver: the request only works if the pinned lookup is used.
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: 'rebind.invalid', port, path: '/', lookup: pinnedLookup(vetted), agent: false }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => resolve(text))
    })
    req.on('error', reject)
    req.end()
  })
  t.equal(body, `host header rebind.invalid:${port}`, 'the Host header keeps the name; the socket went to the vetted address')
  t.equal(resolutions, 1, 'resolved exactly once')

  const lookup = pinnedLookup([{ address: '127.0.0.1', family: 4 }])
  await new Promise<void>(resolve => {
    lookup('x', { family: 6 }, (err) => { t.match(err, { code: 'ENOTFOUND' }, 'no address of the asked family'); resolve() })
  })
  await new Promise<void>(resolve => {
    lookup('x', { all: true }, (err, addresses) => { t.equal(err, null); t.same(addresses, [{ address: '127.0.0.1', family: 4 }]); resolve() })
  })
})

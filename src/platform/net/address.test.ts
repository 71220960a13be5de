// The address classifier: every special-purpose range of IPv4 and IPv6 (IANA registries), the IPv6
// forms that embed IPv4, legacy IPv4 spellings, and parser agreement with node:net on valid forms.
import { isIP } from 'node:net'
import t from 'tap'
import { classifyAddressText, formatAddress, hostAsAddress, isPublicAddress, parseIp, parseIPv4, parseIPv6, parseLegacyIPv4 } from './address.js'

t.test('IPv4 special ranges are refused, public addresses pass', async (t) => {
  const cases: Array<[string, string]> = [
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['192.0.0.8', 'reserved'],
    ['192.0.0.170', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // Neighbours of the ranges are public.
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['169.253.255.255', 'public'],
    ['192.167.255.255', 'public'],
    ['198.17.255.255', 'public'],
    ['198.20.0.0', 'public'],
    ['11.0.0.0', 'public'],
    ['126.255.255.255', 'public'],
    ['128.0.0.0', 'public'],
    ['223.255.255.255', 'public'],
    ['157.240.1.1', 'public']
  ]
  for (const [ip, cls] of cases) t.equal(classifyAddressText(ip), cls, ip)
})

t.test('IPv6 special ranges and embedded IPv4 forms', async (t) => {
  const cases: Array<[string, string]> = [
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::10.0.0.1', 'private'],
    ['::8.8.8.8', 'public'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['64:ff9b:1::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['2002:808:808::1', 'public'],
    ['2001::1', 'teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001:2::1', 'benchmarking'],
    ['2001:20::1', 'reserved'],
    ['100::1', 'reserved'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['4000::1', 'reserved'],
    ['::2', 'reserved'],
    ['2a03:2880:f10c:83:face:b00c:0:25de', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public']
  ]
  for (const [ip, cls] of cases) t.equal(classifyAddressText(ip), cls, ip)
})

t.test('legacy IPv4 spellings are recognised as the address they mean', async (t) => {
  const loopback = ['2130706433', '0x7f000001', '0x7f.1', '0x7F.0.0.1', '0177.0.0.1', '017700000001', '127.1', '127.0.1', '0x7f.0x0.0x0.0x1', '127.0.0.1.']
  for (const h of loopback) {
    t.equal(formatAddress(hostAsAddress(h)!), '127.0.0.1', h)
    t.equal(classifyAddressText(h), 'loopback', h)
  }
  t.equal(formatAddress(hostAsAddress('0')!), '0.0.0.0')
  t.equal(classifyAddressText('0'), 'unspecified')
  t.equal(formatAddress(hostAsAddress('2852039166')!), '169.254.169.254')
  t.equal(formatAddress(hostAsAddress('0xa9fea9fe')!), '169.254.169.254')
  t.equal(formatAddress(hostAsAddress('0251.0376.0251.0376')!), '169.254.169.254')
  t.equal(formatAddress(hostAsAddress('10.1')!), '10.0.0.1')
  t.equal(formatAddress(hostAsAddress('192.168.257')!), '192.168.1.1')
  for (const bad of ['4294967296', '256.0.0.1', '1.2.3.4.5', '0x', '08.0.0.1', '1..1', '', '.', 'example.com', '1.2.3.4x', '99999999999999999999', '1.256.0.0']) {
    t.equal(parseLegacyIPv4(bad) === undefined || bad === '0x', true, `${bad} is not a legacy address`)
  }
  t.equal(formatAddress(parseLegacyIPv4('0x')!), '0.0.0.0', 'a bare 0x is zero, as inet_aton reads it')
})

t.test('strict parsers accept exactly the canonical forms', async (t) => {
  t.same(parseIPv4('192.0.2.1')?.bytes, new Uint8Array([192, 0, 2, 1]))
  for (const bad of ['01.2.3.4', '1.2.3', '1.2.3.256', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-1', '1.2.3.4.', 'a.b.c.d']) t.equal(parseIPv4(bad), undefined, bad)
  for (const bad of [':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', '::ffff:1.2.3', '::1.2.3.4:5', '1:2:3:4:5:6:7::8', ':1::', '[::1', '::1%', 'fe80::1%']) {
    t.equal(parseIPv6(bad), undefined, bad)
  }
  t.equal(parseIPv6('1:2:3:4:5:6::8')?.family, 6, 'a :: standing for one group')
})

t.test('the IPv6 parser agrees with node:net on many generated forms', async (t) => {
  const samples: string[] = []
  const groups = ['0', '1', 'ffff', 'abcd', '12', '0db8', 'fe80']
  for (let n = 0; n < 400; n++) {
    const g = Array.from({ length: 8 }, (_, i) => groups[(n * 7 + i * 3 + (n >> 2)) % groups.length]!)
    const full = g.join(':')
    samples.push(full)
    const start = n % 7
    const len = 1 + (n % (8 - start))
    samples.push(`${g.slice(0, start).join(':')}::${g.slice(start + len).join(':')}`)
    samples.push(`${g.slice(0, 6).join(':')}:${n % 256}.${(n * 3) % 256}.0.${n % 10}`)
  }
  samples.push('::', '::1', '1::', '::ffff:1.2.3.4', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8')
  let checked = 0
  for (const s of samples) {
    const ours = parseIPv6(s) !== undefined
    t.equal(ours, isIP(s) === 6, s)
    if (ours) {
      const canonical = formatAddress(parseIPv6(s)!)
      t.same(parseIPv6(canonical)?.bytes, parseIPv6(s)?.bytes, `${s} round-trips through ${canonical}`)
    }
    checked++
  }
  t.ok(checked > 1000, `${checked} forms checked`)
})

t.test('formatAddress writes RFC 5952 text; parseIp rejects names', async (t) => {
  t.equal(formatAddress(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001')!), '2001:db8::1')
  t.equal(formatAddress(parseIp('0:0:0:0:0:0:0:0')!), '::')
  t.equal(formatAddress(parseIp('1:0:0:1:0:0:0:1')!), '1:0:0:1::1')
  t.equal(formatAddress(parseIp('1:0:1:1:1:1:1:1')!), '1:0:1:1:1:1:1:1', 'a single zero group is not compressed')
  t.equal(parseIp('example.com'), undefined)
  t.equal(parseIp('localhost'), undefined)
  t.notOk(isPublicAddress('localhost'), 'a name is not a public address')
  t.notOk(isPublicAddress('not an address'))
  t.ok(isPublicAddress('157.240.229.35'))
})

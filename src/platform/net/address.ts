// IP address parsing and classification for outbound requests to URLs someone else chose (media URLs
// from Meta, any user-configured URL later): an address is "public" only when it is a globally routable
// unicast address. Everything else — unspecified, loopback, private (RFC 1918), shared/CGNAT, link-local
// (169.254.169.254 is the cloud metadata service), unique-local, site-local, multicast, broadcast,
// documentation, benchmarking, reserved — is refused, and IPv6 forms that embed an IPv4 address
// (::ffff:a.b.c.d mapped, ::a.b.c.d compatible, 64:ff9b::/96 NAT64, 2002::/16 6to4) are judged by the
// IPv4 address inside. Teredo (2001::/32) hides its real target, so it is refused as a whole.
//
// Parsers are strict for the canonical forms (dotted quad, RFC 4291 text, optional [brackets] and
// %zone) and, separately, parseLegacyIPv4 understands the inet_aton spellings (2130706433, 0x7f.1,
// 0177.0.0.1, 127.1) that some resolvers and old libraries still accept, so a host string written
// that way is recognised as the address it means.

/** A parsed address: 4 bytes (IPv4) or 16 bytes (IPv6). */
export interface IpAddress {
  family: 4 | 6
  bytes: Uint8Array
}

/** Why an address is not public, or 'public'. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'teredo'

/** Parses a dotted-quad IPv4 address ("192.0.2.1": four decimal parts 0–255, no leading zeros). */
export function parseIPv4 (text: string): IpAddress | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    bytes[i] = n
  }
  return { family: 4, bytes }
}

/**
 * Parses the legacy inet_aton spellings of IPv4: 1 to 4 parts, each decimal, octal (leading 0) or hex
 * (0x); the last part fills the remaining bytes ("127.1" = 127.0.0.1, "2130706433" = 127.0.0.1,
 * "0x7f.0.0.1", "0177.0.0.1"). Returns undefined for anything else.
 */
export function parseLegacyIPv4 (text: string): IpAddress | undefined {
  if (text === '' || text.length > 64) return undefined
  const parts = text.split('.')
  if (parts.length > 4) return undefined
  const values: number[] = []
  for (const p of parts) {
    let n: number
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) n = p.length === 2 ? 0 : parseInt(p.slice(2), 16)
    else if (/^0[0-7]+$/.test(p)) n = parseInt(p.slice(1), 8)
    else if (/^(0|[1-9]\d*)$/.test(p)) n = Number(p)
    else return undefined
    if (!Number.isSafeInteger(n)) return undefined
    values.push(n)
  }
  const last = values.pop()!
  for (const v of values) if (v > 255) return undefined
  if (last >= 256 ** (4 - values.length)) return undefined
  const bytes = new Uint8Array(4)
  values.forEach((v, i) => { bytes[i] = v })
  let rest = last
  for (let i = 3; i >= values.length; i--) {
    bytes[i] = rest % 256
    rest = Math.floor(rest / 256)
  }
  return { family: 4, bytes }
}

/** Parses IPv6 text (RFC 4291 forms, "::" compression, a dotted IPv4 tail, optional [brackets] and %zone). */
export function parseIPv6 (input: string): IpAddress | undefined {
  let text = input
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1)
  const zone = text.indexOf('%')
  if (zone !== -1) {
    if (zone === text.length - 1) return undefined
    text = text.slice(0, zone)
  }
  if (text.length < 2 || text.length > 45) return undefined
  let tail: Uint8Array | undefined
  const lastColon = text.lastIndexOf(':')
  if (text.indexOf('.', lastColon) !== -1) {
    const v4 = parseIPv4(text.slice(lastColon + 1))
    if (v4 === undefined) return undefined
    tail = v4.bytes
    text = text.slice(0, lastColon + 1) + '0:0' // stands in for the two groups the IPv4 tail fills
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const group = /^[0-9a-fA-F]{1,4}$/
  const read = (s: string): number[] | undefined => {
    if (s === '') return []
    const groups = s.split(':')
    if (!groups.every(g => group.test(g))) return undefined
    return groups.map(g => parseInt(g, 16))
  }
  const head = read(halves[0]!)
  const rest = halves.length === 2 ? read(halves[1]!) : []
  if (head === undefined || rest === undefined) return undefined
  let groups: number[]
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length
    if (missing < 1) return undefined
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest]
  } else {
    if (head.length !== 8) return undefined
    groups = head
  }
  const bytes = new Uint8Array(16)
  groups.forEach((g, i) => { bytes[2 * i] = g >> 8; bytes[2 * i + 1] = g & 0xff })
  if (tail !== undefined) bytes.set(tail, 12)
  return { family: 6, bytes }
}

/** Parses a canonical IPv4 or IPv6 address (brackets allowed around IPv6); undefined for anything else. */
export function parseIp (text: string): IpAddress | undefined {
  return parseIPv4(text) ?? (text.includes(':') ? parseIPv6(text) : undefined)
}

/**
 * Parses a URL host or a host name as an address when it is one, in any spelling: canonical IPv4,
 * legacy IPv4 (decimal, hex, octal, short forms), IPv6 with or without brackets. Trailing dots are
 * ignored. undefined: the host is a name, not an address.
 */
export function hostAsAddress (host: string): IpAddress | undefined {
  const h = host.endsWith('.') ? host.slice(0, -1) : host
  return parseIp(h) ?? parseLegacyIPv4(h)
}

function inV4 (b: Uint8Array, prefix: readonly number[], bits: number): boolean {
  let left = bits
  for (let i = 0; left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff
    if ((b[i]! & mask) !== (prefix[i]! & mask)) return false
  }
  return true
}

function classifyV4 (b: Uint8Array): AddressClass {
  if (inV4(b, [0], 8)) return b.every(x => x === 0) ? 'unspecified' : 'reserved' // "this network"
  if (inV4(b, [127], 8)) return 'loopback'
  if (inV4(b, [10], 8) || inV4(b, [172, 16], 12) || inV4(b, [192, 168], 16)) return 'private'
  if (inV4(b, [100, 64], 10)) return 'shared' // RFC 6598 carrier-grade NAT
  if (inV4(b, [169, 254], 16)) return 'link-local'
  if (inV4(b, [192, 0, 0], 24)) return 'reserved' // IETF protocol assignments (incl. 192.0.0.170/171 NAT64 discovery)
  if (inV4(b, [192, 0, 2], 24) || inV4(b, [198, 51, 100], 24) || inV4(b, [203, 0, 113], 24)) return 'documentation'
  if (inV4(b, [192, 88, 99], 24)) return 'reserved' // deprecated 6to4 relay anycast
  if (inV4(b, [198, 18], 15)) return 'benchmarking'
  if (inV4(b, [224], 4)) return 'multicast'
  if (b.every(x => x === 255)) return 'broadcast'
  if (inV4(b, [240], 4)) return 'reserved'
  return 'public'
}

function classifyV6 (b: Uint8Array): AddressClass {
  const zeroUpTo = (n: number): boolean => b.subarray(0, n).every(x => x === 0)
  if (zeroUpTo(15)) {
    if (b[15] === 0) return 'unspecified'
    if (b[15] === 1) return 'loopback'
  }
  // ::ffff:a.b.c.d (IPv4-mapped) and ::ffff:0:a.b.c.d (IPv4-translated): the IPv4 address decides.
  if (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(b.subarray(12))
  if (zeroUpTo(8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return classifyV4(b.subarray(12))
  // ::a.b.c.d (deprecated IPv4-compatible).
  if (zeroUpTo(12)) return classifyV4(b.subarray(12))
  // 64:ff9b::/96 well-known NAT64 prefix, and 64:ff9b:1::/48 local-use NAT64.
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (b.subarray(4, 12).every(x => x === 0)) return classifyV4(b.subarray(12))
    if (b[4] === 0 && b[5] === 1) return 'private'
  }
  if (b[0] === 0x01 && b[1] === 0x00 && b.subarray(2, 8).every(x => x === 0)) return 'reserved' // 100::/64 discard-only
  if (b[0] === 0x20 && b[1] === 0x01) {
    if (b[2] === 0x00 && b[3] === 0x00) return 'teredo' // 2001::/32
    if (b[2] === 0x0d && b[3] === 0xb8) return 'documentation' // 2001:db8::/32
    if (b[2] === 0x00 && (b[3]! & 0xf0) === 0x20) return 'reserved' // 2001:20::/28 ORCHIDv2
    if (b[2] === 0x00 && b[3] === 0x02 && b[4] === 0 && b[5] === 0) return 'benchmarking' // 2001:2::/48
    if (b[2] === 0x00 && b[3]! < 0x02) return 'reserved' // other IETF protocol assignments in 2001::/23
  }
  if (b[0] === 0x20 && b[1] === 0x02) return classifyV4(b.subarray(2, 6)) // 6to4: 2002:a.b.c.d::/48
  if (b[0] === 0x3f && b[1] === 0xff && (b[2]! & 0xf0) === 0) return 'documentation' // 3fff::/20
  if ((b[0]! & 0xfe) === 0xfc) return 'unique-local' // fc00::/7
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local' // fe80::/10
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'site-local' // fec0::/10 (deprecated)
  if (b[0] === 0xff) return 'multicast'
  // Only 2000::/3 is allocated as global unicast; anything else is reserved.
  if ((b[0]! & 0xe0) !== 0x20) return 'reserved'
  return 'public'
}

/** Classifies a parsed address (see AddressClass). */
export function classifyAddress (address: IpAddress): AddressClass {
  return address.family === 4 ? classifyV4(address.bytes) : classifyV6(address.bytes)
}

/**
 * Classifies address text as returned by a resolver or found in a URL. Text that is not an address at
 * all classifies as 'reserved' (refused): callers never let an unparsed string through.
 */
export function classifyAddressText (text: string): AddressClass {
  const parsed = hostAsAddress(text)
  return parsed === undefined ? 'reserved' : classifyAddress(parsed)
}

/** True only for globally routable unicast addresses. */
export function isPublicAddress (text: string): boolean {
  return classifyAddressText(text) === 'public'
}

/** An address in canonical text (dotted quad, or RFC 5952 compressed lowercase IPv6). */
export function formatAddress (address: IpAddress): string {
  if (address.family === 4) return Array.from(address.bytes).join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((address.bytes[i]! << 8) | address.bytes[i + 1]!)
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

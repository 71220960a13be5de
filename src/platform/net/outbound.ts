// Guards for outbound connections to URLs that someone else chose (SSRF protection):
//   - hostMatches: the host must be on an allowlist ("*.example.com" matches subdomains only);
//   - vetHost: resolve the host ONCE and refuse it unless every address is public (address.ts);
//   - pinnedLookup: a `lookup` for node:http/https/net that hands the socket exactly the vetted
//     addresses, so the connection goes where the check looked.
//
// Why pinning: checking a name and then letting the HTTP client resolve it again leaves a window for
// DNS rebinding (first answer public, second answer 127.0.0.1 or 169.254.169.254, TTL 0). With the
// vetted addresses passed as the socket's lookup there is no second resolution at all; TLS still
// verifies the certificate against the host name (servername/SNI come from the `host` option).
import { lookup as dnsLookup } from 'node:dns/promises'
import type { LookupFunction } from 'node:net'
import { classifyAddress, formatAddress, hostAsAddress, type AddressClass } from './address.js'

/** One resolved address, as node:dns returns it. */
export interface ResolvedAddress { address: string, family: 4 | 6 }

/** Resolves a host name to all its addresses (injectable for tests; default: the system resolver). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>

/** A connection refused by policy before anything was sent; `reason` is safe to log and show. */
export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError'
  constructor (readonly reason: string, readonly addressClass?: AddressClass) {
    super(reason)
  }
}

/** The system resolver: every A and AAAA answer, in resolver order. */
export const systemResolver: HostResolver = async (hostname) => {
  const all = await dnsLookup(hostname, { all: true, order: 'verbatim' })
  return all.map(a => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
}

/** A host name lowercased, without [brackets] or one trailing dot. */
export function normaliseHost (host: string): string {
  let h = host.toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h.endsWith('.')) h = h.slice(0, -1)
  return h
}

/**
 * Whether `host` is on the allowlist. A pattern is an exact host ("lookaside.fbsbx.com") or "*." and a
 * domain, which matches any subdomain ("a.fbsbx.com", "a.b.fbsbx.com") but not the domain itself.
 * Address literals only match an exact pattern; wildcards never match them.
 */
export function hostMatches (host: string, patterns: readonly string[]): boolean {
  const h = normaliseHost(host)
  if (h === '') return false
  const isAddress = hostAsAddress(h) !== undefined
  for (const raw of patterns) {
    const p = normaliseHost(raw.trim())
    if (p === '') continue
    if (p.startsWith('*.')) {
      const domain = p.slice(2)
      if (!isAddress && domain !== '' && !domain.includes('*') && h.endsWith('.' + domain)) return true
    } else if (p === h) {
      return true
    }
  }
  return false
}

/**
 * Resolves `hostname` once and returns its addresses, refusing (OutboundRefusedError) when it has none
 * or when any of them is not public — a name that answers with a mix of public and private addresses
 * is treated as hostile. `allowPrivate` skips the address check (only for a base URL the admin
 * configured, e.g. the fake Graph server on 127.0.0.1 in tests and the demo). Address literals are
 * not resolved: the literal (in any spelling) is the address.
 */
export async function vetHost (hostname: string, options: { resolve?: HostResolver, allowPrivate?: boolean } = {}): Promise<ResolvedAddress[]> {
  const host = normaliseHost(hostname)
  const literal = hostAsAddress(host)
  let addresses: ResolvedAddress[]
  if (literal !== undefined) {
    addresses = [{ address: formatAddress(literal), family: literal.family }]
  } else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      throw Object.assign(new Error(`cannot resolve ${host}: ${typeof code === 'string' ? code : 'lookup failed'}`), { code: typeof code === 'string' ? code : 'ENOTFOUND' })
    }
    if (addresses.length === 0) throw Object.assign(new Error(`cannot resolve ${host}: no addresses`), { code: 'ENOTFOUND' })
  }
  const vetted: ResolvedAddress[] = []
  for (const a of addresses) {
    const parsed = hostAsAddress(a.address)
    if (parsed === undefined) throw new OutboundRefusedError(`${host} resolved to something that is not an address`, 'reserved')
    const cls = classifyAddress(parsed)
    if (cls !== 'public' && options.allowPrivate !== true) {
      throw new OutboundRefusedError(`${host} resolves to a ${cls} address (${formatAddress(parsed)})`, cls)
    }
    vetted.push({ address: formatAddress(parsed), family: parsed.family })
  }
  return vetted
}

/**
 * A `lookup` for node:net/http/https that answers only with the vetted addresses (whatever name it is
 * asked for), honouring `family` and `all` the way node's own lookup does.
 */
export function pinnedLookup (addresses: readonly ResolvedAddress[]): LookupFunction {
  return ((_hostname: string, options: { family?: number | string, all?: boolean }, callback: (err: NodeJS.ErrnoException | null, address: string | Array<{ address: string, family: number }>, family?: number) => void) => {
    const wanted = options.family === 6 || options.family === 'IPv6' ? 6 : options.family === 4 || options.family === 'IPv4' ? 4 : 0
    const usable = addresses.filter(a => wanted === 0 || a.family === wanted)
    if (usable.length === 0) {
      const err: NodeJS.ErrnoException = Object.assign(new Error('no vetted address of the requested family'), { code: 'ENOTFOUND' })
      callback(err, '', 0)
      return
    }
    if (options.all === true) callback(null, usable.map(a => ({ address: a.address, family: a.family })))
    else callback(null, usable[0]!.address, usable[0]!.family)
  }) as LookupFunction
}

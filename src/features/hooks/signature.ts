// How receivers know a delivery came from this Weltra and was not replayed later:
//   Weltra-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>
// While a rotated secret is still honoured, a second v1= (made with the previous secret) follows,
// so a receiver that has not switched yet keeps verifying. Receivers should compare in constant time
// and refuse timestamps more than 5 minutes away from their clock.
import { hmacSha256Hex, timingSafeEqualStr } from '../../platform/crypto/index.js'

export const signatureHeader = 'weltra-signature'
export const defaultToleranceSeconds = 300

/** The header value for `body` sent at `timestampSeconds`, one v1 per secret (current first). */
export function signPayload (secrets: readonly string[], timestampSeconds: number, body: string): string {
  const signed = `${timestampSeconds}.${body}`
  return [`t=${timestampSeconds}`, ...secrets.map(s => `v1=${hmacSha256Hex(s, signed)}`)].join(',')
}

/** What a receiver does: true when one v1 matches `secret` and t is within the tolerance of `nowSeconds`. */
export function verifySignature (header: string, secret: string, body: string, nowSeconds: number, toleranceSeconds = defaultToleranceSeconds): boolean {
  let t: number | undefined
  const candidates: string[] = []
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2)
    if (k === 't' && v !== undefined && /^\d{1,12}$/.test(v)) t = Number(v)
    else if (k === 'v1' && v !== undefined) candidates.push(v)
  }
  if (t === undefined || Math.abs(nowSeconds - t) > toleranceSeconds) return false
  const expected = hmacSha256Hex(secret, `${t}.${body}`)
  return candidates.some(c => timingSafeEqualStr(c, expected))
}

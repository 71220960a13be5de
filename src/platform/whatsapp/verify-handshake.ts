// The webhook verification GET: Meta calls the callback URL with hub.mode=subscribe, hub.verify_token and
// hub.challenge, and expects the challenge back as the raw text/plain body. The token is compared in
// constant time (over SHA-256 digests, so the comparison does not depend on the token lengths); the
// challenge is echoed only when it is 1–64 ASCII digits, so nothing attacker-shaped is ever reflected.
// Repeated parameters (arrays), PHP-style hub_mode names and non-string values are refused.
import { sha256Hex, timingSafeEqualStr } from '../crypto/index.js'

/** Outcome of a verification GET: the challenge to echo (HTTP 200, text/plain) or a refusal (HTTP 403). */
export type HandshakeResult = { ok: true, challenge: string } | { ok: false }

const challengePattern = /^[0-9]{1,64}$/
const maxTokenChars = 1024

/** One query parameter as a single own string value, or undefined (missing, repeated or not a string). */
function single (query: Record<string, unknown>, name: string): string | undefined {
  if (query === null || typeof query !== 'object' || !Object.hasOwn(query, name)) return undefined
  const value = query[name]
  return typeof value === 'string' ? value : undefined
}

/** Checks a verification GET's query against the channel's verify tokens; never reflects a bad challenge. */
export function handshake (query: Record<string, unknown>, verifyTokens: readonly string[]): HandshakeResult {
  const mode = single(query, 'hub.mode')
  const token = single(query, 'hub.verify_token')
  const challenge = single(query, 'hub.challenge')
  if (mode !== 'subscribe' || token === undefined || challenge === undefined) return { ok: false }
  if (token === '' || token.length > maxTokenChars || !challengePattern.test(challenge)) return { ok: false }
  const given = sha256Hex(token)
  let matched = false
  for (const expected of verifyTokens) {
    if (typeof expected !== 'string' || expected === '') continue
    if (timingSafeEqualStr(sha256Hex(expected), given)) matched = true
  }
  return matched ? { ok: true, challenge } : { ok: false }
}

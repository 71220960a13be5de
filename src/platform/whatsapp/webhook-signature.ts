// Webhook POST signatures (X-Hub-Signature-256): Meta signs the exact raw request body with the App Secret
// as `sha256=` + 64 hex characters of HMAC-SHA256. The check runs over the bytes as received — never over
// re-serialised JSON, which changes `\uXXXX` and `\/` escapes and breaks the HMAC. Several secrets may be
// passed (the current one and the previous one during a rotation). Anything but exactly one well-formed
// header value is refused: no header, an empty one, two headers (an array), `sha1=`, wrong length, non-hex.
import { hmacSha256Hex, timingSafeEqualStr } from '../crypto/index.js'

const signaturePrefix = 'sha256='
const signaturePattern = /^sha256=[0-9a-fA-F]{64}$/

/** The X-Hub-Signature-256 header value Meta would send for these bytes (for fakes and tests). */
export function signatureHeader (raw: Uint8Array, secret: string): string {
  return signaturePrefix + hmacSha256Hex(secret, raw)
}

/** True when the header is exactly one `sha256=<64 hex>` value matching the HMAC of raw under any secret. */
export function verifySignature (raw: Uint8Array, header: string | string[] | undefined, secrets: readonly string[]): boolean {
  if (typeof header !== 'string' || !signaturePattern.test(header)) return false
  const given = header.slice(signaturePrefix.length).toLowerCase()
  let matched = false
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret === '') continue
    // No early exit: every configured secret costs the same work whether or not an earlier one matched.
    if (timingSafeEqualStr(hmacSha256Hex(secret, raw), given)) matched = true
  }
  return matched
}

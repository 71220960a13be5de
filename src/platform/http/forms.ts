// Reading urlencoded forms safely: every field is a single string (repeated or nested fields are
// refused rather than guessed), and redirects after a form only ever go to paths on this site.
import type { FastifyRequest } from 'fastify'

/** The named field as a string ('' when absent); a repeated field or an object is treated as absent. */
export function field (req: FastifyRequest, name: string, maxLength = 10_000): string {
  const body = req.body as Record<string, unknown> | undefined
  if (body === undefined || body === null || typeof body !== 'object' || !Object.hasOwn(body, name)) return ''
  const value = body[name]
  return typeof value === 'string' ? value.slice(0, maxLength) : ''
}

/** A checkbox: true when present with any value. */
export function checkbox (req: FastifyRequest, name: string): boolean {
  return field(req, name) !== ''
}

/** `next` when it is a path on this site, else the fallback (no open redirects). */
export function safeNext (next: unknown, fallback: string): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || /[\r\n]/.test(next)) return fallback
  return next
}

/** Translates a map of field → catalogue key into field → message. */
export function messages (t: (key: string) => string, errors: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, t(v)]))
}

/**
 * Reads an uploaded file part up to `cap` bytes. A larger file is read to its end (the connection must
 * be drained either way) but not kept: `truncated`, with no bytes. `size` is what was sent.
 */
export async function readCapped (file: AsyncIterable<Buffer> & { truncated: boolean }, cap: number): Promise<{ bytes: Buffer, size: number, truncated: boolean }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of file) {
    size += chunk.length
    if (size <= cap) chunks.push(chunk)
  }
  const truncated = size > cap || file.truncated
  return { bytes: truncated ? Buffer.alloc(0) : Buffer.concat(chunks), size, truncated }
}

// Typed confirmations ("type FORGET to confirm"): a destructive action asks for a word of its language.
/** Whether the typed confirmation is the word shown (any case, spaces around it ignored). */
export function sameWord (typed: string, word: string, locale: string): boolean {
  const norm = (s: string): string => s.normalize('NFC').trim().toLocaleUpperCase(locale)
  return word !== '' && norm(typed) === norm(word)
}

/** An input pattern accepting the word in any case (the browser's check; the server checks again). */
export function wordPattern (word: string): string {
  return '\\s*' + [...word.normalize('NFC')].map(ch => {
    const upper = ch.toUpperCase()
    const lower = ch.toLowerCase()
    if (upper.length === 1 && lower.length === 1 && upper !== lower) return `[${upper}${lower}]`
    return /[A-Za-z0-9]/.test(ch) ? ch : `\\u{${ch.codePointAt(0)!.toString(16)}}`
  }).join('') + '\\s*'
}

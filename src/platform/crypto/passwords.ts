// Password hashing with Argon2id from node:crypto (Node ≥ 24.7), OWASP parameters, stored as a PHC
// string that carries its parameters so they can rise later (needsRehash). At most `maxConcurrent`
// hashes run at once, so a burst of logins queues instead of exhausting memory (19 MiB each).
import { argon2, randomBytes } from 'node:crypto'
import { timingSafeEqualBytes } from './hash.js'

export interface Argon2Params { memory: number, passes: number, parallelism: number }

/** OWASP's recommended minimum: m = 19 MiB, t = 2, p = 1. */
export const defaultArgon2Params: Argon2Params = { memory: 19456, passes: 2, parallelism: 1 }
const tagLength = 32
const maxConcurrent = 2

let running = 0
const waiting: Array<() => void> = []

async function withSlot<T> (fn: () => Promise<T>): Promise<T> {
  if (running >= maxConcurrent) await new Promise<void>(resolve => waiting.push(resolve))
  running++
  try {
    return await fn()
  } finally {
    running--
    waiting.shift()?.()
  }
}

/** How many hashes are running and queued right now (for tests and metrics). */
export function hashingLoad (): { running: number, queued: number } {
  return { running, queued: waiting.length }
}

function derive (password: string, salt: Buffer, p: Argon2Params): Promise<Buffer> {
  return withSlot(() => new Promise<Buffer>((resolve, reject) => {
    argon2('argon2id', { message: Buffer.from(password, 'utf8'), nonce: salt, parallelism: p.parallelism, tagLength, memory: p.memory, passes: p.passes },
      (err, key) => { if (err) reject(err); else resolve(key) })
  }))
}

/** Hashes a password exactly as typed (no trimming or normalisation) into a PHC string. */
export async function hashPassword (password: string, params: Argon2Params = defaultArgon2Params): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, params)
  return `$argon2id$v=19$m=${params.memory},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(key)}`
}

/** Checks a password against a PHC string from hashPassword(); false for any malformed hash. */
export async function verifyPassword (password: string, phc: string): Promise<boolean> {
  const parsed = parsePhc(phc)
  if (parsed === undefined) return false
  const key = await derive(password, parsed.salt, parsed.params)
  return timingSafeEqualBytes(key, parsed.hash)
}

/** Whether a stored hash was made with weaker parameters than `params` and should be replaced. */
export function needsRehash (phc: string, params: Argon2Params = defaultArgon2Params): boolean {
  const parsed = parsePhc(phc)
  if (parsed === undefined) return true
  return parsed.params.memory < params.memory || parsed.params.passes < params.passes || parsed.params.parallelism < params.parallelism
}

/** Reads the parameters, salt and hash of a PHC argon2id string; undefined when malformed. */
export function parsePhc (phc: string): { params: Argon2Params, salt: Buffer, hash: Buffer } | undefined {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc)
  if (m === null) return undefined
  const params = { memory: Number(m[1]), passes: Number(m[2]), parallelism: Number(m[3]) }
  if (params.memory < 8 || params.memory > 4_194_304 || params.passes < 1 || params.passes > 100 || params.parallelism < 1 || params.parallelism > 16) return undefined
  return { params, salt: Buffer.from(m[4]!, 'base64'), hash: Buffer.from(m[5]!, 'base64') }
}

/** A hash of a random password, to spend the same time on unknown accounts as on known ones. */
let dummy: Promise<string> | undefined
export function dummyPasswordHash (): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'))
  return dummy
}

function b64 (buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '')
}

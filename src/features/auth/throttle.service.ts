// Sign-in throttling. Every failure is counted per account and per client address in a one-hour
// window. Past a few free attempts each further failure doubles the wait (up to 15 minutes), and an
// account never sees more than 100 password checks an hour. Throttled attempts are refused before
// any password is hashed. Nothing locks an account permanently.
import type { Db } from '../../db/open.js'
import { clearThrottle, findThrottle, saveThrottle } from './throttle.store.js'

const windowMs = 3_600_000
const maxDelayMs = 15 * 60_000

interface Rule { free: number, max: number }
const rules: Record<'account' | 'address', Rule> = {
  account: { free: 5, max: 100 },
  address: { free: 20, max: 300 }
}

/** When the key may try again (ms epoch), or undefined when it may try now. */
export function blockedUntil (db: Db, key: string, now: number): number | undefined {
  const row = findThrottle(db, key)
  if (row === undefined) return undefined
  return row.blockedUntil > now ? row.blockedUntil : undefined
}

/** Counts one failure for the key and sets its next allowed time. */
export function recordFailure (db: Db, key: string, kind: 'account' | 'address', now: number): void {
  const rule = rules[kind]
  const row = findThrottle(db, key)
  const fresh = row === undefined || now - row.windowStart >= windowMs
  const failures = fresh ? 1 : row.failures + 1
  const windowStart = fresh ? now : row.windowStart
  let until = 0
  if (failures >= rule.max) until = windowStart + windowMs
  else if (failures >= rule.free) until = now + Math.min(maxDelayMs, 1000 * 2 ** (failures - rule.free))
  saveThrottle(db, { key, failures, windowStart, blockedUntil: until })
}

/** Forgets the failures of a key (after a successful sign-in). */
export function clearFailures (db: Db, key: string): void {
  clearThrottle(db, key)
}

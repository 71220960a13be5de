// Full-jitter exponential backoff, the one formula every retrying worker uses (mail, media downloads,
// WhatsApp sends, outgoing webhooks): the wait before retry number `attempts` + 1 is uniformly random
// in [min, min(cap, base · 2^(attempts − 1))]. Randomness spreads retries of many rows that failed
// together (a receiver down for an hour) instead of waking them all at the same instant.
import { randomIntBetween } from './crypto/index.js'

export interface Backoff { baseMs: number, capMs: number, minMs: number }

/** `random(min, max)` returns an integer in [min, max) (injectable for tests). */
export function backoffCeiling (attempts: number, b: Pick<Backoff, 'baseMs' | 'capMs'>): number {
  return Math.min(b.capMs, b.baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)))
}

export function jitteredDelay (attempts: number, b: Backoff, random: (min: number, max: number) => number = randomIntBetween): number {
  return Math.max(b.minMs, random(0, backoffCeiling(attempts, b) + 1))
}

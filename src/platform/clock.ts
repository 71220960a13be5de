// Time, injectable: production uses the system clock; tests use a clock they move by hand.
export interface Clock { now: () => number }

export const systemClock: Clock = { now: () => Date.now() }

/** A clock for tests: starts at `start` and moves only when told. */
export function fakeClock (start = Date.UTC(2026, 0, 15, 12, 0, 0)): Clock & { advance: (ms: number) => void, set: (ms: number) => void } {
  let t = start
  return {
    now: () => t,
    advance: (ms: number) => { t += ms },
    set: (ms: number) => { t = ms }
  }
}

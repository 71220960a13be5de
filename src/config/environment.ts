// The only place Weltra reads process.env (lint-enforced): a copy of the variables, for loadConfig.
/** A snapshot of the process environment. */
export function environment (): Record<string, string | undefined> {
  return { ...process.env }
}

/** Whether this process runs in CI (CI=true): browser tests must not skip there. */
export function inCi (): boolean {
  return process.env.CI === 'true'
}

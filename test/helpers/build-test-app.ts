// buildTestApp(t): the whole app on a fresh in-memory SQLite with every migration applied, fixed test
// keys, a fake clock and a log captured in memory (so tests can assert what was, and was not, logged).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config/load-config.js'
import { createDeps, openStorage, type Deps } from '../../src/deps.js'
import { resolveAssets } from '../../src/platform/assets.js'
import { fakeClock } from '../../src/platform/clock.js'
import { Keyring } from '../../src/platform/crypto/index.js'
import { createLogger } from '../../src/platform/logger.js'

/** A fixed master key for tests (never use outside tests). */
export const testMasterKey = Buffer.alloc(32, 7).toString('base64')

export interface TestAppOptions {
  /** Config keys as "section.key" → raw string (like --set). */
  set?: Record<string, string>
  /** Build (and return) the app; false returns deps only. */
  app?: boolean
}

export interface TestApp {
  app: FastifyInstance
  deps: Deps
  config: Config
  clock: ReturnType<typeof fakeClock>
  /** Every log line written so far, as raw JSON text. */
  logs: string[]
  /** Row count of a table. */
  count: (table: string) => number
}

/** Loads a test configuration (built-in defaults plus `set`); throws on invalid input. */
export function testConfig (set: Record<string, string> = {}): Config {
  const result = loadConfig({ flags: { 'log.level': 'info', ...set }, env: {}, readFile: () => { throw new Error('no files in tests') }, exists: () => false })
  if (!result.ok) throw new Error(result.errors.join('\n'))
  return result.config
}

/** Builds the app for one test and closes it when the test ends. */
export async function buildTestApp (t: Test, options: TestAppOptions = {}): Promise<TestApp> {
  const config = testConfig(options.set)
  const clock = fakeClock()
  const logs: string[] = []
  const log = createLogger(config.log.level, { write: (line: string) => { logs.push(line) } })
  const assets = resolveAssets(t.testdirName)
  const ring = Keyring.fromBase64(testMasterKey)
  const storage = openStorage(config, assets, ring, { file: ':memory:', now: clock.now() })
  const deps = createDeps({ config, storage, ring, keyStatus: { source: 'config' }, assets, log, clock })
  const app = await buildApp(deps, { cacheTemplates: true })
  t.teardown(async () => {
    await app.close()
    storage.sqlite.close()
  })
  const count = (table: string): number => (storage.sqlite.prepare(`SELECT count(*) AS n FROM "${table.replace(/"/g, '')}"`).get() as { n: number }).n
  return { app, deps, config, clock, logs, count }
}

/**
 * Opens a data directory in this process as the server would (creating it, migrating the database with
 * `masterKey`), runs `fn` with its deps, and closes it: for tests that then run the real server or CLI on it.
 */
export async function withDataDir<T> (dataDir: string, masterKey: string, fn: (deps: Deps) => T | Promise<T>): Promise<T> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const config = testConfig({ 'storage.data_dir': dataDir })
  const ring = Keyring.fromBase64(masterKey)
  const assets = resolveAssets(join(dataDir, '.runtime'))
  const storage = openStorage(config, assets, ring)
  try {
    return await fn(createDeps({ config, storage, ring, keyStatus: { source: 'config' }, assets, log: createLogger('silent') }))
  } finally {
    storage.sqlite.close()
  }
}

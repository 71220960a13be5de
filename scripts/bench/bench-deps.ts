// A bench's own handle on a data directory, opened in-process the way the server opens it (config
// defaults, the master key found or created in the directory, migrations applied, the production
// pragmas): for seeding, for sessions and samples, or for work measured without HTTP.
import { join } from 'node:path'
import { loadConfig, type Config } from '../../src/config/load-config.js'
import { createDeps, openStorage, resolveMasterKey, type Deps } from '../../src/deps.js'
import { resolveAssets } from '../../src/platform/assets.js'
import { createLogger } from '../../src/platform/logger.js'

export interface BenchDeps { config: Config, storage: ReturnType<typeof openStorage>, deps: Deps }

/** Opens `dataDir` (which must exist); assets are resolved into `runtimeDir` (default: `<dataDir>/.runtime-src`). */
export function openBenchDeps (dataDir: string, options: { runtimeDir?: string, logLevel?: string } = {}): BenchDeps {
  const loaded = loadConfig({ flags: { 'storage.data_dir': dataDir, 'log.level': options.logLevel ?? 'silent' }, env: {}, readFile: () => '', exists: () => false })
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
  const config = loaded.config
  const assets = resolveAssets(options.runtimeDir ?? join(dataDir, '.runtime-src'))
  const { ring, status } = resolveMasterKey(config, dataDir)
  const storage = openStorage(config, assets, ring)
  return { config, storage, deps: createDeps({ config, storage, ring, keyStatus: status, assets, log: createLogger(options.logLevel ?? 'silent') }) }
}

// Opens the instance (config, master key, database) for a one-shot CLI command and closes it after.
import { join } from 'node:path'
import { checkpoint } from '../db/open.js'
import { createDeps, dataDirOf, openStorage, prepareDataDir, resolveMasterKey } from '../deps.js'
import { resolveAssets } from '../platform/assets.js'
import { createLogger } from '../platform/logger.js'
import { configFrom } from './context.js'

/** Runs `fn` with the instance's dependencies (silent logs), then checkpoints and closes the database. */
export async function withDeps<T> (values: Parameters<typeof configFrom>[0], fn: (deps: ReturnType<typeof createDeps>) => Promise<T>): Promise<T> {
  const config = configFrom(values)
  const dataDir = dataDirOf(config)
  prepareDataDir(dataDir)
  const assets = resolveAssets(config.storage.runtime_dir === '' ? join(dataDir, '.runtime') : config.storage.runtime_dir)
  const { ring, status } = resolveMasterKey(config, dataDir, { nativeBinding: assets.nativeBinding })
  const storage = openStorage(config, assets, ring)
  const deps = createDeps({ config, storage, ring, keyStatus: status, assets, log: createLogger('silent') })
  try {
    return await fn(deps)
  } finally {
    checkpoint(storage.sqlite)
    storage.sqlite.close()
  }
}

// `weltra keys rotate` and `weltra keys generate`.
import { join } from 'node:path'
import { dataDirOf, openStorage, prepareDataDir, resolveMasterKey } from '../deps.js'
import { rotateKeys } from '../db/rotate-keys.js'
import { rewrapMediaFiles } from '../features/media/media.service.js'
import { checkpoint } from '../db/open.js'
import { resolveAssets } from '../platform/assets.js'
import { randomKey } from '../platform/crypto/index.js'
import { configFrom, globalHelp, parse, UsageError } from './context.js'

export const keysHelp = `Usage: weltra keys rotate [--batch N]
       weltra keys generate

generate  prints a new random master key (32 bytes, base64) for security.master_key.
rotate    re-seals every encrypted value under the current master key, in small batches, resumable.

Rotating the master key:
  1. weltra keys generate  → put the new key in security.master_key (or its _file) and move the old one
     to security.previous_master_keys;
  2. restart Weltra (it now writes with the new key and still reads the old one);
  3. weltra keys rotate (Weltra may keep running);
  4. when it reports "finished", remove the old key from previous_master_keys and restart.

${globalHelp}`

export async function keysCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { batch: { type: 'string' } })
  if (values.help === true) { process.stdout.write(keysHelp + '\n'); return 0 }
  if (positionals.length === 0) { process.stderr.write(keysHelp + '\n'); return 2 }
  const sub = positionals[0]
  if (sub === 'generate') {
    process.stdout.write(randomKey(32).toString('base64') + '\n')
    return 0
  }
  if (sub !== 'rotate') throw new UsageError(`unknown keys command "${sub}"`)
  const batch = values.batch === undefined ? 500 : Number(values.batch)
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > 100000) throw new UsageError('--batch must be a whole number from 1 to 100000')
  const config = configFrom(values)
  const dataDir = dataDirOf(config)
  prepareDataDir(dataDir)
  const assets = resolveAssets(config.storage.runtime_dir === '' ? join(dataDir, '.runtime') : config.storage.runtime_dir)
  const { ring } = resolveMasterKey(config, dataDir, { nativeBinding: assets.nativeBinding, allowGenerate: false })
  const storage = openStorage(config, assets, ring)
  try {
    // Media files first: each one's file key is re-wrapped (header only) under the new key.
    const media = await rewrapMediaFiles(storage.db, dataDir, ring, n => process.stderr.write(`  media files: ${n}\n`))
    const result = rotateKeys(storage.sqlite, storage.db, ring, {
      batchSize: batch,
      onProgress: p => process.stderr.write(`  ${p.table}.${p.column}: ${p.done}/${p.total}\n`)
    })
    checkpoint(storage.sqlite)
    if (!result.finished || media.failed.length > 0) {
      process.stdout.write(`re-sealed ${result.resealed} values and ${media.rewrapped} media files; ${result.failed.length + media.failed.length} could not be opened with any configured key:\n` +
        [...result.failed.slice(0, 20).map(f => `  ${f.table}.${f.column} rowid ${f.rowid}`), ...media.failed.slice(0, 20).map(f => `  media file ${f.workspaceId}/${f.id}`)].join('\n') + '\nKeep the previous keys configured until this is resolved.\n')
      return 1
    }
    process.stdout.write(`finished: re-sealed ${result.resealed} values and ${media.rewrapped} media files under key ${ring.current.id}. You can now remove the previous keys from security.previous_master_keys.\n`)
    return 0
  } finally {
    storage.sqlite.close()
  }
}

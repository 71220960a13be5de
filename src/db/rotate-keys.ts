// `weltra keys rotate`: re-seals every encrypted column under the current master key, in batches of
// short transactions so the server can keep running. Resumable: rows already sealed under the current
// key are skipped, so an interrupted run just continues. Only when every value is re-sealed does the
// key check move to the new key — after that the previous key can be removed from the config.
import { DecryptError, open, seal, type Keyring } from '../platform/crypto/index.js'
import { encryptedColumns } from './columns.js'
import type { Db, Sqlite } from './open.js'
import { resealInstanceKeys } from './instance-keys.js'

export interface RotationProgress { table: string, column: string, done: number, total: number }
export interface RotationResult { resealed: number, failed: Array<{ table: string, column: string, rowid: number }>, finished: boolean }

export interface RotateOptions {
  batchSize?: number
  now?: number
  onProgress?: (p: RotationProgress) => void
  /** Which columns to re-seal; all declared encrypted columns by default. */
  columns?: Array<{ table: string, column: string }>
}

/** Re-seals all encrypted values not yet under the current key; see the module comment. */
export function rotateKeys (sqlite: Sqlite, db: Db, ring: Keyring, options: RotateOptions = {}): RotationResult {
  const batchSize = options.batchSize ?? 500
  const current = `v1.${ring.current.id}.%`
  const result: RotationResult = { resealed: 0, failed: [], finished: false }
  for (const { table, column } of options.columns ?? encryptedColumns()) {
    const aad = `${table}.${column}`
    const q = (s: string): string => `"${s.replace(/"/g, '""')}"`
    const total = (sqlite.prepare(`SELECT count(*) AS n FROM ${q(table)} WHERE ${q(column)} IS NOT NULL AND ${q(column)} NOT LIKE ?`).get(current) as { n: number }).n
    const select = sqlite.prepare(`SELECT rowid AS id, ${q(column)} AS v FROM ${q(table)} WHERE rowid > ? AND ${q(column)} IS NOT NULL AND ${q(column)} NOT LIKE ? ORDER BY rowid LIMIT ?`)
    const update = sqlite.prepare(`UPDATE ${q(table)} SET ${q(column)} = ? WHERE rowid = ? AND ${q(column)} = ?`)
    let last = -Infinity
    let done = 0
    for (;;) {
      const rows = select.all(last === -Infinity ? Number.MIN_SAFE_INTEGER : last, current, batchSize) as Array<{ id: number, v: string }>
      if (rows.length === 0) break
      sqlite.transaction(() => {
        for (const row of rows) {
          try {
            // The WHERE on the old value makes a concurrent write win instead of being overwritten.
            update.run(seal(open(row.v, aad, ring), aad, ring), row.id, row.v)
            result.resealed++
          } catch (err) {
            if (!(err instanceof DecryptError)) throw err
            result.failed.push({ table, column, rowid: row.id })
          }
        }
      }).immediate()
      last = rows[rows.length - 1]!.id
      done += rows.length
      options.onProgress?.({ table, column, done, total })
    }
  }
  if (result.failed.length === 0) {
    resealInstanceKeys(db, ring, options.now ?? Date.now())
    result.finished = true
  }
  return result
}

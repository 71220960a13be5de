// Connects the keyring to the database: the stored key-check value (so a wrong master key refuses to
// start instead of writing unreadable data) and the blind-index root, stored sealed.
import { eq } from 'drizzle-orm'
import { KeyError, open, randomKey, seal, setIndexRoot, type Keyring } from '../platform/crypto/index.js'
import type { Db, Sqlite } from './open.js'
import { meta } from './schema.js'

const keyCheckKey = 'key_check'
const indexRootKey = 'blind_index_root'
const indexRootAad = 'meta.value'

/**
 * Throws KeyError when the database was sealed with another master key. Reads only; safe to call
 * before migrations (a fresh database has no meta table yet).
 */
export function verifyMasterKey (sqlite: Sqlite, ring: Keyring): 'fresh' | 'current' | 'previous' {
  const hasMeta = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined
  if (!hasMeta) return 'fresh'
  const row = sqlite.prepare('SELECT value FROM meta WHERE key = ?').get(keyCheckKey) as { value: string } | undefined
  if (row === undefined) return 'fresh'
  const match = ring.matchKeyCheck(row.value)
  if (match === undefined) {
    throw new KeyError('the master key does not match this database. Nothing was changed. Start with the key this data was encrypted with (security.master_key, its _file, or <data_dir>/master.key); if you rotated keys, list the old one in security.previous_master_keys.')
  }
  return match
}

/** True when the database holds a key-check value, i.e. data was encrypted with some master key. */
export function hasKeyCheck (sqlite: Sqlite): boolean {
  try {
    return sqlite.prepare("SELECT 1 FROM meta WHERE key = 'key_check'").get() !== undefined
  } catch {
    return false
  }
}

/**
 * After migrations: records the key check on a fresh database, and loads (or creates) the blind-index
 * root. Idempotent.
 */
export function initInstanceKeys (db: Db, ring: Keyring, now: number): void {
  db.transaction(tx => {
    const check = tx.select().from(meta).where(eq(meta.key, keyCheckKey)).get()
    if (check === undefined) tx.insert(meta).values({ key: keyCheckKey, value: ring.keyCheck(), updatedAt: now }).run()
    const root = tx.select().from(meta).where(eq(meta.key, indexRootKey)).get()
    if (root === undefined) {
      const secret = randomKey(32)
      tx.insert(meta).values({ key: indexRootKey, value: seal(secret.toString('base64'), indexRootAad, ring), updatedAt: now }).run()
      setIndexRoot(secret)
    } else {
      setIndexRoot(Buffer.from(open(root.value, indexRootAad, ring), 'base64'))
    }
  }, { behavior: 'immediate' })
}

/** Re-seals the instance secrets under the current key and moves the key check to it (end of rotation). */
export function resealInstanceKeys (db: Db, ring: Keyring, now: number): void {
  db.transaction(tx => {
    const root = tx.select().from(meta).where(eq(meta.key, indexRootKey)).get()
    if (root !== undefined) {
      tx.update(meta).set({ value: seal(open(root.value, indexRootAad, ring), indexRootAad, ring), updatedAt: now }).where(eq(meta.key, indexRootKey)).run()
    }
    tx.update(meta).set({ value: ring.keyCheck(), updatedAt: now }).where(eq(meta.key, keyCheckKey)).run()
  }, { behavior: 'immediate' })
}

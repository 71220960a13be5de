// The readiness probe's real work: a durable write to the database.
import type { Deps } from '../../deps.js'
import { meta } from '../../db/schema.js'

/** Writes and commits a heartbeat row; returns a short description of the failure, or undefined when writable. */
export function checkDatabaseWritable (deps: Pick<Deps, 'db' | 'clock'>): string | undefined {
  try {
    const now = deps.clock.now()
    deps.db.insert(meta).values({ key: 'ready_check', value: String(now), updatedAt: now })
      .onConflictDoUpdate({ target: meta.key, set: { value: String(now), updatedAt: now } })
      .run()
    return undefined
  } catch (err) {
    return String((err as { code?: unknown }).code ?? (err as Error).message)
  }
}

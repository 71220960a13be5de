// The import worker: runs contact imports that were started (status 'running'), one at a time, in
// time-boxed batches (one transaction each, ending when its work plus its expected commit reaches
// ~100 ms; at most 2,000 rows) with a yield to the event loop before each batch, so the server keeps
// answering while a 100k-row file goes in. Progress is committed with every batch: after a
// crash or restart the import resumes from its last committed row. A start kicks the loop
// ('contacts.import.queued'); otherwise it looks every few seconds. Each pass also drops uploads that
// nobody started within a day. Logs carry ids and counts, never file content.
import type { Deps } from '../../deps.js'
import { startPollLoop } from '../../platform/poll-loop.js'
import { dropStaleUploads, runPendingImports, type RunOptions } from './import.service.js'

export interface ImportWorkerOptions extends Pick<RunOptions, 'batchRows' | 'batchMs'> {
  /** How often the table is polled when nobody kicks (ms, default 5000). */
  pollMs?: number
}

export interface ImportWorker {
  kick: () => void
  runOnce: () => Promise<number>
  /** Stops after the batch in progress (the import resumes at the next start). */
  stop: () => Promise<void>
}

export function startImportWorker (deps: Pick<Deps, 'db' | 'sqlite' | 'clock' | 'events' | 'log'>, options: ImportWorkerOptions = {}): ImportWorker {
  const log = deps.log.child({ worker: 'contacts-import' })
  const pollMs = options.pollMs ?? 5000
  let stopped = false

  async function pass (): Promise<number> {
    const dropped = dropStaleUploads(deps)
    if (dropped > 0) log.info({ dropped }, 'dropped uploads that were never started')
    const rows = await runPendingImports(deps, { batchRows: options.batchRows, batchMs: options.batchMs, stopped: () => stopped })
    if (rows > 0) log.info({ rows }, 'contact import rows processed')
    return rows
  }

  const loop = startPollLoop({ pass, pollMs, firstMs: Math.min(pollMs, 1000), onError: (err) => { log.error({ err }, 'contact import pass failed') } })
  const off = deps.events.on('contacts.import.queued', () => loop.kick())

  return {
    kick: loop.kick,
    runOnce: loop.runOnce,
    async stop () {
      stopped = true
      off()
      loop.stop()
      await loop.settled()
    }
  }
}

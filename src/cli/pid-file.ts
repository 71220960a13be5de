// <data_dir>/weltra.pid: one server per data directory, and `weltra restore` refuses while it runs.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StartupError } from '../deps.js'

/** The pid of a live Weltra server using this data directory, if any. */
export function runningServerPid (dataDir: string): number | undefined {
  let pid: number
  try {
    pid = Number(readFileSync(join(dataDir, 'weltra.pid'), 'utf8').trim())
  } catch {
    return undefined
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined
  }
}

/** Writes the pid file; throws StartupError if another live server owns the data directory. */
export function acquirePidFile (dataDir: string): string {
  const other = runningServerPid(dataDir)
  if (other !== undefined) throw new StartupError(`another Weltra server (pid ${other}) is using ${dataDir}; stop it first or use another storage.data_dir.`)
  const file = join(dataDir, 'weltra.pid')
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 })
  return file
}

/** Removes the pid file if it is still ours. */
export function releasePidFile (file: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true })
  } catch { /* already gone */ }
}

// Retention: each workspace decides how long things are kept (Settings → Data retention), and a daily
// job applies it (issue 9):
//   - Meta's raw webhook payloads: removed after N days (default 14; they are processed at once and kept
//     only for replay and inspection);
//   - message bodies and files: after N days (off by default) the body is replaced by an "expired"
//     marker (the message stays as a dated line in the thread) and its file is deleted;
//   - contacts with no activity for N months (off by default): erased with everything about them.
// A contact on legal hold is exempt from the last two. Automatic backups older than 30 days are deleted. Each run records what it removed on the workspace
// (shown on the settings page) and in the audit log when it removed anything; after removing anything
// the name index is optimised and the WAL truncated (forget.service.ts scrub), so deleted means gone.
import { join } from 'node:path'
import type { Deps } from '../../deps.js'
import { pruneBackupsOlderThan } from '../../db/migrate.js'
import { startPollLoop, type PollLoop } from '../../platform/poll-loop.js'
import { recordAudit } from '../audit/audit.service.js'
import { purgeDeletedAccounts } from '../account/deletion.service.js'
import { eraseContact, removeMediaFiles, scrub } from '../contacts/forget.service.js'
import { deleteOldRawPayloads, expirableMessages, expireMessages, inactiveContacts, setRetention, workspaceRetention, workspacesDue, type WorkspaceRetention } from './retention.store.js'

const dayMs = 24 * 3_600_000
/** A month, for "inactive for N months": 30 days. */
const monthMs = 30 * dayMs

export const retentionLimits = {
  messagesDays: { min: 1, max: 3650 },
  webhookDays: { min: 1, max: 90 },
  contactsMonths: { min: 1, max: 120 }
}

export interface RetentionReport { at: number, rawPayloads: number, messages: number, mediaFiles: number, contacts: number }

export interface RetentionSettings { messagesDays: number | null, webhookDays: number, contactsMonths: number | null }

type RetentionDeps = Pick<Deps, 'db' | 'sqlite' | 'clock' | 'dataDir' | 'events' | 'log' | 'config'> & { lifecycle?: Deps['lifecycle'] }

export function retentionSettings (deps: Pick<Deps, 'db'>, workspaceId: string): RetentionSettings & { lastRun: RetentionReport | null } {
  const w = workspaceRetention(deps.db, workspaceId)
  if (w === undefined) return { messagesDays: null, webhookDays: 14, contactsMonths: null, lastRun: null }
  let lastRun: RetentionReport | null = null
  try { lastRun = w.retentionReport === null ? null : JSON.parse(w.retentionReport) as RetentionReport } catch {}
  return { messagesDays: w.retainMessagesDays, webhookDays: w.retainWebhookDays, contactsMonths: w.retainContactsMonths, lastRun }
}

/** Checks raw form values ('' = keep forever, where allowed); errors are catalogue keys per field. */
export function parseRetention (raw: { messagesDays: string, webhookDays: string, contactsMonths: string }): { ok: true, value: RetentionSettings } | { ok: false, errors: Record<string, string> } {
  const errors: Record<string, string> = {}
  const num = (field: string, s: string, limits: { min: number, max: number }, optional: boolean): number | null => {
    const v = s.trim()
    if (v === '' && optional) return null
    if (!/^\d{1,5}$/.test(v) || Number(v) < limits.min || Number(v) > limits.max) { errors[field] = `privacy.retention.errors.${field}`; return null }
    return Number(v)
  }
  const value = {
    messagesDays: num('messagesDays', raw.messagesDays, retentionLimits.messagesDays, true),
    webhookDays: num('webhookDays', raw.webhookDays, retentionLimits.webhookDays, false) ?? 14,
    contactsMonths: num('contactsMonths', raw.contactsMonths, retentionLimits.contactsMonths, true)
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value }
}

/** Saves a workspace's retention settings (audited with old → new). */
export function saveRetention (deps: Pick<Deps, 'db' | 'clock'>, actor: { userId: string, workspaceId: string, ip?: string | undefined }, value: RetentionSettings): void {
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    const before = workspaceRetention(db, actor.workspaceId)
    setRetention(db, actor.workspaceId, { retainMessagesDays: value.messagesDays, retainWebhookDays: value.webhookDays, retainContactsMonths: value.contactsMonths, updatedAt: now })
    const show = (v: number | null | undefined): string => v == null ? 'forever' : String(v)
    recordAudit(db, {
      action: 'retention_changed',
      workspaceId: actor.workspaceId,
      actorUserId: actor.userId,
      details: {
        messages: `${show(before?.retainMessagesDays)} → ${show(value.messagesDays)}`,
        webhooks: `${show(before?.retainWebhookDays)} → ${show(value.webhookDays)}`,
        contacts: `${show(before?.retainContactsMonths)} → ${show(value.contactsMonths)}`
      },
      ip: actor.ip
    }, now)
  }, { behavior: 'immediate' })
}

/** Applies one workspace's retention now; returns what it removed. */
export async function applyRetention (deps: RetentionDeps, w: WorkspaceRetention): Promise<RetentionReport> {
  const now = deps.clock.now()
  const ws = w.id
  const report: RetentionReport = { at: now, rawPayloads: 0, messages: 0, mediaFiles: 0, contacts: 0 }
  report.rawPayloads = deps.db.transaction(db => deleteOldRawPayloads(db, ws, now - w.retainWebhookDays * dayMs), { behavior: 'immediate' })
  if (w.retainContactsMonths !== null) {
    const before = now - w.retainContactsMonths * monthMs
    // Each contact is tried once per run: one that cannot be erased (logged) never loops the run.
    const tried = new Set<string>()
    for (;;) {
      const ids = inactiveContacts(deps.db, ws, before, 100).filter(id => !tried.has(id))
      if (ids.length === 0) break
      for (const id of ids) {
        tried.add(id)
        let r
        try {
          r = await eraseContact(deps, ws, id, { tombstones: false, findCopies: false })
        } catch (err) {
          deps.log.error({ err, workspaceId: ws, contactId: id }, 'retention could not erase an inactive contact')
          continue
        }
        report.contacts += r.contacts
        report.messages += r.messages
        report.mediaFiles += r.mediaFiles
      }
    }
  }
  if (w.retainMessagesDays !== null) {
    const before = now - w.retainMessagesDays * dayMs
    for (;;) {
      const ids = expirableMessages(deps.db, ws, before, 500)
      if (ids.length === 0) break
      const mediaIds = deps.db.transaction(db => expireMessages(db, ws, ids, now), { behavior: 'immediate' })
      report.messages += ids.length
      report.mediaFiles += await removeMediaFiles(deps, ws, mediaIds)
    }
  }
  const removed = report.rawPayloads + report.messages + report.mediaFiles + report.contacts > 0
  deps.db.transaction((db) => {
    setRetention(db, ws, { retentionRunAt: now, retentionReport: JSON.stringify(report) })
    if (removed) recordAudit(db, { action: 'retention_applied', workspaceId: ws, details: { rawPayloads: report.rawPayloads, messages: report.messages, files: report.mediaFiles, contacts: report.contacts } }, now)
  }, { behavior: 'immediate' })
  if (removed) {
    scrub(deps)
    deps.log.info({ workspaceId: ws, ...report }, 'retention applied')
  }
  return report
}

/** Automatic pre-migration backups (data/backups) are kept at most this long: they hold erased data. */
export const backupKeepMs = 30 * dayMs

/**
 * Runs retention for every workspace not done in the last 24 hours, prunes automatic backups older
 * than 30 days and purges accounts deleted longer ago than privacy.account_purge_days; returns how
 * many workspaces ran.
 */
export async function runDueRetention (deps: RetentionDeps): Promise<number> {
  const gone = pruneBackupsOlderThan(join(deps.dataDir, 'backups'), deps.clock.now() - backupKeepMs)
  if (gone.length > 0) deps.log.info({ backups: gone.length }, 'automatic backups older than 30 days removed')
  if (purgeDeletedAccounts(deps) > 0) scrub(deps)
  const due = workspacesDue(deps.db, deps.clock.now() - dayMs)
  for (const w of due) {
    if (deps.lifecycle?.closing === true) break
    await applyRetention(deps, w)
  }
  return due.length
}

/** The daily job (serve): looks every hour for workspaces whose last run is a day old. */
export function startRetentionJob (deps: RetentionDeps, options: { pollMs?: number, firstMs?: number } = {}): PollLoop {
  return startPollLoop({
    pass: async () => await runDueRetention(deps),
    pollMs: options.pollMs ?? 3_600_000,
    firstMs: options.firstMs ?? 60_000,
    onError: (err) => { deps.log.error({ err }, 'retention run failed') }
  })
}

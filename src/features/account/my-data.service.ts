// "My data" (issue 9): everything Weltra stores about the signed-in person, shown on one page and
// downloadable as a portable ZIP (JSON + CSV): the account (never a password hash, TOTP secret or
// token), workspaces and roles, sessions (never their ids or secrets), the API keys they created
// (names and prefixes, never hashes) and their own account events. What they wrote inside a
// workspace (messages, notes) belongs to that workspace and is not part of it. Each download is audited.
import type { Deps } from '../../deps.js'
import type { Principal } from '../../platform/http/access.js'
import { zipStream, type ZipEntry } from '../../platform/zip.js'
import { iso } from '../../platform/http/api.js'
import type { Translate } from '../../platform/i18n/i18n.js'
import { auditSentence, recordAudit, shortIp, type AuditEntryView } from '../audit/audit.service.js'
import { csvLine, utf8Bom } from '../contacts/csv.js'
import { listSessions, type SessionView } from './account.service.js'
import { countUnusedRecoveryCodes } from './account.store.js'
import { accountActivity, accountRow, apiKeysCreatedBy, membershipsOf, type AccountRow, type ActivityRow, type MembershipRow, type OwnApiKeyRow } from './my-data.store.js'

/** How many account events the page shows (the archive has them all). */
export const recentActivityLimit = 20

export interface ActivityView { id: string, at: number, action: string, sentence: string, ip: string }

export interface MyDataView {
  account: AccountRow & { twoFactor: boolean, recoveryCodesLeft: number }
  workspaces: MembershipRow[]
  sessions: { count: number, others: number }
  apiKeys: OwnApiKeyRow[]
  activity: ActivityView[]
}

/**
 * An audit row as the audit sentences expect it. Account events name the user themself (as actor,
 * subject or both) or no one (a failed attempt has no actor), so only their own name is needed.
 */
function named (rows: ActivityRow[], user: { id: string, name: string, email: string }): AuditEntryView[] {
  const nameOf = (id: string | null): string | null => id === user.id ? user.name : null
  return rows.map(r => ({ ...r, workspaceId: null, actorName: nameOf(r.actorUserId), actorEmail: r.actorUserId === user.id ? user.email : null, subjectName: nameOf(r.subjectUserId) }))
}

function accountOf (deps: Pick<Deps, 'db'>, userId: string): MyDataView['account'] {
  const row = accountRow(deps.db, userId)
  if (row === undefined) throw new Error('the signed-in account has no row')
  return { ...row, twoFactor: row.totpEnabledAt !== null, recoveryCodesLeft: row.totpEnabledAt === null ? 0 : countUnusedRecoveryCodes(deps.db, userId) }
}

/** What the "My data" page shows, for the signed-in person only. */
export function myDataView (deps: Pick<Deps, 'db'>, principal: Principal, t: Translate): MyDataView {
  const sessions = listSessions(deps, principal)
  const account = accountOf(deps, principal.userId)
  return {
    account,
    workspaces: membershipsOf(deps.db, principal.userId),
    sessions: { count: sessions.length, others: sessions.filter(s => !s.current).length },
    apiKeys: apiKeysCreatedBy(deps.db, principal.userId),
    activity: named(accountActivity(deps.db, principal.userId, recentActivityLimit), account).map(e => ({ id: e.id, at: e.createdAt, action: e.action, sentence: auditSentence(t, e), ip: shortIp(e.ip) }))
  }
}

const readme = `This archive holds what Weltra stores about you, the person signed in:

  account.json     your account: name, email address, language, time zone, when it was created,
                   whether the address is confirmed and two-factor authentication is on
  workspaces.json  the workspaces you are a member of, with your role in each
  sessions.json    the devices signed in to your account (browser, system, IP address, times)
  api-keys.json    the API keys you created, by name and prefix
  activity.csv     your account's security events: sign-ins, failed attempts, password, email and
                   two-factor changes, downloads of this archive, each with the IP address it
                   came from (a spreadsheet, UTF-8)

Not included, because Weltra never keeps them readable: your password (only a one-way hash is kept),
your two-factor secret and recovery codes, and the secrets of your sessions and API keys.

Not included either: the messages and notes you wrote in a workspace, the conversations assigned to
you and the contacts you edited. They belong to that workspace, and its owners can export them.

Times are in UTC (ISO 8601).
`

/** "weltra-my-data-2026-11-25.zip" (ASCII only: it goes in a header as it is). */
export function myDataFileName (now: number): string {
  return `weltra-my-data-${new Date(now).toISOString().slice(0, 10)}.zip`
}

function sessionJson (s: SessionView): Record<string, unknown> {
  return { current: s.current, browser: s.browser ?? null, os: s.os ?? null, device: s.kind, ip: s.ip, signed_in_at: iso(s.createdAt), last_active_at: iso(s.lastSeenAt), second_factor_pending: s.pendingSecondFactor }
}

/**
 * The signed-in person's archive as a byte stream (audited once, with counts only). `t` writes the
 * events' descriptions in their language.
 */
export function myDataArchive (deps: Pick<Deps, 'db' | 'clock'>, principal: Principal, t: Translate, ip: string | undefined): { fileName: string, stream: AsyncGenerator<Buffer> } {
  const userId = principal.userId
  const account = accountOf(deps, userId)
  const workspaces = membershipsOf(deps.db, userId)
  const sessions = listSessions(deps, principal)
  const keys = apiKeysCreatedBy(deps.db, userId)
  const events = named(accountActivity(deps.db, userId), account)
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    recordAudit(db, { action: 'account_exported', actorUserId: userId, subjectUserId: userId, ip, details: { workspaces: workspaces.length, sessions: sessions.length, apiKeys: keys.length, events: events.length } }, now)
  }, { behavior: 'immediate' })
  const modified = new Date(now)
  const accountJson = {
    id: account.id,
    name: account.name,
    email: account.email,
    email_verified_at: iso(account.emailVerifiedAt),
    language: account.locale,
    time_zone: account.timeZone,
    instance_owner: account.isInstanceOwner,
    two_factor: { enabled: account.twoFactor, enabled_at: iso(account.totpEnabledAt), recovery_codes_left: account.recoveryCodesLeft },
    password_changed_at: iso(account.passwordChangedAt),
    created_at: iso(account.createdAt),
    updated_at: iso(account.updatedAt)
  }
  async function * entries (): AsyncGenerator<ZipEntry> {
    yield { name: 'README.txt', data: readme, modified }
    yield { name: 'account.json', data: JSON.stringify(accountJson, null, 2), modified }
    yield { name: 'workspaces.json', data: JSON.stringify(workspaces.map(w => ({ id: w.id, name: w.name, slug: w.slug, role: w.role, joined_at: iso(w.joinedAt), available_for_assignment: w.available })), null, 2), modified }
    yield { name: 'sessions.json', data: JSON.stringify(sessions.map(sessionJson), null, 2), modified }
    yield { name: 'api-keys.json', data: JSON.stringify(keys.map(k => ({ name: k.name, prefix: k.prefix, role: k.role, workspace: k.workspaceName, created_at: iso(k.createdAt), last_used_at: iso(k.lastUsedAt), revoked_at: iso(k.revokedAt) })), null, 2), modified }
    const csv = [utf8Bom + csvLine(['time', 'event', 'description', 'ip', 'details'])]
    for (const e of events) csv.push(csvLine([iso(e.createdAt), e.action, auditSentence(t, e), e.ip ?? '', JSON.stringify(e.details ?? {})]))
    yield { name: 'activity.csv', data: csv.join(''), modified }
  }
  return { fileName: myDataFileName(now), stream: zipStream(entries()) }
}

// ── "Delete my account": the word to type ──

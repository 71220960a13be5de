// "Delete my account" (issue 9): immediate soft delete — signed out everywhere, removed from every
// workspace, the email free for a new account — then a permanent purge by the daily job within 30 days
// (privacy.account_purge_days, never more). A sole owner must first hand the workspace to someone else
// or delete it: a workspace is never left without an owner. A confirmation email says when the purge
// happens. What the person wrote in workspaces (messages, notes) belongs to those workspaces and stays,
// with no author; their own sign-in history goes at the purge.
import type { Deps } from '../../deps.js'
import { eraseMentions } from '../../db/erase-mentions.js'
import { verifyPassword } from '../../platform/crypto/index.js'
import { recordAudit } from '../audit/audit.service.js'
import { unassignMember } from '../inbox/conversations.service.js'
import { sendAccountMail } from '../auth/auth-mail.js'
import { endUserSessions } from '../auth/sessions.service.js'
import { findUserById } from '../auth/auth.service.js'
import { deletedUsersBefore, purgeUser, softDeleteUser, soleOwnedWorkspaces } from './deletion.store.js'

const dayMs = 24 * 3_600_000

export { soleOwnedWorkspaces }

/** The word to type (in the user's language, from the catalogue) is checked by the route. */
export type DeleteAccountResult =
  | { ok: true, purgeAt: number }
  | { ok: false, errors: Record<string, string>, soleOwner?: Array<{ id: string, name: string, slug: string }> }

/** When an account deleted at `deletedAt` is purged. */
export function purgeDate (deps: Pick<Deps, 'config'>, deletedAt: number): number {
  return deletedAt + deps.config.privacy.account_purge_days * dayMs
}

/** Deletes the signed-in person's own account (password required). */
export async function deleteOwnAccount (deps: Pick<Deps, 'db' | 'clock' | 'config' | 'i18n' | 'views' | 'events'>, userId: string, password: string, ip: string | undefined): Promise<DeleteAccountResult> {
  const user = findUserById(deps.db, userId)
  if (user === undefined) return { ok: false, errors: { form: 'errors.notFound.text' } }
  if (password === '' || !await verifyPassword(password.length > 4096 ? '' : password, user.passwordHash)) return { ok: false, errors: { password: 'auth.current.wrong' } }
  const now = deps.clock.now()
  const purgeAt = purgeDate(deps, now)
  return deps.db.transaction((db) => {
    const sole = soleOwnedWorkspaces(db, userId)
    if (sole.length > 0) return { ok: false as const, errors: { form: 'account.delete.errors.soleOwner' }, soleOwner: sole }
    const locale = user.locale ?? deps.config.ui.default_locale
    sendAccountMail({ ...deps, db }, user, 'account_deleted', { purgeDate: new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: user.timeZone ?? deps.config.ui.default_time_zone }).format(purgeAt) }, now)
    softDeleteUser(db, userId, now)
    endUserSessions(db, userId)
    unassignMember(db, null, userId, now)
    recordAudit(db, { action: 'account_deleted', actorUserId: userId, details: { purgeAt: new Date(purgeAt).toISOString() }, ip }, now)
    return { ok: true as const, purgeAt }
  }, { behavior: 'immediate' })
}

/**
 * Purges accounts deleted longer ago than the grace period: the row (sessions, tokens, codes and
 * memberships went at deletion), its sign-in audit trail, its IP in workspace audit logs, and the
 * emails sent to it. Returns how many. Called by the daily retention run, which scrubs afterwards.
 */
export function purgeDeletedAccounts (deps: Pick<Deps, 'db' | 'clock' | 'config' | 'log'>): number {
  const before = deps.clock.now() - deps.config.privacy.account_purge_days * dayMs
  let purged = 0
  for (;;) {
    const due = deletedUsersBefore(deps.db, before + 1, 100)
    if (due.length === 0) break
    for (const u of due) {
      eraseMentions(deps.db, null, { table: 'mail_outbox', column: 'to_address' }, [u.email])
      deps.db.transaction(db => purgeUser(db, u.id), { behavior: 'immediate' })
      purged++
    }
  }
  if (purged > 0) deps.log.info({ accounts: purged }, 'deleted accounts purged')
  return purged
}

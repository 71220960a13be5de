// Invitations by email. A link is single-use, expires after 7 days and is bound to one workspace and
// one role; only SHA-256 of its token is stored. The link is built from the configured public URL,
// never from the request's Host. Accepting signs the person up when they have no account (the link
// proves the address), or adds their signed-in account (the token is the proof, whatever its email).
// Accepting is race-safe: the invitation is marked used with a conditional update, inside the
// transaction that creates the membership.
import { publicUrl } from '../../config/load-config.js'
import type { Deps } from '../../deps.js'
import { hashPassword, randomToken, sha256Hex } from '../../platform/crypto/index.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import { emailIndex, emailProblem, normaliseEmail, passwordProblem } from '../auth/credentials.js'
import { accountIdForEmailIndex, createVerifiedAccount, maskEmail, nameProblem } from '../auth/auth.service.js'
import { setActiveWorkspace } from '../auth/sessions.service.js'
import { queueMail, renderMail } from '../mail/mail.service.js'
import { findMembership } from './workspaces.service.js'
import { findWorkspace, insertMember, memberIdByEmailIndex } from './workspaces.store.js'
import {
  findInviteByTokenHash, findPendingInvite, insertInvite, markInviteAccepted,
  revokeInvite, revokeInvitesTo, type InviteByToken, type InviteRole
} from './invites.store.js'
import type { Actor, FieldErrors, Result } from './team.service.js'

type D = Pick<Deps, 'db' | 'clock' | 'config' | 'i18n' | 'views' | 'events'>

/** How long an invitation link works. */
export const inviteLifetimeMs = 7 * 86_400_000
const maxTokenLength = 200

function usable (invite: InviteByToken | undefined, now: number): invite is InviteByToken {
  return invite !== undefined && invite.acceptedAt === null && invite.revokedAt === null && invite.expiresAt > now
}

function lookup (deps: Pick<D, 'db'>, token: string): InviteByToken | undefined {
  if (token === '' || token.length > maxTokenLength) return undefined
  return findInviteByTokenHash(deps.db, sha256Hex(token))
}

/**
 * Invites an address to the actor's workspace as admin or agent (never owner: owners are made by
 * promotion). Replaces any pending invitation to the same address, queues the email in the
 * workspace's default language and records it. Field errors: email (invalid, already a member), role.
 */
export function inviteMember (deps: D, actor: Actor & { name: string }, input: { email: string, role: string }): Result<{ inviteId: string }> {
  const errors: FieldErrors = {}
  const emailIssue = emailProblem(input.email)
  if (emailIssue !== undefined) errors.email = emailIssue
  if (input.role !== 'admin' && input.role !== 'agent') errors.role = 'invites.role.invalid'
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const role = input.role as InviteRole
  const email = normaliseEmail(input.email)
  const index = emailIndex(email)
  const now = deps.clock.now()
  const result = deps.db.transaction((db) => {
    const workspace = findWorkspace(db, actor.workspaceId)
    if (workspace === undefined) throw new NotFoundError()
    if (memberIdByEmailIndex(db, workspace.id, index) !== undefined) return { ok: false as const, errors: { email: 'invites.email.alreadyMember' } }
    revokeInvitesTo(db, workspace.id, index, now)
    const token = randomToken(32)
    const inviteId = insertInvite(db, { workspaceId: workspace.id, email, emailIndex: index, role, tokenHash: sha256Hex(token), invitedBy: actor.userId, expiresAt: now + inviteLifetimeMs, createdAt: now })
    const base = publicUrl(deps.config)
    const t = deps.i18n.translator(deps.config.ui.default_locale)
    const mail = renderMail(deps.views, t, 'invite', {
      inviterName: actor.name,
      workspaceName: workspace.name,
      role,
      acceptUrl: `${base}/invites/accept?token=${encodeURIComponent(token)}`,
      expiresInHours: inviteLifetimeMs / 3_600_000
    }, { publicUrl: base })
    queueMail(db, { kind: 'invite', to: email, ...mail }, now)
    recordAudit(db, { action: 'member_invited', workspaceId: workspace.id, actorUserId: actor.userId, details: { email: maskEmail(email), role }, ip: actor.ip }, now)
    return { ok: true as const, value: { inviteId } }
  }, { behavior: 'immediate' })
  if (result.ok) deps.events.emit('mail.queued', { at: now })
  return result
}

/** Revokes one of the actor's workspace's pending invitations; NotFoundError for any other id. */
export function revokeInvitation (deps: Pick<D, 'db' | 'clock'>, actor: Actor, inviteId: string): void {
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    const invite = findPendingInvite(db, actor.workspaceId, inviteId, now)
    if (invite === undefined || !revokeInvite(db, actor.workspaceId, invite.id, now)) throw new NotFoundError()
    recordAudit(db, { action: 'invite_revoked', workspaceId: actor.workspaceId, actorUserId: actor.userId, details: { email: maskEmail(invite.email), role: invite.role }, ip: actor.ip }, now)
  }, { behavior: 'immediate' })
}

/** What the acceptance page shows about a usable invitation. */
export interface InviteView {
  workspaceId: string
  workspaceName: string
  inviterName: string | null
  role: InviteRole
  email: string
  expiresAt: number
  /** An account already uses the invited address (so a visitor must sign in rather than sign up). */
  accountExists: boolean
}

/** The invitation behind a token while it can be accepted, or undefined (unknown, used, revoked, expired). */
export function inviteForToken (deps: Pick<D, 'db' | 'clock'>, token: string): InviteView | undefined {
  const invite = lookup(deps, token)
  if (!usable(invite, deps.clock.now())) return undefined
  return {
    workspaceId: invite.workspaceId,
    workspaceName: invite.workspaceName,
    inviterName: invite.inviterName,
    role: invite.role,
    email: invite.email,
    expiresAt: invite.expiresAt,
    accountExists: accountIdForEmailIndex(deps.db, invite.emailIndex) !== undefined
  }
}

export type AcceptOutcome = { ok: true, workspaceId: string } | { ok: false, gone: true }

/**
 * A signed-in user accepts: they join with the invited role (or, already a member, keep their role)
 * and the workspace becomes their session's active one. The link is used up either way.
 */
export function acceptInvite (deps: Pick<D, 'db' | 'clock'>, token: string, user: { userId: string, sessionId: string, ip?: string | undefined }): AcceptOutcome {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const invite = lookup({ db }, token)
    if (!usable(invite, now) || !markInviteAccepted(db, invite.id, now)) return { ok: false as const, gone: true as const }
    if (findMembership(db, invite.workspaceId, user.userId) === undefined) {
      insertMember(db, invite.workspaceId, user.userId, invite.role, now)
      recordAudit(db, { action: 'invite_accepted', workspaceId: invite.workspaceId, actorUserId: user.userId, subjectUserId: user.userId, details: { role: invite.role, email: maskEmail(invite.email) }, ip: user.ip }, now)
    }
    setActiveWorkspace(db, user.sessionId, invite.workspaceId)
    return { ok: true as const, workspaceId: invite.workspaceId }
  }, { behavior: 'immediate' })
}

export type SignUpOutcome =
  | { ok: true, userId: string, workspaceId: string }
  | { ok: false, errors: FieldErrors }
  | { ok: false, gone: true }
  /** The invited address already has an account: sign in to accept instead. */
  | { ok: false, signIn: true }

/**
 * Someone without an account accepts: creates their account (email = the invited address, already
 * verified) and membership in one transaction. The password is hashed before the transaction. The
 * caller then starts their session in that workspace.
 */
export async function acceptInviteWithNewAccount (deps: Pick<D, 'db' | 'clock'>, token: string, input: { name: string, password: string, locale?: string | undefined }, ip: string | undefined): Promise<SignUpOutcome> {
  const found = lookup(deps, token)
  if (!usable(found, deps.clock.now())) return { ok: false, gone: true }
  if (accountIdForEmailIndex(deps.db, found.emailIndex) !== undefined) return { ok: false, signIn: true }
  const errors: FieldErrors = {}
  const n = nameProblem(input.name)
  if (n !== undefined) errors.name = n
  const p = passwordProblem(input.password, { email: found.email, name: input.name })
  if (p !== undefined) errors.password = p
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const hash = await hashPassword(input.password)
  const now = deps.clock.now()
  return deps.db.transaction((db): SignUpOutcome => {
    const invite = lookup({ db }, token)
    if (!usable(invite, now)) return { ok: false, gone: true }
    if (accountIdForEmailIndex(db, invite.emailIndex) !== undefined) return { ok: false, signIn: true }
    if (!markInviteAccepted(db, invite.id, now)) return { ok: false, gone: true }
    const userId = createVerifiedAccount(db, { email: invite.email, name: input.name, passwordHash: hash, locale: input.locale ?? null }, now)
    insertMember(db, invite.workspaceId, userId, invite.role, now)
    recordAudit(db, { action: 'account_created', actorUserId: userId, subjectUserId: userId, details: { via: 'invite' }, ip }, now)
    recordAudit(db, { action: 'invite_accepted', workspaceId: invite.workspaceId, actorUserId: userId, subjectUserId: userId, details: { role: invite.role, email: maskEmail(invite.email) }, ip }, now)
    return { ok: true, userId, workspaceId: invite.workspaceId }
  }, { behavior: 'immediate' })
}

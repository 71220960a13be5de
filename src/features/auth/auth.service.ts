// Accounts: first-run setup, sign-up, sign-in (throttled, no account enumeration), email verification,
// password reset and changes to one's own name, email and password. Hashing happens outside
// transactions; every change and its audit entry and emails commit together.
import { nameFieldProblem } from '../../platform/text.js'
import { publicUrl } from '../../config/load-config.js'
import type { Deps } from '../../deps.js'
import { dummyPasswordHash, hashPassword, needsRehash, randomToken, sha256Hex, verifyPassword } from '../../platform/crypto/index.js'
import { recordAudit } from '../audit/audit.service.js'
import { sendAccountMail } from './auth-mail.js'
import { createWorkspace, workspaceNameProblem } from '../workspaces/workspaces.service.js'
import { emailIndex, emailProblem, normaliseEmail, passwordProblem } from './credentials.js'
import { blockedUntil, clearFailures, recordFailure } from './throttle.service.js'
import { expireUserTokens, findUnusedToken, insertToken, markTokenUsed, type TokenPurpose } from './tokens.store.js'
import { countUsers, findUserByEmailIndex, findUserById, insertUser, listUsers, updateUser, type User } from './users.store.js'
import { endUserSessions } from './sessions.service.js'

export type { User }
export { findUserById, listUsers }

type D = Pick<Deps, 'db' | 'clock' | 'config' | 'i18n' | 'views' | 'log' | 'events'>
export type FieldErrors = Record<string, string>
export type Result<T> = { ok: true, value: T } | { ok: false, errors: FieldErrors }

const tokenLifetimeMs: Record<TokenPurpose, number> = {
  verify_email: 60 * 60_000,
  reset_password: 30 * 60_000,
  change_email: 60 * 60_000
}

/** A catalogue key describing what is wrong with a person's name, or undefined when it is fine. */
export function nameProblem (name: string): string | undefined {
  return nameFieldProblem(name, 'auth.name', 100)
}

/** Whether first-run setup is still open (no account exists at all). */
export function setupOpen (deps: Pick<Deps, 'db'>): boolean {
  return countUsers(deps.db) === 0
}

function link (deps: D, path: string, token: string): string {
  return `${publicUrl(deps.config)}${path}?token=${encodeURIComponent(token)}`
}

/** Creates a single-use token for a purpose (older unused ones of that purpose are voided); returns the raw token. */
function issueToken (deps: D, userId: string, purpose: TokenPurpose, now: number, newEmail?: string): string {
  const token = randomToken(32)
  expireUserTokens(deps.db, userId, purpose, now)
  insertToken(deps.db, { userId, purpose, tokenHash: sha256Hex(token), newEmail: newEmail ?? null, expiresAt: now + tokenLifetimeMs[purpose], createdAt: now })
  return token
}

export interface NewAccount { name: string, email: string, password: string, workspaceName?: string | undefined, locale?: string | undefined }

function validateAccount (input: NewAccount, needWorkspace: boolean): FieldErrors {
  const errors: FieldErrors = {}
  const n = nameProblem(input.name)
  if (n !== undefined) errors.name = n
  const e = emailProblem(input.email)
  if (e !== undefined) errors.email = e
  const p = passwordProblem(input.password, { email: input.email, name: input.name })
  if (p !== undefined) errors.password = p
  if (needWorkspace) {
    const w = workspaceNameProblem(input.workspaceName ?? '')
    if (w !== undefined) errors.workspaceName = w
  }
  return errors
}

/**
 * First-run setup: creates the instance owner and the first workspace, only while no account exists.
 * Returns the new user and workspace ids.
 */
export async function setupInstance (deps: D, input: NewAccount, ip: string | undefined): Promise<Result<{ userId: string, workspaceId: string }>> {
  const errors = validateAccount(input, true)
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const hash = await hashPassword(input.password)
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    if (countUsers(db) > 0) return { ok: false as const, errors: { form: 'setup.alreadyDone' } }
    const user = insertUser(db, {
      email: normaliseEmail(input.email),
      emailIndex: emailIndex(input.email),
      name: input.name.trim(),
      passwordHash: hash,
      isInstanceOwner: true,
      locale: input.locale ?? null,
      passwordChangedAt: now,
      createdAt: now,
      updatedAt: now
    })
    const workspace = createWorkspace(db, { name: input.workspaceName ?? '', ownerUserId: user.id, ip }, now)
    recordAudit(db, { action: 'instance_setup', actorUserId: user.id, subjectUserId: user.id, ip }, now)
    const token = issueToken({ ...deps, db }, user.id, 'verify_email', now)
    sendAccountMail({ ...deps, db }, user, 'verify_email', { verifyUrl: link(deps, '/verify-email', token), expiresInMinutes: 60 }, now)
    return { ok: true as const, value: { userId: user.id, workspaceId: workspace.id } }
  }, { behavior: 'immediate' })
}

/**
 * Public sign-up (server.allow_signup). To reveal nothing about existing accounts, the answer is the
 * same either way: a new account (with its own workspace) gets a verification email; an existing
 * address gets a note that someone tried to sign up with it.
 */
export async function register (deps: D, input: NewAccount, ip: string | undefined): Promise<Result<{ userId: string | undefined }>> {
  const errors = validateAccount(input, true)
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const hash = await hashPassword(input.password)
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const existing = findUserByEmailIndex(db, emailIndex(input.email))
    if (existing !== undefined) {
      sendAccountMail({ ...deps, db }, existing, 'signup_attempt', { loginUrl: `${publicUrl(deps.config)}/login`, resetUrl: `${publicUrl(deps.config)}/forgot` }, now)
      return { ok: true as const, value: { userId: undefined } }
    }
    const user = insertUser(db, {
      email: normaliseEmail(input.email),
      emailIndex: emailIndex(input.email),
      name: input.name.trim(),
      passwordHash: hash,
      locale: input.locale ?? null,
      passwordChangedAt: now,
      createdAt: now,
      updatedAt: now
    })
    createWorkspace(db, { name: input.workspaceName ?? '', ownerUserId: user.id, ip }, now)
    recordAudit(db, { action: 'account_created', actorUserId: user.id, subjectUserId: user.id, ip }, now)
    const token = issueToken({ ...deps, db }, user.id, 'verify_email', now)
    sendAccountMail({ ...deps, db }, user, 'verify_email', { verifyUrl: link(deps, '/verify-email', token), expiresInMinutes: 60 }, now)
    return { ok: true as const, value: { userId: user.id } }
  }, { behavior: 'immediate' })
}

export type LoginOutcome =
  | { ok: true, user: User, twoFactor: boolean }
  | { ok: false, reason: 'invalid' }
  | { ok: false, reason: 'throttled', retryAt: number }

/**
 * Checks an email and password. Throttled attempts are refused before hashing; unknown emails cost
 * the same hash as known ones, and fail the same way.
 */
export async function login (deps: D, input: { email: string, password: string }, ip: string): Promise<LoginOutcome> {
  const now = deps.clock.now()
  const index = emailIndex(input.email)
  const accountKey = `account:${index}`
  const addressKey = `address:${ip}`
  const until = Math.max(blockedUntil(deps.db, accountKey, now) ?? 0, blockedUntil(deps.db, addressKey, now) ?? 0)
  if (until > now) return { ok: false, reason: 'throttled', retryAt: until }
  const user = Buffer.byteLength(input.password, 'utf8') > 1024 ? undefined : findUserByEmailIndex(deps.db, index)
  const valid = await verifyPassword(input.password.length > 4096 ? '' : input.password, user?.passwordHash ?? await dummyPasswordHash())
  const later = deps.clock.now()
  if (user === undefined || !valid) {
    deps.db.transaction((db) => {
      recordFailure(db, accountKey, 'account', later)
      recordFailure(db, addressKey, 'address', later)
      if (user !== undefined) recordAudit(db, { action: 'login_failed', subjectUserId: user.id, ip }, later)
    }, { behavior: 'immediate' })
    return { ok: false, reason: 'invalid' }
  }
  clearFailures(deps.db, accountKey)
  if (needsRehash(user.passwordHash)) {
    updateUser(deps.db, user.id, { passwordHash: await hashPassword(input.password), updatedAt: later })
  }
  return { ok: true, user, twoFactor: user.totpEnabledAt !== null }
}

/** Always answers the same; when the account exists it gets a reset link (valid 30 minutes). */
export function requestPasswordReset (deps: D, email: string): void {
  if (emailProblem(email) !== undefined) return
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    const user = findUserByEmailIndex(db, emailIndex(email))
    if (user === undefined) return
    const token = issueToken({ ...deps, db }, user.id, 'reset_password', now)
    sendAccountMail({ ...deps, db }, user, 'reset_password', { resetUrl: link(deps, '/reset-password', token), expiresInMinutes: 30 }, now)
  }, { behavior: 'immediate' })
}

/** Whether a reset token is currently usable (to show the form or a clear "expired" page). */
export function resetTokenUsable (deps: Pick<D, 'db' | 'clock'>, token: string): boolean {
  const row = findUnusedToken(deps.db, sha256Hex(token), 'reset_password')
  return row !== undefined && row.expiresAt > deps.clock.now()
}

/**
 * Sets a new password from a reset link: single use, expires, ends every session (no automatic
 * sign-in), voids other reset links and tells the account owner.
 */
export async function resetPassword (deps: D, token: string, password: string, ip: string | undefined): Promise<Result<{ userId: string }> | { ok: false, expired: true }> {
  const now = deps.clock.now()
  const row = findUnusedToken(deps.db, sha256Hex(token), 'reset_password')
  if (row === undefined || row.expiresAt <= now) return { ok: false, expired: true }
  const user = findUserById(deps.db, row.userId)
  if (user === undefined) return { ok: false, expired: true }
  const problem = passwordProblem(password, { email: user.email })
  if (problem !== undefined) return { ok: false, errors: { password: problem } }
  const hash = await hashPassword(password)
  const later = deps.clock.now()
  return deps.db.transaction((db) => {
    if (!markTokenUsed(db, row.id, later)) return { ok: false as const, expired: true as const }
    updateUser(db, user.id, { passwordHash: hash, passwordChangedAt: later, updatedAt: later, emailVerifiedAt: user.emailVerifiedAt ?? later })
    expireUserTokens(db, user.id, 'reset_password', later)
    endUserSessions(db, user.id)
    recordAudit(db, { action: 'password_reset', actorUserId: user.id, subjectUserId: user.id, ip }, later)
    sendAccountMail({ ...deps, db }, user, 'password_changed_notice', {}, later)
    return { ok: true as const, value: { userId: user.id } }
  }, { behavior: 'immediate' })
}

/** Confirms an email address from a verification link; false when the link is unknown, used or expired. */
export function verifyEmail (deps: Pick<D, 'db' | 'clock'>, token: string): boolean {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const row = findUnusedToken(db, sha256Hex(token), 'verify_email')
    if (row === undefined || row.expiresAt <= now || !markTokenUsed(db, row.id, now)) return false
    updateUser(db, row.userId, { emailVerifiedAt: now, updatedAt: now })
    recordAudit(db, { action: 'email_verified', actorUserId: row.userId, subjectUserId: row.userId }, now)
    return true
  }, { behavior: 'immediate' })
}

/** Sends a fresh verification link to the user's current address. */
export function resendVerification (deps: D, userId: string): void {
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    const user = findUserById(db, userId)
    if (user === undefined || user.emailVerifiedAt !== null) return
    const token = issueToken({ ...deps, db }, user.id, 'verify_email', now)
    sendAccountMail({ ...deps, db }, user, 'verify_email', { verifyUrl: link(deps, '/verify-email', token), expiresInMinutes: 60 }, now)
  }, { behavior: 'immediate' })
}

/** Renames the user. */
export function updateName (deps: Pick<D, 'db' | 'clock'>, userId: string, name: string): Result<null> {
  const problem = nameProblem(name)
  if (problem !== undefined) return { ok: false, errors: { name: problem } }
  updateUser(deps.db, userId, { name: name.trim(), updatedAt: deps.clock.now() })
  return { ok: true, value: null }
}

/**
 * Changes the password after checking the current one. Ends every other session; the caller gives the
 * current session a new token.
 */
export async function changePassword (deps: D, userId: string, sessionId: string, input: { current: string, password: string }, ip: string | undefined): Promise<Result<null>> {
  const user = findUserById(deps.db, userId)
  if (user === undefined) return { ok: false, errors: { current: 'auth.current.wrong' } }
  if (!await verifyPassword(input.current, user.passwordHash)) return { ok: false, errors: { current: 'auth.current.wrong' } }
  const problem = passwordProblem(input.password, { email: user.email, name: user.name })
  if (problem !== undefined) return { ok: false, errors: { password: problem } }
  if (input.password === input.current) return { ok: false, errors: { password: 'auth.password.same' } }
  const hash = await hashPassword(input.password)
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    updateUser(db, user.id, { passwordHash: hash, passwordChangedAt: now, updatedAt: now })
    expireUserTokens(db, user.id, 'reset_password', now)
    endUserSessions(db, user.id, sessionId)
    recordAudit(db, { action: 'password_changed', actorUserId: user.id, subjectUserId: user.id, ip }, now)
    sendAccountMail({ ...deps, db }, user, 'password_changed_notice', {}, now)
  }, { behavior: 'immediate' })
  return { ok: true, value: null }
}

/**
 * Starts an email change after checking the password: the new address gets a confirmation link; the
 * address changes only when it is followed.
 */
export async function requestEmailChange (deps: D, userId: string, input: { current: string, email: string }, ip: string | undefined): Promise<Result<null>> {
  const user = findUserById(deps.db, userId)
  if (user === undefined || !await verifyPassword(input.current, user.passwordHash)) return { ok: false, errors: { current: 'auth.current.wrong' } }
  const problem = emailProblem(input.email)
  if (problem !== undefined) return { ok: false, errors: { email: problem } }
  if (normaliseEmail(input.email) === user.email) return { ok: false, errors: { email: 'auth.email.same' } }
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    const token = issueToken({ ...deps, db }, user.id, 'change_email', now, normaliseEmail(input.email))
    sendAccountMail({ ...deps, db }, { ...user, email: normaliseEmail(input.email) }, 'email_change_confirm', { confirmUrl: link(deps, '/confirm-email', token), expiresInMinutes: 60 }, now)
    recordAudit(db, { action: 'email_change_requested', actorUserId: user.id, subjectUserId: user.id, ip }, now)
  }, { behavior: 'immediate' })
  return { ok: true, value: null }
}

/**
 * Completes an email change from the link sent to the new address. The old address is told. Returns
 * false when the link is unusable or the address was taken meanwhile.
 */
export function confirmEmailChange (deps: D, token: string): boolean {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const row = findUnusedToken(db, sha256Hex(token), 'change_email')
    if (row === undefined || row.expiresAt <= now || row.newEmail === null) return false
    const user = findUserById(db, row.userId)
    if (user === undefined) return false
    const index = emailIndex(row.newEmail)
    const taken = findUserByEmailIndex(db, index)
    if (taken !== undefined && taken.id !== user.id) return false
    if (!markTokenUsed(db, row.id, now)) return false
    updateUser(db, user.id, { email: row.newEmail, emailIndex: index, emailVerifiedAt: now, updatedAt: now })
    recordAudit(db, { action: 'email_changed', actorUserId: user.id, subjectUserId: user.id }, now)
    sendAccountMail({ ...deps, db }, user, 'email_changed_notice', { newEmailMasked: maskEmail(row.newEmail) }, now)
    return true
  }, { behavior: 'immediate' })
}

/** "j•••@example.com": enough for the owner to recognise, not enough to harvest. */
export function maskEmail (email: string): string {
  const at = email.lastIndexOf('@')
  if (at < 1) return '•••'
  return `${[...email][0] ?? ''}•••${email.slice(at)}`
}

/** The id of the account using the email with this blind index (the index is unique), or undefined. */
export function accountIdForEmailIndex (db: Deps['db'], index: string): string | undefined {
  return findUserByEmailIndex(db, index)?.id
}

/**
 * Creates an account whose address is already proven (for example by an invitation link). Synchronous:
 * call inside the caller's transaction, with the password already hashed and the name checked.
 */
export function createVerifiedAccount (db: Deps['db'], account: { email: string, name: string, passwordHash: string, locale: string | null }, now: number): string {
  return insertUser(db, {
    email: normaliseEmail(account.email),
    emailIndex: emailIndex(account.email),
    name: account.name.trim(),
    passwordHash: account.passwordHash,
    locale: account.locale,
    emailVerifiedAt: now,
    passwordChangedAt: now,
    createdAt: now,
    updatedAt: now
  }).id
}

/** For the CLI: creates a user (optionally the instance owner with a first workspace) without email. */
export async function createUserFromCli (deps: D, input: NewAccount & { owner: boolean }): Promise<Result<{ userId: string, workspaceId: string | undefined }>> {
  const errors = validateAccount(input, input.owner && input.workspaceName !== undefined)
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const hash = await hashPassword(input.password)
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    if (findUserByEmailIndex(db, emailIndex(input.email)) !== undefined) return { ok: false as const, errors: { email: 'auth.email.taken' } }
    const user = insertUser(db, {
      email: normaliseEmail(input.email),
      emailIndex: emailIndex(input.email),
      name: input.name.trim(),
      passwordHash: hash,
      isInstanceOwner: input.owner,
      emailVerifiedAt: now,
      passwordChangedAt: now,
      createdAt: now,
      updatedAt: now
    })
    const workspace = input.owner && input.workspaceName !== undefined ? createWorkspace(db, { name: input.workspaceName, ownerUserId: user.id }, now) : undefined
    recordAudit(db, { action: input.owner ? 'instance_setup' : 'account_created', actorUserId: user.id, subjectUserId: user.id, details: { via: 'cli' } }, now)
    return { ok: true as const, value: { userId: user.id, workspaceId: workspace?.id } }
  }, { behavior: 'immediate' })
}

/** For the CLI: sets a password directly and ends the user's sessions. */
export async function setPasswordFromCli (deps: D, email: string, password: string): Promise<Result<null>> {
  const user = findUserByEmailIndex(deps.db, emailIndex(email))
  if (user === undefined) return { ok: false, errors: { email: 'auth.email.unknown' } }
  const problem = passwordProblem(password, { email: user.email })
  if (problem !== undefined) return { ok: false, errors: { password: problem } }
  const hash = await hashPassword(password)
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    updateUser(db, user.id, { passwordHash: hash, passwordChangedAt: now, updatedAt: now })
    endUserSessions(db, user.id)
    recordAudit(db, { action: 'password_reset', subjectUserId: user.id, details: { via: 'cli' } }, now)
  }, { behavior: 'immediate' })
  return { ok: true, value: null }
}

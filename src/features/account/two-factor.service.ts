// Two-factor authentication with an authenticator app (TOTP, RFC 6238) and one-time recovery codes.
//
// Enrolment: the current password starts it; a new 20-byte secret is stored encrypted in
// users.totp_secret with totp_enabled_at still empty ("pending"), usable for 15 minutes and only from
// the session that started it; a correct code turns it on and yields 10 recovery codes, shown once and
// stored as SHA-256 only. Turning it off needs the password and a code, and is refused while a
// workspace of the user requires two-factor authentication.
//
// Sign-in step: a TOTP code (±1 step) or a recovery code. A TOTP step is accepted once per user (the
// last accepted step is remembered; older and equal steps are refused). Wrong codes: 5 per session per
// 15 minutes, then the session ends; per account they also feed the sign-in throttle (growing delays,
// at most 100 an hour), which survives restarts.
//
// In-memory state (TwoFactorMemory, one per app): pending enrolments, per-session failure counts and
// the last accepted step per user. A restart forgets them: a pending enrolment must be started again,
// the per-session counter starts over (the per-account throttle does not), and a code seen in the
// 90 seconds before a restart could be replayed once after it.
import { renderSVG } from 'uqr'
import type { Deps } from '../../deps.js'
import {
  base32Decode, base32Encode, newRecoveryCode, newTotpSecret, sha256Hex, timingSafeEqualStr, totpUri, verifyPassword, verifyTotp
} from '../../platform/crypto/index.js'
import type { Principal } from '../../platform/http/access.js'
import type { Db } from '../../db/open.js'
import { recordAudit } from '../audit/audit.service.js'
import { findUserById, type FieldErrors, type Result } from '../auth/auth.service.js'
import { endSession, markTwoFactorVerified } from '../auth/sessions.service.js'
import { blockedUntil, clearFailures, recordFailure } from '../auth/throttle.service.js'
import { listMemberships } from '../workspaces/workspaces.service.js'
import {
  countUnusedRecoveryCodes, findTwoFactorState, listUnusedRecoveryCodes, markRecoveryCodeUsed, replaceRecoveryCodes, saveTwoFactorState
} from './account.store.js'

type D = Pick<Deps, 'db' | 'clock'>

const enrolmentMs = 15 * 60_000
const failureWindowMs = 15 * 60_000
const maxFailuresPerSession = 5
export const recoveryCodeCount = 10

/** Short-lived two-factor state kept in memory (see the file comment for what a restart forgets). */
export class TwoFactorMemory {
  /** session id → when its pending enrolment expires */
  readonly pending = new Map<string, number>()
  /** session id → wrong codes in the current window */
  readonly failures = new Map<string, { count: number, since: number }>()
  /** user id → the last TOTP step accepted */
  readonly lastStep = new Map<string, number>()

  /** Drops entries that can no longer matter (called on writes; keeps the maps small). */
  prune (now: number): void {
    if (this.pending.size + this.failures.size + this.lastStep.size < 1000) return
    for (const [k, until] of this.pending) if (until <= now) this.pending.delete(k)
    for (const [k, f] of this.failures) if (now - f.since >= failureWindowMs) this.failures.delete(k)
    const step = Math.floor(now / 30_000)
    for (const [k, s] of this.lastStep) if (s < step - 2) this.lastStep.delete(k)
  }
}

// ── what the security page shows ─────────────────────────────────────────

export interface Enrolment {
  /** The secret in base32, for manual entry. */
  secret: string
  /** The secret in groups of four characters, easier to type. */
  secretGroups: string
  uri: string
  /** The otpauth URI as a QR code: a data: URI of an SVG image (dark on white in both themes). */
  qrDataUri: string
}

export interface TwoFactorStatus {
  enabled: boolean
  enabledAt: number | null
  recoveryCodesLeft: number
  /** Present while this session has an enrolment in progress. */
  enrolment: Enrolment | undefined
  /** Names of the user's workspaces that require two-factor authentication. */
  requiredBy: string[]
}

/** The otpauth URI, its QR code and the secret in groups of four, for the enrolment screen. */
export function enrolmentFor (secret: string, email: string): Enrolment {
  const uri = totpUri({ issuer: 'Weltra', account: email, secret: base32Decode(secret) })
  const svg = renderSVG(uri, { ecc: 'M', border: 2, pixelSize: 8, whiteColor: '#ffffff', blackColor: '#0b1214' })
  return {
    secret,
    secretGroups: secret.match(/.{1,4}/g)?.join(' ') ?? secret,
    uri,
    qrDataUri: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
  }
}

/** Names of the user's workspaces that require two-factor authentication. */
export function workspacesRequiringTwoFactor (db: Db, userId: string): string[] {
  return listMemberships(db, userId).filter(m => m.requireTwoFactor).map(m => m.name)
}

function pendingFor (deps: D, memory: TwoFactorMemory, sessionId: string): boolean {
  const until = memory.pending.get(sessionId)
  return until !== undefined && until > deps.clock.now()
}

/** The two-factor section of the security page for this user and session. */
export function twoFactorStatus (deps: D, memory: TwoFactorMemory, principal: Principal): TwoFactorStatus {
  const state = findTwoFactorState(deps.db, principal.userId)
  const enabled = state?.totpEnabledAt != null
  const pendingSecret = !enabled && state?.totpSecret != null && pendingFor(deps, memory, principal.sessionId) ? state.totpSecret : undefined
  return {
    enabled,
    enabledAt: state?.totpEnabledAt ?? null,
    recoveryCodesLeft: enabled ? countUnusedRecoveryCodes(deps.db, principal.userId) : 0,
    enrolment: pendingSecret === undefined ? undefined : enrolmentFor(pendingSecret, principal.email),
    requiredBy: workspacesRequiringTwoFactor(deps.db, principal.userId)
  }
}

// ── second-factor checks ─────────────────────────────────────────────────

type Check =
  | { ok: true, kind: 'totp', step: number }
  | { ok: true, kind: 'recovery', id: string }
  | { ok: false, reason: 'wrong' | 'replayed' }

/** "123 456" → "123456"; " ABCD-efgh-jk " → "abcdefghjk". */
function normalise (code: string): string {
  return code.replace(/[\s-]/g, '').toLowerCase()
}

function recoveryHash (code: string): string {
  return sha256Hex(normalise(code))
}

/**
 * Checks a TOTP code or (when allowed) a recovery code without consuming anything: the caller commits
 * the step / marks the code used together with whatever the code unlocks.
 */
function checkCode (deps: D, memory: TwoFactorMemory, userId: string, secret: string, code: string, allowRecovery: boolean): Check {
  const clean = normalise(code)
  if (/^[0-9]{6}$/.test(clean)) {
    const step = verifyTotp(base32Decode(secret), clean, deps.clock.now())
    if (step === undefined) return { ok: false, reason: 'wrong' }
    const last = memory.lastStep.get(userId)
    if (last !== undefined && step <= last) return { ok: false, reason: 'replayed' }
    return { ok: true, kind: 'totp', step }
  }
  if (allowRecovery && /^[a-z0-9]{10}$/.test(clean)) {
    const hash = recoveryHash(clean)
    let found: string | undefined
    for (const row of listUnusedRecoveryCodes(deps.db, userId)) {
      if (timingSafeEqualStr(row.codeHash, hash) && found === undefined) found = row.id
    }
    if (found !== undefined) return { ok: true, kind: 'recovery', id: found }
  }
  return { ok: false, reason: 'wrong' }
}

function newRecoveryCodes (): { codes: string[], hashes: string[] } {
  const codes = Array.from({ length: recoveryCodeCount }, () => newRecoveryCode())
  return { codes, hashes: codes.map(recoveryHash) }
}

async function passwordMatches (db: Db, userId: string, password: string): Promise<boolean> {
  const user = findUserById(db, userId)
  return user !== undefined && password !== '' && await verifyPassword(password.length > 4096 ? '' : password, user.passwordHash)
}

// ── enrolment ────────────────────────────────────────────────────────────

/**
 * Starts setting up two-factor authentication (current password required): a new secret, stored
 * encrypted and pending; returns what the enrolment screen shows.
 */
export async function startEnrolment (deps: D, memory: TwoFactorMemory, principal: Principal, password: string): Promise<Result<Enrolment>> {
  if (!await passwordMatches(deps.db, principal.userId, password)) return { ok: false, errors: { current: 'auth.current.wrong' } }
  const now = deps.clock.now()
  const state = findTwoFactorState(deps.db, principal.userId)
  if (state === undefined) return { ok: false, errors: { current: 'auth.current.wrong' } }
  if (state.totpEnabledAt !== null) return { ok: false, errors: { form: 'twoFactor.alreadyOn' } }
  const secret = base32Encode(newTotpSecret())
  saveTwoFactorState(deps.db, principal.userId, { totpSecret: secret, totpEnabledAt: null }, now)
  memory.prune(now)
  memory.pending.set(principal.sessionId, now + enrolmentMs)
  return { ok: true, value: enrolmentFor(secret, principal.email) }
}

/** Abandons a pending enrolment (nothing happens when two-factor authentication is already on). */
export function cancelEnrolment (deps: D, memory: TwoFactorMemory, principal: Principal): void {
  memory.pending.delete(principal.sessionId)
  const state = findTwoFactorState(deps.db, principal.userId)
  if (state !== undefined && state.totpEnabledAt === null && state.totpSecret !== null) {
    saveTwoFactorState(deps.db, principal.userId, { totpSecret: null, totpEnabledAt: null }, deps.clock.now())
  }
}

/**
 * Finishes enrolment with a code from the app: turns two-factor authentication on, marks this session
 * as having passed it, and returns 10 new recovery codes (the only time they are ever readable).
 */
export function confirmEnrolment (deps: D, memory: TwoFactorMemory, principal: Principal, code: string, ip: string | undefined): Result<{ codes: string[] }> | { ok: false, expired: true } {
  const state = findTwoFactorState(deps.db, principal.userId)
  if (state?.totpEnabledAt != null) return { ok: false, errors: { form: 'twoFactor.alreadyOn' } }
  if (state?.totpSecret == null || !pendingFor(deps, memory, principal.sessionId)) return { ok: false, expired: true }
  const secret = state.totpSecret
  const check = checkCode(deps, memory, principal.userId, secret, code, false)
  if (!check.ok || check.kind !== 'totp') return { ok: false, errors: { code: normalise(code) === '' ? 'twoFactor.code.required' : 'twoFactor.code.wrong' } }
  const { codes, hashes } = newRecoveryCodes()
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    saveTwoFactorState(db, principal.userId, { totpSecret: secret, totpEnabledAt: now }, now)
    replaceRecoveryCodes(db, principal.userId, hashes, now)
    markTwoFactorVerified(db, principal.sessionId, now)
    recordAudit(db, { action: 'two_factor_enabled', actorUserId: principal.userId, subjectUserId: principal.userId, ip }, now)
  }, { behavior: 'immediate' })
  memory.lastStep.set(principal.userId, check.step)
  memory.pending.delete(principal.sessionId)
  return { ok: true, value: { codes } }
}

// ── changes once it is on ────────────────────────────────────────────────

/**
 * Turns two-factor authentication off: needs the current password and a code (or a recovery code);
 * refused while one of the user's workspaces requires it. Recovery codes are deleted.
 */
export async function disableTwoFactor (deps: D, memory: TwoFactorMemory, principal: Principal, input: { current: string, code: string }, ip: string | undefined): Promise<Result<null>> {
  if (workspacesRequiringTwoFactor(deps.db, principal.userId).length > 0) return { ok: false, errors: { form: 'twoFactor.disable.required' } }
  const errors: FieldErrors = {}
  if (!await passwordMatches(deps.db, principal.userId, input.current)) errors.current = 'auth.current.wrong'
  const state = findTwoFactorState(deps.db, principal.userId)
  if (state?.totpEnabledAt == null || state.totpSecret === null) return { ok: false, errors: { form: 'twoFactor.notOn' } }
  const check = checkCode(deps, memory, principal.userId, state.totpSecret, input.code, true)
  if (!check.ok) errors.code = normalise(input.code) === '' ? 'twoFactor.code.required' : check.reason === 'replayed' ? 'twoFactor.code.replayed' : 'twoFactor.code.wrong'
  if (Object.keys(errors).length > 0 || !check.ok) return { ok: false, errors }
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    saveTwoFactorState(db, principal.userId, { totpSecret: null, totpEnabledAt: null }, now)
    replaceRecoveryCodes(db, principal.userId, [], now)
    recordAudit(db, { action: 'two_factor_disabled', actorUserId: principal.userId, subjectUserId: principal.userId, ip, details: { with: check.kind } }, now)
  }, { behavior: 'immediate' })
  if (check.kind === 'totp') memory.lastStep.set(principal.userId, check.step)
  return { ok: true, value: null }
}

/** Replaces the recovery codes with 10 new ones (current password required); the old ones stop working. */
export async function regenerateRecoveryCodes (deps: D, principal: Principal, current: string, ip: string | undefined): Promise<Result<{ codes: string[] }>> {
  if (!await passwordMatches(deps.db, principal.userId, current)) return { ok: false, errors: { current: 'auth.current.wrong' } }
  const state = findTwoFactorState(deps.db, principal.userId)
  if (state?.totpEnabledAt == null) return { ok: false, errors: { form: 'twoFactor.notOn' } }
  const { codes, hashes } = newRecoveryCodes()
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    replaceRecoveryCodes(db, principal.userId, hashes, now)
    recordAudit(db, { action: 'recovery_codes_regenerated', actorUserId: principal.userId, subjectUserId: principal.userId, ip }, now)
  }, { behavior: 'immediate' })
  return { ok: true, value: { codes } }
}

// ── the sign-in step ─────────────────────────────────────────────────────

export type SignInOutcome =
  | { ok: true, usedRecoveryCode: boolean, recoveryCodesLeft: number }
  | { ok: false, reason: 'wrong' | 'replayed' | 'empty' }
  | { ok: false, reason: 'throttled', retryAt: number }
  | { ok: false, reason: 'ended' }

/**
 * The second step of signing in. On success the session passes two-factor authentication and the
 * sign-in is audited ('login', plus 'recovery_code_used' when one was spent). After the fifth wrong
 * code in 15 minutes the session is ended ('ended'); the account throttle may refuse before checking.
 */
export function verifySignInCode (deps: D, memory: TwoFactorMemory, principal: Principal, code: string, ip: string | undefined): SignInOutcome {
  const now = deps.clock.now()
  const throttleKey = `two-factor:${principal.userId}`
  const until = blockedUntil(deps.db, throttleKey, now)
  if (until !== undefined) return { ok: false, reason: 'throttled', retryAt: until }
  if (normalise(code) === '') return { ok: false, reason: 'empty' }
  const state = findTwoFactorState(deps.db, principal.userId)
  if (state?.totpEnabledAt == null || state.totpSecret === null) {
    // Two-factor authentication was turned off meanwhile (e.g. by an admin tool): nothing to check.
    deps.db.transaction((db) => {
      markTwoFactorVerified(db, principal.sessionId, now)
      recordAudit(db, { action: 'login', actorUserId: principal.userId, subjectUserId: principal.userId, ip }, now)
    }, { behavior: 'immediate' })
    return { ok: true, usedRecoveryCode: false, recoveryCodesLeft: 0 }
  }
  const check = checkCode(deps, memory, principal.userId, state.totpSecret, code, true)
  if (!check.ok) {
    if (check.reason === 'replayed') return { ok: false, reason: 'replayed' }
    memory.prune(now)
    const previous = memory.failures.get(principal.sessionId)
    const failures = previous === undefined || now - previous.since >= failureWindowMs ? { count: 1, since: now } : { count: previous.count + 1, since: previous.since }
    memory.failures.set(principal.sessionId, failures)
    const ended = failures.count >= maxFailuresPerSession
    deps.db.transaction((db) => {
      recordFailure(db, throttleKey, 'account', now)
      recordAudit(db, { action: 'login_failed', subjectUserId: principal.userId, ip, details: { step: 'two_factor', sessionEnded: ended } }, now)
      if (ended) endSession(db, principal.sessionId)
    }, { behavior: 'immediate' })
    if (ended) memory.failures.delete(principal.sessionId)
    return { ok: false, reason: ended ? 'ended' : 'wrong' }
  }
  const left = deps.db.transaction((db) => {
    if (check.kind === 'recovery' && !markRecoveryCodeUsed(db, principal.userId, check.id, now)) return undefined
    markTwoFactorVerified(db, principal.sessionId, now)
    clearFailures(db, throttleKey)
    recordAudit(db, { action: 'login', actorUserId: principal.userId, subjectUserId: principal.userId, ip, details: { secondFactor: check.kind } }, now)
    if (check.kind === 'recovery') recordAudit(db, { action: 'recovery_code_used', actorUserId: principal.userId, subjectUserId: principal.userId, ip }, now)
    return check.kind === 'recovery' ? countUnusedRecoveryCodes(db, principal.userId) : -1
  }, { behavior: 'immediate' })
  if (left === undefined) return { ok: false, reason: 'wrong' }
  if (check.kind === 'totp') memory.lastStep.set(principal.userId, check.step)
  memory.failures.delete(principal.sessionId)
  return { ok: true, usedRecoveryCode: check.kind === 'recovery', recoveryCodesLeft: Math.max(left, 0) }
}

// A person's own account: name and preferences, email and password changes (both need the current
// password, SECURITY.md A11; the rules and emails live in the auth feature), and the sessions page —
// every device signed in, with "sign out" per device and "log out everywhere else" (A5).
import type { Deps } from '../../deps.js'
import { sha256Hex, timingSafeEqualStr } from '../../platform/crypto/index.js'
import { NotFoundError } from '../../platform/http/errors.js'
import type { Principal } from '../../platform/http/access.js'
import { recordAudit } from '../audit/audit.service.js'
import { changePassword, requestEmailChange, updateName, type FieldErrors, type Result } from '../auth/auth.service.js'
import { endSession, endUserSessions, listUserSessions } from '../auth/sessions.service.js'
import { findPreferences, savePreferences } from './account.store.js'
import { twoFactorStatus, type TwoFactorMemory, type TwoFactorStatus } from './two-factor.service.js'
import { describeDevice } from './user-agent.js'

export type { FieldErrors, Result }

type D = Pick<Deps, 'db' | 'clock' | 'config' | 'i18n' | 'views' | 'log' | 'events'>

// ── profile ──────────────────────────────────────────────────────────────

export interface Choice { value: string, label: string }

export interface ProfileView {
  name: string
  email: string
  emailVerified: boolean
  locale: string
  timeZone: string
  locales: Choice[]
  timeZones: string[]
  defaultTimeZone: string
}

let zones: string[] | undefined

/** Every IANA time zone this runtime knows, UTC first. */
export function timeZones (): string[] {
  zones ??= ['UTC', ...Intl.supportedValuesOf('timeZone').filter(z => z !== 'UTC')]
  return zones
}

function languageName (code: string): string {
  let name: string | undefined
  try { name = new Intl.DisplayNames([code], { type: 'language' }).of(code) } catch { name = undefined }
  const label = name ?? code
  return label.slice(0, 1).toLocaleUpperCase(code) + label.slice(1)
}

/** What the profile page shows: the user's name, address and preferences with their choices. */
export function profileView (deps: Pick<Deps, 'db' | 'i18n' | 'config'>, principal: Principal): ProfileView {
  const prefs = findPreferences(deps.db, principal.userId)
  return {
    name: principal.name,
    email: principal.email,
    emailVerified: principal.emailVerified,
    locale: prefs?.locale ?? '',
    timeZone: prefs?.timeZone ?? '',
    locales: deps.i18n.locales.map(code => ({ value: code, label: languageName(code) })),
    timeZones: timeZones(),
    defaultTimeZone: deps.config.ui.default_time_zone
  }
}

class Invalid extends Error {}

export interface ProfileInput { name: string, locale: string, timeZone: string }

/**
 * Saves the name, language and time zone together (all or nothing). An empty language or time zone
 * means "automatic" (the browser's language, the instance's time zone).
 */
export function updateProfile (deps: Pick<Deps, 'db' | 'clock' | 'i18n'>, userId: string, input: ProfileInput): Result<null> {
  const errors: FieldErrors = {}
  if (input.locale !== '' && !deps.i18n.locales.includes(input.locale)) errors.locale = 'account.locale.invalid'
  if (input.timeZone !== '' && !timeZones().includes(input.timeZone)) errors.timeZone = 'account.timeZone.invalid'
  const now = deps.clock.now()
  try {
    deps.db.transaction((db) => {
      const named = updateName({ db, clock: deps.clock }, userId, input.name)
      if (!named.ok) Object.assign(errors, named.errors)
      if (Object.keys(errors).length > 0) throw new Invalid()
      savePreferences(db, userId, { locale: input.locale === '' ? null : input.locale, timeZone: input.timeZone === '' ? null : input.timeZone }, now)
    }, { behavior: 'immediate' })
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, errors }
    throw err
  }
  return { ok: true, value: null }
}

/**
 * Starts an email change (current password required): the new address gets a confirmation link,
 * and the address changes only when it is followed; the old address is told then.
 */
export async function startEmailChange (deps: D, userId: string, input: { email: string, current: string }, ip: string | undefined): Promise<Result<null>> {
  return requestEmailChange(deps, userId, { email: input.email, current: input.current }, ip)
}

/**
 * Changes the password (current one required). Every other session of the user ends; the caller then
 * gives this browser a new session token (SECURITY.md A3).
 */
export async function changeOwnPassword (deps: D, principal: Principal, input: { current: string, password: string }, ip: string | undefined): Promise<Result<null>> {
  return changePassword(deps, principal.userId, principal.sessionId, input, ip)
}

// ── sessions ─────────────────────────────────────────────────────────────

export interface SessionView {
  /** A stable handle for URLs; the session id itself (half of the cookie) never reaches a page. */
  handle: string
  current: boolean
  browser: string | undefined
  os: string | undefined
  kind: 'mobile' | 'desktop'
  ip: string | null
  createdAt: number
  lastSeenAt: number
  /** Signed in with the password but the second factor was not entered yet. */
  pendingSecondFactor: boolean
}

/** The URL handle of a session: derived from its id, not the id. */
export function sessionHandle (sessionId: string): string {
  return sha256Hex(`weltra-session-handle:${sessionId}`).slice(0, 32)
}

/** The user's sessions, this one first, then by last activity. */
export function listSessions (deps: Pick<Deps, 'db'>, principal: Principal): SessionView[] {
  const rows = listUserSessions(deps.db, principal.userId)
  const views = rows.map(s => {
    const device = describeDevice(s.userAgent)
    return {
      handle: sessionHandle(s.id),
      current: s.id === principal.sessionId,
      browser: device.browser,
      os: device.os,
      kind: device.kind,
      ip: s.ip,
      createdAt: s.createdAt,
      lastSeenAt: s.id === principal.sessionId ? Math.max(s.lastSeenAt, s.createdAt) : s.lastSeenAt,
      pendingSecondFactor: !s.twoFactorVerified
    }
  })
  return [...views.filter(v => v.current), ...views.filter(v => !v.current)]
}

/**
 * Ends one of the user's own sessions, found by its handle. Another user's (or an unknown) handle is a
 * NotFoundError. Returns whether it was the current session (the caller then clears the cookie).
 */
export function revokeSession (deps: Pick<Deps, 'db' | 'clock'>, principal: Principal, handle: string, ip: string | undefined): { current: boolean } {
  const target = listUserSessions(deps.db, principal.userId).find(s => timingSafeEqualStr(sessionHandle(s.id), handle))
  if (target === undefined) throw new NotFoundError()
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    endSession(db, target.id)
    recordAudit(db, { action: 'logout', actorUserId: principal.userId, subjectUserId: principal.userId, ip, details: { device: describeLabel(target.userAgent), remote: target.id !== principal.sessionId } }, now)
  }, { behavior: 'immediate' })
  return { current: target.id === principal.sessionId }
}

function describeLabel (userAgent: string): string {
  const d = describeDevice(userAgent)
  return [d.browser ?? '?', d.os ?? '?'].join(' / ')
}

/** "Log out everywhere else": ends every session of the user but this one; returns how many ended. */
export function revokeOtherSessions (deps: Pick<Deps, 'db' | 'clock'>, principal: Principal, ip: string | undefined): number {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const ended = endUserSessions(db, principal.userId, principal.sessionId)
    recordAudit(db, { action: 'logout_everywhere', actorUserId: principal.userId, subjectUserId: principal.userId, ip, details: { sessions: ended } }, now)
    return ended
  }, { behavior: 'immediate' })
}

/** Everything the security page shows: the sessions and the two-factor section. */
export function securityOverview (deps: Pick<Deps, 'db' | 'clock'>, memory: TwoFactorMemory, principal: Principal): { sessions: SessionView[], twoFactor: TwoFactorStatus } {
  return { sessions: listSessions(deps, principal), twoFactor: twoFactorStatus(deps, memory, principal) }
}

// Sessions following the Lucia guide's design, in our own code. The cookie holds "<id>.<secret>"; the
// database holds only SHA-256(secret), compared in constant time. Sessions end after an idle period or
// an absolute lifetime (config [session]), both enforced here; activity is recorded at most hourly.
// Cookies are HttpOnly, SameSite=Lax, and on HTTPS Secure with the __Host- prefix.
import type {} from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config/load-config.js'
import type { Db } from '../../db/open.js'
import { randomToken, sha256Hex, timingSafeEqualStr } from '../../platform/crypto/index.js'
import type { Principal } from '../../platform/http/access.js'
import { findMembership, listMemberships } from '../workspaces/workspaces.service.js'
import { deleteSession, deleteUserSessions, findSession, insertSession, listUserSessions, updateSession, type Session } from './sessions.store.js'
import { findUserById } from './users.store.js'

export type { Session }
export { listUserSessions }

const hour = 3_600_000
const plainCookie = 'weltra_session'
const secureCookie = '__Host-weltra_session'

export interface Timeouts { idleMs: number, absoluteMs: number }

/** The session timeouts from the configuration. */
export function timeoutsOf (config: Config): Timeouts {
  return { idleMs: config.session.idle_timeout_minutes * 60_000, absoluteMs: config.session.absolute_timeout_days * 86_400_000 }
}

export interface NewSession { userId: string, workspaceId?: string | null, twoFactorVerified: boolean, userAgent?: string, ip?: string }

/** Creates a session and returns its token (shown to the browser once, never stored). */
export function createSession (db: Db, input: NewSession, now: number): { token: string, id: string } {
  const id = randomToken(15)
  const secret = randomToken(20)
  insertSession(db, {
    id,
    secretHash: sha256Hex(secret),
    userId: input.userId,
    workspaceId: input.workspaceId ?? null,
    twoFactorVerified: input.twoFactorVerified,
    reauthenticatedAt: now,
    userAgent: (input.userAgent ?? '').slice(0, 300),
    ip: input.ip ?? null,
    createdAt: now,
    lastSeenAt: now
  })
  return { token: `${id}.${secret}`, id }
}

/**
 * The live session for a token, or undefined (and deleted) when it is unknown, forged, idle too long or
 * past its absolute lifetime. Records activity when the last record is over an hour old.
 */
export function validateSessionToken (db: Db, token: string, now: number, timeouts: Timeouts): Session | undefined {
  const [id, secret, extra] = token.split('.')
  if (id === undefined || secret === undefined || extra !== undefined || id.length > 64 || secret.length > 64) return undefined
  const session = findSession(db, id)
  if (session === undefined) return undefined
  if (!timingSafeEqualStr(sha256Hex(secret), session.secretHash)) return undefined
  if (now - session.lastSeenAt >= timeouts.idleMs || now - session.createdAt >= timeouts.absoluteMs) {
    deleteSession(db, id)
    return undefined
  }
  if (now - session.lastSeenAt >= hour) {
    updateSession(db, id, { lastSeenAt: now })
    session.lastSeenAt = now
  }
  return session
}

/** Ends one session. */
export function endSession (db: Db, id: string): void {
  deleteSession(db, id)
}

/** Ends every session of a user (password reset, account changes), or every other one (`keep`). */
export function endUserSessions (db: Db, userId: string, keep?: string): number {
  return deleteUserSessions(db, userId, keep)
}

/** Marks the password (or second factor) as just entered, for sensitive changes that need recency. */
export function markReauthenticated (db: Db, sessionId: string, now: number): void {
  updateSession(db, sessionId, { reauthenticatedAt: now })
}

/** Switches the session's active workspace (the caller has checked membership). */
export function setActiveWorkspace (db: Db, sessionId: string, workspaceId: string): void {
  updateSession(db, sessionId, { workspaceId })
}

/** Records that the second factor was entered. */
export function markTwoFactorVerified (db: Db, sessionId: string, now: number): void {
  updateSession(db, sessionId, { twoFactorVerified: true, reauthenticatedAt: now })
}

/** The session cookie's name for a request (the __Host- prefix needs HTTPS). */
export function cookieName (req: FastifyRequest): string {
  return req.protocol === 'https' ? secureCookie : plainCookie
}

/** Sets the session cookie, valid until the session's absolute end. */
export function setSessionCookie (req: FastifyRequest, reply: FastifyReply, token: string, timeouts: Timeouts): void {
  const secure = req.protocol === 'https'
  reply.setCookie(cookieName(req), token, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: Math.floor(timeouts.absoluteMs / 1000) })
}

/** Removes the session cookie. */
export function clearSessionCookie (req: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(cookieName(req), { path: '/', httpOnly: true, sameSite: 'lax', secure: req.protocol === 'https' })
}

/** The request's session token, if it sent one. */
export function readSessionToken (req: FastifyRequest): string | undefined {
  const value = req.cookies[cookieName(req)]
  return value === undefined || value === '' ? undefined : value
}

/** Builds the `authenticate` function the access hook calls on every request. */
export function sessionAuthenticator (deps: { db: Db, config: Config, clock: { now: () => number } }): (req: FastifyRequest, reply: FastifyReply) => Principal | undefined {
  const timeouts = timeoutsOf(deps.config)
  return (req, reply) => {
    const token = readSessionToken(req)
    if (token === undefined) return undefined
    const session = validateSessionToken(deps.db, token, deps.clock.now(), timeouts)
    const user = session === undefined ? undefined : findUserById(deps.db, session.userId)
    if (session === undefined || user === undefined) {
      clearSessionCookie(req, reply)
      return undefined
    }
    const workspaces = listMemberships(deps.db, user.id)
    let active = session.workspaceId === null ? undefined : findMembership(deps.db, session.workspaceId, user.id)
    if (active === undefined && workspaces.length > 0) {
      active = workspaces[0]
      setActiveWorkspace(deps.db, session.id, active!.id)
    }
    return {
      sessionId: session.id,
      userId: user.id,
      name: user.name,
      email: user.email,
      twoFactorVerified: session.twoFactorVerified,
      twoFactorEnabled: user.totpEnabledAt !== null,
      reauthenticatedAt: session.reauthenticatedAt,
      emailVerified: user.emailVerifiedAt !== null,
      isInstanceOwner: user.isInstanceOwner,
      locale: user.locale,
      timeZone: user.timeZone,
      workspace: active,
      workspaces: workspaces.map(w => ({ id: w.id, slug: w.slug, name: w.name, role: w.role }))
    }
  }
}

/**
 * Signs a user in on this browser: any session the request already carried is ended (no fixation), a
 * new one is created and its cookie set. Records the sign-in.
 */
export function startSession (deps: { db: Db, config: Config, clock: { now: () => number } }, req: FastifyRequest, reply: FastifyReply, input: { userId: string, twoFactorVerified: boolean, workspaceId?: string | null }): string {
  const now = deps.clock.now()
  // Without an explicit workspace, continue in the one this person used last (on any device).
  const workspaceId = input.workspaceId ?? listUserSessions(deps.db, input.userId)[0]?.workspaceId ?? null
  const old = readSessionToken(req)
  if (old !== undefined) {
    const id = old.split('.')[0]
    if (id !== undefined && id !== '') endSession(deps.db, id)
  }
  const { token, id } = createSession(deps.db, { ...input, workspaceId, userAgent: String(req.headers['user-agent'] ?? ''), ip: req.ip }, now)
  setSessionCookie(req, reply, token, timeoutsOf(deps.config))
  return id
}

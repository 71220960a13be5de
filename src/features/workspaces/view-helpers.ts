// Small helpers the workspace pages share: who is acting, avatars, success notices after a redirect.
import type { FastifyRequest } from 'fastify'
import type { Flash } from '../../platform/http/render.js'
import { initials } from '../../platform/http/render.js'
import type { Actor } from './team.service.js'

/** The acting member: the session's user in the session's active workspace (the access hook checked both). */
export function actorOf (req: FastifyRequest): Actor & { name: string, twoFactorEnabled: boolean } {
  const p = req.principal!
  const ws = p.workspace!
  return { userId: p.userId, sessionId: p.sessionId, workspaceId: ws.id, role: ws.role, ip: req.ip, name: p.name, twoFactorEnabled: p.twoFactorEnabled }
}

/** Initials and one of the eight avatar colours, derived from the email as the app shell does. */
export function avatar (name: string, seed: string): { initials: string, colour: number } {
  let colour = 0
  for (let i = 0; i < seed.length; i++) colour = (colour * 31 + seed.charCodeAt(i)) % 8
  return { initials: initials(name), colour }
}

/** A query string value ('' when absent or repeated). */
export function queryValue (req: FastifyRequest, name: string, maxLength = 500): string {
  const v = (req.query as Record<string, unknown> | undefined)?.[name]
  return typeof v === 'string' ? v.slice(0, maxLength) : ''
}

const notices = new Set(['created', 'switched', 'left', 'renamed', 'twoFactorOn', 'twoFactorOff', 'invited', 'revoked', 'roleChanged', 'removed', 'joined'])

/** The success notice named by `?done=` after a redirect (only known names; anything else shows nothing). */
export function doneFlash (req: FastifyRequest): Flash[] {
  const done = queryValue(req, 'done', 40)
  return notices.has(done) ? [{ kind: 'success', message: req.t(`workspaces.done.${done}`) }] : []
}

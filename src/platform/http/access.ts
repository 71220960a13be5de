// Enforces each route's policy (see policy.ts) on every request, before the body is read:
// authentication through the injected `authenticate` (the session feature), the role in the active
// workspace, a workspace's two-factor requirement, and CSRF protection for unsafe methods.
//
// CSRF: browsers send Sec-Fetch-Site on requests to trustworthy origins (https, localhost); when it is
// present only "same-origin" passes. On plain-http LAN installs it is absent, so the Origin header must
// then equal this server's own origin (as the browser addressed it) or the configured public URL. A
// request with neither header is refused. Webhook routes are exempt: they are authenticated by HMAC.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ForbiddenError, UnauthorizedError } from './errors.js'
import { roleAtLeast, type Policy, type Role } from './policy.js'

export interface WorkspaceAccess { id: string, slug: string, name: string, role: Role, requireTwoFactor: boolean }

/** Who is making the request, as established by the session feature. */
export interface Principal {
  sessionId: string
  userId: string
  name: string
  email: string
  twoFactorVerified: boolean
  twoFactorEnabled: boolean
  /** When the password or second factor was last entered in this session (step-up for sensitive changes). */
  reauthenticatedAt: number
  emailVerified: boolean
  isInstanceOwner: boolean
  /** The language and time zone the user chose; null: follow the browser / the instance default. */
  locale: string | null
  timeZone: string | null
  /** The active workspace, present only when the user is (still) a member of it. */
  workspace: WorkspaceAccess | undefined
  workspaces: Array<Omit<WorkspaceAccess, 'requireTwoFactor'>>
}

export interface AccessOptions {
  /** Reads and validates the session cookie (renewing it when due); undefined when not signed in. */
  authenticate: (req: FastifyRequest, reply: FastifyReply) => Principal | undefined
  /** The configured public origin, e.g. "https://crm.example.com". */
  publicOrigin: string
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, when there is one. */
    principal: Principal | undefined
  }
}

const unsafe = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** Refuses a cross-site unsafe request; returns a reason, or undefined when the request may proceed. */
export function csrfProblem (req: FastifyRequest, publicOrigin: string): string | undefined {
  const site = req.headers['sec-fetch-site']
  if (typeof site === 'string') return site === 'same-origin' ? undefined : `sec-fetch-site ${site}`
  const origin = req.headers.origin
  if (typeof origin !== 'string') return 'no origin'
  const own = `${req.protocol}://${req.host}`
  return origin === own || origin === publicOrigin ? undefined : 'foreign origin'
}

function wantsRedirect (req: FastifyRequest): boolean {
  return req.method === 'GET' || req.method === 'HEAD'
}

function redirect (req: FastifyRequest, reply: FastifyReply, to: string): FastifyReply {
  if (req.headers['hx-request'] === 'true') return reply.code(204).header('hx-redirect', to).send()
  return reply.redirect(to, 303)
}

/** Installs the access hook. Must be registered before the routes it protects. */
export function installAccessControl (app: FastifyInstance, options: AccessOptions): void {
  app.decorateRequest('principal', undefined)
  app.addHook('onRequest', async (req, reply) => {
    const policy: Policy | undefined = req.routeOptions.config?.policy
    if (policy === undefined || policy === 'webhook') return // unknown routes are 404s; webhooks authenticate themselves
    if (unsafe.has(req.method)) {
      const problem = csrfProblem(req, options.publicOrigin)
      if (problem !== undefined) {
        req.log.warn({ problem }, 'cross-site request refused')
        throw new ForbiddenError('errors.csrf.text')
      }
    }
    if (policy === 'anonymous') return
    const principal = options.authenticate(req, reply)
    req.principal = principal
    if (policy === 'public') return

    if (principal === undefined) {
      if (wantsRedirect(req)) return redirect(req, reply, `/login?next=${encodeURIComponent(req.url)}`)
      throw new UnauthorizedError()
    }
    if (policy === 'two-factor') return
    if (!principal.twoFactorVerified) return redirect(req, reply, '/login/two-factor')
    if (policy === 'signed-in') return

    const ws = principal.workspace
    if (ws === undefined) {
      if (wantsRedirect(req)) return redirect(req, reply, principal.workspaces.length > 0 ? '/workspaces' : '/workspaces/new')
      throw new ForbiddenError('errors.noWorkspace.text')
    }
    if (ws.requireTwoFactor && !principal.twoFactorEnabled) {
      if (wantsRedirect(req)) return redirect(req, reply, '/settings/security?required=1')
      throw new ForbiddenError('errors.twoFactorRequired.text')
    }
    if (!roleAtLeast(ws.role, policy)) throw new ForbiddenError('errors.forbidden.text')
  })
}

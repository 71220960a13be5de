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
import { apiRole, roleAtLeast, type Policy, type Role } from './policy.js'

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

/** Who an API request acts as: an API key of a workspace, with its role. */
export interface ApiPrincipal { keyId: string, name: string, workspaceId: string, workspaceSlug: string, role: 'agent' | 'admin' }

export interface AccessOptions {
  /** Reads and validates the session cookie (renewing it when due); undefined when not signed in. */
  authenticate: (req: FastifyRequest, reply: FastifyReply) => Principal | undefined
  /** Checks an API key (the bearer token); undefined for an unknown, malformed or revoked one. */
  authenticateApiKey: (token: string) => ApiPrincipal | undefined
  /** The configured public origin, e.g. "https://crm.example.com". */
  publicOrigin: string
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, when there is one. */
    principal: Principal | undefined
    /** The API key a request to the public API authenticated with (api: policies only). */
    apiPrincipal: ApiPrincipal | undefined
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken (req: FastifyRequest): string | undefined {
  const header = req.headers.authorization
  if (typeof header !== 'string') return undefined
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  return m?.[1]
}

/** The API's own 401: the challenge says which scheme, and why when a token was given (RFC 6750). */
export class ApiUnauthorizedError extends UnauthorizedError {
  override name = 'ApiUnauthorizedError'
  constructor (readonly given: boolean) { super(given ? 'api.errors.invalidKey' : 'api.errors.noKey') }
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
  app.decorateRequest('apiPrincipal', undefined)
  app.addHook('onRequest', async (req, reply) => {
    const policy: Policy | undefined = req.routeOptions.config?.policy
    if (policy === undefined || policy === 'webhook') return // unknown routes are 404s; webhooks authenticate themselves
    const needs = apiRole(policy)
    if (needs !== undefined) {
      // The public API: a bearer token, never the cookie (so no CSRF check: a browser cannot attach it).
      const token = bearerToken(req)
      const key = token === undefined ? undefined : options.authenticateApiKey(token)
      if (key === undefined) {
        reply.header('www-authenticate', token === undefined ? 'Bearer realm="weltra"' : 'Bearer realm="weltra", error="invalid_token"')
        throw new ApiUnauthorizedError(token !== undefined)
      }
      req.apiPrincipal = key
      if (needs === 'admin' && key.role !== 'admin') throw new ForbiddenError('api.errors.adminKey')
      return
    }
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
    if (!roleAtLeast(ws.role, policy as Role)) throw new ForbiddenError('errors.forbidden.text')
  })
}

// Every route declares who may use it, in its options: `config: { policy: '…' }`. The app refuses to
// start when a route has none or an unknown one, so nothing is reachable by accident.
//   anonymous         anyone, and the session is never looked at (static files, health checks)
//   public            anyone (sign-in pages, emailed links); the signed-in user is known if any
//   webhook           no session and no CSRF check: the handler authenticates the caller (Meta's HMAC)
//   two-factor        a session that passed the password but not yet the second factor (the 2FA step)
//   signed-in         any signed-in user (second factor done), with or without a workspace
//   agent|admin|owner a member of the active workspace with at least that role (owner > admin > agent)
//   api:agent|api:admin  the public API (/api/v1): an API key (Authorization: Bearer) of at least that
//                     role; the session cookie is never looked at, so there is nothing to forge (no CSRF)
import type { FastifyInstance, RouteOptions } from 'fastify'

export const policies = ['anonymous', 'public', 'webhook', 'two-factor', 'signed-in', 'agent', 'admin', 'owner', 'api:agent', 'api:admin'] as const
export type Policy = typeof policies[number]
export type Role = 'owner' | 'admin' | 'agent'

export const roleRank: Record<Role, number> = { agent: 1, admin: 2, owner: 3 }

/** The API key role an `api:` policy requires, or undefined for the other policies. */
export function apiRole (policy: Policy): 'agent' | 'admin' | undefined {
  return policy === 'api:agent' ? 'agent' : policy === 'api:admin' ? 'admin' : undefined
}

/** Whether `role` is at least `required`. */
export function roleAtLeast (role: Role, required: Role): boolean {
  return roleRank[role] >= roleRank[required]
}

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: Policy
  }
}

export class PolicyError extends Error {
  override name = 'PolicyError'
}

export interface RouteEntry { method: string, url: string, policy: Policy }

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its policy, in registration order (the generated authorization tests read it). */
    routeTable: RouteEntry[]
  }
}

/** Installs the start-time check that every route declares a known policy, and records the route table. */
export function requirePolicies (app: FastifyInstance): void {
  const table: RouteEntry[] = []
  app.decorate('routeTable', table)
  app.addHook('onRoute', (route: RouteOptions) => {
    const policy = (route.config as { policy?: unknown } | undefined)?.policy
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method
    if (policy === undefined) throw new PolicyError(`route ${methods} ${route.url} declares no access policy (config.policy)`)
    if (!(policies as readonly unknown[]).includes(policy)) throw new PolicyError(`route ${methods} ${route.url} declares an unknown policy ${String(policy)}`)
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) table.push({ method, url: route.url, policy: policy as Policy })
  })
}

// Every route declares who may use it, in its options: `config: { policy: 'public' }`. The app refuses
// to start when a route has none, so nothing is reachable by accident. Policies:
//   public   anyone (health checks, static files, the first-run and login pages)
//   webhook  no session or CSRF; the handler authenticates the caller itself (Meta's HMAC signature)
// Policies that need a signed-in user are added with the session layer; until then declaring one fails
// closed at start.
import type { FastifyInstance, RouteOptions } from 'fastify'

export const policies = ['public', 'webhook'] as const
export type Policy = typeof policies[number]

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: Policy
  }
}

export class PolicyError extends Error {
  override name = 'PolicyError'
}

/** Installs the start-time check that every route declares a known policy. */
export function requirePolicies (app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const policy = (route.config as { policy?: unknown } | undefined)?.policy
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method
    if (policy === undefined) throw new PolicyError(`route ${methods} ${route.url} declares no access policy (config.policy)`)
    if (!(policies as readonly unknown[]).includes(policy)) throw new PolicyError(`route ${methods} ${route.url} declares an unknown policy ${String(policy)}`)
  })
}

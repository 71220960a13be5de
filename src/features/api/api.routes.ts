// The public API's description: the OpenAPI 3.1 document (/api/v1/openapi.json, for tools and client
// generators) and a readable reference page (/api/v1/docs), both built from the routes' own schemas
// (platform/http/openapi.ts). Neither holds anything secret, so both are public.
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { publicUrl } from '../../config/load-config.js'
import { apiRequestsPerMinute } from '../../platform/http/api.js'
import { apiPrefix, openApiDocument } from '../../platform/http/openapi.js'
import { referenceOf } from './reference.js'
import { hookWebhooksDocument } from '../hooks/hooks.api.js'

export async function apiRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  let document: Record<string, unknown> | undefined
  // Built once, on first use: every route is registered by then (the app is listening).
  // The outgoing webhooks' events are described in the document's 3.1 `webhooks` object.
  const doc = (): Record<string, unknown> => (document ??= { ...openApiDocument(app, { version: deps.assets.version, serverUrl: publicUrl(deps.config) }), webhooks: hookWebhooksDocument() })

  app.get(`${apiPrefix}/openapi.json`, { config: { policy: 'anonymous' } }, async (_req, reply) => {
    return reply.header('cache-control', 'no-store').header('access-control-allow-origin', '*').type('application/json; charset=utf-8').send(JSON.stringify(doc(), null, 2))
  })

  app.get(`${apiPrefix}/docs`, { config: { policy: 'public' } }, async (_req, reply) => {
    return reply.page('api/docs', { titleKey: 'api.docs.title', reference: referenceOf(doc()), serverUrl: publicUrl(deps.config), perMinute: apiRequestsPerMinute })
  })
}

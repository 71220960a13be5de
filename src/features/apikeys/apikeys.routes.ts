// API keys, under Settings (admins and owners).
//
//   GET  /settings/api-keys                   admin  the keys (revoked ones greyed) and the "new key" form
//   POST /settings/api-keys                   admin  create (name, role) → the token, shown once (this response only)
//   GET  /settings/api-keys/:keyId/revoke     admin  confirmation page, for browsers without JavaScript (else a dialog)
//   POST /settings/api-keys/:keyId/revoke     admin  revoke → the list
// Another workspace's id answers 404, exactly like an unknown one. The token is never in a URL, a
// redirect or a page that can be fetched again: only in the POST's own response, marked no-store.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { publicUrl } from '../../config/load-config.js'
import type { Deps } from '../../deps.js'
import { field, messages } from '../../platform/http/forms.js'
import type { Flash } from '../../platform/http/render.js'
import { apiKey, apiKeyRoles, createApiKey, listApiKeys, maxActiveKeys, nameMaxLength, revokeApiKey, type ApiKeyActor } from './apikeys.service.js'

const notices = new Set(['created', 'revoked'])

function actorOf (req: FastifyRequest): ApiKeyActor {
  const p = req.principal!
  return { userId: p.userId, workspaceId: p.workspace!.id, ip: req.ip }
}

function doneFlash (req: FastifyRequest): Flash[] {
  const done = (req.query as Record<string, unknown> | undefined)?.done
  return typeof done === 'string' && notices.has(done) ? [{ kind: 'success', message: req.t(`apikeys.done.${done}`) }] : []
}

export async function apiKeysRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  function listPage (req: FastifyRequest, data: Record<string, unknown> = {}): Record<string, unknown> {
    const keys = listApiKeys(deps, actorOf(req).workspaceId)
    const active = keys.filter(k => k.revokedAt === null).length
    return {
      titleKey: 'settingsNav.apiKeys',
      nav: 'settings',
      tab: 'apiKeys',
      keys,
      active,
      limits: { name: nameMaxLength, active: maxActiveKeys },
      roles: apiKeyRoles,
      values: { role: 'agent' },
      errors: {},
      ...data
    }
  }

  app.get('/settings/api-keys', { config: { policy: 'admin' } }, async (req, reply) => {
    return reply.page('settings/api-keys', listPage(req, { flash: doneFlash(req) }))
  })

  app.post('/settings/api-keys', { config: { policy: 'admin', rateLimit: { max: 30, timeWindow: 60_000 } } }, async (req, reply) => {
    const values = { name: field(req, 'name', 500), role: field(req, 'role', 20) }
    const result = createApiKey(deps, actorOf(req), values)
    if (!result.ok) return reply.code(422).page('settings/api-keys', listPage(req, { values, errors: messages(req.t, result.errors), formOpen: true }))
    // The one and only time the token is shown: never cached, never sent to another site.
    reply.header('referrer-policy', 'no-referrer')
    return reply.page('settings/api-keys-created', { titleKey: 'apikeys.created.title', nav: 'settings', tab: 'apiKeys', key: result.key, token: result.token, apiBase: `${publicUrl(deps.config)}/api/v1` })
  })

  app.get('/settings/api-keys/:keyId/revoke', { config: { policy: 'admin' } }, async (req, reply) => {
    const key = apiKey(deps, actorOf(req).workspaceId, (req.params as { keyId: string }).keyId)
    return reply.page('settings/api-keys-revoke', { titleKey: 'apikeys.revoke.pageTitle', nav: 'settings', tab: 'apiKeys', key })
  })

  app.post('/settings/api-keys/:keyId/revoke', { config: { policy: 'admin' } }, async (req, reply) => {
    revokeApiKey(deps, actorOf(req), (req.params as { keyId: string }).keyId)
    return reply.redirect('/settings/api-keys?done=revoked', 303)
  })
}

// The inbox, where agents answer customers.
//
//   GET /inbox   the shared inbox of the active workspace
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'

export async function inboxRoutes (app: FastifyInstance, _deps: Deps): Promise<void> {
  app.get('/inbox', { config: { policy: 'agent' } }, async (_req, reply) => {
    return reply.page('inbox/index', { titleKey: 'inbox.title', nav: 'inbox' })
  })
}

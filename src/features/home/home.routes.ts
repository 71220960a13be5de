// The first page. Before any account exists it welcomes the admin with the instance's setup checklist.
//
//   GET /   welcome page with the setup checklist
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { setupChecklist } from './home.service.js'

export async function homeRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  app.get('/', { config: { policy: 'public' } }, async (req, reply) => {
    const { checks, instance } = setupChecklist(deps, req.t)
    return reply.page('home/welcome', { titleKey: 'welcome.title', checks, instance })
  })
}

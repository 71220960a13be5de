// The first page. Before any account exists it welcomes the admin with the instance's setup checklist.
//
//   GET /   before setup: welcome page with the setup checklist; afterwards the inbox or the sign-in page
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { setupChecklist } from './home.service.js'
import { setupOpen } from '../auth/auth.service.js'

export async function homeRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  app.get('/', { config: { policy: 'public' } }, async (req, reply) => {
    if (!setupOpen(deps)) return reply.redirect(req.principal === undefined ? '/login' : '/inbox', 303)
    const { checks, instance } = setupChecklist(deps, req.t)
    return reply.page('home/welcome', { titleKey: 'welcome.title', checks, instance })
  })
}

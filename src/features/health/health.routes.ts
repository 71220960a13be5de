// Liveness and readiness, for load balancers, Docker's HEALTHCHECK and `weltra healthcheck`.
//
//   GET /healthz   200 while the process is alive
//   GET /readyz    200 when the database accepts a durable write; 503 while shutting down or when it does not
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { checkDatabaseWritable } from './health.service.js'

export async function healthRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  const quiet = { config: { policy: 'anonymous' as const }, logLevel: 'warn' as const }

  app.get('/healthz', quiet, async (_req, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })

  app.get('/readyz', quiet, async (req, reply) => {
    reply.header('cache-control', 'no-store')
    if (deps.lifecycle.closing) return reply.code(503).send({ status: 'shutting_down' })
    const problem = checkDatabaseWritable(deps)
    if (problem !== undefined) {
      req.log.error({ problem }, 'readiness check failed')
      return reply.code(503).send({ status: 'unavailable', reason: 'database' })
    }
    return reply.send({ status: 'ready' })
  })
}

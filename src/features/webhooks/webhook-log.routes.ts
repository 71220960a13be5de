// The Webhook log (workspace admins): every stored delivery of the workspace's numbers with its
// processing state, the error of those that failed, and Replay. Payloads are never shown (they hold
// customers' messages); the error notes never contain payload content.
//
//   GET  /settings/webhooks                     the log (?status=failed|ignored|pending, ?before=<id>)
//   POST /settings/webhooks/:id/replay          replay one delivery
//   POST /settings/webhooks/replay-failed       replay every failed delivery
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { actorOf, queryValue } from '../workspaces/view-helpers.js'
import { recordAudit } from '../audit/audit.service.js'
import { processPendingBatch } from './webhook-processor.js'
import { queueReplay, webhookCounts, webhookLog } from './webhooks.service.js'

const pageSize = 50
const statuses = new Set(['failed', 'ignored', 'pending', 'processed'])

export async function webhookLogRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  app.get('/settings/webhooks', { config: { policy: 'admin' } }, async (req, reply) => {
    const actor = actorOf(req)
    const s = queryValue(req, 'status', 20)
    const status = statuses.has(s) ? s as 'failed' | 'ignored' | 'pending' | 'processed' : undefined
    const before = /^[0-9A-Z]{26}$/.test(queryValue(req, 'before', 40)) ? queryValue(req, 'before', 40) : undefined
    const rows = webhookLog(deps, actor.workspaceId, { status, before, limit: pageSize + 1 })
    const next = rows.length > pageSize ? rows[pageSize - 1]!.id : undefined
    const done = queryValue(req, 'done', 20)
    const replayed = Number.parseInt(queryValue(req, 'n', 10), 10)
    const flash = done === 'replayed' && Number.isFinite(replayed) ? [{ kind: 'success' as const, message: req.t('webhookLog.replayed', { count: replayed }) }] : []
    return reply.page('webhooks/log', {
      titleKey: 'webhookLog.title',
      nav: 'settings',
      tab: 'webhooks',
      flash,
      rows: rows.slice(0, pageSize),
      next,
      status: status ?? 'all',
      counts: webhookCounts(deps, actor.workspaceId),
      older: before !== undefined
    })
  })

  app.post('/settings/webhooks/replay-failed', { config: { policy: 'admin' } }, async (req, reply) => {
    const actor = actorOf(req)
    const n = queueReplay(deps, { workspaceId: actor.workspaceId })
    recordAudit(deps.db, { workspaceId: actor.workspaceId, actorUserId: actor.userId, action: 'webhooks_replayed', details: { count: n }, ip: actor.ip }, deps.clock.now())
    // Small replays finish before the page reloads; the processor takes the rest in the background.
    processPendingBatch(deps)
    return reply.redirect(`/settings/webhooks?done=replayed&n=${n}`, 303)
  })

  app.post('/settings/webhooks/:id/replay', { config: { policy: 'admin' } }, async (req, reply) => {
    const actor = actorOf(req)
    const { id } = req.params as { id: string }
    const n = /^[0-9A-Z]{26}$/.test(id) ? queueReplay(deps, { workspaceId: actor.workspaceId, id }) : 0
    if (n === 0) throw new NotFoundError()
    recordAudit(deps.db, { workspaceId: actor.workspaceId, actorUserId: actor.userId, action: 'webhooks_replayed', details: { count: 1 }, ip: actor.ip }, deps.clock.now())
    processPendingBatch(deps)
    return reply.redirect(`/settings/webhooks?done=replayed&n=${n}`, 303)
  })
}

// Canned responses, under Settings. Every member sees the list (agents use the responses in the
// composer); admins and owners create, edit and delete them.
//
//   GET  /settings/canned                      agent  the list (admins: with the "new" form)
//   POST /settings/canned                      admin  create (shortcut, body) → the list
//   GET  /settings/canned/:cannedId            admin  edit form (and delete, for browsers without JavaScript)
//   POST /settings/canned/:cannedId            admin  save changes → the list
//   POST /settings/canned/:cannedId/delete     admin  delete → the list
// Another workspace's id answers 404, exactly like an unknown one.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, messages } from '../../platform/http/forms.js'
import { roleAtLeast } from '../../platform/http/policy.js'
import type { Flash } from '../../platform/http/render.js'
import {
  bodyMaxLength, cannedResponse, cannedSegments, cannedVariables, createCannedResponse, deleteCannedResponse, listCannedResponses, shortcutMaxLength,
  updateCannedResponse, type CannedActor
} from './canned.service.js'

const notices = new Set(['created', 'saved', 'deleted'])

function actorOf (req: FastifyRequest): CannedActor & { role: 'owner' | 'admin' | 'agent' } {
  const p = req.principal!
  return { userId: p.userId, workspaceId: p.workspace!.id, role: p.workspace!.role, ip: req.ip }
}

function doneFlash (req: FastifyRequest): Flash[] {
  const done = (req.query as Record<string, unknown> | undefined)?.done
  return typeof done === 'string' && notices.has(done) ? [{ kind: 'success', message: req.t(`canned.done.${done}`) }] : []
}

export async function cannedRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  const limits = { shortcut: shortcutMaxLength, body: bodyMaxLength }

  function listPage (req: FastifyRequest, data: Record<string, unknown> = {}): Record<string, unknown> {
    const actor = actorOf(req)
    const items = listCannedResponses(deps, actor.workspaceId).map(c => ({ ...c, segments: cannedSegments(c.body) }))
    return {
      titleKey: 'settingsNav.canned',
      nav: 'settings',
      tab: 'canned',
      items,
      canManage: roleAtLeast(actor.role, 'admin'),
      variables: cannedVariables,
      limits,
      values: {},
      errors: {},
      ...data
    }
  }

  app.get('/settings/canned', { config: { policy: 'agent' } }, async (req, reply) => {
    return reply.page('settings/canned', listPage(req, { flash: doneFlash(req) }))
  })

  app.post('/settings/canned', { config: { policy: 'admin' } }, async (req, reply) => {
    const values = { shortcut: field(req, 'shortcut', 200), body: field(req, 'body', 20_000) }
    const result = createCannedResponse(deps, actorOf(req), values)
    if (!result.ok) return reply.code(422).page('settings/canned', listPage(req, { values, errors: messages(req.t, result.errors), formOpen: true }))
    return reply.redirect('/settings/canned?done=created', 303)
  })

  function editPage (req: FastifyRequest, id: string, data: Record<string, unknown> = {}): Record<string, unknown> {
    const item = cannedResponse(deps, actorOf(req).workspaceId, id)
    return { titleKey: 'canned.edit.title', nav: 'settings', tab: 'canned', item, variables: cannedVariables, limits, values: { shortcut: item.shortcut, body: item.body }, errors: {}, ...data }
  }

  app.get('/settings/canned/:cannedId', { config: { policy: 'admin' } }, async (req, reply) => {
    const { cannedId } = req.params as { cannedId: string }
    return reply.page('settings/canned-edit', editPage(req, cannedId))
  })

  app.post('/settings/canned/:cannedId', { config: { policy: 'admin' } }, async (req, reply) => {
    const { cannedId } = req.params as { cannedId: string }
    const values = { shortcut: field(req, 'shortcut', 200), body: field(req, 'body', 20_000) }
    const result = updateCannedResponse(deps, actorOf(req), cannedId, values)
    if (!result.ok) return reply.code(422).page('settings/canned-edit', editPage(req, cannedId, { values, errors: messages(req.t, result.errors) }))
    return reply.redirect('/settings/canned?done=saved', 303)
  })

  app.post('/settings/canned/:cannedId/delete', { config: { policy: 'admin' } }, async (req, reply) => {
    const { cannedId } = req.params as { cannedId: string }
    deleteCannedResponse(deps, actorOf(req), cannedId)
    return reply.redirect('/settings/canned?done=deleted', 303)
  })
}

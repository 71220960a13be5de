// Outgoing webhooks under Settings (admins and owners): the workspace's subscriptions, their delivery
// log, test events and replays. Everything is a plain form or link (htmx only refreshes the log).
//
//   GET  /settings/outgoing-webhooks                                           the list and the "add" form
//   POST /settings/outgoing-webhooks                                           create → the secret, shown once (this response only)
//   GET  /settings/outgoing-webhooks/:subscriptionId                           one webhook: edit form, actions, delivery log (?before=<id>)
//   POST /settings/outgoing-webhooks/:subscriptionId                           save URL, description, events
//   POST /settings/outgoing-webhooks/:subscriptionId/pause | /resume           stop or restart deliveries
//   GET  /settings/outgoing-webhooks/:subscriptionId/rotate                    confirmation page (without JavaScript; else a dialog)
//   POST /settings/outgoing-webhooks/:subscriptionId/rotate                    a new secret → shown once (this response only)
//   POST /settings/outgoing-webhooks/:subscriptionId/test                      queue a webhook.test delivery
//   GET  /settings/outgoing-webhooks/:subscriptionId/delete                    confirmation page
//   POST /settings/outgoing-webhooks/:subscriptionId/delete                    delete it with its log
//   GET  /settings/outgoing-webhooks/:subscriptionId/deliveries/:deliveryId    one delivery: payload and headers
//   POST /settings/outgoing-webhooks/:subscriptionId/deliveries/:deliveryId/replay   send its event again
//
// /settings/webhooks is the log of what Meta sends in (features/webhooks), hence "outgoing" here.
// Another workspace's ids answer 404, exactly like unknown ones. A secret is never in a URL, a redirect
// or a page that can be fetched again: only in the POST's own response, marked no-store, no-referrer.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field } from '../../platform/http/forms.js'
import type { Flash } from '../../platform/http/render.js'
import { queryValue } from '../workspaces/view-helpers.js'
import {
  createSubscription, deliveryDetail, deliveryLog, descriptionMaxLength, hookEventTypes, listSubscriptionViews, maxSubscriptions,
  queueTestDelivery, removeSubscription, replayDelivery, rotateSecret, subscriptionView, testEventType, updateSubscriptionOf, urlMaxLength,
  type FieldErrors, type HookActor, type SubscriptionView
} from './hooks.service.js'
import { deliveriesOf, type DeliverySummary } from './hooks.store.js'

export const hooksBase = '/settings/outgoing-webhooks'

const notices = new Set(['updated', 'paused', 'resumed', 'testQueued', 'replayed', 'deleted'])

/** The settings page lists events in these groups (the catalogue's order within each). */
export const eventGroups = [
  { key: 'messages', prefix: 'message.' },
  { key: 'conversations', prefix: 'conversation.' },
  { key: 'contacts', prefix: 'contact.' }
].map(g => ({ key: g.key, events: hookEventTypes.filter(e => e.startsWith(g.prefix)) }))

function actorOf (req: FastifyRequest): HookActor {
  const p = req.principal!
  return { userId: p.userId, workspaceId: p.workspace!.id, ip: req.ip }
}

function doneFlash (req: FastifyRequest): Flash[] {
  const done = queryValue(req, 'done', 20)
  return notices.has(done) ? [{ kind: 'success', message: req.t(`hooks.ui.done.${done}`) }] : []
}

/** The checked boxes of a repeated field (a lone value arrives as a string). */
function fieldList (req: FastifyRequest, name: string, max = 50): string[] {
  const body = req.body as Record<string, unknown> | undefined
  const raw = body !== undefined && body !== null && typeof body === 'object' && Object.hasOwn(body, name) ? body[name] : undefined
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]
  return list.filter((v): v is string => typeof v === 'string').slice(0, max).map(v => v.slice(0, 100))
}

/** Translates field errors, naming the limits in the messages that have one. */
function translated (req: FastifyRequest, errors: FieldErrors): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, req.t(v, { max: k === 'url' ? urlMaxLength : descriptionMaxLength })]))
}

type Health =
  | { kind: 'none' }
  | { kind: 'delivered' | 'failed' | 'retrying', at: number, status: number | null, error: string | null }

/**
 * How the webhook is doing: its newest attempt when that one failed and is being retried (the service's
 * `last` is the newest *settled* delivery, which would still say "delivered"), else the newest settled one.
 */
function healthOf (deps: Deps, workspaceId: string, s: SubscriptionView): Health {
  const newest: DeliverySummary | undefined = deliveriesOf(deps.db, workspaceId, s.id, 1)[0]
  if (newest !== undefined && newest.status === 'pending' && newest.attempts > 0 && (newest.lastError !== null || newest.responseStatus !== null)) {
    return { kind: 'retrying', at: newest.nextAttemptAt, status: newest.responseStatus, error: newest.lastError }
  }
  const last = s.last
  if (last === undefined) return { kind: 'none' }
  return { kind: last.status === 'delivered' ? 'delivered' : 'failed', at: last.settledAt ?? last.createdAt, status: last.responseStatus, error: last.lastError }
}

/** The page that shows a secret: never cached, never sent on as a referrer. */
function secretPage (reply: FastifyReply, deps: Deps, data: Record<string, unknown>): FastifyReply {
  reply.header('referrer-policy', 'no-referrer')
  return reply.page('settings/webhooks-secret', { timeoutSeconds: deps.config.outgoing_webhooks.timeout_seconds, titleKey: 'hooks.ui.secret.pageTitle', nav: 'settings', tab: 'webhooksOutgoing', base: hooksBase, ...data })
}

export async function hooksRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  const admin = { config: { policy: 'admin' as const } }
  const limited = (max: number) => ({ config: { policy: 'admin' as const, rateLimit: { max, timeWindow: 60_000 } } })
  const idOf = (req: FastifyRequest): string => (req.params as { subscriptionId: string }).subscriptionId
  const common = { nav: 'settings', tab: 'webhooksOutgoing', base: hooksBase, groups: eventGroups, eventTypes: hookEventTypes, limits: { url: urlMaxLength, description: descriptionMaxLength, max: maxSubscriptions } }

  function listPage (req: FastifyRequest, data: Record<string, unknown> = {}): Record<string, unknown> {
    const ws = actorOf(req).workspaceId
    const hooks = listSubscriptionViews(deps, ws).map(s => ({ ...s, health: healthOf(deps, ws, s) }))
    return { titleKey: 'hooks.ui.title', ...common, hooks, values: { url: '', description: '', events: [] }, errors: {}, ...data }
  }

  function detailPage (req: FastifyRequest, data: Record<string, unknown> = {}): Record<string, unknown> {
    const ws = actorOf(req).workspaceId
    const hook = subscriptionView(deps, ws, idOf(req))
    const raw = queryValue(req, 'before', 40)
    const before = /^[0-9A-Za-z]{10,40}$/.test(raw) ? raw : ''
    const log = deliveryLog(deps, ws, hook.id, before === '' ? undefined : before)
    return {
      titleKey: 'hooks.ui.detail.pageTitle',
      titleParams: { name: hook.description !== '' ? hook.description : hook.origin },
      ...common,
      hook: { ...hook, health: healthOf(deps, ws, hook) },
      log,
      older: before !== '',
      before,
      live: log.rows.some(r => r.status === 'pending' || r.status === 'sending'),
      testEventType,
      values: { url: hook.url, description: hook.description, events: hook.events },
      errors: {},
      ...data
    }
  }

  app.get(hooksBase, admin, async (req, reply) => {
    return reply.page('settings/webhooks', listPage(req, { flash: doneFlash(req) }))
  })

  // Creating resolves the URL's host: limited like every form that makes the server do work.
  app.post(hooksBase, limited(30), async (req, reply) => {
    const values = { url: field(req, 'url', urlMaxLength + 100), description: field(req, 'description', descriptionMaxLength + 100), events: fieldList(req, 'events') }
    const result = await createSubscription(deps, actorOf(req), values)
    if (!result.ok) return reply.code(422).page('settings/webhooks', listPage(req, { values, errors: translated(req, result.errors) }))
    return secretPage(reply, deps, { kind: 'created', hook: result.subscription, secret: result.secret })
  })

  app.get(`${hooksBase}/:subscriptionId`, admin, async (req, reply) => {
    return reply.page('settings/webhooks-detail', detailPage(req, { flash: doneFlash(req) }))
  })

  app.post(`${hooksBase}/:subscriptionId`, limited(30), async (req, reply) => {
    const values = { url: field(req, 'url', urlMaxLength + 100), description: field(req, 'description', descriptionMaxLength + 100), events: fieldList(req, 'events') }
    const result = await updateSubscriptionOf(deps, actorOf(req), idOf(req), values)
    if (!result.ok) return reply.code(422).page('settings/webhooks-detail', detailPage(req, { values, errors: translated(req, result.errors) }))
    return reply.redirect(`${hooksBase}/${result.subscription.id}?done=updated`, 303)
  })

  for (const [action, active] of [['pause', false], ['resume', true]] as const) {
    app.post(`${hooksBase}/:subscriptionId/${action}`, admin, async (req, reply) => {
      const result = await updateSubscriptionOf(deps, actorOf(req), idOf(req), { active })
      // Only the flag changes, so only a stored row that no longer validates could refuse it.
      if (!result.ok) return reply.code(422).page('settings/webhooks-detail', detailPage(req, { errors: translated(req, result.errors) }))
      return reply.redirect(`${hooksBase}/${result.subscription.id}?done=${active ? 'resumed' : 'paused'}`, 303)
    })
  }

  app.get(`${hooksBase}/:subscriptionId/rotate`, admin, async (req, reply) => {
    const hook = subscriptionView(deps, actorOf(req).workspaceId, idOf(req))
    return reply.page('settings/webhooks-confirm', { titleKey: 'hooks.ui.rotate.title', ...common, kind: 'rotate', hook })
  })

  app.post(`${hooksBase}/:subscriptionId/rotate`, limited(30), async (req, reply) => {
    const actor = actorOf(req)
    const { secret, previousUntil } = rotateSecret(deps, actor, idOf(req))
    return secretPage(reply, deps, { kind: 'rotated', hook: subscriptionView(deps, actor.workspaceId, idOf(req)), secret, previousUntil })
  })

  app.post(`${hooksBase}/:subscriptionId/test`, limited(30), async (req, reply) => {
    const id = idOf(req)
    queueTestDelivery(deps, actorOf(req).workspaceId, id)
    return reply.redirect(`${hooksBase}/${id}?done=testQueued#deliveries`, 303)
  })

  app.get(`${hooksBase}/:subscriptionId/delete`, admin, async (req, reply) => {
    const hook = subscriptionView(deps, actorOf(req).workspaceId, idOf(req))
    return reply.page('settings/webhooks-confirm', { titleKey: 'hooks.ui.delete.title', ...common, kind: 'delete', hook })
  })

  app.post(`${hooksBase}/:subscriptionId/delete`, admin, async (req, reply) => {
    removeSubscription(deps, actorOf(req), idOf(req))
    return reply.redirect(`${hooksBase}?done=deleted`, 303)
  })

  app.get(`${hooksBase}/:subscriptionId/deliveries/:deliveryId`, admin, async (req, reply) => {
    const ws = actorOf(req).workspaceId
    const hook = subscriptionView(deps, ws, idOf(req))
    const delivery = deliveryDetail(deps, ws, hook.id, (req.params as { deliveryId: string }).deliveryId)
    return reply.page('settings/webhooks-delivery', {
      titleKey: 'hooks.ui.delivery.pageTitle',
      titleParams: { event: delivery.eventType },
      ...common,
      hook,
      delivery,
      userAgent: `Weltra-Webhooks/${deps.assets.version}`
    })
  })

  app.post(`${hooksBase}/:subscriptionId/deliveries/:deliveryId/replay`, limited(60), async (req, reply) => {
    const ws = actorOf(req).workspaceId
    const id = idOf(req)
    replayDelivery(deps, ws, id, (req.params as { deliveryId: string }).deliveryId)
    return reply.redirect(`${hooksBase}/${id}?done=replayed#deliveries`, 303)
  })
}

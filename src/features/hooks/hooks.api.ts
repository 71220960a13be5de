// Outgoing webhook subscriptions in the public API (/api/v1/webhooks): the same service as Settings →
// Webhooks (the same URL checks and SSRF policy, the same limit, the same audit entries, with the key's
// id), for admin keys only. A subscription's secret is in two answers and nowhere else: the create
// answer and the rotate-secret answer. Delivery payloads hold customer data, so only the detail of one
// delivery shows its payload; the log lists them without.
//
//   GET    /api/v1/webhooks                                                 admin  list
//   POST   /api/v1/webhooks                                                 admin  create (answer holds the secret)
//   GET    /api/v1/webhooks/:webhookId                                      admin  one subscription
//   PATCH  /api/v1/webhooks/:webhookId                                      admin  url, description, events, active
//   DELETE /api/v1/webhooks/:webhookId                                      admin  delete (with its log)
//   POST   /api/v1/webhooks/:webhookId/rotate-secret                        admin  a new secret (the old one signs 24 h more)
//   POST   /api/v1/webhooks/:webhookId/test                                 admin  queue a webhook.test delivery
//   GET    /api/v1/webhooks/:webhookId/deliveries                           admin  the delivery log, newest first
//   GET    /api/v1/webhooks/:webhookId/deliveries/:deliveryId               admin  one delivery with its payload
//   POST   /api/v1/webhooks/:webhookId/deliveries/:deliveryId/replay        admin  send its event again
//
// Also here: the catalogue of events as documentation (what each is, when it is sent, what `data`
// holds), as an OpenAPI 3.1 `webhooks` object, which the reference page (/api/v1/docs) shows.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type, type TSchema } from '@sinclair/typebox'
import type { Deps } from '../../deps.js'
import { apiConfig, apiError, apiPrincipal, Id, idPattern, iso, Nullable, OneOf, pageQuery, Time } from '../../platform/http/api.js'
import { AppError, ValidationError } from '../../platform/http/errors.js'
import { contactSchema } from '../contacts/contact-json.js'
import { conversationSchema, messageSchema } from '../inbox/inbox.api.js'
import {
  createSubscription, deliveryDetail, deliveryLog, deliveryLogPage, descriptionMaxLength, hookEventTypes, listSubscriptionViews, maxSubscriptions,
  queueTestDelivery, removeSubscription, replayDelivery, rotateSecret, subscriptionView, testEventType, updateSubscriptionOf, urlMaxLength,
  type DeliveryView, type FieldErrors, type HookActor, type HookEventType, type SubscriptionView
} from './hooks.service.js'

const tags = ['Webhooks']

const deliveryStatuses = ['pending', 'sending', 'delivered', 'failed'] as const

const subscriptionSchema = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'Where events are posted.' }),
  description: Type.String({ description: 'What the team calls it (may be empty).' }),
  events: Type.Array(OneOf(hookEventTypes), { description: 'The event types it receives.' }),
  active: Type.Boolean({ description: 'false: paused; events are not queued for it, and waiting deliveries wait.' }),
  created_at: Time(),
  updated_at: Time(),
  previous_secret_expires_at: Nullable(Time(), 'After a rotation: until when deliveries also carry a signature made with the previous secret; null otherwise.'),
  last_delivery: Nullable(Type.Object({
    status: OneOf(deliveryStatuses),
    response_status: Nullable(Type.Integer(), 'The receiver\'s HTTP status; null when it never answered.'),
    at: Nullable(Time(), 'When it settled.')
  }), 'The latest delivery that settled (delivered or failed); null before the first.'),
  waiting: Type.Integer({ description: 'Deliveries still to be sent or retried.' })
}, { description: 'A webhook subscription.' })

const deliverySchema = Type.Object({
  id: Type.String({ description: 'The delivery (also sent as the Weltra-Delivery header).' }),
  event_id: Type.String({ description: 'The event (the envelope\'s id, the Weltra-Event-Id header): the same for every delivery of one event, replays included.' }),
  event_type: Type.String({ description: 'An event type, or webhook.test.' }),
  status: OneOf(deliveryStatuses, 'pending: waiting for its (next) attempt; sending: being posted now; delivered: the receiver answered 2xx; failed: given up (24 h of failures, or the URL is no longer allowed).'),
  attempts: Type.Integer({ description: 'Attempts made so far.' }),
  response_status: Nullable(Type.Integer(), 'The receiver\'s HTTP status at the last attempt; null when it never answered.'),
  duration_ms: Nullable(Type.Integer(), 'How long the last attempt took.'),
  error: Nullable(Type.String(), 'Why the last attempt did not succeed, in plain words (never the response body).'),
  replay_of: Nullable(Type.String(), 'The delivery this one replays.'),
  created_at: Time(),
  settled_at: Nullable(Time(), 'When it was delivered or given up.'),
  next_attempt_at: Nullable(Time(), 'While pending: when the next attempt is due.')
}, { description: 'A delivery.' })

const envelopeSchema = (data: TSchema, type?: string): TSchema => Type.Object({
  id: Type.String({ description: 'The event id: the same in every delivery and replay of this event, so receivers can ignore repeats.' }),
  type: type === undefined ? Type.String({ description: 'The event type.' }) : Type.Literal(type),
  created_at: Time('When it happened.'),
  workspace_id: Type.String(),
  data
}, { description: 'The body of every delivery.' })

const deliveryDetailSchema = Type.Object({
  ...deliverySchema.properties,
  payload: envelopeSchema(Type.Record(Type.String(), Type.Unknown(), { description: 'What the event type holds (see Webhooks on the reference page).' }))
}, { description: 'A delivery with the body that is (or was) posted.' })

const webhookParams = Type.Object({ webhookId: Id('The webhook subscription\'s id.') })
const deliveryParams = Type.Object({ webhookId: Id('The webhook subscription\'s id.'), deliveryId: Id('A delivery of this subscription.') })

const eventsInput = Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50, description: `Event types: ${hookEventTypes.join(', ')}.` })

/** Too many subscriptions: the request is fine, the workspace is full. */
class LimitError extends AppError {
  override name = 'LimitError'
  constructor (key: string) { super(409, 'limit_reached', key) }
}

export function subscriptionJson (s: SubscriptionView): Record<string, unknown> {
  return {
    id: s.id,
    url: s.url,
    description: s.description,
    events: s.events,
    active: s.active,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
    previous_secret_expires_at: iso(s.previousSecretUntil),
    last_delivery: s.last === undefined ? null : { status: s.last.status, response_status: s.last.responseStatus, at: iso(s.last.settledAt) },
    waiting: s.waiting
  }
}

export function deliveryJson (d: DeliveryView): Record<string, unknown> {
  return {
    id: d.id,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    response_status: d.responseStatus,
    duration_ms: d.durationMs,
    error: d.lastError,
    replay_of: d.replayOf,
    created_at: iso(d.createdAt),
    settled_at: iso(d.settledAt),
    next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null
  }
}

/** A service refusal as the API says it: too many → 409, anything else → 422 per field. */
function refusal (errors: FieldErrors): AppError {
  if (errors.form === 'hooks.errors.tooMany') return new LimitError(errors.form)
  return new ValidationError(errors)
}

export async function hooksApi (app: FastifyInstance, deps: Deps): Promise<void> {
  const actorOf = (req: FastifyRequest): HookActor => {
    const key = apiPrincipal(req)
    return { userId: null, workspaceId: key.workspaceId, apiKeyId: key.keyId, ip: req.ip }
  }
  const ws = (req: FastifyRequest): string => apiPrincipal(req).workspaceId

  app.get('/api/v1/webhooks', {
    config: apiConfig('api:admin'),
    schema: {
      summary: 'List webhook subscriptions',
      description: 'Every subscription of the workspace, oldest first, with its latest settled delivery. Secrets are never listed. Needs an admin key.',
      operationId: 'listWebhooks',
      tags,
      response: { 200: Type.Object({ data: Type.Array(subscriptionSchema) }, { description: 'Every subscription.' }) }
    }
  }, async (req) => ({ data: listSubscriptionViews(deps, ws(req)).map(subscriptionJson) }))

  app.post('/api/v1/webhooks', {
    config: apiConfig('api:admin', 60),
    schema: {
      summary: 'Create a webhook subscription',
      description: 'Events of the chosen types are posted to the URL, signed with the subscription\'s secret. The URL must be https and reach a public address (unless the instance allows http or private addresses); its host is resolved now. ' +
        `The answer is the only time the secret is shown: store it. A workspace has at most ${maxSubscriptions} subscriptions. Needs an admin key.`,
      operationId: 'createWebhook',
      tags,
      body: Type.Object({
        url: Type.String({ maxLength: urlMaxLength * 2, description: `Where to post events (at most ${urlMaxLength} characters).` }),
        description: Type.Optional(Type.String({ maxLength: descriptionMaxLength * 4, description: `What the team calls it (at most ${descriptionMaxLength} characters).` })),
        events: eventsInput
      }, { additionalProperties: false }),
      response: {
        201: Type.Object({
          ...subscriptionSchema.properties,
          secret: Type.String({ description: 'The signing secret (whsec_…). Shown only in this answer and after a rotation.' })
        }, { description: 'Created: the subscription and its secret.' }),
        409: apiError('limit_reached: the workspace has the most subscriptions it may have; delete one first.'),
        422: apiError('invalid: the URL, description or events are not valid, or the URL is not allowed (error.details says which field and why).')
      }
    }
  }, async (req, reply) => {
    const body = req.body as { url: string, description?: string, events: string[] }
    const result = await createSubscription(deps, actorOf(req), { url: body.url, description: body.description ?? '', events: body.events })
    if (!result.ok) throw refusal(result.errors)
    return reply.code(201).send({ ...subscriptionJson(result.subscription), secret: result.secret })
  })

  app.get('/api/v1/webhooks/:webhookId', {
    config: apiConfig('api:admin'),
    schema: { summary: 'Get a webhook subscription', description: 'Without its secret. Needs an admin key.', operationId: 'getWebhook', tags, params: webhookParams, response: { 200: subscriptionSchema } }
  }, async (req) => subscriptionJson(subscriptionView(deps, ws(req), (req.params as { webhookId: string }).webhookId)))

  app.patch('/api/v1/webhooks/:webhookId', {
    config: apiConfig('api:admin'),
    schema: {
      summary: 'Change a webhook subscription',
      description: 'Only what is sent changes. A new URL is checked as on create; `active: false` pauses it (nothing is queued for it and waiting deliveries wait), `active: true` resumes it. Needs an admin key.',
      operationId: 'updateWebhook',
      tags,
      params: webhookParams,
      body: Type.Object({
        url: Type.Optional(Type.String({ maxLength: urlMaxLength * 2, description: `Where to post events (at most ${urlMaxLength} characters).` })),
        description: Type.Optional(Type.String({ maxLength: descriptionMaxLength * 4, description: `At most ${descriptionMaxLength} characters; empty clears it.` })),
        events: Type.Optional(eventsInput),
        active: Type.Optional(Type.Boolean({ description: 'false pauses it; true resumes it.' }))
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: subscriptionSchema, 422: apiError('invalid: the URL, description or events are not valid, or the URL is not allowed (error.details says which field and why).') }
    }
  }, async (req) => {
    const body = req.body as { url?: string, description?: string, events?: string[], active?: boolean }
    const result = await updateSubscriptionOf(deps, actorOf(req), (req.params as { webhookId: string }).webhookId, body)
    if (!result.ok) throw refusal(result.errors)
    return subscriptionJson(result.subscription)
  })

  app.delete('/api/v1/webhooks/:webhookId', {
    config: apiConfig('api:admin'),
    schema: {
      summary: 'Delete a webhook subscription',
      description: 'Nothing more is sent to it; its waiting deliveries and its log are deleted. Needs an admin key.',
      operationId: 'deleteWebhook',
      tags,
      params: webhookParams,
      response: { 204: Type.Null({ description: 'Deleted.' }) }
    }
  }, async (req, reply) => {
    removeSubscription(deps, actorOf(req), (req.params as { webhookId: string }).webhookId)
    return reply.code(204).send()
  })

  app.post('/api/v1/webhooks/:webhookId/rotate-secret', {
    config: apiConfig('api:admin', 30),
    schema: {
      summary: 'Rotate a webhook\'s secret',
      description: 'A new secret, shown only in this answer. For 24 hours every delivery carries two signatures, one with each secret, so the receiver can switch without missing events. Needs an admin key.',
      operationId: 'rotateWebhookSecret',
      tags,
      params: webhookParams,
      response: {
        200: Type.Object({
          secret: Type.String({ description: 'The new signing secret (whsec_…).' }),
          previous_secret_expires_at: Time('Until when the previous secret also signs deliveries.')
        }, { description: 'The new secret.' })
      }
    }
  }, async (req) => {
    const rotated = rotateSecret(deps, actorOf(req), (req.params as { webhookId: string }).webhookId)
    return { secret: rotated.secret, previous_secret_expires_at: iso(rotated.previousUntil) }
  })

  app.post('/api/v1/webhooks/:webhookId/test', {
    config: apiConfig('api:admin', 60),
    schema: {
      summary: 'Send a test event',
      description: `Queues a ${testEventType} event for this subscription alone, signed like any other (a paused subscription gets it once resumed). Its data is { "message": "…" }. Needs an admin key.`,
      operationId: 'testWebhook',
      tags,
      params: webhookParams,
      response: { 202: { ...deliverySchema, description: 'Queued: the delivery, to follow in the log.' } }
    }
  }, async (req, reply) => {
    const row = queueTestDelivery(deps, ws(req), (req.params as { webhookId: string }).webhookId)
    return reply.code(202).send(deliveryJson(row))
  })

  app.get('/api/v1/webhooks/:webhookId/deliveries', {
    config: apiConfig('api:admin'),
    schema: {
      summary: 'List a webhook\'s deliveries',
      description: `The delivery log, newest first, ${deliveryLogPage} a page, without payloads (get one delivery for its payload). Settled deliveries are kept 30 days. Needs an admin key.`,
      operationId: 'listWebhookDeliveries',
      tags,
      params: webhookParams,
      querystring: Type.Object({ cursor: pageQuery.cursor }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          data: Type.Array(deliverySchema),
          next_cursor: Nullable(Type.String(), 'Pass it as `cursor` for the next page; null when this is the last.')
        }, { description: 'A page: deliveries, and the cursor of the next page.' }),
        422: apiError('invalid: the cursor is not one a page returned.')
      }
    }
  }, async (req) => {
    const { cursor } = req.query as { cursor?: string }
    if (cursor !== undefined && !new RegExp(idPattern).test(cursor)) throw new ValidationError({ cursor: 'api.errors.badCursor' })
    const page = deliveryLog(deps, ws(req), (req.params as { webhookId: string }).webhookId, cursor)
    return { data: page.rows.map(deliveryJson), next_cursor: page.next }
  })

  app.get('/api/v1/webhooks/:webhookId/deliveries/:deliveryId', {
    config: apiConfig('api:admin'),
    schema: {
      summary: 'Get a webhook delivery',
      description: 'One delivery with the body that is (or was) posted, as JSON. It holds customer data. Needs an admin key.',
      operationId: 'getWebhookDelivery',
      tags,
      params: deliveryParams,
      response: { 200: deliveryDetailSchema }
    }
  }, async (req) => {
    const { webhookId, deliveryId } = req.params as { webhookId: string, deliveryId: string }
    const d = deliveryDetail(deps, ws(req), webhookId, deliveryId)
    return { ...deliveryJson(d), payload: JSON.parse(d.payload) as unknown }
  })

  app.post('/api/v1/webhooks/:webhookId/deliveries/:deliveryId/replay', {
    config: apiConfig('api:admin', 60),
    schema: {
      summary: 'Replay a webhook delivery',
      description: 'Queues the same event again as a new delivery: the same event id and body, signed anew when sent (receivers that already handled it can recognise it by the id). Needs an admin key.',
      operationId: 'replayWebhookDelivery',
      tags,
      params: deliveryParams,
      response: { 202: { ...deliverySchema, description: 'Queued: the new delivery.' } }
    }
  }, async (req, reply) => {
    const { webhookId, deliveryId } = req.params as { webhookId: string, deliveryId: string }
    return reply.code(202).send(deliveryJson(replayDelivery(deps, ws(req), webhookId, deliveryId)))
  })
}

// ── The event catalogue, as documentation ──

/** Each event type: when it is sent, and the schema of its `data`. Adding a type to hookEventTypes without a line here fails to compile. */
export const hookEventDocs: Record<HookEventType, { summary: string, when: string, data: TSchema }> = {
  'message.received': {
    summary: 'A customer\'s message arrived',
    when: 'A customer wrote: the message is stored (its media may still be downloading; GET /api/v1/media/{id} says when it is ready).',
    data: Type.Object({
      message: { ...messageSchema, description: 'The message, as GET /api/v1/conversations/{id}/messages returns it.' },
      conversation: { ...conversationSchema, description: 'Its conversation, as GET /api/v1/conversations/{id} returns it.' },
      contact: Nullable(contactSchema, 'The customer, as GET /api/v1/contacts/{id} returns it.')
    })
  },
  'message.status': {
    summary: 'An outbound message changed status',
    when: 'A message the team or the API sent was sent, delivered, read, played or failed, as WhatsApp reported it (a status that does not move the message forward is not announced).',
    data: Type.Object({
      status: Type.String({ description: 'The new status: sent, delivered, read, played or failed.' }),
      message: { ...messageSchema, description: 'The message as it is when the event is sent.' }
    })
  },
  'conversation.created': {
    summary: 'A conversation started',
    when: 'A customer wrote and a new conversation began for the message (a reply in a resolved conversation reopens it instead, unless the workspace starts new ones). The message.received event of that message is sent too.',
    data: Type.Object({
      conversation: { ...conversationSchema, description: 'The conversation, as GET /api/v1/conversations/{id} returns it.' },
      contact: Nullable(contactSchema, 'The customer.')
    })
  },
  'conversation.assigned': {
    summary: 'A conversation was assigned',
    when: 'A conversation was assigned to a member or unassigned (then conversation.assignee is null), on a screen, by a rule or through the API.',
    data: Type.Object({ conversation: { ...conversationSchema, description: 'The conversation with its new assignee.' } })
  },
  'conversation.resolved': {
    summary: 'A conversation was resolved',
    when: 'A conversation\'s status became resolved.',
    data: Type.Object({ conversation: { ...conversationSchema, description: 'The conversation.' } })
  },
  'contact.created': {
    summary: 'A contact was created',
    when: 'A contact was added: by a member, an import, the API, or when a new customer wrote.',
    data: Type.Object({ contact: { ...contactSchema, description: 'The contact, as GET /api/v1/contacts/{id} returns it.' } })
  },
  'contact.updated': {
    summary: 'A contact changed',
    when: 'A contact\'s name, numbers, emails, notes, custom fields, labels or consent changed, or the customer changed their WhatsApp profile.',
    data: Type.Object({ contact: { ...contactSchema, description: 'The contact as it is when the event is sent.' } })
  }
}

const signatureHeaders = [
  { name: 'Weltra-Signature', description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>; for 24 h after a rotation a second v1= made with the previous secret follows.' },
  { name: 'Weltra-Event', description: 'The event type.' },
  { name: 'Weltra-Event-Id', description: 'The event id (the body\'s id): the same for every delivery and replay of one event.' },
  { name: 'Weltra-Delivery', description: 'This delivery\'s id (the delivery log shows it).' },
  { name: 'User-Agent', description: 'Weltra-Webhooks/<version>' }
]

/**
 * The events as an OpenAPI 3.1 `webhooks` object: one POST per event type (and webhook.test), with the
 * headers and the body a receiver gets. For the OpenAPI document and the reference page.
 */
export function hookWebhooksDocument (): Record<string, unknown> {
  const json = (s: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(s)) as Record<string, unknown>
  const entries: Array<[string, { summary: string, when: string, data: TSchema }]> = [
    ...hookEventTypes.map(type => [type, hookEventDocs[type]] as [string, { summary: string, when: string, data: TSchema }]),
    [testEventType, { summary: 'A test event', when: 'Someone pressed "Send test event" (or called POST /api/v1/webhooks/{id}/test). Nobody subscribes to it; only that subscription gets it.', data: Type.Object({ message: Type.String() }) }]
  ]
  return Object.fromEntries(entries.map(([type, doc]) => [type, {
    post: {
      operationId: `event-${type}`,
      summary: doc.summary,
      description: doc.when,
      tags,
      parameters: signatureHeaders.map(h => ({ name: h.name, in: 'header', required: true, description: h.description, schema: { type: 'string' } })),
      requestBody: { required: true, content: { 'application/json': { schema: json(envelopeSchema({ ...doc.data, description: 'What this event holds.' }, type)) } } },
      responses: {
        '2XX': { description: 'Received: the delivery is done. Any other answer (or none within the timeout) is retried; redirects are not followed.' }
      }
    }
  }]))
}

/** How a receiver verifies a delivery, in Node.js: shown on the reference page (and run by the tests). */
export const receiverExample = `import { createHmac, timingSafeEqual } from 'node:crypto'

// header: the Weltra-Signature header; rawBody: the body exactly as received (a Buffer), before JSON.parse
export function verifyWeltra (header, rawBody, secret, toleranceSeconds = 300) {
  const parts = header.split(',').map(part => part.trim().split('='))
  const t = Number(parts.find(([k]) => k === 't')?.[1])
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false
  const expected = createHmac('sha256', secret).update(\`\${t}.\`).update(rawBody).digest()
  return parts.some(([k, v]) => {
    if (k !== 'v1') return false
    const given = Buffer.from(v ?? '', 'hex')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}

// With Express, on the raw body:
// app.post('/weltra', express.raw({ type: 'application/json' }), (req, res) => {
//   const ok = verifyWeltra(req.get('weltra-signature') ?? '', req.body, process.env.WELTRA_SECRET)
//   if (!ok) return res.sendStatus(401)
//   const event = JSON.parse(req.body) // an event.id you have seen before: answer 2xx, skip it
//   res.sendStatus(204)
// })
`

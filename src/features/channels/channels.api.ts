// The WhatsApp numbers (channels) in the public API: read-only for now, with their health as the
// channel page shows it (status, webhook, quality, messaging tier). Credentials never leave: only the
// last four characters of the access token, like the screens.
//
//   GET /api/v1/channels                  agent  every connected number
//   GET /api/v1/channels/:channelId       agent  one number
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../deps.js'
import { apiConfig, apiPrincipal, Id, iso, Nullable, Time } from '../../platform/http/api.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { listChannels, webhookState } from './channels.service.js'
import type { ChannelSummary } from './channels.service.js'

const tags = ['Channels']

const channelSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  display_phone_number: Nullable(Type.String()),
  verified_name: Nullable(Type.String()),
  waba_id: Type.String({ description: 'The WhatsApp Business Account.' }),
  phone_number_id: Type.String(),
  status: Type.String({ description: 'active, or why sends are held (token_invalid, disconnected …).' }),
  status_detail: Nullable(Type.String()),
  webhook: Type.Object({ state: Type.Union([Type.Literal('waiting'), Type.Literal('verified'), Type.Literal('receiving')], { description: 'waiting: Meta has not verified the callback URL yet; verified: it has, nothing received yet; receiving: deliveries arrive.' }), last_received_at: Nullable(Time()) }),
  quality_rating: Nullable(Type.String()),
  messaging_tier: Nullable(Type.String()),
  access_token_last4: Nullable(Type.String()),
  created_at: Time()
}, { description: 'A connected WhatsApp number.' })

function json (c: ChannelSummary): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    display_phone_number: c.displayPhoneNumber,
    verified_name: c.verifiedName,
    waba_id: c.wabaId,
    phone_number_id: c.phoneNumberId,
    status: c.status,
    status_detail: c.statusDetail,
    webhook: { state: webhookState(c), last_received_at: iso(c.lastWebhookAt) },
    quality_rating: c.qualityRating,
    messaging_tier: c.messagingTier,
    access_token_last4: c.accessTokenLast4,
    created_at: iso(c.createdAt)
  }
}

export async function channelsApi (app: FastifyInstance, deps: Deps): Promise<void> {
  const all = (req: FastifyRequest): ChannelSummary[] => listChannels(deps, apiPrincipal(req).workspaceId)

  app.get('/api/v1/channels', {
    config: apiConfig('api:agent'),
    schema: { summary: 'List WhatsApp numbers', operationId: 'listChannels', tags, response: { 200: Type.Object({ data: Type.Array(channelSchema) }, { description: 'Every connected number.' }) } }
  }, async (req) => ({ data: all(req).map(json) }))

  app.get('/api/v1/channels/:channelId', {
    config: apiConfig('api:agent'),
    schema: { summary: 'Get a WhatsApp number', operationId: 'getChannel', tags, params: Type.Object({ channelId: Id('The channel\'s id.') }), response: { 200: channelSchema } }
  }, async (req) => {
    const channel = all(req).find(c => c.id === (req.params as { channelId: string }).channelId)
    if (channel === undefined) throw new NotFoundError()
    return json(channel)
  })
}

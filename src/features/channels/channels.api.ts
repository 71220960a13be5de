// The WhatsApp numbers (channels) in the public API: read-only for now, with their health as the
// channel page shows it (status, webhook, quality, messaging tier). Credentials never leave: only the
// last four characters of the access token, like the screens.
//
//   GET /api/v1/channels                  agent  every connected number
//   GET /api/v1/channels/:channelId       agent  one number
//   POST /api/v1/channels                 admin  connect a number: the settings page's checks (Meta is asked
//                                                about the number and the app subscribed), then the callback
//                                                URL and verify token to paste into Meta
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../deps.js'
import { apiConfig, apiError, apiPrincipal, Id, iso, Nullable, OneOf, Time } from '../../platform/http/api.js'
import { NotFoundError, ValidationError } from '../../platform/http/errors.js'
import { callbackInfo, channelPage, connectChannel, listChannels, webhookState } from './channels.service.js'
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
  webhook: Type.Object({ state: OneOf(['waiting', 'verified', 'receiving'], 'waiting: Meta has not verified the callback URL yet; verified: it has, nothing received yet; receiving: deliveries arrive.'), last_received_at: Nullable(Time()) }),
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

  app.post('/api/v1/channels', {
    config: apiConfig('api:admin', 30),
    schema: {
      summary: 'Connect a WhatsApp number',
      description: 'The same checks as Settings → WhatsApp numbers: Meta is asked about the number with the token, the app is subscribed to the WhatsApp Business Account, and templates are synced. ' +
        'The answer holds the callback URL and verify token to paste into the Meta app\'s webhook settings (the token and app secret are stored encrypted and never returned). Needs an admin key.',
      operationId: 'createChannel',
      tags,
      body: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 80, description: 'What the team calls this number.' }),
        waba_id: Type.String({ maxLength: 40, description: 'The WhatsApp Business Account id.' }),
        phone_number_id: Type.String({ maxLength: 40, description: 'The phone number id (not the number itself).' }),
        access_token: Type.String({ maxLength: 4096, description: 'A system user access token with whatsapp_business_messaging and whatsapp_business_management.' }),
        app_secret: Type.String({ maxLength: 256, description: 'The Meta app\'s secret: webhooks are checked with it.' })
      }, { additionalProperties: false }),
      response: {
        201: Type.Object({ channel: channelSchema, webhook: Type.Object({ callback_url: Type.String(), verify_token: Type.String({ description: 'Paste it into Meta with the callback URL.' }) }) }, { description: 'Connected.' }),
        422: apiError('invalid: a field is wrong, the number is already connected, or Meta refused the token or ids (error.details says which, in Meta\'s words).')
      }
    }
  }, async (req, reply) => {
    const body = req.body as { name: string, waba_id: string, phone_number_id: string, access_token: string, app_secret: string }
    const key = apiPrincipal(req)
    const result = await connectChannel(deps, { userId: null, apiKeyId: key.keyId, workspaceId: key.workspaceId, ip: req.ip }, { name: body.name, wabaId: body.waba_id, phoneNumberId: body.phone_number_id, accessToken: body.access_token, appSecret: body.app_secret })
    if (!result.ok) {
      const rename: Record<string, string> = { wabaId: 'waba_id', phoneNumberId: 'phone_number_id', accessToken: 'access_token', appSecret: 'app_secret' }
      throw new ValidationError(Object.fromEntries(Object.entries(result.errors).map(([field, message]) => [rename[field] ?? field, message])))
    }
    const page = channelPage(deps, key.workspaceId, result.value.channel.id)
    return reply.code(201).send({ channel: json(page.channel), webhook: { callback_url: callbackInfo(deps, result.value.channel.publicId).url, verify_token: page.verifyToken } })
  })
}

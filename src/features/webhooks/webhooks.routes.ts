// Meta → Weltra. No session and no CSRF check: each delivery is authenticated by its HMAC signature
// over the exact bytes, with the app secret of the channel named in the URL.
//
//   GET  /webhooks/whatsapp/:publicId   verification handshake: 200 + challenge (text) or 403
//   POST /webhooks/whatsapp/:publicId   delivery: 401 bad signature (nothing stored) · 404 unknown channel ·
//                                       200 once stored durably · 413 over 4 MiB · 503 when storage fails
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { isStorageFailure } from '../../platform/http/error-handler.js'
import { receiveDelivery, verifyCallback } from './webhooks.service.js'

/** Meta documents batches of up to ~3 MB; everything else in Weltra keeps the 1 MiB default. */
export const maxWebhookBytes = 4 * 1024 * 1024

export async function webhooksRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  // This scope only: keep the raw bytes of every body, whatever its content type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxWebhookBytes }, (_req, body, done) => { done(null, body) })

  app.get('/webhooks/whatsapp/:publicId', { config: { policy: 'webhook' } }, async (req, reply) => {
    const { publicId } = req.params as { publicId: string }
    const result = verifyCallback(deps, publicId, req.query as Record<string, unknown>)
    reply.header('cache-control', 'no-store')
    if (!result.ok) return reply.code(403).type('text/plain; charset=utf-8').send('forbidden')
    return reply.type('text/plain; charset=utf-8').send(result.challenge)
  })

  app.post('/webhooks/whatsapp/:publicId', { config: { policy: 'webhook' }, bodyLimit: maxWebhookBytes }, async (req, reply) => {
    const { publicId } = req.params as { publicId: string }
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    let outcome
    try {
      outcome = await receiveDelivery(deps, publicId, raw, req.headers['x-hub-signature-256'])
    } catch (err) {
      req.log.error({ err, bytes: raw.length }, 'webhook not stored')
      return reply.code(isStorageFailure(err) ? 503 : 500).send()
    }
    if (outcome === 'unknown-channel') return reply.code(404).send()
    if (outcome === 'bad-signature') {
      req.log.warn({ bytes: raw.length }, 'webhook signature mismatch')
      return reply.code(401).send()
    }
    return reply.code(200).send()
  })
}

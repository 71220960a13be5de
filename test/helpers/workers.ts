// The background workers of `weltra serve` — webhook processor, media worker, outbound worker — wired
// to the event bus the way src/cli/serve.ts wires them, for tests that drive the whole pipeline
// (signed webhook → processing → media download; composer → outbox → Graph API). Stopped when the test
// ends (before the app and its database close: tap runs teardowns last-in, first-out).
import type { Test } from 'tap'
import type { Deps } from '../../src/deps.js'
import { startMediaWorker, type MediaWorker, type MediaWorkerOptions } from '../../src/features/media/media.worker.js'
import { startOutboundWorker, type OutboundWorker, type OutboundWorkerOptions } from '../../src/features/outbound/outbound.worker.js'
import { startWebhookProcessor, type WebhookProcessor } from '../../src/features/webhooks/webhook-processor.js'

export interface Workers { webhooks: WebhookProcessor, media: MediaWorker, outbound: OutboundWorker }

/** Starts the three workers (production defaults unless overridden) and stops them at teardown. */
export function startWorkers (t: Test, deps: Deps, options: { media?: MediaWorkerOptions, outbound?: OutboundWorkerOptions } = {}): Workers {
  const webhooks = startWebhookProcessor(deps)
  const media = startMediaWorker(deps, options.media)
  const outbound = startOutboundWorker(deps, options.outbound)
  const unsubscribe = [
    deps.events.on('media.queued', () => media.kick()),
    deps.events.on('outbox.queued', () => outbound.kick()),
    deps.events.on('channel.changed', () => outbound.kick())
  ]
  t.teardown(async () => {
    for (const off of unsubscribe) off()
    await Promise.all([webhooks.stop(), media.stop(), outbound.stop()])
  })
  return { webhooks, media, outbound }
}

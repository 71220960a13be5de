// The live stream of the inbox (see live.hub.ts for what it says and to whom).
//
//   GET /live   agent   text/event-stream for the active workspace: `retry:`, then doorbell events
//                       and a comment line every ~25 s. Only answers clients that accept
//                       text/event-stream (EventSource does); anything else gets 406 with a word of
//                       explanation, so a stray link or crawler never holds a connection open.
//                       429 when the person already has many streams open; 503 while shutting down.
// Streams end when the app closes (preClose), so a graceful stop is never held up by open tabs.
import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { LiveHub, type LiveOptions } from './live.hub.js'

/** Milliseconds a browser waits before reconnecting after the stream drops. */
const retryMs = 3000

export function liveRoutesWith (options: LiveOptions = {}) {
  return async function liveRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
    const hub = new LiveHub(deps, options)
    app.addHook('preClose', async () => { hub.closeAll() })
    app.addHook('onClose', async () => { hub.stop() })

    app.get('/live', { config: { policy: 'agent' } }, async (req, reply) => {
      const accept = String(req.headers.accept ?? '')
      if (!accept.includes('text/event-stream')) {
        return reply.code(406).type('text/plain; charset=utf-8').header('cache-control', 'no-store').header('vary', 'Accept')
          .send(req.t('live.notAStream'))
      }
      if (hub.closing || deps.lifecycle.closing) return reply.code(503).type('text/plain; charset=utf-8').header('retry-after', '5').send(req.t('errors.unavailable.text'))
      const p = req.principal!
      if (hub.countFor(p.userId) >= hub.maxPerUser) return reply.code(429).type('text/plain; charset=utf-8').header('retry-after', '30').send(req.t('errors.tooMany.text'))
      const stream = new PassThrough()
      const connection = {
        userId: p.userId,
        sessionId: p.sessionId,
        workspaceId: p.workspace!.id,
        write: (chunk: string): boolean => {
          if (stream.destroyed || stream.writableEnded) return false
          stream.write(chunk)
          return true
        },
        end: (): void => { if (!stream.writableEnded) stream.end() }
      }
      hub.add(connection)
      const done = (): void => { hub.remove(connection); if (!stream.destroyed) stream.destroy() }
      req.raw.once('close', done)
      stream.once('close', () => hub.remove(connection))
      stream.write(`retry: ${retryMs}\n: connected\n\n`)
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no')
        .send(stream)
    })
  }
}

/** GET /live with the default timings. */
export const liveRoutes = liveRoutesWith()

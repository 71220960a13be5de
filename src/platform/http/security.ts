// Security headers on every response: a strict CSP (no inline script or style, nothing from other
// origins), no framing, no sniffing, isolation headers, and HSTS whenever the request came over HTTPS
// (directly, or through a trusted proxy that said so).
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

export const contentSecurityPolicy = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'media-src': ["'self'", 'blob:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'manifest-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'object-src': ["'none'"]
}

export const permissionsPolicy = 'camera=(), geolocation=(), payment=(), usb=(), microphone=(self), interest-cohort=()'

/** Registers helmet with Weltra's policy and the headers helmet does not set. */
export async function installSecurityHeaders (app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' }
  })
  app.addHook('onSend', async (req, reply) => {
    reply.header('permissions-policy', permissionsPolicy)
    if (req.protocol === 'https') reply.header('strict-transport-security', 'max-age=63072000; includeSubDomains')
  })
}

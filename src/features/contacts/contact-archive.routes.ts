// A contact's archive (the customer's right of access), for admins:
//   GET /contacts/:contactId/archive.zip   admin  everything about the contact as a ZIP (contact-archive.service.ts)
// A download answers a GET of the signed-in admin directly (no link to share, nothing stored), never cached.
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { sendDownload } from '../../platform/http/download.js'
import { contactArchive } from './contact-archive.service.js'

export async function contactArchiveRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  app.get<{ Params: { contactId: string } }>('/contacts/:contactId/archive.zip', { config: { policy: 'admin', rateLimit: { max: 20, timeWindow: 60_000 } } }, async (req, reply) => {
    const p = req.principal!
    return sendDownload(reply, 'application/zip', contactArchive(deps, { userId: p.userId, workspaceId: p.workspace!.id, ip: req.ip }, req.params.contactId))
  })
}

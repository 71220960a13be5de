// A contact's privacy actions, for admins (the contact page links them; "forget" is in contacts.routes.ts):
//   GET  /contacts/:contactId/archive.zip   admin  everything about the contact as a ZIP (contact-archive.service.ts)
//   POST /contacts/:contactId/legal-hold    admin  put on (on=1) or release (on=0) a legal hold → back to the contact
// A download answers a GET of the signed-in admin directly (no link to share, nothing stored), never cached.
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { sendDownload } from '../../platform/http/download.js'
import { checkbox } from '../../platform/http/forms.js'
import { contactArchive } from './contact-archive.service.js'
import { setLegalHold } from './contact-edit.service.js'

export async function contactPrivacyRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  app.get<{ Params: { contactId: string } }>('/contacts/:contactId/archive.zip', { config: { policy: 'admin', rateLimit: { max: 20, timeWindow: 60_000 } } }, async (req, reply) => {
    const p = req.principal!
    return sendDownload(reply, 'application/zip', contactArchive(deps, { userId: p.userId, workspaceId: p.workspace!.id, ip: req.ip }, req.params.contactId))
  })

  app.post<{ Params: { contactId: string } }>('/contacts/:contactId/legal-hold', { config: { policy: 'admin' } }, async (req, reply) => {
    const p = req.principal!
    const on = checkbox(req, 'on')
    setLegalHold(deps.db, { userId: p.userId, workspaceId: p.workspace!.id, ip: req.ip }, req.params.contactId, on, deps.clock.now())
    return reply.redirect(`/contacts/${req.params.contactId}?done=${on ? 'legalHoldOn' : 'legalHoldOff'}`, 303)
  })
}

// Settings → Data retention (issue 9 item 4): how long this workspace keeps message bodies and files, raw
// WhatsApp webhook payloads and inactive contacts, and what the daily job removed last time.
//
//   GET  /settings/retention   admin  the form and the "Last run" panel
//   POST /settings/retention   admin  save (audited) → 303 back with a notice; 422 with field errors
// The daily job (retention.service.ts, run by `weltra serve`) applies the values; nothing is removed here.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, messages } from '../../platform/http/forms.js'
import type { Flash } from '../../platform/http/render.js'
import { parseRetention, retentionLimits, retentionSettings, saveRetention } from './retention.service.js'

type Req = FastifyRequest

function actorOf (req: Req): { userId: string, workspaceId: string, ip: string } {
  const p = req.principal!
  return { userId: p.userId, workspaceId: p.workspace!.id, ip: req.ip }
}

/** Form values as strings: '' for "keep forever". */
function asValues (s: { messagesDays: number | null, webhookDays: number, contactsMonths: number | null }): { messagesDays: string, webhookDays: string, contactsMonths: string } {
  return { messagesDays: s.messagesDays === null ? '' : String(s.messagesDays), webhookDays: String(s.webhookDays), contactsMonths: s.contactsMonths === null ? '' : String(s.contactsMonths) }
}

export async function privacyRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  function retentionPage (req: Req, data: Record<string, unknown> = {}): Record<string, unknown> {
    const settings = retentionSettings(deps, actorOf(req).workspaceId)
    return {
      titleKey: 'privacy.retention.title',
      nav: 'settings',
      tab: 'retention',
      // What is saved (for the warning: it says what the next run will remove) and what the form shows.
      saved: settings,
      values: asValues(settings),
      lastRun: settings.lastRun,
      limits: retentionLimits,
      errors: {},
      ...data
    }
  }

  app.get('/settings/retention', { config: { policy: 'admin' } }, async (req, reply) => {
    const done = (req.query as Record<string, unknown> | undefined)?.done
    const flash: Flash[] = done === 'saved' ? [{ kind: 'success', message: req.t('privacy.retention.saved') }] : []
    return reply.page('settings/retention', retentionPage(req, { flash }))
  })

  app.post('/settings/retention', { config: { policy: 'admin' } }, async (req, reply) => {
    const values = { messagesDays: field(req, 'messagesDays', 20), webhookDays: field(req, 'webhookDays', 20), contactsMonths: field(req, 'contactsMonths', 20) }
    const result = parseRetention(values)
    if (!result.ok) return reply.code(422).page('settings/retention', retentionPage(req, { values, errors: messages(req.t, result.errors) }))
    saveRetention(deps, actorOf(req), result.value)
    return reply.redirect('/settings/retention?done=saved', 303)
  })
}

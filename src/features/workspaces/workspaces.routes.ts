// Workspaces and the team: create, rename, switch, members, invitations, roles, audit log.
// The tenant is always the session's active membership (req.principal.workspace), never the request.
//
//   GET  /workspaces                       signed-in  my workspaces with my role, the active one marked, switch buttons
//   POST /workspaces/switch                signed-in  make one of MY workspaces active (workspaceId; anything else 404) → /inbox
//   GET  /workspaces/new                   signed-in  form to create a workspace
//   POST /workspaces/new                   signed-in  create it, become its owner, switch to it → /inbox
//   GET  /settings                         agent      → /settings/workspace (admins) or /settings/members (agents)
//   GET  /settings/workspace               admin      name and the two-factor requirement
//   POST /settings/workspace               admin      rename
//   POST /settings/workspace/two-factor    owner      require (required=1) or stop requiring two-factor authentication
//   GET  /settings/audit                   admin      the workspace's security audit log (?before=<cursor> for older)
//   GET  /settings/audit.csv               admin      all of it as a spreadsheet (audited)
// Members and invitations: see members.routes.ts and invites.routes.ts (registered from here).
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'
import { checkbox, field, messages } from '../../platform/http/forms.js'
import { roleAtLeast } from '../../platform/http/policy.js'
import { auditSentence, listWorkspaceAuditNamed, recordAudit, shortIp } from '../audit/audit.service.js'
import { csvLine, utf8Bom } from '../contacts/csv.js'
import { sendDownload } from '../../platform/http/download.js'
import { listMemberships } from './workspaces.service.js'
import { createOwnedWorkspace, renameWorkspace, setTwoFactorRequired, switchWorkspace, workspaceSettings } from './team.service.js'
import { actorOf, avatar, doneFlash, queryValue } from './view-helpers.js'
import { memberRoutes } from './members.routes.js'
import { inviteRoutes } from './invites.routes.js'

const auditPageSize = 50

/** Parses an audit cursor "<createdAt>.<id>"; undefined when absent or malformed. */
function parseCursor (raw: string): { createdAt: number, id: string } | undefined {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/.exec(raw)
  return m === null ? undefined : { createdAt: Number(m[1]), id: m[2]! }
}

/** Registers the workspace, settings and audit-log routes, then the member and invitation routes (see the list above). */
export async function workspacesRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  // ── my workspaces ──
  app.get('/workspaces', { config: { policy: 'signed-in' } }, async (req, reply) => {
    const p = req.principal!
    const workspaces = listMemberships(deps.db, p.userId).map(w => ({ id: w.id, name: w.name, role: w.role, active: w.id === p.workspace?.id, ...avatar(w.name, w.id) }))
    return reply.page('workspaces/index', { titleKey: 'workspaces.title', nav: 'settings', list: workspaces, flash: doneFlash(req) })
  })

  app.post('/workspaces/switch', { config: { policy: 'signed-in' } }, async (req, reply) => {
    const p = req.principal!
    switchWorkspace(deps, { userId: p.userId, sessionId: p.sessionId }, field(req, 'workspaceId', 100))
    return reply.redirect('/inbox', 303)
  })

  app.get('/workspaces/new', { config: { policy: 'signed-in' } }, async (_req, reply) => {
    return reply.page('workspaces/new', { titleKey: 'workspaces.new.title', nav: 'settings', values: {}, errors: {} })
  })

  app.post('/workspaces/new', { config: { policy: 'signed-in', rateLimit: { max: 10, timeWindow: 60_000 } } }, async (req, reply) => {
    const p = req.principal!
    const name = field(req, 'name', 200)
    const result = createOwnedWorkspace(deps, { userId: p.userId, sessionId: p.sessionId, ip: req.ip }, name)
    if (!result.ok) return reply.code(422).page('workspaces/new', { titleKey: 'workspaces.new.title', nav: 'settings', values: { name }, errors: messages(req.t, result.errors) })
    return reply.redirect('/inbox', 303)
  })

  // ── workspace settings ──
  app.get('/settings', { config: { policy: 'agent' } }, async (req, reply) => {
    return reply.redirect(roleAtLeast(req.principal!.workspace!.role, 'admin') ? '/settings/workspace' : '/settings/members', 303)
  })

  function workspacePage (req: Parameters<typeof actorOf>[0], data: Record<string, unknown> = {}): Record<string, unknown> {
    const settings = workspaceSettings(deps, actorOf(req))
    return { titleKey: 'settingsNav.workspace', nav: 'settings', tab: 'workspace', settings, values: { name: settings.name }, errors: {}, ...data }
  }

  app.get('/settings/workspace', { config: { policy: 'admin' } }, async (req, reply) => {
    return reply.page('settings/workspace', workspacePage(req, { flash: doneFlash(req) }))
  })

  app.post('/settings/workspace', { config: { policy: 'admin' } }, async (req, reply) => {
    const name = field(req, 'name', 200)
    const result = renameWorkspace(deps, actorOf(req), name)
    if (!result.ok) return reply.code(422).page('settings/workspace', workspacePage(req, { values: { name }, errors: messages(req.t, result.errors) }))
    return reply.redirect('/settings/workspace?done=renamed', 303)
  })

  app.post('/settings/workspace/two-factor', { config: { policy: 'owner' } }, async (req, reply) => {
    const required = checkbox(req, 'required')
    const result = setTwoFactorRequired(deps, actorOf(req), required)
    if (!result.ok) return reply.code(422).page('settings/workspace', workspacePage(req, { errors: messages(req.t, result.errors) }))
    return reply.redirect(`/settings/workspace?done=${required ? 'twoFactorOn' : 'twoFactorOff'}`, 303)
  })

  // ── audit log ──
  app.get('/settings/audit.csv', { config: { policy: 'admin', rateLimit: { max: 10, timeWindow: 60_000 } } }, async (req, reply) => {
    const actor = actorOf(req)
    const now = deps.clock.now()
    recordAudit(deps.db, { action: 'audit_exported', workspaceId: actor.workspaceId, actorUserId: actor.userId, ip: req.ip }, now)
    function * lines (): Generator<string> {
      yield utf8Bom + csvLine(['time', 'action', 'what', 'who', 'details', 'ip'])
      let before: { createdAt: number, id: string } | undefined
      for (;;) {
        const page = listWorkspaceAuditNamed(deps.db, actor.workspaceId, { limit: 500, before })
        for (const row of page.rows) yield csvLine([new Date(row.createdAt).toISOString(), row.action, auditSentence(req.t, row), row.actorName ?? '', JSON.stringify(row.details ?? {}), shortIp(row.ip)])
        if (page.next === undefined) return
        before = page.next
      }
    }
    return sendDownload(reply, 'text/csv; charset=utf-8', { fileName: `audit-log-${new Date(now).toISOString().slice(0, 10)}.csv`, stream: lines() })
  })

  app.get('/settings/audit', { config: { policy: 'admin' } }, async (req, reply) => {
    const actor = actorOf(req)
    const before = parseCursor(queryValue(req, 'before', 100))
    const page = listWorkspaceAuditNamed(deps.db, actor.workspaceId, { limit: auditPageSize, before })
    const entries = page.rows.map(row => ({
      id: row.id,
      at: row.createdAt,
      action: row.action,
      sentence: auditSentence(req.t, row),
      actor: row.actorName === null ? undefined : avatar(row.actorName, row.actorEmail ?? row.actorUserId ?? ''),
      ip: shortIp(row.ip)
    }))
    const next = page.next === undefined ? undefined : `${page.next.createdAt}.${page.next.id}`
    return reply.page('settings/audit', { titleKey: 'settingsNav.audit', nav: 'settings', tab: 'audit', entries, next, older: before !== undefined })
  })

  await memberRoutes(app, deps)
  await inviteRoutes(app, deps)
}

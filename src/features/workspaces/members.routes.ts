// The members of the active workspace and its pending invitations. Registered by workspaces.routes.ts.
//
//   GET  /settings/members                          agent   members and pending invitations (admins get the controls)
//   POST /settings/members/invite                   admin   invite an address as admin or agent (rate-limited)
//   POST /settings/members/invites/:inviteId/revoke admin   revoke a pending invitation (another workspace's id → 404)
//   GET  /settings/members/:userId                  admin   manage one member, for browsers without JavaScript (else a dialog)
//   POST /settings/members/:userId/role             admin   change a member's role (role=owner|admin|agent)
//   GET  /settings/members/:userId/remove           admin   confirmation page, for browsers without JavaScript
//   POST /settings/members/:userId/remove           admin   remove a member (their sessions end)
//   GET  /settings/members/leave                    agent   confirmation page, for browsers without JavaScript
//   POST /settings/members/leave                    agent   leave the workspace → /workspaces
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, messages } from '../../platform/http/forms.js'
import { roleAtLeast } from '../../platform/http/policy.js'
import { inviteMember, revokeInvitation } from './invites.service.js'
import { allowedActions, changeMemberRole, leaveWorkspace, listTeam, memberToManage, removeMember } from './team.service.js'
import { countOwnersOf } from './workspaces.service.js'
import { actorOf, avatar, doneFlash } from './view-helpers.js'

/** Registers the member and pending-invitation routes listed above; the tenant is always the session's active workspace. */
export async function memberRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  /** Everything the members page shows; `data` adds form values, errors or a problem notice. */
  function membersPage (req: FastifyRequest, data: Record<string, unknown> = {}): Record<string, unknown> {
    const actor = actorOf(req)
    const team = listTeam(deps, actor.workspaceId)
    const members = team.members.map(m => ({
      userId: m.userId,
      name: m.name,
      email: m.email,
      role: m.role,
      joinedAt: m.joinedAt,
      twoFactorEnabled: m.twoFactorEnabled,
      me: m.userId === actor.userId,
      ...avatar(m.name, m.email),
      actions: allowedActions(actor, m)
    }))
    const owners = team.members.filter(m => m.role === 'owner').length
    return {
      titleKey: 'settingsNav.members',
      nav: 'settings',
      tab: 'members',
      members,
      invites: team.invites,
      canManage: roleAtLeast(actor.role, 'admin'),
      lastOwner: actor.role === 'owner' && owners <= 1,
      values: { role: 'agent' },
      errors: {},
      ...data
    }
  }

  app.get('/settings/members', { config: { policy: 'agent' } }, async (req, reply) => {
    return reply.page('settings/members', membersPage(req, { flash: doneFlash(req) }))
  })

  app.post('/settings/members/invite', { config: { policy: 'admin', rateLimit: { max: 20, timeWindow: 60_000 } } }, async (req, reply) => {
    const values = { email: field(req, 'email', 400), role: field(req, 'role', 20) }
    const result = inviteMember(deps, actorOf(req), values)
    if (!result.ok) return reply.code(422).page('settings/members', membersPage(req, { values, errors: messages(req.t, result.errors) }))
    return reply.redirect('/settings/members?done=invited', 303)
  })

  app.post('/settings/members/invites/:inviteId/revoke', { config: { policy: 'admin' } }, async (req, reply) => {
    revokeInvitation(deps, actorOf(req), (req.params as { inviteId: string }).inviteId)
    return reply.redirect('/settings/members?done=revoked', 303)
  })

  app.post('/settings/members/:userId/role', { config: { policy: 'admin' } }, async (req, reply) => {
    const result = changeMemberRole(deps, actorOf(req), (req.params as { userId: string }).userId, field(req, 'role', 20))
    if (!result.ok) return reply.code(422).page('settings/members', membersPage(req, { problem: messages(req.t, result.errors) }))
    // Changing one's own role ends one's other sessions only; the page may now be out of reach.
    return reply.redirect('/settings/members?done=roleChanged', 303)
  })

  // ── removal and leaving: a <dialog> confirms with JavaScript, these pages without ──
  app.get('/settings/members/leave', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    return reply.page('settings/confirm', { titleKey: 'members.leave.pageTitle', nav: 'settings', kind: 'leave', lastOwner: actor.role === 'owner' && countOwnersOf(deps, actor.workspaceId) <= 1 })
  })

  app.post('/settings/members/leave', { config: { policy: 'agent' } }, async (req, reply) => {
    const result = leaveWorkspace(deps, actorOf(req))
    if (!result.ok) return reply.code(422).page('settings/members', membersPage(req, { problem: messages(req.t, result.errors) }))
    return reply.redirect('/workspaces?done=left', 303)
  })

  app.get('/settings/members/:userId', { config: { policy: 'admin' } }, async (req, reply) => {
    const { member, actions } = memberToManage(deps, actorOf(req), (req.params as { userId: string }).userId)
    return reply.page('settings/member', { titleKey: 'members.manageTitle', nav: 'settings', member: { ...member, ...avatar(member.name, member.email), actions } })
  })

  app.get('/settings/members/:userId/remove', { config: { policy: 'admin' } }, async (req, reply) => {
    const { member } = memberToManage(deps, actorOf(req), (req.params as { userId: string }).userId, 'remove')
    return reply.page('settings/confirm', { titleKey: 'members.remove.pageTitle', nav: 'settings', kind: 'remove', member: { userId: member.userId, name: member.name, email: member.email, role: member.role } })
  })

  app.post('/settings/members/:userId/remove', { config: { policy: 'admin' } }, async (req, reply) => {
    const actor = actorOf(req)
    const userId = (req.params as { userId: string }).userId
    const result = removeMember(deps, actor, userId)
    if (!result.ok) return reply.code(422).page('settings/members', membersPage(req, { problem: messages(req.t, result.errors) }))
    return reply.redirect(userId === actor.userId ? '/workspaces?done=left' : '/settings/members?done=removed', 303)
  })
}

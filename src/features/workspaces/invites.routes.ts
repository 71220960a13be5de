// Accepting an invitation from its emailed link. Registered by workspaces.routes.ts.
//
//   GET  /invites/accept?token=   public  unknown/used/expired/revoked → 410 with a way forward; signed in → "Join <workspace>";
//                                         otherwise sign in (when the address has an account) or create an account here
//   POST /invites/accept          public  token (+ name, password for a new account) → signed in, in that workspace → /inbox
// The pages send Referrer-Policy: no-referrer so the token never leaks to another site.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, messages } from '../../platform/http/forms.js'
import { startSession } from '../auth/sessions.service.js'
import { acceptInvite, acceptInviteWithNewAccount, inviteForToken, type InviteView } from './invites.service.js'
import { findMembership } from './workspaces.service.js'
import { queryValue } from './view-helpers.js'

/** Registers the public invitation-acceptance routes listed above. */
export async function inviteRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  /** The visitor when fully signed in (a session still waiting for its second factor does not count). */
  function signedIn (req: FastifyRequest): { userId: string, sessionId: string, name: string, email: string } | undefined {
    const p = req.principal
    return p?.twoFactorVerified === true ? p : undefined
  }

  function gone (reply: FastifyReply, req: FastifyRequest): FastifyReply {
    return reply.code(410).page('workspaces/invite-gone', { titleKey: 'invites.gone.title', signedIn: signedIn(req) !== undefined })
  }

  function invitePage (req: FastifyRequest, reply: FastifyReply, token: string, invite: InviteView, data: Record<string, unknown> = {}): FastifyReply {
    const me = signedIn(req)
    const state = me !== undefined
      ? (findMembership(deps.db, invite.workspaceId, me.userId) === undefined ? 'join' : 'member')
      : (invite.accountExists ? 'signin' : 'signup')
    const loginUrl = `/login?next=${encodeURIComponent(`/invites/accept?token=${encodeURIComponent(token)}`)}`
    return reply.page('workspaces/invite', { titleKey: 'invites.title', titleParams: { workspace: invite.workspaceName }, token, invite, state, me, loginUrl, values: {}, errors: {}, ...data })
  }

  app.get('/invites/accept', { config: { policy: 'public' } }, async (req, reply) => {
    reply.header('referrer-policy', 'no-referrer')
    const token = queryValue(req, 'token', 200)
    const invite = inviteForToken(deps, token)
    if (invite === undefined) return gone(reply, req)
    return invitePage(req, reply, token, invite)
  })

  app.post('/invites/accept', { config: { policy: 'public', rateLimit: { max: 10, timeWindow: 60_000 } } }, async (req, reply) => {
    reply.header('referrer-policy', 'no-referrer')
    const token = field(req, 'token', 200)
    const me = signedIn(req)
    if (me !== undefined) {
      const outcome = acceptInvite(deps, token, { userId: me.userId, sessionId: me.sessionId, ip: req.ip })
      if (!outcome.ok) return gone(reply, req)
      return reply.redirect('/inbox', 303)
    }
    const name = field(req, 'name', 200)
    const outcome = await acceptInviteWithNewAccount(deps, token, { name, password: field(req, 'password', 4096), locale: req.locale }, req.ip)
    if (outcome.ok) {
      startSession(deps, req, reply, { userId: outcome.userId, twoFactorVerified: true, workspaceId: outcome.workspaceId })
      return reply.redirect('/inbox', 303)
    }
    if ('gone' in outcome) return gone(reply, req)
    const invite = inviteForToken(deps, token)
    if (invite === undefined) return gone(reply, req)
    if ('signIn' in outcome) return invitePage(req, reply.code(409), token, invite, { notice: req.t('invites.signup.accountExists') })
    return invitePage(req, reply.code(422), token, invite, { values: { name }, errors: messages(req.t, outcome.errors) })
  })
}

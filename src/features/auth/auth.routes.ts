// Signing up, in and out, and the links mailed for email verification and password resets.
//
//   GET  /setup            first-run form: the instance owner and the first workspace (only while no account exists)
//   POST /setup            create them and sign in
//   GET  /login            sign-in form (?done=deleted: "your account was deleted")    POST /login    check, then the second factor or the app
//   POST /logout           end this session
//   GET  /register         sign-up form (server.allow_signup)    POST /register
//   GET  /forgot           ask for a reset link    POST /forgot   always the same answer
//   GET  /reset-password   form from the emailed link (?token=)  POST /reset-password
//   GET  /verify-email     confirm an address (?token=)
//   POST /verify-email/resend   send a new verification link to the signed-in user
//   GET  /confirm-email    confirm a changed address (?token=)
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, messages, safeNext } from '../../platform/http/forms.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { recordAudit } from '../audit/audit.service.js'
import {
  confirmEmailChange, login, register, requestPasswordReset, resendVerification, resetPassword, resetTokenUsable, setupInstance, setupOpen, verifyEmail
} from './auth.service.js'
import { clearSessionCookie, endSession, startSession } from './sessions.service.js'

const limited = (max: number) => ({ rateLimit: { max, timeWindow: 60_000 } })

export async function authRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  const signedInHome = '/inbox'

  function accountForm (req: FastifyRequest): { name: string, email: string, password: string, workspaceName: string } {
    return { name: field(req, 'name', 200), email: field(req, 'email', 400), password: field(req, 'password', 4096), workspaceName: field(req, 'workspaceName', 200) }
  }

  // ── first run ──
  app.get('/setup', { config: { policy: 'public' } }, async (req, reply) => {
    if (!setupOpen(deps)) return reply.redirect(req.principal === undefined ? '/login' : signedInHome, 303)
    return reply.page('auth/setup', { titleKey: 'setup.title', values: {}, errors: {} })
  })

  app.post('/setup', { config: { policy: 'public', ...limited(10) } }, async (req, reply) => {
    if (!setupOpen(deps)) return reply.redirect('/login', 303)
    const form = accountForm(req)
    const result = await setupInstance(deps, { ...form, locale: req.locale }, req.ip)
    if (!result.ok) {
      return reply.code(422).page('auth/setup', { titleKey: 'setup.title', values: form, errors: messages(req.t, result.errors) })
    }
    startSession(deps, req, reply, { userId: result.value.userId, twoFactorVerified: true, workspaceId: result.value.workspaceId })
    return reply.redirect(signedInHome, 303)
  })

  // ── sign in / out ──
  app.get('/login', { config: { policy: 'public' } }, async (req, reply) => {
    if (setupOpen(deps)) return reply.redirect('/setup', 303)
    if (req.principal?.twoFactorVerified === true) return reply.redirect(safeNext((req.query as Record<string, unknown>).next, signedInHome), 303)
    const query = req.query as Record<string, unknown>
    // After "delete my account" (account.routes.ts): a fixed notice, nothing from the URL is echoed.
    const notice = query.done === 'deleted' ? req.t('account.delete.doneNotice', { days: deps.config.privacy.account_purge_days }) : undefined
    return reply.page('auth/login', { titleKey: 'login.title', values: {}, errors: {}, next: safeNext(query.next, ''), allowSignup: deps.config.server.allow_signup, notice })
  })

  app.post('/login', { config: { policy: 'public', ...limited(30) } }, async (req, reply) => {
    const email = field(req, 'email', 400)
    const next = safeNext(field(req, 'next'), '')
    const outcome = await login(deps, { email, password: field(req, 'password', 4096) }, req.ip)
    if (!outcome.ok) {
      const message = outcome.reason === 'throttled'
        ? req.t('login.throttled', { minutes: Math.max(1, Math.ceil((outcome.retryAt - deps.clock.now()) / 60_000)) })
        : req.t('login.invalid')
      if (outcome.reason === 'throttled') reply.header('retry-after', String(Math.max(1, Math.ceil((outcome.retryAt - deps.clock.now()) / 1000))))
      return reply.code(outcome.reason === 'throttled' ? 429 : 422).page('auth/login', { titleKey: 'login.title', values: { email }, errors: { form: message }, next, allowSignup: deps.config.server.allow_signup })
    }
    startSession(deps, req, reply, { userId: outcome.user.id, twoFactorVerified: !outcome.twoFactor })
    if (outcome.twoFactor) return reply.redirect(`/login/two-factor${next === '' ? '' : `?next=${encodeURIComponent(next)}`}`, 303)
    recordAudit(deps.db, { action: 'login', actorUserId: outcome.user.id, subjectUserId: outcome.user.id, ip: req.ip }, deps.clock.now())
    return reply.redirect(next === '' ? signedInHome : next, 303)
  })

  app.post('/logout', { config: { policy: 'two-factor' } }, async (req, reply) => {
    const p = req.principal!
    endSession(deps.db, p.sessionId)
    recordAudit(deps.db, { action: 'logout', actorUserId: p.userId, subjectUserId: p.userId, ip: req.ip }, deps.clock.now())
    clearSessionCookie(req, reply)
    return reply.redirect('/login', 303)
  })

  // ── sign up ──
  app.get('/register', { config: { policy: 'public' } }, async (req, reply) => {
    if (!deps.config.server.allow_signup) throw new NotFoundError()
    return reply.page('auth/register', { titleKey: 'register.title', values: {}, errors: {} })
  })

  app.post('/register', { config: { policy: 'public', ...limited(10) } }, async (req, reply) => {
    if (!deps.config.server.allow_signup) throw new NotFoundError()
    const form = accountForm(req)
    const result = await register(deps, { ...form, locale: req.locale }, req.ip)
    if (!result.ok) return reply.code(422).page('auth/register', { titleKey: 'register.title', values: form, errors: messages(req.t, result.errors) })
    return reply.page('auth/check-email', { titleKey: 'checkEmail.title', messageKey: 'register.sent' })
  })

  // ── forgotten password ──
  app.get('/forgot', { config: { policy: 'public' } }, async (req, reply) => {
    return reply.page('auth/forgot', { titleKey: 'forgot.title', values: {}, errors: {} })
  })

  app.post('/forgot', { config: { policy: 'public', ...limited(10) } }, async (req, reply) => {
    requestPasswordReset(deps, field(req, 'email', 400))
    return reply.page('auth/check-email', { titleKey: 'checkEmail.title', messageKey: 'forgot.sent' })
  })

  function noReferrer (reply: FastifyReply): FastifyReply {
    return reply.header('referrer-policy', 'no-referrer')
  }

  app.get('/reset-password', { config: { policy: 'public' } }, async (req, reply) => {
    const token = String((req.query as Record<string, unknown>).token ?? '')
    noReferrer(reply)
    if (!resetTokenUsable(deps, token)) return reply.code(410).page('auth/link-result', { titleKey: 'link.expired.title', state: 'expired', kind: 'reset' })
    return reply.page('auth/reset', { titleKey: 'reset.title', token, errors: {} })
  })

  app.post('/reset-password', { config: { policy: 'public', ...limited(10) } }, async (req, reply) => {
    noReferrer(reply)
    const token = field(req, 'token', 200)
    const result = await resetPassword(deps, token, field(req, 'password', 4096), req.ip)
    if (!result.ok && 'expired' in result) return reply.code(410).page('auth/link-result', { titleKey: 'link.expired.title', state: 'expired', kind: 'reset' })
    if (!result.ok) return reply.code(422).page('auth/reset', { titleKey: 'reset.title', token, errors: messages(req.t, result.errors) })
    return reply.page('auth/link-result', { titleKey: 'reset.done.title', state: 'ok', kind: 'reset' })
  })

  // ── emailed confirmations ──
  app.get('/verify-email', { config: { policy: 'public' } }, async (req, reply) => {
    noReferrer(reply)
    const ok = verifyEmail(deps, String((req.query as Record<string, unknown>).token ?? ''))
    return reply.code(ok ? 200 : 410).page('auth/link-result', { titleKey: ok ? 'verify.done.title' : 'link.expired.title', state: ok ? 'ok' : 'expired', kind: 'verify' })
  })

  app.post('/verify-email/resend', { config: { policy: 'signed-in', ...limited(5) } }, async (req, reply) => {
    resendVerification(deps, req.principal!.userId)
    return reply.page('auth/check-email', { titleKey: 'checkEmail.title', messageKey: 'verify.resent' })
  })

  app.get('/confirm-email', { config: { policy: 'public' } }, async (req, reply) => {
    noReferrer(reply)
    const ok = confirmEmailChange(deps, String((req.query as Record<string, unknown>).token ?? ''))
    return reply.code(ok ? 200 : 410).page('auth/link-result', { titleKey: ok ? 'confirmEmail.done.title' : 'link.expired.title', state: ok ? 'ok' : 'expired', kind: 'email' })
  })
}

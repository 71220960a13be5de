// A person's own account: profile, email, password, sessions, two-factor authentication, and the
// second step of signing in.
//
//   GET  /settings/profile                                  name, language, time zone, email      signed-in
//   POST /settings/profile                                  save name, language and time zone      signed-in
//   POST /settings/profile/email                            change email (password; link to the new address)  signed-in
//   GET  /settings/security                                 password, two-factor, sessions (?required=1)  signed-in
//   POST /settings/security/password                        change password (current one), new cookie  signed-in
//   POST /settings/security/sessions/:id/revoke             sign one of my devices out (:id = its handle)  signed-in
//   POST /settings/security/sessions/revoke-others          log out everywhere else                 signed-in
//   POST /settings/security/two-factor/start                new secret + QR (password)              signed-in
//   POST /settings/security/two-factor/confirm              first code → on, recovery codes shown once  signed-in
//   POST /settings/security/two-factor/cancel               abandon a pending set-up                signed-in
//   GET  /settings/security/two-factor/disable              the "turn off" form                     signed-in
//   POST /settings/security/two-factor/disable              turn off (password + code)              signed-in
//   GET  /settings/security/two-factor/recovery-codes       the "new recovery codes" form           signed-in
//   POST /settings/security/two-factor/recovery-codes       new recovery codes (password), shown once  signed-in
//   GET  /settings/my-data                                  everything stored about me, grouped     signed-in
//   GET  /settings/my-data/archive.zip                      the same as a ZIP of JSON + CSV (audited)  signed-in
//   GET  /settings/my-data/delete                           "delete my account": what happens; sole-owned workspaces block it  signed-in
//   POST /settings/my-data/delete                           password + the typed word → deleted, signed out → /login?done=deleted  signed-in
//   GET  /login/two-factor                                  the second sign-in step                 two-factor
//   POST /login/two-factor                                  check a TOTP or recovery code           two-factor
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { sendDownload } from '../../platform/http/download.js'
import { field, messages, safeNext, sameWord, wordPattern } from '../../platform/http/forms.js'
import { clearSessionCookie, startSession } from '../auth/sessions.service.js'
import {
  changeOwnPassword, profileView, revokeOtherSessions, revokeSession, securityOverview, startEmailChange, updateProfile
} from './account.service.js'
import { deleteOwnAccount, purgeDate, soleOwnedWorkspaces } from './deletion.service.js'
import { myDataArchive, myDataView } from './my-data.service.js'
import {
  cancelEnrolment, confirmEnrolment, disableTwoFactor, regenerateRecoveryCodes, startEnrolment, TwoFactorMemory, verifySignInCode, type Enrolment
} from './two-factor.service.js'

const limited = (max: number) => ({ rateLimit: { max, timeWindow: 60_000 } })
const signedIn = { policy: 'signed-in' as const }

/** Success messages after a redirect (?done=…): a fixed list, nothing from the URL is echoed. */
const doneMessages: Record<string, string> = {
  profile: 'account.flash.profileSaved',
  password: 'account.flash.passwordChanged',
  revoked: 'account.flash.sessionRevoked',
  others: 'account.flash.othersRevoked',
  twoFactorOff: 'account.flash.twoFactorOff',
  cancelled: 'account.flash.enrolmentCancelled'
}

type SecurityForm = 'password' | 'start' | 'confirm'

export async function accountRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  const memory = new TwoFactorMemory()

  function query (req: FastifyRequest): Record<string, unknown> {
    return (req.query ?? {}) as Record<string, unknown>
  }

  function flashFor (req: FastifyRequest): Array<{ kind: 'success', message: string }> {
    const key = doneMessages[String(query(req).done ?? '')]
    return key === undefined ? [] : [{ kind: 'success', message: req.t(key) }]
  }

  // ── profile ──
  function profilePage (req: FastifyRequest, reply: FastifyReply, extra: { values?: Record<string, string>, errors?: Record<string, string>, form?: 'profile' | 'email', emailSent?: boolean } = {}): FastifyReply {
    return reply.page('account/profile', {
      titleKey: 'account.profile.title',
      nav: 'profile',
      tab: 'profile',
      profile: profileView(deps, req.principal!),
      values: extra.values ?? {},
      errors: extra.errors ?? {},
      form: extra.form,
      emailSent: extra.emailSent ?? String(query(req).emailSent ?? '') === '1',
      flash: flashFor(req)
    })
  }

  app.get('/settings/profile', { config: signedIn }, async (req, reply) => profilePage(req, reply))

  app.post('/settings/profile', { config: signedIn }, async (req, reply) => {
    const values = { name: field(req, 'name', 200), locale: field(req, 'locale', 40), timeZone: field(req, 'timeZone', 80) }
    const result = updateProfile(deps, req.principal!.userId, values)
    if (!result.ok) return profilePage(req, reply.code(422), { values, errors: messages(req.t, result.errors), form: 'profile' })
    return reply.redirect('/settings/profile?done=profile', 303)
  })

  app.post('/settings/profile/email', { config: { ...signedIn, ...limited(10) } }, async (req, reply) => {
    const email = field(req, 'email', 400)
    const result = await startEmailChange(deps, req.principal!.userId, { email, current: field(req, 'current', 4096) }, req.ip)
    if (!result.ok) return profilePage(req, reply.code(422), { values: { email }, errors: messages(req.t, result.errors), form: 'email' })
    return reply.redirect('/settings/profile?emailSent=1', 303)
  })

  // ── security ──
  function securityPage (req: FastifyRequest, reply: FastifyReply, extra: { form?: SecurityForm, errors?: Record<string, string>, enrolment?: Enrolment } = {}): FastifyReply {
    const overview = securityOverview(deps, memory, req.principal!)
    const twoFactor = extra.enrolment === undefined ? overview.twoFactor : { ...overview.twoFactor, enrolment: extra.enrolment }
    return reply.page('account/security', {
      titleKey: 'account.security.title',
      nav: 'profile',
      tab: 'security',
      sessions: overview.sessions,
      twoFactor,
      required: String(query(req).required ?? '') === '1' && !twoFactor.enabled,
      form: extra.form,
      errors: extra.errors ?? {},
      flash: flashFor(req)
    })
  }

  app.get('/settings/security', { config: signedIn }, async (req, reply) => securityPage(req, reply))

  app.post('/settings/security/password', { config: { ...signedIn, ...limited(10) } }, async (req, reply) => {
    const p = req.principal!
    const result = await changeOwnPassword(deps, p, { current: field(req, 'current', 4096), password: field(req, 'password', 4096) }, req.ip)
    if (!result.ok) return securityPage(req, reply.code(422), { form: 'password', errors: messages(req.t, result.errors) })
    startSession(deps, req, reply, { userId: p.userId, twoFactorVerified: true, workspaceId: p.workspace?.id ?? null })
    return reply.redirect('/settings/security?done=password', 303)
  })

  app.post('/settings/security/sessions/revoke-others', { config: signedIn }, async (req, reply) => {
    revokeOtherSessions(deps, req.principal!, req.ip)
    return reply.redirect('/settings/security?done=others#sessions', 303)
  })

  app.post('/settings/security/sessions/:id/revoke', { config: signedIn }, async (req, reply) => {
    const handle = String((req.params as Record<string, unknown>).id ?? '').slice(0, 64)
    const { current } = revokeSession(deps, req.principal!, handle, req.ip)
    if (current) {
      clearSessionCookie(req, reply)
      return reply.redirect('/login', 303)
    }
    return reply.redirect('/settings/security?done=revoked#sessions', 303)
  })

  app.post('/settings/security/two-factor/start', { config: { ...signedIn, ...limited(10) } }, async (req, reply) => {
    const result = await startEnrolment(deps, memory, req.principal!, field(req, 'current', 4096))
    if (!result.ok) return securityPage(req, reply.code(422), { form: 'start', errors: messages(req.t, result.errors) })
    return securityPage(req, reply, { form: 'confirm', enrolment: result.value })
  })

  app.post('/settings/security/two-factor/confirm', { config: { ...signedIn, ...limited(20) } }, async (req, reply) => {
    const result = confirmEnrolment(deps, memory, req.principal!, field(req, 'code', 100), req.ip)
    if (!result.ok && 'expired' in result) return securityPage(req, reply.code(422), { form: 'start', errors: { form: req.t('twoFactor.enrolExpired') } })
    if (!result.ok) return securityPage(req, reply.code(422), { form: 'confirm', errors: messages(req.t, result.errors) })
    return reply.page('account/recovery-codes', { titleKey: 'twoFactor.enabled.title', nav: 'profile', codes: result.value.codes, justEnabled: true })
  })

  app.post('/settings/security/two-factor/cancel', { config: signedIn }, async (req, reply) => {
    cancelEnrolment(deps, memory, req.principal!)
    return reply.redirect('/settings/security?done=cancelled#two-factor', 303)
  })

  function disablePage (req: FastifyRequest, reply: FastifyReply, errors: Record<string, string> = {}): FastifyReply {
    return reply.page('account/two-factor-disable', { titleKey: 'twoFactor.disable.title', nav: 'profile', errors, requiredBy: securityOverview(deps, memory, req.principal!).twoFactor.requiredBy })
  }

  app.get('/settings/security/two-factor/disable', { config: signedIn }, async (req, reply) => disablePage(req, reply))

  app.post('/settings/security/two-factor/disable', { config: { ...signedIn, ...limited(10) } }, async (req, reply) => {
    const result = await disableTwoFactor(deps, memory, req.principal!, { current: field(req, 'current', 4096), code: field(req, 'code', 100) }, req.ip)
    if (!result.ok) return disablePage(req, reply.code(422), messages(req.t, result.errors))
    return reply.redirect('/settings/security?done=twoFactorOff#two-factor', 303)
  })

  function regeneratePage (reply: FastifyReply, errors: Record<string, string> = {}): FastifyReply {
    return reply.page('account/recovery-regenerate', { titleKey: 'twoFactor.recovery.regenerate', nav: 'profile', errors })
  }

  app.get('/settings/security/two-factor/recovery-codes', { config: signedIn }, async (_req, reply) => regeneratePage(reply))

  app.post('/settings/security/two-factor/recovery-codes', { config: { ...signedIn, ...limited(10) } }, async (req, reply) => {
    const result = await regenerateRecoveryCodes(deps, req.principal!, field(req, 'current', 4096), req.ip)
    if (!result.ok) return regeneratePage(reply.code(422), messages(req.t, result.errors))
    return reply.page('account/recovery-codes', { titleKey: 'twoFactor.recovery.newTitle', nav: 'profile', codes: result.value.codes, justEnabled: false })
  })

  // ── my data: see it, download it, delete the account ──
  app.get('/settings/my-data', { config: signedIn }, async (req, reply) => {
    return reply.page('account/my-data', {
      titleKey: 'account.myData.title',
      nav: 'profile',
      tab: 'myData',
      data: myDataView(deps, req.principal!, req.t),
      purgeDays: deps.config.privacy.account_purge_days
    })
  })

  app.get('/settings/my-data/archive.zip', { config: { ...signedIn, ...limited(10) } }, async (req, reply) => {
    return sendDownload(reply, 'application/zip', myDataArchive(deps, req.principal!, req.t, req.ip))
  })

  // The person types a localized word (DELETE, EXCLUIR) and their password. A sole owner of a workspace
  // gets no form: they hand the workspace over (or delete it) first. Nothing is erased on a 4xx.
  function deletePage (req: FastifyRequest, reply: FastifyReply, extra: { typed?: string, errors?: Record<string, string>, soleOwner?: Array<{ id: string, name: string, slug: string }> } = {}): FastifyReply {
    const p = req.principal!
    const word = req.t('account.delete.word')
    return reply.page('account/my-data-delete', {
      titleKey: 'account.delete.title',
      nav: 'profile',
      soleOwner: extra.soleOwner ?? soleOwnedWorkspaces(deps.db, p.userId),
      activeWorkspaceId: p.workspace?.id ?? null,
      purgeAt: purgeDate(deps, deps.clock.now()),
      word,
      wordPattern: wordPattern(word),
      typed: extra.typed ?? '',
      errors: extra.errors ?? {}
    })
  }

  app.get('/settings/my-data/delete', { config: signedIn }, async (req, reply) => deletePage(req, reply))

  app.post('/settings/my-data/delete', { config: { ...signedIn, ...limited(10) } }, async (req, reply) => {
    const p = req.principal!
    const sole = soleOwnedWorkspaces(deps.db, p.userId)
    if (sole.length > 0) return deletePage(req, reply.code(409), { soleOwner: sole })
    const typed = field(req, 'confirm', 100)
    const word = req.t('account.delete.word')
    if (!sameWord(typed, word, req.locale)) {
      return deletePage(req, reply.code(422), { typed, errors: { confirm: req.t(typed.trim() === '' ? 'account.delete.errors.wordEmpty' : 'account.delete.errors.word', { word }) } })
    }
    const result = await deleteOwnAccount(deps, p.userId, field(req, 'current', 4096), req.ip)
    if (!result.ok) {
      if (result.soleOwner !== undefined) return deletePage(req, reply.code(409), { soleOwner: result.soleOwner })
      return deletePage(req, reply.code(422), { typed, errors: messages(req.t, result.errors) })
    }
    clearSessionCookie(req, reply)
    return reply.redirect('/login?done=deleted', 303)
  })

  // ── the second sign-in step ──
  const home = '/inbox'

  function stepPage (reply: FastifyReply, data: { next: string, recovery: boolean, error?: string, ended?: boolean }): FastifyReply {
    return reply.page('auth/two-factor', { titleKey: 'twoFactor.signIn.title', next: data.next, recovery: data.recovery, error: data.error, ended: data.ended === true })
  }

  app.get('/login/two-factor', { config: { policy: 'two-factor' } }, async (req, reply) => {
    const next = safeNext(query(req).next, '')
    if (req.principal!.twoFactorVerified) return reply.redirect(next === '' ? home : next, 303)
    return stepPage(reply, { next, recovery: String(query(req).recovery ?? '') === '1' })
  })

  app.post('/login/two-factor', { config: { policy: 'two-factor', ...limited(30) } }, async (req, reply) => {
    const next = safeNext(field(req, 'next', 2000), '')
    const recovery = field(req, 'recovery', 1) === '1'
    if (req.principal!.twoFactorVerified) return reply.redirect(next === '' ? home : next, 303)
    const outcome = verifySignInCode(deps, memory, req.principal!, field(req, 'code', 100), req.ip)
    if (outcome.ok) return reply.redirect(next === '' ? home : next, 303)
    switch (outcome.reason) {
      case 'ended':
        clearSessionCookie(req, reply)
        return stepPage(reply.code(429), { next, recovery, ended: true })
      case 'throttled': {
        const seconds = Math.max(1, Math.ceil((outcome.retryAt - deps.clock.now()) / 1000))
        reply.header('retry-after', String(seconds))
        return stepPage(reply.code(429), { next, recovery, error: req.t('twoFactor.signIn.throttled', { minutes: Math.ceil(seconds / 60) }) })
      }
      case 'replayed':
        return stepPage(reply.code(422), { next, recovery, error: req.t('twoFactor.code.replayed') })
      case 'empty':
        return stepPage(reply.code(422), { next, recovery, error: req.t('twoFactor.code.required') })
      default:
        return stepPage(reply.code(422), { next, recovery, error: req.t('twoFactor.signIn.wrong') })
    }
  })
}

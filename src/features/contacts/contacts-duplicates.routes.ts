// Consent, duplicates and merge, and Settings → Contacts (issue 6 items 3 and 4).
//
//   GET  /contacts/duplicates                       agent  merge suggestions, both contacts side by side
//   GET  /contacts/duplicates/merge?keep=&merge=    agent  confirmation: what merging the two does (or ?keep=&a=&b= from the list)
//   POST /contacts/duplicates/merge                 agent  merge `merge` into `keep` → the suggestions, with a notice
//   GET  /contacts/:contactId/consent               agent  the consent panel (htmx partial; a small page without JavaScript)
//   POST /contacts/:contactId/consent               agent  record an opt-in (with its wording) or an opt-out → the panel
//   GET  /settings/contacts                         admin  default country and opt-out keywords
//   POST /settings/contacts                         admin  save them (audited)
// Another workspace's contact id answers 404, exactly like an unknown one.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, messages } from '../../platform/http/forms.js'
import type { Flash } from '../../platform/http/render.js'
import { consentViewOf, contactSettings, countryOptions, keywordMaxLength, keywordsMax, parseKeywords, saveContactSettings, setConsent, wordingMaxLength, type ConsentView } from './consent.service.js'
import { duplicateSuggestions, mergeCandidates } from './duplicates.service.js'
import { mergeContacts } from './merge.service.js'

type Req = FastifyRequest

function actorOf (req: Req): { userId: string, workspaceId: string, role: 'owner' | 'admin' | 'agent', ip: string } {
  const p = req.principal!
  return { userId: p.userId, workspaceId: p.workspace!.id, role: p.workspace!.role, ip: req.ip }
}

function isHtmx (req: Req): boolean {
  return req.headers['hx-request'] === 'true'
}

function query (req: Req, name: string, max = 64): string {
  const v = (req.query as Record<string, unknown> | undefined)?.[name]
  return typeof v === 'string' ? v.slice(0, max) : ''
}

/** Ids are short url-safe strings; anything else cannot be one (and answers 404 like an unknown id). */
function idOf (value: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(value) ? value : '-'
}

export async function contactsDuplicatesRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  // ── duplicates and merge ──
  app.get('/contacts/duplicates', { config: { policy: 'agent' } }, async (req, reply) => {
    const { workspaceId } = actorOf(req)
    const { items, total } = duplicateSuggestions(deps.db, workspaceId)
    const flash: Flash[] = query(req, 'done', 10) === 'merged' ? [{ kind: 'success', message: req.t('duplicates.merged') }] : []
    return reply.page('contacts/duplicates', { titleKey: 'duplicates.title', nav: 'contacts', items, total, flash })
  })

  app.get('/contacts/duplicates/merge', { config: { policy: 'agent' } }, async (req, reply) => {
    const keep = query(req, 'keep')
    // The suggestions page sends the pair (a, b) and the chosen survivor; the swap link sends keep and merge.
    const a = query(req, 'a')
    const b = query(req, 'b')
    const merge = query(req, 'merge') || (keep === a ? b : keep === b ? a : '')
    if (keep === '' && merge === '') return reply.redirect('/contacts/duplicates', 303)
    const { workspaceId } = actorOf(req)
    const pair = mergeCandidates(deps.db, workspaceId, idOf(keep), idOf(merge))
    return reply.page('contacts/duplicates-merge', { titleKey: 'duplicates.confirm.title', nav: 'contacts', ...pair })
  })

  app.post('/contacts/duplicates/merge', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    mergeContacts(deps, actor, idOf(field(req, 'keep', 64)), idOf(field(req, 'merge', 64)))
    return reply.redirect('/contacts/duplicates?done=merged', 303)
  })

  // ── consent ──
  function consentData (req: Req, consent: ConsentView, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { consent, limits: { wording: wordingMaxLength }, values: {}, errors: {}, ...extra }
  }

  app.get('/contacts/:contactId/consent', { config: { policy: 'agent' } }, async (req, reply) => {
    const { contactId } = req.params as { contactId: string }
    const consent = consentViewOf(deps.db, actorOf(req).workspaceId, idOf(contactId))
    if (isHtmx(req)) return reply.partial('contacts/_consent', consentData(req, consent))
    return reply.page('contacts/consent', { titleKey: 'consent.title', nav: 'contacts', ...consentData(req, consent) })
  })

  app.post('/contacts/:contactId/consent', { config: { policy: 'agent' } }, async (req, reply) => {
    const { contactId } = req.params as { contactId: string }
    const actor = actorOf(req)
    const id = idOf(contactId)
    const state = field(req, 'state', 20)
    const values = { state, wording: field(req, 'wording', wordingMaxLength * 2) }
    // Members record an opt-in or an opt-out; anything else is refused by setConsent's check.
    const recorded = (state === 'opted_in' || state === 'opted_out' ? state : 'invalid') as 'opted_in'
    const result = setConsent(deps.db, actor.workspaceId, id, { state: recorded, source: 'manual', wording: values.wording }, actor.userId, deps.clock.now(), actor.ip)
    if (!result.ok) {
      const data = consentData(req, consentViewOf(deps.db, actor.workspaceId, id), { values, errors: messages(req.t, result.errors), open: state })
      if (isHtmx(req)) return reply.code(422).partial('contacts/_consent', data)
      return reply.code(422).page('contacts/consent', { titleKey: 'consent.title', nav: 'contacts', ...data })
    }
    const consent = consentViewOf(deps.db, actor.workspaceId, id)
    if (isHtmx(req)) return reply.partial('contacts/_consent', consentData(req, consent, { saved: result.changed }))
    return reply.redirect(`/contacts/${id}`, 303)
  })

  // ── Settings → Contacts ──
  function settingsPage (req: Req, data: Record<string, unknown> = {}): Record<string, unknown> {
    const settings = contactSettings(deps.db, actorOf(req).workspaceId)
    return {
      titleKey: 'contactSettings.title',
      nav: 'settings',
      tab: 'contacts',
      countries: countryOptions(req.locale),
      values: settings,
      keywords: parseKeywords(settings.optOutKeywords),
      limits: { keyword: keywordMaxLength, keywords: keywordsMax },
      errors: {},
      ...data
    }
  }

  app.get('/settings/contacts', { config: { policy: 'admin' } }, async (req, reply) => {
    const flash: Flash[] = query(req, 'done', 10) === 'saved' ? [{ kind: 'success', message: req.t('contactSettings.saved') }] : []
    return reply.page('settings/contacts-settings', settingsPage(req, { flash }))
  })

  app.post('/settings/contacts', { config: { policy: 'admin' } }, async (req, reply) => {
    const values = { defaultCountry: field(req, 'defaultCountry', 10), optOutKeywords: field(req, 'optOutKeywords', 2000) }
    const result = saveContactSettings(deps, actorOf(req), values)
    if (!result.ok) return reply.code(422).page('settings/contacts-settings', settingsPage(req, { values, keywords: parseKeywords(values.optOutKeywords), errors: messages(req.t, result.errors) }))
    return reply.redirect('/settings/contacts?done=saved', 303)
  })
}

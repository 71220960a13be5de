// The contacts screens: the list (search, filters, sort, keyset "load more", bulk label and delete),
// the "new contact" form, the contact page with its click-to-edit parts, and Settings → Contact fields.
// Every GET works as a plain page; htmx requests get just the fragment they target, and every POST
// works without JavaScript too (a redirect, or the page again with the error).
//
//   GET  /contacts                                  agent  the list (q, label, field, value, consent, activity, sort; after= cursor)
//   GET  /contacts/new                              agent  the "new contact" form
//   POST /contacts                                  agent  create → the contact page
//   POST /contacts/bulk                             agent  ids (repeated) & op=label:<id> | op=delete (admins: → the confirmation)
//   POST /contacts/delete                           admin  ids (repeated) & confirm=1 → deleted (soft), back to the list
//   GET  /contacts/:contactId                       agent  the contact page (edit=name|notes|field:<id> opens that part for editing)
//   GET  /contacts/:contactId/delete                admin  the confirmation for deleting one contact
//   GET  /contacts/:contactId/forget                admin  "forget this contact": what is erased, what remains, type the word
//   POST /contacts/:contactId/forget                admin  confirm=<the word> → erased for good (forget.service.ts), back to the list
//   GET  /contacts/:contactId/name                  agent  the name header (edit=1: its form)
//   POST /contacts/:contactId/name                  agent  rename
//   GET  /contacts/:contactId/notes                 agent  the notes (edit=1: the form)
//   POST /contacts/:contactId/notes                 agent  save the notes
//   GET  /contacts/:contactId/fields/:fieldId       agent  one custom field (edit=1: its form)
//   POST /contacts/:contactId/fields/:fieldId       agent  save it ('' clears it)
//   POST /contacts/:contactId/phones                agent  phone=<number> adds one, remove=<id> removes one
//   POST /contacts/:contactId/emails                agent  email=<address> adds one, remove=<id> removes one
//   POST /contacts/:contactId/labels                agent  label=<id> & on=1|0, or name=<new label> (created and added)
//   GET  /settings/contact-fields                   admin  the workspace's custom fields and the "new field" form
//   POST /settings/contact-fields                   admin  create (label, type, options)
//   GET  /settings/contact-fields/:fieldId          admin  edit form (rename, options)
//   POST /settings/contact-fields/:fieldId          admin  save
//   POST /settings/contact-fields/:fieldId/move     admin  dir=up|down
//   POST /settings/contact-fields/:fieldId/delete   admin  delete the field and its values
// Another workspace's ids answer 404, exactly like unknown ones.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, messages, sameWord, wordPattern } from '../../platform/http/forms.js'
import { ForbiddenError, NotFoundError } from '../../platform/http/errors.js'
import { roleAtLeast } from '../../platform/http/policy.js'
import type { Flash } from '../../platform/http/render.js'
import { ensureLabel, labelName } from '../labels/labels.service.js'
import { isId } from '../../platform/crypto/index.js'
import { consentView } from './consent.service.js'
import {
  addEmail, addPhone, bulkAddLabel, contactLimits, contactOf, createContact, deleteContacts, removeEmail, removePhone, renameContact, setContactLabel, setNotes
} from './contact-edit.service.js'
import { createField, deleteField, fieldLimits, fieldTypes, findField, listFields, moveField, setFieldValue, updateField, type ContactField } from './contact-fields.service.js'
import { contactListView, contactPageView, fieldViewOf } from './contact-page.service.js'
import { forgetContact } from './forget.service.js'
import { contactFamily } from './tombstones.store.js'
import { tracesOfContacts } from '../inbox/messaging.service.js'
import { activities, consents, contactSorts, type Activity, type Consent, type ContactFilter, type ContactSort } from './contacts-list.store.js'

type Req = FastifyRequest

interface Actor { userId: string, workspaceId: string, role: 'owner' | 'admin' | 'agent', ip: string }

function actorOf (req: Req): Actor {
  const p = req.principal!
  return { userId: p.userId, workspaceId: p.workspace!.id, role: p.workspace!.role, ip: req.ip }
}

function isAdmin (req: Req): boolean {
  return roleAtLeast(req.principal!.workspace!.role, 'admin')
}

function isHtmx (req: Req): boolean {
  return req.headers['hx-request'] === 'true' && req.headers['hx-history-restore-request'] !== 'true'
}

/** The id of the element an htmx request targets, or undefined for a full page. */
function htmxTarget (req: Req): string | undefined {
  if (!isHtmx(req)) return undefined
  const target = String(req.headers['hx-target'] ?? '')
  const i = target.indexOf('#')
  if (i === -1) return undefined
  try { return decodeURIComponent(target.slice(i + 1)) } catch { return undefined }
}

function param (source: unknown, name: string, max = 200): string {
  const v = (source as Record<string, unknown> | undefined)?.[name]
  return typeof v === 'string' ? v.slice(0, max) : ''
}

/** The list filter from a query string or a form body; unknown values fall back to the defaults. */
export function filterFrom (source: unknown): ContactFilter {
  const q = param(source, 'q', 100).trim()
  const label = param(source, 'label', 40)
  const fieldId = param(source, 'field', 40)
  const value = param(source, 'value', 1000)
  const consent = param(source, 'consent', 20)
  const activity = param(source, 'activity', 20)
  const sort = param(source, 'sort', 20)
  const filter: ContactFilter = { sort: (contactSorts as readonly string[]).includes(sort) ? sort as ContactSort : 'name' }
  if (q !== '') filter.q = q
  if (isId(label)) filter.labelId = label
  if (isId(fieldId)) {
    filter.fieldId = fieldId
    if (value.trim() !== '') filter.fieldValue = value
  }
  if ((consents as readonly string[]).includes(consent)) filter.consent = consent as Consent
  if ((activities as readonly string[]).includes(activity)) filter.activity = activity as Activity
  // Ticked rows (an export of the selection): valid ids only, at most a long list's worth.
  const raw = (source as Record<string, unknown> | undefined)?.ids
  const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((v): v is string => typeof v === 'string' && isId(v)).slice(0, maxSelected)
  if (ids.length > 0) filter.ids = [...new Set(ids)]
  return filter
}

/** The most ticked rows one request acts on (the list loads 50 at a time). */
const maxSelected = 5000

/** The filter as a query string (defaults left out, no leading "?"), for links that keep it. */
export function filterQuery (f: ContactFilter): string {
  const p = new URLSearchParams()
  if (f.q !== undefined) p.set('q', f.q)
  if (f.labelId !== undefined) p.set('label', f.labelId)
  if (f.fieldId !== undefined) p.set('field', f.fieldId)
  if (f.fieldValue !== undefined) p.set('value', f.fieldValue)
  if (f.consent !== undefined) p.set('consent', f.consent)
  if (f.activity !== undefined) p.set('activity', f.activity)
  if (f.sort !== 'name') p.set('sort', f.sort)
  return p.toString()
}

/** The repeated `ids` field of a form (formbody gives an array for repeats, a string for one). */
function idsField (req: Req): string[] {
  const v = (req.body as Record<string, unknown> | undefined)?.ids
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
  return [...new Set(list.filter((x): x is string => typeof x === 'string' && isId(x)))].slice(0, contactLimits.bulk)
}

const listNotices = new Set(['deleted', 'labelled', 'nothing'])
/** Notices of the contact page after an action: "?done=created" and the privacy actions. */
const contactNotices = new Set(['created', 'legalHoldOn', 'legalHoldOff'])

/** The list's notice after a contact was forgotten: the counts from the redirect, digits only. */
function forgottenNotice (req: Req): string {
  const count = (name: string): number => {
    const v = param(req.query, name, 9)
    return /^\d+$/.test(v) ? Number(v) : 0
  }
  return req.t('contacts.forget.done', {
    conversations: req.t('contacts.forget.count.conversations', { count: count('c') }),
    messages: req.t('contacts.forget.count.messages', { count: count('m') }),
    files: req.t('contacts.forget.count.files', { count: count('f') }),
    copies: req.t('contacts.forget.count.copies', { count: count('w') })
  })
}

const fieldNotices = new Set(['created', 'saved', 'deleted', 'moved'])

export async function contactsRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  const now = (): number => deps.clock.now()

  // ── the list ──
  function listData (req: Req, filter: ContactFilter, flash: Flash[] = []): Record<string, unknown> {
    const actor = actorOf(req)
    const list = contactListView(deps.db, actor.workspaceId, filter, param(req.query, 'after', 1200) || undefined, now())
    return { titleKey: 'contacts.title', nav: 'contacts', list, query: filterQuery(filter), isAdmin: isAdmin(req), flash }
  }

  app.get('/contacts', { config: { policy: 'agent' } }, async (req, reply) => {
    const filter = filterFrom(req.query)
    const target = htmxTarget(req)
    if (target === 'contacts-more') return reply.partial('contacts/_rows', listData(req, filter))
    if (target === 'contacts-results') return reply.partial('contacts/_results', listData(req, filter))
    const done = param(req.query, 'done', 20)
    const n = Number(param(req.query, 'n', 6))
    const flash: Flash[] = listNotices.has(done) ? [{ kind: done === 'nothing' ? 'info' : 'success', message: req.t(`contacts.done.${done}`, { count: Number.isSafeInteger(n) ? n : 0 }) }] : []
    if (done === 'forgotten') flash.push({ kind: 'success', message: forgottenNotice(req) })
    return reply.page('contacts/index', listData(req, filter, flash))
  })

  app.post('/contacts/bulk', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const filter = filterFrom(req.body)
    const query = filterQuery(filter)
    const back = (done: string, n: number): string => `/contacts?${query}${query === '' ? '' : '&'}done=${done}&n=${n}`
    const ids = idsField(req)
    const op = field(req, 'op', 80)
    if (ids.length === 0) return reply.redirect(back('nothing', 0), 303)
    if (op === 'delete') {
      if (!isAdmin(req)) throw new ForbiddenError()
      return reply.page('contacts/delete', { titleKey: 'contacts.delete.title', nav: 'contacts', ids, count: ids.length, query, single: null })
    }
    const labelId = op.startsWith('label:') ? op.slice(6) : ''
    if (!isId(labelId)) return reply.redirect(back('nothing', 0), 303)
    const n = bulkAddLabel(deps.db, actor.workspaceId, ids, labelId, actor.userId, now())
    return reply.redirect(back('labelled', n), 303)
  })

  app.post('/contacts/delete', { config: { policy: 'admin' } }, async (req, reply) => {
    const actor = actorOf(req)
    const query = filterQuery(filterFrom(req.body))
    const ids = idsField(req)
    if (field(req, 'confirm', 2) !== '1' || ids.length === 0) {
      if (ids.length === 0) return reply.redirect(`/contacts?${query}${query === '' ? '' : '&'}done=nothing&n=0`, 303)
      return reply.page('contacts/delete', { titleKey: 'contacts.delete.title', nav: 'contacts', ids, count: ids.length, query, single: null })
    }
    const n = deleteContacts(deps.db, actor, ids, now())
    // One contact deleted from its own page: a 404 for an id of another workspace (nothing was deleted).
    if (n === 0 && ids.length === 1 && field(req, 'single', 2) === '1') throw new NotFoundError()
    return reply.redirect(`/contacts?${query}${query === '' ? '' : '&'}done=deleted&n=${n}`, 303)
  })

  // ── a new contact ──
  function newData (values: Record<string, string> = {}, errors: Record<string, string> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { titleKey: 'contacts.new.title', nav: 'contacts', values, errors, ...extra }
  }

  app.get('/contacts/new', { config: { policy: 'agent' } }, async (_req, reply) => {
    return reply.page('contacts/new', newData())
  })

  app.post('/contacts', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const values = { name: field(req, 'name', 400), phone: field(req, 'phone', 100), email: field(req, 'email', 400), notes: field(req, 'notes', 20_000) }
    const result = createContact(deps.db, actor.workspaceId, { name: values.name, phones: [values.phone], emails: [values.email], notes: values.notes }, actor.userId, now())
    if (!result.ok) return reply.code(422).page('contacts/new', newData(values, messages(req.t, result.errors), { duplicateOf: result.duplicateOf ?? null }))
    return reply.redirect(`/contacts/${result.contact.id}?done=created`, 303)
  })

  // ── the contact page ──
  type Edit = { part: string, values?: Record<string, string>, errors?: Record<string, string> }

  function pageData (req: Req, contactId: string, edit: Edit | null = null, flash: Flash[] = []): Record<string, unknown> {
    const actor = actorOf(req)
    const view = contactPageView(deps.db, actor.workspaceId, contactId)
    return {
      titleKey: 'contacts.page.title',
      titleParams: { name: view.name === '' ? req.t('contacts.unnamed') : view.name },
      nav: 'contacts',
      view,
      consent: consentView(deps.db, actor.workspaceId, view.contact),
      isAdmin: isAdmin(req),
      edit,
      flash
    }
  }

  app.get<{ Params: { contactId: string } }>('/contacts/:contactId', { config: { policy: 'agent' } }, async (req, reply) => {
    const editRaw = param(req.query, 'edit', 60)
    const edit = /^(name|notes|field:[0-9A-HJKMNP-TV-Z]{26})$/.test(editRaw) ? { part: editRaw } : null
    const done = param(req.query, 'done', 20)
    const flash: Flash[] = contactNotices.has(done) ? [{ kind: 'success', message: req.t(`contacts.done.${done}`) }] : []
    return reply.page('contacts/show', pageData(req, req.params.contactId, edit, flash))
  })

  app.get<{ Params: { contactId: string } }>('/contacts/:contactId/delete', { config: { policy: 'admin' } }, async (req, reply) => {
    const view = contactPageView(deps.db, actorOf(req).workspaceId, req.params.contactId)
    return reply.page('contacts/delete', { titleKey: 'contacts.delete.title', nav: 'contacts', ids: [view.contact.id], count: 1, query: '', single: { id: view.contact.id, name: view.name } })
  })

  // ── forget a contact (the customer's right to erasure) ──
  // Delete hides a contact and keeps its history; forget erases the person and everything about them,
  // for good. The admin types a localized word (FORGET, ESQUECER) first: the input's pattern stops the
  // form in the browser, and the server checks it again (422 with the page, nothing erased).
  function forgetData (req: Req, contactId: string, typed = '', error: string | null = null): Record<string, unknown> {
    const ws = actorOf(req).workspaceId
    const view = contactPageView(deps.db, ws, contactId)
    const family = contactFamily(deps.db, ws, view.contact.id).map(c => c.id)
    const traces = tracesOfContacts(deps.db, ws, family)
    const word = req.t('contacts.forget.word')
    return {
      titleKey: 'contacts.forget.title',
      nav: 'contacts',
      view,
      counts: {
        conversations: traces.conversationIds.length,
        messages: traces.messages.length,
        files: traces.mediaIds.length,
        fields: view.fields.filter(f => f.value !== null).length,
        merged: family.length - 1
      },
      word,
      wordPattern: wordPattern(word),
      typed,
      error
    }
  }

  app.get<{ Params: { contactId: string } }>('/contacts/:contactId/forget', { config: { policy: 'admin' } }, async (req, reply) => {
    return reply.page('contacts/forget', forgetData(req, req.params.contactId))
  })

  app.post<{ Params: { contactId: string } }>('/contacts/:contactId/forget', { config: { policy: 'admin', rateLimit: { max: 20, timeWindow: 60_000 } } }, async (req, reply) => {
    const actor = actorOf(req)
    // Another workspace's, an unknown or a deleted contact: 404 before anything else is looked at.
    const contact = contactOf(deps.db, actor.workspaceId, req.params.contactId)
    const typed = field(req, 'confirm', 100)
    const word = req.t('contacts.forget.word')
    if (!sameWord(typed, word, req.locale)) {
      const error = req.t(typed.trim() === '' ? 'contacts.forget.errors.empty' : 'contacts.forget.errors.word', { word })
      return reply.code(422).page('contacts/forget', forgetData(req, contact.id, typed, error))
    }
    const report = await forgetContact(deps, { userId: actor.userId, workspaceId: actor.workspaceId, ip: actor.ip }, contact.id)
    const copies = report.rawPayloads + report.webhookDeliveries
    return reply.redirect(`/contacts?done=forgotten&c=${report.conversations}&m=${report.messages}&f=${report.mediaFiles}&w=${copies}`, 303)
  })

  /**
   * Answers a click-to-edit part: htmx gets the part (200, or 422 with the form, the typed value and the
   * error); a browser without JavaScript gets the page (422 with the part open) or a redirect back.
   */
  function partReply (req: Req, reply: FastifyReply, contactId: string, part: string, view: string, error?: { values: Record<string, string>, errors: Record<string, string> }, oobTimeline = true): FastifyReply {
    if (!isHtmx(req)) {
      if (error !== undefined) return reply.code(422).page('contacts/show', pageData(req, contactId, { part, ...error }))
      return reply.redirect(`/contacts/${contactId}#${anchorOf(part)}`, 303)
    }
    const data = pageData(req, contactId, error === undefined ? null : { part, ...error })
    if (error !== undefined) reply.code(422)
    return reply.partial(view, { ...data, part, oobTimeline: error === undefined && oobTimeline })
  }

  function anchorOf (part: string): string {
    return part.startsWith('field:') ? 'field-' + part.slice(6) : 'contact-' + part
  }

  // Name and notes: view or edit.
  for (const part of ['name', 'notes'] as const) {
    app.get<{ Params: { contactId: string } }>(`/contacts/:contactId/${part}`, { config: { policy: 'agent' } }, async (req, reply) => {
      const contact = contactOf(deps.db, actorOf(req).workspaceId, req.params.contactId)
      const editing = param(req.query, 'edit', 2) === '1'
      if (!isHtmx(req)) return reply.redirect(`/contacts/${contact.id}${editing ? '?edit=' + part : ''}#contact-${part}`, 303)
      return reply.partial(`contacts/_${part}`, pageData(req, contact.id, editing ? { part } : null))
    })
  }

  app.post<{ Params: { contactId: string } }>('/contacts/:contactId/name', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const contact = contactOf(deps.db, actor.workspaceId, req.params.contactId)
    const raw = field(req, 'name', 1000)
    const result = renameContact(deps.db, actor.workspaceId, contact.id, raw, actor.userId, now())
    return partReply(req, reply, contact.id, 'name', 'contacts/_name', result.ok ? undefined : { values: { name: raw }, errors: { name: req.t(result.error) } })
  })

  app.post<{ Params: { contactId: string } }>('/contacts/:contactId/notes', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const contact = contactOf(deps.db, actor.workspaceId, req.params.contactId)
    const raw = field(req, 'notes', 200_000)
    const result = setNotes(deps.db, actor.workspaceId, contact.id, raw, actor.userId, now())
    return partReply(req, reply, contact.id, 'notes', 'contacts/_notes', result.ok ? undefined : { values: { notes: raw }, errors: { notes: req.t(result.error) } })
  })

  function fieldOf (req: Req, contactId: string, fieldId: string): { contactId: string, field: ContactField } {
    const ws = actorOf(req).workspaceId
    const contact = contactOf(deps.db, ws, contactId)
    const f = isId(fieldId) ? findField(deps.db, ws, fieldId) : undefined
    if (f === undefined) throw new NotFoundError()
    return { contactId: contact.id, field: f }
  }

  function fieldPartial (req: Req, reply: FastifyReply, contactId: string, f: ContactField, editing: boolean, error?: { value: string, message: string }): FastifyReply {
    const fv = fieldViewOf(deps.db, actorOf(req).workspaceId, contactId, f)
    if (error !== undefined) reply.code(422)
    return reply.partial('contacts/_field', { contactId, item: fv, editing: editing || error !== undefined, typed: error?.value ?? null, error: error?.message ?? null, oobTimeline: !editing && error === undefined && req.method === 'POST', view: error === undefined && req.method === 'POST' ? contactPageView(deps.db, actorOf(req).workspaceId, contactId) : null })
  }

  app.get<{ Params: { contactId: string, fieldId: string } }>('/contacts/:contactId/fields/:fieldId', { config: { policy: 'agent' } }, async (req, reply) => {
    const { contactId, field: f } = fieldOf(req, req.params.contactId, req.params.fieldId)
    const editing = param(req.query, 'edit', 2) === '1'
    if (!isHtmx(req)) return reply.redirect(`/contacts/${contactId}${editing ? '?edit=field:' + f.id : ''}#field-${f.id}`, 303)
    return fieldPartial(req, reply, contactId, f, editing)
  })

  app.post<{ Params: { contactId: string, fieldId: string } }>('/contacts/:contactId/fields/:fieldId', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const { contactId, field: f } = fieldOf(req, req.params.contactId, req.params.fieldId)
    const raw = field(req, 'value', 5000)
    const result = setFieldValue(deps.db, actor.workspaceId, contactId, f, raw, actor.userId, now())
    if (!isHtmx(req)) {
      if (!result.ok) return reply.code(422).page('contacts/show', pageData(req, contactId, { part: 'field:' + f.id, values: { value: raw }, errors: { value: req.t(result.error) } }))
      return reply.redirect(`/contacts/${contactId}#field-${f.id}`, 303)
    }
    return fieldPartial(req, reply, contactId, f, false, result.ok ? undefined : { value: raw, message: req.t(result.error) })
  })

  // Phones, emails and labels: each POST answers with its section (`remove` an id, or add the typed value).
  const lists = [
    { part: 'phones', view: 'contacts/_phones', input: 'phone', max: 100, add: addPhone, remove: removePhone },
    { part: 'emails', view: 'contacts/_emails', input: 'email', max: 400, add: addEmail, remove: removeEmail }
  ] as const
  for (const list of lists) {
    app.post<{ Params: { contactId: string } }>(`/contacts/:contactId/${list.part}`, { config: { policy: 'agent' } }, async (req, reply) => {
      const actor = actorOf(req)
      const contact = contactOf(deps.db, actor.workspaceId, req.params.contactId)
      const remove = field(req, 'remove', 40)
      if (remove !== '') {
        if (!isId(remove)) throw new NotFoundError()
        list.remove(deps.db, actor.workspaceId, contact.id, remove, actor.userId, now())
        return partReply(req, reply, contact.id, list.part, list.view)
      }
      const raw = field(req, list.input, list.max)
      const result = list.add(deps.db, actor.workspaceId, contact.id, raw, actor.userId, now())
      return partReply(req, reply, contact.id, list.part, list.view, result.ok ? undefined : { values: { [list.input]: raw, duplicateOf: result.duplicateOf ?? '' }, errors: { [list.input]: req.t(result.error) } })
    })
  }

  app.post<{ Params: { contactId: string } }>('/contacts/:contactId/labels', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const contact = contactOf(deps.db, actor.workspaceId, req.params.contactId)
    const name = field(req, 'name', 200)
    const label = field(req, 'label', 40)
    if (name.trim() !== '' && labelName(name) === '') {
      // Only invisible characters: say so next to the field, keep what was typed.
      return partReply(req, reply, contact.id, 'labels', 'contacts/_labels', { values: { name }, errors: { name: req.t('inbox.errors.labelName') } })
    }
    if (name.trim() !== '') {
      const created = ensureLabel(deps.db, actor.workspaceId, name, now())
      setContactLabel(deps.db, actor.workspaceId, contact.id, created.id, true, actor.userId, now())
    } else if (isId(label)) {
      setContactLabel(deps.db, actor.workspaceId, contact.id, label, field(req, 'on', 2) !== '0', actor.userId, now())
    } else if (label !== '') {
      throw new NotFoundError()
    }
    return partReply(req, reply, contact.id, 'labels', 'contacts/_labels')
  })

  // ── Settings → Contact fields ──
  function fieldsPage (req: Req, data: Record<string, unknown> = {}): Record<string, unknown> {
    const actor = actorOf(req)
    const done = param(req.query, 'done', 20)
    return {
      titleKey: 'settingsNav.contactFields',
      nav: 'settings',
      tab: 'contactFields',
      fields: listFields(deps.db, actor.workspaceId),
      types: fieldTypes,
      limits: fieldLimits,
      values: { type: 'text' },
      errors: {},
      flash: fieldNotices.has(done) ? [{ kind: 'success', message: req.t(`contactFields.done.${done}`) }] : [],
      ...data
    }
  }

  app.get('/settings/contact-fields', { config: { policy: 'admin' } }, async (req, reply) => {
    return reply.page('settings/contact-fields', fieldsPage(req))
  })

  app.post('/settings/contact-fields', { config: { policy: 'admin' } }, async (req, reply) => {
    const values = { label: field(req, 'label', 400), type: field(req, 'type', 20), options: field(req, 'options', 20_000) }
    const result = createField(deps.db, actorOf(req), values, now())
    if (!result.ok) return reply.code(422).page('settings/contact-fields', fieldsPage(req, { values, errors: messages(req.t, result.errors), formOpen: true, flash: [] }))
    return reply.redirect('/settings/contact-fields?done=created', 303)
  })

  function fieldById (req: Req, id: string): ContactField {
    const f = isId(id) ? findField(deps.db, actorOf(req).workspaceId, id) : undefined
    if (f === undefined) throw new NotFoundError()
    return f
  }

  function editFieldPage (req: Req, f: ContactField, data: Record<string, unknown> = {}): Record<string, unknown> {
    return { titleKey: 'contactFields.edit.title', nav: 'settings', tab: 'contactFields', item: f, limits: fieldLimits, values: { label: f.label, options: f.options.join('\n') }, errors: {}, ...data }
  }

  app.get<{ Params: { fieldId: string } }>('/settings/contact-fields/:fieldId', { config: { policy: 'admin' } }, async (req, reply) => {
    return reply.page('settings/contact-fields-edit', editFieldPage(req, fieldById(req, req.params.fieldId)))
  })

  app.post<{ Params: { fieldId: string } }>('/settings/contact-fields/:fieldId', { config: { policy: 'admin' } }, async (req, reply) => {
    const f = fieldById(req, req.params.fieldId)
    const values = { label: field(req, 'label', 400), options: field(req, 'options', 20_000) }
    const result = updateField(deps.db, actorOf(req), f.id, values, now())
    if (!result.ok) return reply.code(422).page('settings/contact-fields-edit', editFieldPage(req, f, { values, errors: messages(req.t, result.errors) }))
    return reply.redirect('/settings/contact-fields?done=saved', 303)
  })

  app.post<{ Params: { fieldId: string } }>('/settings/contact-fields/:fieldId/move', { config: { policy: 'admin' } }, async (req, reply) => {
    const f = fieldById(req, req.params.fieldId)
    moveField(deps.db, actorOf(req), f.id, field(req, 'dir', 10) === 'up' ? 'up' : 'down', now())
    return reply.redirect(`/settings/contact-fields?done=moved#cf-${f.id}`, 303)
  })

  app.post<{ Params: { fieldId: string } }>('/settings/contact-fields/:fieldId/delete', { config: { policy: 'admin' } }, async (req, reply) => {
    const f = fieldById(req, req.params.fieldId)
    deleteField(deps.db, actorOf(req), f.id, now())
    return reply.redirect('/settings/contact-fields?done=deleted', 303)
  })
}

// Contacts in the public API (/api/v1), for integrations: list and search (name, exact phone in any
// spelling, exact email), read, create, rename and annotate, label and unlabel, delete. The same
// services as the screens: the same validation, duplicate refusal, timeline events and audit entries.
// Every id is looked up in the key's workspace only: another workspace's id is a 404, like an unknown one.
//
//   GET    /api/v1/contacts                              agent  list / search, cursor-paged
//   POST   /api/v1/contacts                              agent  create
//   GET    /api/v1/contacts/:contactId                   agent  one contact
//   PATCH  /api/v1/contacts/:contactId                   agent  name, notes, custom fields, numbers, emails
//   DELETE /api/v1/contacts/:contactId                   admin  delete (soft, like the screens)
//   GET    /api/v1/contacts/:contactId/archive           admin  everything about the person, as a ZIP (their request)
//   POST   /api/v1/contacts/:contactId/forget            admin  erase the person for good (their request)
//   PUT    /api/v1/contacts/:contactId/labels/:labelId   agent  add a label
//   DELETE /api/v1/contacts/:contactId/labels/:labelId   agent  remove a label
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { AppError, NotFoundError, ValidationError } from '../../platform/http/errors.js'
import { Type } from '@sinclair/typebox'
import { apiConfig, apiError, apiPrincipal, Id, labelRoutes, Nullable, OneOf, pageQuery, pageSchema } from '../../platform/http/api.js'
import { contactRecords } from './contact-records.service.js'
import { forgetContact } from './forget.service.js'
import { contactArchive } from './contact-archive.service.js'
import { sendDownload } from '../../platform/http/download.js'
import { contactJson, contactSchema } from './contact-json.js'
import { clearFieldValue, findFieldByKey, setFieldValue, validateFieldValue } from './contact-fields.service.js'
import { contactOf, createContact, deleteContacts, renameContact, replaceEmails, replacePhones, setContactLabel, setNotes } from './contact-edit.service.js'
import { activities, consents, contactSorts, listContacts, type ContactFilter } from './contacts-list.store.js'

const tags = ['Contacts']

const contactParams = Type.Object({ contactId: Id('The contact\'s id.') })
const labelParams = Type.Object({ contactId: Id('The contact\'s id.'), labelId: Id('A label of the workspace.') })

const writable = {
  name: Type.Optional(Type.String({ maxLength: 400, description: 'Up to 200 characters; empty clears it (the WhatsApp profile name shows).' })),
  notes: Type.Optional(Type.String({ maxLength: 20_000, description: 'Private notes for the team (stored encrypted).' }))
}
const fieldsInput = Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Nullable(Type.String({ maxLength: 2000 })), {
  description: 'Custom field values by field key (Settings → Contact fields), checked as the contact page checks them (numbers, dates, options, URLs); null or "" clears one.'
}))

type Req = FastifyRequest

/** One contact of the key's workspace as JSON (404 when it is not there). */
function one (deps: Deps, req: Req, id: string): Record<string, unknown> {
  const record = contactRecords(deps.db, apiPrincipal(req).workspaceId, [id])[0]
  if (record === undefined) throw new NotFoundError()
  return contactJson(record)
}

/** A duplicate number or email: the request is fine, but it conflicts with another contact. */
class DuplicateError extends AppError {
  override name = 'DuplicateError'
  constructor (key: string) { super(409, 'duplicate', key) }
}

export async function contactsApi (app: FastifyInstance, deps: Deps): Promise<void> {
  const now = (): number => deps.clock.now()

  app.get('/api/v1/contacts', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'List or search contacts',
      description: '`q` finds contacts by part of a name (any case, accents ignored), by an exact phone number in any spelling (with or without +, spaces, the country code), or by an exact email. Sorted by name unless `sort` says otherwise.',
      operationId: 'listContacts',
      tags,
      querystring: Type.Object({
        q: Type.Optional(Type.String({ maxLength: 100, description: 'A name fragment, a phone number or an email.' })),
        label_id: Type.Optional(Id('Only contacts with this label.')),
        consent: Type.Optional(OneOf(consents, 'Only contacts in this consent state.')),
        activity: Type.Optional(OneOf(activities, 'When the customer last wrote: within 7d, 30d, 90d, older, or never.')),
        sort: Type.Optional(OneOf(contactSorts, 'name (default), recent (last written first) or created (newest first).')),
        ...pageQuery
      }, { additionalProperties: false }),
      response: { 200: pageSchema(contactSchema) }
    }
  }, async (req) => {
    const q = req.query as { q?: string, label_id?: string, consent?: ContactFilter['consent'], activity?: ContactFilter['activity'], sort?: ContactFilter['sort'], cursor?: string, limit?: number }
    const filter: ContactFilter = { sort: q.sort ?? 'name' }
    if (q.q !== undefined && q.q.trim() !== '') filter.q = q.q.trim()
    if (q.label_id !== undefined) filter.labelId = q.label_id
    if (q.consent !== undefined) filter.consent = q.consent
    if (q.activity !== undefined) filter.activity = q.activity
    const ws = apiPrincipal(req).workspaceId
    const page = listContacts(deps.db, ws, filter, { after: q.cursor, limit: q.limit ?? 50 }, now())
    return { data: contactRecords(deps.db, ws, page.rows.map(r => r.id)).map(contactJson), next_cursor: page.next ?? null }
  })

  app.post('/api/v1/contacts', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'Create a contact',
      description: 'At least a name, a phone or an email. Numbers are normalised to E.164 with the workspace\'s default country. A number or email that another contact has is refused with 409 (search for it instead).',
      operationId: 'createContact',
      tags,
      body: Type.Object({
        ...writable,
        phones: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 10, description: 'Phone numbers in any usual spelling.' })),
        emails: Type.Optional(Type.Array(Type.String({ maxLength: 400 }), { maxItems: 10 })),
        label_ids: Type.Optional(Type.Array(Id('A label id.'), { maxItems: 50, description: 'Labels of the workspace to put on it.' }))
      }, { additionalProperties: false }),
      response: { 201: contactSchema, 409: apiError('duplicate: another contact has this number or email.'), 422: apiError('invalid: a field is not valid (error.details says which), or nothing identifies the contact.') }
    }
  }, async (req, reply) => {
    const body = req.body as { name?: string, notes?: string, phones?: string[], emails?: string[], label_ids?: string[] }
    const result = createContact(deps.db, apiPrincipal(req).workspaceId, { name: body.name, notes: body.notes, phones: body.phones, emails: body.emails, labelIds: body.label_ids, source: 'api' }, null, now())
    if (!result.ok) {
      if (result.duplicateOf !== undefined) throw new DuplicateError(result.errors.phones ?? result.errors.emails ?? 'contacts.errors.phoneTaken')
      throw new ValidationError(result.errors)
    }
    return reply.code(201).send(one(deps, req, result.contact.id))
  })

  app.get('/api/v1/contacts/:contactId', {
    config: apiConfig('api:agent'),
    schema: { summary: 'Get a contact', operationId: 'getContact', tags, params: contactParams, response: { 200: contactSchema } }
  }, async (req) => one(deps, req, (req.params as { contactId: string }).contactId))

  app.patch('/api/v1/contacts/:contactId', {
    config: apiConfig('api:agent'),
    schema: {
      summary: 'Change a contact',
      description: 'Only what is sent changes: name, notes, custom fields by key, the list of other numbers, the list of emails. Any bad value refuses the whole request and changes nothing (422 with the field in error.details; 409 when a number or email belongs to another contact).',
      operationId: 'updateContact',
      tags,
      params: contactParams,
      body: Type.Object({
        ...writable,
        fields: fieldsInput,
        phones: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 10, description: 'The contact\'s other numbers, all of them: numbers left out are removed (the WhatsApp number is not in this list).' })),
        emails: Type.Optional(Type.Array(Type.String({ maxLength: 400 }), { maxItems: 10, description: 'All of the contact\'s emails: ones left out are removed.' }))
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: contactSchema, 409: apiError('duplicate: another contact has one of these numbers or emails.'), 422: apiError('invalid: a field is not valid (error.details says which).') }
    }
  }, async (req) => {
    const { contactId } = req.params as { contactId: string }
    const body = req.body as { name?: string, notes?: string, fields?: Record<string, string | null>, phones?: string[], emails?: string[] }
    const ws = apiPrincipal(req).workspaceId
    const at = now()
    // One transaction: any refusal (thrown) leaves the contact exactly as it was.
    deps.db.transaction((tx) => {
      contactOf(tx, ws, contactId)
      const errors: Record<string, string> = {}
      const fields = Object.entries(body.fields ?? {}).map(([key, value]) => ({ key, value, field: findFieldByKey(tx, ws, key) }))
      for (const f of fields) {
        if (f.field === undefined) errors[`fields.${f.key}`] = 'api.errors.unknownField'
        else if (f.value !== null && f.value.trim() !== '') { const v = validateFieldValue(f.field, f.value); if (!v.ok) errors[`fields.${f.key}`] = v.error }
      }
      if (body.name !== undefined) { const r = renameContact(tx, ws, contactId, body.name, null, at); if (!r.ok) errors.name = r.error }
      if (body.notes !== undefined) { const r = setNotes(tx, ws, contactId, body.notes, null, at); if (!r.ok) errors.notes = r.error }
      for (const [list, replace] of [['phones', replacePhones], ['emails', replaceEmails]] as const) {
        const raws = body[list]
        if (raws === undefined) continue
        const r = replace(tx, ws, contactId, raws, null, at)
        if (r.ok) continue
        if (r.duplicateOf !== undefined) throw new DuplicateError(r.error)
        errors[list] = r.error
      }
      if (Object.keys(errors).length > 0) throw new ValidationError(errors)
      for (const f of fields) {
        if (f.field === undefined) continue
        if (f.value === null || f.value.trim() === '') clearFieldValue(tx, ws, contactId, f.field, null, at)
        else setFieldValue(tx, ws, contactId, f.field, f.value, null, at)
      }
    }, { behavior: 'immediate' })
    return one(deps, req, contactId)
  })

  app.delete('/api/v1/contacts/:contactId', {
    config: apiConfig('api:admin'),
    schema: {
      summary: 'Delete a contact',
      description: 'The contact leaves lists and search; its conversations stay. Needs an admin key.',
      operationId: 'deleteContact',
      tags,
      params: contactParams,
      response: { 204: Type.Null({ description: 'Deleted.' }) }
    }
  }, async (req, reply) => {
    const { contactId } = req.params as { contactId: string }
    const key = apiPrincipal(req)
    contactOf(deps.db, key.workspaceId, contactId)
    deleteContacts(deps.db, { userId: null, apiKeyId: key.keyId, workspaceId: key.workspaceId, ip: req.ip }, [contactId], now())
    return reply.code(204).send()
  })

  app.get('/api/v1/contacts/:contactId/archive', {
    config: apiConfig('api:admin'),
    schema: {
      summary: 'Download everything about a contact (ZIP)',
      description: 'The customer\'s right of access: a ZIP with contact.json (the record and its timeline), conversations.json, messages.json (private notes included), messages.csv and media/ with every stored file, decrypted. Audited. Needs an admin key.',
      operationId: 'contactArchive',
      tags,
      params: contactParams,
      response: { 200: Type.String({ format: 'binary', description: 'The ZIP archive (application/zip).' }) }
    }
  }, async (req, reply) => {
    const { contactId } = req.params as { contactId: string }
    const key = apiPrincipal(req)
    return sendDownload(reply, 'application/zip', contactArchive(deps, { userId: null, apiKeyId: key.keyId, workspaceId: key.workspaceId, ip: req.ip }, contactId))
  })

  app.post('/api/v1/contacts/:contactId/forget', {
    config: apiConfig('api:admin'),
    schema: {
      summary: 'Forget a contact (erasure on request)',
      description: 'Erases the person for good, on their request: the contact (and contacts merged into it), conversations, messages, files, numbers, emails, notes, custom fields, labels, timeline, the raw webhook payloads and outgoing webhook deliveries that mention them. Cannot be undone. What remains: tombstones that make a CSV import skip their numbers and emails, and an audit entry without personal data; if they write again they are a new contact. Needs an admin key.',
      operationId: 'forgetContact',
      tags,
      params: contactParams,
      response: {
        200: Type.Object({
          contacts: Type.Integer({ description: 'The contact and those merged into it.' }),
          conversations: Type.Integer(),
          messages: Type.Integer(),
          media_files: Type.Integer(),
          raw_payloads: Type.Integer({ description: 'Stored deliveries from Meta that mentioned them.' }),
          webhook_deliveries: Type.Integer({ description: 'Outgoing webhook events and deliveries that carried their records.' })
        }, { description: 'Erased: what was removed.' })
      }
    }
  }, async (req) => {
    const { contactId } = req.params as { contactId: string }
    const key = apiPrincipal(req)
    const r = await forgetContact(deps, { userId: null, apiKeyId: key.keyId, workspaceId: key.workspaceId, ip: req.ip }, contactId)
    return { contacts: r.contacts, conversations: r.conversations, messages: r.messages, media_files: r.mediaFiles, raw_payloads: r.rawPayloads, webhook_deliveries: r.webhookDeliveries }
  })

  labelRoutes(app, {
    path: '/api/v1/contacts/:contactId',
    thing: 'contact',
    operation: 'Contact',
    tags,
    params: labelParams,
    response: contactSchema,
    apply: (req, labelId, on) => {
      const { contactId } = req.params as { contactId: string }
      setContactLabel(deps.db, apiPrincipal(req).workspaceId, contactId, labelId, on, null, now())
      return one(deps, req, contactId)
    }
  })
}

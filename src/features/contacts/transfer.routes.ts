// Contacts in and out: CSV import (upload → column mapping with a preview → progress → report) and the
// export of the contact list's current filter as CSV or JSON.
//
//   GET  /contacts/import                        admin  the upload form and the latest imports
//   POST /contacts/import                        admin  multipart `file` (≤ 50 MB) → checked and stored → its mapping page
//   GET  /contacts/import/:importId              admin  mapping + preview (uploaded; map.<column>= overrides),
//                                                       progress (running), or the report (done / failed / cancelled)
//   GET  /contacts/import/:importId/preview      admin  the preview fragment for the map.<column>= values
//   POST /contacts/import/:importId/start        admin  map.<column>=target … → the import runs in the background
//   POST /contacts/import/:importId/cancel       admin  discard an upload, or stop a running import after its batch
//   GET  /contacts/import/:importId/progress     admin  the progress fragment (polled every second), then the report
//   GET  /contacts/export                        agent  format=csv|json and the list's filter (q, label, field, value,
//                                                       consent, activity, sort): every matching contact, as a download
//
// Imports are for admins and owners: one file creates and changes thousands of contacts, labels
// included, and records marketing consent. Every member may export what the list shows them (the
// export is rate-limited and audited with its size, never its content). Another workspace's import id
// answers 404, exactly like an unknown one.
import multipart from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { csvMaxBytes, csvMaxColumns, csvMaxRows } from './csv.js'
import { exportContacts, exportFileName, type ExportFormat } from './export.service.js'
import { filterFrom } from './contacts.routes.js'
import { readCapped } from '../../platform/http/forms.js'
import { sendDownload } from '../../platform/http/download.js'
import { listFields } from './contact-fields.service.js'
import {
  baseTargets, cancelImport, importOf, latestImports, mappingView, previewPhone, reportOf, startImport, uploadImport, type ImportActor, type MappingView,
  type UploadedCsv
} from './import.service.js'

const admin = { policy: 'admin' as const }
const exporting = {
  policy: 'agent' as const,
  rateLimit: { max: 10, timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => `contacts-export:${req.principal?.userId ?? req.ip}` }
}
const uploading = {
  ...admin,
  rateLimit: { max: 20, timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => `contacts-import:${req.principal?.userId ?? req.ip}` }
}

function actorOf (req: FastifyRequest): ImportActor {
  const p = req.principal!
  return { userId: p.userId, workspaceId: p.workspace!.id, ip: req.ip }
}

function isHtmx (req: FastifyRequest): boolean {
  return req.headers['hx-request'] === 'true' && req.headers['hx-history-restore-request'] !== 'true'
}

/** map.<i> values of a query or form, for the columns of a file (at most csvMaxColumns). */
function mappingFrom (source: unknown): Array<string | undefined> | undefined {
  if (source === null || typeof source !== 'object') return undefined
  const record = source as Record<string, unknown>
  const out: Array<string | undefined> = []
  let any = false
  for (let i = 0; i < csvMaxColumns; i++) {
    const v = Object.hasOwn(record, `map.${i}`) ? record[`map.${i}`] : undefined
    out.push(typeof v === 'string' ? v.slice(0, 100) : undefined)
    if (typeof v === 'string') any = true
  }
  return any ? out : undefined
}

/** Reads the multipart upload: the first file part, at most csvMaxBytes (anything beyond marks it truncated). */
async function readUpload (req: FastifyRequest): Promise<UploadedCsv | undefined> {
  if (!req.isMultipart()) return undefined
  let file: UploadedCsv | undefined
  for await (const part of req.parts()) {
    if (part.type !== 'file') continue
    if (file !== undefined || part.filename === '') { part.file.resume(); continue }
    const { bytes, truncated } = await readCapped(part.file, csvMaxBytes)
    file = { filename: part.filename, bytes, truncated }
  }
  return file
}

const limits = { maxMb: Math.round(csvMaxBytes / 1024 / 1024), maxRows: csvMaxRows, maxColumns: csvMaxColumns }

export async function transferRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  // Multipart for this plugin's routes only (it bypasses bodyLimit: these limits are the cap).
  await app.register(multipart, {
    throwFileSizeLimit: false,
    limits: { fileSize: csvMaxBytes + 1, files: 1, fields: 10, fieldSize: 1024, parts: 12, fieldNameSize: 100, headerPairs: 100 }
  })

  function uploadPage (req: FastifyRequest, data: Record<string, unknown> = {}): Record<string, unknown> {
    return { titleKey: 'import.title', nav: 'contacts', imports: latestImports(deps, actorOf(req).workspaceId), limits, error: undefined, ...data }
  }

  app.get('/contacts/import', { config: admin }, async (req, reply) => {
    const discarded = (req.query as Record<string, unknown> | undefined)?.done === 'discarded'
    return reply.page('contacts/import', uploadPage(req, discarded ? { flash: [{ kind: 'success', message: req.t('import.done.discarded') }] } : {}))
  })

  app.post('/contacts/import', { config: uploading }, async (req, reply) => {
    const actor = actorOf(req)
    const file = await readUpload(req)
    const result = uploadImport(deps, actor, file)
    if (!result.ok) {
      const status = result.error.key === 'csv.errors.too_large' ? 413 : 422
      return reply.code(status).page('contacts/import', uploadPage(req, { error: req.t(result.error.key, result.error.params) }))
    }
    return reply.redirect(`/contacts/import/${result.value.id}`, 303)
  })

  function mappingData (view: MappingView, id: string, errors: Record<string, string> = {}): Record<string, unknown> {
    return { view, importId: id, errors, targets: baseTargets, formatPhone: previewPhone }
  }

  app.get('/contacts/import/:importId', { config: admin }, async (req, reply) => {
    const { importId } = req.params as { importId: string }
    const workspaceId = actorOf(req).workspaceId
    const imp = importOf(deps, workspaceId, importId)
    if (imp.status === 'uploaded') {
      const view = mappingView(deps, workspaceId, importId, mappingFrom(req.query))
      return reply.page('contacts/import-mapping', { titleKey: 'import.mapping.title', nav: 'contacts', imp, ...mappingData(view, importId) })
    }
    return reply.page('contacts/import-run', { titleKey: 'import.run.title', nav: 'contacts', imp, report: imp.status === 'running' ? undefined : reportOf(deps, workspaceId, importId), fields: fieldLabels(deps, workspaceId) })
  })

  app.get('/contacts/import/:importId/preview', { config: admin }, async (req, reply) => {
    const { importId } = req.params as { importId: string }
    const view = mappingView(deps, actorOf(req).workspaceId, importId, mappingFrom(req.query))
    return reply.partial('contacts/_import-preview', mappingData(view, importId))
  })

  app.post('/contacts/import/:importId/start', { config: admin }, async (req, reply) => {
    const { importId } = req.params as { importId: string }
    const actor = actorOf(req)
    const imp = importOf(deps, actor.workspaceId, importId)
    if (imp.status !== 'uploaded') return reply.redirect(`/contacts/import/${importId}`, 303)
    const result = startImport(deps, actor, importId, mappingFrom(req.body) ?? [])
    if (!result.ok) {
      const errors = Object.fromEntries(Object.entries(result.errors).map(([k, v]) => [k, req.t(v)]))
      return reply.code(422).page('contacts/import-mapping', { titleKey: 'import.mapping.title', nav: 'contacts', imp, ...mappingData(result.view, importId, errors) })
    }
    deps.events.emit('contacts.import.queued', { workspaceId: actor.workspaceId, importId })
    return reply.redirect(`/contacts/import/${importId}`, 303)
  })

  app.post('/contacts/import/:importId/cancel', { config: admin }, async (req, reply) => {
    const { importId } = req.params as { importId: string }
    const actor = actorOf(req)
    const before = importOf(deps, actor.workspaceId, importId)
    cancelImport(deps, actor, importId)
    return reply.redirect(before.status === 'uploaded' ? '/contacts/import?done=discarded' : `/contacts/import/${importId}`, 303)
  })

  app.get('/contacts/import/:importId/progress', { config: admin }, async (req, reply) => {
    const { importId } = req.params as { importId: string }
    const workspaceId = actorOf(req).workspaceId
    const imp = importOf(deps, workspaceId, importId)
    if (!isHtmx(req)) return reply.redirect(`/contacts/import/${importId}`, 303)
    return reply.partial('contacts/_import-progress', { imp, report: imp.status === 'running' ? undefined : reportOf(deps, workspaceId, importId), fields: fieldLabels(deps, workspaceId) })
  })

  app.get('/contacts/export', { config: exporting }, async (req, reply) => {
    const actor = actorOf(req)
    const format: ExportFormat = (req.query as Record<string, unknown> | undefined)?.format === 'json' ? 'json' : 'csv'
    const filter = filterFrom(req.query)
    const stream = exportContacts(deps, actor, filter, format)
    return sendDownload(reply, format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8', { fileName: exportFileName(format, deps.clock.now()), stream })
  })
}

/** Field labels by mapping target ("field:<key>" → label), to name a report's field problems. */
function fieldLabels (deps: Deps, workspaceId: string): Record<string, string> {
  return Object.fromEntries(listFields(deps.db, workspaceId).map(f => [`field:${f.key}`, f.label]))
}

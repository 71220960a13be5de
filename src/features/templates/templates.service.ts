// Message templates (SPEC §8): a cache per WABA, filled by paging through GET /{waba-id}/message_templates
// and kept fresh by template webhooks (status, category and quality updates). Only APPROVED templates
// may be offered for sending; everything else is kept so the UI can say why a template is missing.
import { and, asc, eq } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { templates } from '../../db/schema.js'
import type { Deps } from '../../deps.js'
import type { TemplateEvent } from '../../platform/whatsapp/webhook-payload.js'
import { createGraphClient, type GraphTemplate } from '../../platform/whatsapp/graph-client.js'
import {
  findTemplateByGraphId, findTemplateByIdentity, insertTemplate, markOtherTemplatesDeleted, templateCounts, updateTemplate, upsertTemplate, type Template
} from './templates.store.js'

export type { Template }

/** The parts of a channel a template sync needs (its WABA and credentials). */
export interface TemplateSource {
  workspaceId: string
  wabaId: string
  accessToken: string
  graphApiVersion: string
}

export interface SyncResult {
  /** Templates Meta listed (every status). */
  total: number
  approved: number
  /** Cached templates Meta no longer lists, now marked DELETED. */
  deleted: number
}

const pageSize = 100
// 100 pages of 100: far beyond Meta's per-WABA template limit; a guard against a cursor that never ends.
const maxPages = 100

/**
 * Reads every template of the channel's WABA from Meta, page by page, then in one transaction upserts
 * them by (workspace, WABA, name, language) and marks cached ones Meta no longer lists as DELETED.
 * Throws GraphError when Meta cannot be asked; nothing is written then.
 */
export async function syncTemplates (deps: Pick<Deps, 'db' | 'config' | 'clock'>, channel: TemplateSource, options: { pageSize?: number } = {}): Promise<SyncResult> {
  const wa = deps.config.whatsapp
  const client = createGraphClient({ baseUrl: wa.graph_base_url, version: channel.graphApiVersion, accessToken: channel.accessToken, timeoutMs: wa.graph_timeout_seconds * 1000 })
  const listed: GraphTemplate[] = []
  let after: string | undefined
  for (let page = 0; page < maxPages; page++) {
    const limit = options.pageSize ?? pageSize
    const result = await client.listTemplates(channel.wabaId, after === undefined ? { limit } : { after, limit })
    listed.push(...result.templates)
    after = result.after
    if (after === undefined) break
  }
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const kept: string[] = []
    for (const t of listed) {
      kept.push(upsertTemplate(db, {
        workspaceId: channel.workspaceId,
        wabaId: channel.wabaId,
        graphTemplateId: t.id,
        name: t.name,
        language: t.language,
        status: t.status,
        category: t.category ?? null,
        parameterFormat: t.parameterFormat ?? null,
        components: t.components,
        syncedAt: now,
        updatedAt: now
      }))
    }
    const deleted = markOtherTemplatesDeleted(db, channel.workspaceId, channel.wabaId, kept, now)
    return { total: listed.length, approved: listed.filter(t => t.status === 'APPROVED').length, deleted }
  }, { behavior: 'immediate' })
}

/** How many templates of a WABA are cached (deleted ones left out), how many approved, and when last synced. */
export function templateSummary (db: Db, workspaceId: string, wabaId: string): { total: number, approved: number, lastSyncedAt: number | null } {
  return templateCounts(db, workspaceId, wabaId)
}

/** The APPROVED templates of a WABA — the only ones that may be offered for sending — by name, then language. */
export function approvedTemplates (db: Db, workspaceId: string, wabaId: string): Template[] {
  return db.select().from(templates)
    .where(and(eq(templates.workspaceId, workspaceId), eq(templates.wabaId, wabaId), eq(templates.status, 'APPROVED')))
    .orderBy(asc(templates.name), asc(templates.language))
    .all()
}

/** One APPROVED template of the WABA by its row id, or undefined (unknown, another WABA's, or not approved). */
export function findApprovedTemplate (db: Db, workspaceId: string, wabaId: string, id: string): Template | undefined {
  return db.select().from(templates)
    .where(and(eq(templates.workspaceId, workspaceId), eq(templates.wabaId, wabaId), eq(templates.id, id), eq(templates.status, 'APPROVED')))
    .get()
}

/**
 * Applies one template webhook (message_template_status_update → status and reason,
 * template_category_update → category, message_template_quality_update → quality) to the cache. The
 * template is found by Meta's id, then by (WABA, name, language); an unknown one is added when the
 * event names it. Returns true when something changed. Synchronous: runs in the caller's transaction.
 */
export function applyTemplateEvent (db: Db, workspaceId: string, event: TemplateEvent, now: number): boolean {
  const changes = changesOf(event)
  if (changes === undefined) return false
  const row = findRow(db, workspaceId, event)
  if (row === undefined) {
    if (event.wabaId === null || event.templateName === null || event.language === null) return false
    insertTemplate(db, {
      workspaceId,
      wabaId: event.wabaId,
      graphTemplateId: event.templateId,
      name: event.templateName,
      language: event.language,
      status: 'UNKNOWN',
      category: event.category,
      ...changes,
      updatedAt: now
    })
    return true
  }
  const update: Changes & { graphTemplateId?: string } = {}
  for (const [key, value] of Object.entries(changes) as Array<[keyof Changes, string | null]>) {
    if (row[key] !== value) Object.assign(update, { [key]: value })
  }
  if (row.graphTemplateId === null && event.templateId !== null) update.graphTemplateId = event.templateId
  if (Object.keys(update).length === 0) return false
  updateTemplate(db, workspaceId, row.id, { ...update, updatedAt: now })
  return true
}

type Changes = Partial<Pick<Template, 'status' | 'reason' | 'category' | 'quality'>>

function changesOf (event: TemplateEvent): Changes | undefined {
  switch (event.field) {
    case 'message_template_status_update':
      if (event.event === null || event.event === '') return undefined
      return { status: event.event.toUpperCase(), reason: event.reason === null || event.reason.toUpperCase() === 'NONE' ? null : event.reason }
    case 'template_category_update':
      return event.newCategory === null || event.newCategory === '' ? undefined : { category: event.newCategory.toUpperCase() }
    case 'message_template_quality_update':
      return event.newQuality === null || event.newQuality === '' ? undefined : { quality: event.newQuality.toUpperCase() }
    default:
      return undefined
  }
}

function findRow (db: Db, workspaceId: string, event: TemplateEvent): Template | undefined {
  if (event.templateId !== null) {
    const byId = findTemplateByGraphId(db, workspaceId, event.templateId)
    if (byId !== undefined) return byId
  }
  if (event.wabaId === null || event.templateName === null || event.language === null) return undefined
  return findTemplateByIdentity(db, workspaceId, event.wabaId, event.templateName, event.language)
}

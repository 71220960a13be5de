// Workspace rules shared by setup, sign-up and the workspace pages.
import { nameFieldProblem } from '../../platform/text.js'
import { eq } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { workspaces } from '../../db/schema.js'
import { recordAudit } from '../audit/audit.service.js'
import { countOwners, insertWorkspace, listAllWorkspaces, listMemberships, findMembership, findWorkspace, slugTaken, userNames, type MembershipView, type Workspace } from './workspaces.store.js'

export type { MembershipView, Workspace }
export { findMembership, listMemberships, listAllWorkspaces, userNames }

/** Checks a workspace name; returns a catalogue key for the problem, or undefined when fine. */
export function workspaceNameProblem (name: string): string | undefined {
  return nameFieldProblem(name, 'workspaces.name', 80)
}

/** A URL-safe slug from a name, unique among workspaces ("acme", "acme-2" …). */
export function uniqueSlug (db: Db, name: string): string {
  const base = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'workspace'
  let slug = base
  for (let i = 2; slugTaken(db, slug); i++) slug = `${base}-${i}`
  return slug
}

/** Creates a workspace owned by `ownerUserId` and records it. Call inside a transaction. */
export function createWorkspace (db: Db, input: { name: string, ownerUserId: string, ip?: string | undefined }, now: number): Workspace {
  const name = input.name.trim()
  const workspace = insertWorkspace(db, { slug: uniqueSlug(db, name), name, ownerUserId: input.ownerUserId }, now)
  recordAudit(db, { action: 'workspace_created', workspaceId: workspace.id, actorUserId: input.ownerUserId, details: { name }, ip: input.ip }, now)
  return workspace
}

/** How many owners a workspace has (the last one can neither leave, be removed nor be demoted). */
export function countOwnersOf (deps: { db: Db }, workspaceId: string): number {
  return countOwners(deps.db, workspaceId)
}

/** The inbox behaviour a workspace chose (Settings → Workspace). */
export interface InboxSettings {
  selfAssignOnReply: boolean
  autoAssign: 'none' | 'round_robin'
  resolvedReply: 'reopen' | 'new'
  sendReadReceipts: boolean
}

/** The workspace's inbox settings (defaults for a workspace that does not exist). */
export function inboxSettings (db: Db, workspaceId: string): InboxSettings {
  const w = findWorkspace(db, workspaceId)
  return {
    selfAssignOnReply: w?.selfAssignOnReply ?? true,
    autoAssign: w?.autoAssign ?? 'none',
    resolvedReply: w?.resolvedReply ?? 'reopen',
    sendReadReceipts: w?.sendReadReceipts ?? true
  }
}

/**
 * Saves the workspace's inbox settings (Settings → Inbox; the caller checked the admin role). What
 * changed goes to the audit log, old → new, in the same transaction.
 */
export function updateInboxSettings (db: Db, actor: { workspaceId: string, userId: string, ip?: string | undefined }, settings: InboxSettings, now: number): void {
  db.transaction((tx) => {
    const before = inboxSettings(tx, actor.workspaceId)
    const changed = (Object.keys(settings) as Array<keyof InboxSettings>).filter(k => before[k] !== settings[k])
    tx.update(workspaces).set({ ...settings, updatedAt: now }).where(eq(workspaces.id, actor.workspaceId)).run()
    if (changed.length === 0) return
    recordAudit(tx, {
      action: 'inbox_settings_changed',
      workspaceId: actor.workspaceId,
      actorUserId: actor.userId,
      details: { changes: changed.map(k => `${k}: ${String(before[k])} → ${String(settings[k])}`).join(', ') },
      ip: actor.ip
    }, now)
  }, { behavior: 'immediate' })
}

// A workspace and its team: create, rename, switch, the two-factor requirement, members, roles,
// removal and leaving. The rules (also in the README's permission table):
//   - admins manage agents and admins (change agent↔admin, remove); only owners make, demote or remove owners;
//   - nobody raises their own role; the last owner can neither leave, be removed nor be demoted;
//   - a role change or a removal ends every session of the affected person, so their old cookie dies
//     (they sign in again and get the new rights; the access hook re-reads membership on every request anyway).
// Every check runs inside the same immediate transaction as the change it guards.
import type { Deps } from '../../deps.js'
import { ForbiddenError, NotFoundError } from '../../platform/http/errors.js'
import { roleRank, type Role } from '../../platform/http/policy.js'
import { recordAudit } from '../audit/audit.service.js'
import { unassignMember } from '../inbox/conversations.service.js'
import { endUserSessions, setActiveWorkspace } from '../auth/sessions.service.js'
import { createWorkspace, findMembership, workspaceNameProblem } from './workspaces.service.js'
import { countOwners, deleteMember, findMember, findWorkspace, listMembers, updateMemberRole, updateWorkspace, type MemberRow } from './workspaces.store.js'
import { listPendingInvites, type PendingInvite } from './invites.store.js'

export type { MemberRow, PendingInvite }

type D = Pick<Deps, 'db' | 'clock'>
export type FieldErrors = Record<string, string>
export type Result<T> = { ok: true, value: T } | { ok: false, errors: FieldErrors }

/** Who acts, in which workspace (always the session's active membership, never the request's say-so). */
export interface Actor { userId: string, sessionId: string, workspaceId: string, role: Role, ip?: string | undefined }

export const roles: readonly Role[] = ['owner', 'admin', 'agent']

/** Whether a string is a role. */
export function isRole (value: string): value is Role {
  return (roles as readonly string[]).includes(value)
}

function fail (key: string, field = 'form'): { ok: false, errors: FieldErrors } {
  return { ok: false, errors: { [field]: key } }
}

/** Makes `workspaceId` the session's active workspace; NotFoundError unless the user is a member of it. */
export function switchWorkspace (deps: D, user: { userId: string, sessionId: string }, workspaceId: string): void {
  if (workspaceId === '' || findMembership(deps.db, workspaceId, user.userId) === undefined) throw new NotFoundError()
  setActiveWorkspace(deps.db, user.sessionId, workspaceId)
}

/** Creates a workspace owned by the user and makes it the session's active one. */
export function createOwnedWorkspace (deps: D, user: { userId: string, sessionId: string, ip?: string | undefined }, name: string): Result<{ workspaceId: string }> {
  const problem = workspaceNameProblem(name)
  if (problem !== undefined) return fail(problem, 'name')
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const workspace = createWorkspace(db, { name, ownerUserId: user.userId, ip: user.ip }, now)
    setActiveWorkspace(db, user.sessionId, workspace.id)
    return { ok: true as const, value: { workspaceId: workspace.id } }
  }, { behavior: 'immediate' })
}

export interface WorkspaceSettings { id: string, name: string, requireTwoFactor: boolean, createdAt: number, membersWithoutTwoFactor: number }

/** The active workspace's settings; NotFoundError when it is gone. */
export function workspaceSettings (deps: D, actor: Actor): WorkspaceSettings {
  const w = findWorkspace(deps.db, actor.workspaceId)
  if (w === undefined) throw new NotFoundError()
  const without = listMembers(deps.db, w.id).filter(m => !m.twoFactorEnabled).length
  return { id: w.id, name: w.name, requireTwoFactor: w.requireTwoFactor, createdAt: w.createdAt, membersWithoutTwoFactor: without }
}

/** Renames the active workspace (admins and owners). */
export function renameWorkspace (deps: D, actor: Actor, name: string): Result<null> {
  if (roleRank[actor.role] < roleRank.admin) throw new ForbiddenError()
  const problem = workspaceNameProblem(name)
  if (problem !== undefined) return fail(problem, 'name')
  const now = deps.clock.now()
  const next = name.trim()
  deps.db.transaction((db) => {
    const w = findWorkspace(db, actor.workspaceId)
    if (w === undefined) throw new NotFoundError()
    if (w.name === next) return
    updateWorkspace(db, w.id, { name: next }, now)
    recordAudit(db, { action: 'workspace_renamed', workspaceId: w.id, actorUserId: actor.userId, details: { from: w.name, to: next }, ip: actor.ip }, now)
  }, { behavior: 'immediate' })
  return { ok: true, value: null }
}

/**
 * Requires (or stops requiring) two-factor authentication of every member (owners only). An owner
 * without two-factor authentication cannot require it: they would lock themselves out.
 */
export function setTwoFactorRequired (deps: D, actor: Actor & { twoFactorEnabled: boolean }, required: boolean): Result<null> {
  if (actor.role !== 'owner') throw new ForbiddenError()
  if (required && !actor.twoFactorEnabled) return fail('workspaces.twoFactor.enableYoursFirst', 'twoFactor')
  const now = deps.clock.now()
  deps.db.transaction((db) => {
    const w = findWorkspace(db, actor.workspaceId)
    if (w === undefined) throw new NotFoundError()
    if (w.requireTwoFactor === required) return
    updateWorkspace(db, w.id, { requireTwoFactor: required }, now)
    recordAudit(db, { action: required ? 'workspace_two_factor_required' : 'workspace_two_factor_optional', workspaceId: w.id, actorUserId: actor.userId, ip: actor.ip }, now)
  }, { behavior: 'immediate' })
  return { ok: true, value: null }
}

/** The members (owners first, then admins, then agents, each by name) and the pending invitations. */
export function listTeam (deps: D, workspaceId: string): { members: MemberRow[], invites: PendingInvite[] } {
  const members = listMembers(deps.db, workspaceId)
    .sort((a, b) => roleRank[b.role] - roleRank[a.role] || a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId))
  return { members, invites: listPendingInvites(deps.db, workspaceId, deps.clock.now()) }
}

/** What `actor` may do to `target`: the roles they may give, and whether they may remove them. */
export function allowedActions (actor: { userId: string, role: Role }, target: { userId: string, role: Role }): { roles: Role[], remove: boolean } {
  if (actor.userId === target.userId || roleRank[actor.role] < roleRank.admin) return { roles: [], remove: false }
  if (target.role === 'owner' && actor.role !== 'owner') return { roles: [], remove: false }
  const give = roles.filter(r => r !== target.role && (r !== 'owner' || actor.role === 'owner'))
  return { roles: give, remove: true }
}

function targetOf (deps: D, actor: Actor, userId: string): MemberRow {
  if (roleRank[actor.role] < roleRank.admin) throw new ForbiddenError()
  const target = findMember(deps.db, actor.workspaceId, userId)
  if (target === undefined) throw new NotFoundError()
  return target
}

/**
 * A member the actor may manage, with what they may do to them (for the manage and removal pages).
 * NotFoundError for anyone outside the actor's workspace; ForbiddenError when the actor may do nothing
 * to them, or (with `need: 'remove'`) may not remove them.
 */
export function memberToManage (deps: D, actor: Actor, userId: string, need: 'manage' | 'remove' = 'manage'): { member: MemberRow, actions: { roles: Role[], remove: boolean } } {
  const member = targetOf(deps, actor, userId)
  const actions = allowedActions(actor, member)
  if (need === 'remove' ? !actions.remove : actions.roles.length === 0 && !actions.remove) throw new ForbiddenError()
  return { member, actions }
}

/**
 * Changes a member's role. Throws NotFoundError for someone who is not a member of the actor's
 * workspace and ForbiddenError for a change the actor's role does not allow; refuses (form error)
 * to demote the last owner. Ends the member's sessions (all but the current one when it is the actor).
 */
export function changeMemberRole (deps: D, actor: Actor, userId: string, role: string): Result<null> {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const target = targetOf({ ...deps, db }, actor, userId)
    if (!isRole(role)) return fail('members.role.invalid', 'role')
    if (target.role === role) return { ok: true as const, value: null }
    const self = target.userId === actor.userId
    if (self && roleRank[role] > roleRank[target.role]) throw new ForbiddenError()
    if ((target.role === 'owner' || role === 'owner') && actor.role !== 'owner') throw new ForbiddenError()
    if (target.role === 'owner' && countOwners(db, actor.workspaceId) <= 1) return fail('members.lastOwner.demote')
    updateMemberRole(db, actor.workspaceId, target.userId, role, now)
    endUserSessions(db, target.userId, self ? actor.sessionId : undefined)
    recordAudit(db, { action: 'member_role_changed', workspaceId: actor.workspaceId, actorUserId: actor.userId, subjectUserId: target.userId, details: { from: target.role, to: role }, ip: actor.ip }, now)
    return { ok: true as const, value: null }
  }, { behavior: 'immediate' })
}

/**
 * Removes a member from the actor's workspace and ends their sessions. Removing oneself is leaving.
 * NotFoundError / ForbiddenError as for role changes; the last owner cannot be removed.
 */
export function removeMember (deps: D, actor: Actor, userId: string): Result<null> {
  if (userId === actor.userId) return leaveWorkspace(deps, actor)
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const target = targetOf({ ...deps, db }, actor, userId)
    if (!allowedActions(actor, target).remove) throw new ForbiddenError()
    if (target.role === 'owner' && countOwners(db, actor.workspaceId) <= 1) return fail('members.lastOwner.remove')
    deleteMember(db, actor.workspaceId, target.userId)
    unassignMember(db, actor.workspaceId, target.userId, now)
    endUserSessions(db, target.userId)
    recordAudit(db, { action: 'member_removed', workspaceId: actor.workspaceId, actorUserId: actor.userId, subjectUserId: target.userId, details: { role: target.role }, ip: actor.ip }, now)
    return { ok: true as const, value: null }
  }, { behavior: 'immediate' })
}

/** The actor leaves their active workspace (the last owner cannot). The session stays signed in. */
export function leaveWorkspace (deps: D, actor: Actor): Result<null> {
  const now = deps.clock.now()
  return deps.db.transaction((db) => {
    const me = findMember(db, actor.workspaceId, actor.userId)
    if (me === undefined) throw new NotFoundError()
    if (me.role === 'owner' && countOwners(db, actor.workspaceId) <= 1) return fail('members.lastOwner.leave')
    deleteMember(db, actor.workspaceId, actor.userId)
    unassignMember(db, actor.workspaceId, actor.userId, now)
    recordAudit(db, { action: 'member_left', workspaceId: actor.workspaceId, actorUserId: actor.userId, subjectUserId: actor.userId, details: { role: me.role }, ip: actor.ip }, now)
    return { ok: true as const, value: null }
  }, { behavior: 'immediate' })
}

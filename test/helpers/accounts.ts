// Accounts for route tests: create users and workspaces directly through the services, sign in over
// HTTP, and send forms the way a browser on this site would (same-origin, urlencoded).
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Deps } from '../../src/deps.js'
import { createUserFromCli } from '../../src/features/auth/auth.service.js'
import type { Role } from '../../src/platform/http/policy.js'
import { memberships } from '../../src/db/schema.js'

export const origin = 'http://localhost:8080'
export const goodPassword = 'correct horse battery staple'

/** Encodes a form body. */
export function form (fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

/** A same-origin form POST (as a browser on this site sends it). */
export function post (app: FastifyInstance, url: string, fields: Record<string, string>, cookie?: string, extra: Partial<InjectOptions> = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    payload: form(fields),
    ...extra,
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin, ...(cookie === undefined ? {} : { cookie }), ...(extra.headers ?? {}) }
  } as InjectOptions)
}

/** A GET with an optional session cookie. */
export function get (app: FastifyInstance, url: string, cookie?: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: { ...(cookie === undefined ? {} : { cookie }), ...headers } })
}

/** The "name=value" of the session cookie a response set, or undefined. */
export function sessionCookie (res: LightMyRequestResponse): string | undefined {
  const raw = res.headers['set-cookie']
  const all = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]
  const found = all.find(c => /^(__Host-)?weltra_session=[^;]+/.test(c))
  return found?.split(';')[0]
}

export interface TestUser { id: string, email: string, password: string, name: string }

let counter = 0

/** Creates a user (and, with `workspace`, a workspace they own). */
export async function createUser (deps: Deps, options: { name?: string, email?: string, workspace?: string, owner?: boolean } = {}): Promise<TestUser & { workspaceId: string | undefined }> {
  counter++
  const name = options.name ?? `User ${counter}`
  const email = options.email ?? `user${counter}.${Date.now()}@example.com`
  const result = await createUserFromCli(deps, { name, email, password: goodPassword, owner: options.owner ?? options.workspace !== undefined, workspaceName: options.workspace })
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return { id: result.value.userId, email, password: goodPassword, name, workspaceId: result.value.workspaceId }
}

/** Adds a user to a workspace with a role (directly, as an accepted invitation would). */
export function addMember (deps: Deps, workspaceId: string, userId: string, role: Role): void {
  const now = deps.clock.now()
  deps.db.insert(memberships).values({ workspaceId, userId, role, createdAt: now, updatedAt: now }).run()
}

/** Signs in over HTTP and returns the session cookie ("name=value"). */
export async function signIn (app: FastifyInstance, user: { email: string, password: string }): Promise<string> {
  const res = await post(app, '/login', { email: user.email, password: user.password })
  const cookie = sessionCookie(res)
  if (res.statusCode !== 303 || cookie === undefined) throw new Error(`sign-in failed: ${res.statusCode}`)
  return cookie
}

// A workspace with a team (owner, admin, agent, each signed in) and another workspace with its own
// owner: the cast of the settings pages' tests (who may, who may not, and isolation).
import type { Test } from 'tap'
import { addMember, createUser, signIn } from './accounts.js'
import { buildTestApp, type TestApp, type TestAppOptions } from './build-test-app.js'

export interface TeamWorld extends TestApp {
  ws: string
  otherWs: string
  ownerId: string
  adminCookie: string
  agentCookie: string
  outsiderCookie: string
}

/** `clockAt` sets the fake clock first (sessions are made at that time). */
export async function teamWorld (t: Test, options: TestAppOptions & { clockAt?: number } = {}): Promise<TeamWorld> {
  const env = await buildTestApp(t, options)
  if (options.clockAt !== undefined) env.clock.set(options.clockAt)
  const owner = await createUser(env.deps, { name: 'Olivia Owner', workspace: 'Loja Azul' })
  const admin = await createUser(env.deps, { name: 'Ana Admin' })
  const agent = await createUser(env.deps, { name: 'Bruno Agent' })
  const outsider = await createUser(env.deps, { name: 'Otto Outsider', workspace: 'Other Shop' })
  addMember(env.deps, owner.workspaceId!, admin.id, 'admin')
  addMember(env.deps, owner.workspaceId!, agent.id, 'agent')
  return {
    ...env,
    ws: owner.workspaceId!,
    otherWs: outsider.workspaceId!,
    ownerId: owner.id,
    adminCookie: await signIn(env.app, admin),
    agentCookie: await signIn(env.app, agent),
    outsiderCookie: await signIn(env.app, outsider)
  }
}

// Workspaces and the team: create, rename, switch, members, invitations, roles, audit log.
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'

export async function workspacesRoutes (_app: FastifyInstance, _deps: Deps): Promise<void> {}

// A person's own account: profile, email, password, sessions, two-factor authentication.
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../deps.js'

export async function accountRoutes (_app: FastifyInstance, _deps: Deps): Promise<void> {}

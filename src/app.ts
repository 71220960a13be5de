// buildApp(deps): the HTTP application. Platform plugins first, then every feature with its prefix.
// This file is THE route table: there is no autoload.
import { readFileSync } from 'node:fs'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import rateLimit from '@fastify/rate-limit'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Deps } from './deps.js'
import { newId } from './platform/crypto/index.js'
import { installErrorHandling } from './platform/http/error-handler.js'
import { requirePolicies } from './platform/http/policy.js'
import { installAccessControl } from './platform/http/access.js'
import { publicUrl } from './config/load-config.js'
import { installRendering } from './platform/http/render.js'
import { installSecurityHeaders } from './platform/http/security.js'
import { StaticFiles, staticRoutes } from './platform/http/static.js'
import { healthRoutes } from './features/health/health.routes.js'
import { homeRoutes } from './features/home/home.routes.js'
import { authRoutes } from './features/auth/auth.routes.js'
import { sessionAuthenticator } from './features/auth/sessions.service.js'
import { inboxRoutes } from './features/inbox/inbox.routes.js'
import { liveRoutes } from './features/live/live.routes.js'
import { composerRoutes } from './features/inbox/composer.routes.js'
import { cannedRoutes } from './features/canned/canned.routes.js'
import { apiKeysRoutes } from './features/apikeys/apikeys.routes.js'
import { mediaRoutes } from './features/media/media.routes.js'
import { workspacesRoutes } from './features/workspaces/workspaces.routes.js'
import { accountRoutes } from './features/account/account.routes.js'
import { webhooksRoutes } from './features/webhooks/webhooks.routes.js'
import { webhookLogRoutes } from './features/webhooks/webhook-log.routes.js'
import { channelsRoutes } from './features/channels/channels.routes.js'
import { contactsRoutes } from './features/contacts/contacts.routes.js'
import { contactsDuplicatesRoutes } from './features/contacts/contacts-duplicates.routes.js'
import { transferRoutes } from './features/contacts/transfer.routes.js'
import { contactsApi } from './features/contacts/contacts.api.js'
import { inboxApi } from './features/inbox/inbox.api.js'
import { channelsApi } from './features/channels/channels.api.js'
import { hooksRoutes } from './features/hooks/hooks.routes.js'
import { privacyRoutes } from './features/privacy/privacy.routes.js'
import { contactPrivacyRoutes } from './features/contacts/contact-privacy.routes.js'
import { hooksApi } from './features/hooks/hooks.api.js'
import { apiRoutes } from './features/api/api.routes.js'
import { authenticateApiKey } from './features/apikeys/apikeys.service.js'
import { collectApiRoutes } from './platform/http/openapi.js'

export interface BuildOptions {
  /** Read the TLS certificate and key from config and serve HTTPS. */
  tls?: boolean
  /** Cache compiled templates (off in development so edits show on reload). */
  cacheTemplates?: boolean
}

const oneMiB = 1024 * 1024

/** Builds the Fastify app; call `listen` (or `inject` in tests) on the result. */
export async function buildApp (deps: Deps, options: BuildOptions = {}): Promise<FastifyInstance> {
  const { config } = deps
  const serverOptions: FastifyServerOptions & { https?: { cert: Buffer, key: Buffer } | null } = {
    loggerInstance: deps.log,
    genReqId: () => newId(),
    requestIdHeader: false,
    trustProxy: config.server.trusted_proxies.length > 0 ? [...config.server.trusted_proxies] : false,
    bodyLimit: oneMiB,
    connectionTimeout: 0,
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false },
    // TypeBox compiles route schemas (the type provider Weltra uses) and replies are JSON.stringify'd:
    // Fastify then never loads Ajv and fast-json-stringify, which cost ~36 ms of every start.
    schemaController: {
      compilersFactory: {
        buildValidator: (() => TypeBoxValidatorCompiler) as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator'],
        buildSerializer: () => () => (data: unknown) => JSON.stringify(data)
      }
    }
  }
  if (options.tls === true && config.server.tls_cert_file !== '') {
    serverOptions.https = { cert: readFileSync(config.server.tls_cert_file), key: readFileSync(config.server.tls_key_file) }
  }
  const app = Fastify(serverOptions as FastifyServerOptions) as unknown as FastifyInstance

  requirePolicies(app)
  await app.register(formbody, { bodyLimit: oneMiB })
  await app.register(cookie)
  await app.register(rateLimit, { global: false })
  await installSecurityHeaders(app)
  const staticFiles = new StaticFiles(deps.assets.static)
  installRendering(app, {
    views: deps.assets.views,
    i18n: deps.i18n,
    staticFiles,
    version: deps.assets.version,
    defaultTimeZone: config.ui.default_time_zone,
    now: deps.clock.now,
    cache: options.cacheTemplates ?? true,
    sandbox: () => deps.lifecycle.demo === true
  })
  installErrorHandling(app)
  installAccessControl(app, { authenticate: sessionAuthenticator(deps), authenticateApiKey: (token) => authenticateApiKey(deps, token), publicOrigin: new URL(publicUrl(config)).origin })
  collectApiRoutes(app)
  staticRoutes(app, staticFiles)

  // ── the route table ──
  await app.register(healthRoutes, deps)
  await app.register(homeRoutes, deps)
  await app.register(authRoutes, deps)
  await app.register(inboxRoutes, deps)
  await app.register(liveRoutes, deps)
  await app.register(composerRoutes, deps)
  await app.register(cannedRoutes, deps)
  await app.register(apiKeysRoutes, deps)
  await app.register(hooksRoutes, deps)
  await app.register(privacyRoutes, deps)
  await app.register(mediaRoutes, deps)
  await app.register(workspacesRoutes, deps)
  await app.register(accountRoutes, deps)
  await app.register(webhooksRoutes, deps)
  await app.register(webhookLogRoutes, deps)
  await app.register(channelsRoutes, deps)
  await app.register(contactsRoutes, deps)
  await app.register(contactsDuplicatesRoutes, deps)
  await app.register(transferRoutes, deps)
  await app.register(contactPrivacyRoutes, deps)
  // ── the public API (/api/v1) ──
  await app.register(apiRoutes, deps)
  await app.register(contactsApi, deps)
  await app.register(inboxApi, deps)
  await app.register(channelsApi, deps)
  await app.register(hooksApi, deps)

  return app
}

// The public API's OpenAPI 3.1 document, built from the routes themselves. Every /api/v1 route declares
// its JSON schemas (params, querystring, body, response by status) in its route options: Fastify
// validates requests and serialises responses with exactly these (a response never carries a field the
// schema does not name), and this module collects them as the routes are registered, so the document
// cannot drift from the code. A route under /api/v1 without a summary, an operationId or a success
// response schema stops the app from starting, like a route without a policy.
import type { FastifyInstance, RouteOptions } from 'fastify'
import { apiRole, type Policy } from './policy.js'

export const apiPrefix = '/api/v1'

export interface ApiRouteSchema {
  summary: string
  description?: string
  operationId: string
  tags: string[]
  params?: Record<string, unknown>
  querystring?: Record<string, unknown>
  headers?: Record<string, unknown>
  body?: Record<string, unknown>
  /** The fields of a multipart/form-data body (documented only: Fastify does not validate multipart). */
  multipart?: Record<string, unknown>
  response: Record<number, Record<string, unknown>>
}

export interface ApiRoute { method: string, url: string, policy: Policy, schema: ApiRouteSchema }

export class ApiDocumentationError extends Error {
  override name = 'ApiDocumentationError'
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The documented routes of the public API, in registration order. */
    apiRoutes: ApiRoute[]
  }
}

/** Installs the collection of API routes (and the start-time check that each is documented). */
export function collectApiRoutes (app: FastifyInstance): void {
  const routes: ApiRoute[] = []
  app.decorate('apiRoutes', routes)
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith(apiPrefix + '/')) return
    const policy = (route.config as { policy?: Policy } | undefined)?.policy
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter(m => m !== 'HEAD')
    // The document itself and its reference page are not operations of the API.
    if (policy === undefined || apiRole(policy) === undefined || methods.length === 0) return
    const schema = route.schema as Partial<ApiRouteSchema> | undefined
    const where = `${methods.join(',')} ${route.url}`
    if (schema === undefined || typeof schema.summary !== 'string' || typeof schema.operationId !== 'string' || !Array.isArray(schema.tags)) {
      throw new ApiDocumentationError(`API route ${where} needs a schema with summary, operationId and tags`)
    }
    if (schema.response === undefined || !Object.keys(schema.response).some(code => code.startsWith('2'))) {
      throw new ApiDocumentationError(`API route ${where} needs a schema for its success response`)
    }
    if (routes.some(r => r.schema.operationId === schema.operationId)) throw new ApiDocumentationError(`API route ${where} repeats operationId ${schema.operationId}`)
    for (const method of methods) routes.push({ method, url: route.url, policy, schema: schema as ApiRouteSchema })
  })
}

/** The error body every API error has (platform/http/error-handler.ts). */
export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'A stable machine-readable code, e.g. not_found, invalid_request, rate_limited.' },
        message: { type: 'string', description: 'A sentence for people, in the language of Accept-Language.' },
        details: {
          type: 'array',
          description: 'For invalid requests: each problem, with where it is (body.name, query.limit …).',
          items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } }
        }
      }
    }
  }
} as const

const standardErrors: Record<string, string> = {
  400: 'The request is not valid: see error.details.',
  401: 'No API key, or an unknown or revoked one.',
  403: 'The key\'s role may not do this (an admin key is needed).',
  404: 'Nothing with this id in the key\'s workspace.',
  429: 'Too many requests for this key: wait for the time in Retry-After.'
}

/** A JSON Schema with our OpenAPI-only keys kept and nothing Fastify-specific. */
function schemaOf (s: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(s)) as Record<string, unknown>
}

function parameters (where: 'path' | 'query' | 'header', schema: Record<string, unknown> | undefined): Array<Record<string, unknown>> {
  if (schema === undefined) return []
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>
  const required = new Set((schema.required ?? []) as string[])
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s
    return { name, in: where, required: where === 'path' || required.has(name), ...(typeof description === 'string' ? { description } : {}), schema: schemaOf(rest) }
  })
}

export interface DocumentInfo { version: string, serverUrl: string }

/** The OpenAPI 3.1 document of the API routes registered on `app`. */
export function openApiDocument (app: FastifyInstance, info: DocumentInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  const tags = new Set<string>()
  for (const route of app.apiRoutes) {
    const s = route.schema
    for (const tag of s.tags) tags.add(tag)
    const path = route.url.replace(/:(\w+)/g, '{$1}')
    const responses: Record<string, unknown> = {}
    for (const [code, body] of Object.entries(s.response)) {
      const { description, ...schema } = body
      responses[code] = !code.startsWith('2')
        ? { description: typeof description === 'string' ? description : 'An error.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
        : code === '204'
          ? { description: typeof description === 'string' ? description : 'Done.' }
          : schema.type === 'string' && schema.format === 'binary'
            ? { description: typeof description === 'string' ? description : 'The file.', content: { 'application/octet-stream': { schema: schemaOf(schema) } } }
            : { description: typeof description === 'string' ? description : 'Success.', content: { 'application/json': { schema: schemaOf(schema) } } }
    }
    const hasInput = s.params !== undefined || s.querystring !== undefined || s.body !== undefined || s.headers !== undefined || s.multipart !== undefined
    for (const [code, description] of Object.entries(standardErrors)) {
      if (code === '400' && !hasInput) continue
      if (code === '403' && route.policy !== 'api:admin') continue
      if (code === '404' && !route.url.includes(':')) continue
      responses[code] ??= { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
    }
    paths[path] ??= {}
    paths[path][route.method.toLowerCase()] = {
      operationId: s.operationId,
      summary: s.summary,
      ...(s.description === undefined ? {} : { description: s.description }),
      tags: s.tags,
      'x-weltra-role': apiRole(route.policy),
      parameters: [...parameters('path', s.params), ...parameters('query', s.querystring), ...parameters('header', s.headers)],
      ...(s.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(s.body) } } } }),
      ...(s.multipart === undefined ? {} : { requestBody: { required: true, content: { 'multipart/form-data': { schema: schemaOf(s.multipart) } } } }),
      responses
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Weltra API',
      version: info.version,
      description: 'Everything an agent does, for integrations: contacts, conversations, messages and more, in the workspace of the API key. ' +
        'Authenticate with `Authorization: Bearer <key>` (Settings → API keys, or `weltra apikey create`). ' +
        'Lists are paged with an opaque `cursor`: pass the `next_cursor` of a page to get the next one.'
    },
    servers: [{ url: info.serverUrl }],
    security: [{ apiKey: [] }],
    tags: [...tags].sort().map(name => ({ name })),
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key of the workspace (wk_…).' } },
      schemas: { Error: schemaOf(errorSchema) }
    }
  }
}

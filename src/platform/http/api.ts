// Shared pieces of the public API's routes (/api/v1): the route config (policy and the per-key rate
// limit), the caller, and the JSON Schema fragments every resource uses (ids, times, cursor pages).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type, type TLiteral, type TNull, type TSchema, type TString, type TUnion } from '@sinclair/typebox'
import { UnauthorizedError } from './errors.js'
import { errorSchema } from './openapi.js'
import type { ApiPrincipal } from './access.js'

/** Requests per minute per API key, for each route (429 with Retry-After beyond it). */
export const apiRequestsPerMinute = 600

/** A route's config: who may call it (api:agent, api:admin) and its rate limit, counted per key. */
export function apiConfig (policy: 'api:agent' | 'api:admin', perMinute = apiRequestsPerMinute): { policy: 'api:agent' | 'api:admin', rateLimit: { max: number, timeWindow: number, keyGenerator: (req: FastifyRequest) => string } } {
  return { policy, rateLimit: { max: perMinute, timeWindow: 60_000, keyGenerator: (req) => `api:${req.apiPrincipal?.keyId ?? req.ip}` } }
}

/** The API key of the request (the access hook has checked it before any handler runs). */
export function apiPrincipal (req: FastifyRequest): ApiPrincipal {
  if (req.apiPrincipal === undefined) throw new UnauthorizedError('api.errors.noKey')
  return req.apiPrincipal
}

/** Ids as newId() makes them: 26 Crockford base-32 characters. */
export const idPattern = '^[0-9A-HJKMNP-TV-Z]{26}$'

/** An id (path parameter, query parameter or property). */
export const Id = (description: string): TString => Type.String({ pattern: idPattern, description })

/** One of these strings (an enum, as OpenAPI shows it). */
export const OneOf = <T extends string>(values: readonly T[], description?: string): TUnion<Array<TLiteral<T>>> =>
  Type.Union(values.map(v => Type.Literal(v)), description === undefined ? {} : { description })

/** A value or null. */
export const Nullable = <T extends TSchema>(schema: T, description?: string): TUnion<[T, TNull]> =>
  Type.Union([schema, Type.Null()], description === undefined ? {} : { description })

/** A time as an ISO 8601 string (UTC). */
export const Time = (description?: string): TString => Type.String({ format: 'date-time', ...(description === undefined ? {} : { description }) })

/** A time as ISO 8601 (UTC), or null. */
export function iso (ms: number): string
export function iso (ms: number | null): string | null
export function iso (ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}

/** The query parameters of a paged list (limit: 1–100, 50 when left out). */
export const pageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 1200, description: 'The next_cursor of the previous page; leave out for the first page.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'How many items a page holds (default 50).' }))
}

/** A page of items: `data`, and `next_cursor` (null on the last page). */
export function pageSchema<T extends TSchema> (item: T): TSchema {
  return Type.Object({
    data: Type.Array(item),
    next_cursor: Nullable(Type.String(), 'Pass it as `cursor` for the next page; null when this is the last.')
  }, { description: `A page: ${typeof item.description === 'string' ? item.description.replace(/\.$/, '').toLowerCase() + 's' : 'items'}, and the cursor of the next page.` })
}

/** An error response a route documents beyond the standard ones (409, 422 …), with what it means there. */
export function apiError (description: string): Record<string, unknown> {
  return { ...errorSchema, description }
}

/**
 * PUT and DELETE `<path>/labels/:labelId`: put a label on something or take it off (agents; nothing
 * changes when it is already so). `apply` does it (404 for an unknown label or thing) and answers
 * with the thing as it is now.
 */
export function labelRoutes (app: FastifyInstance, options: { path: string, thing: string, operation: string, tags: string[], params: TSchema, response: TSchema, apply: (req: FastifyRequest, labelId: string, on: boolean) => unknown }): void {
  for (const [method, on] of [['put', true], ['delete', false]] as const) {
    const schema = {
      summary: on ? `Put a label on a ${options.thing}` : `Take a label off a ${options.thing}`,
      description: on ? `Nothing changes when the ${options.thing} has it already.` : `Nothing changes when the ${options.thing} does not have it.`,
      operationId: on ? `add${options.operation}Label` : `remove${options.operation}Label`,
      tags: options.tags,
      params: options.params,
      response: { 200: options.response }
    }
    app[method](`${options.path}/labels/:labelId`, { config: apiConfig('api:agent'), schema }, async (req) => {
      return options.apply(req, (req.params as { labelId: string }).labelId, on)
    })
  }
}

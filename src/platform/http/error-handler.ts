// The one place errors become responses. Known AppErrors keep their status and message; anything else
// is a 500 whose details go only to the log, with the request id shown to the user as a reference.
// htmx requests get a flash fragment retargeted into #flash. The API, webhook and health routes get JSON
// in one shape, `{ error: { code, message, details? } }`: a stable machine code, a sentence in the
// caller's language (Accept-Language), and for invalid requests what was wrong, field by field.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, ValidationError } from './errors.js'

function wantsHtml (req: FastifyRequest): boolean {
  return !req.url.startsWith('/webhooks/') && !req.url.startsWith('/api/') && req.url !== '/healthz' && req.url !== '/readyz'
}

function isHtmx (req: FastifyRequest): boolean {
  return req.headers['hx-request'] === 'true'
}

/** One entry of an error's details: where (`body.name`, `query.limit`, a form field) and what. */
export interface ErrorDetail { field: string, message: string }

/** The JSON error body. */
export function errorBody (code: string, message: string, details?: ErrorDetail[]): { error: { code: string, message: string, details?: ErrorDetail[] } } {
  return { error: details === undefined || details.length === 0 ? { code, message } : { code, message, details } }
}

const codeOfStatus: Record<number, string> = { 400: 'invalid_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type', 422: 'invalid', 429: 'rate_limited', 503: 'unavailable' }

function renderError (req: FastifyRequest, reply: FastifyReply, status: number, view: 'errors/not-found' | 'errors/server-error', messageKey: string, json?: { code?: string, details?: ErrorDetail[] }): FastifyReply {
  try {
    if (!wantsHtml(req)) {
      const code = json?.code ?? codeOfStatus[status] ?? (status >= 500 ? 'internal' : 'error')
      const message = status >= 500 && status !== 503 ? `${req.t(messageKey)} (${req.id})` : req.t(messageKey)
      return reply.code(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send(errorBody(code, message, json?.details))
    }
    return renderErrorPage(req, reply, status, view, messageKey)
  } catch (err) {
    // The error page itself failed (a broken template): answer with a bare page, never the details.
    req.log.error({ err }, 'error page failed to render')
    return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store')
      .send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Weltra</title><h1>${status === 404 ? 'Not found' : 'Something went wrong'}</h1><p>Reference: ${req.id}</p></html>`)
  }
}

function renderErrorPage (req: FastifyRequest, reply: FastifyReply, status: number, view: 'errors/not-found' | 'errors/server-error', messageKey: string): FastifyReply {
  reply.code(status)
  if (isHtmx(req)) {
    return reply.header('hx-retarget', '#flash').header('hx-reswap', 'afterbegin').partial('errors/_error-flash', { message: req.t(messageKey) })
  }
  return reply.page(view, { titleKey: status === 404 ? 'errors.notFound.title' : 'errors.serverError.title', message: req.t(messageKey), status })
}

/** Installs the error and not-found handlers. */
export function installErrorHandling (app: FastifyInstance): void {
  app.setNotFoundHandler({}, (req, reply) => renderError(req, reply, 404, 'errors/not-found', 'errors.notFound.text'))

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof AppError) {
      if (err.statusCode >= 500) req.log.error({ err }, 'request failed')
      const details = err instanceof ValidationError ? Object.entries(err.fields).map(([field, key]) => ({ field, message: req.t(key) })) : undefined
      return renderError(req, reply, err.statusCode, err.statusCode === 404 ? 'errors/not-found' : 'errors/server-error', err.messageKey, { code: err.code, ...(details === undefined ? {} : { details }) })
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status >= 500) {
      req.log.error({ err }, 'request failed')
      const key = isStorageFailure(err) ? 'errors.storage.text' : 'errors.serverError.text'
      return renderError(req, reply, isStorageFailure(err) ? 503 : 500, 'errors/server-error', key)
    }
    req.log.info({ code: err.code, status }, 'request rejected')
    const key = status === 413 ? 'errors.tooLarge.text' : status === 429 ? 'errors.tooMany.text' : status === 404 ? 'errors.notFound.text' : 'errors.badRequest.text'
    // A request that failed its route's schema: say which part and why (ajv's own words, in English).
    const details = err.validation?.map(v => ({
      field: [err.validationContext === 'querystring' ? 'query' : err.validationContext ?? 'body', ...(v.instancePath ?? '').split('/').filter(p => p !== '')].join('.'),
      message: v.message ?? 'is invalid'
    }))
    return renderError(req, reply, status, status === 404 ? 'errors/not-found' : 'errors/server-error', key, details === undefined ? undefined : { details })
  })
}

/** A disk-full, read-only or locked database: the request may succeed later, so say 503. */
export function isStorageFailure (err: unknown): boolean {
  // Query builders wrap the driver's error: look through the cause chain.
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^(SQLITE_(FULL|READONLY|BUSY|LOCKED|IOERR|CANTOPEN)|ENOSPC|EROFS|EDQUOT)/.test(code)) return true
  }
  return false
}

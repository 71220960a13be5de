// Typed errors. Services and routes throw these; the one error handler renders them. Messages are
// catalogue keys so the page can be shown in the user's language; nothing here reaches a log as PII.
export class AppError extends Error {
  override name = 'AppError'
  constructor (readonly statusCode: number, readonly code: string, readonly messageKey: string, readonly params: Record<string, string | number> = {}) {
    super(code)
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError'
  constructor () { super(404, 'not_found', 'errors.notFound.text') }
}

export class UnauthorizedError extends AppError {
  override name = 'UnauthorizedError'
  constructor (messageKey = 'errors.signedOut.text') { super(401, 'unauthorized', messageKey) }
}

export class ForbiddenError extends AppError {
  override name = 'ForbiddenError'
  constructor (messageKey = 'errors.forbidden.text') { super(403, 'forbidden', messageKey) }
}

export class UnavailableError extends AppError {
  override name = 'UnavailableError'
  constructor (messageKey = 'errors.unavailable.text') { super(503, 'unavailable', messageKey) }
}

/** A form that failed validation: field name → catalogue key of the message. */
export class ValidationError extends AppError {
  override name = 'ValidationError'
  constructor (readonly fields: Record<string, string>) { super(422, 'invalid', 'errors.invalid.text') }
}

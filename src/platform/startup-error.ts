// The one error type for expected start-up and command failures.

/** A failure with a message for the admin (printed without a stack trace) and an exit code. */
export class StartupError extends Error {
  override name = 'StartupError'
  constructor (message: string, readonly exitCode = 1) { super(message) }
}

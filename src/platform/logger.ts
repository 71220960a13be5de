// pino options: JSON lines on stdout, secrets redacted, request bodies and query strings never logged.
// No transports: their worker threads cannot load from the single executable.
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'

export type Log = Logger

/** Paths pino replaces with "[redacted]" wherever they appear in a log line. */
export const redactPaths = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password', '*.newPassword', '*.currentPassword',
  '*.token', '*.accessToken', '*.access_token', '*.appSecret', '*.app_secret', '*.secret',
  '*.masterKey', '*.master_key', '*.apiKey', '*.api_key', '*.verifyToken', '*.verify_token',
  '*.totpSecret', '*.recoveryCodes'
]

/** Options shared by the app logger and Fastify's. */
export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    base: { app: 'weltra' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string, url: string, id?: string, ip?: string, headers?: Record<string, unknown> }) => ({
        method: req.method,
        // Query strings can carry tokens (links from emails): log the path only.
        url: stripQuery(req.url),
        ip: req.ip,
        userAgent: req.headers?.['user-agent']
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      err: serializeError
    }
  }
}

/**
 * Errors for the log. Query-builder errors carry the statement's parameters (names, hashes, encrypted
 * values) in their message and properties: only the SQL text and the driver's own error are kept.
 */
export function serializeError (err: unknown): Record<string, unknown> {
  if (err !== null && typeof err === 'object' && 'params' in err && 'query' in err) {
    const e = err as unknown as Error & { query: unknown, cause?: unknown }
    return {
      type: e.name,
      message: `failed query: ${String(e.query)}`,
      cause: e.cause === undefined ? undefined : serializeError(e.cause),
      stack: (e.stack ?? '').split('\n').filter(l => /^\s+at /.test(l)).join('\n')
    }
  }
  return pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>
}

/** Removes the query string and fragment from a URL or path. */
export function stripQuery (url: string): string {
  const i = url.search(/[?#]/)
  return i === -1 ? url : url.slice(0, i)
}

/** The application logger, writing JSON lines to `destination` (stdout by default). */
export function createLogger (level: string, destination?: DestinationStream): Log {
  return pino(loggerOptions(level), destination ?? pino.destination({ fd: 1, sync: false }))
}

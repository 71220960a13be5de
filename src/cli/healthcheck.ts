// `weltra healthcheck`: GET /healthz on the configured address; exit 0 when healthy. For Docker's
// HEALTHCHECK (the image has no curl) and for scripts.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { parseListen } from '../config/load-config.js'
import { configFrom, globalHelp, parse } from './context.js'

export const healthcheckHelp = `Usage: weltra healthcheck [--path /readyz] [--timeout MS]

Asks the running server for /healthz (or --path) on server.listen; exit 0 when it answers 200, 1 otherwise.

${globalHelp}`

export async function healthcheckCommand (argv: string[]): Promise<number> {
  const { values } = parse(argv, { path: { type: 'string' }, timeout: { type: 'string' } })
  if (values.help === true) { process.stdout.write(healthcheckHelp + '\n'); return 0 }
  const config = configFrom(values)
  const listen = parseListen(config.server.listen)!
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host
  const tls = config.server.tls_cert_file !== ''
  const path = values.path ?? '/healthz'
  const timeout = Number(values.timeout ?? 3000)
  const status = await new Promise<number>((resolve) => {
    const req = (tls ? httpsRequest : httpRequest)({ host, port: listen.port, path, method: 'GET', timeout, rejectUnauthorized: false }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => { req.destroy(); resolve(0) })
    req.on('error', () => resolve(0))
    req.end()
  })
  process.stdout.write(status === 200 ? `healthy (${path})\n` : `unhealthy: ${status === 0 ? 'no answer' : `HTTP ${status}`} from ${host}:${listen.port}${path}\n`)
  return status === 200 ? 0 : 1
}

// `weltra demo`: Weltra with a sandbox WhatsApp number and simulated customers, no Meta account
// needed. Runs the real server (its own data directory, ./demo-data by default, so a demo never
// mixes with real data) against the built-in fake Graph API on 127.0.0.1.
import { parseListen } from '../config/load-config.js'
import { createLogger } from '../platform/logger.js'
import { startFakeGraph } from '../platform/whatsapp/fake-graph.js'
import { startDemo } from '../features/demo/demo.service.js'
import { configFrom, globalHelp, parse } from './context.js'
import { start } from './serve.js'

export const demoHelp = `Usage: weltra demo [options]

Starts Weltra as a sandbox: every workspace gets a demo WhatsApp number whose simulated customers
write in (text, a photo, a voice note, a location) and receive your replies (ticks change from sent to
delivered to read). Nothing is sent to WhatsApp. Data lives in ./demo-data unless --data-dir is given.

${globalHelp}`

export async function demoCommand (argv: string[]): Promise<number> {
  const { values } = parse(argv, {})
  if (values.help === true) { process.stdout.write(demoHelp + '\n'); return 0 }
  const fake = await startFakeGraph()
  const set = [...(values.set ?? []), `whatsapp.graph_base_url=${fake.url}`]
  const config = configFrom({ ...values, 'data-dir': values['data-dir'] ?? './demo-data', set })
  const log = createLogger(config.log.level)
  let running
  try {
    running = await start(config, log)
  } catch (err) {
    await fake.close()
    throw err
  }
  running.deps.lifecycle.demo = true
  const listen = parseListen(config.server.listen)!
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host
  const demo = startDemo(running.deps, fake, { selfUrl: `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}` })
  process.stderr.write(`\n  Weltra demo (sandbox) — open ${running.url}\n  Create your account; a demo number and its simulated customers appear in your workspace.\n  Nothing is sent to WhatsApp. Data: ${config.storage.data_dir}. Stop with Ctrl-C.\n\n`)
  return await new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      demo.stop()
        .then(async () => { await running.stop(signal) })
        .then(async () => { await fake.close() })
        .then(() => resolve(0), (err: unknown) => { log.error({ err }, 'shutdown failed'); resolve(1) })
    }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
  })
}

// `weltra serve` (the default command): start the web server on the configured address.
// Order matters: every check that can fail runs before the port is bound.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../app.js'
import { parseListen, publicUrl, type Config } from '../config/load-config.js'
import { checkpoint } from '../db/open.js'
import { createDeps, dataDirOf, openStorage, prepareDataDir, resolveMasterKey, StartupError, type Deps } from '../deps.js'
import { resolveAssets } from '../platform/assets.js'
import { createLogger, type Log } from '../platform/logger.js'
import { acquirePidFile, releasePidFile } from './pid-file.js'
import { createTransport } from '../platform/mail/transports.js'
import { startMailWorker } from '../features/mail/mail.worker.js'
import { startHooksWorker } from '../features/hooks/hooks.worker.js'
import { startRetentionJob } from '../features/privacy/retention.service.js'
import { startMediaWorker } from '../features/media/media.worker.js'
import { startOutboundWorker } from '../features/outbound/outbound.worker.js'
import { startWebhookProcessor } from '../features/webhooks/webhook-processor.js'
import { startSnoozeWaker } from '../features/inbox/conversations.service.js'
import { startImportWorker } from '../features/contacts/import.worker.js'
import { configFrom, globalHelp, parse } from './context.js'

export const serveHelp = `Usage: weltra serve [options]

Starts Weltra: checks the data directory and the master key, applies database migrations (after an
automatic backup), then serves the web UI and webhooks. SIGTERM or Ctrl-C shuts down gracefully.

${globalHelp}`

export interface Running { app: FastifyInstance, deps: Deps, url: string, stop: (reason: string) => Promise<void> }

/** Starts everything and returns once the port is bound. Throws StartupError before binding on any problem. */
export async function start (config: Config, log: Log = createLogger(config.log.level)): Promise<Running> {
  const listen = parseListen(config.server.listen)!
  // Fail on a busy port before creating anything (data directory, key, database).
  await assertCanListen(config.server.listen, listen.host, listen.port)
  const dataDir = dataDirOf(config)
  prepareDataDir(dataDir)
  const assets = resolveAssets(config.storage.runtime_dir === '' ? join(dataDir, '.runtime') : config.storage.runtime_dir)
  const { ring, status } = resolveMasterKey(config, dataDir, { log, nativeBinding: assets.nativeBinding })
  if (status.source === 'generated') announceNewKey(status.file ?? '', log)
  const pidFile = acquirePidFile(dataDir)
  let storage
  try {
    storage = openStorage(config, assets, ring)
  } catch (err) {
    releasePidFile(pidFile)
    throw err
  }
  if (storage.migrated.applied.length > 0) log.info({ applied: storage.migrated.applied, backup: storage.migrated.backup }, 'database migrated')
  const deps = createDeps({ config, storage, ring, keyStatus: status, assets, log })
  const app = await buildApp(deps, { tls: true })
  try {
    await app.listen({ host: listen.host, port: listen.port })
  } catch (err) {
    await app.close()
    storage.sqlite.close()
    releasePidFile(pidFile)
    throw listenProblem(config.server.listen, listen.host, (err as NodeJS.ErrnoException).code) ?? err
  }
  const transport = createTransport(config.email, log)
  const mailWorker = startMailWorker(deps, transport, { from: config.email.from })
  const stopKicking = deps.events.on('mail.queued', () => mailWorker.kick())
  // Downloads inbound media right after ingest (and whatever was left pending before a restart).
  const mediaWorker = startMediaWorker(deps)
  const stopMediaKicking = deps.events.on('media.queued', () => mediaWorker.kick())
  // Drains deliveries acknowledged before a crash or restart, then follows every new one.
  const webhookProcessor = startWebhookProcessor(deps)
  // Snoozed conversations come back to the inbox when their time is up.
  const snoozeWaker = startSnoozeWaker(deps)
  // Sends queued WhatsApp messages (and what waited through a restart or a reconnect).
  const outboundWorker = startOutboundWorker(deps)
  // Runs contact imports that were started (and resumes one a restart interrupted).
  const importWorker = startImportWorker(deps)
  // Tells the workspace's own systems what happened (outgoing webhooks), and retries what they missed.
  const hooksWorker = startHooksWorker(deps)
  const stopHooksKicking = (['message.created', 'message.updated', 'conversation.updated'] as const).map(name => deps.events.on(name, () => hooksWorker.kick()))
  // Applies each workspace's retention once a day (raw payloads, old message bodies, inactive contacts).
  const retentionJob = startRetentionJob(deps)
  const stopOutboundKicking = [
    deps.events.on('outbox.queued', () => outboundWorker.kick()),
    deps.events.on('channel.changed', () => outboundWorker.kick())
  ]
  const url = publicUrl(config)
  log.info({ listen: config.server.listen, publicUrl: url, version: assets.version, build: assets.buildId, startupMs: Math.round(performance.now()) }, 'weltra is ready')

  let stopping: Promise<void> | undefined
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down')
      deps.lifecycle.closing = true
      const force = setTimeout(() => { app.server.closeAllConnections?.() }, Math.max(500, config.server.shutdown_timeout_ms - 1000))
      force.unref()
      try {
        await app.close()
      } finally {
        clearTimeout(force)
        stopKicking()
        await webhookProcessor.stop()
        snoozeWaker.stop()
        for (const off of stopOutboundKicking) off()
        await outboundWorker.stop()
        await mailWorker.stop()
        stopMediaKicking()
        await mediaWorker.stop()
        await importWorker.stop()
        retentionJob.stop()
        await retentionJob.settled()
        for (const off of stopHooksKicking) off()
        await hooksWorker.stop()
        await transport.close?.()
        try { checkpoint(storage.sqlite) } catch (err) { log.error({ err }, 'final checkpoint failed') }
        storage.sqlite.close()
        releasePidFile(pidFile)
        log.info('stopped')
      }
    })()
    return stopping
  }
  return { app, deps, url, stop }
}

function listenProblem (address: string, host: string, code: string | undefined): StartupError | undefined {
  if (code === 'EADDRINUSE') return new StartupError(`${address} is already in use; stop the other program or set server.listen (or --listen) to a free port.`)
  if (code === 'EACCES') return new StartupError(`not allowed to listen on ${address}; ports below 1024 need privileges (use a reverse proxy).`)
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new StartupError(`${host} is not an address of this machine (server.listen).`)
  return undefined
}

/** Binds and releases the address once, so a busy port is reported before anything is created. */
async function assertCanListen (address: string, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) => reject(listenProblem(address, host, err.code) ?? err))
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()))
  })
}

function announceNewKey (file: string, log: Log): void {
  const line = '='.repeat(78)
  process.stderr.write(`\n${line}\n  Weltra created a new master encryption key:\n    ${file}\n\n  BACK IT UP NOW, somewhere apart from your data and its backups.\n  Without this key the encrypted data of this instance cannot be read.\n${line}\n\n`)
  log.warn({ file }, 'created a new master key: back it up separately from the data')
}

/** The serve command: start, then wait for a signal. */
export async function serveCommand (argv: string[]): Promise<number> {
  const { values } = parse(argv, {})
  if (values.help === true) { process.stdout.write(serveHelp + '\n'); return 0 }
  const config = configFrom(values)
  const log = createLogger(config.log.level)
  const running = await start(config, log)
  const timeoutMs = config.server.shutdown_timeout_ms
  return await new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      const hard = setTimeout(() => { log.error('shutdown took too long; exiting'); resolve(1) }, timeoutMs + 2000)
      hard.unref()
      running.stop(signal).then(() => { clearTimeout(hard); resolve(0) }, (err: unknown) => { log.error({ err }, 'shutdown failed'); resolve(1) })
    }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
    process.on('SIGHUP', () => reloadCertificate(running, config, log))
  })
}

function reloadCertificate (running: Running, config: Config, log: Log): void {
  if (config.server.tls_cert_file === '') { log.info('SIGHUP: no certificate configured, nothing to reload'); return }
  try {
    const server = running.app.server as unknown as { setSecureContext?: (o: { cert: Buffer, key: Buffer }) => void }
    server.setSecureContext?.({ cert: readFileSync(config.server.tls_cert_file), key: readFileSync(config.server.tls_key_file) })
    log.info('TLS certificate reloaded')
  } catch (err) {
    log.error({ err }, 'TLS certificate reload failed; keeping the previous one')
  }
}

// What every command shares: the global options, loading the configuration from argv and the
// environment, and printing a clean message (never a stack trace) for expected failures.
import { existsSync, readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { loadConfig, type Config, type LoadResult } from '../config/load-config.js'
import { environment } from '../config/environment.js'
import { StartupError } from '../platform/startup-error.js'

/** Options every command accepts; they override the config file and the environment. */
export const globalOptions = {
  config: { type: 'string', short: 'c' },
  listen: { type: 'string' },
  'data-dir': { type: 'string' },
  'public-url': { type: 'string' },
  'log-level': { type: 'string' },
  set: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' }
} as const satisfies ParseArgsConfig['options']

export const globalHelp = `Global options (they override config.toml and WELTRA_* variables):
  -c, --config FILE     configuration file (default: ./config.toml if present)
      --listen ADDR     server.listen, e.g. 0.0.0.0:8080
      --data-dir DIR    storage.data_dir
      --public-url URL  server.public_url
      --log-level LVL   log.level
      --set KEY=VALUE   any key, e.g. --set ui.default_time_zone=Europe/Madrid (repeatable)
  -h, --help            this help`

export class UsageError extends Error {
  override name = 'UsageError'
}

/** Parses a command's argv with the global options added; throws UsageError on anything unknown. */
export function parse<const O extends NonNullable<ParseArgsConfig['options']>> (argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...globalOptions, ...options }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

type ConfigFlags = { config?: string, listen?: string, 'data-dir'?: string, 'public-url'?: string, 'log-level'?: string, set?: string[] }

/** Loads the configuration from the command's flags, the environment and the config file; never throws. */
export function loadFromArgs (values: ConfigFlags): LoadResult {
  const flags: Record<string, string> = {}
  for (const item of values.set ?? []) {
    const eq = item.indexOf('=')
    if (eq <= 0) return { ok: false, errors: [`--set ${item}: expected KEY=VALUE, e.g. --set server.listen=0.0.0.0:8080`] }
    flags[item.slice(0, eq)] = item.slice(eq + 1)
  }
  if (values.listen !== undefined) flags['server.listen'] = values.listen
  if (values['data-dir'] !== undefined) flags['storage.data_dir'] = values['data-dir']
  if (values['public-url'] !== undefined) flags['server.public_url'] = values['public-url']
  if (values['log-level'] !== undefined) flags['log.level'] = values['log-level']
  return loadConfig({
    configPath: values.config,
    flags,
    env: environment(),
    readFile: (p) => readFileSync(p, 'utf8'),
    exists: existsSync
  })
}

/** Loads the configuration for a command, or throws StartupError (exit 2) listing every problem. */
export function configFrom (values: ConfigFlags): Config {
  const result = loadFromArgs(values)
  if (!result.ok) throw configProblems(result.errors)
  return result.config
}

/** The exit-2 error listing every configuration problem. */
export function configProblems (errors: string[]): StartupError {
  return new StartupError(`the configuration has ${errors.length} problem${errors.length === 1 ? '' : 's'}:\n${errors.map(e => `  - ${e}`).join('\n')}`, 2)
}

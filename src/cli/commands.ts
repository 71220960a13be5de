// The command table: name → handler and one line of help. `serve` is the default.
import { backupCommand, migrateCommand, restoreCommand } from './storage-commands.js'
import { configCommand } from './config-commands.js'
import { healthcheckCommand } from './healthcheck.js'
import { keysCommand } from './keys.js'
import { serveCommand } from './serve.js'
import { userCommand, workspaceCommand } from './users.js'
import { buildInfo } from '../platform/assets.js'

export interface Command { run: (argv: string[]) => Promise<number>, summary: string }

async function versionCommand (): Promise<number> {
  const info = buildInfo()
  process.stdout.write(`weltra ${info.version} (build ${info.buildId}${info.builtAt === '' ? '' : `, ${info.builtAt}`}; node ${process.version})\n`)
  return 0
}

export const commands: Record<string, Command> = {
  serve: { run: serveCommand, summary: 'start the server (default)' },
  migrate: { run: migrateCommand, summary: 'apply pending database migrations (--dry-run to list them)' },
  backup: { run: backupCommand, summary: 'write a consistent, verified copy of the database to FILE' },
  restore: { run: restoreCommand, summary: 'replace the database with a backup FILE (server stopped)' },
  keys: { run: keysCommand, summary: 'keys rotate: re-seal encrypted data; keys generate: print a new key' },
  config: { run: configCommand, summary: 'config check | show: validate or print the configuration' },
  user: { run: userCommand, summary: 'user create | reset-password | list: manage accounts (password from stdin)' },
  workspace: { run: workspaceCommand, summary: 'workspace list: one line per workspace' },
  healthcheck: { run: healthcheckCommand, summary: 'exit 0 when the running server answers /healthz' },
  version: { run: versionCommand, summary: 'print the version' }
}

export function usage (): string {
  const width = Math.max(...Object.keys(commands).map(c => c.length))
  return `Weltra: your WhatsApp CRM, on your own server.

Usage: weltra [command] [options]

Commands:
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "weltra <command> --help" for a command's options.
`
}

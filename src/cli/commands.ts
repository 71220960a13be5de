// The command table: name → handler and one line of help. `serve` is the default.
import { buildInfo } from '../platform/assets.js'

export interface Command { run: (argv: string[]) => Promise<number>, summary: string }

async function versionCommand (): Promise<number> {
  const info = buildInfo()
  process.stdout.write(`weltra ${info.version} (build ${info.buildId}${info.builtAt === '' ? '' : `, ${info.builtAt}`}; node ${process.version})\n`)
  return 0
}

// Each command's module is loaded only when it runs, so `--help`, `version` and `config` start fast.
export const commands: Record<string, Command> = {
  serve: { run: async (a) => await (await import('./serve.js')).serveCommand(a), summary: 'start the server (default)' },
  demo: { run: async (a) => await (await import('./demo.js')).demoCommand(a), summary: 'start a sandbox with a demo number and simulated customers (no Meta account needed)' },
  migrate: { run: async (a) => await (await import('./storage-commands.js')).migrateCommand(a), summary: 'apply pending database migrations (--dry-run to list them)' },
  backup: { run: async (a) => await (await import('./storage-commands.js')).backupCommand(a), summary: 'write a consistent, verified copy of the database to FILE' },
  restore: { run: async (a) => await (await import('./storage-commands.js')).restoreCommand(a), summary: 'replace the database with a backup FILE (server stopped)' },
  keys: { run: async (a) => await (await import('./keys.js')).keysCommand(a), summary: 'keys rotate: re-seal encrypted data; keys generate: print a new key' },
  config: { run: async (a) => await (await import('./config-commands.js')).configCommand(a), summary: 'config check | show: validate or print the configuration' },
  user: { run: async (a) => await (await import('./users.js')).userCommand(a), summary: 'user create | reset-password | list: manage accounts (password from stdin)' },
  workspace: { run: async (a) => await (await import('./users.js')).workspaceCommand(a), summary: 'workspace list: one line per workspace' },
  apikey: { run: async (a) => await (await import('./apikeys.js')).apikeyCommand(a), summary: 'apikey create | list | revoke: keys for the REST API (a new key is printed once)' },
  webhooks: { run: async (a) => await (await import('./webhooks.js')).webhooksCommand(a), summary: 'webhooks status | replay: inspect and re-process stored WhatsApp deliveries' },
  healthcheck: { run: async (a) => await (await import('./healthcheck.js')).healthcheckCommand(a), summary: 'exit 0 when the running server answers /healthz' },
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

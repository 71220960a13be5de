// Entry point: pick a command from argv and run it. Expected failures print one clear message (no
// stack trace) and exit non-zero: 2 for usage and configuration errors, 1 for everything else.
import { commands, usage } from './cli/commands.js'
import { UsageError } from './cli/context.js'
import { StartupError } from './platform/startup-error.js'

async function main (argv: string[]): Promise<number> {
  // Everything Weltra writes (database, backups, keys, media) is private to its user.
  process.umask(0o077)
  const [first, ...rest] = argv
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage())
    return 0
  }
  if (first === '--version' || first === '-v') return await commands.version!.run([])
  const name = first === undefined || first.startsWith('-') ? 'serve' : first
  const command = commands[name]
  if (command === undefined) {
    process.stderr.write(`weltra: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  return await command.run(name === first ? rest : argv)
}

function fail (err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`weltra: ${err.message}\n\n${usage()}`)
    return 2
  }
  if (err instanceof StartupError) {
    process.stderr.write(`weltra: ${err.message}\n`)
    return err.exitCode
  }
  process.stderr.write(`weltra: unexpected error: ${(err as Error).stack ?? String(err)}\n`)
  return 1
}

// A programming error must not leave the server limping on: log and exit; the supervisor restarts us.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`weltra: unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`)
  process.exit(70)
})

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
    // Everything is closed by now; if a stray handle would keep the process alive, do not wait for it.
    setTimeout(() => process.exit(code), 1000).unref()
  },
  (err: unknown) => { process.exit(fail(err)) }
)

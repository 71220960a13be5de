// `weltra config check` and `weltra config show`.
import { listKeys } from '../config/config.schema.js'
import { maskSecrets } from '../config/load-config.js'
import { configProblems, globalHelp, loadFromArgs, parse, UsageError } from './context.js'

export const configHelp = `Usage: weltra config check | show

check  validates the configuration (file, WELTRA_* environment, flags); exit 0 when valid, 2 with
       every problem listed otherwise.
show   prints the effective configuration as TOML with each key's source; secrets are masked.

${globalHelp}`

export async function configCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {})
  if (values.help === true) { process.stdout.write(configHelp + '\n'); return 0 }
  const sub = positionals[0]
  if (sub !== 'check' && sub !== 'show') throw new UsageError(sub === undefined ? 'config needs "check" or "show"' : `unknown config command "${sub}"`)
  const result = loadFromArgs(values)
  if (!result.ok) throw configProblems(result.errors)
  if (sub === 'check') {
    process.stdout.write(`configuration is valid (${result.file === undefined ? 'no config file; built-in defaults' : `file ${result.file}`})\n`)
    return 0
  }
  const masked = maskSecrets(result.config)
  let out = `# effective configuration (${result.file ?? 'no config file'}); secrets masked\n`
  let section = ''
  for (const { section: s, key } of listKeys()) {
    if (s !== section) { out += `\n[${s}]\n`; section = s }
    out += `${key} = ${JSON.stringify(masked[s]![key])}  # ${result.sources[`${s}.${key}`]}\n`
  }
  process.stdout.write(out)
  return 0
}

// Renders config.example.toml from the schema, so the documented keys can never drift from the real
// ones (a test compares the committed file with this output; `npm run config:example` rewrites it).
import { listKeys } from './config.schema.js'

const header = `# Weltra configuration: every key, with its default.
#
# Copy to config.toml (read from the working directory) or pass --config FILE. Nothing is required:
# without any configuration Weltra runs on these defaults, with its data in ./data.
#
# Precedence: built-in defaults < this file < environment < command-line flags.
#   Environment: WELTRA_<SECTION>__<KEY>, e.g. WELTRA_SERVER__LISTEN=0.0.0.0:8080
#   Flags:       --listen, --data-dir, --public-url, --log-level, or --set section.key=value
# Secrets (marked below) can instead be read from a file: add _file to the key, e.g.
#   master_key_file = "/run/secrets/weltra_master_key"   or   WELTRA_SECURITY__MASTER_KEY_FILE=...
# Unknown keys are errors: \`weltra config check\` lists every problem; \`weltra config show\` prints
# the effective values with secrets masked.
`

/** The text of config.example.toml. */
export function renderExampleConfig (): string {
  let out = header
  let section = ''
  for (const { section: s, key, schema } of listKeys()) {
    if (s !== section) {
      out += `\n[${s}]\n`
      section = s
    }
    const doc = wrap(`${schema.description ?? ''}${schema.secret === true ? ' Secret: also accepted as ' + key + '_file.' : ''}`)
    out += doc.map(l => `# ${l}\n`).join('')
    out += `${key} = ${toml(schema.default)}\n\n`
  }
  return out.replace(/\n{3,}/g, '\n\n').replace(/\n+$/, '\n')
}

function toml (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(v => JSON.stringify(v)).join(', ')}]`
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

function wrap (text: string, width = 100): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + word.length + 1 > width) { lines.push(line); line = word } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(line)
  return lines
}

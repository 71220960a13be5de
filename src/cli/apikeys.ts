// `weltra apikey create|list|revoke`: API keys for headless installs and provisioning scripts. The
// token of a new key is the only thing `create` writes to standard output (so a script can capture it:
// KEY=$(weltra apikey create …)); the note that goes with it goes to standard error.
import { StartupError, type createDeps } from '../deps.js'
import { apiKey, apiKeyRoles, createApiKey, listApiKeys, revokeApiKey } from '../features/apikeys/apikeys.service.js'
import { listAllWorkspaces, type Workspace } from '../features/workspaces/workspaces.service.js'
import { NotFoundError } from '../platform/http/errors.js'
import { globalHelp, parse, UsageError } from './context.js'
import { withDeps } from './with-deps.js'

export const apikeyHelp = `Usage: weltra apikey create --workspace SLUG --name NAME [--role agent|admin]
       weltra apikey list --workspace SLUG
       weltra apikey revoke --workspace SLUG --id KEY_ID

create  creates a key for the REST API (role agent by default) and prints it, once, on standard
        output: it cannot be shown again. Send it as "Authorization: Bearer <key>".
list    one line per key, newest first: id, prefix, role, name, last used, status.
revoke  revokes a key: requests with it are refused from then on.

Workspaces are named by slug (see weltra workspace list).

${globalHelp}`

type Deps = ReturnType<typeof createDeps>

function workspaceBySlug (deps: Deps, slug: string): Workspace {
  const found = listAllWorkspaces(deps.db).find(w => w.slug === slug)
  if (found === undefined) throw new StartupError(`no workspace with slug "${slug}" (see weltra workspace list)`, 2)
  return found
}

function describe (deps: Deps, errors: Record<string, string>): string {
  const t = deps.i18n.translator('en')
  return Object.entries(errors).map(([k, v]) => `${k === 'form' ? '' : `--${k}: `}${t(v)}`).join('; ')
}

const iso = (ms: number | null): string => ms === null ? 'never' : new Date(ms).toISOString()

export async function apikeyCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { workspace: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, id: { type: 'string' } })
  const sub = positionals[0]
  if (values.help === true || sub === undefined) { process.stdout.write(apikeyHelp + '\n'); return values.help === true ? 0 : 2 }
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') throw new UsageError(`unknown apikey command "${sub}"`)
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`)
  const slug = values.workspace
  if (slug === undefined || slug === '') throw new UsageError(`apikey ${sub} needs --workspace SLUG`)
  if (sub === 'create') {
    if (values.name === undefined) throw new UsageError('apikey create needs --name NAME')
    if (values.role !== undefined && !(apiKeyRoles as readonly string[]).includes(values.role)) throw new UsageError(`--role must be ${apiKeyRoles.join(' or ')}`)
  }
  if (sub === 'revoke' && (values.id === undefined || values.id === '')) throw new UsageError('apikey revoke needs --id KEY_ID (see weltra apikey list)')
  if (sub !== 'create' && (values.name !== undefined || values.role !== undefined)) throw new UsageError('--name and --role go with apikey create')
  if (sub !== 'revoke' && values.id !== undefined) throw new UsageError('--id goes with apikey revoke')

  return await withDeps(values, async (deps) => {
    const ws = workspaceBySlug(deps, slug)
    if (sub === 'list') {
      for (const k of listApiKeys(deps, ws.id)) {
        process.stdout.write(`${k.id}\t${k.prefix}…\t${k.role}\t${k.name}\t${iso(k.lastUsedAt)}\t${k.revokedAt === null ? 'active' : `revoked ${iso(k.revokedAt)}`}\n`)
      }
      return 0
    }
    if (sub === 'create') {
      const result = createApiKey(deps, { userId: null, workspaceId: ws.id }, { name: values.name!, role: values.role ?? 'agent' })
      if (!result.ok) throw new StartupError(`the key was not created: ${describe(deps, result.errors)}`, 2)
      process.stdout.write(`${result.token}\n`)
      process.stderr.write(`API key "${result.key.name}" (${result.key.role}, id ${result.key.id}) created in ${ws.slug}. This is the only time it is shown: store it now.\n`)
      return 0
    }
    try {
      const before = apiKey(deps, ws.id, values.id!)
      if (before.revokedAt !== null) {
        process.stdout.write(`${before.id}\talready revoked ${iso(before.revokedAt)}\n`)
        return 0
      }
      revokeApiKey(deps, { userId: null, workspaceId: ws.id }, before.id)
    } catch (err) {
      if (err instanceof NotFoundError) throw new StartupError(`no API key ${values.id!} in workspace ${ws.slug} (see weltra apikey list)`, 2)
      throw err
    }
    process.stdout.write(`${values.id!}\trevoked\n`)
    return 0
  })
}

// `weltra user create|reset-password|list` and `weltra workspace list`: account administration for
// headless installs. Passwords are read from standard input (typed without echo on a terminal, or
// piped), never from the command line where other users could see them in the process list.
import { StartupError, type createDeps } from '../deps.js'
import { withDeps } from './with-deps.js'
import { createUserFromCli, listUsers, setPasswordFromCli } from '../features/auth/auth.service.js'
import { listAllWorkspaces } from '../features/workspaces/workspaces.service.js'
import { globalHelp, parse, UsageError } from './context.js'

export const userHelp = `Usage: weltra user create --email E --name N [--owner [--workspace NAME]]
       weltra user reset-password --email E
       weltra user list

create          creates an account; the password is read from standard input. --owner makes it the
                instance owner and, with --workspace, creates its first workspace.
reset-password  sets a new password (from standard input) and signs the account out everywhere.
list            one line per account: id, email, name, verified, two-factor.

${globalHelp}`

export const workspaceHelp = `Usage: weltra workspace list

One line per workspace: slug, id, name.

${globalHelp}`

/** Reads a password from stdin: hidden prompt on a terminal, else the first line of the input. */
export async function readPassword (prompt: string): Promise<string> {
  const stdin = process.stdin
  if (stdin.isTTY) {
    process.stderr.write(prompt)
    stdin.setRawMode(true)
    stdin.resume()
    stdin.setEncoding('utf8')
    return await new Promise<string>((resolve, reject) => {
      let value = ''
      const onData = (chunk: string): void => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') { done(); resolve(value); return }
          if (ch === '\u0003') { done(); reject(new StartupError('cancelled')); return }
          if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('')
          else value += ch
        }
      }
      const done = (): void => { stdin.setRawMode(false); stdin.pause(); stdin.off('data', onData); process.stderr.write('\n') }
      stdin.on('data', onData)
    })
  }
  const chunks: Buffer[] = []
  for await (const chunk of stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? ''
}

function describe (deps: ReturnType<typeof createDeps>, errors: Record<string, string>): string {
  const t = deps.i18n.translator('en')
  return Object.entries(errors).map(([k, v]) => `${k}: ${t(v)}`).join('\n  ')
}

export async function userCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { email: { type: 'string' }, name: { type: 'string' }, owner: { type: 'boolean' }, workspace: { type: 'string' } })
  if (values.help === true || positionals.length === 0) { process.stdout.write(userHelp + '\n'); return values.help === true ? 0 : 2 }
  const sub = positionals[0]
  if (sub === 'list') {
    return await withDeps(values, async (deps) => {
      for (const u of listUsers(deps.db)) {
        process.stdout.write(`${u.id}\t${u.email}\t${u.name}\t${u.emailVerifiedAt === null ? 'unverified' : 'verified'}\t${u.totpEnabledAt === null ? '2fa-off' : '2fa-on'}${u.isInstanceOwner ? '\towner' : ''}\n`)
      }
      return 0
    })
  }
  if (sub === 'create') {
    if (values.email === undefined || values.name === undefined) throw new UsageError('user create needs --email and --name')
    if (values.workspace !== undefined && values.owner !== true) throw new UsageError('--workspace goes with --owner')
    const password = await readPassword('Password for the new account: ')
    return await withDeps(values, async (deps) => {
      const result = await createUserFromCli(deps, { email: values.email!, name: values.name!, password, owner: values.owner === true, workspaceName: values.workspace })
      if (!result.ok) throw new StartupError(`the account was not created:\n  ${describe(deps, result.errors)}`)
      process.stdout.write(`${result.value.userId}\tcreated${result.value.workspaceId === undefined ? '' : `\tworkspace ${result.value.workspaceId}`}\n`)
      return 0
    })
  }
  if (sub === 'reset-password') {
    if (values.email === undefined) throw new UsageError('user reset-password needs --email')
    const password = await readPassword('New password: ')
    return await withDeps(values, async (deps) => {
      const result = await setPasswordFromCli(deps, values.email!, password)
      if (!result.ok) throw new StartupError(`the password was not changed:\n  ${describe(deps, result.errors)}`)
      process.stdout.write('password changed; every session of this account was ended\n')
      return 0
    })
  }
  throw new UsageError(`unknown user command "${sub}"`)
}

export async function workspaceCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {})
  if (values.help === true || positionals[0] !== 'list') { process.stdout.write(workspaceHelp + '\n'); return values.help === true ? 0 : 2 }
  return await withDeps(values, async (deps) => {
    for (const w of listAllWorkspaces(deps.db)) process.stdout.write(`${w.slug}\t${w.id}\t${w.name}\n`)
    return 0
  })
}

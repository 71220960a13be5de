// `weltra webhooks replay|status`: the dead-letter side of the webhook pipeline for headless installs.
import { listAllWorkspaces } from '../features/workspaces/workspaces.service.js'
import { processAllPending } from '../features/webhooks/webhook-processor.js'
import { queueReplay, webhookCounts } from '../features/webhooks/webhooks.service.js'
import { globalHelp, parse, UsageError } from './context.js'
import { runningServerPid } from './pid-file.js'
import { withDeps } from './with-deps.js'
import { dataDirOf, StartupError } from '../deps.js'

export const webhooksHelp = `Usage: weltra webhooks status
       weltra webhooks replay [--workspace SLUG] [--id EVENT_ID]
status   per workspace: how many stored deliveries are pending, processed, ignored and failed.
replay   processes failed deliveries again (all workspaces, or one with --workspace), or one
         delivery by id (--id, with --workspace) whatever its state. Safe to repeat: a message is
         never stored twice. With the server running, it picks them up within seconds; otherwise
         they are processed now.
${globalHelp}`

export async function webhooksCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { workspace: { type: 'string' }, id: { type: 'string' } })
  const sub = positionals[0]
  if (values.help === true || (sub !== 'replay' && sub !== 'status')) { process.stdout.write(webhooksHelp + '\n'); return values.help === true ? 0 : 2 }
  return await withDeps(values, async (deps) => {
    const all = listAllWorkspaces(deps.db)
    const chosen = values.workspace === undefined ? undefined : all.find(w => w.slug === values.workspace)
    if (values.workspace !== undefined && chosen === undefined) throw new StartupError(`no workspace with slug "${values.workspace}" (see weltra workspace list)`, 2)
    if (values.id !== undefined && chosen === undefined) throw new UsageError('--id needs --workspace')
    if (sub === 'status') {
      for (const w of chosen === undefined ? all : [chosen]) {
        const c = webhookCounts(deps, w.id)
        process.stdout.write(`${w.slug}\tpending ${c.pending}\tprocessed ${c.processed}\tignored ${c.ignored}\tfailed ${c.failed}\n`)
      }
      return 0
    }
    const queued = queueReplay(deps, { workspaceId: chosen?.id ?? null, id: values.id })
    if (values.id !== undefined && queued === 0) throw new StartupError(`no delivery ${values.id} in workspace ${values.workspace}`, 2)
    const pid = runningServerPid(dataDirOf(deps.config))
    if (pid !== undefined) {
      process.stdout.write(`${queued} deliveries queued; the running server (pid ${pid}) processes them within seconds.\n`)
      return 0
    }
    const s = processAllPending(deps)
    process.stdout.write(`${queued} deliveries replayed: ${s.processed} processed, ${s.ignored} ignored, ${s.failed} failed.\n`)
    return s.failed > 0 ? 1 : 0
  })
}

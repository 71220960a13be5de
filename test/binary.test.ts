// The single executable, built from this tree and smoke-tested as a customer would run it.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'

const root = join(import.meta.dirname, '..')

t.test('the single binary builds, starts from an empty directory, serves the UI and stops cleanly', async (t) => {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-binary.mjs'), '--skip-typecheck'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  const { smoke } = await import(join(root, 'scripts', 'smoke-binary.mjs')) as { smoke: (binary: string, options?: { print?: boolean }) => Promise<Array<{ name: string, ok: boolean, detail: string }>> }
  for (const r of await smoke(join(root, 'dist', 'weltra'), { print: false })) t.ok(r.ok, `${r.name}${r.detail === '' ? '' : ` (${r.detail})`}`)
})

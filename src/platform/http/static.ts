// Static files served from memory: read once at start (from the repository or the binary's extracted
// assets), fingerprinted by content hash. URLs from assetUrl() carry ?v=<hash> and are cached for a
// year; anything else revalidates with the ETag. Text files are compressed once, on first request.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { sha256Hex } from '../crypto/index.js'

interface StaticFile { body: Buffer, type: string, hash: string, br?: Buffer, gzip?: Buffer }

const types: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.webmanifest': 'application/manifest+json'
}
const compressible = /^(text\/|image\/svg|application\/(json|manifest))/

export class StaticFiles {
  private readonly files = new Map<string, StaticFile>()

  /** Loads every file below `dir`, served under `/static/`. */
  constructor (dir: string) {
    for (const file of walk(dir)) {
      const body = readFileSync(file)
      const path = '/static/' + relative(dir, file).split(sep).join('/')
      this.files.set(path, { body, type: types[extname(file)] ?? 'application/octet-stream', hash: sha256Hex(body).slice(0, 12) })
    }
  }

  /** The cache-busting URL of a static file; throws for a file that does not exist (caught by tests). */
  url (path: string): string {
    const file = this.files.get(path)
    if (file === undefined) throw new Error(`no static file ${path}`)
    return `${path}?v=${file.hash}`
  }

  get (path: string): StaticFile | undefined {
    return this.files.get(path)
  }

  get size (): number {
    return this.files.size
  }
}

function walk (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue
    const full = join(dir, name)
    if (statSync(full).isDirectory()) out.push(...walk(full))
    else out.push(full)
  }
  return out
}

/** Registers GET /static/* serving from `files`. */
export function staticRoutes (app: FastifyInstance, files: StaticFiles): void {
  app.get('/static/*', { config: { policy: 'anonymous' }, logLevel: 'warn' }, async (req, reply) => {
    const path = decodeURIComponent(req.url.split('?')[0]!)
    const file = files.get(path)
    if (file === undefined) return reply.callNotFound()
    const etag = `"${file.hash}"`
    const versioned = (req.query as Record<string, unknown>).v === file.hash
    reply.header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'public, no-cache')
    reply.header('etag', etag)
    reply.header('content-type', file.type)
    reply.header('vary', 'accept-encoding')
    reply.header('cross-origin-resource-policy', 'same-origin')
    if (req.headers['if-none-match'] === etag) return reply.code(304).send()
    const accept = String(req.headers['accept-encoding'] ?? '')
    if (compressible.test(file.type) && file.body.length > 1024) {
      if (/\bbr\b/.test(accept)) {
        file.br ??= brotliCompressSync(file.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9 } })
        return reply.header('content-encoding', 'br').send(file.br)
      }
      if (/\bgzip\b/.test(accept)) {
        file.gzip ??= gzipSync(file.body, { level: 9 })
        return reply.header('content-encoding', 'gzip').send(file.gzip)
      }
    }
    return reply.send(file.body)
  })
}

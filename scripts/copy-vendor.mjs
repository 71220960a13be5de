// Copies the browser libraries Weltra serves itself (never from a CDN) from node_modules into
// static/vendor/. The copies are committed so `npm start` needs no build step; a test checks they
// match the installed packages, so an upgrade cannot leave a stale copy behind.
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const vendored = [
  { from: 'node_modules/htmx.org/dist/htmx.min.js', to: 'static/vendor/htmx.min.js' },
  { from: 'node_modules/htmx.org/dist/ext/hx-sse.min.js', to: 'static/vendor/hx-sse.min.js' }
]

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { from, to } of vendored) {
    mkdirSync(dirname(join(root, to)), { recursive: true })
    copyFileSync(join(root, from), join(root, to))
    console.log(`${from} → ${to}`)
  }
}

// Copies the browser libraries Weltra serves itself (never from a CDN) from node_modules into
// static/vendor/. The copies are committed so `npm start` needs no build step; a test checks they
// match the installed packages, so an upgrade cannot leave a stale copy behind.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const vendored = [
  { from: 'node_modules/htmx.org/dist/htmx.min.js', to: 'static/vendor/htmx.min.js' },
  { from: 'node_modules/htmx.org/dist/ext/hx-sse.min.js', to: 'static/vendor/hx-sse.min.js' }
]

/** The common-passwords list the password policy refuses: ≥ 8 characters (shorter ones fail anyway), lower case, one per line. */
export function commonPasswordsText () {
  const list = JSON.parse(readFileSync(join(root, 'node_modules/@zxcvbn-ts/language-common/src/passwords.json'), 'utf8'))
  return [...new Set(list.filter(p => p.length >= 8).map(p => p.toLowerCase()))].join('\n') + '\n'
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { from, to } of vendored) {
    mkdirSync(dirname(join(root, to)), { recursive: true })
    copyFileSync(join(root, from), join(root, to))
    console.log(`${from} → ${to}`)
  }
  writeFileSync(join(root, 'resources/common-passwords.txt'), commonPasswordsText())
  console.log('@zxcvbn-ts/language-common passwords → resources/common-passwords.txt')
}

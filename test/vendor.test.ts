// Committed copies of third-party files must match the installed packages (npm run vendor updates them).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

const root = join(import.meta.dirname, '..')

t.test('vendored browser libraries and the common-passwords list match the installed packages', async (t) => {
  const { vendored, commonPasswordsText } = await import(join(root, 'scripts', 'copy-vendor.mjs')) as { vendored: Array<{ from: string, to: string }>, commonPasswordsText: () => string }
  for (const { from, to } of vendored) t.ok(readFileSync(join(root, from)).equals(readFileSync(join(root, to))), `${to} is ${from}`)
  t.equal(readFileSync(join(root, 'resources', 'common-passwords.txt'), 'utf8'), commonPasswordsText(), 'resources/common-passwords.txt')
})

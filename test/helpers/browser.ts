// Real Chromium (Debian's package) driven by playwright-core, against the app listening on 127.0.0.1.
// Without Chromium the browser tests skip with a loud message — except under CI=true, where they fail.
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { inCi } from '../../src/config/environment.js'
import { buildTestApp, type TestApp, type TestAppOptions } from './build-test-app.js'

export const chromiumPath = '/usr/bin/chromium'
const root = join(import.meta.dirname, '..', '..')

/** Where screenshots go: docs/screenshots with SCREENSHOTS=1 (npm run screenshots), else a temp dir. */
export function screenshotDir (t: Test): string {
  const dir = process.env.SCREENSHOTS === '1' ? join(root, 'docs', 'screenshots') : join(t.testdirName, 'screenshots')
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Launches Chromium, or skips (fails under CI) when it is not installed. */
export async function launch (t: Test): Promise<Browser | undefined> {
  if (!existsSync(chromiumPath)) {
    const message = `Chromium is not installed at ${chromiumPath}: browser tests NOT RUN. Install it with: apt-get install -y chromium`
    if (inCi()) { t.fail(message); return undefined }
    process.stderr.write(`\n!!! ${message}\n\n`)
    t.comment(message)
    return undefined
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

export interface BrowserApp extends TestApp { base: string, browser: Browser }

/** The app listening on 127.0.0.1 plus a browser; undefined when browser tests are skipped. */
export async function browserApp (t: Test, options: TestAppOptions = {}): Promise<BrowserApp | undefined> {
  const browser = await launch(t)
  if (browser === undefined) return undefined
  const testApp = await buildTestApp(t, options)
  const address = await testApp.app.listen({ host: '127.0.0.1', port: 0 })
  return { ...testApp, base: address, browser }
}

/** A page that records CSP violations and script errors, so tests can assert there were none. */
export async function watchedPage (context: BrowserContext): Promise<{ page: Page, problems: string[] }> {
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', err => problems.push(`pageerror: ${err.message}`))
  page.on('console', msg => {
    // A 4xx document (a form re-rendered with 422, a 404 page) is reported by Chromium as a failed
    // resource; tests assert those statuses themselves.
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) problems.push(`console: ${msg.text()}`)
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)
    })
  })
  return { page, problems }
}

/** Fills and submits the sign-in form (the caller waits for where it should land). */
export async function signInThroughForm (page: Page, base: string, user: { email: string, password: string }): Promise<void> {
  await page.goto(base + '/login')
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill(user.password)
  await page.getByRole('button', { name: /^sign in$/i }).click()
}

/**
 * A screenshot of the whole page: the app shell scrolls inside <main>, so the viewport is grown to fit
 * it (the shell's bars take what the viewport has beyond <main>), then restored. caret 'initial'
 * because hiding the caret leaves style="" on inputs, which htmx's settle step would then copy onto
 * swapped-in inputs (a CSP report no real user would cause).
 */
export async function shootFullPage (page: Page, path: string): Promise<void> {
  const viewport = page.viewportSize()!
  const height = await page.evaluate(() => {
    const main = document.querySelector('main')
    return main === null ? document.body.scrollHeight : main.scrollHeight + window.innerHeight - main.clientHeight
  })
  await page.setViewportSize({ width: viewport.width, height: Math.min(Math.max(viewport.height, height), 8000) })
  await page.screenshot({ path, caret: 'initial' })
  await page.setViewportSize(viewport)
}

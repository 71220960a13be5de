// The UI shell in a real browser: no CSP violation or script error, htmx locked down, and the welcome
// page in light, dark and phone widths (screenshots: npm run screenshots → docs/screenshots/).
import { join } from 'node:path'
import t from 'tap'
import { browserApp, screenshotDir, watchedPage } from '../helpers/browser.js'

t.test('the welcome page loads cleanly with htmx locked down, in light, dark and phone widths', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const shots = screenshotDir(t)
  for (const variant of [
    { name: 'welcome-light', colorScheme: 'light' as const, viewport: { width: 1280, height: 900 } },
    { name: 'welcome-dark', colorScheme: 'dark' as const, viewport: { width: 1280, height: 900 } },
    { name: 'welcome-phone', colorScheme: 'light' as const, viewport: { width: 390, height: 844 } }
  ]) {
    const context = await env.browser.newContext({ colorScheme: variant.colorScheme, viewport: variant.viewport, locale: 'en-US' })
    const { page, problems } = await watchedPage(context)
    const res = await page.goto(env.base + '/')
    t.equal(res?.status(), 200, `${variant.name}: 200`)
    await page.waitForFunction(() => typeof (window as unknown as { htmx?: unknown }).htmx === 'object')
    const config = await page.evaluate(() => {
      const c = (window as unknown as { htmx: { config: Record<string, unknown> } }).htmx.config
      return { includeIndicatorCSS: c.includeIndicatorCSS, mode: c.mode }
    })
    t.same(config, { includeIndicatorCSS: false, mode: 'same-origin' }, `${variant.name}: htmx config`)
    t.equal(await page.locator('h1').count(), 1, `${variant.name}: one heading`)
    t.ok(await page.getByRole('link', { name: /get started|set up|create/i }).first().isVisible(), `${variant.name}: the next step is visible`)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)
    t.notOk(overflow, `${variant.name}: no horizontal scrolling`)
    await page.screenshot({ path: join(shots, `${variant.name}.png`), fullPage: true })
    t.same(problems, [], `${variant.name}: no CSP violations or script errors`)
    await context.close()
  }
})

t.test('the not-found page offers a way home and raises no errors', async (t) => {
  const env = await browserApp(t)
  if (env === undefined) return
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } })
  const { page, problems } = await watchedPage(context)
  const res = await page.goto(env.base + '/no/such/page')
  t.equal(res?.status(), 404)
  const home = page.locator('a[href="/"]').first()
  t.ok(await home.isVisible())
  await page.screenshot({ path: join(screenshotDir(t), 'not-found.png') })
  await home.click()
  await page.waitForURL(env.base + '/')
  // The 404 document itself is reported by Chromium as a failed resource: that one is expected.
  t.same(problems.filter(p => !/status of 404/.test(p)), [])
  await context.close()
})

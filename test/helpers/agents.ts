// Members of a workspace at work in the browser: each in a browser context of their own (their own
// cookies, like two people at two desks), signed in through the form and landed in the inbox, on a
// watched page (script errors and CSP violations are collected for the test to assert on).
import type { BrowserContext, Page } from 'playwright-core'
import { signInThroughForm, watchedPage, type BrowserApp } from './browser.js'

export interface AgentTab { context: BrowserContext, page: Page, problems: string[] }

/** A new browser context (desktop, light, en-US, UTC unless overridden) signed in as `user`, on /inbox. */
export async function signedInTab (env: BrowserApp, user: { email: string, password: string }, options: Parameters<BrowserApp['browser']['newContext']>[0] = {}): Promise<AgentTab> {
  const context = await env.browser.newContext({ viewport: { width: 1360, height: 860 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC', ...options })
  const { page, problems } = await watchedPage(context)
  await signInThroughForm(page, env.base, user)
  await page.waitForURL(/\/inbox/)
  return { context, page, problems }
}

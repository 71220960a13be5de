// HTML rendering: reply.page(view, data) renders a page with its layout; reply.partial(view, data)
// renders one fragment (the very same partial a page includes). Both get the same base context:
//   t(key, params)  translate       asset(path)  versioned static URL    fmt  locale-aware formatting
//   lang, dir, title, requestId, version, nav, flash, user, workspace
// Output is escaped by default (eta autoEscape); `<%~ %>` is for layout bodies and includes only.
import { Eta } from 'eta'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { direction, formatter, type Formatter, type I18n, type Params, type Translate } from '../i18n/i18n.js'
import type { StaticFiles } from './static.js'
import type {} from './access.js'

export interface Flash { kind: 'success' | 'error' | 'info', message: string }

export interface ViewContext {
  t: Translate
  asset: (path: string) => string
  fmt: Formatter
  lang: string
  dir: 'ltr' | 'rtl'
  title: string
  requestId: string
  version: string
  nav: string
  flash: Flash[]
  user?: unknown
  workspace?: unknown
  [key: string]: unknown
}

export interface RenderOptions {
  views: string
  i18n: I18n
  staticFiles: StaticFiles
  version: string
  defaultTimeZone: string
  now: () => number
  /** Cache compiled templates (production). */
  cache: boolean
  /** True while the instance runs as the demo sandbox (`weltra demo`): every page says so. */
  sandbox?: () => boolean
}

declare module 'fastify' {
  interface FastifyReply {
    /** Renders a full page (its template picks a layout) and sends it. */
    page: (view: string, data?: Record<string, unknown>) => FastifyReply
    /** Renders one fragment without a layout and sends it. */
    partial: (view: string, data?: Record<string, unknown>) => FastifyReply
  }
  interface FastifyRequest {
    /** The locale chosen for this request (user preference or Accept-Language). */
    locale: string
    /** Translates a catalogue key into this request's locale. */
    t: Translate
  }
}

/**
 * The eta engine used for pages, partials and emails. Template names are always relative to views/
 * (`include('components/_icon')` from any template), unless they start with "./" or "../".
 */
export function createEta (views: string, cache: boolean): Eta {
  const eta = new Eta({ views, cache, autoEscape: true, autoTrim: false, defaultExtension: '.eta' })
  const resolve = eta.resolvePath.bind(eta)
  eta.resolvePath = (path: string, options?: Parameters<typeof resolve>[1]) => resolve(path.startsWith('.') || path.startsWith('/') ? path : `/${path}`, options)
  return eta
}

/** One of eight avatar colours, stable for a seed (a contact or user id). */
export function colourOf (seed: string): number {
  let c = 0
  for (let i = 0; i < seed.length; i++) c = (c * 31 + seed.charCodeAt(i)) % 8
  return c
}

/** Up to two initials of a name, for avatars. */
export function initials (name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean)
  const letters = parts.length > 1 ? [parts[0]!, parts[parts.length - 1]!] : parts
  return letters.map(p => [...p][0] ?? '').join('').toUpperCase() || '?'
}

/** Decorates request and reply with locale, t(), page() and partial(). */
export function installRendering (app: FastifyInstance, options: RenderOptions): Eta {
  const eta = createEta(options.views, options.cache)
  const asset = (path: string): string => options.staticFiles.url(path)

  app.decorateRequest('locale', '')
  app.decorateRequest('t', (key: string) => key)
  app.addHook('onRequest', async (req) => {
    req.locale = options.i18n.negotiate(req.headers['accept-language'])
    req.t = options.i18n.translator(req.locale)
  })
  // Once the access hook knows the user, their chosen language wins over the browser's.
  app.addHook('preHandler', async (req) => {
    const chosen = req.principal?.locale
    if (chosen !== null && chosen !== undefined && chosen !== '') {
      req.locale = options.i18n.negotiate(chosen)
      req.t = options.i18n.translator(req.locale)
    }
  })

  function context (req: FastifyRequest, data: Record<string, unknown>): ViewContext {
    const t = req.t
    const titleKey = data.titleKey as string | undefined
    return {
      t,
      asset,
      fmt: formatter(req.locale, req.principal?.timeZone ?? options.defaultTimeZone, options.now === Date.now ? Date.now : options.now),
      lang: req.locale,
      dir: direction(req.locale),
      title: titleKey === undefined ? '' : t(titleKey, data.titleParams as Params | undefined),
      requestId: req.id,
      version: options.version,
      nav: '',
      flash: [],
      user: req.principal === undefined ? undefined : { id: req.principal.userId, name: req.principal.name, email: req.principal.email, initials: initials(req.principal.name) },
      workspace: req.principal?.workspace,
      workspaces: req.principal?.workspaces ?? [],
      principal: req.principal,
      sandbox: options.sandbox?.() === true,
      ...data
    }
  }

  function send (reply: FastifyReply, html: string): FastifyReply {
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('vary', 'HX-Request, Accept-Language')
      .send(html)
  }

  app.decorateReply('page', function (this: FastifyReply, view: string, data: Record<string, unknown> = {}) {
    return send(this, eta.render(view, context(this.request, data)))
  })
  app.decorateReply('partial', function (this: FastifyReply, view: string, data: Record<string, unknown> = {}) {
    return send(this, eta.render(view, context(this.request, data)))
  })
  return eta
}

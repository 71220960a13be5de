// The inbox, where agents answer customers: three panes (conversation list, thread, contact panel).
// Every GET works as a plain page (links and forms without JavaScript); with htmx, the same routes
// answer with just the fragment a request targets (HX-Target: #inbox-list, #list-more, #conversation,
// #thread), and the live stream (/live) tells the page when to refetch them.
//
//   GET  /inbox                              agent  list (filters: view, status, label, channel, q; after=, upto= cursors)
//   GET  /inbox/:conversationId              agent  list + thread + contact panel; marks the conversation read
//   GET  /inbox/:conversationId/thread       agent  the thread (from= refresh, before= older), with the header out of band
//   GET  /inbox/:conversationId/contact      agent  the contact panel
//   POST /inbox/:conversationId/assign       agent  assignee=<user id> | "" (unassign)
//   POST /inbox/:conversationId/status       agent  status=open|pending|resolved|snoozed (+ snooze=later|tomorrow|week|custom, until=)
//   POST /inbox/:conversationId/labels       agent  label=<id> & on=1|0, or name=<new label> (created and added)
//   POST /inbox/bulk                         agent  ids (repeated) & op=assign:<id>|unassign|status:<s>|label:<id>
//   POST /inbox/availability                 agent  available=1 | "" (round robin skips the unavailable)
//   GET  /settings/inbox                     admin  the workspace's inbox settings
//   POST /settings/inbox                     admin  save them
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { checkbox, field } from '../../platform/http/forms.js'
import { ValidationError } from '../../platform/http/errors.js'
import { roleAtLeast } from '../../platform/http/policy.js'
import { inboxSettings, updateInboxSettings, type InboxSettings } from '../workspaces/workspaces.service.js'
import { findChannel } from '../channels/channels.service.js'
import { composerView, composerViewer, withBubbles } from './composer.service.js'
import {
  assignConversation, bulkUpdate, channelsOf, contactPanelView, conversationOf, createLabel, headerView, isId, listView, markRead, parseBulkOp, parseCursor,
  parseLocalDateTime, setAvailability, setLabel, setStatus, snoozeUntil, statuses, threadView, views, type InboxActor, type ListFilter, type Status, type View,
  type ViewerClock
} from './conversations.service.js'

type Req = FastifyRequest

function actorOf (req: Req): InboxActor {
  const p = req.principal!
  return { userId: p.userId, workspaceId: p.workspace!.id, role: p.workspace!.role }
}

function isAdmin (req: Req): boolean {
  return roleAtLeast(req.principal!.workspace!.role, 'admin')
}

/** The id of the element an htmx request targets, or undefined for a full page (or a history restore). */
function htmxTarget (req: Req): string | undefined {
  if (req.headers['hx-request'] !== 'true' || req.headers['hx-history-restore-request'] === 'true') return undefined
  const target = String(req.headers['hx-target'] ?? '')
  const i = target.indexOf('#')
  if (i === -1) return undefined
  try { return decodeURIComponent(target.slice(i + 1)) } catch { return undefined }
}

function isHtmx (req: Req): boolean {
  return req.headers['hx-request'] === 'true'
}

function param (source: unknown, name: string, max = 200): string {
  const v = (source as Record<string, unknown> | undefined)?.[name]
  return typeof v === 'string' ? v.slice(0, max) : ''
}

/** The list filter from a query string or a form body; unknown values fall back to the defaults. */
function filterFrom (source: unknown): ListFilter {
  const view = param(source, 'view')
  const status = param(source, 'status')
  const label = param(source, 'label')
  const channel = param(source, 'channel')
  return {
    view: (views as readonly string[]).includes(view) ? view as View : 'all',
    status: (statuses as readonly string[]).includes(status) ? status as Status : 'open',
    labelId: isId(label) ? label : undefined,
    channelId: isId(channel) ? channel : undefined,
    q: param(source, 'q', 100)
  }
}

/** The filter as a query string (defaults left out), for links that keep it. */
export function filterQuery (f: ListFilter): string {
  const p = new URLSearchParams()
  if (f.view !== 'all') p.set('view', f.view)
  if (f.status !== 'open') p.set('status', f.status)
  if (f.labelId !== undefined) p.set('label', f.labelId)
  if (f.channelId !== undefined) p.set('channel', f.channelId)
  if (f.q !== '') p.set('q', f.q)
  const s = p.toString()
  return s === '' ? '' : '?' + s
}

function viewer (deps: Deps, req: Req): ViewerClock {
  return { t: req.t, locale: req.locale, timeZone: req.principal?.timeZone ?? deps.config.ui.default_time_zone, now: deps.clock.now() }
}

/** The repeated `ids` field of a form (formbody gives an array for repeats, a string for one). */
function idsField (req: Req): string[] {
  const v = (req.body as Record<string, unknown> | undefined)?.ids
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
  return list.filter((x): x is string => typeof x === 'string' && isId(x)).slice(0, 200)
}

export async function inboxRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  /** Everything the three panes need. */
  function pageData (req: Req, filter: ListFilter, conversationId?: string): Record<string, unknown> {
    const actor = actorOf(req)
    const v = viewer(deps, req)
    // The conversation first: opening it marks it read, which the list then shows.
    const conversation = conversationId === undefined ? undefined : conversationView(req, conversationId)
    const list = listView(deps, actor, filter, { upto: parseCursor(param(req.query, 'upto', 60)) }, v)
    const data: Record<string, unknown> = {
      titleKey: 'inbox.title',
      nav: 'inbox',
      list,
      query: filterQuery(list.filter),
      selected: conversationId ?? null,
      isAdmin: isAdmin(req),
      hasChannels: list.channels.length > 0,
      conversation: null
    }
    if (conversation !== undefined) {
      const c = conversation
      data.conversation = c
      data.titleKey = 'inbox.titleWith'
      data.titleParams = { name: c.header.name }
    }
    return data
  }

  function conversationView (req: Req, id: string) {
    const actor = actorOf(req)
    const v = viewer(deps, req)
    let conversation = conversationOf(deps, actor, id)
    if (conversation.unreadCount > 0) {
      markRead(deps, actor.workspaceId, conversation.id)
      conversation = { ...conversation, unreadCount: 0 }
    }
    const header = headerView(deps, actor, conversation, v)
    const channel = findChannel(deps.db, actor.workspaceId, conversation.channelId)
    return {
      id: conversation.id,
      header,
      panel: contactPanelView(deps, actor, conversation, v),
      thread: withBubbles(deps, actor, threadView(deps, actor, conversation, {}, { ...v, isAdmin: isAdmin(req) })),
      composer: composerView(deps, conversation, channel, { viewer: composerViewer(req.principal!), replyTo: param(req.query, 'replyTo', 30) || null, mode: param(req.query, 'mode', 20) || null })
    }
  }

  // ── pages and fragments ──
  app.get('/inbox', { config: { policy: 'agent' } }, async (req, reply) => {
    const filter = filterFrom(req.query)
    const target = htmxTarget(req)
    if (target === 'list-more') {
      const after = parseCursor(param(req.query, 'after', 60))
      const list = listView(deps, actorOf(req), filter, { after }, viewer(deps, req))
      return reply.partial('inbox/_more', { list, query: filterQuery(list.filter), selected: param(req.query, 'selected', 30) || null })
    }
    if (target === 'inbox-list') {
      const list = listView(deps, actorOf(req), filter, { upto: parseCursor(param(req.query, 'upto', 60)) }, viewer(deps, req))
      return reply.header('hx-push-url', 'false').partial('inbox/_list', { list, query: filterQuery(list.filter), selected: param(req.query, 'selected', 30) || null, isAdmin: isAdmin(req) })
    }
    return reply.page('inbox/index', pageData(req, filter))
  })

  app.get<{ Params: { conversationId: string } }>('/inbox/:conversationId', { config: { policy: 'agent' } }, async (req, reply) => {
    const filter = filterFrom(req.query)
    if (htmxTarget(req) === 'conversation') {
      const conversation = conversationView(req, req.params.conversationId)
      return reply.partial('inbox/_conversation', { conversation, query: filterQuery(filter), isAdmin: isAdmin(req) })
    }
    return reply.page('inbox/index', pageData(req, filter, req.params.conversationId))
  })

  app.get<{ Params: { conversationId: string } }>('/inbox/:conversationId/thread', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const v = viewer(deps, req)
    let conversation = conversationOf(deps, actor, req.params.conversationId)
    // Opened in a visible tab: what arrives is read.
    if (req.headers['x-inbox-visible'] === '1' && conversation.unreadCount > 0) {
      markRead(deps, actor.workspaceId, conversation.id)
      conversation = { ...conversation, unreadCount: 0 }
    }
    const thread = withBubbles(deps, actor, threadView(deps, actor, conversation, { from: parseCursor(param(req.query, 'from', 60)), before: parseCursor(param(req.query, 'before', 60)) }, { ...v, isAdmin: isAdmin(req) }))
    const header = headerView(deps, actor, conversation, v)
    if (!isHtmx(req)) return reply.redirect(`/inbox/${conversation.id}`, 303)
    return reply.partial('inbox/_thread-refresh', { thread, header, isAdmin: isAdmin(req) })
  })

  app.get<{ Params: { conversationId: string } }>('/inbox/:conversationId/contact', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const conversation = conversationOf(deps, actor, req.params.conversationId)
    if (!isHtmx(req)) return reply.redirect(`/inbox/${conversation.id}#contact-panel`, 303)
    return reply.partial('inbox/_contact', { panel: contactPanelView(deps, actor, conversation, viewer(deps, req)), isAdmin: isAdmin(req) })
  })

  // ── actions on one conversation ──
  /** After an action: the header and contact panel (htmx), or back to the conversation (no JS). */
  function afterAction (req: Req, reply: FastifyReply, id: string): FastifyReply {
    if (!isHtmx(req)) return reply.redirect(`/inbox/${id}`, 303)
    const actor = actorOf(req)
    const v = viewer(deps, req)
    const conversation = conversationOf(deps, actor, id)
    return reply.partial('inbox/_after-action', { header: headerView(deps, actor, conversation, v), panel: contactPanelView(deps, actor, conversation, v), isAdmin: isAdmin(req) })
  }

  /** A refused action: the reason in the flash region (htmx) or on the conversation page. */
  function refused (req: Req, reply: FastifyReply, err: ValidationError, id?: string): FastifyReply {
    const message = req.t(Object.values(err.fields)[0] ?? 'errors.invalid.text')
    if (isHtmx(req)) return reply.code(422).header('hx-retarget', '#flash').header('hx-reswap', 'afterbegin').partial('errors/_error-flash', { message })
    const data = pageData(req, filterFrom(req.body), id)
    return reply.code(422).page('inbox/index', { ...data, flash: [{ kind: 'error', message }] })
  }

  async function act (req: FastifyRequest<{ Params: { conversationId: string } }>, reply: FastifyReply, run: (actor: InboxActor, id: string) => void): Promise<FastifyReply> {
    const actor = actorOf(req)
    const conversation = conversationOf(deps, actor, req.params.conversationId)
    try {
      run(actor, conversation.id)
    } catch (err) {
      if (err instanceof ValidationError) return refused(req, reply, err, conversation.id)
      throw err
    }
    return afterAction(req, reply, conversation.id)
  }

  app.post<{ Params: { conversationId: string } }>('/inbox/:conversationId/assign', { config: { policy: 'agent' } }, async (req, reply) => {
    const raw = field(req, 'assignee', 40)
    const assignee = raw === 'me' ? req.principal!.userId : raw
    return await act(req, reply, (actor, id) => {
      if (assignee !== '' && !isId(assignee)) throw new ValidationError({ assignee: 'inbox.errors.notMember' })
      assignConversation(deps, actor, id, assignee === '' ? null : assignee)
    })
  })

  app.post<{ Params: { conversationId: string } }>('/inbox/:conversationId/status', { config: { policy: 'agent' } }, async (req, reply) => {
    const status = field(req, 'status', 20)
    return await act(req, reply, (actor, id) => {
      if (!(statuses as readonly string[]).includes(status)) throw new ValidationError({ status: 'inbox.errors.status' })
      let until: number | undefined
      if (status === 'snoozed') {
        const preset = field(req, 'snooze', 20)
        const tz = req.principal!.timeZone ?? deps.config.ui.default_time_zone
        until = preset === 'later' || preset === 'tomorrow' || preset === 'week' ? snoozeUntil(preset, deps.clock.now(), tz) : parseLocalDateTime(field(req, 'until', 30), tz)
      }
      setStatus(deps, actor, id, status as Status, until)
    })
  })

  app.post<{ Params: { conversationId: string } }>('/inbox/:conversationId/labels', { config: { policy: 'agent' } }, async (req, reply) => {
    const name = field(req, 'name', 200)
    const label = field(req, 'label', 40)
    return await act(req, reply, (actor, id) => {
      if (name.trim() !== '') createLabel(deps, actor, name, id)
      else if (isId(label)) setLabel(deps, actor, id, label, field(req, 'on', 2) !== '0')
      else throw new ValidationError({ name: 'inbox.errors.labelName' })
    })
  })

  // ── many conversations, and the member's own availability ──
  app.post('/inbox/bulk', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    const filter = filterFrom(req.body)
    const op = parseBulkOp(field(req, 'op', 80))
    const ids = idsField(req)
    let changed = 0
    if (op !== undefined && ids.length > 0) {
      try {
        changed = bulkUpdate(deps, actor, ids, op)
      } catch (err) {
        if (err instanceof ValidationError) return refused(req, reply, err)
        throw err
      }
    }
    if (!isHtmx(req)) return reply.redirect(`/inbox${filterQuery(filter)}`, 303)
    const list = listView(deps, actor, filter, {}, viewer(deps, req))
    const flash = changed > 0 ? JSON.stringify({ flash: req.t('inbox.bulk.done', { count: changed }) }) : undefined
    if (flash !== undefined) reply.header('hx-trigger', flash)
    return reply.partial('inbox/_list', { list, query: filterQuery(list.filter), selected: field(req, 'selected', 30) || null, isAdmin: isAdmin(req) })
  })

  app.post('/inbox/availability', { config: { policy: 'agent' } }, async (req, reply) => {
    const actor = actorOf(req)
    setAvailability(deps, actor, checkbox(req, 'available'))
    if (!isHtmx(req)) return reply.redirect('/inbox', 303)
    const list = listView(deps, actor, filterFrom(req.body), {}, viewer(deps, req))
    return reply.partial('inbox/_availability', { me: list.me })
  })

  // ── Settings → Inbox ──
  function settingsPage (req: Req, settings: InboxSettings, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { titleKey: 'settingsNav.inbox', nav: 'settings', tab: 'inbox', settings, hasChannels: channelsOf(deps, actorOf(req).workspaceId).length > 0, ...extra }
  }

  app.get('/settings/inbox', { config: { policy: 'admin' } }, async (req, reply) => {
    const saved = param(req.query, 'done', 10) === 'saved'
    return reply.page('inbox/settings', settingsPage(req, inboxSettings(deps.db, actorOf(req).workspaceId), saved ? { flash: [{ kind: 'success', message: req.t('inbox.settings.saved') }] } : {}))
  })

  app.post('/settings/inbox', { config: { policy: 'admin' } }, async (req, reply) => {
    const actor = actorOf(req)
    const settings: InboxSettings = {
      selfAssignOnReply: checkbox(req, 'selfAssignOnReply'),
      autoAssign: field(req, 'autoAssign', 20) === 'round_robin' ? 'round_robin' : 'none',
      resolvedReply: field(req, 'resolvedReply', 20) === 'new' ? 'new' : 'reopen',
      sendReadReceipts: checkbox(req, 'sendReadReceipts')
    }
    updateInboxSettings(deps.db, { workspaceId: actor.workspaceId, userId: actor.userId, ip: req.ip }, settings, deps.clock.now())
    return reply.redirect('/settings/inbox?done=saved', 303)
  })
}

// WhatsApp numbers (channels) of the active workspace: connect, the webhook guide, the health panel.
//
//   GET  /settings/channels                                  admin  the workspace's numbers, or what to prepare to connect one
//   GET  /settings/channels/new                              admin  the guided connect form
//   POST /settings/channels/new                              admin  check the credentials with Meta, subscribe, store → channel page
//   GET  /settings/channels/:channelId                       admin  webhook guide (callback URL, verify token) and health panel
//   GET  /settings/channels/:channelId/webhook-status        admin  the live webhook status line (polled while incomplete)
//   POST /settings/channels/:channelId/check                 admin  check the token now (refreshes name, quality, tier)
//   POST /settings/channels/:channelId/sync-templates        admin  re-read the WABA's message templates
//   POST /settings/channels/:channelId/rename                admin  rename
//   POST /settings/channels/:channelId/credentials           admin  replace the access token (and app secret), password required
//   GET  /settings/channels/:channelId/disconnect            admin  confirmation page, for browsers without JavaScript
//   POST /settings/channels/:channelId/disconnect            admin  disconnect (soft delete)
// Another workspace's channel id answers 404, exactly like an unknown one.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { field, messages } from '../../platform/http/forms.js'
import type { Flash } from '../../platform/http/render.js'
import {
  callbackInfo, channelPage, channelToDisconnect, channelWebhookStatus, checkChannel, connectChannel, disconnectChannel, listChannels,
  renameChannel, replaceCredentials, syncTemplatesNow, type ChannelActor
} from './channels.service.js'

const admin = { policy: 'admin' as const }
const limited = (max: number) => ({ ...admin, rateLimit: { max, timeWindow: 60_000 } })

/** Notices after a redirect (?done=…): a fixed list, nothing from the URL is echoed except a digit count. */
const notices: Record<string, Flash['kind']> = {
  connected: 'success',
  renamed: 'success',
  credentials: 'success',
  disconnected: 'success',
  checked: 'success',
  synced: 'success',
  checkToken: 'error',
  checkUnreachable: 'error',
  checkFailed: 'error',
  syncFailed: 'error'
}

function actorOf (req: FastifyRequest): ChannelActor {
  const p = req.principal!
  return { userId: p.userId, sessionId: p.sessionId, workspaceId: p.workspace!.id, ip: req.ip }
}

function idOf (req: FastifyRequest): string {
  return String((req.params as { channelId?: unknown }).channelId ?? '').slice(0, 64)
}

function query (req: FastifyRequest, name: string): string {
  const v = (req.query as Record<string, unknown> | undefined)?.[name]
  return typeof v === 'string' ? v.slice(0, 40) : ''
}

function flashOf (req: FastifyRequest): Flash[] {
  const done = query(req, 'done')
  const kind = Object.hasOwn(notices, done) ? notices[done] : undefined
  if (kind === undefined) return []
  const n = /^\d{1,6}$/.test(query(req, 'n')) ? Number(query(req, 'n')) : 0
  return [{ kind, message: req.t(`channels.done.${done}`, { count: n }) }]
}

export async function channelsRoutes (app: FastifyInstance, deps: Deps): Promise<void> {
  // ── list and connect ──
  app.get('/settings/channels', { config: admin }, async (req, reply) => {
    const ws = actorOf(req).workspaceId
    return reply.page('channels/list', {
      titleKey: 'channels.title',
      nav: 'settings',
      channels: listChannels(deps, ws),
      callback: callbackInfo(deps, ''),
      flash: flashOf(req)
    })
  })

  function connectPage (reply: FastifyReply, data: { values?: Record<string, string>, errors?: Record<string, string> } = {}): FastifyReply {
    return reply.page('channels/connect', {
      titleKey: 'channels.connect.title',
      nav: 'settings',
      values: data.values ?? {},
      errors: data.errors ?? {},
      callback: callbackInfo(deps, ''),
      graphVersion: deps.config.whatsapp.graph_api_version
    })
  }

  app.get('/settings/channels/new', { config: admin }, async (_req, reply) => connectPage(reply))

  app.post('/settings/channels/new', { config: limited(10) }, async (req, reply) => {
    const input = {
      name: field(req, 'name', 200),
      wabaId: field(req, 'wabaId', 100),
      phoneNumberId: field(req, 'phoneNumberId', 100),
      accessToken: field(req, 'accessToken', 5000),
      appSecret: field(req, 'appSecret', 500)
    }
    const result = await connectChannel(deps, actorOf(req), input)
    if (!result.ok) {
      // Secrets are never echoed back into the page: the admin pastes them again.
      const values = { name: input.name, wabaId: input.wabaId.trim(), phoneNumberId: input.phoneNumberId.trim() }
      return connectPage(reply.code(422), { values, errors: messages(req.t, result.errors) })
    }
    return reply.redirect(`/settings/channels/${result.value.channel.id}?done=connected`, 303)
  })

  // ── one channel ──
  type PageForm = 'rename' | 'credentials'
  function showPage (req: FastifyRequest, reply: FastifyReply, extra: { form?: PageForm, values?: Record<string, string>, errors?: Record<string, string> } = {}): FastifyReply {
    const page = channelPage(deps, actorOf(req).workspaceId, idOf(req))
    return reply.page('channels/show', {
      titleKey: 'channels.show.title',
      titleParams: { name: page.channel.name },
      nav: 'settings',
      ...page,
      form: extra.form,
      values: extra.values ?? {},
      errors: extra.errors ?? {},
      flash: flashOf(req)
    })
  }

  app.get('/settings/channels/:channelId', { config: admin }, async (req, reply) => showPage(req, reply))

  app.get('/settings/channels/:channelId/webhook-status', { config: admin }, async (req, reply) => {
    const status = channelWebhookStatus(deps, actorOf(req).workspaceId, idOf(req))
    return reply.partial('channels/_webhook-poll', status)
  })

  app.post('/settings/channels/:channelId/check', { config: limited(20) }, async (req, reply) => {
    const id = idOf(req)
    const outcome = await checkChannel(deps, actorOf(req).workspaceId, id)
    const done = { ok: 'checked', token: 'checkToken', unreachable: 'checkUnreachable', failed: 'checkFailed' }[outcome]
    return reply.redirect(`/settings/channels/${id}?done=${done}`, 303)
  })

  app.post('/settings/channels/:channelId/sync-templates', { config: limited(10) }, async (req, reply) => {
    const id = idOf(req)
    const result = await syncTemplatesNow(deps, actorOf(req).workspaceId, id)
    return reply.redirect(`/settings/channels/${id}?done=${result.ok ? `synced&n=${result.value.total}` : 'syncFailed'}`, 303)
  })

  app.post('/settings/channels/:channelId/rename', { config: admin }, async (req, reply) => {
    const name = field(req, 'name', 200)
    const result = renameChannel(deps, actorOf(req), idOf(req), name)
    if (!result.ok) return showPage(req, reply.code(422), { form: 'rename', values: { name }, errors: messages(req.t, result.errors) })
    return reply.redirect(`/settings/channels/${idOf(req)}?done=renamed`, 303)
  })

  app.post('/settings/channels/:channelId/credentials', { config: limited(10) }, async (req, reply) => {
    const result = await replaceCredentials(deps, actorOf(req), idOf(req), {
      current: field(req, 'current', 4096),
      accessToken: field(req, 'accessToken', 5000),
      appSecret: field(req, 'appSecret', 500)
    })
    if (!result.ok) return showPage(req, reply.code(422), { form: 'credentials', errors: messages(req.t, result.errors) })
    return reply.redirect(`/settings/channels/${idOf(req)}?done=credentials`, 303)
  })

  app.get('/settings/channels/:channelId/disconnect', { config: admin }, async (req, reply) => {
    const channel = channelToDisconnect(deps, actorOf(req).workspaceId, idOf(req))
    return reply.page('channels/disconnect', { titleKey: 'channels.disconnect.pageTitle', nav: 'settings', channel })
  })

  app.post('/settings/channels/:channelId/disconnect', { config: admin }, async (req, reply) => {
    disconnectChannel(deps, actorOf(req), idOf(req))
    return reply.redirect('/settings/channels?done=disconnected', 303)
  })
}

// The email that tells a workspace's owners and admins a number stopped sending (Meta answered with a
// "pause the channel" error: expired token 190, permissions, account locked, policy block…). Queued by
// the outbound worker in the same transaction that marks the channel, and only when that transaction
// is the one that takes the channel out of `active`: a burst of sends failing the same way sends one
// email per incident, and the next incident (after a reconnect) sends one again.
import type { Eta } from 'eta'
import { publicUrl } from '../../config/load-config.js'
import type { Db } from '../../db/open.js'
import type { Deps } from '../../deps.js'
import type { Translate } from '../../platform/i18n/i18n.js'
import { findUserById } from '../auth/auth.service.js'
import type { Channel } from '../channels/channels.service.js'
import { queueMail, renderMail, type MailData, type RenderedMail } from '../mail/mail.service.js'
import { listTeam } from '../workspaces/team.service.js'
import { findMembership } from '../workspaces/workspaces.service.js'

export const channelAlertKind = 'channel_needs_attention' as const

/** What the email says: Meta's reason in its own words and the agent-facing advice key of the error. */
export interface ChannelAlert {
  reason: string
  adviceKey: string
}

/** Renders the email for one recipient's locale (the shared mail renderer checks the link). */
export function renderChannelAlert (eta: Eta, t: Translate, data: MailData['channel_needs_attention']): RenderedMail {
  return renderMail(eta, t, channelAlertKind, data)
}

/**
 * Queues the alert to every owner and admin of the channel's workspace, each in their language.
 * Synchronous: call inside the transaction that marked the channel; emit `mail.queued` after commit.
 * Returns how many emails were queued.
 */
export function queueChannelAlert (deps: Pick<Deps, 'config' | 'i18n' | 'views'>, db: Db, channel: Pick<Channel, 'workspaceId' | 'id' | 'name' | 'displayPhoneNumber'>, alert: ChannelAlert, now: number): number {
  const base = publicUrl(deps.config)
  const channelUrl = `${base}/settings/channels/${encodeURIComponent(channel.id)}`
  const admins = listTeam({ db, clock: { now: () => now } }, channel.workspaceId).members.filter(m => m.role === 'owner' || m.role === 'admin')
  let queued = 0
  for (const member of admins) {
    const workspaceName = findMembership(db, channel.workspaceId, member.userId)?.name ?? ''
    const locale = findUserById(db, member.userId)?.locale ?? deps.config.ui.default_locale
    const t = deps.i18n.translator(locale)
    const mail = renderChannelAlert(deps.views, t, {
      name: member.name,
      workspaceName,
      channelName: channel.name,
      phoneNumber: channel.displayPhoneNumber === '' ? '—' : channel.displayPhoneNumber,
      reason: alert.reason.slice(0, 300),
      advice: t(alert.adviceKey),
      channelUrl
    })
    queueMail(db, { kind: channelAlertKind, to: member.email, ...mail }, now)
    queued++
  }
  return queued
}

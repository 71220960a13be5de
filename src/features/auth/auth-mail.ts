// Account emails, rendered in the recipient's language and queued in the caller's transaction.
import type { Deps } from '../../deps.js'
import type { Db } from '../../db/open.js'
import { queueMail, renderMail, type MailKind } from '../mail/mail.service.js'

export type AccountMailKind = 'verify_email' | 'reset_password' | 'signup_attempt' | 'password_changed_notice' | 'email_change_confirm' | 'email_changed_notice' | 'account_deleted'

/** Renders and queues one email to `user.email`. Synchronous: call inside the transaction that causes it. */
export function sendAccountMail (deps: Pick<Deps, 'i18n' | 'views' | 'config'> & { db: Db, events?: Deps['events'] }, user: { email: string, name: string, locale: string | null }, kind: AccountMailKind, data: Record<string, string | number>, now: number): void {
  const t = deps.i18n.translator(user.locale ?? deps.config.ui.default_locale)
  const mail = renderMail(deps.views, t, kind as MailKind, { name: user.name, ...data } as never)
  queueMail(deps.db, { kind, to: user.email, ...mail }, now)
  deps.events?.emit('mail.queued', { at: now })
}

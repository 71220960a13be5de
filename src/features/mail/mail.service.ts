// Transactional email: what other features call. queueMail() writes one email into the mail outbox inside
// the caller's transaction (the email exists iff what caused it committed); the mail worker sends it.
// renderMail() turns a mail kind and its data into subject, HTML and text for the recipient's locale,
// from views/mail/<kind>.html.eta and <kind>.text.eta. Links are absolute URLs built by the caller from the
// configured public URL; templates never build URLs themselves, and renderMail refuses any that is not
// http(s).
import type { Eta } from 'eta'
import type { Db } from '../../db/open.js'
import { mailOutbox } from '../../db/schema.js'
import { newId } from '../../platform/crypto/index.js'
import type { Params, Translate } from '../../platform/i18n/i18n.js'

/** The data each kind of email needs. Names and other user data are escaped by the templates. */
export interface MailData {
  /** To the invited address. */
  invite: { inviterName: string, workspaceName: string, role: 'admin' | 'agent', acceptUrl: string, expiresInHours: number }
  verify_email: { name: string, verifyUrl: string, expiresInMinutes: number }
  reset_password: { name: string, resetUrl: string, expiresInMinutes: number }
  /** To the NEW address. */
  email_change_confirm: { name: string, confirmUrl: string, expiresInMinutes: number }
  /** To the OLD address; newEmailMasked is already masked by the caller (e.g. "a•••@example.com"). */
  email_changed_notice: { name: string, newEmailMasked: string, supportHint?: string }
  password_changed_notice: { name: string }
  /** To the address of an account that was just deleted: when its data is purged for good. */
  account_deleted: { name: string, purgeDate: string }
  /** To an address that already has an account, when someone tries to sign up with it again. */
  signup_attempt: { name: string, loginUrl: string, resetUrl: string }
  /** To a workspace's owners and admins when a number stopped sending (expired token, blocked account…). */
  channel_needs_attention: { name: string, workspaceName: string, channelName: string, phoneNumber: string, reason: string, advice: string, channelUrl: string }
}

export type MailKind = keyof MailData

/** Every kind of email, in a stable order. */
export const mailKinds: readonly MailKind[] = ['invite', 'verify_email', 'reset_password', 'email_change_confirm', 'email_changed_notice', 'password_changed_notice', 'account_deleted', 'signup_attempt', 'channel_needs_attention']

export interface RenderedMail { subject: string, html: string, text: string }

export interface QueuedMail { kind: string, to: string, subject: string, html: string, text: string }

/** The database or a transaction on it (queueMail joins the caller's transaction). */
export type DbOrTx = Pick<Db, 'insert'>

/**
 * Inserts one email into the outbox (status pending, due at `now`) and returns its id. Synchronous, so it
 * can run inside the caller's transaction; the caller kicks the worker after committing.
 */
export function queueMail (db: DbOrTx, mail: QueuedMail, now: number): string {
  if (mail.to.trim() === '') throw new Error('queueMail: the recipient is empty')
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(mail.kind)) throw new Error(`queueMail: invalid kind ${JSON.stringify(mail.kind)}`)
  const id = newId(now)
  db.insert(mailOutbox).values({
    id,
    kind: mail.kind,
    toAddress: mail.to,
    subject: mail.subject,
    html: mail.html,
    textBody: mail.text,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    createdAt: now
  }).run()
  return id
}

// Plain-text templates must not be HTML-escaped: a second engine over the same views with autoEscape off.
const textEngines = new WeakMap<Eta, Eta>()

function textEngine (eta: Eta): Eta {
  let engine = textEngines.get(eta)
  if (engine === undefined) {
    engine = eta.withConfig({ autoEscape: false }) as Eta
    textEngines.set(eta, engine)
  }
  return engine
}

export interface RenderMailOptions {
  /** The configured public URL: when given, every link must start with it (SECURITY.md item 44). */
  publicUrl?: string
}

/**
 * Renders one email for the recipient's locale (`t`): subject from `mail.<kind>.subject`, HTML and text
 * from views/mail/<kind>.{html,text}.eta. Throws when a link is not an absolute http(s) URL, or not
 * under options.publicUrl when that is given.
 */
export function renderMail<K extends MailKind> (eta: Eta, t: Translate, kind: K, data: MailData[K] & { productName?: string }, options: RenderMailOptions = {}): RenderedMail {
  if (!mailKinds.includes(kind)) throw new Error(`renderMail: unknown mail kind ${JSON.stringify(kind)}`)
  const base = options.publicUrl === undefined || options.publicUrl === '' ? undefined : options.publicUrl.replace(/\/+$/, '') + '/'
  const params: Params = {}
  for (const [key, value] of Object.entries(data)) {
    if (/Url$/.test(key)) {
      if (typeof value !== 'string' || !/^https?:\/\/[^\s]+$/i.test(value)) throw new Error(`renderMail: ${key} must be an absolute http(s) URL`)
      if (base !== undefined && !value.startsWith(base)) throw new Error(`renderMail: ${key} must start with the public URL ${base}`)
    }
    if (typeof value === 'string' || typeof value === 'number') params[key] = value
  }
  const productName = data.productName ?? t('app.name')
  params.productName = productName
  if (kind === 'invite') params.role = roleName(t, (data as MailData['invite']).role)
  const subject = t(`mail.${kind}.subject`, params)
  const context = { ...data, productName, subject, t, params }
  return {
    subject,
    html: eta.render(`mail/${kind}.html.eta`, context),
    text: textEngine(eta).render(`mail/${kind}.text.eta`, context)
  }
}

function roleName (t: Translate, role: string): string {
  return role === 'admin' || role === 'agent' ? t(`mail.invite.role.${role}`) : role
}

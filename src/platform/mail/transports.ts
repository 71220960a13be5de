// Mail transports: how a finished email leaves the process. Three of them, chosen by config email.transport:
//   log    — writes the email's text (with its links) to the server log, so a first install works without
//            a mail server. The one place where an address, a subject and a body are logged, by design.
//   smtp   — nodemailer to the configured SMTP server.
//   resend — the Resend HTTP API (POST <resend_base_url>/emails).
// Every transport strips line breaks from header-bound values (from, to, subject) and sends to exactly
// one parsed address, so a crafted display name can neither add a header nor add a recipient. Failures are
// MailSendError, classified as permanent (retrying cannot help) or temporary; their messages never hold
// credentials and have email addresses masked, so the outbox can store and log them.
import type { Transporter } from 'nodemailer'
import type { Config } from '../../config/load-config.js'
import type { Log } from '../logger.js'

export type EmailConfig = Config['email']

export interface MailMessage {
  from: string
  to: string
  subject: string
  html: string
  text: string
  /**
   * A stable key for this message (the outbox row id): providers that support it (Resend) then accept
   * a retried request only once, so a send that timed out after the provider took it is not doubled.
   */
  idempotencyKey?: string
}

export interface MailTransport {
  readonly name: 'log' | 'smtp' | 'resend'
  /** Sends one message; resolves when the server accepted it, rejects with MailSendError otherwise. */
  send: (message: MailMessage) => Promise<void>
  /** Releases connections (optional). */
  close?: () => Promise<void>
}

/** A failed send. `permanent`: retrying the same message cannot succeed (e.g. the recipient was rejected). */
export class MailSendError extends Error {
  override name = 'MailSendError'
  constructor (message: string, readonly permanent: boolean) { super(message) }
}

/** One mailbox: an optional display name and a bare address. */
export interface Mailbox { name: string, address: string }

const smtpConnectionTimeoutMs = 10_000
const smtpSocketTimeoutMs = 30_000
const resendTimeoutMs = 15_000
const maxErrorChars = 200

/** Replaces CR, LF and other control or line-separator characters with spaces (header injection guard). */
export function stripHeaderBreaks (value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim()
}

const addressPattern = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/

/**
 * Parses "Name <address>", "\"Name\" <address>" or a bare address into one mailbox, after stripping line
 * breaks; returns undefined when it is not exactly one plausible address.
 */
export function parseMailbox (value: string): Mailbox | undefined {
  const v = stripHeaderBreaks(value)
  const m = /^(.*?)\s*<([^<>]*)>$/.exec(v)
  let name = ''
  let address = v
  if (m !== null) {
    name = m[1]!.trim()
    address = m[2]!.trim()
    if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/\\(.)/g, '$1')
  }
  if (!addressPattern.test(address)) return undefined
  return { name, address }
}

/** Formats a mailbox for a header: the display name quoted and escaped, or the bare address. */
export function formatMailbox (mailbox: Mailbox): string {
  if (mailbox.name === '') return mailbox.address
  return `"${mailbox.name.replace(/["\\]/g, '\\$&')}" <${mailbox.address}>`
}

/** Masks email addresses and the given secrets in an error text and bounds its length (safe to store and log). */
export function safeErrorText (text: string, secrets: readonly string[] = []): string {
  let out = stripHeaderBreaks(text)
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]')
  out = out.replace(/[^\s<>()[\]"',;:]+@[^\s<>()[\]"',;:]+/g, '<address>')
  return out.length > maxErrorChars ? out.slice(0, maxErrorChars - 1) + '…' : out
}

interface Prepared { from: Mailbox, to: Mailbox, subject: string, html: string, text: string, idempotencyKey: string | undefined }

function prepare (message: MailMessage): Prepared {
  const from = parseMailbox(message.from)
  if (from === undefined) throw new MailSendError('the sender address is not valid: check email.from', false)
  const to = parseMailbox(message.to)
  if (to === undefined) throw new MailSendError('the recipient address is not valid', true)
  const key = message.idempotencyKey
  const idempotencyKey = key !== undefined && /^[\w.:-]{1,256}$/.test(key) ? key : undefined
  return { from, to, subject: stripHeaderBreaks(message.subject), html: message.html, text: message.text, idempotencyKey }
}

/** Builds the transport that config.email selects. Throws when its settings are incomplete. */
export function createTransport (config: EmailConfig, log: Log): MailTransport {
  switch (config.transport) {
    case 'smtp': return smtpTransport(config)
    case 'resend': return resendTransport(config)
    default: return logTransport(log)
  }
}

/** The log transport: one info line per email with to, subject and text (never the HTML). */
export function logTransport (log: Log): MailTransport {
  return {
    name: 'log',
    async send (message) {
      const m = prepare(message)
      log.info({ mail: { to: formatMailbox(m.to), subject: m.subject, text: m.text } }, 'email (log transport)')
    }
  }
}

/** The SMTP transport (nodemailer), one connection per message. */
export function smtpTransport (config: EmailConfig): MailTransport {
  if (config.smtp_host === '') throw new Error('email.transport is "smtp" but email.smtp_host is empty')
  // nodemailer is loaded on first use: most installs start on the log transport, and it is large.
  let transporter: Transporter | undefined
  const open = async (): Promise<Transporter> => (transporter ??= (await import('nodemailer')).default.createTransport({
    host: config.smtp_host,
    port: config.smtp_port,
    secure: config.smtp_security === 'tls',
    requireTLS: config.smtp_security === 'starttls',
    ignoreTLS: config.smtp_security === 'none',
    ...(config.smtp_user === '' ? {} : { auth: { user: config.smtp_user, pass: config.smtp_password } }),
    connectionTimeout: smtpConnectionTimeoutMs,
    greetingTimeout: smtpConnectionTimeoutMs,
    socketTimeout: smtpSocketTimeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false
  }))
  const secrets = [config.smtp_password, config.smtp_user].filter(s => s !== '')
  return {
    name: 'smtp',
    async send (message) {
      const m = prepare(message)
      try {
        await (await open()).sendMail({
          from: m.from,
          to: m.to,
          envelope: { from: m.from.address, to: [m.to.address] },
          subject: m.subject,
          html: m.html,
          text: m.text
        })
      } catch (err) {
        throw classifySmtpError(err, secrets)
      }
    },
    async close () {
      transporter?.close()
    }
  }
}

/** Turns a nodemailer error into a MailSendError: 5xx on the envelope or message is permanent. */
function classifySmtpError (err: unknown, secrets: readonly string[]): MailSendError {
  const e = err as { code?: unknown, responseCode?: unknown, response?: unknown, message?: unknown }
  const code = typeof e.code === 'string' ? e.code : 'ERROR'
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined
  // The server's own reply explains the refusal best; the nodemailer message otherwise.
  const detail = typeof e.response === 'string' ? e.response : typeof e.message === 'string' ? e.message : ''
  // 5xx on MAIL FROM / RCPT TO / DATA: this message will never be accepted. An authentication or TLS
  // failure (EAUTH, ETLS) is a configuration problem that the admin can fix, so those mails wait.
  const permanent = (code === 'EENVELOPE' || code === 'EMESSAGE') && (responseCode === undefined || responseCode >= 500)
  const text = `smtp ${code}${responseCode === undefined ? '' : ' ' + String(responseCode)}: ${detail}`
  return new MailSendError(safeErrorText(text, secrets), permanent)
}

/** The Resend transport: POST /emails with a Bearer key, 15 s timeout. */
export function resendTransport (config: EmailConfig): MailTransport {
  const key = config.resend_api_key
  if (key === '') throw new Error('email.transport is "resend" but email.resend_api_key is empty')
  const url = `${config.resend_base_url.replace(/\/+$/, '')}/emails`
  const secrets = [key]
  return {
    name: 'resend',
    async send (message) {
      const m = prepare(message)
      let res: Response
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            accept: 'application/json',
            ...(m.idempotencyKey === undefined ? {} : { 'idempotency-key': m.idempotencyKey })
          },
          body: JSON.stringify({ from: formatMailbox(m.from), to: [formatMailbox(m.to)], subject: m.subject, html: m.html, text: m.text }),
          signal: AbortSignal.timeout(resendTimeoutMs),
          redirect: 'error'
        })
      } catch (err) {
        const e = err as Error
        const why = e.name === 'TimeoutError' ? `no answer within ${resendTimeoutMs / 1000} s` : `network error (${causeCode(e)})`
        throw new MailSendError(safeErrorText(`resend: ${why}`, secrets), false)
      }
      if (res.ok) {
        await res.body?.cancel()
        return
      }
      const detail = await resendErrorDetail(res)
      // 429, 5xx, 408 and 409 (the same idempotency key still in flight) pass; 401/403 (a wrong key, an
      // unverified domain) wait for the admin to fix the configuration; any other 4xx is about this
      // message and will never be accepted.
      const permanent = res.status >= 400 && res.status < 500 && ![401, 403, 408, 409, 429].includes(res.status)
      throw new MailSendError(safeErrorText(`resend ${res.status}${detail === '' ? '' : ': ' + detail}`, secrets), permanent)
    }
  }
}

function causeCode (err: Error): string {
  const cause = (err as { cause?: { code?: unknown } }).cause
  return typeof cause?.code === 'string' ? cause.code : err.name
}

/** Resend's error name and message from its JSON body ("validation_error: …"), or nothing. */
async function resendErrorDetail (res: Response): Promise<string> {
  try {
    const body = await res.text()
    const json = JSON.parse(body.slice(0, 4096)) as { name?: unknown, message?: unknown }
    const name = typeof json.name === 'string' && /^[\w.-]{1,60}$/.test(json.name) ? json.name : ''
    const message = typeof json.message === 'string' ? json.message.slice(0, 300) : ''
    return [name, message].filter(s => s !== '').join(': ')
  } catch {
    return ''
  }
}

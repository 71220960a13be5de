// Every table of Weltra, grouped by feature. drizzle-kit reads this file to generate migrations/
// (`npm run db:generate -- --name <what>`); generated SQL is reviewed, committed and never edited.
// SQL names are snake_case (drizzle `casing`), TypeScript names camelCase. Encrypted columns use
// encryptedText("<table>.<column>"); exact lookups on them go through a *_index blind-index column.
import { sql } from 'drizzle-orm'
import { foreignKey, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { encryptedText, id, timestampMs } from './columns.js'

// ── instance ──────────────────────────────────────────────────────────────
/** Instance-wide facts: the master key check value, the sealed blind-index root, the schema owner. */
export const meta = sqliteTable('meta', {
  key: text().primaryKey(),
  value: text().notNull(),
  updatedAt: timestampMs().notNull()
})

// ── accounts ──────────────────────────────────────────────────────────────
/** People who sign in. The email is encrypted; emailIndex (blind index of the normalised email) finds it. */
export const users = sqliteTable('users', {
  id: id(),
  email: encryptedText('users.email').notNull(),
  emailIndex: text().notNull(),
  name: text().notNull(),
  passwordHash: text().notNull(),
  emailVerifiedAt: timestampMs(),
  /** The person who set the instance up (first-run setup or `weltra user create --owner`). */
  isInstanceOwner: integer({ mode: 'boolean' }).notNull().default(false),
  locale: text(),
  timeZone: text(),
  totpSecret: encryptedText('users.totp_secret'),
  totpEnabledAt: timestampMs(),
  passwordChangedAt: timestampMs().notNull(),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull(),
  deletedAt: timestampMs()
}, (t) => [uniqueIndex('users_email_index').on(t.emailIndex)])

/**
 * Sign-in sessions (the Lucia design): the cookie holds "<id>.<secret>", only SHA-256 of the secret is
 * stored. workspaceId is the active workspace, always re-checked against memberships.
 */
export const sessions = sqliteTable('sessions', {
  id: text().primaryKey(),
  secretHash: text().notNull(),
  userId: text().notNull().references(() => users.id, { onDelete: 'cascade' }),
  workspaceId: text().references(() => workspaces.id, { onDelete: 'set null' }),
  /** False between the password and the second factor. */
  twoFactorVerified: integer({ mode: 'boolean' }).notNull().default(true),
  /** Last time the password (or second factor) was entered: sensitive changes need it to be recent. */
  reauthenticatedAt: timestampMs().notNull(),
  userAgent: text().notNull().default(''),
  ip: encryptedText('sessions.ip'),
  createdAt: timestampMs().notNull(),
  lastSeenAt: timestampMs().notNull()
}, (t) => [index('sessions_user').on(t.userId)])

/** Single-use, expiring tokens mailed to a user: verify an email, reset a password, confirm a new email. */
export const userTokens = sqliteTable('user_tokens', {
  id: id(),
  userId: text().notNull().references(() => users.id, { onDelete: 'cascade' }),
  purpose: text({ enum: ['verify_email', 'reset_password', 'change_email'] }).notNull(),
  tokenHash: text().notNull(),
  newEmail: encryptedText('user_tokens.new_email'),
  expiresAt: timestampMs().notNull(),
  usedAt: timestampMs(),
  createdAt: timestampMs().notNull()
}, (t) => [uniqueIndex('user_tokens_hash').on(t.tokenHash), index('user_tokens_user').on(t.userId, t.purpose)])

/** One-time recovery codes for two-factor authentication (hashes only). */
export const recoveryCodes = sqliteTable('recovery_codes', {
  id: id(),
  userId: text().notNull().references(() => users.id, { onDelete: 'cascade' }),
  codeHash: text().notNull(),
  usedAt: timestampMs(),
  createdAt: timestampMs().notNull()
}, (t) => [index('recovery_codes_user').on(t.userId)])

/** Failed sign-in counters per account and per address, so throttling survives restarts. */
export const authThrottle = sqliteTable('auth_throttle', {
  key: text().primaryKey(),
  failures: integer().notNull(),
  windowStart: timestampMs().notNull(),
  blockedUntil: timestampMs().notNull()
})

// ── workspaces ────────────────────────────────────────────────────────────
export const workspaces = sqliteTable('workspaces', {
  id: id(),
  slug: text().notNull(),
  name: text().notNull(),
  /** Members must have two-factor authentication on to use this workspace. */
  requireTwoFactor: integer({ mode: 'boolean' }).notNull().default(false),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull(),
  deletedAt: timestampMs()
}, (t) => [uniqueIndex('workspaces_slug').on(t.slug)])

export const memberships = sqliteTable('memberships', {
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  userId: text().notNull().references(() => users.id, { onDelete: 'cascade' }),
  role: text({ enum: ['owner', 'admin', 'agent'] }).notNull(),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull()
}, (t) => [primaryKey({ columns: [t.workspaceId, t.userId] }), index('memberships_user').on(t.userId)])

/** Invitations by email: single-use, expiring, bound to one workspace and role. */
export const invites = sqliteTable('invites', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  email: encryptedText('invites.email').notNull(),
  emailIndex: text().notNull(),
  role: text({ enum: ['admin', 'agent'] }).notNull(),
  tokenHash: text().notNull(),
  invitedBy: text().references(() => users.id, { onDelete: 'set null' }),
  expiresAt: timestampMs().notNull(),
  acceptedAt: timestampMs(),
  revokedAt: timestampMs(),
  createdAt: timestampMs().notNull()
}, (t) => [uniqueIndex('invites_token').on(t.tokenHash), index('invites_workspace').on(t.workspaceId, t.createdAt)])

// ── audit ─────────────────────────────────────────────────────────────────
/**
 * Security events. workspaceId is set for workspace events (roles, members, invites, settings) and
 * empty for account events (sign-in, password, email, 2FA), which admins see for their members.
 */
export const auditLog = sqliteTable('audit_log', {
  id: id(),
  workspaceId: text().references(() => workspaces.id, { onDelete: 'cascade' }),
  actorUserId: text().references(() => users.id, { onDelete: 'set null' }),
  subjectUserId: text().references(() => users.id, { onDelete: 'set null' }),
  action: text().notNull(),
  details: text({ mode: 'json' }).$type<Record<string, string | number | boolean | null>>().notNull().default(sql`'{}'`),
  ip: encryptedText('audit_log.ip'),
  createdAt: timestampMs().notNull()
}, (t) => [index('audit_workspace').on(t.workspaceId, t.createdAt), index('audit_subject').on(t.subjectUserId, t.createdAt)])

// ── email ─────────────────────────────────────────────────────────────────
/** Outgoing transactional email. Rows are written in the same transaction as what caused them. */
export const mailOutbox = sqliteTable('mail_outbox', {
  id: id(),
  kind: text().notNull(),
  toAddress: encryptedText('mail_outbox.to_address').notNull(),
  subject: encryptedText('mail_outbox.subject').notNull(),
  html: encryptedText('mail_outbox.html').notNull(),
  textBody: encryptedText('mail_outbox.text_body').notNull(),
  status: text({ enum: ['pending', 'sending', 'sent', 'failed'] }).notNull().default('pending'),
  attempts: integer().notNull().default(0),
  nextAttemptAt: timestampMs().notNull(),
  leaseUntil: timestampMs(),
  lastError: text(),
  createdAt: timestampMs().notNull(),
  sentAt: timestampMs()
}, (t) => [index('mail_outbox_due').on(t.status, t.nextAttemptAt)])

// ── whatsapp ──────────────────────────────────────────────────────────────
/**
 * A connected WhatsApp number (a Cloud API phone number of a WABA). Credentials are encrypted; the
 * callback URL is /webhooks/whatsapp/<publicId>, so each channel verifies its own signatures.
 */
export const channels = sqliteTable('channels', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  publicId: text().notNull(),
  name: text().notNull(),
  wabaId: text().notNull(),
  phoneNumberId: text().notNull(),
  displayPhoneNumber: text().notNull().default(''),
  verifiedName: text().notNull().default(''),
  qualityRating: text(),
  messagingTier: text(),
  graphApiVersion: text().notNull(),
  accessToken: encryptedText('channels.access_token').notNull(),
  accessTokenLast4: text().notNull(),
  appSecret: encryptedText('channels.app_secret').notNull(),
  /** Still accepted for signatures while Meta's app secret is being rotated. */
  previousAppSecret: encryptedText('channels.previous_app_secret'),
  verifyToken: encryptedText('channels.verify_token').notNull(),
  status: text({ enum: ['active', 'needs_reconnect', 'paused'] }).notNull().default('active'),
  webhookVerifiedAt: timestampMs(),
  lastWebhookAt: timestampMs(),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull(),
  deletedAt: timestampMs()
}, (t) => [
  uniqueIndex('channels_public_id').on(t.publicId),
  uniqueIndex('channels_workspace_id').on(t.workspaceId, t.id),
  index('channels_phone_number').on(t.phoneNumberId)
])

/**
 * Every signed webhook delivery, stored (encrypted, exact bytes as base64) before Meta gets its 200 and
 * processed from this copy; failures stay here for replay. Raw payloads never go into message rows.
 */
export const webhookEvents = sqliteTable('webhook_events', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  channelId: text().notNull(),
  payload: encryptedText('webhook_events.payload').notNull(),
  bytes: integer().notNull(),
  receivedAt: timestampMs().notNull(),
  status: text({ enum: ['pending', 'processed', 'failed', 'ignored'] }).notNull().default('pending'),
  attempts: integer().notNull().default(0),
  lastError: text(),
  processedAt: timestampMs()
}, (t) => [
  foreignKey({ columns: [t.workspaceId, t.channelId], foreignColumns: [channels.workspaceId, channels.id] }).onDelete('cascade'),
  index('webhook_events_status').on(t.status, t.receivedAt),
  index('webhook_events_channel').on(t.channelId, t.receivedAt)
])

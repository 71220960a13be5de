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
  /** Inbox: replying to an unassigned conversation assigns it to the one who replied. */
  selfAssignOnReply: integer({ mode: 'boolean' }).notNull().default(true),
  /** Inbox: new conversations are assigned round-robin among available agents ('none' leaves them unassigned). */
  autoAssign: text({ enum: ['none', 'round_robin'] }).notNull().default('none'),
  /** Inbox: a message on a resolved conversation reopens it ('reopen') or starts a new one ('new'). */
  resolvedReply: text({ enum: ['reopen', 'new'] }).notNull().default('reopen'),
  /** Inbox: opening a conversation sends read receipts for the customer's messages. */
  sendReadReceipts: integer({ mode: 'boolean' }).notNull().default(true),
  /** Contacts: ISO 3166 country of numbers written without a country code (e.g. "BR" for "11 98765-4321"). */
  defaultCountry: text().notNull().default('US'),
  /** Contacts: inbound messages that are exactly one of these words (comma-separated, any case) opt the contact out. */
  optOutKeywords: text().notNull().default('STOP, UNSUBSCRIBE'),
  /** Retention: message bodies and files older than this many days are removed (null: kept). */
  retainMessagesDays: integer(),
  /** Retention: Meta's raw webhook payloads are removed after this many days (they are processed at once). */
  retainWebhookDays: integer().notNull().default(14),
  /** Retention: contacts with no activity for this many months are erased (null: kept). */
  retainContactsMonths: integer(),
  /** Retention: when the daily job last ran for this workspace, and what it removed (JSON). */
  retentionRunAt: timestampMs(),
  retentionReport: text(),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull(),
  deletedAt: timestampMs()
}, (t) => [uniqueIndex('workspaces_slug').on(t.slug)])

export const memberships = sqliteTable('memberships', {
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  userId: text().notNull().references(() => users.id, { onDelete: 'cascade' }),
  role: text({ enum: ['owner', 'admin', 'agent'] }).notNull(),
  /** Takes part in round-robin assignment (the member's own "available" switch). */
  available: integer({ mode: 'boolean' }).notNull().default(true),
  /** When round-robin last gave this member a conversation (the next goes to the longest waiting). */
  lastAssignedAt: timestampMs(),
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
  /** Why the channel is not active (e.g. Meta's 190 message), shown on the health panel. */
  statusDetail: text(),
  /** Last successful check of the access token against the Graph API. */
  tokenCheckedAt: timestampMs(),
  /** When POST /{waba-id}/subscribed_apps last succeeded. */
  subscribedAt: timestampMs(),
  /** A demo channel wired to the built-in fake Graph API (`weltra demo`): labelled as a sandbox everywhere. */
  sandbox: integer({ mode: 'boolean' }).notNull().default(false),
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

/**
 * The people who write to a workspace's numbers. A WhatsApp user is found by BSUID first (Meta's
 * business-scoped user id, present for every user since 2026), then by wa_id (the phone digits, which
 * username users may not share). Both are encrypted with a blind index for exact lookups. Names are
 * plaintext by design (searched and sorted in SQL).
 */
export const contacts = sqliteTable('contacts', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  /** The name the team gave the contact; null shows the WhatsApp profile name. */
  name: text(),
  profileName: text(),
  username: text(),
  waId: encryptedText('contacts.wa_id'),
  waIdIndex: text(),
  bsuid: encryptedText('contacts.bsuid'),
  bsuidIndex: text(),
  parentBsuid: encryptedText('contacts.parent_bsuid'),
  lastInboundAt: timestampMs(),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull(),
  /** Set when the contact was merged into another (number or user-id change) or erased. */
  mergedIntoId: text(),
  deletedAt: timestampMs(),
  /** The team's notes about the contact. */
  notes: encryptedText('contacts.notes'),
  /** Marketing consent: 'unknown' until recorded; 'opted_out' blocks business-initiated sends. */
  consent: text({ enum: ['unknown', 'opted_in', 'opted_out'] }).notNull().default('unknown'),
  /** Where the consent state came from: 'manual', 'import', 'keyword' (an inbound STOP), 'api'. */
  consentSource: text(),
  consentAt: timestampMs(),
  /** The wording the contact agreed to (or the keyword they sent). */
  consentWording: text(),
  /** Legal hold: retention never removes this contact or its messages. */
  legalHold: integer({ mode: 'boolean' }).notNull().default(false),
  /** The sort key of the list: the shown name, lower case (virtual, indexed). */
  sortName: text().generatedAlwaysAs(sql`lower(coalesce(name, profile_name, username, ''))`, { mode: 'virtual' })
}, (t) => [
  uniqueIndex('contacts_workspace_id').on(t.workspaceId, t.id),
  uniqueIndex('contacts_bsuid').on(t.workspaceId, t.bsuidIndex).where(sql`${t.bsuidIndex} IS NOT NULL AND ${t.deletedAt} IS NULL`),
  uniqueIndex('contacts_wa_id').on(t.workspaceId, t.waIdIndex).where(sql`${t.waIdIndex} IS NOT NULL AND ${t.deletedAt} IS NULL`),
  index('contacts_sort_name').on(t.workspaceId, t.sortName, t.id),
  index('contacts_activity').on(t.workspaceId, t.lastInboundAt, t.id),
  index('contacts_created').on(t.workspaceId, t.createdAt, t.id)
])

/** More phone numbers of a contact (the WhatsApp number is contacts.wa_id). E.164, found by blind index. */
export const contactPhones = sqliteTable('contact_phones', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  contactId: text().notNull(),
  /** E.164 with the "+". */
  phone: encryptedText('contact_phones.phone').notNull(),
  /** blindIndex('contact.phone', workspace, E.164 digits without "+"). */
  phoneIndex: text().notNull(),
  label: text(),
  createdAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('contact_phones_workspace_id').on(t.workspaceId, t.id),
  uniqueIndex('contact_phones_unique').on(t.workspaceId, t.contactId, t.phoneIndex),
  index('contact_phones_index').on(t.workspaceId, t.phoneIndex, t.contactId),
  foreignKey({ columns: [t.workspaceId, t.contactId], foreignColumns: [contacts.workspaceId, contacts.id] }).onDelete('cascade')
])

/** Email addresses of a contact, lower-cased and trimmed, found by blind index. */
export const contactEmails = sqliteTable('contact_emails', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  contactId: text().notNull(),
  email: encryptedText('contact_emails.email').notNull(),
  /** blindIndex('contact.email', workspace, the address lower-cased and trimmed). */
  emailIndex: text().notNull(),
  createdAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('contact_emails_workspace_id').on(t.workspaceId, t.id),
  uniqueIndex('contact_emails_unique').on(t.workspaceId, t.contactId, t.emailIndex),
  index('contact_emails_index').on(t.workspaceId, t.emailIndex, t.contactId),
  foreignKey({ columns: [t.workspaceId, t.contactId], foreignColumns: [contacts.workspaceId, contacts.id] }).onDelete('cascade')
])

/** Custom fields the workspace defines for its contacts. */
export const contactFields = sqliteTable('contact_fields', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  /** Stable machine name (import column mapping, export header, {{contact.<key>}}). */
  key: text().notNull(),
  label: text().notNull(),
  type: text({ enum: ['text', 'number', 'date', 'select', 'boolean', 'url'] }).notNull(),
  /** For 'select': a JSON array of the allowed options. */
  options: text(),
  position: integer().notNull().default(0),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('contact_fields_workspace_id').on(t.workspaceId, t.id),
  uniqueIndex('contact_fields_key').on(t.workspaceId, t.key)
])

/** A contact's value of a custom field: encrypted, with a blind index of the normalised value for filters. */
export const contactFieldValues = sqliteTable('contact_field_values', {
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  contactId: text().notNull(),
  fieldId: text().notNull(),
  value: encryptedText('contact_field_values.value').notNull(),
  /** blindIndex('contact.field', workspace, fieldId + ':' + normalised value). */
  valueIndex: text().notNull(),
  updatedAt: timestampMs().notNull()
}, (t) => [
  primaryKey({ columns: [t.workspaceId, t.contactId, t.fieldId] }),
  index('contact_field_values_filter').on(t.workspaceId, t.fieldId, t.valueIndex),
  foreignKey({ columns: [t.workspaceId, t.contactId], foreignColumns: [contacts.workspaceId, contacts.id] }).onDelete('cascade'),
  foreignKey({ columns: [t.workspaceId, t.fieldId], foreignColumns: [contactFields.workspaceId, contactFields.id] }).onDelete('cascade')
])

/** What happened to a contact, newest first on its page (created, edited, consent, merged, imported …). */
export const contactEvents = sqliteTable('contact_events', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  contactId: text().notNull(),
  kind: text().notNull(),
  actorId: text().references(() => users.id, { onDelete: 'set null' }),
  /** JSON details; may hold personal data, so sealed. */
  data: encryptedText('contact_events.data'),
  at: timestampMs().notNull()
}, (t) => [
  index('contact_events_contact').on(t.workspaceId, t.contactId, t.at),
  foreignKey({ columns: [t.workspaceId, t.contactId], foreignColumns: [contacts.workspaceId, contacts.id] }).onDelete('cascade')
])

/** A CSV import: the uploaded file (sealed) until it has run, the mapping, progress and the report. */
export const contactImports = sqliteTable('contact_imports', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  createdBy: text().references(() => users.id, { onDelete: 'set null' }),
  status: text({ enum: ['uploaded', 'running', 'done', 'failed', 'cancelled'] }).notNull().default('uploaded'),
  fileName: text().notNull(),
  /** The decoded file (UTF-8), sealed; cleared when the import finishes. */
  content: encryptedText('contact_imports.content'),
  /** JSON: column index → target ("name", "phone", "email", "notes", "labels", "consent", "field:<key>", "skip"). */
  mapping: text(),
  totalRows: integer().notNull().default(0),
  processedRows: integer().notNull().default(0),
  createdCount: integer().notNull().default(0),
  updatedCount: integer().notNull().default(0),
  skippedCount: integer().notNull().default(0),
  /** JSON list of skipped rows: { row, reason } (no cell values), sealed. */
  report: encryptedText('contact_imports.report'),
  error: text(),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull(),
  finishedAt: timestampMs()
}, (t) => [
  uniqueIndex('contact_imports_workspace_id').on(t.workspaceId, t.id),
  index('contact_imports_workspace').on(t.workspaceId, t.createdAt)
])

/**
 * A thread with one contact on one number. At most one conversation per (channel, contact) is not
 * resolved. The customer-service window runs 24 h from lastInboundAt (Meta's message timestamps).
 */
export const conversations = sqliteTable('conversations', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  channelId: text().notNull(),
  contactId: text().notNull(),
  status: text({ enum: ['open', 'pending', 'snoozed', 'resolved'] }).notNull().default('open'),
  assigneeId: text().references(() => users.id, { onDelete: 'set null' }),
  lastMessageAt: timestampMs().notNull(),
  lastInboundAt: timestampMs(),
  /** 72 h free-entry-point window when the contact came from a click-to-WhatsApp ad. */
  entryPointUntil: timestampMs(),
  unreadCount: integer().notNull().default(0),
  /** A snoozed conversation comes back (status open) at this time. */
  snoozedUntil: timestampMs(),
  /** The newest message (for the list's preview line). */
  lastMessageId: text(),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull(),
  resolvedAt: timestampMs()
}, (t) => [
  uniqueIndex('conversations_workspace_id').on(t.workspaceId, t.id),
  uniqueIndex('conversations_one_open').on(t.workspaceId, t.channelId, t.contactId).where(sql`${t.status} <> 'resolved'`),
  index('conversations_list').on(t.workspaceId, t.status, t.lastMessageAt, t.id),
  index('conversations_assignee').on(t.workspaceId, t.assigneeId, t.status, t.lastMessageAt, t.id),
  index('conversations_snoozed').on(t.status, t.snoozedUntil),
  index('conversations_contact').on(t.workspaceId, t.contactId, t.lastMessageAt),
  foreignKey({ columns: [t.workspaceId, t.channelId], foreignColumns: [channels.workspaceId, channels.id] }).onDelete('cascade'),
  foreignKey({ columns: [t.workspaceId, t.contactId], foreignColumns: [contacts.workspaceId, contacts.id] }).onDelete('cascade')
])

/**
 * Every inbound and outbound WhatsApp message. wamidKey is a 53-bit hash of the wamid, unique per
 * workspace (collisions probe the next key; the full wamid is compared). content is the encrypted
 * JSON of the type-specific body (text, caption, location, cards…). Raw payloads are never stored here.
 */
export const messages = sqliteTable('messages', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  conversationId: text().notNull(),
  channelId: text().notNull(),
  /** 'note': a private note of the team, never sent. */
  direction: text({ enum: ['in', 'out', 'note'] }).notNull(),
  wamid: text(),
  wamidKey: integer(),
  type: text().notNull(),
  content: encryptedText('messages.content').notNull(),
  /** The wamid this message replies to (context.id), if any. */
  replyToWamid: text(),
  forwarded: integer().notNull().default(0),
  /** True when Meta sent a type or shape Weltra does not know: kept and marked, never dropped. */
  unknown: integer({ mode: 'boolean' }).notNull().default(false),
  status: text().notNull(),
  statusRank: integer().notNull().default(0),
  sentAt: timestampMs(),
  deliveredAt: timestampMs(),
  readAt: timestampMs(),
  playedAt: timestampMs(),
  failedAt: timestampMs(),
  errorCode: integer(),
  errorTitle: text(),
  errorDetail: text(),
  pricingCategory: text(),
  pricingType: text(),
  /** Meta's timestamp of the message (inbound) or the time it was queued (outbound). */
  timestamp: timestampMs().notNull(),
  editedAt: timestampMs(),
  revokedAt: timestampMs(),
  authorId: text().references(() => users.id, { onDelete: 'set null' }),
  /** Outbound: the id the browser generated for this send, so a double submit sends once. */
  clientId: text(),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('messages_workspace_id').on(t.workspaceId, t.id),
  uniqueIndex('messages_client_id').on(t.workspaceId, t.clientId).where(sql`${t.clientId} IS NOT NULL`),
  uniqueIndex('messages_wamid').on(t.workspaceId, t.wamidKey).where(sql`${t.wamidKey} IS NOT NULL`),
  index('messages_thread').on(t.workspaceId, t.conversationId, t.timestamp),
  foreignKey({ columns: [t.workspaceId, t.conversationId], foreignColumns: [conversations.workspaceId, conversations.id] }).onDelete('cascade'),
  foreignKey({ columns: [t.workspaceId, t.channelId], foreignColumns: [channels.workspaceId, channels.id] }).onDelete('cascade')
])

/**
 * Every status Meta reported, once per (wamid, status). A status whose message is not known yet
 * (sent by another tool, or arriving before our send returned) is parked with appliedAt null and
 * applied when the wamid shows up.
 */
export const messageStatuses = sqliteTable('message_statuses', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  channelId: text().notNull(),
  wamid: text().notNull(),
  wamidKey: integer().notNull(),
  status: text().notNull(),
  timestamp: timestampMs().notNull(),
  errorCode: integer(),
  errorTitle: text(),
  errorDetail: text(),
  pricingCategory: text(),
  pricingType: text(),
  receivedAt: timestampMs().notNull(),
  appliedAt: timestampMs()
}, (t) => [
  uniqueIndex('message_statuses_once').on(t.workspaceId, t.wamidKey, t.status),
  index('message_statuses_parked').on(t.workspaceId, t.appliedAt),
  foreignKey({ columns: [t.workspaceId, t.channelId], foreignColumns: [channels.workspaceId, channels.id] }).onDelete('cascade')
])

/** A contact's reaction to a message (reactions are not messages). Removing one deletes the row. */
export const messageReactions = sqliteTable('message_reactions', {
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  /** The wamid reacted to: the target may arrive later than the reaction. */
  targetWamidKey: integer().notNull(),
  targetWamid: text().notNull(),
  contactId: text().notNull(),
  emoji: text(),
  /** Meta's timestamp of the latest reaction event applied (older events change nothing). */
  timestamp: timestampMs().notNull(),
  updatedAt: timestampMs().notNull()
}, (t) => [
  primaryKey({ columns: [t.workspaceId, t.targetWamidKey, t.contactId] }),
  foreignKey({ columns: [t.workspaceId, t.contactId], foreignColumns: [contacts.workspaceId, contacts.id] }).onDelete('cascade')
])

/**
 * A media item of a message. The worker fetches Graph metadata → short-lived URL → bytes, checks
 * sha256, and stores the file encrypted under data/media/<workspace>/<id>.
 */
export const media = sqliteTable('media', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  messageId: text().notNull(),
  channelId: text().notNull(),
  /** Meta's media id (expires after about 7 days for inbound media). */
  graphMediaId: text(),
  kind: text().notNull(),
  mimeType: text(),
  /** Expected SHA-256 as Meta sent it (hex, normalised from the webhook's base64). */
  sha256: text(),
  fileName: encryptedText('media.file_name'),
  size: integer(),
  status: text({ enum: ['pending', 'stored', 'failed'] }).notNull().default('pending'),
  attempts: integer().notNull().default(0),
  nextAttemptAt: timestampMs().notNull(),
  leaseUntil: timestampMs(),
  lastError: text(),
  createdAt: timestampMs().notNull(),
  storedAt: timestampMs()
}, (t) => [
  uniqueIndex('media_workspace_id').on(t.workspaceId, t.id),
  uniqueIndex('media_message').on(t.workspaceId, t.messageId),
  index('media_due').on(t.status, t.nextAttemptAt),
  foreignKey({ columns: [t.workspaceId, t.messageId], foreignColumns: [messages.workspaceId, messages.id] }).onDelete('cascade'),
  foreignKey({ columns: [t.workspaceId, t.channelId], foreignColumns: [channels.workspaceId, channels.id] }).onDelete('cascade')
])

/** Message templates of a WABA, cached from the Graph API and kept fresh by template webhooks. */
export const templates = sqliteTable('templates', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  wabaId: text().notNull(),
  graphTemplateId: text(),
  name: text().notNull(),
  language: text().notNull(),
  status: text().notNull(),
  category: text(),
  quality: text(),
  parameterFormat: text(),
  components: text({ mode: 'json' }).$type<unknown[]>(),
  reason: text(),
  syncedAt: timestampMs(),
  updatedAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('templates_identity').on(t.workspaceId, t.wabaId, t.name, t.language),
  index('templates_graph_id').on(t.workspaceId, t.graphTemplateId)
])

/** What the health panel of a channel shows: value-level errors, token failures, ignored deliveries. */
export const channelIssues = sqliteTable('channel_issues', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  channelId: text().notNull(),
  source: text({ enum: ['webhook', 'graph', 'media', 'processing'] }).notNull(),
  code: integer(),
  title: text().notNull(),
  detail: text(),
  at: timestampMs().notNull()
}, (t) => [
  index('channel_issues_recent').on(t.workspaceId, t.channelId, t.at),
  foreignKey({ columns: [t.workspaceId, t.channelId], foreignColumns: [channels.workspaceId, channels.id] }).onDelete('cascade')
])

// ── inbox ─────────────────────────────────────────────────────────────────
/** What the outbound worker must send: one row per outbound message, written with it. */
export const messageOutbox = sqliteTable('message_outbox', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  messageId: text().notNull(),
  channelId: text().notNull(),
  status: text({ enum: ['pending', 'sending', 'done', 'failed'] }).notNull().default('pending'),
  attempts: integer().notNull().default(0),
  nextAttemptAt: timestampMs().notNull(),
  leaseUntil: timestampMs(),
  /** Set when an attempt's outcome is unknown (timeout, reset): reconcile before any re-send. */
  ambiguousSince: timestampMs(),
  lastError: text(),
  createdAt: timestampMs().notNull(),
  doneAt: timestampMs()
}, (t) => [
  uniqueIndex('message_outbox_message').on(t.workspaceId, t.messageId),
  index('message_outbox_due').on(t.status, t.nextAttemptAt),
  foreignKey({ columns: [t.workspaceId, t.messageId], foreignColumns: [messages.workspaceId, messages.id] }).onDelete('cascade'),
  foreignKey({ columns: [t.workspaceId, t.channelId], foreignColumns: [channels.workspaceId, channels.id] }).onDelete('cascade')
])

/** Conversation labels of a workspace. */
export const labels = sqliteTable('labels', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  name: text().notNull(),
  colour: integer().notNull().default(0),
  createdAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('labels_workspace_id').on(t.workspaceId, t.id),
  uniqueIndex('labels_name').on(t.workspaceId, t.name)
])

export const conversationLabels = sqliteTable('conversation_labels', {
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  conversationId: text().notNull(),
  labelId: text().notNull(),
  createdAt: timestampMs().notNull()
}, (t) => [
  primaryKey({ columns: [t.workspaceId, t.conversationId, t.labelId] }),
  index('conversation_labels_label').on(t.workspaceId, t.labelId, t.conversationId),
  foreignKey({ columns: [t.workspaceId, t.conversationId], foreignColumns: [conversations.workspaceId, conversations.id] }).onDelete('cascade'),
  foreignKey({ columns: [t.workspaceId, t.labelId], foreignColumns: [labels.workspaceId, labels.id] }).onDelete('cascade')
])

/** Labels on contacts (the same workspace labels as conversations). */
export const contactLabels = sqliteTable('contact_labels', {
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  contactId: text().notNull(),
  labelId: text().notNull(),
  createdAt: timestampMs().notNull()
}, (t) => [
  primaryKey({ columns: [t.workspaceId, t.contactId, t.labelId] }),
  index('contact_labels_label').on(t.workspaceId, t.labelId, t.contactId),
  foreignKey({ columns: [t.workspaceId, t.contactId], foreignColumns: [contacts.workspaceId, contacts.id] }).onDelete('cascade'),
  foreignKey({ columns: [t.workspaceId, t.labelId], foreignColumns: [labels.workspaceId, labels.id] }).onDelete('cascade')
])

/** Canned responses: typed with "/" in the composer; `{{contact.name}}`-style variables with fallbacks. */
export const cannedResponses = sqliteTable('canned_responses', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  shortcut: text().notNull(),
  body: text().notNull(),
  createdBy: text().references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull()
}, (t) => [uniqueIndex('canned_responses_shortcut').on(t.workspaceId, t.shortcut)])

/** @mentions in private notes (notification feature reads these). */
export const noteMentions = sqliteTable('note_mentions', {
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  messageId: text().notNull(),
  userId: text().notNull().references(() => users.id, { onDelete: 'cascade' }),
  createdAt: timestampMs().notNull()
}, (t) => [
  primaryKey({ columns: [t.workspaceId, t.messageId, t.userId] }),
  index('note_mentions_user').on(t.userId, t.createdAt),
  foreignKey({ columns: [t.workspaceId, t.messageId], foreignColumns: [messages.workspaceId, messages.id] }).onDelete('cascade')
])

// ── api keys ──────────────────────────────────────────────────────────────
/**
 * Keys for the REST API (`Authorization: Bearer wk_…`), one workspace and role each. Only the SHA-256
 * of the whole token is stored (tokenHash, unique: the lookup); prefix ("wk_" + 6 characters) is what
 * people see afterwards. createdBy is empty for keys made with the CLI. Revoked keys stay, marked.
 */
export const apiKeys = sqliteTable('api_keys', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  name: text().notNull(),
  role: text({ enum: ['agent', 'admin'] }).notNull(),
  prefix: text().notNull(),
  tokenHash: text().notNull(),
  createdBy: text().references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestampMs().notNull(),
  lastUsedAt: timestampMs(),
  revokedAt: timestampMs()
}, (t) => [
  uniqueIndex('api_keys_token_hash').on(t.tokenHash),
  uniqueIndex('api_keys_workspace_id').on(t.workspaceId, t.id),
  index('api_keys_workspace_created').on(t.workspaceId, t.createdAt)
])

// ── outgoing webhooks ────────────────────────────────────────────────────
/**
 * A URL of the workspace's own systems that is told about events (message received, conversation
 * resolved, …). The URL may carry credentials in its query, and the secret signs every delivery, so
 * both are encrypted. `previous_secret` still signs deliveries until `previous_secret_until` after a
 * rotation, so a receiver can switch secrets without missing one.
 */
export const webhookSubscriptions = sqliteTable('webhook_subscriptions', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  url: encryptedText('webhook_subscriptions.url').notNull(),
  description: text().notNull().default(''),
  /** JSON array of event types. */
  events: text({ mode: 'json' }).$type<string[]>().notNull(),
  secret: encryptedText('webhook_subscriptions.secret').notNull(),
  previousSecret: encryptedText('webhook_subscriptions.previous_secret'),
  previousSecretUntil: timestampMs(),
  active: integer({ mode: 'boolean' }).notNull().default(true),
  createdBy: text().references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestampMs().notNull(),
  updatedAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('webhook_subscriptions_workspace_id').on(t.workspaceId, t.id)
])

/**
 * One event for one subscription: the outbox of outgoing webhooks and, once settled, its delivery
 * log. The payload (which holds customer data) is encrypted; a replay is a new row with the same
 * event id, so receivers can recognise it.
 */
export const webhookDeliveries = sqliteTable('webhook_deliveries', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  subscriptionId: text().notNull(),
  eventId: text().notNull(),
  eventType: text().notNull(),
  payload: encryptedText('webhook_deliveries.payload').notNull(),
  status: text({ enum: ['pending', 'sending', 'delivered', 'failed'] }).notNull().default('pending'),
  attempts: integer().notNull().default(0),
  nextAttemptAt: timestampMs().notNull(),
  leaseUntil: timestampMs(),
  /** The receiver's HTTP status on the last attempt (null: no answer). */
  responseStatus: integer(),
  /** Why the last attempt failed, in plain words (never the response body). */
  lastError: text(),
  durationMs: integer(),
  replayOf: text(),
  createdAt: timestampMs().notNull(),
  settledAt: timestampMs()
}, (t) => [
  foreignKey({ columns: [t.workspaceId, t.subscriptionId], foreignColumns: [webhookSubscriptions.workspaceId, webhookSubscriptions.id] }).onDelete('cascade'),
  index('webhook_deliveries_due').on(t.status, t.nextAttemptAt),
  index('webhook_deliveries_log').on(t.subscriptionId, t.id),
  index('webhook_deliveries_settled').on(t.settledAt)
])

/**
 * Events waiting to become deliveries. Written in the same transaction as the change they announce
 * (so a crash cannot lose one), only when a subscription of the workspace wants that type; the
 * dispatcher turns each into one delivery per subscription with the payload read right after the
 * commit, and deletes it. `subject_key` coalesces repeats before dispatch (three edits of a contact
 * in one request announce one contact.updated).
 */
export const webhookQueue = sqliteTable('webhook_queue', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  eventType: text().notNull(),
  subjectKey: text().notNull(),
  /** JSON: the ids the payload is built from (contactId, conversationId, messageId) and facts (status). */
  subject: text({ mode: 'json' }).$type<Record<string, string | null>>().notNull(),
  createdAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('webhook_queue_subject').on(t.workspaceId, t.eventType, t.subjectKey)
])

// ── privacy ──────────────────────────────────────────────────────────────
/**
 * What is left of a contact the workspace was asked to forget: keyed blind indexes of its numbers and
 * emails (under a purpose of their own, so they match nothing else), which stop a later CSV import
 * from bringing the person back. Nothing else: no name, no id. If they write again on WhatsApp they
 * start as a new contact (that is them getting in touch, not us keeping them).
 */
export const contactTombstones = sqliteTable('contact_tombstones', {
  id: id(),
  workspaceId: text().notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  indexValue: text().notNull(),
  createdAt: timestampMs().notNull()
}, (t) => [
  uniqueIndex('contact_tombstones_value').on(t.workspaceId, t.indexValue)
])

// A workspace with a connected WhatsApp channel, signed deliveries to its callback URL, and builders
// for webhook payloads shaped like Meta's (SPEC §3–5).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { signatureHeader } from '../../src/platform/whatsapp/webhook-signature.js'
import { createChannel, type Channel } from '../../src/features/channels/channels.service.js'
import { buildTestApp, type TestApp, type TestAppOptions } from './build-test-app.js'
import { createUser } from './accounts.js'

export const fixtureSecret = 'fixture-app-secret-NOT-REAL-7f3c2a91'
export const fixturesDir = join(import.meta.dirname, '..', 'fixtures', 'whatsapp', 'webhooks')
/** The WABA and phone number id of the shared fixtures. */
export const fixtureWaba = '109876543210001'
export const fixturePhoneNumberId = '110000000000101'

export interface ChannelApp extends TestApp { channel: Channel, url: string, ownerId: string }

/** A test app with one workspace ("Shop") whose channel matches the shared fixtures. */
export async function withChannel (t: Test, options: TestAppOptions & { appSecret?: string } = {}): Promise<ChannelApp> {
  const env = await buildTestApp(t, options)
  const owner = await createUser(env.deps, { workspace: 'Shop' })
  const channel = createChannel(env.deps.db, owner.workspaceId!, { name: 'Main number', wabaId: fixtureWaba, phoneNumberId: fixturePhoneNumberId, accessToken: 'EAAG-test-token-1234', appSecret: options.appSecret ?? fixtureSecret, graphApiVersion: 'v25.0' }, env.clock.now())
  return { ...env, channel, url: `/webhooks/whatsapp/${channel.publicId}`, ownerId: owner.id }
}

export function fixture (name: string): Buffer {
  return readFileSync(join(fixturesDir, name))
}

/** POSTs `body` to `url`; `signature` null sends no header, undefined the correct one for `secret`. */
export function deliver (env: { app: TestApp['app'] }, url: string, body: Buffer | object, signature?: string | string[] | null, headers: Record<string, string> = {}, secret = fixtureSecret) {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body))
  const sig = signature === undefined ? signatureHeader(bytes, secret) : signature
  return env.app.inject({ method: 'POST', url, payload: bytes, headers: { 'content-type': 'application/json', ...(sig === null ? {} : { 'x-hub-signature-256': sig as string }), ...headers } })
}

export interface Sender { waId?: string | null, userId?: string | null, name?: string | null, username?: string | null }

/** One `messages[]` item. `type` names the payload object, e.g. message('text', { body: 'hi' }). */
export function message (wamid: string, from: Sender, type: string, payload: unknown, extra: Record<string, unknown> = {}, timestamp = 1_789_200_000): Record<string, unknown> {
  return {
    ...(from.waId != null ? { from: from.waId } : {}),
    ...(from.userId != null ? { from_user_id: from.userId } : {}),
    id: wamid,
    timestamp: String(timestamp),
    type,
    ...(payload === undefined ? {} : { [type]: payload }),
    ...extra
  }
}

/** A `messages` change value for the fixtures' number with senders' profiles and the given items. */
export function messagesValue (senders: Sender[], items: { messages?: unknown[], statuses?: unknown[], errors?: unknown[] }, phoneNumberId = fixturePhoneNumberId): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550100100', phone_number_id: phoneNumberId },
    ...(senders.length > 0
      ? {
          contacts: senders.map(s => ({
            profile: { ...(s.name != null ? { name: s.name } : {}), ...(s.username != null ? { username: s.username } : {}) },
            ...(s.waId != null ? { wa_id: s.waId } : {}),
            ...(s.userId != null ? { user_id: s.userId } : {})
          }))
        }
      : {}),
    ...items
  }
}

/** A whole webhook body: entries of changes (field "messages" unless given). */
export function envelope (...changes: Array<Record<string, unknown> | { field: string, value: Record<string, unknown> }>): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: fixtureWaba, changes: changes.map(c => ('field' in c && 'value' in c) ? c : { value: c, field: 'messages' }) }]
  }
}

/** One `statuses[]` item. */
export function status (wamid: string, value: string, timestamp: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: wamid, status: value, timestamp: String(timestamp), recipient_id: '15550100111', ...extra }
}

/**
 * Prepares a data directory (database migrated with `masterKey`) holding one workspace with one
 * channel, for tests that run the real server as a process. Returns the channel.
 */
export async function seedChannelDataDir (dataDir: string, masterKey: string, options: { appSecret?: string } = {}): Promise<Channel> {
  const { withDataDir } = await import('./build-test-app.js')
  return await withDataDir(dataDir, masterKey, async (deps) => {
    const owner = await createUser(deps, { workspace: 'Shop' })
    return createChannel(deps.db, owner.workspaceId!, { name: 'Main number', wabaId: fixtureWaba, phoneNumberId: fixturePhoneNumberId, accessToken: 'EAAG-test-token-1234', appSecret: options.appSecret ?? fixtureSecret, graphApiVersion: 'v25.0' }, Date.now())
  })
}

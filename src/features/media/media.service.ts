// Media rules other features use: queueMedia (the webhook processor calls it in its transaction for
// every inbound image, video, audio/voice, document and sticker), the lookups the route needs, and the
// key-rotation pass over the files.
import { rm } from 'node:fs/promises'
import type { Db } from '../../db/open.js'
import type { Keyring } from '../../platform/crypto/index.js'
import { createSha256, DecryptError, newId } from '../../platform/crypto/index.js'
import { normaliseSha256 } from '../../platform/whatsapp/graph-client.js'
import { createMediaWriter, mediaFilePath, rewrapMediaFile } from './media.files.js'
import type { MediaKind } from './media.policy.js'
import { findMedia, insertMedia, storedMediaIds, type MediaRow } from './media.store.js'

export type { MediaRow }
export { findMedia }
export { mediaFilePath } from './media.files.js'

/** One media attachment of an inbound message, as the webhook processor knows it. */
export interface QueueMediaInput {
  workspaceId: string
  messageId: string
  channelId: string
  /** Meta's media id; null (a malformed webhook) makes the item fail at once. */
  graphMediaId: string | null
  kind: MediaKind
  mimeType: string | null
  /** The webhook's sha256 (base64; hex is accepted too); stored as lowercase hex, null when unusable. */
  sha256Base64: string | null
  /** The sender's document file name (encrypted at rest). */
  fileName: string | null
  /** Optional: the media row id (tests; the default is a new id). */
  id?: string
}

/**
 * Queues a media item for download (status pending, due now). Call inside the transaction that stores
 * the message, and after commit emit `media.queued` { workspaceId } so the worker looks at once.
 * Returns the media id.
 */
export function queueMedia (db: Db, row: QueueMediaInput, now: number): string {
  const missing = row.graphMediaId === null || row.graphMediaId.trim() === ''
  return insertMedia(db, {
    ...(row.id !== undefined ? { id: row.id } : {}),
    workspaceId: row.workspaceId,
    messageId: row.messageId,
    channelId: row.channelId,
    graphMediaId: missing ? null : row.graphMediaId!.slice(0, 200),
    kind: row.kind,
    mimeType: row.mimeType === null ? null : row.mimeType.slice(0, 200),
    sha256: normaliseSha256(row.sha256Base64) ?? null,
    fileName: row.fileName === null ? null : row.fileName.slice(0, 1000),
    status: missing ? 'failed' : 'pending',
    lastError: missing ? 'the webhook carried no media id: there is nothing to download' : null,
    nextAttemptAt: now,
    createdAt: now
  })
}

/** An attachment Weltra sends (the composer's upload), already written encrypted under its media id. */
export interface OutboundMediaFile {
  id: string
  size: number
  /** Lowercase hex SHA-256 of the plaintext. */
  sha256: string
  /** Inserts the media row (status `stored`, so the thread shows it at once) for `messageId`; call inside the transaction that stores the message. */
  insert: (db: Db, messageId: string) => void
  /** Removes the file again (the message was not stored after all: a duplicate send, a failed transaction). */
  discard: () => Promise<void>
}

/**
 * Stores the bytes of an outbound attachment like inbound media (encrypted under a new media id in
 * data/media), before its message is queued. The outbound worker uploads it to Meta from this copy.
 */
export async function storeOutboundMedia (deps: { dataDir: string, ring: Keyring }, input: { workspaceId: string, channelId: string, kind: MediaKind, mimeType: string, fileName: string | null, bytes: Uint8Array }, now: number): Promise<OutboundMediaFile> {
  const id = newId(now)
  const hash = createSha256()
  hash.update(input.bytes)
  const sha256 = hash.hex()
  const writer = await createMediaWriter(deps.dataDir, input.workspaceId, id, deps.ring)
  let size: number
  try {
    await writer.write(Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength))
    size = await writer.commit()
  } catch (err) {
    await writer.discard()
    throw err
  }
  return {
    id,
    size,
    sha256,
    insert (db, messageId) {
      insertMedia(db, {
        id,
        workspaceId: input.workspaceId,
        messageId,
        channelId: input.channelId,
        graphMediaId: null,
        kind: input.kind,
        mimeType: input.mimeType.slice(0, 200),
        sha256,
        fileName: input.fileName === null ? null : input.fileName.slice(0, 1000),
        size,
        status: 'stored',
        nextAttemptAt: now,
        createdAt: now,
        storedAt: now
      })
    },
    async discard () {
      await rm(mediaFilePath(deps.dataDir, input.workspaceId, id), { force: true })
    }
  }
}

export interface MediaRotationResult { rewrapped: number, current: number, missing: number, failed: Array<{ workspaceId: string, id: string }> }

/**
 * `weltra keys rotate` for media files: re-wraps each stored file's key under the current master key
 * (header only, chunks copied unchanged). Resumable; files already under the current key are skipped.
 * Files that no configured key opens are listed in `failed` (keep the previous key until resolved).
 */
export async function rewrapMediaFiles (db: Db, dataDir: string, ring: Keyring, onProgress?: (done: number) => void): Promise<MediaRotationResult> {
  const result: MediaRotationResult = { rewrapped: 0, current: 0, missing: 0, failed: [] }
  let after = ''
  let done = 0
  for (;;) {
    const batch = storedMediaIds(db, after, 200)
    if (batch.length === 0) break
    for (const m of batch) {
      try {
        result[await rewrapMediaFile(dataDir, m.workspaceId, m.id, ring)]++
      } catch (err) {
        if (!(err instanceof DecryptError)) throw err
        result.failed.push({ workspaceId: m.workspaceId, id: m.id })
      }
      done++
    }
    after = batch[batch.length - 1]!.id
    onProgress?.(done)
  }
  return result
}

// Media files on disk: <data_dir>/media/<workspace id>/<media id>, encrypted with the streaming format of
// platform/crypto/file-cipher.ts (64 KiB chunks, AES-256-GCM, a random per-file key wrapped by the
// HKDF sub-key "media-file" of the workspace, the header bound to "media/<workspace>/<id>"). Folders are
// 0700 and files 0600; a file is written under a temporary name, fsynced, renamed into place and the
// folder fsynced, so a crash never leaves a half file under the real name. Reads decrypt chunk by chunk
// and support byte ranges (only the chunks covering the range are read and authenticated).
import { constants as fsc } from 'node:fs'
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  createFileSealer, fileHeaderKeyId, fileHeaderLength, openFileHeader, randomToken, rewrapFileHeader, sealedFileLayout,
  type FileKeyScope, type Keyring
} from '../../platform/crypto/index.js'

const idPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/
const copyBlock = 1024 * 1024

/** The key scope of one media file: only this workspace's sub-key opens it, only under this id. */
export function mediaScope (workspaceId: string, mediaId: string): FileKeyScope {
  return { purpose: 'media-file', scope: workspaceId, context: `media/${workspaceId}/${mediaId}` }
}

/** The folder of a workspace's media files. Ids are checked so no path can be smuggled in. */
export function mediaFolder (dataDir: string, workspaceId: string): string {
  if (!idPattern.test(workspaceId)) throw new Error('not a workspace id')
  return join(dataDir, 'media', workspaceId)
}

/** The path of one media file. */
export function mediaFilePath (dataDir: string, workspaceId: string, mediaId: string): string {
  if (!idPattern.test(mediaId)) throw new Error('not a media id')
  return join(mediaFolder(dataDir, workspaceId), mediaId)
}

async function syncFolder (folder: string): Promise<void> {
  let fh: FileHandle | undefined
  try {
    fh = await open(folder, fsc.O_RDONLY | fsc.O_DIRECTORY)
    await fh.sync()
  } catch {
    // Some file systems cannot fsync a directory; the file itself was synced.
  } finally {
    await fh?.close()
  }
}

/** Writes one encrypted media file; nothing appears under the real name until commit(). */
export interface MediaWriter {
  write: (chunk: Buffer) => Promise<void>
  /** Seals the last chunk, fsyncs, renames into place. Returns the plaintext size. */
  commit: () => Promise<number>
  /** Removes the temporary file (safe to call after a failure, and more than once). */
  discard: () => Promise<void>
}

/** Starts writing the file of a media item (see the module comment). */
export async function createMediaWriter (dataDir: string, workspaceId: string, mediaId: string, ring: Keyring): Promise<MediaWriter> {
  const final = mediaFilePath(dataDir, workspaceId, mediaId)
  const folder = mediaFolder(dataDir, workspaceId)
  await mkdir(folder, { recursive: true, mode: 0o700 })
  const temp = join(folder, `.${mediaId}.${randomToken(6)}.tmp`)
  const fh = await open(temp, 'wx', 0o600)
  const sealer = createFileSealer(mediaScope(workspaceId, mediaId), ring)
  let size = 0
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await fh.close()
  }
  try {
    await fh.write(sealer.header)
  } catch (err) {
    await close().catch(() => {})
    await rm(temp, { force: true }).catch(() => {})
    throw err
  }
  return {
    async write (chunk) {
      size += chunk.length
      for (const sealed of sealer.update(chunk)) await fh.write(sealed)
    },
    async commit () {
      await fh.write(sealer.final())
      await fh.sync()
      await close()
      await rename(temp, final)
      await syncFolder(folder)
      return size
    },
    async discard () {
      await close().catch(() => {})
      await rm(temp, { force: true }).catch(() => {})
    }
  }
}

/** An opened media file: its plaintext size, and streams of any byte range. */
export interface MediaFile {
  readonly size: number
  /** Streams plaintext bytes start..end (inclusive); closes the file when done. */
  stream: (start: number, end: number) => Readable
  /** The first `n` plaintext bytes (or fewer), leaving the file open. */
  peek: (n: number) => Promise<Buffer>
  close: () => Promise<void>
}

/**
 * Opens a stored media file and authenticates its header (throws DecryptError for a file of another
 * workspace or id, or one no configured master key opens; ENOENT when it is missing).
 */
export async function openMediaFile (dataDir: string, workspaceId: string, mediaId: string, ring: Keyring): Promise<MediaFile> {
  const fh = await open(mediaFilePath(dataDir, workspaceId, mediaId), 'r')
  try {
    const { size: sealedSize } = await fh.stat()
    const header = Buffer.alloc(fileHeaderLength)
    await readExactly(fh, header, 0)
    const opener = openFileHeader(header, mediaScope(workspaceId, mediaId), ring)
    const layout = sealedFileLayout(sealedSize, opener.chunkSize)
    let closed = false
    const close = async (): Promise<void> => {
      if (closed) return
      closed = true
      await fh.close()
    }
    async function * chunks (start: number, end: number, closeAfter: boolean): AsyncGenerator<Buffer> {
      try {
        if (layout.plaintextSize === 0 || start > end) return
        const first = Math.floor(start / opener.chunkSize)
        const last = Math.min(layout.chunks - 1, Math.floor(end / opener.chunkSize))
        for (let i = first; i <= last; i++) {
          const offset = fileHeaderLength + i * opener.sealedChunkSize
          const sealed = Buffer.alloc(Math.min(opener.sealedChunkSize, sealedSize - offset))
          await readExactly(fh, sealed, offset)
          const plain = opener.openChunk(i, sealed, i === layout.chunks - 1)
          const base = i * opener.chunkSize
          yield plain.subarray(Math.max(0, start - base), Math.min(plain.length, end - base + 1))
        }
      } finally {
        if (closeAfter) await close()
      }
    }
    return {
      size: layout.plaintextSize,
      stream: (start, end) => Readable.from(chunks(start, end, true), { objectMode: false }),
      async peek (n) {
        const parts: Buffer[] = []
        for await (const part of chunks(0, Math.min(layout.plaintextSize, n) - 1, false)) parts.push(part)
        return Buffer.concat(parts)
      },
      close
    }
  } catch (err) {
    await fh.close()
    throw err
  }
}

async function readExactly (fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done)
    if (bytesRead === 0) throw Object.assign(new Error('media file is shorter than expected'), { code: 'ETRUNCATED' })
    done += bytesRead
  }
}

/**
 * Re-wraps a media file's key under the current master key (`weltra keys rotate`): the header is rewritten,
 * the chunks copied unchanged, through a temporary file and a rename. 'current': already under the
 * current key; 'missing': no such file. Throws DecryptError when no configured key opens it.
 */
export async function rewrapMediaFile (dataDir: string, workspaceId: string, mediaId: string, ring: Keyring): Promise<'rewrapped' | 'current' | 'missing'> {
  const path = mediaFilePath(dataDir, workspaceId, mediaId)
  let src: FileHandle
  try {
    src = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw err
  }
  const folder = mediaFolder(dataDir, workspaceId)
  const temp = join(folder, `.${mediaId}.${randomToken(6)}.rewrap`)
  let dst: FileHandle | undefined
  try {
    const header = Buffer.alloc(fileHeaderLength)
    await readExactly(src, header, 0)
    if (fileHeaderKeyId(header) === ring.current.id) return 'current'
    const fresh = rewrapFileHeader(header, mediaScope(workspaceId, mediaId), ring)
    dst = await open(temp, 'wx', 0o600)
    await dst.write(fresh)
    const block = Buffer.alloc(copyBlock)
    let position = fileHeaderLength
    for (;;) {
      const { bytesRead } = await src.read(block, 0, block.length, position)
      if (bytesRead === 0) break
      await dst.write(block.subarray(0, bytesRead))
      position += bytesRead
    }
    await dst.sync()
    await dst.close()
    dst = undefined
    await rename(temp, path)
    await syncFolder(folder)
    return 'rewrapped'
  } finally {
    await src.close()
    if (dst !== undefined) await dst.close().catch(() => {})
    await rm(temp, { force: true }).catch(() => {})
  }
}

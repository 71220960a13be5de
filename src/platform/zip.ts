// A streaming ZIP writer for exports (a contact's archive with its media, later a whole workspace):
// entries are written one after another as they come, never all in memory; each is deflated (level 1
// for media, which is already compressed, 6 for text) with its CRC-32 and sizes in a data descriptor
// after the data, so nothing needs to be known in advance; names are UTF-8 (flag bit 11).
// Limits: no ZIP64, so at most 65,535 entries and 4 GiB per entry and per archive (checked: a larger
// archive fails loudly instead of being written corrupt).
import { crc32, createDeflateRaw, constants as zc } from 'node:zlib'
import { Readable } from 'node:stream'

export interface ZipEntry {
  /** The path inside the archive ("media/photo.jpg"); "/" separated, no leading slash, no "..". */
  name: string
  data: Buffer | string | AsyncIterable<Buffer>
  /** Already compressed (images, video): deflate at level 1, just to satisfy the format cheaply. */
  compressed?: boolean
  modified?: Date
}

const u32max = 0xffffffff

function dosTime (d: Date): { time: number, date: number } {
  const year = Math.max(1980, d.getUTCFullYear())
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate()
  }
}

/** A safe entry name: no absolute path, no "..", no backslashes, no control characters. */
export function zipSafeName (name: string): string {
  // eslint-disable-next-line no-control-regex
  const parts = name.replace(/\\/g, '/').split('/').map(p => p.replace(/[\u0000-\u001f\u007f]/g, '').trim()).filter(p => p !== '' && p !== '.' && p !== '..')
  return parts.join('/').slice(0, 240) || 'file'
}

async function * deflated (data: ZipEntry['data'], level: number, onPlain: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  const deflate = createDeflateRaw({ level })
  const source = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Buffer.isBuffer(data) ? [data] : data
  const input = Readable.from((async function * () {
    for await (const chunk of source as AsyncIterable<Buffer> | Iterable<Buffer>) {
      onPlain(chunk)
      yield chunk
    }
  })())
  input.pipe(deflate)
  input.on('error', (err) => deflate.destroy(err))
  for await (const out of deflate) yield out as Buffer
}

/** The archive as a stream of buffers. */
export async function * zipStream (entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>): AsyncGenerator<Buffer> {
  const central: Buffer[] = []
  let offset = 0
  let count = 0
  for await (const entry of entries) {
    if (++count > 0xffff) throw new Error('zip: more than 65,535 entries')
    const name = Buffer.from(zipSafeName(entry.name), 'utf8')
    const { time, date } = dosTime(entry.modified ?? new Date())
    const flags = 0x0808
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(flags, 6)
    local.writeUInt16LE(8, 8)
    local.writeUInt16LE(time, 10)
    local.writeUInt16LE(date, 12)
    local.writeUInt16LE(name.length, 26)
    const start = offset
    yield local
    yield name
    offset += local.length + name.length
    let crc = 0
    let size = 0
    let csize = 0
    for await (const out of deflated(entry.data, entry.compressed === true ? zc.Z_BEST_SPEED : 6, (c) => { crc = crc32(c, crc); size += c.length })) {
      csize += out.length
      yield out
    }
    if (size > u32max || csize > u32max || offset + csize > u32max) throw new Error('zip: larger than 4 GiB (ZIP64 is not supported)')
    const descriptor = Buffer.alloc(16)
    descriptor.writeUInt32LE(0x08074b50, 0)
    descriptor.writeUInt32LE(crc >>> 0, 4)
    descriptor.writeUInt32LE(csize, 8)
    descriptor.writeUInt32LE(size, 12)
    yield descriptor
    offset += csize + descriptor.length
    const header = Buffer.alloc(46)
    header.writeUInt32LE(0x02014b50, 0)
    header.writeUInt16LE((3 << 8) | 20, 4) // made by: Unix, 2.0
    header.writeUInt16LE(20, 6)
    header.writeUInt16LE(flags, 8)
    header.writeUInt16LE(8, 10)
    header.writeUInt16LE(time, 12)
    header.writeUInt16LE(date, 14)
    header.writeUInt32LE(crc >>> 0, 16)
    header.writeUInt32LE(csize, 20)
    header.writeUInt32LE(size, 24)
    header.writeUInt16LE(name.length, 28)
    header.writeUInt32LE((0o100644 << 16) >>> 0, 38) // a regular file, rw-r--r--
    header.writeUInt32LE(start, 42)
    central.push(header, name)
  }
  const cd = Buffer.concat(central)
  if (offset + cd.length > u32max) throw new Error('zip: larger than 4 GiB (ZIP64 is not supported)')
  yield cd
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(count, 8)
  end.writeUInt16LE(count, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  yield end
}

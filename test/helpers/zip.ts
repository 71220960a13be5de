// Reading the ZIP archives Weltra writes (src/platform/zip.ts), in tests: every entry through the
// central directory, inflated, with its CRC-32 checked.
import { crc32, inflateRawSync } from 'node:zlib'

export function unzip (zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  const count = zip.readUInt16LE(end + 10)
  let at = zip.readUInt32LE(end + 16)
  const out = new Map<string, Buffer>()
  for (let i = 0; i < count; i++) {
    const crc = zip.readUInt32LE(at + 16)
    const csize = zip.readUInt32LE(at + 20)
    const nameLength = zip.readUInt16LE(at + 28)
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8')
    const local = zip.readUInt32LE(at + 42)
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
    const data = inflateRawSync(zip.subarray(dataAt, dataAt + csize))
    if (crc32(data) !== crc) throw new Error(`bad CRC for ${name}`)
    out.set(name, data)
    at += 46 + nameLength
  }
  return out
}

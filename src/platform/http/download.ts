// Sending a generated file as a download: attachment, never cached, never sniffed.
import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'

/** `file.fileName` must be ASCII without quotes (it goes into the header as it is). */
export function sendDownload (reply: FastifyReply, type: string, file: { fileName: string, stream: AsyncIterable<Buffer | string> | Iterable<Buffer | string> }): FastifyReply {
  return reply
    .type(type)
    .header('content-disposition', `attachment; filename="${file.fileName}"`)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(Readable.from(file.stream))
}

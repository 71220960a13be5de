// A customer's right of access: everything the workspace holds about one contact, as a portable ZIP
// (issue 9): contact.json (the API's contact record and its timeline), conversations.json,
// messages.json (every message, the team's private notes about them included, oldest first),
// messages.csv (the same for a spreadsheet, cells neutralised against formulas) and media/ with each
// stored file, decrypted. Contacts merged into this one are part of it. Streamed: files are read and
// compressed as the download goes. One audit entry per archive (ids and counts only).
import type { Deps } from '../../deps.js'
import { NotFoundError } from '../../platform/http/errors.js'
import { openMediaFile } from '../media/media.files.js'
import { zipStream, zipSafeName, type ZipEntry } from '../../platform/zip.js'
import { recordAudit } from '../audit/audit.service.js'
import { conversationJson, messageJson } from '../inbox/inbox.api.js'
import { conversationRecords, messageRecords } from '../inbox/inbox-records.service.js'
import { conversationMessages, tracesOfContacts } from '../inbox/messaging.service.js'
import { contactJson } from './contact-json.js'
import { contactRecords } from './contact-records.service.js'
import { contactTimeline } from './contact-events.store.js'
import { csvLine, utf8Bom } from './csv.js'
import { contactFamily } from './tombstones.store.js'

export interface ArchiveActor { userId: string | null, workspaceId: string, ip?: string | undefined, apiKeyId?: string | undefined }

type ArchiveDeps = Pick<Deps, 'db' | 'clock' | 'dataDir' | 'ring'>

const readme = `This archive holds everything this workspace keeps about one person (a WhatsApp contact):

  contact.json        the contact: names, WhatsApp number, other numbers, emails, labels, notes,
                      consent and custom fields, and its timeline (what changed, when)
  conversations.json  each conversation with them
  messages.json       every message, oldest first, with its delivery state; the team's private
                      notes about them are included (direction "note")
  messages.csv        the same messages as a spreadsheet
  media/              the files they sent and were sent (images, audio, documents, ...)

Times are in UTC (ISO 8601). The JSON records have the same fields as the Weltra REST API.
`

/** "contact-<id>-2026-11-25.zip" (ASCII only: it goes in a header as it is). */
export function archiveFileName (contactId: string, now: number): string {
  return `contact-${contactId}-${new Date(now).toISOString().slice(0, 10)}.zip`
}

/** The archive of a contact of the workspace (another workspace's or an unknown id: 404), as a byte stream. */
export function contactArchive (deps: ArchiveDeps, actor: ArchiveActor, contactId: string): { fileName: string, stream: AsyncGenerator<Buffer> } {
  const ws = actor.workspaceId
  const family = contactFamily(deps.db, ws, contactId)
  const record = contactRecords(deps.db, ws, [contactId])[0]
  if (family.length === 0 || record === undefined) throw new NotFoundError()
  const now = deps.clock.now()
  const ids = family.map(c => c.id)
  const traces = tracesOfContacts(deps.db, ws, ids)
  const conversations = conversationRecords(deps.db, ws, traces.conversationIds, now)
  const messages = conversations.flatMap(c => messageRecords(deps.db, ws, conversationMessages(deps.db, ws, c.row.id)))
  const timeline = ids.flatMap(id => contactTimeline(deps.db, ws, id, { limit: 100_000 })).map(e => ({ kind: e.kind, at: new Date(e.at).toISOString(), data: e.data === null ? null : JSON.parse(e.data) as unknown }))
  const media = messages.flatMap(m => m.media === null || !m.media.stored ? [] : [{ messageId: m.row.id, ...m.media }])
  deps.db.transaction((db) => {
    recordAudit(db, {
      action: 'contact_exported',
      workspaceId: ws,
      actorUserId: actor.userId ?? undefined,
      details: { contactId, messages: messages.length, files: media.length, ...(actor.apiKeyId !== undefined ? { apiKeyId: actor.apiKeyId } : {}) },
      ip: actor.ip
    }, now)
  })
  const modified = new Date(now)
  async function * entries (): AsyncGenerator<ZipEntry> {
    yield { name: 'README.txt', data: readme, modified }
    yield { name: 'contact.json', data: JSON.stringify({ ...contactJson(record!), timeline }, null, 2), modified }
    yield { name: 'conversations.json', data: JSON.stringify(conversations.map(conversationJson), null, 2), modified }
    yield { name: 'messages.json', data: JSON.stringify(messages.map(messageJson), null, 2), modified }
    const csv = [utf8Bom + csvLine(['conversation_id', 'time', 'direction', 'type', 'text', 'status', 'file'])]
    for (const m of messages) csv.push(csvLine([m.row.conversationId, new Date(m.row.timestamp).toISOString(), m.row.direction, m.row.type, m.text ?? '', m.row.status, m.media?.fileName ?? '']))
    yield { name: 'messages.csv', data: csv.join(''), modified }
    for (const m of media) {
      let file
      try {
        file = await openMediaFile(deps.dataDir, ws, m.id, deps.ring)
      } catch {
        continue // missing or unreadable: the message's record still says it had a file
      }
      const ext = (m.mimeType ?? '').split('/')[1]?.split(';')[0]?.replace(/[^a-z0-9]/gi, '').slice(0, 8) ?? ''
      const name = m.fileName !== null ? zipSafeName(m.fileName).replace(/\//g, '_') : `${m.kind}${ext === '' ? '' : '.' + ext}`
      yield { name: `media/${m.messageId}-${name}`, data: file.size === 0 ? Buffer.alloc(0) : file.stream(0, file.size - 1), compressed: true, modified }
    }
  }
  return { fileName: archiveFileName(contactId, now), stream: zipStream(entries()) }
}

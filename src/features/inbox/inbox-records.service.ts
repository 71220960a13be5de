// Conversations and messages as whole records, for the public API: a conversation with its contact,
// assignee, labels and 24-hour window; a message with its body as WhatsApp described it, its media (no
// Meta ids), and its delivery state. Read a page at a time with one query per kind.
import type { Db } from '../../db/open.js'
import { contactsByIds, type Contact } from '../contacts/contacts.service.js'
import { userNames } from '../workspaces/workspaces.service.js'
import { conversationsIn, labelsOfConversations, mediaOfMessages, type ConversationRow, type MessageRow } from './conversations.store.js'
import { windowState } from './conversations.service.js'
import { readContent } from './messaging.service.js'

export interface ConversationRecord {
  row: ConversationRow
  contact: Pick<Contact, 'id' | 'name' | 'profileName' | 'username' | 'waId'> | undefined
  assigneeName: string | null
  labels: Array<{ id: string, name: string }>
  window: { state: 'open' | 'closing' | 'closed' | 'none', closesAt: number | null }
}

/** The conversations among `ids` (of the workspace), in the order of `ids`. */
export function conversationRecords (db: Db, workspaceId: string, ids: string[], now: number): ConversationRecord[] {
  const rows = new Map(conversationsIn(db, workspaceId, ids).map(c => [c.id, c]))
  const found = ids.flatMap(id => { const r = rows.get(id); return r === undefined ? [] : [r] })
  const contacts = new Map(contactsByIds(db, workspaceId, [...new Set(found.map(r => r.contactId))], { withRetired: true }).map(c => [c.id, c]))
  const names = userNames(db, found.flatMap(r => r.assigneeId === null ? [] : [r.assigneeId]))
  const labels = labelsOfConversations(db, workspaceId, found.map(r => r.id))
  return found.map(row => ({
    row,
    contact: contacts.get(row.contactId),
    assigneeName: row.assigneeId === null ? null : names.get(row.assigneeId) ?? null,
    labels: (labels.get(row.id) ?? []).map(l => ({ id: l.id, name: l.name })),
    window: windowState(row, now)
  }))
}

export interface MessageRecord {
  row: MessageRow
  /** The body as WhatsApp described it (SPEC), media references replaced by `media`. */
  body: Record<string, unknown>
  /** The text a person reads: the text, a caption, a button's label; null when there is none. */
  text: string | null
  media: { id: string, kind: string, mimeType: string | null, fileName: string | null, size: number | null, stored: boolean } | null
}

function textOf (body: Record<string, unknown>): string | null {
  for (const key of ['text', 'caption', 'body']) if (typeof body[key] === 'string') return body[key]
  const reply = body.reply as { title?: unknown } | undefined
  return typeof reply?.title === 'string' ? reply.title : null
}

/** Messages as records (their media read in one query). */
export function messageRecords (db: Db, workspaceId: string, rows: MessageRow[]): MessageRecord[] {
  const media = mediaOfMessages(db, workspaceId, rows.map(r => r.id))
  return rows.map(row => {
    const { media: _internal, ...body } = readContent(row).body as Record<string, unknown>
    const m = media.get(row.id)
    return {
      row,
      body: row.revokedAt !== null ? { type: 'revoked' } : body,
      text: row.revokedAt !== null ? null : textOf(body),
      media: m === undefined || row.revokedAt !== null ? null : { id: m.id, kind: m.kind, mimeType: m.mimeType, fileName: m.fileName, size: m.size, stored: m.status === 'stored' }
    }
  })
}

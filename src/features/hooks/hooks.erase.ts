// Outgoing webhooks and erasure (a contact forgotten on request): the queued events and deliveries
// that carry the person's records go too. Kept apart from hooks.service.ts, which builds payloads from
// the other features' records (and so cannot be imported by them).
import { sql } from 'drizzle-orm'
import type { Db } from '../../db/open.js'
import { eraseMentions } from '../../db/erase-mentions.js'

/** Erasure: deletes queued events and deliveries (waiting or logged) whose payload mentions any id. */
export function eraseDeliveriesMentioning (db: Db, workspaceId: string, ids: readonly string[]): number {
  for (const id of ids) db.run(sql`DELETE FROM webhook_queue WHERE workspace_id = ${workspaceId} AND instr(subject, ${id}) > 0`)
  return eraseMentions(db, workspaceId, { table: 'webhook_deliveries', column: 'payload' }, ids)
}

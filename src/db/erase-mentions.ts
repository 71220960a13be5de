// Finding what an encrypted column says about someone: the values are sealed, so SQL cannot search
// them; erasure opens them a batch at a time and deletes the rows that mention any of the needles
// (a phone number, a user id, a message id). Used when a contact is forgotten, for the stored copies
// that are not linked by a foreign key: raw webhook payloads and outgoing webhook deliveries.
import { sql } from 'drizzle-orm'
import type { Db } from './open.js'
import { open } from '../platform/crypto/index.js'

export interface MentionScan {
  /** SQL names: the table, its sealed column (AAD "<table>.<column>"), and how to read it. */
  table: string
  column: string
  /** Turns the opened text into what the needles are searched in (e.g. base64 → bytes → UTF-8). */
  decode?: (opened: string) => string
}

/**
 * Deletes the workspace's rows of `scan.table` (every row when `workspaceId` is null: a table of the
 * instance, such as the mail outbox) whose sealed column mentions any needle; returns how many. Needles shorter than 6 characters are ignored (they would match by chance). Reads 500 rows at
 * a time by rowid, each batch deleted in its own transaction.
 */
export function eraseMentions (db: Db, workspaceId: string | null, scan: MentionScan, needles: readonly string[]): number {
  const wanted = [...new Set(needles.filter(n => n.length >= 6))]
  if (wanted.length === 0) return 0
  const table = sql.identifier(scan.table)
  const column = sql.identifier(scan.column)
  const aad = `${scan.table}.${scan.column}`
  let after = 0
  let erased = 0
  for (;;) {
    const scope = workspaceId === null ? sql`1 = 1` : sql`workspace_id = ${workspaceId}`
    const rows = db.all<{ rowid: number, value: string }>(sql`SELECT rowid, ${column} AS value FROM ${table} WHERE ${scope} AND rowid > ${after} ORDER BY rowid LIMIT 500`)
    if (rows.length === 0) return erased
    after = rows[rows.length - 1]!.rowid
    const hits: number[] = []
    for (const r of rows) {
      let text: string
      try {
        const opened = open(r.value, aad)
        text = scan.decode === undefined ? opened : scan.decode(opened)
      } catch {
        continue // unreadable with the keys at hand: nothing can be said about it
      }
      if (wanted.some(n => text.includes(n))) hits.push(r.rowid)
    }
    if (hits.length > 0) {
      db.transaction((tx) => {
        for (let i = 0; i < hits.length; i += 200) tx.run(sql`DELETE FROM ${table} WHERE ${scope} AND rowid IN (${sql.join(hits.slice(i, i + 200).map(h => sql`${h}`), sql`, `)})`)
      }, { behavior: 'immediate' })
      erased += hits.length
    }
  }
}

// Every table of Weltra, grouped by feature. drizzle-kit reads this file to generate migrations/
// (`npm run db:generate -- --name <what>`); generated SQL is reviewed, committed and never edited.
// SQL names are snake_case (drizzle `casing`), TypeScript names camelCase.
import { sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { timestampMs } from './columns.js'

// ── instance ──────────────────────────────────────────────────────────────
/** Instance-wide facts: the master key check value, the sealed blind-index root, the schema owner. */
export const meta = sqliteTable('meta', {
  key: text().primaryKey(),
  value: text().notNull(),
  updatedAt: timestampMs().notNull()
})

// Column types with behaviour. The only place where columns do anything special:
// - encryptedText(aad): sealed with AES-256-GCM on write, opened on read, so stores never see ciphertext.
//   The AAD must be "<table>.<column>" (SQL names): `weltra keys rotate` finds sealed columns by it.
// - id(): a time-sortable random id primary key; timestampMs(): integer milliseconds since the epoch.
import { customType, integer, text } from 'drizzle-orm/sqlite-core'
import { newId, open, seal } from '../platform/crypto/index.js'

const registry = new Set<string>()

/** A text column whose value is encrypted at rest; `aad` is "<table>.<column>". */
export function encryptedText (aad: string) {
  if (!/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(aad)) throw new Error(`encryptedText: AAD must be "table.column" (got ${aad})`)
  registry.add(aad)
  return customType<{ data: string, driverData: string }>({
    dataType: () => 'text',
    toDriver: (value) => seal(value, aad),
    fromDriver: (value) => open(value, aad)
  })()
}

/** Every encrypted column declared so far, as { table, column } SQL names. */
export function encryptedColumns (): Array<{ table: string, column: string }> {
  return [...registry].map(aad => {
    const [table, column] = aad.split('.') as [string, string]
    return { table, column }
  })
}

/** Primary key: a 26-character time-sortable random id, generated when not given. */
export const id = () => text().primaryKey().$defaultFn(() => newId())

/** Milliseconds since the epoch. */
export const timestampMs = () => integer()

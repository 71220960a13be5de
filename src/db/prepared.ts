// Prepared drizzle statements for hot paths (webhook processing), made once per database handle and
// reused. An unprepared drizzle query rebuilds its SQL text and SQLite recompiles it on every call:
// ~100–250 µs for a select * on a wide table, against ~10–20 µs to bind and step a prepared one.
// Writes whose columns vary by call (`set`, `values`) get one statement per combination of columns.
import { getTableColumns, sql, type SQL, type Table } from 'drizzle-orm'

const caches = new WeakMap<object, Map<string, unknown>>()

/** The statement `make` builds for `key` on this handle (a database or a transaction), made on first use. */
export function prepared<T> (db: object, key: string, make: () => T): T {
  let cache = caches.get(db)
  if (cache === undefined) { cache = new Map(); caches.set(db, cache) }
  let statement = cache.get(key) as T | undefined
  if (statement === undefined) { statement = make(); cache.set(key, statement) }
  return statement
}

/** A named placeholder, typed as the value it stands for (so it fits `set`, `values` and `eq`). */
export function ph<T = string> (name: string): T {
  return sql.placeholder(name) as unknown as T
}

function bindable (value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
}

/**
 * The columns a prepared write binds: the keys of `values` that are set (undefined ones are skipped,
 * as drizzle does), sorted; null ones are marked `key=null` and written as a constant NULL (drizzle
 * passes a bound value through the column's encoder, which must not see null: an encrypted column
 * would try to seal it). Undefined when a value is not plain (an SQL expression, an object): then the
 * caller takes the unprepared path. Join them for the statement's cache key.
 */
export function plainKeys (values: Record<string, unknown>): string[] | undefined {
  const keys: string[] = []
  for (const k in values) {
    const v = values[k]
    if (v === undefined) continue
    if (!bindable(v)) return undefined
    keys.push(v === null ? `${k}=null` : k)
  }
  return keys.sort()
}

/** The `set` or `values` of a prepared write over `keys` (from plainKeys): a placeholder per column, or NULL. */
export function placeholders<T = Record<string, never>> (keys: readonly string[]): T {
  const out: Record<string, unknown> = {}
  for (const k of keys) {
    if (k.endsWith('=null')) out[k.slice(0, -5)] = null
    else out[k] = sql.placeholder(k)
  }
  return out as T
}

/**
 * The values of a row to insert, with every column default computed in JS ($defaultFn, e.g. ids)
 * filled in now: a prepared insert must not bake the value computed when it was built.
 * Undefined when a value is not plain (the caller takes the unprepared path).
 */
export function insertValues (table: Table, row: Record<string, unknown>): { keys: string[], values: Record<string, unknown> } | undefined {
  const values: Record<string, unknown> = {}
  for (const [name, column] of Object.entries(getTableColumns(table))) {
    let v = row[name]
    if (v === undefined && column.defaultFn !== undefined) v = column.defaultFn()
    if (v === undefined && column.onUpdateFn !== undefined) v = column.onUpdateFn()
    if (v !== undefined) values[name] = v
  }
  const keys = plainKeys(values)
  return keys === undefined ? undefined : { keys, values }
}

/**
 * `column IN (the ids of a JSON array bound to placeholder name)`: one prepared statement for any
 * number of ids (bind JSON.stringify(ids)); SQLite still probes the column's index for each id.
 */
export function inJsonList (column: unknown, name: string): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${sql.placeholder(name)}))`
}

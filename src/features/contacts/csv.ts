// CSV in and out, written here rather than taken from a dependency (the whole job is ~300 lines and
// the limits below are the point). RFC 4180: fields separated by a delimiter, records by CRLF or LF
// (a lone CR too), a field in double quotes may hold delimiters, line breaks and doubled quotes ("").
// Lenient where spreadsheets are sloppy (a quote inside an unquoted field is kept as text; text right
// after a closing quote is appended), strict where a mistake would silently shift data (a quote that
// never closes).
//
// Reading: bytes are decoded first — UTF-8 with or without BOM, UTF-16 LE/BE with BOM (or plainly
// UTF-16 by its zero bytes), else Windows-1252 when the bytes are not valid UTF-8 (what Excel on
// Windows writes as "CSV"). The delimiter (comma, semicolon or tab) is guessed from the header line.
// Limits, each refused with a message that says what to fix: the file size, NUL characters, a record
// over 1 MB, more than 200 columns, more than 1,000,000 rows, unbalanced quotes (with the line).
// CsvReader is push-based (feed chunks, take records), so a stream never needs the whole file.
//
// Writing: every cell that a spreadsheet would run as a formula — starting with = + - @ tab or CR —
// gets a leading apostrophe (OWASP "CSV injection", ASVS 1.2.10); cells with the delimiter, quotes or
// line breaks are quoted. `unneutralise` undoes the apostrophe on import, so an export re-imports as is.

export const csvMaxBytes = 50 * 1024 * 1024
export const csvMaxRows = 1_000_000
export const csvMaxColumns = 200
/** The longest record (one line, or several when a quoted field holds line breaks), in characters. */
export const csvMaxRecordChars = 1024 * 1024

export type CsvEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252'
export type CsvDelimiter = ',' | ';' | '\t'

export type CsvProblem =
  | 'empty' | 'too_large' | 'nul' | 'unbalanced_quotes' | 'record_too_long' | 'too_many_columns' | 'too_many_rows' | 'no_header'

/**
 * Why a file cannot be read. `key` is the catalogue key of the message (csv.errors.<code>), `params`
 * fill it (line numbers, limits); `message` is the English text for logs and tests.
 */
export class CsvError extends Error {
  override name = 'CsvError'
  readonly key: string
  constructor (readonly code: CsvProblem, readonly params: Record<string, number> = {}) {
    super(englishMessage(code, params))
    this.key = `csv.errors.${code}`
  }
}

function englishMessage (code: CsvProblem, p: Record<string, number>): string {
  switch (code) {
    case 'empty': return 'The file is empty.'
    case 'too_large': return `The file is larger than ${p.maxMb} MB. Split it into smaller files.`
    case 'nul': return `Line ${p.line} contains a NUL character: this does not look like a text (CSV) file.`
    case 'unbalanced_quotes': return `The quote opened on line ${p.line} is not closed (within 1 MB).`
    case 'record_too_long': return `Line ${p.line} is longer than 1 MB.`
    case 'too_many_columns': return `Line ${p.line} has more than ${p.max} columns.`
    case 'too_many_rows': return `The file has more than ${p.max} rows. Split it into smaller files.`
    case 'no_header': return 'The first line must name the columns.'
  }
}

export interface DecodedCsv { text: string, encoding: CsvEncoding }

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const cp1252 = new TextDecoder('windows-1252')

/** Whether most odd (or even) bytes of the start are zero: UTF-16 text of mostly Latin letters without a BOM. */
function zeroBytesSay (bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  const n = Math.min(bytes.length - (bytes.length % 2), 4096)
  if (n < 4) return undefined
  let evenZero = 0
  let oddZero = 0
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZero++
    if (bytes[i + 1] === 0) oddZero++
  }
  const pairs = n / 2
  if (oddZero > pairs * 0.4 && evenZero === 0) return 'utf-16le'
  if (evenZero > pairs * 0.4 && oddZero === 0) return 'utf-16be'
  return undefined
}

/** Decodes a file's bytes to text (without the BOM), refusing oversize or empty files. */
export function decodeCsv (bytes: Uint8Array, maxBytes = csvMaxBytes): DecodedCsv {
  if (bytes.length > maxBytes) throw new CsvError('too_large', { maxMb: Math.round(maxBytes / 1024 / 1024) })
  let encoding: CsvEncoding
  let text: string
  if (bytes[0] === 0xFF && bytes[1] === 0xFE) {
    encoding = 'utf-16le'
    text = new TextDecoder('utf-16le').decode(bytes.subarray(2))
  } else if (bytes[0] === 0xFE && bytes[1] === 0xFF) {
    encoding = 'utf-16be'
    text = new TextDecoder('utf-16be').decode(bytes.subarray(2))
  } else {
    const start = bytes[0] === 0xEF && bytes[1] === 0xBB && bytes[2] === 0xBF ? 3 : 0
    const wide = start === 0 ? zeroBytesSay(bytes) : undefined
    if (wide !== undefined) {
      encoding = wide
      text = new TextDecoder(wide).decode(bytes)
    } else {
      try {
        text = utf8.decode(bytes.subarray(start))
        encoding = 'utf-8'
      } catch {
        text = cp1252.decode(bytes)
        encoding = 'windows-1252'
      }
    }
  }
  if (text.trim() === '') throw new CsvError('empty')
  return { text, encoding }
}

/** The delimiter of a file from its first line (outside quotes): the most frequent of , ; and tab (comma on a tie). */
export function detectDelimiter (text: string): CsvDelimiter {
  const counts = { ',': 0, ';': 0, '\t': 0 }
  let quoted = false
  for (let i = 0; i < text.length && i < csvMaxRecordChars; i++) {
    const c = text[i]
    if (c === '"') quoted = !quoted
    else if (!quoted && (c === '\n' || c === '\r')) break
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) counts[c]++
  }
  let best: CsvDelimiter = ','
  for (const d of [';', '\t'] as const) if (counts[d] > counts[best]) best = d
  return best
}

export interface CsvRecord {
  fields: string[]
  /** The physical line the record starts on (1-based; the header is line 1). */
  line: number
}

export interface CsvReaderOptions {
  delimiter: CsvDelimiter
  maxColumns?: number
  /** Records after which the file is refused (the header included). */
  maxRecords?: number
  maxRecordChars?: number
}

const QUOTE = 34
const LF = 10
const CR = 13

/**
 * A push parser: `push(chunk)` returns the records completed by that chunk, `end()` the last one.
 * Blank lines are skipped. Throws CsvError on the limits above.
 */
export class CsvReader {
  private readonly delimiter: number
  private readonly maxColumns: number
  private readonly maxRecords: number
  private readonly maxRecordChars: number
  private buffer = ''
  /** The line the unread part of the buffer starts on. */
  private line = 1
  private records = 0
  private lastWasCr = false

  constructor (options: CsvReaderOptions) {
    this.delimiter = options.delimiter.charCodeAt(0)
    this.maxColumns = options.maxColumns ?? csvMaxColumns
    this.maxRecords = options.maxRecords ?? csvMaxRows + 1
    this.maxRecordChars = options.maxRecordChars ?? csvMaxRecordChars
  }

  push (chunk: string): CsvRecord[] {
    this.buffer += chunk
    return this.drain(false)
  }

  end (): CsvRecord[] {
    return this.drain(true)
  }

  private drain (final: boolean): CsvRecord[] {
    const out: CsvRecord[] = []
    const text = this.buffer
    let pos = 0
    while (pos < text.length) {
      // A CRLF split across chunks: the LF of a CR already taken.
      if (this.lastWasCr && text.charCodeAt(pos) === LF) { pos++; this.lastWasCr = false; continue }
      this.lastWasCr = false
      const parsed = this.record(text, pos, final)
      if (parsed === undefined) break
      pos = parsed.next
      if (parsed.fields !== undefined) {
        if (++this.records > this.maxRecords) throw new CsvError('too_many_rows', { max: this.maxRecords - 1 })
        out.push({ fields: parsed.fields, line: parsed.line })
      }
    }
    this.buffer = text.slice(pos)
    if (!final && this.buffer.length > this.maxRecordChars) {
      throw new CsvError(this.openQuote(this.buffer) ? 'unbalanced_quotes' : 'record_too_long', { line: this.line })
    }
    return out
  }

  /** Whether a partial record ends inside quotes. */
  private openQuote (partial: string): boolean {
    let quoted = false
    let fieldStart = true
    for (let i = 0; i < partial.length; i++) {
      const c = partial.charCodeAt(i)
      if (c === QUOTE) { if (fieldStart || quoted) quoted = !quoted }
      fieldStart = !quoted && (c === this.delimiter || c === LF || c === CR)
    }
    return quoted
  }

  /**
   * One record from `pos`: its fields (undefined for a blank line) and where the next one starts, or
   * undefined when the record is not complete yet (more chunks needed).
   */
  private record (text: string, pos: number, final: boolean): { fields: string[] | undefined, next: number, line: number } | undefined {
    const startLine = this.line
    let lines = 0
    const fields: string[] = []
    let i = pos
    const n = text.length
    const delimiter = this.delimiter
    for (;;) {
      // One field from i.
      if (i - pos > this.maxRecordChars) throw new CsvError('record_too_long', { line: startLine })
      if (i < n && text.charCodeAt(i) === QUOTE) {
        let value = ''
        let j = i + 1
        for (;;) {
          const q = text.indexOf('"', j)
          if (q === -1) {
            if (!final) return undefined
            throw new CsvError('unbalanced_quotes', { line: startLine + lines })
          }
          value += text.slice(j, q)
          if (q + 1 < n && text.charCodeAt(q + 1) === QUOTE) { value += '"'; j = q + 2; continue }
          if (q + 1 >= n && !final) return undefined
          j = q + 1
          break
        }
        // Line breaks inside the quotes count for the line numbers of what follows.
        lines += countBreaks(text, i, j)
        // Text after the closing quote (e.g. `"a"b`) is kept.
        let k = j
        while (k < n) {
          const c = text.charCodeAt(k)
          if (c === delimiter || c === LF || c === CR) break
          k++
        }
        if (k === n && !final) return undefined
        if (k > j) value += text.slice(j, k)
        i = k
        fields.push(value)
      } else {
        let k = i
        while (k < n) {
          const c = text.charCodeAt(k)
          if (c === delimiter || c === LF || c === CR) break
          k++
        }
        if (k === n && !final) return undefined
        fields.push(text.slice(i, k))
        i = k
      }
      if (fields.length > this.maxColumns) throw new CsvError('too_many_columns', { line: startLine + lines, max: this.maxColumns })
      if (i >= n) break
      const c = text.charCodeAt(i)
      if (c === delimiter) { i++; if (i >= n && !final) return undefined; continue }
      // End of the record: CRLF, LF or CR.
      i++
      lines++
      if (c === CR) {
        if (i < n) { if (text.charCodeAt(i) === LF) i++ } else this.lastWasCr = true
      }
      break
    }
    if (i - pos > this.maxRecordChars) throw new CsvError('record_too_long', { line: startLine })
    this.line = startLine + lines
    const blank = fields.length === 1 && fields[0] === ''
    return { fields: blank ? undefined : fields, next: i, line: startLine }
  }
}

function countBreaks (text: string, from: number, to: number): number {
  let lines = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c === LF) lines++
    else if (c === CR && text.charCodeAt(i + 1) !== LF) lines++
  }
  return lines
}

/** The line (1-based) of a character offset. */
function lineOf (text: string, offset: number): number {
  let line = 1
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++
  return line
}

const chunkChars = 256 * 1024

/**
 * Every record of a decoded text, lazily (the header first). Checks for NUL up front (with its line).
 * Throws CsvError while iterating when a limit is crossed.
 */
export function * csvRecords (text: string, options: Partial<CsvReaderOptions> = {}): Generator<CsvRecord> {
  const nul = text.indexOf('\0')
  if (nul !== -1) throw new CsvError('nul', { line: lineOf(text, nul) })
  const reader = new CsvReader({ ...options, delimiter: options.delimiter ?? detectDelimiter(text) })
  for (let at = 0; at < text.length; at += chunkChars) {
    yield * reader.push(text.slice(at, at + chunkChars))
  }
  yield * reader.end()
}

export interface CsvSummary {
  delimiter: CsvDelimiter
  header: string[]
  /** Data rows (records after the header). */
  rows: number
}

/**
 * Reads a whole decoded file once to check every limit: the header (trimmed names; at least one
 * non-empty) and the row count. Throws CsvError.
 */
export function inspectCsv (text: string, options: { maxRows?: number, maxColumns?: number } = {}): CsvSummary {
  const delimiter = detectDelimiter(text)
  let header: string[] | undefined
  let rows = 0
  for (const record of csvRecords(text, { delimiter, maxRecords: (options.maxRows ?? csvMaxRows) + 1, maxColumns: options.maxColumns ?? csvMaxColumns })) {
    if (header === undefined) header = record.fields.map(h => h.trim())
    else rows++
  }
  if (header === undefined) throw new CsvError('empty')
  if (header.every(h => h === '')) throw new CsvError('no_header')
  return { delimiter, header, rows }
}

const formulaStart = /^[=+\-@\t\r]/

/** A cell as a spreadsheet must show it: text, never a formula (a leading apostrophe when needed). */
export function neutralise (value: string): string {
  return formulaStart.test(value) ? `'${value}` : value
}

/** Undoes `neutralise` (for re-importing an export): "'=1+1" → "=1+1"; any other text is unchanged. */
export function unneutralise (value: string): string {
  return value.length > 1 && value.charCodeAt(0) === 39 && formulaStart.test(value.slice(1)) ? value.slice(1) : value
}

/** One cell of a CSV line: neutralised, then quoted when it holds the delimiter, a quote or a line break. */
export function csvCell (value: string | number | boolean | null | undefined, delimiter: CsvDelimiter = ','): string {
  const text = neutralise(value === null || value === undefined ? '' : String(value))
  return text.includes('"') || text.includes(delimiter) || text.includes('\n') || text.includes('\r')
    ? `"${text.replace(/"/g, '""')}"`
    : text
}

/** One CSV record with its CRLF. */
export function csvLine (cells: ReadonlyArray<string | number | boolean | null | undefined>, delimiter: CsvDelimiter = ','): string {
  return cells.map(c => csvCell(c, delimiter)).join(delimiter) + '\r\n'
}

/** The UTF-8 BOM, so spreadsheets open an exported file as UTF-8 (accents intact). */
export const utf8Bom = '\uFEFF'

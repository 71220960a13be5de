// File names offered for download and the MIME rules, table-driven over hostile inputs (SECURITY.md §3.3/3.8).
import t from 'tap'
import { baseMimeType, contentDisposition, mimeAllowed, safeFileName, servedInline, servedType } from './media.policy.js'

t.test('safeFileName keeps a readable name and drops everything dangerous', async (t) => {
  const cases: Array<[string | null, string | null, string]> = [
    ['invoice.pdf', 'application/pdf', 'invoice.pdf'],
    ['../../etc/passwd', 'text/plain', 'passwd'],
    ['C:\\Users\\ana\\evil.jpg.exe', null, 'evil.jpg.exe'],
    ['a"\r\nX-Injected: 1.pdf', 'application/pdf', 'aX-Injected 1.pdf'],
    ['report\u202Efdp.exe', null, 'reportfdp.exe'],
    ['name;filename=x.pdf', null, 'namefilename=x.pdf'],
    ['.htaccess', null, 'htaccess'],
    ['   ', 'application/pdf', 'document.pdf'],
    [null, 'audio/ogg; codecs=opus', 'document.ogg'],
    ['', 'application/x-unknown', 'document.bin'],
    ['..', null, 'document.bin'],
    ['Relatório final.docx', null, 'Relatório final.docx']
  ]
  for (const [name, mime, expected] of cases) t.equal(safeFileName(name, mime), expected, JSON.stringify(name))
  const long = safeFileName('x'.repeat(300) + '.pdf', 'application/pdf')
  t.equal([...long].length, 120)
  t.ok(long.endsWith('.pdf'), 'the extension survives truncation')
})

t.test('contentDisposition: inline, or attachment with an ASCII fallback and RFC 8187 UTF-8 name', async (t) => {
  t.equal(contentDisposition(true, 'x.png'), 'inline')
  t.equal(contentDisposition(false, 'Relatório (1).pdf'), 'attachment; filename="Relat_rio (1).pdf"; filename*=UTF-8\'\'Relat%C3%B3rio%20%281%29.pdf')
  t.equal(contentDisposition(false, 'a%b\\c.txt'), 'attachment; filename="a_b_c.txt"; filename*=UTF-8\'\'a%25b%5Cc.txt')
  t.notMatch(contentDisposition(false, safeFileName('a"\r\nb', null)), /[\r\n"]{2}|\r|\n/)
})

t.test('MIME rules per kind', async (t) => {
  t.equal(baseMimeType('Audio/OGG; codecs=opus'), 'audio/ogg')
  t.ok(mimeAllowed('voice', 'audio/ogg; codecs=opus'))
  t.ok(mimeAllowed('image', 'IMAGE/JPEG'))
  for (const [kind, mime] of [['image', 'image/svg+xml'], ['image', 'text/html'], ['sticker', 'image/png'], ['document', 'text/html'], ['document', 'application/xhtml+xml'], ['document', 'image/svg+xml'], ['video', 'text/javascript'], ['image', ''], ['image', null]] as const) {
    t.notOk(mimeAllowed(kind, mime), `${kind} ${String(mime)}`)
  }
  t.equal(servedType('image', 'image/svg+xml'), 'application/octet-stream')
  t.equal(servedType('document', 'application/pdf'), 'application/pdf')
  t.notOk(servedInline('document'))
  t.ok(servedInline('sticker'))
})

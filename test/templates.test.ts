// Static checks over every template (SECURITY.md B14, B15): output is escaped except layout bodies and
// includes; nothing needs 'unsafe-eval' or inline code under our CSP (no hx-on, no js: values, no
// trigger filters, no inline script or style); every attribute value is quoted.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'

const views = join(import.meta.dirname, '..', 'views')
const files: string[] = []
const walk = (dir: string): void => {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) walk(full)
    else if (name.endsWith('.eta')) files.push(full)
  }
}
walk(views)
// Emails are not served by the site: their HTML may use inline styles (mail clients need them).
const pages = files.filter(f => !relative(views, f).startsWith('mail'))

t.test('raw output (<%~) is used only for layout bodies and includes', async (t) => {
  const bad: string[] = []
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/<%~\s*([^%]*)%>/g)) {
      if (!/^(include\(|it\.body\b|icon\()/.test(m[1]!.trim())) bad.push(`${relative(views, f)}: <%~ ${m[1]!.trim().slice(0, 60)}`)
    }
  }
  t.same(bad, [])
})

t.test('no template needs eval or inline code under the CSP', async (t) => {
  const bad: string[] = []
  for (const f of pages) {
    const text = readFileSync(f, 'utf8')
    const rel = relative(views, f)
    if (/\shx-on[:-]/.test(text)) bad.push(`${rel}: hx-on`)
    if (/hx-vals\s*=\s*['"]\s*js:/.test(text)) bad.push(`${rel}: js: in hx-vals`)
    if (/hx-trigger\s*=\s*"[^"]*\[/.test(text)) bad.push(`${rel}: trigger filter`)
    if (/<script(?![^>]*\ssrc=)[^>]*>/.test(text)) bad.push(`${rel}: inline script`)
    if (/<style\b|\sstyle\s*=/.test(text)) bad.push(`${rel}: inline style`)
    if (/\son[a-z]+\s*=/.test(text.replace(/<%[\s\S]*?%>/g, ''))) bad.push(`${rel}: inline event handler`)
  }
  t.same(bad, [])
})

t.test('every interpolation inside a tag is within a quoted attribute value', async (t) => {
  const bad: string[] = []
  for (const f of pages) {
    const text = readFileSync(f, 'utf8')
    for (const m of text.matchAll(/\s[a-zA-Z_:][-\w:.]*\s*=\s*<%=/g)) bad.push(`${relative(views, f)}: unquoted attribute at ${m.index}`)
  }
  t.same(bad, [])
})

// Cheap HTML assertions for route tests.

/** Whether the HTML has an element with this id. */
export function hasId (html: string, id: string): boolean {
  return new RegExp(`\\sid="${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`).test(html)
}

/** Every inline <script> without src, every style attribute and <style> element: CSP forbids them. */
export function inlineCode (html: string): string[] {
  const found: string[] = []
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (!/\bsrc=/.test(m[1] ?? '') || (m[2] ?? '').trim() !== '') found.push(m[0].slice(0, 80))
  }
  for (const m of html.matchAll(/<[^>]+\sstyle=/gi)) found.push(m[0].slice(0, 80))
  for (const m of html.matchAll(/<style\b/gi)) found.push(m[0])
  for (const m of html.matchAll(/\son[a-z]+=/gi)) found.push(m[0])
  return found
}

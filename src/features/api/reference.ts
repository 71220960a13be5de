// The reference page's view of the OpenAPI document: operations grouped by tag, each with its
// parameters, body fields and response fields as rows of (name, type, required, description), and a
// curl example. Only reads the document: whatever the routes declare is what the page says. The
// outgoing webhooks (events posted to subscribers) come from the document's `webhooks` object (built
// by features/hooks/hooks.api.ts).
import { receiverExample } from '../hooks/hooks.api.js'

type Schema = Record<string, unknown>

export interface FieldRow { name: string, type: string, required: boolean, description: string }
export interface Operation {
  id: string
  method: string
  path: string
  summary: string
  description: string
  role: string
  params: FieldRow[]
  body: FieldRow[]
  responses: Array<{ status: string, description: string, fields: FieldRow[] }>
  curl: string
}
/** An event posted to webhook subscribers: its type, when it is sent, and the fields of its `data`. */
export interface HookEvent { type: string, summary: string, when: string, data: FieldRow[] }
export interface Reference {
  title: string
  description: string
  version: string
  groups: Array<{ tag: string, operations: Operation[] }>
  /** Outgoing webhooks: the events, the headers every delivery has, and how a receiver verifies one. */
  webhooks: { events: HookEvent[], headers: FieldRow[], example: string }
}

/** A schema's type in words: "string", "string or null", "array of object", "one of: a, b". */
export function typeOf (s: Schema | undefined): string {
  if (s === undefined) return 'any'
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop() ?? 'object'
  const any = (s.anyOf ?? s.oneOf) as Schema[] | undefined
  if (Array.isArray(any)) {
    if (any.every(x => 'const' in x)) return `one of: ${any.map(x => String(x.const)).join(', ')}`
    return any.map(typeOf).join(' or ')
  }
  if (Array.isArray(s.enum)) return `one of: ${(s.enum as unknown[]).map(String).join(', ')}`
  if ('const' in s) return JSON.stringify(s.const)
  if (s.type === 'array') return `array of ${typeOf(s.items as Schema | undefined)}`
  if (typeof s.format === 'string') return `${String(s.type)} (${s.format})`
  if (s.type === 'object' && s.properties === undefined && s.patternProperties !== undefined) return 'object (key → value)'
  return typeof s.type === 'string' ? s.type : 'object'
}

function limits (s: Schema): string {
  const parts: string[] = []
  if (typeof s.maxLength === 'number') parts.push(`at most ${s.maxLength} characters`)
  if (typeof s.minimum === 'number' && typeof s.maximum === 'number') parts.push(`${s.minimum}–${s.maximum}`)
  if (typeof s.maxItems === 'number') parts.push(`at most ${s.maxItems} items`)
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`
}

/** The properties of an object schema as rows; nested objects and arrays of objects get dotted names. */
export function fieldsOf (s: Schema | undefined, prefix = '', depth = 0): FieldRow[] {
  if (s === undefined || depth > 3) return []
  // One of several shapes (a message to send: text, note, template): every field once, saying which shapes have it.
  const variants = s.anyOf as Schema[] | undefined
  if (Array.isArray(variants) && variants.every(v => v.type === 'object')) {
    const rows = new Map<string, FieldRow & { in: string[] }>()
    for (const v of variants) {
      const kind = ((v.properties as Record<string, Schema> | undefined)?.type?.const as string | undefined) ?? ''
      for (const row of fieldsOf(v, prefix, depth + 1)) {
        const seen = rows.get(row.name)
        if (seen === undefined) rows.set(row.name, { ...row, in: [kind] })
        else { seen.in.push(kind); if (seen.type !== row.type) seen.type = `${seen.type} | ${row.type}` }
      }
    }
    return [...rows.values()].map(({ in: kinds, ...row }) => ({
      ...row,
      required: row.required && kinds.length === variants.length,
      description: kinds.length === variants.length || kinds.includes('') ? row.description : `${row.description}${row.description === '' ? '' : ' '}(type ${kinds.join(', ')})`
    }))
  }
  const props = s.properties as Record<string, Schema> | undefined
  if (props === undefined) return []
  const required = new Set((s.required ?? []) as string[])
  const rows: FieldRow[] = []
  for (const [name, p] of Object.entries(props)) {
    const full = prefix + name
    rows.push({ name: full, type: typeOf(p), required: required.has(name), description: `${typeof p.description === 'string' ? p.description : ''}${limits(p)}`.trim() })
    const inner = p.type === 'array' ? p.items as Schema | undefined : p
    if (inner !== undefined && inner.type === 'object') rows.push(...fieldsOf(inner, `${full}${p.type === 'array' ? '[]' : ''}.`, depth + 1))
  }
  return rows
}

function curlOf (serverUrl: string, method: string, path: string, body: Schema | undefined, multipart = false): string {
  const url = serverUrl.replace(/\/$/, '') + path
  const lines = [`curl -X ${method} '${url}'`, '  -H \'Authorization: Bearer $WELTRA_API_KEY\'']
  if (body !== undefined && multipart) {
    for (const [k, p] of Object.entries((body.properties ?? {}) as Record<string, Schema>).slice(0, 2)) lines.push(p.format === 'binary' ? `  -F '${k}=@photo.jpg'` : `  -F '${k}=…'`)
  } else if (body !== undefined) {
    const shape = Array.isArray(body.anyOf) ? (body.anyOf as Schema[])[0]! : body
    const required = new Set((shape.required ?? []) as string[])
    const props = Object.entries((shape.properties ?? {}) as Record<string, Schema>).filter(([k]) => required.size === 0 || required.has(k)).slice(0, 3)
    const example = Object.fromEntries(props.map(([k, p]) => [k, 'const' in p ? p.const : p.type === 'array' ? [] : p.type === 'integer' ? 1 : '…']))
    lines.push('  -H \'Content-Type: application/json\'', `  -d '${JSON.stringify(example)}'`)
  }
  return lines.join(' \\\n')
}

/** The reference page's model of an OpenAPI document made by openApiDocument(). */
export function referenceOf (doc: Record<string, unknown>): Reference {
  const info = doc.info as { title: string, description: string, version: string }
  const serverUrl = ((doc.servers as Array<{ url: string }>)[0]?.url) ?? ''
  const groups = new Map<string, Operation[]>()
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = ((op.parameters ?? []) as Array<{ name: string, in: string, required: boolean, description?: string, schema: Schema }>)
        .map(p => ({ name: p.name, type: `${typeOf(p.schema)}, in ${p.in}`, required: p.required, description: `${p.description ?? ''}${limits(p.schema)}`.trim() }))
      const content = (op.requestBody as Schema | undefined)?.content as Record<string, { schema: Schema }> | undefined
      const body = content?.['application/json']?.schema ?? content?.['multipart/form-data']?.schema
      const multipart = content?.['multipart/form-data'] !== undefined
      const responses = Object.entries(op.responses as Record<string, Schema>).map(([status, r]) => ({
        status,
        description: String(r.description ?? ''),
        fields: status.startsWith('2') ? fieldsOf(((r.content as Record<string, { schema: Schema }> | undefined)?.['application/json']?.schema)) : []
      }))
      const entry: Operation = {
        id: String(op.operationId),
        method: method.toUpperCase(),
        path,
        summary: String(op.summary ?? ''),
        description: String(op.description ?? ''),
        role: String(op['x-weltra-role'] ?? 'agent'),
        params,
        body: fieldsOf(body),
        responses,
        curl: curlOf(serverUrl, method.toUpperCase(), path, body, multipart)
      }
      for (const tag of (op.tags ?? ['Other']) as string[]) {
        const list = groups.get(tag) ?? []
        list.push(entry)
        groups.set(tag, list)
      }
    }
  }
  return { title: info.title, description: info.description, version: info.version, groups: [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([tag, operations]) => ({ tag, operations })), webhooks: webhooksOf((doc.webhooks as Record<string, Schema> | undefined) ?? {}) }
}

/** The events of an OpenAPI `webhooks` object: each one's `data` fields (one level: the records are the API's own, documented with their routes). */
export function webhooksOf (webhooks: Record<string, Schema>): Reference['webhooks'] {
  let headers: FieldRow[] = []
  const events = Object.entries(webhooks).flatMap(([type, item]) => {
    const op = item.post as Schema | undefined
    if (op === undefined) return []
    const params = (op.parameters ?? []) as Array<{ name: string, in: string, required: boolean, description?: string, schema: Schema }>
    if (headers.length === 0) headers = params.filter(p => p.in === 'header').map(p => ({ name: p.name, type: typeOf(p.schema), required: p.required, description: p.description ?? '' }))
    const body = ((op.requestBody as Schema | undefined)?.content as Record<string, { schema: Schema }> | undefined)?.['application/json']?.schema
    const data = (body?.properties as Record<string, Schema> | undefined)?.data
    return [{ type, summary: String(op.summary ?? ''), when: String(op.description ?? ''), data: fieldsOf(data, '', 3) }]
  })
  return { events, headers, example: receiverExample }
}

// Template sends (SPEC §8), pure: reads a cached template's components, checks the agent's parameters
// against them (POSITIONAL {{1}}… or NAMED {{first_name}}, a header that needs text or media, URL buttons
// with a dynamic suffix, quick-reply payloads), and builds both the Graph API `template` object and the
// text the thread shows (header, body, footer and button titles with the parameters filled in).
// Problems are field → catalogue key (locales: outbound.error.*), e.g. { 'body.2': 'outbound.error.parameterRequired' }.

/** Header media the agent gives: an https link, or a file the worker uploads first (marked `upload`). */
export type HeaderMediaInput = { link: string } | { upload: true }

/** What the composer sends for a template's variables. */
export interface TemplateParameters {
  /** The header's one text variable, or its media (image, video, document header). */
  header?: string | HeaderMediaInput
  /** POSITIONAL: values of {{1}}, {{2}}… in order. NAMED: name → value. */
  body?: string[] | Record<string, string>
  /** Per button index: the dynamic URL suffix of a URL button, or the payload of a quick-reply button. */
  buttons?: Record<number, string>
}

/** A cached template, as the templates table holds it. */
export interface CachedTemplate {
  name: string
  language: string
  status: string
  parameterFormat: string | null
  components: unknown[] | null
}

export type MediaHeaderFormat = 'image' | 'video' | 'document'

/** What the thread shows for a template message (stored in the message content). */
export interface RenderedTemplate {
  type: 'template'
  name: string
  language: string
  /** The header text with its variable filled in, or null (no header, or a media header). */
  header: string | null
  /** A media header's kind (the file or link is in the request). */
  headerMedia: MediaHeaderFormat | null
  /** The body with the variables filled in. */
  text: string
  footer: string | null
  buttons: string[]
}

export type TemplateBuild =
  | { ok: true, request: Record<string, unknown>, rendered: RenderedTemplate, headerMedia: MediaHeaderFormat | null }
  | { ok: false, errors: Record<string, string> }

const placeholder = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g
const maxHeaderParamChars = 60
const maxBodyParamChars = 1024
const maxPayloadChars = 128
const maxUrlSuffixChars = 512

interface Button { type: string, text: string, url: string | null }
interface Parsed {
  header: { format: string, text: string | null } | null
  body: string | null
  footer: string | null
  buttons: Button[]
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str (v: unknown): string | null {
  return typeof v === 'string' ? v : null
}

function parse (components: unknown[]): Parsed {
  const parsed: Parsed = { header: null, body: null, footer: null, buttons: [] }
  for (const c of components) {
    if (!isRecord(c)) continue
    const type = String(c.type ?? '').toUpperCase()
    if (type === 'HEADER') parsed.header = { format: String(c.format ?? 'TEXT').toUpperCase(), text: str(c.text) }
    else if (type === 'BODY') parsed.body = str(c.text)
    else if (type === 'FOOTER') parsed.footer = str(c.text)
    else if (type === 'BUTTONS' && Array.isArray(c.buttons)) {
      for (const b of c.buttons) {
        if (isRecord(b)) parsed.buttons.push({ type: String(b.type ?? '').toUpperCase(), text: str(b.text) ?? '', url: str(b.url) })
      }
    }
  }
  return parsed
}

/** The variable names of a text, in order of first appearance. */
function variables (text: string | null): string[] {
  if (text === null) return []
  const seen: string[] = []
  for (const m of text.matchAll(placeholder)) if (!seen.includes(m[1]!)) seen.push(m[1]!)
  return seen
}

function fill (text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(placeholder, (whole, name: string) => values.get(name) ?? whole)
}

/** Meta refuses body variables with newlines, tabs or more than four spaces in a row. */
function paramProblem (value: unknown, max: number, strict: boolean): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'outbound.error.parameterRequired'
  if ([...value].length > max) return 'outbound.error.parameterTooLong'
  if (strict && (/[\n\t]/.test(value) || / {5,}/.test(value))) return 'outbound.error.parameterInvalid'
  return undefined
}

/**
 * Checks `params` against an APPROVED cached template and builds the Graph `template` object and its
 * rendered text. A media header with `{ upload: true }` gets its media id from the worker (the request's
 * header parameter then carries `id: ''` until the upload is done).
 */
export function buildTemplate (template: CachedTemplate, params: TemplateParameters): TemplateBuild {
  const errors: Record<string, string> = {}
  if (template.status !== 'APPROVED') return { ok: false, errors: { template: 'outbound.error.templateNotApproved' } }
  const parsed = parse(template.components ?? [])
  const bodyVars = variables(parsed.body)
  const headerVars = parsed.header?.format === 'TEXT' ? variables(parsed.header.text) : []
  const named = template.parameterFormat !== null
    ? template.parameterFormat.toUpperCase() === 'NAMED'
    : [...bodyVars, ...headerVars].some(v => !/^\d+$/.test(v))
  const components: Array<Record<string, unknown>> = []
  const rendered: RenderedTemplate = { type: 'template', name: template.name, language: template.language, header: null, headerMedia: null, text: parsed.body ?? '', footer: parsed.footer, buttons: parsed.buttons.map(b => b.text) }
  let headerMedia: MediaHeaderFormat | null = null

  // Header: one text variable, or media, or nothing.
  const header = parsed.header
  if (header !== null && header.format === 'TEXT') {
    rendered.header = header.text
    if (headerVars.length > 1) return { ok: false, errors: { template: 'outbound.error.templateUnsupported' } }
    if (headerVars.length === 1) {
      const value = params.header
      const problem = paramProblem(value, maxHeaderParamChars, true)
      if (problem !== undefined) errors.header = problem
      else {
        const text = (value as string).trim()
        rendered.header = fill(header.text ?? '', new Map([[headerVars[0]!, text]]))
        components.push({ type: 'header', parameters: [{ type: 'text', text, ...(named ? { parameter_name: headerVars[0] } : {}) }] })
      }
    } else if (params.header !== undefined && params.header !== '') errors.header = 'outbound.error.parameterUnexpected'
  } else if (header !== null && (header.format === 'IMAGE' || header.format === 'VIDEO' || header.format === 'DOCUMENT')) {
    const kind = header.format.toLowerCase() as MediaHeaderFormat
    headerMedia = kind
    rendered.headerMedia = kind
    const value = params.header
    if (isRecord(value) && 'upload' in value && value.upload === true) {
      components.push({ type: 'header', parameters: [{ type: kind, [kind]: { id: '' } }] })
    } else if (isRecord(value) && 'link' in value && typeof value.link === 'string') {
      const link = value.link
      if (!/^https:\/\/[^\s]+$/i.test(link) || link.length > 2000) errors.header = 'outbound.error.headerLinkInvalid'
      else components.push({ type: 'header', parameters: [{ type: kind, [kind]: { link } }] })
    } else {
      errors.header = 'outbound.error.headerMediaRequired'
    }
  } else if (header !== null) {
    // LOCATION and future header formats need parameters this composer does not collect.
    return { ok: false, errors: { template: 'outbound.error.templateUnsupported' } }
  } else if (params.header !== undefined && params.header !== '') {
    errors.header = 'outbound.error.parameterUnexpected'
  }

  // Body variables: POSITIONAL {{1}}…{{n}} (every number up to the highest), or NAMED.
  if (named) {
    const given = isRecord(params.body) ? params.body : {}
    const values = new Map<string, string>()
    for (const name of bodyVars) {
      const problem = paramProblem(given[name], maxBodyParamChars, true)
      if (problem !== undefined) errors[`body.${name}`] = problem
      else values.set(name, given[name]!.trim())
    }
    for (const name of Object.keys(given)) if (!bodyVars.includes(name)) errors[`body.${name}`] = 'outbound.error.parameterUnexpected'
    if (Array.isArray(params.body) && params.body.length > 0) errors.body = 'outbound.error.parameterUnexpected'
    if (bodyVars.length > 0 && values.size === bodyVars.length) {
      rendered.text = fill(parsed.body ?? '', values)
      components.push({ type: 'body', parameters: bodyVars.map(name => ({ type: 'text', parameter_name: name, text: values.get(name) })) })
    }
  } else {
    if (bodyVars.some(v => !/^\d+$/.test(v))) return { ok: false, errors: { template: 'outbound.error.templateUnsupported' } }
    const count = bodyVars.reduce((max, v) => Math.max(max, Number(v)), 0)
    const given = Array.isArray(params.body) ? params.body : []
    const values = new Map<string, string>()
    for (let i = 1; i <= count; i++) {
      const problem = paramProblem(given[i - 1], maxBodyParamChars, true)
      if (problem !== undefined) errors[`body.${i}`] = problem
      else values.set(String(i), given[i - 1]!.trim())
    }
    for (let i = count; i < given.length; i++) errors[`body.${i + 1}`] = 'outbound.error.parameterUnexpected'
    if (isRecord(params.body) && Object.keys(params.body).length > 0) errors.body = 'outbound.error.parameterUnexpected'
    if (count > 0 && values.size === count) {
      rendered.text = fill(parsed.body ?? '', values)
      components.push({ type: 'body', parameters: Array.from({ length: count }, (_, i) => ({ type: 'text', text: values.get(String(i + 1)) })) })
    }
  }

  // Buttons: a URL button with a {{1}} suffix needs its text; a quick reply may carry a payload.
  const given = params.buttons ?? {}
  for (const key of Object.keys(given)) {
    const index = Number(key)
    if (!Number.isInteger(index) || index < 0 || index >= parsed.buttons.length) errors[`button.${key}`] = 'outbound.error.parameterUnexpected'
  }
  parsed.buttons.forEach((button, index) => {
    const value = given[index]
    if (button.type === 'URL') {
      const dynamic = variables(button.url).length > 0
      if (!dynamic) {
        if (value !== undefined && value !== '') errors[`button.${index}`] = 'outbound.error.parameterUnexpected'
        return
      }
      const problem = paramProblem(value, maxUrlSuffixChars, true)
      if (problem !== undefined) { errors[`button.${index}`] = problem; return }
      components.push({ type: 'button', sub_type: 'url', index: String(index), parameters: [{ type: 'text', text: value!.trim() }] })
    } else if (button.type === 'QUICK_REPLY') {
      if (value === undefined || value === '') return
      const problem = paramProblem(value, maxPayloadChars, false)
      if (problem !== undefined) { errors[`button.${index}`] = problem; return }
      components.push({ type: 'button', sub_type: 'quick_reply', index: String(index), parameters: [{ type: 'payload', payload: value }] })
    } else if (button.type === 'PHONE_NUMBER' || button.type === 'VOICE_CALL') {
      if (value !== undefined && value !== '') errors[`button.${index}`] = 'outbound.error.parameterUnexpected'
    } else {
      // OTP / COPY_CODE / FLOW / CATALOG … need parameters this composer does not collect.
      errors.template = 'outbound.error.templateUnsupported'
    }
  })

  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const request: Record<string, unknown> = { name: template.name, language: { code: template.language } }
  if (components.length > 0) request.components = components
  return { ok: true, request, rendered, headerMedia }
}

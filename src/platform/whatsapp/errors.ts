// Graph API errors: reading Meta's error body and deciding what a failed call means for the sender.
// Branch on the numeric `code` (never on the HTTP status or message text, except when there is no code,
// e.g. a network failure or an HTML 5xx page). The same codes arrive in `failed` status webhooks, so the
// classification serves both paths. Policies: 'no' (do not retry this message), 'backoff' (retry later
// with increasing delays), 'recipient-backoff' (requeue only this recipient), 'pause-channel' (stop the
// channel's queue until an admin acts). userMessageKey is a catalogue key for the agent-facing text.

/** What the sender should do after a failed Graph call. */
export type RetryPolicy = 'no' | 'backoff' | 'recipient-backoff' | 'pause-channel'

/** The classification of one Graph error: retry policy plus a catalogue key for the agent-facing text. */
export interface GraphErrorClass {
  retry: RetryPolicy
  userMessageKey: string
}

/** The useful fields of a Graph error body `{ error: { message, type, code, error_subcode, … } }`. */
export interface GraphErrorInfo {
  code: number | undefined
  subcode: number | undefined
  message: string | undefined
  type: string | undefined
  details: string | undefined
  fbtraceId: string | undefined
}

const byCode: ReadonlyMap<number, GraphErrorClass> = new Map<number, GraphErrorClass>([
  [130429, { retry: 'backoff', userMessageKey: 'whatsapp.error.throughput' }],
  [131056, { retry: 'recipient-backoff', userMessageKey: 'whatsapp.error.pairRate' }],
  [131000, { retry: 'backoff', userMessageKey: 'whatsapp.error.temporary' }],
  [131016, { retry: 'backoff', userMessageKey: 'whatsapp.error.temporary' }],
  [135000, { retry: 'backoff', userMessageKey: 'whatsapp.error.temporary' }],
  [4, { retry: 'backoff', userMessageKey: 'whatsapp.error.callLimit' }],
  [80007, { retry: 'backoff', userMessageKey: 'whatsapp.error.callLimit' }],
  [131047, { retry: 'no', userMessageKey: 'whatsapp.error.windowClosed' }],
  [131026, { retry: 'no', userMessageKey: 'whatsapp.error.undeliverable' }],
  [131051, { retry: 'no', userMessageKey: 'whatsapp.error.unsupportedType' }],
  [131048, { retry: 'no', userMessageKey: 'whatsapp.error.spamRate' }],
  [131049, { retry: 'no', userMessageKey: 'whatsapp.error.ecosystemLimit' }],
  [131050, { retry: 'no', userMessageKey: 'whatsapp.error.marketingOptOut' }],
  [131064, { retry: 'no', userMessageKey: 'whatsapp.error.messagingLimit' }],
  [131052, { retry: 'no', userMessageKey: 'whatsapp.error.media' }],
  [131053, { retry: 'no', userMessageKey: 'whatsapp.error.media' }],
  [131008, { retry: 'no', userMessageKey: 'whatsapp.error.invalidRequest' }],
  [131009, { retry: 'no', userMessageKey: 'whatsapp.error.invalidRequest' }],
  [100, { retry: 'no', userMessageKey: 'whatsapp.error.invalidRequest' }],
  [131021, { retry: 'no', userMessageKey: 'whatsapp.error.sameSender' }],
  [131030, { retry: 'no', userMessageKey: 'whatsapp.error.recipientNotAllowed' }],
  [131062, { retry: 'no', userMessageKey: 'whatsapp.error.userIdNotSupported' }],
  [137000, { retry: 'no', userMessageKey: 'whatsapp.error.identityChanged' }],
  [130497, { retry: 'no', userMessageKey: 'whatsapp.error.countryRestricted' }],
  [132000, { retry: 'no', userMessageKey: 'whatsapp.error.templateParams' }],
  [132001, { retry: 'no', userMessageKey: 'whatsapp.error.templateMissing' }],
  [132005, { retry: 'no', userMessageKey: 'whatsapp.error.templateParams' }],
  [132007, { retry: 'no', userMessageKey: 'whatsapp.error.templatePolicy' }],
  [132008, { retry: 'no', userMessageKey: 'whatsapp.error.templateParams' }],
  [132012, { retry: 'no', userMessageKey: 'whatsapp.error.templateParams' }],
  [132015, { retry: 'no', userMessageKey: 'whatsapp.error.templatePaused' }],
  [132016, { retry: 'no', userMessageKey: 'whatsapp.error.templateDisabled' }],
  [131031, { retry: 'pause-channel', userMessageKey: 'whatsapp.error.accountLocked' }],
  [131042, { retry: 'pause-channel', userMessageKey: 'whatsapp.error.payment' }],
  [133010, { retry: 'pause-channel', userMessageKey: 'whatsapp.error.numberNotRegistered' }],
  [368, { retry: 'pause-channel', userMessageKey: 'whatsapp.error.policyBlock' }],
  [190, { retry: 'pause-channel', userMessageKey: 'whatsapp.error.tokenExpired' }],
  [0, { retry: 'pause-channel', userMessageKey: 'whatsapp.error.permission' }],
  [3, { retry: 'pause-channel', userMessageKey: 'whatsapp.error.permission' }],
  [10, { retry: 'pause-channel', userMessageKey: 'whatsapp.error.permission' }]
])

const notFound: GraphErrorClass = { retry: 'no', userMessageKey: 'whatsapp.error.notFound' }
const otherTemplate: GraphErrorClass = { retry: 'no', userMessageKey: 'whatsapp.error.template' }
const permission: GraphErrorClass = { retry: 'pause-channel', userMessageKey: 'whatsapp.error.permission' }
const temporary: GraphErrorClass = { retry: 'backoff', userMessageKey: 'whatsapp.error.temporary' }
const unknown: GraphErrorClass = { retry: 'no', userMessageKey: 'whatsapp.error.unknown' }

/**
 * Classifies a failed Graph call by Meta's error code (and subcode), falling back on the HTTP status when
 * there is no code; httpStatus 0 means no response at all (network failure, timeout).
 */
export function classifyGraphError (code: number | undefined, httpStatus: number, subcode?: number): GraphErrorClass {
  if (typeof code === 'number' && Number.isInteger(code)) {
    if (code === 100 && subcode === 33) return notFound
    const known = byCode.get(code)
    if (known !== undefined) return known
    if (code >= 132000 && code <= 132999) return otherTemplate
    if (code >= 200 && code <= 299) return permission
  }
  if (!Number.isInteger(httpStatus) || httpStatus <= 0 || httpStatus >= 500 || httpStatus === 429 || httpStatus === 408) return temporary
  if (code === undefined && (httpStatus === 401 || httpStatus === 403)) return permission
  return unknown
}

/** Reads `{ error: { … } }` from a parsed Graph response body; undefined when it is not an error body. */
export function readGraphError (body: unknown): GraphErrorInfo | undefined {
  if (!isRecord(body) || !Object.hasOwn(body, 'error') || !isRecord(body.error)) return undefined
  const e = body.error
  const data = Object.hasOwn(e, 'error_data') && isRecord(e.error_data) ? e.error_data : {}
  return {
    code: int(e, 'code'),
    subcode: int(e, 'error_subcode'),
    message: text(e, 'message'),
    type: text(e, 'type'),
    details: text(data, 'details'),
    fbtraceId: text(e, 'fbtrace_id')
  }
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function int (o: Record<string, unknown>, k: string): number | undefined {
  const v = Object.hasOwn(o, k) ? o[k] : undefined
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined
}

function text (o: Record<string, unknown>, k: string): string | undefined {
  const v = Object.hasOwn(o, k) ? o[k] : undefined
  return typeof v === 'string' ? v : undefined
}

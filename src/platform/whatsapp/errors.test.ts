// Graph error classification against graph-responses/index.json and SPEC §10.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { classifyGraphError, readGraphError, type RetryPolicy } from './errors.js'

const repoRoot = join(import.meta.dirname, '..', '..', '..')
const responsesDir = join(repoRoot, 'test', 'fixtures', 'whatsapp', 'graph-responses')
// The fixtures are copied byte-for-byte from shared/whatsapp into test/fixtures (they are signed as bytes).

const expected: Record<string, [RetryPolicy, string]> = {
  'error-130429-throughput.json': ['backoff', 'whatsapp.error.throughput'],
  'error-131056-pair-rate.json': ['recipient-backoff', 'whatsapp.error.pairRate'],
  'error-131000-generic.json': ['backoff', 'whatsapp.error.temporary'],
  'error-131047-reengagement.json': ['no', 'whatsapp.error.windowClosed'],
  'error-131026-undeliverable.json': ['no', 'whatsapp.error.undeliverable'],
  'error-131051-unsupported-type.json': ['no', 'whatsapp.error.unsupportedType'],
  'error-131048-spam-rate.json': ['no', 'whatsapp.error.spamRate'],
  'error-131049-ecosystem-engagement.json': ['no', 'whatsapp.error.ecosystemLimit'],
  'error-131031-account-locked.json': ['pause-channel', 'whatsapp.error.accountLocked'],
  'error-132000-param-count.json': ['no', 'whatsapp.error.templateParams'],
  'error-132001-template-missing.json': ['no', 'whatsapp.error.templateMissing'],
  'error-132012-param-format.json': ['no', 'whatsapp.error.templateParams'],
  'error-132015-template-paused.json': ['no', 'whatsapp.error.templatePaused'],
  'error-133010-number-not-registered.json': ['pause-channel', 'whatsapp.error.numberNotRegistered'],
  'error-190-token-expired.json': ['pause-channel', 'whatsapp.error.tokenExpired'],
  'error-368-policy-block.json': ['pause-channel', 'whatsapp.error.policyBlock'],
  'error-4-app-rate-limit.json': ['backoff', 'whatsapp.error.callLimit'],
  'error-80007-waba-rate-limit.json': ['backoff', 'whatsapp.error.callLimit'],
  'error-100-invalid-parameter.json': ['no', 'whatsapp.error.invalidRequest'],
  'error-100-33-object-not-found.json': ['no', 'whatsapp.error.notFound']
}

t.test('every error fixture is read and classified as index.json describes', async (t) => {
  const index = JSON.parse(readFileSync(join(responsesDir, 'index.json'), 'utf8')) as { files: Array<{ file: string, http_status: number, retry?: string }> }
  const errorFiles = index.files.filter(f => f.file.startsWith('error-'))
  t.equal(errorFiles.length, Object.keys(expected).length, 'every error fixture has an expectation')
  for (const { file, http_status: status, retry } of errorFiles) {
    const info = readGraphError(JSON.parse(readFileSync(join(responsesDir, file), 'utf8')))
    if (info === undefined) { t.fail(`${file}: not read as an error`); continue }
    const codeInName = Number(/^error-(\d+)-/.exec(file)?.[1])
    t.equal(info.code, codeInName, `${file}: code`)
    t.type(info.fbtraceId, 'string', `${file}: fbtrace_id kept for the logs`)
    const got = classifyGraphError(info.code, status, info.subcode)
    t.same([got.retry, got.userMessageKey], expected[file], `${file}: classification`)
    if (retry !== undefined && /^yes/.test(retry)) t.not(got.retry, 'no', `${file}: index says retry`)
    if (retry !== undefined && /^no/.test(retry)) t.not(got.retry, 'backoff', `${file}: index says do not retry`)
  }
  t.equal(readGraphError(JSON.parse(readFileSync(join(responsesDir, 'send-success-text.json'), 'utf8'))), undefined, 'success bodies are not errors')
})

t.test('codes without a fixture, 5xx and network failures are classified', async (t) => {
  t.same(classifyGraphError(132999, 400), { retry: 'no', userMessageKey: 'whatsapp.error.template' }, 'other 132xxx')
  t.same(classifyGraphError(132016, 400).userMessageKey, 'whatsapp.error.templateDisabled')
  t.same(classifyGraphError(131050, 400).userMessageKey, 'whatsapp.error.marketingOptOut')
  t.equal(classifyGraphError(undefined, 502).retry, 'backoff', '5xx without a body')
  t.equal(classifyGraphError(undefined, 0).retry, 'backoff', 'network failure')
  t.equal(classifyGraphError(undefined, 429).retry, 'backoff')
  t.equal(classifyGraphError(undefined, 401).retry, 'pause-channel')
  t.same(classifyGraphError(999999, 400), { retry: 'no', userMessageKey: 'whatsapp.error.unknown' }, 'unknown code')
  t.equal(classifyGraphError(999999, 503).retry, 'backoff', 'unknown code on a 5xx')
  t.equal(classifyGraphError(200, 403).retry, 'pause-channel', 'permission range')
  t.equal(classifyGraphError(Number.NaN, 400).userMessageKey, 'whatsapp.error.unknown')
  for (const body of [null, 'x', [], {}, { error: 'x' }, { error: [] }]) t.equal(readGraphError(body), undefined)
  t.same(readGraphError({ error: { code: '100', error_data: { details: 'd' } } }), {
    code: undefined, subcode: undefined, message: undefined, type: undefined, details: 'd', fbtraceId: undefined
  }, 'wrong types read as undefined')
})

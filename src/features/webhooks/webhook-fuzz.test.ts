// SECURITY.md §3.2–3.3: correctly signed but hostile or odd payloads. Every one is acknowledged (200),
// processing never throws out of the processor and never fails a delivery for its content, the
// process keeps serving, and what is stored stays sane.
import t, { type Test } from 'tap'
import { deliver, envelope, message, messagesValue, status, withChannel, type ChannelApp, type Sender } from '../../../test/helpers/whatsapp.js'
import { processAllPending } from './webhook-processor.js'
import { listWebhookEvents } from './webhook-events.store.js'

const ana: Sender = { waId: '15550100111', userId: 'US.ana', name: 'Ana' }

function nested (depth: number): string {
  return '{"object":"whatsapp_business_account","entry":' + '['.repeat(depth) + ']'.repeat(depth) + '}'
}

const structural: Array<[string, Buffer | object]> = [
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
  ['UTF-16 body', Buffer.from(JSON.stringify(envelope(messagesValue([ana], { messages: [message('wamid.U16', ana, 'text', { body: 'x' })] }))), 'utf16le')],
  ['lone surrogate and NUL', Buffer.from('{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"110000000000101"},"contacts":[{"wa_id":"15550100111","profile":{"name":"\\ud800\\u0000x"}}],"messages":[{"from":"15550100111","id":"wamid.SUR","timestamp":"1789200000","type":"text","text":{"body":"\\ud800 and \\u0000"}}]}}]}]}')],
  ['100k-deep nesting', Buffer.from(nested(100_000))],
  ['a million-element array', Buffer.from('{"object":"whatsapp_business_account","entry":[' + '0,'.repeat(999_999) + '0]}')],
  ['duplicate keys', Buffer.from('{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"110000000000101"},"messages":[{"from":"15550100111","id":"wamid.DUP1","id":"wamid.DUP2","timestamp":"1789200000","type":"text","text":{"body":"dup"}}]}}]}]}')],
  ['__proto__ / constructor / prototype keys', Buffer.from('{"__proto__":{"polluted":true},"object":"whatsapp_business_account","constructor":{"prototype":{"polluted":true}},"entry":[{"__proto__":{"x":1},"id":"1","changes":[{"field":"messages","value":{"__proto__":{"admin":true},"metadata":{"phone_number_id":"110000000000101"},"messages":[{"from":"15550100111","id":"wamid.PROTO","timestamp":"1789200000","type":"text","text":{"body":"p","__proto__":{"y":2}}}]}}]}]}')],
  ['huge and odd numbers', Buffer.from('{"object":"whatsapp_business_account","entry":[{"id":1e309,"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":9007199254740993},"messages":[{"from":-0,"id":"wamid.NUM","timestamp":1e309,"type":"text","text":{"body":"n"}}]}}]}]}')],
  ['wrong types', { object: 'whatsapp_business_account', entry: { id: '1', changes: 'nope' } }],
  ['changes as a string', { object: 'whatsapp_business_account', entry: [{ id: '1', changes: 'x' }] }],
  ['timestamp as a number', envelope(messagesValue([ana], { messages: [{ ...message('wamid.TSNUM', ana, 'text', { body: 't' }), timestamp: 1_789_200_000 }] }))],
  ['another object', { object: 'page', entry: [] }],
  ['empty entry', { object: 'whatsapp_business_account', entry: [] }],
  ['field other than messages', envelope({ field: 'account_update', value: { event: 'VERIFIED_ACCOUNT' } })]
]

const semantic: Array<[string, object]> = [
  ['same wamid twice in one batch, different content', envelope(messagesValue([ana], { messages: [message('wamid.TWICE', ana, 'text', { body: 'first' }), message('wamid.TWICE', ana, 'text', { body: 'second' })] }))],
  ['a 10 KB wamid', envelope(messagesValue([ana], { messages: [message('wamid.' + 'A'.repeat(10_000), ana, 'text', { body: 'long id' })] }))],
  ['wamid with ../, quotes and SQL', envelope(messagesValue([ana], { messages: [message('wamid.../../\'";DROP TABLE messages;--', ana, 'text', { body: 'sql' })] }))],
  ['unknown phone number id', envelope(messagesValue([ana], { messages: [message('wamid.OTHERNUM', ana, 'text', { body: 'x' })] }, '000000000000'))],
  ['reaction to a message we never saw', envelope(messagesValue([ana], { messages: [message('wamid.REACT', ana, 'reaction', { message_id: 'wamid.NEVER', emoji: '🔥' })] }))],
  ['4 KB interactive payload', envelope(messagesValue([ana], { messages: [message('wamid.INT', ana, 'interactive', { type: 'button_reply', button_reply: { id: 'x'.repeat(4096), title: 'y'.repeat(4096) } })] }))],
  ['location lat 91 / NaN / Infinity', envelope(messagesValue([ana], { messages: [message('wamid.LOC1', ana, 'location', { latitude: 91, longitude: 0 }), message('wamid.LOC2', ana, 'location', { latitude: 'NaN', longitude: 'Infinity' })] }))],
  ['contacts card with 500 phones', envelope(messagesValue([ana], { messages: [message('wamid.CARD', ana, 'contacts', [{ name: { formatted_name: 'Big' }, phones: Array.from({ length: 500 }, (_, i) => ({ phone: `+1555${i}` })) }])] }))],
  ['media with hostile type and name', envelope(messagesValue([ana], { messages: [message('wamid.DOC', ana, 'document', { id: '123', mime_type: 'text/html', sha256: 'x', filename: '../../etc/passwd"\r\nX: y' + 'n'.repeat(300) })] }))],
  ['image/svg+xml', envelope(messagesValue([ana], { messages: [message('wamid.SVG', ana, 'image', { id: '124', mime_type: 'image/svg+xml', sha256: 'x' })] }))],
  ['caption with RTL override', envelope(messagesValue([ana], { messages: [message('wamid.RTL', ana, 'image', { id: '125', mime_type: 'image/jpeg', sha256: 'x', caption: 'gnp.\u202eexe' })] }))],
  ['status for a wamid we never sent', envelope(messagesValue([], { statuses: [status('wamid.NEVERSENT', 'read', 1_789_200_000)] }))],
  ['1,000 statuses for one message', envelope(messagesValue([], { statuses: Array.from({ length: 1000 }, (_, i) => status('wamid.MANY', ['sent', 'delivered', 'read'][i % 3]!, 1_789_200_000 + i)) }))],
  ['statuses with error codes', envelope(messagesValue([], { statuses: [131026, 131047, 130429].map(code => status('wamid.ERR' + code, 'failed', 1_789_200_000, { errors: [{ code, title: 'x' }] })) }))],
  ['odd sender ids', envelope(messagesValue([], { messages: ['+1 555 0100 999', '００１５５５', '٠١٢٣٤٥', '1'.repeat(20), 'abc'].map((from, i) => ({ from, id: `wamid.FROM${i}`, timestamp: '1789200000', type: 'text', text: { body: 'hi' } })) }))],
  ['hostile profile names', envelope(messagesValue([{ waId: '15550100300', name: 'Z\u0335\u0336a\u200d\u202eeman' + '👩‍👩‍👧'.repeat(5) + 'x'.repeat(5000) }], { messages: [message('wamid.NAME', { waId: '15550100300' }, 'text', { body: 'hi' })] }))]
]

async function postAll (t: Test, env: ChannelApp, cases: Array<[string, Buffer | object]>): Promise<void> {
  for (const [name, body] of cases) {
    const res = await deliver(env, env.url, body)
    t.equal(res.statusCode, 200, `${name}: acknowledged`)
  }
}

t.test('structurally hostile payloads are acknowledged, kept and never crash processing', async (t) => {
  const env = await withChannel(t)
  await postAll(t, env, structural)
  const s = processAllPending(env.deps)
  t.equal(s.failed, 0, 'no delivery failed for its content')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution')
  t.equal(({} as Record<string, unknown>).admin, undefined)
  t.equal(listWebhookEvents(env.deps.db, env.channel.workspaceId, 'pending').length, 0)
  t.equal((await env.app.inject({ url: '/healthz' })).statusCode, 200, 'still serving')
})

t.test('semantically odd payloads are handled as documented', async (t) => {
  const env = await withChannel(t)
  await postAll(t, env, semantic)
  const s = processAllPending(env.deps)
  t.equal(s.failed, 0, 'no delivery failed for its content')
  const rows = env.deps.sqlite.prepare('SELECT wamid, type FROM messages').all() as Array<{ wamid: string, type: string }>
  t.equal(rows.filter(r => r.wamid === 'wamid.TWICE').length, 1, 'a wamid twice in one batch is stored once')
  t.notOk(rows.some(r => r.wamid.length > 512), 'a 10 KB wamid is not stored as a message')
  t.ok(rows.some(r => r.wamid.includes('DROP TABLE')), 'SQL in a wamid is just text')
  t.ok(env.count('messages') > 5, 'the table is still there')
  t.notOk(rows.some(r => r.wamid === 'wamid.OTHERNUM'))
  t.same(rows.filter(r => r.wamid.startsWith('wamid.LOC')).map(r => r.type), ['invalid', 'invalid'], 'impossible coordinates are kept as invalid')
  t.equal((env.deps.sqlite.prepare("SELECT count(*) AS n FROM message_statuses WHERE wamid = 'wamid.MANY'").get() as { n: number }).n, 3, '1,000 statuses collapse to one per status')
  const names = env.deps.sqlite.prepare('SELECT profile_name FROM contacts').all() as Array<{ profile_name: string | null }>
  for (const n of names) {
    t.ok((n.profile_name ?? '').length <= 200, 'names are capped')
    t.notMatch(n.profile_name ?? '', /[\u202a-\u202e]/, 'no bidi override in names')
    t.notOk((n.profile_name ?? '').includes('\u0000'), 'no NUL in names')
  }
  t.equal((await env.app.inject({ url: '/healthz' })).statusCode, 200, 'still serving')
})

// Parsing and normalising webhook bodies: every shared fixture yields the expected events, and the
// SECURITY §3.2 structural corpus (bad UTF-8, deep nesting, prototype keys, wrong types) never throws.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { normalize, parseWebhook, type InboundEvent, type InboundMessageEvent, type StatusEvent, type WaMessageBody } from './webhook-payload.js'

const repoRoot = join(import.meta.dirname, '..', '..', '..')
const webhooksDir = join(repoRoot, 'test', 'fixtures', 'whatsapp', 'webhooks')
// The fixtures are copied byte-for-byte from shared/whatsapp into test/fixtures (they are signed as bytes).

const phoneA = '110000000000101'
const waba = '109876543210001'
const out1 = 'wamid.HBgLRkFLRS5PVVQuMDAwMQ=='

function eventsOf (file: string): InboundEvent[] {
  const parsed = parseWebhook(readFileSync(join(webhooksDir, file)))
  if (!parsed.ok) throw new Error(`${file}: ${parsed.reason}`)
  return normalize(parsed.payload)
}

function onlyMessage (t: Test, file: string): InboundMessageEvent {
  const events = eventsOf(file)
  t.equal(events.length, 1, `${file}: one event`)
  const e = events[0]!
  if (e.kind !== 'message') throw new Error(`${file}: expected a message, got ${e.kind}`)
  t.equal(e.phoneNumberId, phoneA, `${file}: routed by phone_number_id`)
  t.equal(e.displayPhoneNumber, '15550100100')
  t.equal(e.wabaId, waba)
  t.match(e.wamid, /^wamid\./)
  t.type(e.timestamp, 'number')
  t.equal(e.timestamp! % 1000, 0, 'timestamp in ms')
  return e
}

function bodyOf<T extends WaMessageBody['type']> (t: Test, e: InboundMessageEvent, type: T): Extract<WaMessageBody, { type: T }> {
  t.equal(e.body.type, type, `body type ${type}`)
  if (e.body.type !== type) throw new Error(`expected ${type}, got ${e.body.type}`)
  return e.body as Extract<WaMessageBody, { type: T }>
}

function onlyStatus (t: Test, file: string): StatusEvent {
  const events = eventsOf(file)
  t.equal(events.length, 1, `${file}: one event`)
  const e = events[0]!
  if (e.kind !== 'status') throw new Error(`${file}: expected a status, got ${e.kind}`)
  t.equal(e.phoneNumberId, phoneA)
  return e
}

t.test('every fixture parses and normalises without an unknown event', async (t) => {
  const files = readdirSync(webhooksDir).filter(f => f.endsWith('.json'))
  t.ok(files.length >= 20)
  for (const file of files) {
    const events = eventsOf(file)
    t.ok(events.length > 0, `${file}: at least one event`)
    t.same(events.filter(e => e.kind === 'unknown'), [], `${file}: nothing unknown`)
    for (const e of events) {
      if (e.kind === 'message') t.not(e.body.type, 'invalid', `${file}: body readable`)
    }
  }
})

t.test('text messages carry the body, the sender ids and the profile', async (t) => {
  const e = onlyMessage(t, '01-text.json')
  t.equal(e.wamid, 'wamid.HBgLRkFLRS5JTi4wMDAx')
  t.equal(e.from, '15550100111')
  t.equal(e.fromUserId, 'US.1000000000000000111')
  t.equal(e.timestamp, 1789200000_000)
  t.same(e.profile, { name: 'Ana Souza', username: null, waId: '15550100111', userId: 'US.1000000000000000111', parentUserId: null })
  t.same(e.body, { type: 'text', text: 'Hi! Is the blue backpack still in stock?' })
  t.equal(e.context, null)
  t.same(e.raw, JSON.parse(readFileSync(join(webhooksDir, '01-text.json'), 'utf8')).entry[0].changes[0].value.messages[0])

  const arabic = onlyMessage(t, '23-non-ascii-text.json')
  t.same(arabic.body, { type: 'text', text: 'مرحبا 👋 नमस्ते! Preço: 10€ — ok? 😊' })
  t.equal(arabic.profile?.name, 'عمر حداد')

  const reply = onlyMessage(t, '21-reply-with-context.json')
  t.equal(bodyOf(t, reply, 'text').text, 'Yes, Tuesday at 3pm works for me.')
  t.same(reply.context, { messageId: out1, from: '15550100100', forwarded: false, frequentlyForwarded: false, referredProduct: null })
})

t.test('media messages keep id, mime type, sha256, caption, filename and the voice flag', async (t) => {
  const image = bodyOf(t, onlyMessage(t, '02-image.json'), 'image')
  t.same(image.media, {
    id: '1880000000000002',
    mimeType: 'image/jpeg',
    sha256: 'ne4HRZoWvjGY7eFkfsOjxQjQkQY3cwJGU0prko2Hats=',
    url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1880000000000002&ext=1789200300&hash=ARfakeHashNotReal0002'
  })
  t.equal(image.caption, 'This one, size M')
  const video = bodyOf(t, onlyMessage(t, '03-video.json'), 'video')
  t.equal(video.media.mimeType, 'video/mp4')
  t.equal(video.caption, 'The zipper gets stuck like this')
  const audio = bodyOf(t, onlyMessage(t, '04-audio-voice.json'), 'audio')
  t.equal(audio.voice, true)
  t.equal(audio.media.mimeType, 'audio/ogg; codecs=opus')
  const doc = bodyOf(t, onlyMessage(t, '05-document.json'), 'document')
  t.equal(doc.filename, 'invoice-58213.pdf')
  t.equal(doc.caption, 'Invoice for order 58213')
  t.equal(doc.media.id, '1880000000000005')
  const sticker = bodyOf(t, onlyMessage(t, '06-sticker.json'), 'sticker')
  t.equal(sticker.animated, false)
  t.equal(sticker.media.mimeType, 'image/webp')
})

t.test('location, contacts, interactive, button, order and unsupported bodies', async (t) => {
  t.same(onlyMessage(t, '07-location.json').body, {
    type: 'location', latitude: 40.748817, longitude: -73.985428, name: 'Pickup point 3', address: '20 W 34th St, New York, NY 10001', url: 'https://maps.example.invalid/pickup-3'
  })
  const cards = bodyOf(t, onlyMessage(t, '08-contacts.json'), 'contacts').cards
  t.equal(cards.length, 2)
  t.equal(cards[0]!.formattedName, 'Bruno Lima')
  t.same(cards[0]!.phones, [{ phone: '+1 555-010-0177', waId: '15550100177', type: 'CELL' }])
  t.same(cards[0]!.emails, [{ email: 'bruno.lima@example.invalid', type: 'WORK' }])
  t.same(cards[0]!.org, { company: 'Lima Logistics', department: null, title: 'Dispatcher' })
  t.equal(cards[1]!.formattedName, 'Front Desk')
  t.equal(cards[1]!.org, null)

  const button = onlyMessage(t, '09-interactive-button-reply.json')
  t.same(bodyOf(t, button, 'interactive').reply, { type: 'button_reply', id: 'ret_exchange', title: 'Exchange item' })
  t.equal(button.context?.messageId, 'wamid.HBgLRkFLRS5PVVQuMDAwNw==')
  t.same(bodyOf(t, onlyMessage(t, '10-interactive-list-reply.json'), 'interactive').reply,
    { type: 'list_reply', id: 'slot_2026-09-14_10', title: 'Mon 10:00', description: 'Store pickup, counter 2' })
  const flow = bodyOf(t, onlyMessage(t, '11-interactive-nfm-reply-flow.json'), 'interactive').reply
  t.equal(flow.type, 'nfm_reply')
  if (flow.type === 'nfm_reply') {
    t.equal(flow.name, 'flow')
    t.equal(flow.flowToken, 'ft-return-58213')
    t.same(flow.response, { flow_token: 'ft-return-58213', reason: 'wrong_size', pickup: 'store' })
  }
  const quick = onlyMessage(t, '12-button-template-quick-reply.json')
  t.same(quick.body, { type: 'button', payload: 'CONFIRM_APPT_8841', text: 'Confirm' })
  t.equal(quick.context?.messageId, out1)

  const order = bodyOf(t, onlyMessage(t, '16-order.json'), 'order')
  t.equal(order.catalogId, '700000000000001')
  t.equal(order.text, 'Please deliver after 6pm')
  t.same(order.items, [
    { productRetailerId: 'SKU-BKP-BLUE-M', quantity: 1, itemPrice: 59.9, currency: 'USD' },
    { productRetailerId: 'SKU-STRAP-02', quantity: 2, itemPrice: 7.5, currency: 'USD' }
  ])
  t.equal(order.items.reduce((sum, i) => sum + i.quantity! * i.itemPrice!, 0).toFixed(2), '74.90')

  const unsupported = onlyMessage(t, '19-unsupported-with-errors.json')
  t.same(unsupported.body, { type: 'unsupported', declaredType: 'unsupported', unsupportedType: 'poll_creation' })
  t.same(unsupported.errors, [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', details: 'Message type is currently not supported.', href: null }])
})

t.test('reactions and both removal forms', async (t) => {
  t.same(onlyMessage(t, '13-reaction.json').body, { type: 'reaction', messageId: out1, emoji: '👍' })
  t.same(onlyMessage(t, '14-reaction-removed.json').body, { type: 'reaction', messageId: out1, emoji: null }, 'no emoji key')
  t.same(onlyMessage(t, '15-reaction-removed-empty-emoji.json').body, { type: 'reaction', messageId: out1, emoji: null }, 'empty emoji')
})

t.test('statuses carry status, pricing, callback data and errors', async (t) => {
  const expectations: Array<[string, string, number]> = [
    ['25-status-sent.json', 'sent', 1789200005_000],
    ['26-status-delivered.json', 'delivered', 1789200007_000],
    ['27-status-read.json', 'read', 1789200031_000]
  ]
  for (const [file, status, timestamp] of expectations) {
    const s = onlyStatus(t, file)
    t.equal(s.wamid, out1)
    t.equal(s.status, status)
    t.equal(s.timestamp, timestamp)
    t.equal(s.recipientId, '15550100111')
    t.equal(s.bizOpaqueCallbackData, 'crm:msg=77001;campaign=none')
    t.same(s.pricing, { billable: true, pricingModel: 'PMP', type: 'regular', category: 'utility' })
    t.same(s.errors, [])
  }
  const failed = onlyStatus(t, '28-status-failed-131047.json')
  t.equal(failed.status, 'failed')
  t.equal(failed.wamid, 'wamid.HBgLRkFLRS5PVVQuMDAwMg==')
  t.equal(failed.pricing, null)
  t.equal(failed.errors.length, 1)
  t.equal(failed.errors[0]!.code, 131047)
  t.equal(failed.errors[0]!.title, 'Re-engagement message')
  t.match(failed.errors[0]!.details, /24 hours/)
  const undeliverable = onlyStatus(t, '32-status-failed-131026.json')
  t.equal(undeliverable.errors[0]!.code, 131026)
  t.equal(undeliverable.recipientId, '15550100155')
})

t.test('a template status update is a template event, never a message', async (t) => {
  const events = eventsOf('39-template-status-update.json')
  t.equal(events.length, 1)
  t.match(events[0], {
    kind: 'template',
    field: 'message_template_status_update',
    wabaId: waba,
    time: 1789201500_000,
    event: 'PAUSED',
    templateId: '990000000000012',
    templateName: 'appointment_reminder',
    language: 'en_US',
    reason: 'NONE',
    category: 'UTILITY'
  })
})

// ——— synthetic cases from SPEC and SECURITY §3.2/§3.3 ———

function envelope (value: unknown, field = 'messages'): unknown {
  return { object: 'whatsapp_business_account', entry: [{ id: waba, changes: [{ field, value }] }] }
}
const metadata = { display_phone_number: '15550100100', phone_number_id: phoneA }

t.test('batches yield every message, status and value-level error', async (t) => {
  const payload = {
    object: 'whatsapp_business_account',
    entry: [
      { id: waba, changes: [{ field: 'messages', value: { metadata, messages: [1, 2, 3].map(i => ({ id: `wamid.${i}`, from: '1', timestamp: '1', type: 'text', text: { body: `m${i}` } })) } }] },
      {
        id: 'other-waba',
        changes: [
          { field: 'messages', value: { metadata: { phone_number_id: '220' }, statuses: [{ id: 'wamid.s', status: 'played', timestamp: '2' }, { id: 'wamid.s', status: 'brand_new', timestamp: '2' }] } },
          { field: 'messages', value: { metadata, errors: [{ code: 130429, title: 'Rate limit hit', error_data: { details: 'slow down' } }] } },
          { field: 'account_update', value: { event: 'VERIFIED_ACCOUNT' } },
          { field: 'smb_message_echoes', value: { metadata, message_echoes: [] } }
        ]
      }
    ]
  }
  const events = normalize(payload)
  t.same(events.map(e => e.kind), ['message', 'message', 'message', 'status', 'status', 'error', 'unknown', 'unknown'])
  t.match(events[3], { kind: 'status', status: 'played', phoneNumberId: '220', wabaId: 'other-waba' })
  t.match(events[4], { kind: 'status', status: 'brand_new' }, 'unknown status strings are kept')
  t.match(events[5], { kind: 'error', field: 'messages', error: { code: 130429, title: 'Rate limit hit', details: 'slow down' } })
  t.match(events[6], { kind: 'unknown', field: 'account_update' })
})

t.test('SPEC §4 types without a fixture are read', async (t) => {
  const m = (type: string, extra: Record<string, unknown>): unknown => ({ id: `wamid.${type}`, timestamp: '1789200000', type, ...extra })
  const events = normalize(envelope({
    metadata,
    contacts: [{ profile: { name: 'Lina K', username: 'lina.k' }, user_id: 'US.999' }],
    messages: [
      m('text', { from_user_id: 'US.999', text: { body: 'hi' }, context: { forwarded: true }, referral: { source_url: 'https://fb.me/x', source_id: '123', source_type: 'ad', headline: 'Sale', ctwa_clid: 'clid', welcome_message: { text: 'Hello' } } }),
      m('system', { system: { body: 'User A changed from 1 to 2', type: 'user_changed_number', wa_id: '2', user_id: 'US.2', previous_user_id: 'US.1' } }),
      m('system', { system: { type: 'user_changed_user_id', user_id: 'US.3', previous_user_id: 'US.2' } }),
      m('request_welcome', { from: '1' }),
      m('unknown', { unknown: { type: 'event' }, errors: [{ code: 131051 }] }),
      m('edit', { edit: { original_message_id: 'wamid.orig', message: { type: 'text', text: { body: 'fixed' } } } }),
      m('revoke', { revoke: { original_message_id: 'wamid.orig' } }),
      m('interactive', { interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'accept' } } }),
      m('brand_new_type', { brand_new_type: { x: 1 } }),
      m('text', { context: { from: '1', id: 'wamid.p', referred_product: { catalog_id: 'c', product_retailer_id: 'r' } }, text: { body: 'this one?' }, group_id: 'g1' }),
      m('text', { context: { frequently_forwarded: true }, text: { body: 'fwd' } })
    ]
  }))
  const bodies = events.map(e => e.kind === 'message' ? e.body : null)
  const first = events[0] as InboundMessageEvent
  t.equal(first.from, null, 'username users have no phone')
  t.equal(first.fromUserId, 'US.999')
  t.same(first.profile, { name: 'Lina K', username: 'lina.k', waId: null, userId: 'US.999', parentUserId: null })
  t.match(first.context, { forwarded: true, frequentlyForwarded: false })
  t.match(first.referral, { sourceUrl: 'https://fb.me/x', sourceType: 'ad', headline: 'Sale', ctwaClid: 'clid', welcomeMessageText: 'Hello' })
  t.same(bodies[1], { type: 'system', systemType: 'user_changed_number', body: 'User A changed from 1 to 2', waId: '2', userId: 'US.2', previousUserId: 'US.1' })
  t.match(bodies[2], { type: 'system', systemType: 'user_changed_user_id', waId: null, userId: 'US.3' })
  t.same(bodies[3], { type: 'request_welcome' })
  t.same(bodies[4], { type: 'unsupported', declaredType: 'unknown', unsupportedType: 'event' })
  t.same(bodies[5], { type: 'edit', originalMessageId: 'wamid.orig', message: { type: 'text', text: 'fixed' } })
  t.same(bodies[6], { type: 'revoke', originalMessageId: 'wamid.orig' })
  t.same(bodies[7], { type: 'interactive', reply: { type: 'other', interactiveType: 'call_permission_reply' } })
  t.same(bodies[8], { type: 'other', declaredType: 'brand_new_type' })
  t.match(events[9], { context: { messageId: 'wamid.p', referredProduct: { catalogId: 'c', productRetailerId: 'r' } }, groupId: 'g1' })
  t.match(events[10], { context: { frequentlyForwarded: true } })
})

t.test('a status sent to a BSUID carries the recipient user id and the conversation block', async (t) => {
  const [e] = normalize(envelope({
    metadata,
    statuses: [{ id: 'wamid.b', status: 'delivered', timestamp: '10', recipient_user_id: 'US.7', conversation: { id: 'c1', expiration_timestamp: '99', origin: { type: 'service' } } }]
  }))
  t.match(e, { kind: 'status', recipientId: null, recipientUserId: 'US.7', conversation: { id: 'c1', expirationTimestamp: 99_000, originType: 'service' } })
})

t.test('template category and quality updates are template events', async (t) => {
  const events = normalize({
    object: 'whatsapp_business_account',
    entry: [{
      id: waba,
      time: 5,
      changes: [
        { field: 'template_category_update', value: { message_template_id: 1, message_template_name: 'n', message_template_language: 'en', previous_category: 'UTILITY', new_category: 'MARKETING' } },
        { field: 'message_template_quality_update', value: { message_template_id: 1, previous_quality_score: 'GREEN', new_quality_score: 'YELLOW' } }
      ]
    }]
  })
  t.match(events, [
    { kind: 'template', field: 'template_category_update', previousCategory: 'UTILITY', newCategory: 'MARKETING', time: 5000 },
    { kind: 'template', field: 'message_template_quality_update', previousQuality: 'GREEN', newQuality: 'YELLOW' }
  ])
})

t.test('wrong types anywhere never throw and are kept as unknown or invalid', async (t) => {
  const weird: unknown[] = [
    null, 1, 'x', [], {}, true,
    { object: 'page', entry: [] },
    { object: 'whatsapp_business_account' },
    { object: 'whatsapp_business_account', entry: {} },
    { object: 'whatsapp_business_account', entry: [] },
    { object: 'whatsapp_business_account', entry: [null, 1, 'x', { changes: 'string' }, { id: 5, changes: [null, { field: 1 }, { field: 'messages' }, { field: 'messages', value: [] }, { field: 'messages', value: {} }] }] },
    envelope({ metadata: 'x', contacts: 'x', messages: 'x', statuses: {} }),
    envelope({ metadata, messages: [null, 1, {}, { id: 5 }, { id: ['wamid.x'] }, { id: 'wamid.ok', timestamp: 1789200000, type: 'text', text: { body: 5 } }] }),
    envelope({ metadata: { phone_number_id: {} }, statuses: [null, { id: 'w' }, { id: 'w', status: 5 }, { id: 'w', status: 'sent', timestamp: 'yesterday', errors: 'x', pricing: 'x' }] }),
    envelope({ metadata, messages: [{ id: 'w1', type: 'location', location: { latitude: 91, longitude: 0 } }, { id: 'w2', type: 'location', location: { latitude: '1', longitude: '2' } }, { id: 'w3', type: 'location', location: { latitude: null, longitude: Infinity } }] }),
    envelope({ metadata, messages: [{ id: 'w', type: 'image' }, { id: 'w', type: 'image', image: 'x' }, { id: 'w', type: 'contacts', contacts: [null, { phones: 'x', name: 5 }] }, { id: 'w', type: 'reaction', reaction: { emoji: 5 } }, { id: 'w', type: 5 }, { id: 'w', type: 'interactive', interactive: { type: 'nfm_reply', nfm_reply: { response_json: '{not json' } } }] }),
    envelope({ metadata, messages: [{ id: 'w', type: 'edit', edit: { message: { type: 'edit', edit: { message: { type: 'edit', edit: { message: { type: 'text', text: { body: 'x' } } } } } } } }] }),
    envelope('x', 'message_template_status_update'),
    envelope({ event: 5, message_template_id: -1 }, 'message_template_status_update')
  ]
  for (const payload of weird) {
    let events: InboundEvent[] = []
    t.doesNotThrow(() => { events = normalize(payload) }, JSON.stringify(payload)?.slice(0, 80))
    t.ok(events.length > 0, 'nothing is dropped silently')
  }
  const messages = normalize(weird[12]).filter(e => e.kind === 'message')
  t.equal(messages.length, 1)
  t.match(messages[0], { wamid: 'wamid.ok', timestamp: 1789200000_000, body: { type: 'invalid', declaredType: 'text' } }, 'numeric timestamp tolerated')
  t.equal(normalize(weird[12]).filter(e => e.kind === 'unknown').length, 5)
  const statuses = normalize(weird[13])
  t.match(statuses.at(-1), { kind: 'status', status: 'sent', timestamp: null, errors: [], pricing: null, phoneNumberId: null })
  const locations = normalize(weird[14]) as InboundMessageEvent[]
  t.same(locations.map(e => e.body.type), ['invalid', 'invalid', 'invalid'])
  const bodies = (normalize(weird[15]) as InboundMessageEvent[]).map(e => e.body)
  t.match(bodies, [
    { type: 'invalid', declaredType: 'image' },
    { type: 'invalid', declaredType: 'image' },
    { type: 'contacts', cards: [{ formattedName: null, phones: [] }] },
    { type: 'reaction', messageId: null, emoji: null },
    { type: 'other', declaredType: null },
    { type: 'interactive', reply: { type: 'nfm_reply', response: null, flowToken: null } }
  ])
})

t.test('parseWebhook refuses invalid UTF-8, empty bodies and broken JSON', async (t) => {
  t.same(parseWebhook(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])), { ok: false, reason: 'invalid-utf8' })
  t.same(parseWebhook(Buffer.from([0xc0, 0xaf])), { ok: false, reason: 'invalid-utf8' }, 'overlong encoding')
  t.same(parseWebhook(Buffer.from([0xed, 0xa0, 0x80])), { ok: false, reason: 'invalid-utf8' }, 'encoded surrogate')
  t.same(parseWebhook(Buffer.from('{"a":1}', 'utf16le')), { ok: false, reason: 'invalid-json' }, 'UTF-16 body')
  t.same(parseWebhook(Buffer.alloc(0)), { ok: false, reason: 'empty' })
  t.same(parseWebhook(Buffer.from('   \n')), { ok: false, reason: 'empty' })
  t.same(parseWebhook(Buffer.from('{"a":')), { ok: false, reason: 'invalid-json' })
  t.same(parseWebhook(Buffer.from('{"a":"\\ud800 lone","b":"nul\\u0000"}')), { ok: true, payload: { a: '\ufffd lone', b: 'nul\u0000' } }, 'lone surrogates repaired')
  t.same(parseWebhook(Buffer.from('{"id":"1","id":"2","n":[1e309,-0,9007199254740993]}')), { ok: true, payload: { id: '2', n: [Infinity, -0, 2 ** 53] } }, 'duplicate keys: last wins; big numbers are plain numbers')
})

t.test('100k-deep nesting is refused without a stack overflow; 64 levels pass', async (t) => {
  for (const open of ['[', '{"a":']) {
    const close = open === '[' ? ']' : '}'
    const deep = open.repeat(100_000) + '1' + close.repeat(100_000)
    t.same(parseWebhook(Buffer.from(deep)), { ok: false, reason: 'too-deep' })
    t.same(parseWebhook(Buffer.from(open.repeat(100_000))), { ok: false, reason: 'too-deep' }, 'unterminated')
  }
  t.equal(parseWebhook(Buffer.from('['.repeat(64) + ']'.repeat(64))).ok, true)
  t.same(parseWebhook(Buffer.from('['.repeat(65) + ']'.repeat(65))), { ok: false, reason: 'too-deep' })
  t.equal(parseWebhook(Buffer.from(JSON.stringify({ s: '['.repeat(10_000) + '"\\' }))).ok, true, 'brackets and escapes inside strings do not count')
  const wide = `[${Array.from({ length: 1_000_000 }, () => '0').join(',')}]`
  t.equal(parseWebhook(Buffer.from(wide)).ok, true, '1e6-element array')
})

t.test('__proto__, constructor and prototype keys never reach objects', async (t) => {
  const evil = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"object":"whatsapp_business_account",' +
    '"entry":[{"__proto__":{"polluted":"yes"},"id":"1","changes":[{"field":"messages","__proto__":{"polluted":"yes"},"value":{"__proto__":{"polluted":"yes"},' +
    '"metadata":{"phone_number_id":"2","constructor":{"polluted":"yes"}},"messages":[{"__proto__":{"polluted":"yes"},"prototype":{"polluted":"yes"},' +
    '"id":"wamid.p","timestamp":"1","type":"text","text":{"body":"x","__proto__":{"polluted":"yes"}}}]}}]}]}'
  const parsed = parseWebhook(Buffer.from(evil))
  if (!parsed.ok) throw new Error(parsed.reason)
  t.notMatch(JSON.stringify(parsed.payload), /polluted|__proto__|constructor|prototype/, 'the keys are gone')
  const events = normalize(parsed.payload)
  t.match(events, [{ kind: 'message', wamid: 'wamid.p', body: { type: 'text', text: 'x' } }])
  // Copying the results around must not pollute either.
  const copies = [Object.assign({}, parsed.payload), { ...(events[0] as object) }, structuredClone(events)]
  t.ok(copies.length)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  t.equal(Object.getPrototypeOf(parsed.payload), Object.prototype)
})

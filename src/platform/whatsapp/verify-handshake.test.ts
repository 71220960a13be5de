// The verification GET against the SECURITY §3.4 corpus: only a subscribe with a matching token and a
// numeric challenge is answered, and nothing else is ever reflected.
import t from 'tap'
import { handshake } from './verify-handshake.js'

const token = 'fixture-verify-token-NOT-REAL'
const good = { 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': '1158201444' }

t.test('a subscribe with the right token echoes the numeric challenge', async (t) => {
  t.same(handshake(good, [token]), { ok: true, challenge: '1158201444' })
  t.same(handshake(good, ['old-token', token]), { ok: true, challenge: '1158201444' }, 'any configured token matches')
  t.same(handshake({ ...good, 'hub.challenge': '9'.repeat(64) }, [token]), { ok: true, challenge: '9'.repeat(64) })
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, good)
  t.same(handshake(nullProto, [token]), { ok: true, challenge: '1158201444' }, 'null-prototype query objects work')
})

t.test('the §3.4 corpus is refused without reflecting anything', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['wrong token', { ...good, 'hub.verify_token': 'nope' }],
    ['token differing in case', { ...good, 'hub.verify_token': token.toUpperCase() }],
    ['token with a trailing space', { ...good, 'hub.verify_token': token + ' ' }],
    ['empty token', { ...good, 'hub.verify_token': '' }],
    ['very long token', { ...good, 'hub.verify_token': token + 'x'.repeat(100_000) }],
    ['missing token', { 'hub.mode': 'subscribe', 'hub.challenge': '1' }],
    ['mode unsubscribe', { ...good, 'hub.mode': 'unsubscribe' }],
    ['mode Subscribe', { ...good, 'hub.mode': 'Subscribe' }],
    ['missing mode', { 'hub.verify_token': token, 'hub.challenge': '1' }],
    ['missing challenge', { 'hub.mode': 'subscribe', 'hub.verify_token': token }],
    ['empty challenge', { ...good, 'hub.challenge': '' }],
    ['script challenge', { ...good, 'hub.challenge': '<script>alert(1)</script>' }],
    ['10 KB challenge', { ...good, 'hub.challenge': '1'.repeat(10_240) }],
    ['65-digit challenge', { ...good, 'hub.challenge': '1'.repeat(65) }],
    ['challenge with a newline', { ...good, 'hub.challenge': '123\n' }],
    ['negative challenge', { ...good, 'hub.challenge': '-1' }],
    ['Arabic-Indic digits', { ...good, 'hub.challenge': '١٢٣' }],
    ['repeated challenge', { ...good, 'hub.challenge': ['1', '2'] }],
    ['repeated token', { ...good, 'hub.verify_token': [token, token] }],
    ['repeated mode', { ...good, 'hub.mode': ['subscribe', 'subscribe'] }],
    ['numeric challenge value', { ...good, 'hub.challenge': 123 }],
    ['PHP-style names', { hub_mode: 'subscribe', hub_verify_token: token, hub_challenge: '1' }]
  ]
  for (const [name, query] of cases) t.same(handshake(query, [token]), { ok: false }, name)
  t.same(handshake(good, []), { ok: false }, 'no token configured')
  t.same(handshake({ ...good, 'hub.verify_token': '' }, ['']), { ok: false }, 'an empty configured token never matches')
  const inherited = Object.create({ 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': '1' }) as Record<string, unknown>
  t.same(handshake(inherited, [token]), { ok: false }, 'inherited properties are not parameters')
})

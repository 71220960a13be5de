// Phone normalisation (issue 6 item 8, SECURITY.md D24): every spelling of one number — separators,
// brackets, "+", "00" or none, national or international, ASCII, fullwidth, Arabic-Indic or Persian
// digits — becomes one E.164 and so one blind index; the same number in another workspace has another
// index; garbage is refused with a reason. The variants are generated from a seeded random source
// (the seed is printed with any failure), for many numbers of several countries.
import t from 'tap'
import { setIndexRoot } from '../../platform/crypto/index.js'
import { normaliseWaId } from './contacts.service.js'
import { emailIndex, foldDigits, formatPhone, isCountry, legacyVariant, normaliseEmail, normalisePhone, phoneIndex, phoneSpellings, waIdIndexOf } from './phone.js'

setIndexRoot(Buffer.alloc(32, 9))

/** Fixed, so a failure replays; change it locally to explore other variants. */
const seed = 0x5eed6
const wsA = 'ws_aaaaaaaaaaaaaaaaaaaa'
const wsB = 'ws_bbbbbbbbbbbbbbbbbbbb'

/** mulberry32: a small deterministic generator, so a failure can be replayed with its seed. */
function generator (s: number): () => number {
  let a = s >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
const rng = generator(seed)
const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]!
const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(rng() * 10))).join('')
const between = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1))

// ── spellings ──
const scripts = {
  ascii: (d: string) => d,
  fullwidth: (d: string) => String.fromCharCode(0xFF10 + Number(d)),
  arabicIndic: (d: string) => String.fromCharCode(0x0660 + Number(d)),
  persian: (d: string) => String.fromCharCode(0x06F0 + Number(d))
}
type Script = keyof typeof scripts
const scriptNames = Object.keys(scripts) as Script[]

/** The digits of `text` written in one random script (or a random script per digit). */
function inScript (text: string): string {
  const mixed = rng() < 0.15
  const one = pick(scriptNames)
  return text.replace(/[0-9]/g, d => scripts[mixed ? pick(scriptNames) : one](d))
}

const separators = [' ', ' ', '-', '.', '\u00A0', '', ' - ', '/', '  ']

/** Digits cut into random groups joined by random separators. */
function grouped (text: string): string {
  const out: string[] = []
  let i = 0
  while (i < text.length) {
    const n = between(1, 4)
    out.push(text.slice(i, i + n))
    i += n
  }
  return out.join(pick(separators))
}

function padded (text: string): string {
  return pick(['', ' ', '\t', '  ']) + text + pick(['', ' ', '\n'])
}

interface Sample { digits: string, cc: string, nsn: string, country: string, national: () => string }

/** Spellings a person could type for `n`: international always; bare and national ones only in its own country. */
function spellings (n: Sample, defaultCountry: string, count: number): string[] {
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const own = defaultCountry === n.country
    // Bare country code + number ("15550100000", "5511987654321") is how US and Brazilian numbers are
    // often written (and what wa_ids look like); elsewhere it can be a long national number.
    const bare = own && (n.country === 'US' || n.country === 'BR')
    const kind = pick(own ? ['plus', 'plus', 'fullplus', '00', ...(bare ? ['bare'] : []), 'national', 'national'] : ['plus', 'plus', 'fullplus', '00'])
    let text: string
    switch (kind) {
      case 'plus': text = `+${n.cc}${pick(separators)}${grouped(n.nsn)}`; break
      case 'fullplus': text = `\uFF0B${n.cc} ${grouped(n.nsn)}`; break
      case '00': text = `00${pick(['', ' '])}${n.cc}${pick(separators)}${grouped(n.nsn)}`; break
      case 'bare': text = `${n.cc}${pick(separators)}${grouped(n.nsn)}`; break
      default: text = n.national()
    }
    out.push(padded(inScript(text)))
  }
  return out
}

// ── numbers ──
const usAreas = ['201', '212', '213', '305', '312', '415', '512', '617', '702', '713', '808', '917']
function usNumber (): Sample {
  const area = pick(usAreas)
  const exchange = String(between(2, 9)) + digits(2)
  const line = digits(4)
  const nsn = area + exchange + line
  return {
    digits: '1' + nsn,
    cc: '1',
    nsn,
    country: 'US',
    national: () => pick([`(${area}) ${exchange}-${line}`, `${area}${pick(separators)}${exchange}${pick(separators)}${line}`, `1 ${area} ${exchange} ${line}`, `1-${area}-${exchange}-${line}`, `${area}.${exchange}.${line}`])
  }
}
/** Numbers shaped like the "+1 555 010 0000" (area 555, exchange 01x): possible, not valid. */
function usFictional (): Sample {
  const exchange = '01' + digits(1)
  const line = digits(4)
  const nsn = '555' + exchange + line
  return { digits: '1' + nsn, cc: '1', nsn, country: 'US', national: () => pick([`(555) ${exchange}-${line}`, `1 555 ${exchange} ${line}`, `555${exchange}${line}`]) }
}
const brAreas = ['11', '21', '31', '41', '47', '51', '61', '71', '81', '85', '91']
function brMobile (): Sample {
  const area = pick(brAreas)
  const sub = '9' + String(between(6, 9)) + digits(7)
  return {
    digits: '55' + area + sub,
    cc: '55',
    nsn: area + sub,
    country: 'BR',
    national: () => pick([`(${area}) ${sub.slice(0, 5)}-${sub.slice(5)}`, `${area} ${sub}`, `0${area} ${sub.slice(0, 5)} ${sub.slice(5)}`, `(0${area}) ${sub.slice(0, 5)}-${sub.slice(5)}`])
  }
}
function brLandline (): Sample {
  const area = pick(brAreas)
  const sub = String(between(2, 5)) + digits(7)
  return { digits: '55' + area + sub, cc: '55', nsn: area + sub, country: 'BR', national: () => `(${area}) ${sub.slice(0, 4)}-${sub.slice(4)}` }
}
function foreign (cc: string, country: string, trunk: string, nsn: () => string): () => Sample {
  return () => {
    const n = nsn()
    return { digits: cc + n, cc, nsn: n, country, national: () => trunk + grouped(n) }
  }
}
const generators = [
  usNumber, usNumber, usFictional, brMobile, brMobile, brLandline,
  foreign('44', 'GB', '0', () => '79' + String(between(2, 9)) + digits(7)),
  foreign('49', 'DE', '0', () => '151' + digits(8)),
  foreign('351', 'PT', '', () => '91' + digits(7)),
  foreign('91', 'IN', '0', () => String(between(7, 9)) + digits(9)),
  foreign('52', 'MX', '', () => '55' + digits(8))
]

t.test('many spellings of one number give one E.164 and one blind index (seeded property test)', async (t) => {
  const numbers = Array.from({ length: 160 }, () => pick(generators)())
  let checked = 0
  const failures: string[] = []
  for (const n of numbers) {
    const expected = phoneIndex(wsA, n.digits)
    for (const defaultCountry of [...new Set([n.country, 'US', 'BR'])]) {
      for (const spelling of spellings(n, defaultCountry, 12)) {
        checked++
        const result = normalisePhone(spelling, defaultCountry)
        if (!result.ok) { failures.push(`${JSON.stringify(spelling)} (${defaultCountry}) → ${result.reason}`); continue }
        if (result.e164 !== '+' + n.digits || phoneIndex(wsA, result.digits) !== expected) failures.push(`${JSON.stringify(spelling)} (${defaultCountry}) → ${result.e164}, expected +${n.digits}`)
      }
    }
  }
  t.same(failures.slice(0, 10), [], `seed ${seed}: every spelling normalises to its number (${failures.length} of ${checked} failed)`)
  t.ok(checked > 3000, `${checked} spellings checked`)
})

t.test('the examples of the issue and SECURITY.md D24', async (t) => {
  const us = ['+1 (555) 010-0000', '15550100000', '+1 555 010 0000', '001 555 010 0000', '+1-555-010-0000', '(555) 010-0000',
    '＋１ （５５５） ０１０－００００', '١٥٥٥٠١٠٠٠٠٠', '+۱ ۵۵۵ ۰۱۰ ۰۰۰۰', ' +1 555 010 0000 ext. 42 ']
  const index = new Set(us.map(s => { const r = normalisePhone(s, 'US'); return r.ok ? phoneIndex(wsA, r.digits) : `invalid:${s}` }))
  t.equal(index.size, 1, 'US spellings share one index')
  t.equal([...index][0], phoneIndex(wsA, '15550100000'))

  const br = [['(11) 98765-4321', 'BR'], ['+55 11 98765-4321', 'BR'], ['5511987654321', 'BR'], ['+55 11 98765-4321', 'US'], ['0055 11 9 8765 4321', 'US'], ['011 98765-4321', 'BR']] as const
  for (const [s, c] of br) t.same(normalisePhone(s, c), { ok: true, e164: '+5511987654321', digits: '5511987654321' }, `${s} with ${c}`)
})

t.test('the same number in two workspaces has different indexes; purposes differ too', async (t) => {
  for (let i = 0; i < 50; i++) {
    const n = pick(generators)()
    t.not(phoneIndex(wsA, n.digits), phoneIndex(wsB, n.digits), `+${n.digits}: per-workspace keys`)
    t.not(waIdIndexOf(wsA, n.digits), waIdIndexOf(wsB, n.digits))
  }
  t.not(phoneIndex(wsA, '15550100000'), waIdIndexOf(wsA, '15550100000'), 'extra phones and WhatsApp ids are indexed under separate purposes')
  t.not(emailIndex(wsA, 'ana@example.com'), emailIndex(wsB, 'ana@example.com'))
})

t.test('the WhatsApp path (normaliseWaId → wa_id index) agrees with phone.ts for every spelling', async (t) => {
  let checked = 0
  for (let i = 0; i < 60; i++) {
    const n = pick(generators)()
    // What Meta sends: bare digits. What contacts.service stores: waIdIndexOf over normaliseWaId.
    const stored = waIdIndexOf(wsA, normaliseWaId(n.digits))
    for (const spelling of spellings(n, n.country, 6)) {
      const r = normalisePhone(spelling, n.country)
      t.ok(r.ok && waIdIndexOf(wsA, r.digits) === stored, `${JSON.stringify(spelling)} finds the WhatsApp contact`)
      checked++
    }
    // An edited wa_id with "+", spaces or other scripts' digits folds to the same digits.
    t.equal(normaliseWaId(inScript(`+${n.cc} ${grouped(n.nsn)}`)), n.digits)
  }
  t.ok(checked >= 300)
})

t.test('garbage is refused with a reason', async (t) => {
  const cases: Array<[string, string]> = [
    ['', 'empty'], ['   ', 'empty'], ['()- .', 'empty'],
    ['hello', 'invalid'], ['555-CALL-NOW', 'invalid'], ['12', 'invalid'], ['+', 'invalid'], ['++1 555 010 0000', 'invalid'],
    ['+1 555 010 0000; DROP TABLE contacts', 'invalid'], ['=HYPERLINK("x")', 'invalid'], ['☎️ 555', 'invalid'], ['+999 1234 5678', 'invalid'],
    ['1'.repeat(65), 'too_long'], ['+' + '5'.repeat(80), 'too_long']
  ]
  for (const [input, reason] of cases) t.same(normalisePhone(input, 'US'), { ok: false, reason }, JSON.stringify(input))
  // Random junk: letters and symbols never produce a number.
  for (let i = 0; i < 200; i++) {
    const junk = Array.from({ length: between(1, 20) }, () => pick([...'abcxyz!?@#*&%$éç漢😀', ' '])).join('')
    const r = normalisePhone(junk, pick(['US', 'BR']))
    t.notOk(r.ok, `${JSON.stringify(junk)} is not a number`)
  }
})

t.test('legacy variants: Brazil 9th digit, Mexico 521, Argentina 549, both ways', async (t) => {
  t.equal(legacyVariant('5511987654321'), '551187654321')
  t.equal(legacyVariant('551187654321'), '5511987654321')
  t.equal(legacyVariant('551134567890'), undefined, 'a Brazilian landline has no variant')
  t.equal(legacyVariant('5215512345678'), '525512345678')
  t.equal(legacyVariant('5491123456789'), '541123456789')
  t.equal(legacyVariant('15550100000'), undefined)
  for (let i = 0; i < 100; i++) {
    const n = brMobile()
    const alt = legacyVariant(n.digits)!
    t.equal(legacyVariant(alt), n.digits, `+${n.digits} ↔ +${alt}`)
    t.same(phoneSpellings(alt).sort(), [n.digits, alt].sort())
  }
  // An old WhatsApp id without the 9th digit still normalises (it is a real id).
  t.same(normalisePhone('551187654321', 'BR'), { ok: true, e164: '+551187654321', digits: '551187654321' })
})

t.test('digit folding, countries, formatting and emails', async (t) => {
  t.equal(foldDigits('١٢٣ ۴۵۶ ７８９'), '123 456 789')
  t.ok(isCountry('BR'))
  t.ok(isCountry('US'))
  t.notOk(isCountry('br'), 'codes are upper case')
  t.notOk(isCountry('XX'))
  t.notOk(isCountry('BRA'))
  t.equal(formatPhone('+5511987654321'), '+55 11 98765 4321')
  t.equal(formatPhone('5511987654321'), '+55 11 98765 4321')
  t.equal(normaliseEmail('  Ana.Souza@Example.COM '), 'ana.souza@example.com')
  t.equal(normaliseEmail('not an email'), undefined)
  t.equal(emailIndex(wsA, normaliseEmail('ANA@example.com')!), emailIndex(wsA, normaliseEmail('ana@EXAMPLE.com ')!))
})

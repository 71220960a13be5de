import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { resolveAssets } from '../../platform/assets.js'
import { createEta } from '../../platform/http/render.js'
import { I18n } from '../../platform/i18n/i18n.js'
import { mailKinds, renderMail, type MailData, type MailKind } from './mail.service.js'

const assets = resolveAssets(t.testdirName)
const eta = createEta(assets.views, true)
const i18n = new I18n(assets.locales)
const evil = '<script>alert(1)</script>'
const escapedEvil = '&lt;script&gt;alert(1)&lt;/script&gt;'
const link = (path: string) => `https://crm.example.com/${path}?token=Ab_-9xYz.Q~0`

const samples: { [K in MailKind]: MailData[K] } = {
  invite: { inviterName: evil, workspaceName: `Acme ${evil}`, role: 'agent', acceptUrl: link('invites/accept'), expiresInHours: 72 },
  verify_email: { name: evil, verifyUrl: link('account/verify'), expiresInMinutes: 60 },
  reset_password: { name: evil, resetUrl: link('password/reset'), expiresInMinutes: 30 },
  email_change_confirm: { name: evil, confirmUrl: link('account/email/confirm'), expiresInMinutes: 60 },
  email_changed_notice: { name: evil, newEmailMasked: `n•••@example.com ${evil}`, supportHint: `Ask ${evil} at the front desk.` },
  password_changed_notice: { name: evil },
  account_deleted: { name: evil, purgeDate: 'December 25, 2026' },
  signup_attempt: { name: evil, loginUrl: link('login'), resetUrl: link('forgot') },
  channel_needs_attention: { name: evil, workspaceName: evil, channelName: evil, phoneNumber: '15550100100', reason: evil, advice: evil, channelUrl: link('settings/channels/01ABC') }
}

function urlsOf (kind: MailKind): string[] {
  return Object.entries(samples[kind]).filter(([key]) => key.endsWith('Url')).map(([, value]) => value as string)
}

const count = (text: string, part: string): number => text.split(part).length - 1

for (const locale of ['en', 'pt-BR']) {
  const tr = i18n.translator(locale)
  for (const kind of mailKinds) {
    t.test(`the ${kind} email renders in ${locale} with its link exactly as given and user data escaped`, async (t) => {
      const mail = renderMail(eta, tr, kind, samples[kind] as never)
      const urls = urlsOf(kind)

      t.ok(mail.subject.length > 5)
      t.notMatch(mail.subject, /[\r\n]/)
      for (const [part, body] of [['subject', mail.subject], ['html', mail.html], ['text', mail.text]] as const) {
        t.notMatch(body, /\bmail\.[a-z_]+\.[a-zA-Z.]+/, `${part}: no untranslated key`)
        t.notMatch(body, /\{[a-zA-Z]+\}/, `${part}: no unfilled placeholder`)
        t.notMatch(body, /undefined|\[object Object\]/, `${part}: no missing value`)
      }

      t.notOk(mail.html.includes('<script>'), 'no live script tag in the HTML')
      t.ok(mail.html.includes(escapedEvil), 'the name appears escaped in the HTML')
      t.ok(mail.text.includes(evil), 'the text version carries the name as plain text')
      t.notOk(mail.text.includes('&lt;'), 'the text version is not HTML-escaped')
      t.match(mail.html, new RegExp(`<html lang="${locale}">`))
      t.match(mail.html, /Weltra/, 'the wordmark is there')

      const hrefs = [...mail.html.matchAll(/href="([^"]*)"/g)].map(m => m[1])
      if (urls.length === 0) {
        t.same(hrefs, [], 'a notice has no links')
        t.notMatch(mail.text, /https?:\/\//)
      }
      t.same(hrefs.filter(h => !urls.includes(h!)), [], 'no link other than the ones given')
      urls.forEach((url, i) => {
        if (i === 0) {
          t.same(hrefs.filter(h => h === url), [url, url], 'the button and the raw link below it, exactly the given URL')
          t.equal(count(mail.html, url), 3, 'the raw link is also shown as text')
        } else {
          t.equal(count(mail.html, url), 2, 'a further link, as link and text')
        }
        t.equal(count(mail.text, url), 1, 'the text version has the link once')
        t.match(mail.text, new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), 'on a line of its own')
      })
    })
  }
}

t.test('the emails are really translated: Portuguese text in pt-BR, English in en', async (t) => {
  const en = renderMail(eta, i18n.translator('en'), 'reset_password', { name: 'Ana', resetUrl: link('r'), expiresInMinutes: 30 })
  const pt = renderMail(eta, i18n.translator('pt-BR'), 'reset_password', { name: 'Ana', resetUrl: link('r'), expiresInMinutes: 30 })
  t.equal(en.subject, 'Reset your Weltra password')
  t.equal(pt.subject, 'Redefina sua senha do Weltra')
  t.match(en.text, /expires in 30 minutes/)
  t.match(pt.text, /expira em 30 minutos/)
  t.match(pt.html, /Escolher uma nova senha/)
  const one = renderMail(eta, i18n.translator('en'), 'invite', { inviterName: 'Bo', workspaceName: 'Acme', role: 'admin', acceptUrl: link('i'), expiresInHours: 1 })
  t.match(one.text, /expires in 1 hour\./, 'singular form')
  t.match(one.text, /as an admin/)
  t.equal(one.subject, 'Bo invited you to Acme on Weltra')
})

t.test('a link with "&" is escaped once in the HTML and left raw in the text', async (t) => {
  const url = 'https://crm.example.com/invites/accept?token=abc&lang=pt'
  const mail = renderMail(eta, i18n.translator('en'), 'invite', { inviterName: 'Bo', workspaceName: 'Acme', role: 'agent', acceptUrl: url, expiresInHours: 48 })
  t.equal(count(mail.html, 'token=abc&amp;lang=pt'), 3)
  t.notOk(mail.html.includes('&amp;amp;'))
  t.equal(count(mail.text, url), 1)
})

t.test('renderMail refuses a link that is not an absolute http(s) URL', async (t) => {
  const tr = i18n.translator('en')
  for (const bad of ['javascript:alert(1)', '/relative/path', 'data:text/html,x', 'https://ok.example.com/a b']) {
    t.throws(() => renderMail(eta, tr, 'verify_email', { name: 'A', verifyUrl: bad, expiresInMinutes: 5 }), /absolute http\(s\) URL/, bad)
  }
})

t.test('with the public URL given, renderMail refuses a link that points anywhere else', async (t) => {
  const tr = i18n.translator('en')
  const publicUrl = 'https://crm.example.com'
  t.doesNotThrow(() => renderMail(eta, tr, 'verify_email', { name: 'A', verifyUrl: 'https://crm.example.com/account/verify?token=x', expiresInMinutes: 5 }, { publicUrl }))
  for (const bad of ['https://crm.example.com.evil.test/verify', 'https://evil.test/?https://crm.example.com/', 'http://crm.example.com/verify']) {
    t.throws(() => renderMail(eta, tr, 'verify_email', { name: 'A', verifyUrl: bad, expiresInMinutes: 5 }, { publicUrl }), /must start with the public URL/, bad)
  }
})

t.test('en and pt-BR have exactly the same mail.* keys', async (t) => {
  const keys = (file: string) => Object.keys(JSON.parse(readFileSync(join(assets.locales, file), 'utf8')) as object).filter(k => k.startsWith('mail.')).sort()
  t.same(keys('pt-BR.json'), keys('en.json'))
  t.ok(keys('en.json').length > 40)
})

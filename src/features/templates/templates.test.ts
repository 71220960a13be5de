// The template cache: a sync pages through Meta's list (fake Graph server over real HTTP), upserts by
// (WABA, name, language) and marks what Meta no longer lists as DELETED; template webhooks update status,
// category and quality in place, found by Meta's id first, then by identity.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createUser } from '../../../test/helpers/accounts.js'
import { templates } from '../../db/schema.js'
import { startFakeGraph } from '../../platform/whatsapp/fake-graph.js'
import { GraphError } from '../../platform/whatsapp/graph-client.js'
import { normalize, parseWebhook, type TemplateEvent } from '../../platform/whatsapp/webhook-payload.js'
import { applyTemplateEvent, syncTemplates, templateSummary } from './templates.service.js'

const waba = '109876543210001'
const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'whatsapp')

async function setup (t: Test) {
  const fake = await startFakeGraph()
  t.teardown(() => fake.close())
  const env = await buildTestApp(t, { set: { 'whatsapp.graph_base_url': fake.url, 'whatsapp.graph_timeout_seconds': '2' } })
  const owner = await createUser(env.deps, { workspace: 'Shop' })
  const source = { workspaceId: owner.workspaceId!, wabaId: waba, accessToken: 'EAAG-templates-test-token', graphApiVersion: 'v25.0' }
  const rows = () => env.deps.db.select().from(templates).all().sort((a, b) => a.name.localeCompare(b.name))
  return { ...env, fake, source, rows }
}

function event (fields: Partial<TemplateEvent>): TemplateEvent {
  return {
    kind: 'template',
    field: 'message_template_status_update',
    wabaId: waba,
    time: null,
    event: null,
    templateId: null,
    templateName: null,
    language: null,
    reason: null,
    category: null,
    previousCategory: null,
    newCategory: null,
    previousQuality: null,
    newQuality: null,
    raw: {},
    ...fields
  }
}

t.test('a sync follows every page of Meta\'s list and stores each template once', async (t) => {
  const env = await setup(t)
  const result = await syncTemplates(env.deps, env.source, { pageSize: 1 })
  t.same(result, { total: 4, approved: 2, deleted: 0 })
  const pages = env.fake.requests.filter(r => r.path.endsWith('/message_templates'))
  t.equal(pages.length, 4, 'one request per page')
  t.same(pages.map(r => r.query.get('after')), [null, 'CURSOR-1', 'CURSOR-2', 'CURSOR-3'], 'each page continues from the previous cursor')
  t.ok(pages.every(r => r.headers.authorization === 'Bearer EAAG-templates-test-token'), 'with the channel token')
  const rows = env.rows()
  t.same(rows.map(r => [r.name, r.language, r.status]), [
    ['appointment_reminder', 'en_US', 'APPROVED'], ['autumn_sale', 'en_US', 'PAUSED'], ['login_code', 'en_US', 'REJECTED'], ['order_shipped', 'en', 'APPROVED']
  ])
  t.match(rows[0], { graphTemplateId: '990000000000012', category: 'UTILITY', parameterFormat: 'POSITIONAL', syncedAt: env.clock.now() })
  t.ok(Array.isArray(rows[0]!.components) && rows[0]!.components.length === 4, 'components are kept as Meta sent them')

  env.clock.advance(60_000)
  t.same(await syncTemplates(env.deps, env.source), { total: 4, approved: 2, deleted: 0 }, 'a second sync (one page of 100)')
  t.equal(env.count('templates'), 4, 'upserted, not duplicated')
  t.same(templateSummary(env.deps.db, env.source.workspaceId, waba), { total: 4, approved: 2, lastSyncedAt: env.clock.now() })
})

t.test('templates Meta no longer lists are marked DELETED; other WABAs are left alone', async (t) => {
  const env = await setup(t)
  const now = env.clock.now()
  const ws = env.source.workspaceId
  env.deps.db.insert(templates).values([
    { workspaceId: ws, wabaId: waba, name: 'old_promo', language: 'pt_BR', status: 'APPROVED', updatedAt: now },
    { workspaceId: ws, wabaId: '222222222222', name: 'other_account', language: 'en', status: 'APPROVED', updatedAt: now }
  ]).run()
  env.clock.advance(1000)
  const result = await syncTemplates(env.deps, env.source)
  t.equal(result.deleted, 1)
  const byName = new Map(env.rows().map(r => [r.name, r]))
  t.equal(byName.get('old_promo')!.status, 'DELETED')
  t.equal(byName.get('other_account')!.status, 'APPROVED', 'another WABA is not touched')
  t.equal(templateSummary(env.deps.db, ws, waba).total, 4, 'deleted templates are not counted')
})

t.test('a failed page writes nothing and throws the Graph error', async (t) => {
  const env = await setup(t)
  env.fake.script(req => req.path.endsWith('/message_templates') && req.query.get('after') === 'CURSOR-2', { status: 500 })
  await t.rejects(syncTemplates(env.deps, env.source, { pageSize: 2 }), GraphError)
  t.equal(env.count('templates'), 0)
  env.fake.script('/message_templates', { error: 'error-190-token-expired' })
  await t.rejects(syncTemplates(env.deps, env.source), { code: 190 })
})

t.test('a status webhook (fixture 39) updates the template found by Meta\'s id', async (t) => {
  const env = await setup(t)
  await syncTemplates(env.deps, env.source)
  const parsed = parseWebhook(readFileSync(join(fixtures, 'webhooks', '39-template-status-update.json')))
  t.ok(parsed.ok)
  const events = normalize(parsed.ok ? parsed.payload : null).filter((e): e is TemplateEvent => e.kind === 'template')
  t.equal(events.length, 1)
  env.clock.advance(5000)
  t.equal(applyTemplateEvent(env.deps.db, env.source.workspaceId, events[0]!, env.clock.now()), true)
  const row = env.rows().find(r => r.name === 'appointment_reminder')!
  t.match(row, { status: 'PAUSED', reason: null, updatedAt: env.clock.now() }, 'reason NONE is stored as no reason')
  t.equal(applyTemplateEvent(env.deps.db, env.source.workspaceId, events[0]!, env.clock.now()), false, 'the same event again changes nothing')
})

t.test('status, category and quality events; found by identity when the id is unknown', async (t) => {
  const env = await setup(t)
  await syncTemplates(env.deps, env.source)
  const ws = env.source.workspaceId
  const now = env.clock.now()
  const byName = () => new Map(env.rows().map(r => [r.name, r]))
  t.ok(applyTemplateEvent(env.deps.db, ws, event({ event: 'REJECTED', reason: 'INCORRECT_CATEGORY', templateId: '990000000000012' }), now))
  t.match(byName().get('appointment_reminder'), { status: 'REJECTED', reason: 'INCORRECT_CATEGORY' })
  t.ok(applyTemplateEvent(env.deps.db, ws, event({ field: 'template_category_update', templateId: '990000000000012', previousCategory: 'UTILITY', newCategory: 'MARKETING' }), now))
  t.equal(byName().get('appointment_reminder')!.category, 'MARKETING')
  t.ok(applyTemplateEvent(env.deps.db, ws, event({ field: 'message_template_quality_update', templateId: '990000000000012', previousQuality: 'GREEN', newQuality: 'YELLOW' }), now))
  t.equal(byName().get('appointment_reminder')!.quality, 'YELLOW')
  t.notOk(applyTemplateEvent(env.deps.db, ws, event({ field: 'message_template_quality_update', templateId: '990000000000012', newQuality: 'YELLOW' }), now), 'no change, false')

  const before = byName().get('order_shipped')!
  t.ok(applyTemplateEvent(env.deps.db, ws, event({ event: 'APPROVED', templateId: '555', templateName: 'order_shipped', language: 'en' }), now) === false, 'already APPROVED: nothing changes')
  t.ok(applyTemplateEvent(env.deps.db, ws, event({ event: 'DISABLED', templateId: '555', templateName: 'order_shipped', language: 'en' }), now))
  t.match(byName().get('order_shipped'), { id: before.id, status: 'DISABLED' }, 'found by (WABA, name, language)')
  t.equal(env.count('templates'), 4)
})

t.test('an event for an unknown template adds a minimal row when it names one, else it is ignored', async (t) => {
  const env = await setup(t)
  const ws = env.source.workspaceId
  const now = env.clock.now()
  t.ok(applyTemplateEvent(env.deps.db, ws, event({ event: 'PENDING', templateId: '777', templateName: 'welcome', language: 'pt_BR', category: 'MARKETING' }), now))
  t.match(env.rows()[0], { name: 'welcome', language: 'pt_BR', status: 'PENDING', category: 'MARKETING', graphTemplateId: '777', wabaId: waba })
  t.ok(applyTemplateEvent(env.deps.db, ws, event({ field: 'message_template_quality_update', templateId: '778', templateName: 'promo', language: 'en', newQuality: 'RED' }), now))
  t.match(env.rows().find(r => r.name === 'promo'), { status: 'UNKNOWN', quality: 'RED' }, 'not offered until a sync says what it is')
  t.notOk(applyTemplateEvent(env.deps.db, ws, event({ event: 'APPROVED', templateId: '779' }), now), 'no name or language: nothing to add')
  t.notOk(applyTemplateEvent(env.deps.db, ws, event({ event: 'APPROVED', templateId: '780', templateName: 'x', language: 'en', wabaId: null }), now), 'no WABA: nothing to add')
  t.notOk(applyTemplateEvent(env.deps.db, ws, event({ field: 'message_template_components_update', templateId: '777' }), now), 'other fields change nothing')
  t.notOk(applyTemplateEvent(env.deps.db, ws, event({ templateId: '777' }), now), 'a status update without a status changes nothing')
  t.equal(env.count('templates'), 2)
  const other = await createUser(env.deps, { workspace: 'Other' })
  t.ok(applyTemplateEvent(env.deps.db, other.workspaceId!, event({ event: 'REJECTED', templateId: '777', templateName: 'welcome', language: 'pt_BR' }), now), 'another workspace gets its own row')
  t.equal(env.rows().filter(r => r.name === 'welcome' && r.workspaceId === ws)[0]!.status, 'PENDING', 'the first workspace is untouched')
})

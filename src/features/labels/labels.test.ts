// One list of labels per workspace, shared by conversations and contacts: names are cleaned the same
// way wherever they are typed, found in any case, created once, and never shared across workspaces.
import t from 'tap'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createUser } from '../../../test/helpers/accounts.js'
import { ensureLabel, labelName, listLabels } from './labels.service.js'

t.test('labels are cleaned, found in any case, created once per workspace', async (t) => {
  const env = await buildTestApp(t)
  const a = (await createUser(env.deps, { workspace: 'A' })).workspaceId!
  const b = (await createUser(env.deps, { workspace: 'B', email: 'b@example.test' })).workspaceId!
  const now = env.clock.now()
  t.equal(labelName('  VIP\u202e  customer\u0007 '), 'VIP customer', 'controls and bidi overrides go, spaces collapse')
  t.equal(labelName('x'.repeat(60)).length, 40)
  const vip = ensureLabel(env.deps.db, a, 'VIP', now)
  t.equal(ensureLabel(env.deps.db, a, '  vip ', now).id, vip.id, 'the same label in another case')
  t.not(ensureLabel(env.deps.db, b, 'VIP', now).id, vip.id, 'another workspace gets its own')
  t.same(listLabels(env.deps.db, a).map(l => l.name), ['VIP'])
  t.throws(() => ensureLabel(env.deps.db, a, ' \u0000 ', now), { name: 'ValidationError' }, 'an empty name is refused')
  t.ok(vip.colour >= 0 && vip.colour < 8, 'a colour of the palette')
})

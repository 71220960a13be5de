import t from 'tap'
import { startPollLoop } from './poll-loop.js'

const tick = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test('passes never overlap; a kick during a pass runs exactly one more right after it', async (t) => {
  let running = 0
  let overlap = false
  let passes = 0
  let release: (() => void) | undefined
  const loop = startPollLoop({
    pollMs: 60_000,
    pass: async () => {
      running++
      if (running > 1) overlap = true
      passes++
      if (passes === 1) await new Promise<void>(resolve => { release = resolve })
      running--
      return 1
    },
    onError: () => {}
  })
  loop.kick()
  await tick(20)
  t.equal(passes, 1, 'the kick started a pass')
  loop.kick()
  loop.kick()
  await tick(20)
  t.equal(passes, 1, 'kicks during a pass wait for it')
  release!()
  await tick(30)
  t.equal(passes, 2, 'then one more pass, not one per kick')
  t.notOk(overlap)
  loop.stop()
  await loop.settled()
})

t.test('a pass that throws is reported and the loop carries on; after stop nothing runs', async (t) => {
  const errors: unknown[] = []
  let passes = 0
  const loop = startPollLoop({ pollMs: 60_000, firstMs: 0, pass: async () => { passes++; if (passes === 1) throw new Error('boom'); return 0 }, onError: (err) => errors.push(err) })
  await tick(20)
  t.equal(errors.length, 1)
  loop.kick()
  await tick(20)
  t.equal(passes, 2, 'kicked again after the failure')
  loop.stop()
  loop.kick()
  await tick(20)
  t.equal(passes, 2, 'stopped: a kick does nothing')
  t.equal(await loop.runOnce(), 0, 'runOnce still runs one pass on demand (tests, CLI)')
  await loop.settled()
})

// The loop every background worker runs (mail, media downloads, outbound sends): a pass every `pollMs`,
// or at once when kicked. Passes never overlap: a kick during a pass asks for one more pass right
// after it instead of a second one beside it. `runOnce` (tests, CLI) queues behind the pass in
// progress. After `stop`, nothing new is scheduled; `settled` says when the pass in progress ended.

export interface PollLoop {
  /** Run a pass now (or right after the one in progress). */
  kick: () => void
  /** One pass, after any in progress; resolves with what the pass reports (items handled). */
  runOnce: () => Promise<number>
  /** No pass is scheduled from now on (the one in progress, if any, carries on). */
  stop: () => void
  /** Resolves once the pass in progress (if any) has ended, whatever its outcome. */
  settled: () => Promise<void>
}

export interface PollLoopOptions {
  /** One pass; resolves with a count the caller finds useful (items handled). */
  pass: () => Promise<number>
  /** Time between passes when nobody kicks. */
  pollMs: number
  /** Delay before the first pass (default pollMs). */
  firstMs?: number
  /** A pass that threw (the loop carries on). */
  onError: (err: unknown) => void
}

export function startPollLoop (options: PollLoopOptions): PollLoop {
  const { pass, pollMs, onError } = options
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let looping = false
  let again = false
  let current: Promise<number> = Promise.resolve(0)

  function runOnce (): Promise<number> {
    const next = current.catch(() => 0).then(pass)
    current = next
    return next
  }

  function arm (ms: number): void {
    if (stopped) return
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => { tick().catch(() => {}) }, ms)
    timer.unref()
  }

  async function tick (): Promise<void> {
    timer = undefined
    if (looping) {
      again = true
      return
    }
    looping = true
    try {
      await runOnce()
    } catch (err) {
      onError(err)
    } finally {
      looping = false
      const soon = again
      again = false
      arm(soon ? 0 : pollMs)
    }
  }

  arm(options.firstMs ?? pollMs)

  return {
    kick () {
      if (stopped) return
      if (looping) again = true
      else arm(0)
    },
    runOnce,
    stop () {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
    settled: () => current.then(() => {}, () => {})
  }
}

// Who is writing a private note in a conversation right now, so the other agents viewing it see
// "Ana is writing a note…" under the thread. In memory only, per app instance, short-lived: the
// composer says "typing" at most every few seconds while a note is being written, and an entry lapses
// a few seconds after the last one (or at once when the note is sent or the text box emptied).
//
// The live stream stays a doorbell: a change rings `conversation-<id>-typing` (event
// 'conversation.typing', ids only) and the pages refetch GET /inbox/:id/typing, which lists the
// others typing — never the viewer. Customers' typing is not available from WhatsApp's API.
import type { Deps } from '../../deps.js'
import type { Events } from '../../platform/events.js'

/** How long one "typing" lasts without another (the composer repeats it every ~3 s while typing). */
export const typingTtlMs = 6_000

/** At most this many conversations × typers are tracked per instance (a safety cap, never reached in practice). */
const maxEntries = 10_000

type TypingDeps = Pick<Deps, 'events' | 'clock'>

export class TypingBoard {
  /** "<workspace id> <conversation id>" → user id → expires at (clock ms). */
  private readonly byConversation = new Map<string, Map<string, number>>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private entries = 0
  private closed = false

  constructor (private readonly deps: TypingDeps) {}

  /** The member is writing a note (again). Rings only when they were not already shown as typing. */
  start (workspaceId: string, conversationId: string, userId: string): void {
    if (this.closed) return
    const key = `${workspaceId} ${conversationId}`
    let typers = this.byConversation.get(key)
    const now = this.deps.clock.now()
    const was = typers?.get(userId)
    const fresh = was === undefined || was <= now
    if (was === undefined) {
      if (this.entries >= maxEntries) return
      this.entries++
    }
    if (typers === undefined) this.byConversation.set(key, (typers = new Map()))
    typers.set(userId, now + typingTtlMs)
    this.schedule(key)
    if (fresh) this.ring(workspaceId, conversationId)
  }

  /** The member stopped (sent the note, emptied the text box, left for a reply). Rings when they were shown. */
  stop (workspaceId: string, conversationId: string, userId: string): void {
    const key = `${workspaceId} ${conversationId}`
    const typers = this.byConversation.get(key)
    const was = typers?.get(userId)
    if (typers === undefined || was === undefined) return
    typers.delete(userId)
    this.entries--
    if (typers.size === 0) this.forget(key)
    if (was > this.deps.clock.now()) this.ring(workspaceId, conversationId)
  }

  /** The user ids writing a note in the conversation now (oldest first), without `exceptUserId`. */
  typers (workspaceId: string, conversationId: string, exceptUserId?: string): string[] {
    const typers = this.byConversation.get(`${workspaceId} ${conversationId}`)
    if (typers === undefined) return []
    const now = this.deps.clock.now()
    return [...typers].filter(([userId, until]) => until > now && userId !== exceptUserId).map(([userId]) => userId)
  }

  /** Forgets everything and stops the timers (the app is closing). */
  close (): void {
    this.closed = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    this.byConversation.clear()
    this.entries = 0
  }

  private ring (workspaceId: string, conversationId: string): void {
    this.deps.events.emit('conversation.typing', { workspaceId, conversationId })
  }

  private forget (key: string): void {
    this.byConversation.delete(key)
    const timer = this.timers.get(key)
    if (timer !== undefined) clearTimeout(timer)
    this.timers.delete(key)
  }

  /** One timer per conversation, at its earliest expiry: lapsed typers are dropped and the others told. */
  private schedule (key: string): void {
    const typers = this.byConversation.get(key)
    if (typers === undefined || this.timers.has(key)) return
    const now = this.deps.clock.now()
    const next = Math.min(...typers.values())
    const timer = setTimeout(() => { this.timers.delete(key); this.sweep(key) }, Math.max(250, next - now + 50))
    timer.unref()
    this.timers.set(key, timer)
  }

  private sweep (key: string): void {
    const typers = this.byConversation.get(key)
    if (typers === undefined) return
    const now = this.deps.clock.now()
    let lapsed = false
    for (const [userId, until] of typers) {
      if (until > now) continue
      typers.delete(userId)
      this.entries--
      lapsed = true
    }
    const [workspaceId, conversationId] = key.split(' ') as [string, string]
    if (typers.size === 0) this.forget(key)
    else this.schedule(key)
    if (lapsed) this.ring(workspaceId, conversationId)
  }
}

const boards = new WeakMap<Events, TypingBoard>()

/** The typing board of this app instance (one per event bus, created on first use). */
export function typingBoard (deps: TypingDeps): TypingBoard {
  let board = boards.get(deps.events)
  if (board === undefined) boards.set(deps.events, (board = new TypingBoard(deps)))
  return board
}

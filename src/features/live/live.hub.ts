// The live doorbell: one server-sent-events stream per browser tab, telling it only *what* changed,
// never the data (ARCHITECTURE §5, EXEMPLARS §3.11):
//
//   event: inbox                  the conversation list of the workspace changed
//   event: conversation-<id>      a conversation (its messages, ticks, assignment, labels) changed
//   event: conversation-<id>-typing   someone started or stopped writing a private note in it
//   event: ding                   a customer wrote in a conversation that is yours or nobody's
//   data: <conversation id> | -   (ids only; no names, no text)
//
// The page refetches the fragments it shows through the ordinary authorised GET routes. Streams are
// kept per workspace; a doorbell goes only to streams of members of that workspace, and membership
// is re-checked at every ring (the person may have been removed) and the session at every heartbeat
// (signed out elsewhere, idle, switched workspace). Rings are coalesced for a few milliseconds, so a
// batch of fifty webhook deliveries rings each tab once.
import type { Deps } from '../../deps.js'
import { assigneeOf } from '../inbox/conversations.service.js'
import { listUserSessions, timeoutsOf } from '../auth/sessions.service.js'
import { findMembership } from '../workspaces/workspaces.service.js'

export interface LiveConnection {
  userId: string
  sessionId: string
  workspaceId: string
  /** Writes raw SSE text; false when the socket is gone. */
  write: (chunk: string) => boolean
  /** Ends the stream (the browser reconnects, and the access check runs again). */
  end: () => void
}

export interface LiveOptions {
  /** Comment line every so often, so proxies and browsers keep the stream open. */
  heartbeatMs?: number
  /** Rings of one workspace within this window go out together. */
  coalesceMs?: number
  /** Streams one person may hold open at once (tabs, devices). */
  maxPerUser?: number
}

interface Pending { events: Set<string>, dings: Array<{ conversationId: string }> }

const sseName = /^[a-z0-9-]{1,80}$/i

export class LiveHub {
  private readonly byWorkspace = new Map<string, Set<LiveConnection>>()
  private readonly pending = new Map<string, Pending>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly unsubscribe: Array<() => void> = []
  private heartbeat: NodeJS.Timeout | undefined
  private closed = false
  readonly heartbeatMs: number
  private readonly coalesceMs: number
  readonly maxPerUser: number

  constructor (private readonly deps: Pick<Deps, 'db' | 'events' | 'config' | 'clock' | 'log'>, options: LiveOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 25_000
    this.coalesceMs = options.coalesceMs ?? 40
    this.maxPerUser = options.maxPerUser ?? 20
    const ev = deps.events
    this.unsubscribe.push(
      ev.on('message.created', (e) => {
        this.ring(e.workspaceId, ['inbox', `conversation-${e.conversationId}`])
        if (e.direction === 'in') this.queueDing(e.workspaceId, e.conversationId)
      }),
      ev.on('message.updated', (e) => this.ring(e.workspaceId, ['inbox', `conversation-${e.conversationId}`])),
      ev.on('media.settled', (e) => this.ring(e.workspaceId, [`conversation-${e.conversationId}`])),
      ev.on('conversation.updated', (e) => this.ring(e.workspaceId, ['inbox', `conversation-${e.conversationId}`])),
      ev.on('conversation.typing', (e) => this.ring(e.workspaceId, [`conversation-${e.conversationId}-typing`])),
      ev.on('channel.changed', (e) => this.ring(e.workspaceId, ['inbox']))
    )
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs)
    this.heartbeat.unref()
  }

  /** Open streams (all workspaces). */
  get size (): number {
    let n = 0
    for (const set of this.byWorkspace.values()) n += set.size
    return n
  }

  /** How many streams this person has open. */
  countFor (userId: string): number {
    let n = 0
    for (const set of this.byWorkspace.values()) for (const c of set) if (c.userId === userId) n++
    return n
  }

  get closing (): boolean {
    return this.closed
  }

  add (c: LiveConnection): void {
    let set = this.byWorkspace.get(c.workspaceId)
    if (set === undefined) this.byWorkspace.set(c.workspaceId, (set = new Set()))
    set.add(c)
  }

  remove (c: LiveConnection): void {
    const set = this.byWorkspace.get(c.workspaceId)
    if (set === undefined) return
    set.delete(c)
    if (set.size === 0) this.byWorkspace.delete(c.workspaceId)
  }

  /** Queues doorbell events for every stream of a workspace. */
  ring (workspaceId: string, events: string[]): void {
    if (this.closed || !this.byWorkspace.has(workspaceId)) return
    const p = this.pendingOf(workspaceId)
    for (const e of events) if (sseName.test(e)) p.events.add(e)
    this.schedule(workspaceId)
  }

  private queueDing (workspaceId: string, conversationId: string): void {
    if (this.closed || !this.byWorkspace.has(workspaceId)) return
    this.pendingOf(workspaceId).dings.push({ conversationId })
    this.schedule(workspaceId)
  }

  private pendingOf (workspaceId: string): Pending {
    let p = this.pending.get(workspaceId)
    if (p === undefined) this.pending.set(workspaceId, (p = { events: new Set(), dings: [] }))
    return p
  }

  private schedule (workspaceId: string): void {
    if (this.timers.has(workspaceId)) return
    const timer = setTimeout(() => { this.timers.delete(workspaceId); this.flush(workspaceId) }, this.coalesceMs)
    timer.unref()
    this.timers.set(workspaceId, timer)
  }

  /** Sends what is pending for a workspace to its members' streams. */
  flush (workspaceId: string): void {
    const p = this.pending.get(workspaceId)
    this.pending.delete(workspaceId)
    const set = this.byWorkspace.get(workspaceId)
    if (p === undefined || set === undefined) return
    const common = [...p.events].map(e => `event: ${e}\ndata: -\n\n`).join('')
    // A ding goes to the conversation's assignee, or to everyone when it is unassigned.
    const dings = p.dings.map(d => {
      let assignee: string | null | undefined
      try { assignee = assigneeOf(this.deps, workspaceId, d.conversationId) } catch { assignee = undefined }
      return { conversationId: d.conversationId, assignee }
    }).filter(d => d.assignee !== undefined)
    const members = new Map<string, boolean>()
    for (const c of [...set]) {
      let member = members.get(c.userId)
      if (member === undefined) {
        member = this.isMember(workspaceId, c.userId)
        members.set(c.userId, member)
      }
      if (!member) { this.drop(c); continue }
      let text = common
      for (const d of dings) {
        if (d.assignee === null) text += `event: ding\ndata: ${d.conversationId}\n\n`
        else if (d.assignee === c.userId) text += `event: ding-mine\ndata: ${d.conversationId}\n\n`
      }
      if (text !== '' && !c.write(text)) this.drop(c)
    }
  }

  private isMember (workspaceId: string, userId: string): boolean {
    try {
      return findMembership(this.deps.db, workspaceId, userId) !== undefined
    } catch (err) {
      this.deps.log.warn({ err }, 'live: membership check failed')
      return false
    }
  }

  /** Whether the stream's session still stands: not signed out, not idle or expired, same workspace. */
  private sessionValid (c: LiveConnection): boolean {
    try {
      const session = listUserSessions(this.deps.db, c.userId).find(s => s.id === c.sessionId)
      if (session === undefined || session.workspaceId !== c.workspaceId) return false
      const now = this.deps.clock.now()
      const timeouts = timeoutsOf(this.deps.config)
      return now - session.lastSeenAt < timeouts.idleMs && now - session.createdAt < timeouts.absoluteMs
    } catch (err) {
      this.deps.log.warn({ err }, 'live: session check failed')
      return false
    }
  }

  /** Heartbeat: a comment line to every stream, after checking its session and membership again. */
  beat (): void {
    for (const [workspaceId, set] of this.byWorkspace) {
      for (const c of [...set]) {
        if (!this.sessionValid(c) || !this.isMember(workspaceId, c.userId)) { this.drop(c); continue }
        if (!c.write(': keep-alive\n\n')) this.drop(c)
      }
    }
  }

  private drop (c: LiveConnection): void {
    this.remove(c)
    try { c.end() } catch { /* already gone */ }
  }

  /** Ends every stream (shutdown): browsers reconnect to whichever server answers next. */
  closeAll (): void {
    this.closed = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    this.pending.clear()
    for (const set of [...this.byWorkspace.values()]) for (const c of [...set]) this.drop(c)
  }

  /** Stops listening to events and ends every stream. */
  stop (): void {
    this.closeAll()
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat)
    for (const u of this.unsubscribe.splice(0)) u()
  }
}

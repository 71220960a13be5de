// What the composer under a thread needs to render (window state, canned responses, templates…).
// The inbox's thread route calls composerView and includes views/inbox/_composer.eta with the result.
import type { Deps } from '../../deps.js'

export interface ComposerView {
  conversationId: string
  /** When the 24-hour customer-service window closes (ms), or null when it is closed / never opened. */
  windowClosesAt: number | null
  /** The window is open now: free-form messages may be sent. */
  windowOpen: boolean
  /** The number cannot send (needs reconnecting / paused): the composer explains why. */
  channelBlocked: boolean
}

/** The composer's data for one conversation of the actor's workspace. */
export function composerView (deps: Pick<Deps, 'db' | 'clock'>, conversation: { id: string, lastInboundAt: number | null }, channel: { status: string }): ComposerView {
  const closes = conversation.lastInboundAt === null ? null : conversation.lastInboundAt + 24 * 60 * 60 * 1000
  const open = closes !== null && closes > deps.clock.now()
  return { conversationId: conversation.id, windowClosesAt: open ? closes : null, windowOpen: open, channelBlocked: channel.status !== 'active' }
}

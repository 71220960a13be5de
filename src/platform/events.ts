// The in-process event bus. Events are emitted after commit and carry ids only, never personal data;
// listeners re-read what they need (the live UI refetches through normal authorised routes).
import { EventEmitter } from 'node:events'

/** The catalogue of domain events: name → payload. Features add theirs here. */
export interface EventMap {
  'instance.started': { at: number }
  /** An email was queued: the mail worker should look now rather than at its next poll. */
  'mail.queued': { at: number }
  /** A signed webhook delivery was stored: the processor should look now. */
  'webhook.stored': { workspaceId: string, channelId: string }
  /** A media item waits for download. */
  'media.queued': { workspaceId: string }
  /** A media item was downloaded (or failed for good). */
  'media.settled': { workspaceId: string, messageId: string, conversationId: string }
  /** A new message was stored in a conversation (inbound or outbound). */
  'message.created': { workspaceId: string, conversationId: string, messageId: string, direction: 'in' | 'out' }
  /** A message changed: status tick, edit, revoke, reaction. */
  'message.updated': { workspaceId: string, conversationId: string, messageId: string }
  /** A channel's state changed (verified, first event, token problem, new issue). */
  'channel.changed': { workspaceId: string, channelId: string }
  /** An outbound message was queued: the outbound worker should look now. */
  'outbox.queued': { workspaceId: string }
  /** A conversation changed: assignment, status, labels, unread count. */
  'conversation.updated': { workspaceId: string, conversationId: string }
  /** Someone started or stopped writing a private note in a conversation (who: ask the typing board). */
  'conversation.typing': { workspaceId: string, conversationId: string }
  /** A template's status, category or quality changed (webhook or sync). */
  'template.changed': { workspaceId: string, wabaId: string }
  /** A contact import was started: the import worker should look now. */
  'contacts.import.queued': { workspaceId: string, importId: string }
}

export class Events {
  private readonly emitter = new EventEmitter({ captureRejections: false })

  constructor () {
    this.emitter.setMaxListeners(0)
  }

  emit<K extends keyof EventMap> (name: K, payload: EventMap[K]): void {
    this.emitter.emit(name, payload)
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof EventMap> (name: K, listener: (payload: EventMap[K]) => void): () => void {
    this.emitter.on(name, listener)
    return () => { this.emitter.off(name, listener) }
  }
}

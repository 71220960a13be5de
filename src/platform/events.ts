// The in-process event bus. Events are emitted after commit and carry ids only, never personal data;
// listeners re-read what they need (the live UI refetches through normal authorised routes).
import { EventEmitter } from 'node:events'

/** The catalogue of domain events: name → payload. Features add theirs here. */
export interface EventMap {
  'instance.started': { at: number }
  /** An email was queued: the mail worker should look now rather than at its next poll. */
  'mail.queued': { at: number }
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

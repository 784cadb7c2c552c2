import { randomUUID } from 'node:crypto'
import type { EventBus } from '../../platform/events/event-bus.js'
import type { MessageView } from './messages.schemas.js'

export const GENERATION_CHANNEL = 'chat.generation'
/** Asks the process that runs a generation to stop it (POST /v1/messages/{id}/cancel on another process). */
export const CANCEL_CHANNEL = 'chat.cancel'

/** What a follower of a message hears. `changed`: another process saved progress or finished; read the message again. */
export type GenerationEvent =
  | { type: 'delta'; offset: number; text: string }
  | { type: 'done'; message: MessageView }
  | { type: 'changed' }

type Listener = (event: GenerationEvent) => void

/**
 * Live generations. Deltas reach the followers in this process as they arrive; other processes hear,
 * over the event bus, each time progress is saved and when the message is finished, and read it again.
 */
export class GenerationHub {
  private readonly listeners = new Map<string, Set<Listener>>()
  /** Tells this process's own announcements apart from other processes'. */
  private readonly origin = randomUUID()
  private readonly unsubscribe: () => void
  private readonly unsubscribers: (() => void)[] = []

  constructor(
    private readonly events: EventBus,
    private readonly log: { warn(object: object, message: string): void },
  ) {
    this.unsubscribe = events.subscribe(GENERATION_CHANNEL, (payload) => {
      if (payload.origin === this.origin || typeof payload.message_id !== 'string') return
      this.deliver(payload.message_id, { type: 'changed' })
    })
  }

  follow(messageId: string, listener: Listener): () => void {
    let set = this.listeners.get(messageId)
    if (!set) {
      set = new Set()
      this.listeners.set(messageId, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.listeners.get(messageId) === set) this.listeners.delete(messageId)
    }
  }

  /** A delta or the end, to this process's followers. */
  emit(messageId: string, event: GenerationEvent): void {
    this.deliver(messageId, event)
  }

  /** Tells the other processes that the stored message changed (progress saved, finished, or marked interrupted). */
  announce(gptId: string, messageId: string): void {
    this.events.publish(GENERATION_CHANNEL, { gpt_id: gptId, message_id: messageId, origin: this.origin }).catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not announce generation progress to other processes')
    })
  }

  /** Asks every process to stop the generation of this message; the one that runs it does. */
  requestCancel(gptId: string, messageId: string): void {
    this.events.publish(CANCEL_CHANNEL, { gpt_id: gptId, message_id: messageId }).catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not ask the other processes to stop a generation')
    })
  }

  /** Hears the requests to stop a generation (this process's own too: it may run the generation by then). */
  onCancel(handler: (gptId: string, messageId: string) => void): () => void {
    const unsubscribe = this.events.subscribe(CANCEL_CHANNEL, (payload) => {
      if (typeof payload.gpt_id === 'string' && typeof payload.message_id === 'string') handler(payload.gpt_id, payload.message_id)
    })
    this.unsubscribers.push(unsubscribe)
    return unsubscribe
  }

  close(): void {
    this.unsubscribers.splice(0).forEach((unsubscribe) => unsubscribe())
    this.unsubscribe()
    this.listeners.clear()
  }

  private deliver(messageId: string, event: GenerationEvent): void {
    for (const listener of [...(this.listeners.get(messageId) ?? [])]) listener(event)
  }
}

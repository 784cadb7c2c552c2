/** A message to every process of the service (cache invalidation now; live inboxes later). */
export type EventHandler = (payload: Record<string, unknown>) => void

export interface EventBus {
  readonly kind: 'local' | 'postgres' | 'redis'
  publish(channel: string, payload: Record<string, unknown>): Promise<void>
  /** Returns the function that unsubscribes. */
  subscribe(channel: string, handler: EventHandler): () => void
  close(): Promise<void>
}

/** Channel names are namespaced and restricted so that they are valid identifiers everywhere. */
export function channelName(channel: string): string {
  if (!/^[a-z][a-z0-9_.]{0,40}$/.test(channel)) throw new Error(`invalid event channel "${channel}"`)
  return `agentstore.${channel}`
}

/** Keeps the handlers of each channel; the transports only deliver into it. */
export class HandlerRegistry {
  private readonly handlers = new Map<string, Set<EventHandler>>()

  add(channel: string, handler: EventHandler, onFirst: () => void, onLast: () => void): () => void {
    let set = this.handlers.get(channel)
    if (!set) {
      set = new Set()
      this.handlers.set(channel, set)
      onFirst()
    }
    set.add(handler)
    return () => {
      const current = this.handlers.get(channel)
      if (!current?.delete(handler) || current.size > 0) return
      this.handlers.delete(channel)
      onLast()
    }
  }

  deliver(channel: string, payload: Record<string, unknown>): void {
    for (const handler of this.handlers.get(channel) ?? []) handler(payload)
  }

  channels(): string[] {
    return [...this.handlers.keys()]
  }
}

/** One process (embedded PGlite): delivery in memory, asynchronously like the networked buses. */
export class LocalEventBus implements EventBus {
  readonly kind = 'local'
  private readonly registry = new HandlerRegistry()

  async publish(channel: string, payload: Record<string, unknown>): Promise<void> {
    const name = channelName(channel)
    queueMicrotask(() => this.registry.deliver(name, payload))
  }

  subscribe(channel: string, handler: EventHandler): () => void {
    return this.registry.add(channelName(channel), handler, () => {}, () => {})
  }

  async close(): Promise<void> {}
}

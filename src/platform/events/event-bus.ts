import { randomBytes } from 'node:crypto'

/** A message to every process of the service (cache invalidation, live inboxes, generation progress). */
export type EventHandler = (payload: Record<string, unknown>) => void

export interface EventBus {
  readonly kind: 'local' | 'postgres' | 'redis'
  /** True while this process hears every channel it subscribed to (its listening connection is up). */
  readonly live: boolean
  publish(channel: string, payload: Record<string, unknown>): Promise<void>
  /** Returns the function that unsubscribes. */
  subscribe(channel: string, handler: EventHandler): () => void
  /** Resolves true once the bus is live, false when `timeoutMs` passes first. */
  ready(timeoutMs: number): Promise<boolean>
  /** Proves delivery end to end (a publish heard back by this process); throws with the reason. */
  check(): Promise<string>
  close(): Promise<void>
}

const CHANNEL = /^[a-z][a-z0-9_.]{0,40}$/

/** Channel names are restricted so that they are valid identifiers on every transport. */
export function checkChannel(channel: string): string {
  if (!CHANNEL.test(channel)) throw new Error(`invalid event channel "${channel}"`)
  return channel
}

/** The PostgreSQL (and in-memory) name of a channel: namespaced, a valid quoted identifier. */
export function channelName(channel: string): string {
  return `agentstore.${checkChannel(channel)}`
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

  has(channel: string): boolean {
    return this.handlers.has(channel)
  }

  channels(): string[] {
    return [...this.handlers.keys()]
  }

  get size(): number {
    return this.handlers.size
  }
}

/**
 * Waits for a condition that a transport signals through `wake` (connection up, subscriptions
 * confirmed), without polling.
 */
export class LiveSignal {
  private waiters: (() => void)[] = []

  wake(): void {
    this.waiters.splice(0).forEach((resolve) => resolve())
  }

  async until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return true
  }
}

/**
 * A channel of this process alone: `check()` publishes on it and waits to hear it back, which proves
 * that the listening connection is up and delivering, not merely that a socket is open.
 */
export class DeliveryProbe {
  readonly channel = `bus.probe.${randomBytes(8).toString('hex')}`
  private readonly pending = new Map<string, () => void>()
  private attached = false

  /** Subscribes the probe's channel once, when the bus is first asked whether it is live. */
  attach(bus: Pick<EventBus, 'subscribe'>): void {
    if (this.attached) return
    this.attached = true
    bus.subscribe(this.channel, (payload) => {
      if (typeof payload.nonce === 'string') this.pending.get(payload.nonce)?.()
    })
  }

  async roundTrip(publish: (channel: string, payload: Record<string, unknown>) => Promise<void>, timeoutMs = 1000): Promise<number> {
    const nonce = randomBytes(8).toString('hex')
    const started = Date.now()
    let timer: NodeJS.Timeout | undefined
    const heard = new Promise<void>((resolve, reject) => {
      this.pending.set(nonce, resolve)
      timer = setTimeout(() => reject(new Error(`a published probe was not heard back within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      // Awaited together: a timeout that fires while a slow publish is still pending is this call's
      // error, not an unhandled rejection (which stops the process).
      await Promise.all([publish(this.channel, { nonce }), heard])
      return Date.now() - started
    } finally {
      clearTimeout(timer)
      this.pending.delete(nonce)
    }
  }
}

/** One process (embedded PGlite): delivery in memory, asynchronously like the networked buses. */
export class LocalEventBus implements EventBus {
  readonly kind = 'local'
  readonly live = true
  private readonly registry = new HandlerRegistry()

  async publish(channel: string, payload: Record<string, unknown>): Promise<void> {
    const name = channelName(channel)
    queueMicrotask(() => this.registry.deliver(name, payload))
  }

  subscribe(channel: string, handler: EventHandler): () => void {
    return this.registry.add(channelName(channel), handler, () => {}, () => {})
  }

  async ready(_timeoutMs = 0): Promise<boolean> {
    return true
  }

  async check(): Promise<string> {
    return 'in process'
  }

  async close(): Promise<void> {}
}

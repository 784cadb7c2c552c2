import type { Redis } from 'ioredis'
import { channelName, HandlerRegistry, type EventBus, type EventHandler } from './event-bus.js'
import type { BusLogger } from './postgres.bus.js'

/** Redis pub/sub: a subscriber connection of its own (a subscribed connection can do nothing else). */
export class RedisEventBus implements EventBus {
  readonly kind = 'redis'
  private readonly registry = new HandlerRegistry()
  private readonly subscriber: Redis

  constructor(
    private readonly publisher: Redis,
    private readonly log: BusLogger,
  ) {
    // Not the publisher's fail-fast settings (500 ms command timeout, no retries): a SUBSCRIBE that times
    // out while the process starts or Redis reconnects is never retried, and the process then hears nothing.
    this.subscriber = publisher.duplicate({ enableOfflineQueue: true, lazyConnect: false, commandTimeout: undefined, maxRetriesPerRequest: null })
    this.subscriber.on('error', (error) => this.log.warn({ err: error }, 'event bus: redis subscriber error'))
    this.subscriber.on('message', (channel: string, message: string) => {
      try {
        this.registry.deliver(channel, JSON.parse(message) as Record<string, unknown>)
      } catch (error) {
        this.log.warn({ err: error }, 'event bus: undeliverable message')
      }
    })
  }

  async publish(channel: string, payload: Record<string, unknown>): Promise<void> {
    await this.publisher.publish(channelName(channel), JSON.stringify(payload))
  }

  subscribe(channel: string, handler: EventHandler): () => void {
    const name = channelName(channel)
    const fail = (error: unknown) => this.log.warn({ err: error }, 'event bus: redis subscribe failed')
    return this.registry.add(
      name,
      handler,
      () => void this.subscriber.subscribe(name).catch(fail),
      () => void this.subscriber.unsubscribe(name).catch(fail),
    )
  }

  async close(): Promise<void> {
    this.subscriber.disconnect()
  }
}

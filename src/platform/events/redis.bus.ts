import type { Redis } from 'ioredis'
import { checkChannel, DeliveryProbe, HandlerRegistry, LiveSignal, type EventBus, type EventHandler } from './event-bus.js'
import type { BusLogger } from './postgres.bus.js'

const CHECK_WAIT_MS = 1000

/**
 * Redis pub/sub on a subscriber connection of its own (a subscribed connection can do nothing else).
 *
 * SUBSCRIBE is only ever sent once that connection is `ready`: ioredis lets it through during the
 * handshake, and the connection then refuses its own ready check ("Connection in subscriber mode"),
 * drops and comes back without the subscriptions. So ioredis does not resubscribe by itself here:
 * every `ready` (the first and each reconnect) subscribes to every current channel, and a channel is
 * counted live only once Redis confirmed it on the current connection.
 */
export class RedisEventBus implements EventBus {
  readonly kind = 'redis'
  private readonly registry = new HandlerRegistry()
  private readonly subscriber: Redis
  /** Channels Redis confirmed on the current subscriber connection. */
  private readonly confirmed = new Set<string>()
  private readonly signal = new LiveSignal()
  private readonly probe = new DeliveryProbe()
  private closed = false
  /** Reported once per outage, not at every reconnect attempt. */
  private down = false

  constructor(
    private readonly publisher: Redis,
    private readonly prefix: string,
    private readonly log: BusLogger,
  ) {
    this.subscriber = publisher.duplicate({
      lazyConnect: true,
      autoResubscribe: false,
      // Names the connection in CLIENT LIST, per deployment.
      connectionName: `${prefix.replace(/[^A-Za-z0-9_.:-]/g, '_')}events`,
      enableOfflineQueue: false,
      // No client-side timeout or retry limit: a SUBSCRIBE waits for its answer, and the connection
      // keeps coming back (publisher's settings are fail-fast for requests, not for this).
      commandTimeout: undefined,
      maxRetriesPerRequest: null,
    })
    this.subscriber.on('error', (error: Error) => {
      if (this.closed || this.down) return
      this.down = true
      this.log.warn({ err: error }, 'event bus: redis subscriber connection failed; reconnecting')
    })
    this.subscriber.on('close', () => this.confirmed.clear())
    this.subscriber.on('ready', () => {
      this.down = false
      this.subscribeAll()
    })
    this.subscriber.on('message', (channel: string, message: string) => {
      try {
        this.registry.deliver(channel, JSON.parse(message) as Record<string, unknown>)
      } catch (error) {
        this.log.warn({ err: error }, 'event bus: undeliverable message')
      }
    })
  }

  get live(): boolean {
    // `confirmed` only ever holds registered channels: equal sizes mean every one is confirmed.
    return this.subscriber.status === 'ready' && this.confirmed.size === this.registry.size
  }

  async publish(channel: string, payload: Record<string, unknown>): Promise<void> {
    await this.publisher.publish(this.name(channel), JSON.stringify(payload))
  }

  subscribe(channel: string, handler: EventHandler): () => void {
    const name = this.name(channel)
    return this.registry.add(
      name,
      handler,
      () => {
        // The connection is opened by the first subscription: a process that only publishes needs none.
        if (this.subscriber.status === 'wait') this.subscriber.connect().catch(() => {})
        else if (this.subscriber.status === 'ready') this.send([name])
      },
      () => {
        this.confirmed.delete(name)
        if (this.subscriber.status === 'ready') {
          this.subscriber.unsubscribe(name).catch((error: unknown) => this.log.warn({ err: error }, 'event bus: redis unsubscribe failed'))
        }
      },
    )
  }

  ready(timeoutMs: number): Promise<boolean> {
    this.probe.attach(this)
    return this.signal.until(() => this.live, timeoutMs)
  }

  async check(): Promise<string> {
    if (!(await this.ready(CHECK_WAIT_MS))) {
      if (this.subscriber.status !== 'ready') throw new Error(`redis subscriber not connected (${this.subscriber.status})`)
      const missing = this.registry.channels().filter((channel) => !this.confirmed.has(channel))
      throw new Error(`not yet subscribed: ${missing.join(', ')}`)
    }
    return `redis (probe heard back in ${await this.probe.roundTrip((channel, payload) => this.publish(channel, payload))} ms)`
  }

  async close(): Promise<void> {
    this.closed = true
    this.subscriber.disconnect()
  }

  private name(channel: string): string {
    return `${this.prefix}${checkChannel(channel)}`
  }

  private subscribeAll(): void {
    const channels = this.registry.channels()
    if (channels.length > 0) this.send(channels)
  }

  private send(channels: string[]): void {
    this.subscriber.subscribe(...channels).then(
      () => {
        // A channel dropped while its SUBSCRIBE was on the way is not live (its UNSUBSCRIBE follows).
        for (const channel of channels) if (this.registry.has(channel)) this.confirmed.add(channel)
        this.signal.wake()
      },
      (error: unknown) => {
        // The connection went away meanwhile; its next `ready` subscribes to everything again.
        if (!this.closed) this.log.warn({ err: error }, 'event bus: redis subscribe failed; retried on reconnect')
      },
    )
  }
}

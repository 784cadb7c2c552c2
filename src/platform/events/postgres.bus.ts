import pg from 'pg'
import { channelName, HandlerRegistry, type EventBus, type EventHandler } from './event-bus.js'

export interface BusLogger {
  warn(object: object, message: string): void
}

/**
 * PostgreSQL LISTEN/NOTIFY: every process on one database hears every publish. The listening
 * connection is its own (not from the pool) and is re-established after it drops.
 */
export class PostgresEventBus implements EventBus {
  readonly kind = 'postgres'
  private readonly registry = new HandlerRegistry()
  private client: pg.Client | null = null
  private connecting: Promise<void> | null = null
  private closed = false

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly log: BusLogger,
  ) {}

  async publish(channel: string, payload: Record<string, unknown>): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [channelName(channel), JSON.stringify(payload)])
  }

  subscribe(channel: string, handler: EventHandler): () => void {
    const name = channelName(channel)
    return this.registry.add(
      name,
      handler,
      () => void this.command(`LISTEN "${name}"`),
      () => void this.command(`UNLISTEN "${name}"`),
    )
  }

  /** Resolves once the listening connection is up with every current channel listened to. */
  async ready(): Promise<void> {
    await this.connect()
  }

  /** Ends the listening connection, also one still being opened when close is called. */
  async close(): Promise<void> {
    this.closed = true
    await this.connecting?.catch(() => {})
    const client = this.client
    this.client = null
    await client?.end().catch(() => {})
  }

  private async command(text: string): Promise<void> {
    try {
      await this.connect()
      await this.client?.query(text)
    } catch (error) {
      this.log.warn({ err: error }, 'event bus: LISTEN failed; retrying on reconnect')
    }
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve()
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url })
      client.on('notification', (message) => {
        if (!message.payload) return
        try {
          this.registry.deliver(message.channel, JSON.parse(message.payload) as Record<string, unknown>)
        } catch (error) {
          this.log.warn({ err: error }, 'event bus: undeliverable notification')
        }
      })
      client.on('error', (error) => {
        if (this.closed) return
        this.log.warn({ err: error }, 'event bus: connection lost; reconnecting')
        this.client = null
        setTimeout(() => void this.connect().catch(() => {}), 1000).unref()
      })
      await client.connect()
      if (this.closed) {
        await client.end()
        return
      }
      for (const channel of this.registry.channels()) await client.query(`LISTEN "${channel}"`)
      this.client = client
    })().finally(() => {
      this.connecting = null
    })
    return this.connecting
  }
}

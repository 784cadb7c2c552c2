import pg from 'pg'
import { channelName, DeliveryProbe, HandlerRegistry, LiveSignal, type EventBus, type EventHandler } from './event-bus.js'

export interface BusLogger {
  warn(object: object, message: string): void
}

const RECONNECT_MS = 1000

/**
 * PostgreSQL LISTEN/NOTIFY: every process on one database hears every publish. The listening
 * connection is its own (not from the pool); after it drops it is opened again and listens to every
 * current channel before the bus counts as live.
 */
export class PostgresEventBus implements EventBus {
  readonly kind = 'postgres'
  private readonly registry = new HandlerRegistry()
  private readonly signal = new LiveSignal()
  private readonly probe = new DeliveryProbe()
  private client: pg.Client | null = null
  private connecting: Promise<void> | null = null
  private closed = false
  private down = false

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly log: BusLogger,
  ) {}

  get live(): boolean {
    return this.client !== null
  }

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

  ready(timeoutMs: number): Promise<boolean> {
    this.probe.attach(this)
    return this.signal.until(() => this.live, timeoutMs)
  }

  async check(): Promise<string> {
    if (!(await this.ready(RECONNECT_MS))) throw new Error('listening connection not open')
    return `postgres (probe heard back in ${await this.probe.roundTrip((channel, payload) => this.publish(channel, payload))} ms)`
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
    if (this.closed) return
    const client = this.client
    if (!client) {
      // Not connected yet (or reconnecting): connecting listens to every current channel.
      await this.connect().catch(() => {})
      return
    }
    try {
      await client.query(text)
    } catch (error) {
      // A dropped connection is reopened by its error handler, which listens again to every channel.
      if (!this.closed && this.client === client) this.log.warn({ err: error }, 'event bus: LISTEN failed; retried on reconnect')
    }
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve()
    this.connecting ??= this.open()
      .catch((error: unknown) => {
        if (this.closed) return
        if (!this.down) this.log.warn({ err: error }, 'event bus: cannot open the listening connection; retrying')
        this.down = true
        setTimeout(() => void this.connect(), RECONNECT_MS).unref()
      })
      .finally(() => {
        this.connecting = null
      })
    return this.connecting
  }

  private async open(): Promise<void> {
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
      if (this.closed || this.client !== client) return
      this.log.warn({ err: error }, 'event bus: listening connection lost; reconnecting')
      this.client = null
      client.end().catch(() => {})
      setTimeout(() => void this.connect(), RECONNECT_MS).unref()
    })
    try {
      await client.connect()
      // Channels added while these run are caught by the next round; once a round finds none missing,
      // `client` is set in the same tick, after which new channels send their own LISTEN.
      const listened = new Set<string>()
      for (;;) {
        const missing = this.registry.channels().filter((channel) => !listened.has(channel))
        if (missing.length === 0) break
        for (const channel of missing) {
          await client.query(`LISTEN "${channel}"`)
          listened.add(channel)
        }
      }
    } catch (error) {
      await client.end().catch(() => {})
      throw error
    }
    if (this.closed) {
      await client.end().catch(() => {})
      return
    }
    this.client = client
    this.down = false
    this.signal.wake()
  }
}

import type { EventBus } from './event-bus.js'

export interface BusCacheOptions {
  /** Where other processes announce changes; null: this process is the only one. */
  bus: EventBus | null
  /** How stale an entry may be should an invalidation be lost on the way; 0 keeps nothing. */
  ttlMs: number
  /** Past this many entries, the one written first goes. */
  maxEntries: number
}

/**
 * Values this process looked up, which a change in any process invalidates through the event bus.
 * While the bus is not live this process would miss invalidations, so it keeps nothing and every read
 * misses; the TTL bounds how stale an entry can be should a message be lost.
 */
export class BusCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>()

  constructor(private readonly options: BusCacheOptions) {}

  get live(): boolean {
    return this.options.bus === null || this.options.bus.live
  }

  /** The cached value, or undefined when the source must be asked. */
  get(key: string, now = Date.now()): V | undefined {
    if (!this.live) {
      this.entries.clear()
      return undefined
    }
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (now - entry.at < this.options.ttlMs) return entry.value
    this.entries.delete(key)
    return undefined
  }

  set(key: string, value: V, now = Date.now()): void {
    if (this.options.ttlMs <= 0 || !this.live) return
    if (this.entries.size >= this.options.maxEntries && !this.entries.has(key)) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { value, at: now })
  }

  /** Changes a cached value in place; its age stays. */
  update(key: string, change: (value: V) => V): void {
    const entry = this.entries.get(key)
    if (entry) entry.value = change(entry.value)
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  deleteWhere(matches: (value: V, key: string) => boolean): void {
    for (const [key, entry] of this.entries) if (matches(entry.value, key)) this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }
}

/**
 * Tells every other process to drop what `message` names. A failure is logged, not thrown: the
 * change itself is made, and the other processes' entries expire with their TTL.
 */
export async function broadcastInvalidation(
  bus: EventBus | null,
  channel: string,
  message: Record<string, string | boolean>,
  log: { warn(object: object, message: string): void },
  what: string,
): Promise<void> {
  try {
    await bus?.publish(channel, message)
  } catch (error) {
    log.warn({ err: error }, `could not broadcast ${what} invalidation`)
  }
}

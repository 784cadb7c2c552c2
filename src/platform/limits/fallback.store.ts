import { Counter, Gauge, type Registry } from 'prom-client'
import type { RateLimitRule } from './rate-limit.rules.js'
import type { BucketState, RateLimitStore } from './rate-limit.store.js'

/** A shared store that can tell, without a round trip, that it cannot answer now. */
export interface SharedRateLimitStore extends RateLimitStore {
  available(): boolean
}

export interface FallbackOptions {
  registry?: Registry
  /** Called when a take falls back (throttle it: it can fire on every request during an outage). */
  onFallback(error: unknown): void
}

/**
 * Shared budgets (Redis) while the shared store answers; per-process budgets (memory) while it does
 * not, so that an outage of Redis neither stops the service nor lifts every limit. Each process then
 * allows up to a full budget of its own, which `/ready` (degraded) and `/metrics` say.
 */
export class FallbackRateLimitStore implements RateLimitStore {
  readonly name: RateLimitStore['name']
  private failing = false
  private readonly fallbackTakes: Counter | null

  constructor(
    private readonly shared: SharedRateLimitStore,
    private readonly local: RateLimitStore,
    private readonly options: FallbackOptions,
  ) {
    this.name = shared.name
    const registry = options.registry
    if (!registry) {
      this.fallbackTakes = null
      return
    }
    const store = this
    this.fallbackTakes = new Counter({
      name: 'agentstore_rate_limit_fallback_total',
      help: 'Rate-limit checks answered by the per-process fallback because the shared store (Redis) was unreachable.',
      registers: [registry],
    })
    new Gauge({
      name: 'agentstore_rate_limit_fallback_active',
      help: '1 while rate limits are per process because the shared store (Redis) is unreachable, else 0.',
      registers: [registry],
      collect() {
        this.set(store.degraded ? 1 : 0)
      },
    })
  }

  /** True while budgets are per process. */
  get degraded(): boolean {
    return this.failing || !this.shared.available()
  }

  async take(bucket: string, rule: RateLimitRule): Promise<BucketState> {
    if (this.shared.available()) {
      try {
        const state = await this.shared.take(bucket, rule)
        this.failing = false
        return state
      } catch (error) {
        this.failing = true
        this.options.onFallback(error)
      }
    } else {
      this.options.onFallback(new Error('the shared rate-limit store is not connected'))
    }
    this.fallbackTakes?.inc()
    return this.local.take(bucket, rule)
  }

  async close(): Promise<void> {
    await this.local.close()
    await this.shared.close()
    if (this.options.registry) {
      this.options.registry.removeSingleMetric('agentstore_rate_limit_fallback_total')
      this.options.registry.removeSingleMetric('agentstore_rate_limit_fallback_active')
    }
  }
}

import type { RateLimitRule } from './rate-limit.rules.js'
import { bucketState, msUntilFull, refillAndTake, type BucketState, type RateLimitStore } from './rate-limit.store.js'

interface Bucket {
  tokens: number
  at: number
  /** When the bucket would be full again, after which it carries no information and can go. */
  fullAt: number
}

/** Buckets in this process's memory: one budget per process. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly name = 'memory'
  private readonly buckets = new Map<string, Bucket>()
  private readonly sweeper: NodeJS.Timeout

  constructor(
    private readonly now: () => number = Date.now,
    sweepEveryMs = 60_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepEveryMs)
    this.sweeper.unref()
  }

  async take(key: string, rule: RateLimitRule): Promise<BucketState> {
    const now = this.now()
    const bucket = this.buckets.get(key)
    const { tokens, allowed } = refillAndTake(bucket?.tokens ?? rule.limit, bucket ? now - bucket.at : 0, rule)
    const state = bucketState(allowed, tokens, rule)
    this.buckets.set(key, { tokens, at: now, fullAt: now + msUntilFull(tokens, rule) })
    return state
  }

  /** Drops buckets that have refilled completely: an absent bucket means a full one. */
  sweep(): void {
    const now = this.now()
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key)
  }

  get size(): number {
    return this.buckets.size
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper)
  }
}

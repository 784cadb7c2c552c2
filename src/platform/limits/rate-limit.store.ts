import type { RateLimitRule } from './rate-limit.rules.js'

/** The outcome of taking one token from a bucket. */
export interface BucketState {
  allowed: boolean
  /** Whole tokens left after this request. */
  remaining: number
  /**
   * Milliseconds until the next whole token is back (`remaining` grows by one); 0 when full. On a
   * refusal this is `retryAfterMs`, so that RateLimit-Reset and Retry-After agree.
   */
  resetMs: number
  /** Milliseconds until one token is available (0 when allowed). */
  retryAfterMs: number
}

export interface RateLimitStore {
  readonly name: 'memory' | 'redis'
  take(bucket: string, rule: RateLimitRule): Promise<BucketState>
  close(): Promise<void>
}

/** Shared bucket arithmetic: `tokens` after the take, at `rate` tokens per millisecond. */
export function bucketState(allowed: boolean, tokens: number, rule: RateLimitRule): BucketState {
  const rate = rule.limit / rule.periodMs
  const next = tokens >= rule.limit ? 0 : Math.ceil((Math.floor(tokens) + 1 - tokens) / rate)
  return {
    allowed,
    remaining: Math.max(0, Math.floor(tokens)),
    resetMs: next,
    retryAfterMs: allowed ? 0 : next,
  }
}

/** Milliseconds until a bucket holding `tokens` is full again (after which it carries no information). */
export function msUntilFull(tokens: number, rule: RateLimitRule): number {
  return Math.ceil(((rule.limit - tokens) * rule.periodMs) / rule.limit)
}

/** Refills by elapsed time, then takes one token if there is one. */
export function refillAndTake(tokens: number, elapsedMs: number, rule: RateLimitRule): { tokens: number; allowed: boolean } {
  const rate = rule.limit / rule.periodMs
  const refilled = Math.min(rule.limit, tokens + Math.max(0, elapsedMs) * rate)
  return refilled >= 1 ? { tokens: refilled - 1, allowed: true } : { tokens: refilled, allowed: false }
}

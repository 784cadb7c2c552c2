import type { RateLimitRule } from './rate-limit.rules.js'

/** The outcome of taking one token from a bucket. */
export interface BucketState {
  allowed: boolean
  /** Whole tokens left after this request. */
  remaining: number
  /** Milliseconds until the bucket is full again. */
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
  return {
    allowed,
    remaining: Math.max(0, Math.floor(tokens)),
    resetMs: Math.ceil((rule.limit - tokens) / rate),
    retryAfterMs: allowed ? 0 : Math.ceil((1 - tokens) / rate),
  }
}

/** Refills by elapsed time, then takes one token if there is one. */
export function refillAndTake(tokens: number, elapsedMs: number, rule: RateLimitRule): { tokens: number; allowed: boolean } {
  const rate = rule.limit / rule.periodMs
  const refilled = Math.min(rule.limit, tokens + Math.max(0, elapsedMs) * rate)
  return refilled >= 1 ? { tokens: refilled - 1, allowed: true } : { tokens: refilled, allowed: false }
}

import type { Redis } from 'ioredis'
import type { RateLimitRule } from './rate-limit.rules.js'
import type { SharedRateLimitStore } from './fallback.store.js'
import { bucketState, type BucketState } from './rate-limit.store.js'

/**
 * The same token bucket as MemoryRateLimitStore, run atomically inside Redis so that every process
 * shares one budget. Redis's own clock is used so that replicas with skewed clocks agree.
 */
const TAKE_SCRIPT = `
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local rate = limit / period
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or limit
local at = tonumber(state[2]) or now
tokens = math.min(limit, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((limit - tokens) / rate) + 1000)
return { allowed, tostring(tokens) }
`

export class RedisRateLimitStore implements SharedRateLimitStore {
  readonly name = 'redis'

  /** `prefix` starts every bucket's key (REDIS_PREFIX followed by `rl:`). */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('agentstoreTakeToken', { numberOfKeys: 1, lua: TAKE_SCRIPT })
  }

  async take(key: string, rule: RateLimitRule): Promise<BucketState> {
    const take = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<[number, string]>>)
      .agentstoreTakeToken!
    const [allowed, tokens] = await take.call(this.redis, `${this.prefix}${key}`, rule.limit, rule.periodMs)
    return bucketState(allowed === 1, Number(tokens), rule)
  }

  /** The client fails commands at once while disconnected; asking first spares building one. */
  available(): boolean {
    return this.redis.status === 'ready'
  }

  async close(): Promise<void> {}
}

import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRedis } from '../redis.js'
import { MemoryRateLimitStore } from './memory.store.js'
import { parseRateLimits, type RateLimitRule } from './rate-limit.rules.js'
import { bucketState, msUntilFull, refillAndTake } from './rate-limit.store.js'
import { RedisRateLimitStore } from './redis.store.js'

const rule = (limit: number, periodMs: number): RateLimitRule => ({ scope: 'key', limit, periodMs })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const silentLog = { warn: () => {}, info: () => {} }

describe('parseRateLimits', () => {
  it('parses the default configuration', () => {
    expect(parseRateLimits('key:60/m,write:10/m,ip:600/5m')).toEqual([
      { scope: 'key', limit: 60, periodMs: 60_000 },
      { scope: 'write', limit: 10, periodMs: 60_000 },
      { scope: 'ip', limit: 600, periodMs: 300_000 },
    ])
  })

  it('accepts every unit, multipliers, spaces and upper case', () => {
    expect(parseRateLimits(' KEY:2/S , write:3/2h,ip:1/d ')).toEqual([
      { scope: 'key', limit: 2, periodMs: 1000 },
      { scope: 'write', limit: 3, periodMs: 7_200_000 },
      { scope: 'ip', limit: 1, periodMs: 86_400_000 },
    ])
  })

  it.each(['off', 'OFF', '0', '', '   '])('%j turns rate limiting off', (text) => {
    expect(parseRateLimits(text)).toEqual([])
  })

  it.each([
    ['key:60', /"key:60" is not of the form scope:count\/period/],
    ['key:60/x', /not of the form/],
    ['key:-1/m', /not of the form/],
    ['key:60/m,', /"" is not of the form/],
    ['user:60/m', /unknown scope "user" \(allowed: key, write, ip\)/],
    ['key:60/m,key:10/m', /scope "key" is given twice/],
    ['key:0/m', /"key:0\/m" needs a count and a period above zero/],
    ['key:5/0m', /"key:5\/0m" needs a count and a period above zero/],
  ])('rejects %j', (text, message) => {
    expect(() => parseRateLimits(text)).toThrow(message)
  })
})

describe('bucket arithmetic', () => {
  it('takes one token when there is one and refills by elapsed time, capped at the limit', () => {
    expect(refillAndTake(3, 0, rule(3, 60_000))).toEqual({ tokens: 2, allowed: true })
    expect(refillAndTake(0, 10_000, rule(3, 60_000))).toEqual({ tokens: 0.5, allowed: false })
    expect(refillAndTake(0, 20_000, rule(3, 60_000))).toEqual({ tokens: 0, allowed: true })
    expect(refillAndTake(2, 3_600_000, rule(3, 60_000))).toEqual({ tokens: 2, allowed: true })
    // A clock that goes backwards never takes tokens away.
    expect(refillAndTake(1, -5000, rule(3, 60_000))).toEqual({ tokens: 0, allowed: true })
  })

  it('reports whole remaining tokens and the time to the next token, which a refusal also gives as retry-after', () => {
    expect(bucketState(true, 2, rule(3, 60_000))).toEqual({ allowed: true, remaining: 2, resetMs: 20_000, retryAfterMs: 0 })
    expect(bucketState(false, 0.5, rule(3, 60_000))).toEqual({ allowed: false, remaining: 0, resetMs: 10_000, retryAfterMs: 10_000 })
    expect(bucketState(true, 1.5, rule(10, 10_000))).toEqual({ allowed: true, remaining: 1, resetMs: 500, retryAfterMs: 0 })
    expect(bucketState(true, 3, rule(3, 60_000))).toEqual({ allowed: true, remaining: 3, resetMs: 0, retryAfterMs: 0 })
    expect(msUntilFull(0.5, rule(3, 60_000))).toBe(50_000)
  })
})

describe('MemoryRateLimitStore', () => {
  let now = 1_700_000_000_000
  const stores: MemoryRateLimitStore[] = []
  const store = (sweepEveryMs?: number) => {
    const created = new MemoryRateLimitStore(() => now, sweepEveryMs)
    stores.push(created)
    return created
  }
  afterEach(async () => {
    vi.useRealTimers()
    for (const created of stores.splice(0)) await created.close()
  })

  it('allows N requests, then denies with exact remaining, reset and retry-after', async () => {
    const s = store()
    const r = rule(3, 60_000)
    expect(await s.take('k', r)).toEqual({ allowed: true, remaining: 2, resetMs: 20_000, retryAfterMs: 0 })
    expect(await s.take('k', r)).toEqual({ allowed: true, remaining: 1, resetMs: 20_000, retryAfterMs: 0 })
    expect(await s.take('k', r)).toEqual({ allowed: true, remaining: 0, resetMs: 20_000, retryAfterMs: 0 })
    expect(await s.take('k', r)).toEqual({ allowed: false, remaining: 0, resetMs: 20_000, retryAfterMs: 20_000 })
    // A denied request costs nothing: the wait does not grow.
    expect(await s.take('k', r)).toEqual({ allowed: false, remaining: 0, resetMs: 20_000, retryAfterMs: 20_000 })
    now += 5000
    expect(await s.take('k', r)).toEqual({ allowed: false, remaining: 0, resetMs: 15_000, retryAfterMs: 15_000 })
    now += 15_000
    expect(await s.take('k', r)).toEqual({ allowed: true, remaining: 0, resetMs: 20_000, retryAfterMs: 0 })
    expect((await s.take('k', r)).allowed).toBe(false)
  })

  it('refills evenly: half the period gives half the tokens', async () => {
    const s = store()
    const r = rule(10, 10_000)
    for (let i = 0; i < 10; i++) expect((await s.take('k', r)).allowed).toBe(true)
    expect(await s.take('k', r)).toEqual({ allowed: false, remaining: 0, resetMs: 1000, retryAfterMs: 1000 })
    now += 5000
    const results = []
    for (let i = 0; i < 6; i++) results.push(await s.take('k', r))
    expect(results.map((result) => result.allowed)).toEqual([true, true, true, true, true, false])
    expect(results.map((result) => result.remaining)).toEqual([4, 3, 2, 1, 0, 0])
    expect(results[5]).toEqual({ allowed: false, remaining: 0, resetMs: 1000, retryAfterMs: 1000 })
  })

  it('never refills above the limit', async () => {
    const s = store()
    const r = rule(3, 60_000)
    await s.take('k', r)
    now += 24 * 3_600_000
    expect(await s.take('k', r)).toEqual({ allowed: true, remaining: 2, resetMs: 20_000, retryAfterMs: 0 })
  })

  it('keeps one bucket per key and per rule', async () => {
    const s = store()
    const r = rule(1, 60_000)
    expect((await s.take('a', r)).allowed).toBe(true)
    expect((await s.take('a', r)).allowed).toBe(false)
    expect((await s.take('b', r)).allowed).toBe(true)
    expect(s.size).toBe(2)
  })

  it('sweeps buckets that are full again, and only those', async () => {
    const s = store()
    const r = rule(10, 10_000)
    await s.take('a', r) // 9 left: full in 1 s
    await s.take('b', r)
    await s.take('b', r) // 8 left: full in 2 s
    s.sweep()
    expect(s.size).toBe(2)
    now += 999
    s.sweep()
    expect(s.size).toBe(2)
    now += 1
    s.sweep()
    expect(s.size).toBe(1)
    now += 1000
    s.sweep()
    expect(s.size).toBe(0)
    // A swept bucket is a full one.
    expect(await s.take('b', r)).toEqual({ allowed: true, remaining: 9, resetMs: 1000, retryAfterMs: 0 })
  })

  it('sweeps on its own timer, which close() stops', async () => {
    vi.useFakeTimers()
    const s = store(1000)
    await s.take('a', rule(10, 10_000))
    now += 1000
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(1000)
    expect(s.size).toBe(0)
    await s.close()
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('createRedis', () => {
  it('fails commands at once and logs once while Redis is unreachable', async () => {
    const warnings: unknown[][] = []
    const redis = createRedis('redis://127.0.0.1:6390', { warn: (...args: unknown[]) => warnings.push(args), info: () => {} })
    try {
      await redis.connect().catch(() => {})
      const store = new RedisRateLimitStore(redis, `agentstore:test:${randomUUID()}:`)
      const started = Date.now()
      await expect(store.take('k', rule(3, 60_000))).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(1000)
      // Reconnection attempts keep failing (after 200 and 600 ms) but the warning is written once.
      await sleep(900)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]![1]).toBe('redis unavailable; rate limits per process, events paused until it is back')
    } finally {
      redis.disconnect()
    }
  })
})

describe.skipIf(!process.env.REDIS_URL)('RedisRateLimitStore (real Redis)', () => {
  const prefix = `agentstore:test:${randomUUID()}:`
  let redis: Redis
  let store: RedisRateLimitStore

  beforeAll(async () => {
    redis = createRedis(process.env.REDIS_URL!, silentLog)
    await redis.connect()
    store = new RedisRateLimitStore(redis, prefix)
  })

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await store.close()
    redis.disconnect()
  })

  it('allows N requests, then denies, then refills over time', async () => {
    const r = rule(2, 1000)
    // A fresh bucket is full at the moment of the first take: these values are exact.
    expect(await store.take('a', r)).toEqual({ allowed: true, remaining: 1, resetMs: 500, retryAfterMs: 0 })
    const second = await store.take('a', r)
    expect(second).toMatchObject({ allowed: true, remaining: 0 })
    // Redis's clock moved a few milliseconds between the takes.
    expect(second.resetMs).toBeGreaterThan(400)
    expect(second.resetMs).toBeLessThanOrEqual(500)
    const denied = await store.take('a', r)
    expect(denied).toMatchObject({ allowed: false, remaining: 0 })
    expect(denied.retryAfterMs).toBeGreaterThan(400)
    expect(denied.retryAfterMs).toBeLessThanOrEqual(500)
    // The next token is what both the reset and the retry-after name.
    expect(denied.resetMs).toBe(denied.retryAfterMs)
    // Half the period brings back half the tokens: one.
    await sleep(denied.retryAfterMs + 20)
    expect(await store.take('a', r)).toMatchObject({ allowed: true, remaining: 0 })
    expect(await store.take('a', r)).toMatchObject({ allowed: false, remaining: 0 })
  })

  it('refills to full, never above the limit', async () => {
    const r = rule(2, 1000)
    await store.take('b', r)
    await store.take('b', r)
    await sleep(1100)
    expect(await store.take('b', r)).toEqual({ allowed: true, remaining: 1, resetMs: 500, retryAfterMs: 0 })
  })

  it('keeps one bucket per key, under the prefix, expiring once full', async () => {
    const r = rule(1, 60_000)
    expect((await store.take('c1', r)).allowed).toBe(true)
    expect((await store.take('c1', r)).allowed).toBe(false)
    expect((await store.take('c2', r)).allowed).toBe(true)
    const ttl = await redis.pttl(`${prefix}c1`)
    // Full again in 60 s, plus a second of slack.
    expect(ttl).toBeGreaterThan(59_000)
    expect(ttl).toBeLessThanOrEqual(61_000)
    expect(await redis.hgetall(`${prefix}c2`)).toMatchObject({ tokens: '0' })
  })

  it('is atomic: 50 parallel takes on a bucket of 10 allow exactly 10', async () => {
    const r = rule(10, 60_000)
    const results = await Promise.all(Array.from({ length: 50 }, () => store.take('d', r)))
    expect(results.filter((result) => result.allowed)).toHaveLength(10)
    expect(results.filter((result) => !result.allowed)).toHaveLength(40)
    expect(results.filter((result) => result.allowed).map((result) => result.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('shares the bucket between two clients (two processes)', async () => {
    const other = createRedis(process.env.REDIS_URL!, silentLog)
    try {
      await other.connect()
      const otherStore = new RedisRateLimitStore(other, prefix)
      const r = rule(3, 60_000)
      expect((await store.take('e', r)).remaining).toBe(2)
      expect((await otherStore.take('e', r)).remaining).toBe(1)
      expect((await store.take('e', r)).remaining).toBe(0)
      expect((await otherStore.take('e', r)).allowed).toBe(false)
    } finally {
      other.disconnect()
    }
  })
})

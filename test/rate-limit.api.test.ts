import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { problemPlugin } from '../src/platform/http/problem.plugin.js'
import { rateLimitPlugin } from '../src/platform/limits/rate-limit.plugin.js'
import { parseRateLimits, type RateLimitRule } from '../src/platform/limits/rate-limit.rules.js'
import type { BucketState, RateLimitStore } from '../src/platform/limits/rate-limit.store.js'
import { RedisRateLimitStore } from '../src/platform/limits/redis.store.js'
import { FallbackRateLimitStore } from '../src/platform/limits/fallback.store.js'
import { MemoryRateLimitStore } from '../src/platform/limits/memory.store.js'
import { createRedis } from '../src/platform/redis.js'
import { readinessChecks } from '../src/runtime.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, type TestAppOptions } from './helpers/test-app.js'

/** One database for the whole file; each scenario gets its own app (its own buckets) over it. */
let base: TestApp
let key: { token: string; keyId: string }
const opened: TestApp[] = []
const clients: Redis[] = []
const silentLog = { warn: () => {}, info: () => {} }

async function appWith(options: Omit<TestAppOptions, 'db'>): Promise<TestApp> {
  const t = await createTestApp({ ...options, db: base.db })
  opened.push(t)
  return t
}

function redisClient(url: string, log = silentLog): Redis {
  const redis = createRedis(url, log)
  clients.push(redis)
  return redis
}

const RATE_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after']
const rateHeaders = (headers: Record<string, unknown>) => Object.fromEntries(RATE_HEADERS.filter((name) => name in headers).map((name) => [name, headers[name]]))
const storeFailures = (t: TestApp) => t.logs.filter((line) => line.msg === 'rate limit store failed; requests let through')

/** The production wiring: shared budgets in Redis, per-process ones while Redis is unreachable. */
async function fallbackApp(redis: Redis, prefix: string, env: Record<string, string>, onFallback: (error: unknown) => void = () => {}): Promise<TestApp> {
  let store: FallbackRateLimitStore | null = null
  return appWith({
    env,
    rateLimitStore: { name: 'redis', take: (bucket, rule) => store!.take(bucket, rule), close: async () => store?.close() },
    readinessChecks: () => readinessChecks(base.db.database, { redis, rateLimits: { get degraded() { return store!.degraded } } }),
    extend: (app) => {
      store = new FallbackRateLimitStore(new RedisRateLimitStore(redis, prefix), new MemoryRateLimitStore(), { registry: app.metrics, onFallback })
    },
  })
}

beforeAll(async () => {
  base = await createTestApp()
  key = await createGptWithKey(base.services, 'gpt-rl', ['read', 'write', 'admin'])
})

afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
  for (const redis of clients.splice(0)) redis.disconnect()
})

afterAll(async () => {
  await base.close()
})

describe('rate limits (memory store)', () => {
  it('allows a key N requests with decreasing remaining, then answers 429 problem details', async () => {
    const t = await appWith({ env: { RATE_LIMITS: 'key:3/m' } })
    const seen = []
    for (let i = 0; i < 3; i++) {
      const response = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
      expect(response.statusCode).toBe(200)
      seen.push(rateHeaders(response.headers))
    }
    expect(seen).toEqual([
      { 'ratelimit-limit': '3', 'ratelimit-remaining': '2', 'ratelimit-reset': '20' },
      { 'ratelimit-limit': '3', 'ratelimit-remaining': '1', 'ratelimit-reset': '20' },
      { 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '20' },
    ])
    const limited = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/)
    // One token comes back every 20 s; a few milliseconds have passed since the bucket emptied.
    expect(rateHeaders(limited.headers)).toEqual({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '20', 'retry-after': '20' })
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(limited.json()).toEqual({
      type: '/problems/rate-limited',
      title: 'Too Many Requests',
      status: 429,
      detail: 'Rate limit exceeded; retry in 20 s.',
      instance: '/v1/me',
      request_id: limited.headers['x-request-id'],
    })
  })

  it('gives every key its own bucket', async () => {
    const t = await appWith({ env: { RATE_LIMITS: 'key:3/m' } })
    const other = await createGptWithKey(base.services, 'gpt-rl')
    for (let i = 0; i < 3; i++) expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(429)
    const fresh = await t.app.inject({ url: '/v1/me', headers: bearer(other.token) })
    expect(fresh.statusCode).toBe(200)
    expect(fresh.headers['ratelimit-remaining']).toBe('2')
  })

  it('limits only writes with the write bucket; reads go on, and a limited write does no work', async () => {
    const t = await appWith({ env: { RATE_LIMITS: 'write:1/m' } })
    const before = (await base.services.keys.listKeys('gpt-rl', { limit: 200 })).items.length
    const created = await t.app.inject({ method: 'POST', url: '/v1/gpts/gpt-rl/keys', headers: bearer(key.token), payload: {} })
    expect(created.statusCode).toBe(201)
    expect(rateHeaders(created.headers)).toEqual({ 'ratelimit-limit': '1', 'ratelimit-remaining': '0', 'ratelimit-reset': '60' })
    const limited = await t.app.inject({ method: 'POST', url: '/v1/gpts/gpt-rl/keys', headers: bearer(key.token), payload: {} })
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['retry-after']).toBe('60')
    const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/keys/${created.json().id}`, headers: bearer(key.token) })
    expect(revoke.statusCode).toBe(429)
    for (let i = 0; i < 3; i++) {
      const read = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
      expect(read.statusCode).toBe(200)
      expect(rateHeaders(read.headers)).toEqual({})
    }
    expect((await base.services.keys.listKeys('gpt-rl', { limit: 200 })).items.length).toBe(before + 1)
  })

  it('limits by IP before authentication (401s count), but never /health', async () => {
    const t = await appWith({ env: { RATE_LIMITS: 'ip:2/m' } })
    for (let i = 0; i < 5; i++) {
      const health = await t.app.inject({ url: '/health' })
      expect(health.statusCode).toBe(200)
      expect(rateHeaders(health.headers)).toEqual({})
    }
    const first = await t.app.inject({ url: '/v1/me' })
    expect(first.statusCode).toBe(401)
    expect(first.headers['ratelimit-remaining']).toBe('1')
    const second = await t.app.inject({ url: '/v1/me', headers: bearer('ak_guess') })
    expect(second.statusCode).toBe(401)
    expect(second.headers['ratelimit-remaining']).toBe('0')
    const third = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
    expect(third.statusCode).toBe(429)
    expect(third.headers['retry-after']).toBe('30')
    expect(third.json()).toMatchObject({ status: 429, type: '/problems/rate-limited' })
    // Another client address has its own budget.
    const elsewhere = await t.app.inject({ url: '/v1/me', headers: bearer(key.token), remoteAddress: '10.0.0.7' })
    expect(elsewhere.statusCode).toBe(200)
    expect(elsewhere.headers['ratelimit-remaining']).toBe('1')
    expect((await t.app.inject({ url: '/live' })).statusCode).toBe(200)
  })

  it('counts unknown routes against the IP budget', async () => {
    const t = await appWith({ env: { RATE_LIMITS: 'ip:1/m' } })
    expect((await t.app.inject({ url: '/nope' })).statusCode).toBe(404)
    expect((await t.app.inject({ url: '/nope' })).statusCode).toBe(429)
  })

  it('refuses with the headers of the bucket that refused, Retry-After and RateLimit-Reset agreeing', async () => {
    const t = await appWith({ env: { RATE_LIMITS: 'key:60/m,write:5/m,ip:600/5m' } })
    const seen = []
    for (let i = 0; i < 5; i++) {
      const write = await t.app.inject({ method: 'POST', url: '/v1/gpts/gpt-rl/keys', headers: bearer(key.token), payload: {} })
      expect(write.statusCode).toBe(201)
      seen.push(rateHeaders(write.headers))
    }
    expect(seen.map((headers) => headers['ratelimit-remaining'])).toEqual(['4', '3', '2', '1', '0'])
    const limited = await t.app.inject({ method: 'POST', url: '/v1/gpts/gpt-rl/keys', headers: bearer(key.token), payload: {} })
    expect(limited.statusCode).toBe(429)
    expect(rateHeaders(limited.headers)).toEqual({ 'ratelimit-limit': '5', 'ratelimit-remaining': '0', 'ratelimit-reset': '12', 'retry-after': '12' })
    expect(limited.json().detail).toBe('Rate limit exceeded; retry in 12 s.')
  })

  it('answers with the headers of the tightest bucket', async () => {
    const t = await appWith({ env: { RATE_LIMITS: 'key:5/m,write:2/m,ip:10/m' } })
    const read = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
    expect(rateHeaders(read.headers)).toEqual({ 'ratelimit-limit': '5', 'ratelimit-remaining': '4', 'ratelimit-reset': '12' })
    const write = await t.app.inject({ method: 'POST', url: '/v1/gpts/gpt-rl/keys', headers: bearer(key.token), payload: {} })
    expect(write.statusCode).toBe(201)
    expect(rateHeaders(write.headers)).toEqual({ 'ratelimit-limit': '2', 'ratelimit-remaining': '1', 'ratelimit-reset': '30' })
  })

  it('adds no headers and limits nothing with RATE_LIMITS=off', async () => {
    const t = await appWith({ env: { RATE_LIMITS: 'off' } })
    for (let i = 0; i < 20; i++) {
      const response = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
      expect(response.statusCode).toBe(200)
      expect(rateHeaders(response.headers)).toEqual({})
    }
    const unauthenticated = await t.app.inject({ url: '/v1/me' })
    expect(unauthenticated.statusCode).toBe(401)
    expect(rateHeaders(unauthenticated.headers)).toEqual({})
  })
})

describe('rate limits fail open', () => {
  class BrokenStore implements RateLimitStore {
    readonly name = 'memory'
    calls = 0
    async take(): Promise<BucketState> {
      this.calls++
      throw new Error('store is down')
    }
    async close(): Promise<void> {}
  }

  it('lets requests through and calls onStoreError when the store throws', async () => {
    const store = new BrokenStore()
    const onStoreError = vi.fn()
    const app = Fastify({ logger: false })
    try {
      await app.register(problemPlugin)
      await app.register(rateLimitPlugin, { rules: parseRateLimits('ip:1/m'), store, onStoreError })
      app.get('/thing', async () => ({ ok: true }))
      await app.ready()
      for (let i = 0; i < 3; i++) {
        const response = await app.inject({ url: '/thing' })
        expect(response.statusCode).toBe(200)
        expect(rateHeaders(response.headers)).toEqual({})
      }
      expect(store.calls).toBe(3)
      expect(onStoreError).toHaveBeenCalledTimes(3)
      expect((onStoreError.mock.calls[0]![0] as Error).message).toBe('store is down')
    } finally {
      await app.close()
    }
  })

  it('still answers 429 from a working store in the same plugin setup', async () => {
    // The control for the test above: the same rules with a store that works do limit.
    const rules: RateLimitRule[] = parseRateLimits('ip:1/m')
    const store: RateLimitStore = {
      name: 'memory',
      take: async () => ({ allowed: false, remaining: 0, resetMs: 1500, retryAfterMs: 1500 }),
      close: async () => {},
    }
    const onStoreError = vi.fn()
    const app = Fastify({ logger: false })
    try {
      await app.register(problemPlugin)
      await app.register(rateLimitPlugin, { rules, store, onStoreError })
      app.get('/thing', async () => ({ ok: true }))
      await app.ready()
      const response = await app.inject({ url: '/thing' })
      expect(response.statusCode).toBe(429)
      expect(rateHeaders(response.headers)).toEqual({ 'ratelimit-limit': '1', 'ratelimit-remaining': '0', 'ratelimit-reset': '2', 'retry-after': '2' })
      expect(onStoreError).not.toHaveBeenCalled()
    } finally {
      await app.close()
    }
  })

  it('serves every request of the full app and logs the store failure once, not per request', async () => {
    const store = new BrokenStore()
    const t = await appWith({ env: { RATE_LIMITS: 'key:1/m,write:1/m,ip:1/m' }, rateLimitStore: store })
    for (let i = 0; i < 3; i++) {
      const response = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
      expect(response.statusCode).toBe(200)
      expect(rateHeaders(response.headers)).toEqual({})
    }
    // ip and key buckets on each of the three requests.
    expect(store.calls).toBe(6)
    expect(storeFailures(t)).toHaveLength(1)
    expect(storeFailures(t)[0]).toMatchObject({ level: 40, err: { message: 'store is down' } })
  })

  it('falls back to per-process budgets, still limiting, when Redis is configured but down; /ready and /metrics say so', async () => {
    const warnings: unknown[][] = []
    const redis = redisClient('redis://127.0.0.1:6390', { warn: (...args: unknown[]) => warnings.push(args), info: () => {} })
    await redis.connect().catch(() => {})
    const fallbacks: unknown[] = []
    const t = await fallbackApp(redis, `agentstore:test:${randomUUID()}:`, { RATE_LIMITS: 'key:2/m' }, (error) => fallbacks.push(error))
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode)
    expect(statuses).toEqual([200, 200, 429])
    expect(fallbacks).toHaveLength(3)
    expect(warnings[0]![1]).toBe('redis unavailable; rate limits per process, events paused until it is back')
    const ready = await t.app.inject({ url: '/ready' })
    expect(ready.statusCode).toBe(200)
    const body = ready.json()
    expect(body.status).toBe('degraded')
    expect(body.checks.redis).toMatchObject({ ok: false, state: expect.stringMatching(/^not connected \(/) })
    expect(body.checks.rate_limits).toEqual({ ok: false, state: 'per process while Redis is unreachable (each process allows a full budget)' })
    expect(body.checks.database.ok).toBe(true)
    const metrics = (await t.app.inject({ url: '/metrics' })).body
    expect(metrics).toMatch(/^agentstore_rate_limit_fallback_active 1$/m)
    expect(metrics).toMatch(/^agentstore_rate_limit_fallback_total 3$/m)
  })
})

describe.skipIf(!process.env.REDIS_URL)('rate limits (Redis store)', () => {
  const prefix = `agentstore:test:${randomUUID()}:`

  afterAll(async () => {
    const redis = createRedis(process.env.REDIS_URL!, silentLog)
    try {
      await redis.connect()
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
    } finally {
      redis.disconnect()
    }
  })

  async function redisApp(env: Record<string, string>): Promise<{ t: TestApp; redis: Redis }> {
    const redis = redisClient(process.env.REDIS_URL!)
    await redis.connect()
    return { t: await fallbackApp(redis, prefix, env), redis }
  }

  it('limits a key with the same headers as the memory store', async () => {
    const { t } = await redisApp({ RATE_LIMITS: 'key:3/m' })
    const remaining = []
    for (let i = 0; i < 3; i++) {
      const response = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
      expect(response.statusCode).toBe(200)
      expect(response.headers['ratelimit-limit']).toBe('3')
      remaining.push(response.headers['ratelimit-remaining'])
    }
    expect(remaining).toEqual(['2', '1', '0'])
    const limited = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
    expect(limited.statusCode).toBe(429)
    expect(rateHeaders(limited.headers)).toEqual({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '20', 'retry-after': '20' })
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/)
  })

  it('shares one budget between two app instances', async () => {
    const shared = await createGptWithKey(base.services, 'gpt-rl')
    const a = await redisApp({ RATE_LIMITS: 'key:3/m' })
    const b = await redisApp({ RATE_LIMITS: 'key:3/m' })
    const on = (t: TestApp) => t.app.inject({ url: '/v1/me', headers: bearer(shared.token) })
    const answers = [await on(a.t), await on(a.t), await on(b.t)]
    expect(answers.map((response) => response.statusCode)).toEqual([200, 200, 200])
    expect(answers.map((response) => response.headers['ratelimit-remaining'])).toEqual(['2', '1', '0'])
    expect((await on(a.t)).statusCode).toBe(429)
    expect((await on(b.t)).statusCode).toBe(429)
  })

  it('reports ready with Redis up; per-process budgets while the connection is gone; shared ones once it is back', async () => {
    const own = await createGptWithKey(base.services, 'gpt-rl')
    const { t, redis } = await redisApp({ RATE_LIMITS: 'key:3/m' })
    const ready = await t.app.inject({ url: '/ready' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true, state: 'ok' }, rate_limits: { ok: true, state: 'shared (redis)' } } })
    const remaining = async () => (await t.app.inject({ url: '/v1/me', headers: bearer(own.token) })).headers['ratelimit-remaining']
    expect(await remaining()).toBe('2')
    const ended = new Promise((resolve) => redis.once('end', resolve))
    redis.disconnect()
    await ended
    // A bucket of this process alone, full at first: still limited, never unlimited.
    expect([await remaining(), await remaining(), await remaining()]).toEqual(['2', '1', '0'])
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(own.token) })).statusCode).toBe(429)
    const degraded = await t.app.inject({ url: '/ready' })
    expect(degraded.statusCode).toBe(200)
    expect(degraded.json()).toMatchObject({ status: 'degraded', checks: { redis: { ok: false, state: 'not connected (end)' }, rate_limits: { ok: false } } })
    await redis.connect()
    // Back on the shared bucket, which saw one request.
    expect(await remaining()).toBe('1')
    expect((await t.app.inject({ url: '/ready' })).json()).toMatchObject({ status: 'ready' })
  })
})

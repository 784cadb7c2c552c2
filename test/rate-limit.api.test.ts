import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { problemPlugin } from '../src/platform/http/problem.plugin.js'
import { rateLimitPlugin } from '../src/platform/limits/rate-limit.plugin.js'
import { parseRateLimits, type RateLimitRule } from '../src/platform/limits/rate-limit.rules.js'
import type { BucketState, RateLimitStore } from '../src/platform/limits/rate-limit.store.js'
import { RedisRateLimitStore } from '../src/platform/limits/redis.store.js'
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
      { 'ratelimit-limit': '3', 'ratelimit-remaining': '1', 'ratelimit-reset': '40' },
      { 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '60' },
    ])
    const limited = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/)
    // One token comes back every 20 s; a few milliseconds have passed since the bucket emptied.
    expect(rateHeaders(limited.headers)).toEqual({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '60', 'retry-after': '20' })
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
      take: async (_bucket, rule) => ({ allowed: false, remaining: 0, resetMs: rule.periodMs, retryAfterMs: 1500 }),
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
      expect(rateHeaders(response.headers)).toEqual({ 'ratelimit-limit': '1', 'ratelimit-remaining': '0', 'ratelimit-reset': '60', 'retry-after': '2' })
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

  it('serves requests and reports degraded readiness when Redis is configured but down', async () => {
    const warnings: unknown[][] = []
    const redis = redisClient('redis://127.0.0.1:6390', { warn: (...args: unknown[]) => warnings.push(args), info: () => {} })
    await redis.connect().catch(() => {})
    const t = await appWith({
      env: { RATE_LIMITS: 'key:1/m,ip:1/m' },
      rateLimitStore: new RedisRateLimitStore(redis, `agentstore:test:${randomUUID()}:`),
      readinessChecks: () => readinessChecks(base.db.database, redis),
    })
    const started = Date.now()
    for (let i = 0; i < 3; i++) {
      const response = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
      expect(response.statusCode).toBe(200)
      expect(rateHeaders(response.headers)).toEqual({})
    }
    // Commands fail at once instead of waiting for a connection.
    expect(Date.now() - started).toBeLessThan(3000)
    expect(storeFailures(t)).toHaveLength(1)
    expect(warnings.length).toBeGreaterThanOrEqual(1)
    expect(warnings[0]![1]).toBe('redis unavailable; rate limits fail open until it is back')
    const ready = await t.app.inject({ url: '/ready' })
    expect(ready.statusCode).toBe(200)
    const body = ready.json()
    expect(body.status).toBe('degraded')
    expect(body.checks.redis.ok).toBe(false)
    expect(body.checks.redis.state).toMatch(/^not connected \(/)
    expect(body.checks.database.ok).toBe(true)
    expect(body.checks.migrations).toEqual({ ok: true, state: 'current' })
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
    const t = await appWith({
      env,
      rateLimitStore: new RedisRateLimitStore(redis, prefix),
      readinessChecks: () => readinessChecks(base.db.database, redis),
    })
    return { t, redis }
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
    expect(rateHeaders(limited.headers)).toEqual({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '60', 'retry-after': '20' })
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

  it('reports ready with Redis up, and fails open once the connection is gone', async () => {
    const own = await createGptWithKey(base.services, 'gpt-rl')
    const { t, redis } = await redisApp({ RATE_LIMITS: 'key:3/m' })
    const ready = await t.app.inject({ url: '/ready' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true, state: 'ok' } } })
    const before = await t.app.inject({ url: '/v1/me', headers: bearer(own.token) })
    expect(before.statusCode).toBe(200)
    expect(before.headers['ratelimit-limit']).toBe('3')
    const ended = new Promise((resolve) => redis.once('end', resolve))
    redis.disconnect()
    await ended
    const after = await t.app.inject({ url: '/v1/me', headers: bearer(own.token) })
    expect(after.statusCode).toBe(200)
    expect(rateHeaders(after.headers)).toEqual({})
    expect(storeFailures(t)).toHaveLength(1)
    const degraded = await t.app.inject({ url: '/ready' })
    expect(degraded.statusCode).toBe(200)
    expect(degraded.json()).toMatchObject({ status: 'degraded', checks: { redis: { ok: false, state: 'not connected (end)' } } })
  })
})

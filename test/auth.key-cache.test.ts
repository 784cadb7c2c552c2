import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { KeyCache } from '../src/modules/keys/key-cache.js'
import { KeysRepository } from '../src/modules/keys/keys.repo.js'
import { LocalEventBus, type EventBus } from '../src/platform/events/event-bus.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

/** Counts the key lookups that reach the database. */
const lookups = () => vi.spyOn(KeysRepository.prototype, 'findKey')
const unknownToken = (digit: string) => `ak_${digit.repeat(32)}_${'A'.repeat(43)}`

let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ env: { KEY_CACHE_TTL_MS: '60000' } })
})

afterEach(() => {
  vi.restoreAllMocks()
})

afterAll(async () => {
  await t.close()
})

describe('key lookups: unknown ids and wrong secrets answer alike, from memory', () => {
  it('asks the database once for an unknown id, then remembers that it does not exist', async () => {
    const spy = lookups()
    for (let i = 0; i < 5; i++) {
      const response = await t.app.inject({ url: '/v1/me', headers: bearer(unknownToken('1')) })
      expect(response.statusCode).toBe(401)
      expect(response.json().detail).toBe('The API key is not valid.')
    }
    expect(spy).toHaveBeenCalledTimes(1)
  })

  it('asks the database once for a known id with wrong secrets, with the same answer as an unknown id', async () => {
    const key = await createGptWithKey(t.services, 'gpt-cache')
    const spy = lookups()
    for (let i = 0; i < 5; i++) {
      const wrong = `${key.token.slice(0, 35)}_${String(i).repeat(43)}`
      const response = await t.app.inject({ url: '/v1/me', headers: bearer(wrong) })
      expect(response.statusCode).toBe(401)
      expect(response.json().detail).toBe('The API key is not valid.')
    }
    expect(spy).toHaveBeenCalledTimes(1)
  })

  it('remembers a revoked key too (read again after the revocation), so that revoked ids do not stand out', async () => {
    const key = await createGptWithKey(t.services, 'gpt-cache')
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(200)
    const spy = lookups()
    await t.services.keys.revokeKey(null, key.keyId)
    for (let i = 0; i < 3; i++) {
      const response = await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
      expect(response.statusCode).toBe(401)
      expect(response.json().detail).toBe('The API key has been revoked.')
    }
    expect(spy).toHaveBeenCalledTimes(1)
  })

  it('forgets an unknown id once KEY_CACHE_TTL_MS has passed (the cache on its own clock)', () => {
    const cache = new KeyCache(100, new LocalEventBus(), { warn() {} })
    cache.set('k1', null, 1000)
    expect(cache.get('k1', 1099)).toBeNull()
    expect(cache.get('k1', 1100)).toBeUndefined()
    // A bounded room of its own (5,000): a flood of made-up ids keeps the newest.
    for (let i = 0; i < 6000; i++) cache.set(`u${i}`, null, 2000)
    expect(cache.get('u0', 2001)).toBeUndefined()
    expect(cache.get('u5999', 2001)).toBeNull()
  })
})

describe('key cache while the event bus is not live', () => {
  it('reads every key from the database (a revocation elsewhere could not reach it), and caches again once live', async () => {
    const inner = new LocalEventBus()
    let live = false
    const bus: EventBus = {
      kind: 'redis',
      get live() {
        return live
      },
      publish: (channel, payload) => inner.publish(channel, payload),
      subscribe: (channel, handler) => inner.subscribe(channel, handler),
      ready: async () => live,
      check: async () => (live ? 'ok' : Promise.reject(new Error('down'))),
      close: async () => {},
    }
    const app = await createTestApp({ db: t.db, events: bus, env: { KEY_CACHE_TTL_MS: '60000' } })
    try {
      const key = await createGptWithKey(app.services, 'gpt-cache')
      const spy = lookups()
      for (let i = 0; i < 3; i++) expect((await app.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(200)
      expect(spy).toHaveBeenCalledTimes(3)
      live = true
      for (let i = 0; i < 3; i++) expect((await app.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(200)
      expect(spy).toHaveBeenCalledTimes(4)
    } finally {
      await app.close()
    }
  })
})

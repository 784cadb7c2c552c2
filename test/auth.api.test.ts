import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp, keySecret } from './helpers/test-app.js'

let t: TestApp
let keyA: { token: string; keyId: string }
let keyB: { token: string }
let readOnly: { token: string }
let revoked: { token: string }
let expired: { token: string }

beforeAll(async () => {
  t = await createTestApp()
  keyA = await createGptWithKey(t.services, 'gpt-a')
  keyB = await createGptWithKey(t.services, 'gpt-b')
  readOnly = await createGptWithKey(t.services, 'gpt-a', ['read'])
  revoked = await createGptWithKey(t.services, 'gpt-a')
  await t.services.keys.revokeKey(null, (revoked as { keyId: string } & typeof revoked).keyId)
  const soon = await t.services.keys.createKey('gpt-a', { expires_in: '1s' })
  expired = { token: soon.key }
  await new Promise((resolve) => setTimeout(resolve, 1100))
})

afterAll(async () => {
  await t.close()
})

const wrongSecret = () => keyA.token.slice(0, -4) + (keyA.token.endsWith('AAAA') ? 'BBBB' : 'AAAA')

describe('API key authentication', () => {
  const scenarios: {
    name: string
    method?: 'GET' | 'POST' | 'DELETE'
    url: string
    headers: () => Record<string, string>
    status: number
    detail?: RegExp
  }[] = [
    { name: 'no key', url: '/v1/gpts/gpt-a', headers: () => ({}), status: 401, detail: /Bearer/ },
    { name: 'not a bearer header', url: '/v1/gpts/gpt-a', headers: () => ({ authorization: `Basic ${keyA.token}` }), status: 401 },
    { name: 'malformed key', url: '/v1/gpts/gpt-a', headers: () => bearer('ak_nope'), status: 401, detail: /not a valid API key/ },
    { name: 'unknown key id', url: '/v1/gpts/gpt-a', headers: () => bearer(`ak_${'0'.repeat(32)}_${'A'.repeat(43)}`), status: 401 },
    { name: 'wrong secret', url: '/v1/gpts/gpt-a', headers: () => bearer(wrongSecret()), status: 401, detail: /not valid/ },
    { name: 'revoked key', url: '/v1/gpts/gpt-a', headers: () => bearer(revoked.token), status: 401, detail: /revoked/ },
    { name: 'expired key', url: '/v1/gpts/gpt-a', headers: () => bearer(expired.token), status: 401, detail: /expired/ },
    { name: 'key of another GPT', url: '/v1/gpts/gpt-a', headers: () => bearer(keyB.token), status: 403, detail: /another GPT/ },
    { name: 'missing write scope', method: 'POST', url: '/v1/gpts/gpt-a/keys', headers: () => bearer(readOnly.token), status: 403 },
    { name: 'missing admin scope', url: '/v1/gpts/gpt-a/keys', headers: () => bearer(keyA.token), status: 403, detail: /"admin" scope/ },
    { name: 'valid key', url: '/v1/gpts/gpt-a', headers: () => bearer(keyA.token), status: 200 },
    { name: 'read-only key reads', url: '/v1/me', headers: () => bearer(readOnly.token), status: 200 },
    { name: 'API key on the admin API', url: '/v1/admin/gpts', headers: () => bearer(keyA.token), status: 401, detail: /admin token/ },
  ]

  it.each(scenarios)('$name → $status', async ({ method = 'GET', url, headers, status, detail }) => {
    const response = await t.app.inject({ method, url, headers: headers(), ...(method === 'POST' ? { payload: {} } : {}) })
    expect(response.statusCode).toBe(status)
    if (status >= 400) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
      const body = response.json()
      expect(body).toMatchObject({ status, type: expect.stringContaining('/problems/'), title: expect.any(String), instance: url })
      if (detail) expect(body.detail).toMatch(detail)
      if (status === 401) expect(response.headers['www-authenticate']).toMatch(/^Bearer/)
    }
  })

  it('answers /v1/me with the key identity', async () => {
    const response = await t.app.inject({ url: '/v1/me', headers: bearer(keyA.token) })
    expect(response.json()).toEqual({ key_id: keyA.keyId, gpt_id: 'gpt-a', scopes: ['read', 'write'], agent_id: null })
  })

  it('revocation takes effect on the next request', async () => {
    const key = await createGptWithKey(t.services, 'gpt-a')
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(200)
    await t.services.keys.revokeKey('gpt-a', key.keyId)
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(401)
  })

  it('keeps last_used_at without writing on every request', async () => {
    const key = await createGptWithKey(t.services, 'gpt-a')
    for (let i = 0; i < 5; i++) await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const first = (await t.services.keys.listKeys('gpt-a', { limit: 200 })).items.find((k) => k.id === key.keyId)
    expect(first?.last_used_at).not.toBeNull()
    await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = (await t.services.keys.listKeys('gpt-a', { limit: 200 })).items.find((k) => k.id === key.keyId)
    // Within KEY_TOUCH_INTERVAL_MS (60 s) the stored time does not move.
    expect(second?.last_used_at).toBe(first?.last_used_at)
  })

  it('never logs the Authorization header', async () => {
    await t.app.inject({ url: '/v1/me', headers: bearer(keyA.token) })
    const text = JSON.stringify(t.logs)
    expect(text).not.toContain(keyA.token)
    expect(text).not.toContain(keySecret(keyA.token))
  })
})

describe('key cache across processes', () => {
  it('a revocation made by another process is honoured at once', async () => {
    // Two app instances over one database, each with its own bus of the kind production would use.
    const { PostgresEventBus } = await import('../src/platform/events/postgres.bus.js')
    const { LocalEventBus } = await import('../src/platform/events/event-bus.js')
    const shared = new LocalEventBus()
    const busFor = () => (t.db.url ? new PostgresEventBus(t.db.url, t.db.database.pool, { warn: () => {} }) : shared)
    const busA = busFor()
    const busB = busFor()
    const a = await createTestApp({ db: t.db, events: busA })
    const b = await createTestApp({ db: t.db, events: busB })
    try {
      if (busA instanceof PostgresEventBus && busB instanceof PostgresEventBus) await Promise.all([busA.ready(5000), busB.ready(5000)])
      const key = await createGptWithKey(a.services, 'gpt-a')
      // Both processes have the key cached now.
      expect((await a.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(200)
      expect((await b.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(200)
      const revoked = await b.app.inject({ method: 'DELETE', url: `/v1/admin/keys/${key.keyId}`, headers: bearer(b.adminToken) })
      expect(revoked.statusCode).toBe(204)
      expect((await b.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(401)
      // The other process hears of it over the bus well within the cache TTL.
      let status = 200
      for (let attempt = 0; attempt < 40 && status === 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25))
        status = (await a.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode
      }
      expect(status).toBe(401)
    } finally {
      await a.close()
      await b.close()
      if (busA !== shared) await busA.close()
      if (busB !== shared) await busB.close()
    }
  })

  it('deleting a GPT drops its cached keys', async () => {
    const key = await createGptWithKey(t.services, 'gpt-doomed')
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(200)
    await t.services.gpts.deleteGpt('gpt-doomed')
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key.token) })).statusCode).toBe(401)
  })
})

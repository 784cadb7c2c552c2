import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

const ALLOWED = 'https://app.example.com'

function preflight(t: TestApp, origin: string) {
  return t.app.inject({
    method: 'OPTIONS',
    url: '/v1/gpts/cors-gpt/collections',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  })
}

describe('CORS_ORIGINS with a list', () => {
  let t: TestApp
  let key: string
  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: `${ALLOWED}, http://localhost:3000` } })
    key = (await createGptWithKey(t.services, 'cors-gpt')).token
  })
  afterAll(async () => t.close())

  it('answers a preflight of a listed origin with 204, before authentication', async () => {
    const response = await preflight(t, ALLOWED)
    expect(response.statusCode).toBe(204)
    expect(response.headers['access-control-allow-origin']).toBe(ALLOWED)
    expect(response.headers['access-control-allow-credentials']).toBe('true')
    expect(String(response.headers['access-control-allow-methods'])).toMatch(/POST/)
    expect(String(response.headers['access-control-allow-headers']).toLowerCase()).toMatch(/authorization.*content-type|content-type.*authorization/)
    expect(String(response.headers['access-control-allow-headers']).toLowerCase()).toContain('x-api-key')
    expect(response.headers.vary).toMatch(/Origin/)
  })

  it('lets a listed origin read the headers clients need', async () => {
    const response = await t.app.inject({ url: '/v1/gpts/cors-gpt/collections', headers: { ...bearer(key), origin: ALLOWED } })
    expect(response.statusCode).toBe(200)
    expect(response.headers['access-control-allow-origin']).toBe(ALLOWED)
    expect(response.headers['access-control-allow-credentials']).toBe('true')
    const exposed = String(response.headers['access-control-expose-headers']).split(',').map((h) => h.trim().toLowerCase())
    for (const header of ['link', 'etag', 'location', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-request-id']) {
      expect(exposed).toContain(header)
    }
  })

  it('gives an origin that is not listed no CORS headers at all', async () => {
    for (const response of [await preflight(t, 'https://evil.example'), await t.app.inject({ url: '/health', headers: { origin: 'https://evil.example' } })]) {
      expect(response.headers['access-control-allow-origin']).toBeUndefined()
      expect(response.headers['access-control-allow-credentials']).toBeUndefined()
    }
  })
})

describe('CORS_ORIGINS=*', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: '*' } })
  })
  afterAll(async () => t.close())

  it('allows any origin, never with credentials', async () => {
    const response = await t.app.inject({ url: '/health', headers: { origin: 'https://anyone.example' } })
    expect(response.headers['access-control-allow-origin']).toBe('*')
    expect(response.headers['access-control-allow-credentials']).toBeUndefined()
  })
})

describe('without CORS_ORIGINS', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp()
  })
  afterAll(async () => t.close())

  it('sends no CORS headers, not even to a preflight', async () => {
    for (const response of [await preflight(t, ALLOWED), await t.app.inject({ url: '/health', headers: { origin: ALLOWED } })]) {
      expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([])
    }
  })

  it.each(['app.example.com', 'https://app.example.com/path', 'ftp://x.example', 'https://a.example, *'])('refuses CORS_ORIGINS=%s naming the setting', (value) => {
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS/)
  })
})

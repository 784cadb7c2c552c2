import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'

// Clients that send `Content-Type: application/json` on every request, body or not.

const GPT = 'empty-gpt'
const UUID = '0190a1b2-0000-7000-8000-000000000000'
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8']

let t: TestApp
let token: string

beforeAll(async () => {
  t = await createTestApp()
  ;({ token } = await createGptWithKey(t.services, GPT, ['read', 'write', 'admin']))
})

afterAll(async () => {
  await t?.close()
})

const headersFor = (url: string) => bearer(url.startsWith('/v1/admin/') ? t.adminToken : token)

async function operations(method: 'get' | 'delete'): Promise<string[]> {
  const document = (await t.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>()
  return Object.entries(document.paths)
    .filter(([, item]) => method in item)
    // Items that do not exist (404 past authentication), and never this test's own GPT.
    .map(([path]) => (path === '/v1/admin/gpts/{gpt_id}' ? '/v1/admin/gpts/gone-gpt' : path))
    .map((path) => path.replaceAll('{gpt_id}', GPT).replaceAll('{name}', 'notes').replace(/\{[a-z_]+\}/g, UUID))
}

describe('methods without a body, sent with a JSON Content-Type and no body', () => {
  it.each(JSON_TYPES)('every DELETE route answers as without the header (%s)', async (type) => {
    const urls = await operations('delete')
    expect(urls.length).toBeGreaterThanOrEqual(10)
    for (const url of urls) {
      const plain = await t.app.inject({ method: 'DELETE', url, headers: headersFor(url) })
      const typed = await t.app.inject({ method: 'DELETE', url, headers: { ...headersFor(url), 'content-type': type }, payload: '' })
      expect(typed.statusCode, `${url}: ${typed.body}`).toBe(plain.statusCode)
      // Account routes refuse a GPT key (401) before anything else; FastWrap's want X-API-Key (FastAPI's 422
      // for a missing header); every other item does not exist.
      const fastWrap = url === '/clients/me' || url.startsWith('/api/characters/')
      expect(typed.statusCode, url).toBe(url.startsWith('/v1/accounts/') ? 401 : fastWrap ? 422 : 404)
    }
  })

  it('every GET route answers as without the header', async () => {
    const urls = (await operations('get')).filter((url) => !url.endsWith('/stream'))
    for (const url of urls) {
      const plain = await t.app.inject({ url, headers: headersFor(url) })
      const typed = await t.app.inject({ url, headers: { ...headersFor(url), 'content-type': 'application/json' }, payload: '' })
      expect(typed.statusCode, `${url}: ${typed.body.slice(0, 200)}`).toBe(plain.statusCode)
    }
  })

  it('DELETE of an existing key with the header → 204, and it is revoked', async () => {
    const created = await t.app.inject({ method: 'POST', url: `/v1/gpts/${GPT}/keys`, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '{}' })
    const { id, key } = created.json<{ id: string; key: string }>()
    const response = await t.app.inject({ method: 'DELETE', url: `/v1/keys/${id}`, headers: { ...bearer(token), 'content-type': 'application/json' } })
    expect(response.statusCode, response.body).toBe(204)
    expect(response.body).toBe('')
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(key) })).statusCode).toBe(401)
  })

  it.each([
    { method: 'HEAD' as const, url: '/v1/me', status: 200 },
    { method: 'OPTIONS' as const, url: '/v1/me', status: 405 },
  ])('$method $url → $status', async ({ method, url, status }) => {
    const response = await t.app.inject({ method, url, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '' })
    expect(response.statusCode, response.body).toBe(status)
  })

  it('a DELETE with a body that is not JSON is still refused', async () => {
    const url = `/v1/keys/${UUID}`
    const response = await t.app.inject({ method: 'DELETE', url, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '{' })
    expectProblem(response, 400, url, 'malformed-json')
  })
})

describe('POST, PUT and PATCH without a body', () => {
  const variants = [
    { name: 'empty body with a JSON Content-Type', headers: { 'content-type': 'application/json' }, payload: '' },
    { name: 'no body and no Content-Type', headers: {}, payload: undefined },
  ]

  it.each(variants)('a route whose body is optional accepts it: key create ($name)', async ({ headers, payload }) => {
    const url = `/v1/gpts/${GPT}/keys`
    const response = await t.app.inject({ method: 'POST', url, headers: { ...bearer(token), ...headers }, ...(payload !== undefined ? { payload } : {}) })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json()).toMatchObject({ gpt_id: GPT, scopes: ['read', 'write'], key: expect.stringMatching(/^ak_/) })
  })

  it.each(variants.flatMap((variant) => ['generate', 'resume'].map((action) => ({ ...variant, action }))))(
    'a route whose body is optional reaches its handler: $action ($name)',
    async ({ action, headers, payload }) => {
      const url = `/v1/sessions/${UUID}/${action}`
      const response = await t.app.inject({ method: 'POST', url, headers: { ...bearer(token), ...headers }, ...(payload !== undefined ? { payload } : {}) })
      expect(expectProblem(response, 404, url, 'not-found').detail).toMatch(/session/i)
    },
  )

  it.each(
    variants.flatMap((variant) => [
      { ...variant, method: 'POST' as const, url: '/v1/admin/gpts' },
      { ...variant, method: 'POST' as const, url: `/v1/gpts/${GPT}/agents` },
      { ...variant, method: 'PATCH' as const, url: `/v1/agents/${UUID}` },
      { ...variant, method: 'PUT' as const, url: `/v1/gpts/${GPT}/collections/notes/objects/${UUID}` },
      { ...variant, method: 'POST' as const, url: `/v1/gpts/${GPT}/collections/notes/objects` },
    ]),
  )('a route that needs a body → 400 saying so: $method $url ($name)', async ({ method, url, headers, payload }) => {
    const response = await t.app.inject({ method, url, headers: { ...headersFor(url), ...headers }, ...(payload !== undefined ? { payload } : {}) })
    const body = expectProblem(response, 400, url, 'malformed-json')
    expect(body.detail).toBe('This request needs a JSON body; it has none.')
  })
})

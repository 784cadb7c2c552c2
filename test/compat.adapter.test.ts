// The Custom GPT adapter's own API (/api/v1/memories, /api/v1/search, /api/v1/users/me, /api/v1/health),
// as its code and design describe it, on the house memories, search and OAuth apps: every endpoint,
// success and failure, its shapes and error texts, and the audit rows its operations leave.
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postForm, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

const GPT = 'adapter-gpt'
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
let t: TestApp
let client: TestOAuthApp
let token: string
let readToken: string
let otherToken: string
let gptKey: string

async function tokenOf(app: TestOAuthApp, scope?: string): Promise<string> {
  const response = await postForm(t.app, '/auth/token', { client_id: app.client_id, client_secret: app.client_secret!, ...(scope ? { scope } : {}) })
  expect(response.statusCode, response.body).toBe(200)
  return response.json<{ access_token: string }>().access_token
}

beforeAll(async () => {
  t = await createTestApp()
  gptKey = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  client = await registerApp(t.app, GPT, gptKey, { name: 'Diary GPT' })
  token = await tokenOf(client)
  readToken = await tokenOf(client, 'memory:read')
  const otherAdmin = (await createGptWithKey(t.services, 'adapter-other', ['read', 'write', 'admin'])).token
  otherToken = await tokenOf(await registerApp(t.app, 'adapter-other', otherAdmin))
})

afterAll(async () => {
  await t?.close()
})

const post = (url: string, body: unknown, as: string | null = token) => injectJson(t.app, 'POST', url, as === null ? {} : bearer(as), body)
const remember = (body: Record<string, unknown>, as: string | null = token) => post('/api/v1/memories', body, as)
const search = (body: Record<string, unknown>, as: string | null = token) => post('/api/v1/search', body, as)

/** FastAPI's error shape: `{"detail": …}` as plain JSON. */
function expectDetail(response: LightMyRequestResponse, status: number, detail?: unknown) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json<{ detail: unknown }>()
  expect(Object.keys(body)).toEqual(['detail'])
  if (detail !== undefined) expect(body.detail).toEqual(detail)
  return body.detail
}

interface Accepted {
  status: string
  request_id: string
  message: string
  memory_id: string
}
interface Found {
  status: string
  request_id: string
  total_found: number
  processing_time_ms: number
  results: { memory_id: string; content: string; relevance_score: number; metadata: Record<string, unknown> }[]
}

describe('adapter: health and the application', () => {
  it('GET /api/v1/health → {"status": "ok"}, without a token; /health answers too', async () => {
    const response = await t.app.inject({ url: '/api/v1/health' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ status: 'ok' })
    expect((await t.app.inject({ url: '/health' })).json()).toMatchObject({ status: 'ok' })
  })

  it.each(['/api/v1/users/me', '/api/v1/me'])('GET %s → the application of the token', async (url) => {
    const response = await t.app.inject({ url, headers: bearer(token) })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toEqual({
      id: client.id,
      name: 'Diary GPT',
      client_id: client.client_id,
      permissions: ['read', 'write'],
      rate_limit_per_minute: null,
      created_at: expect.stringMatching(ISO),
      last_used: expect.stringMatching(ISO),
    })
  })

  it.each([
    ['no Authorization header', () => ({}), 401, 'Not authenticated'],
    ['a Basic header', () => ({ authorization: 'Basic YTpi' }), 401, 'Not authenticated'],
    ['a token that is no token', () => bearer('not-a-token'), 403, 'Could not validate credentials'],
    ['a forged JWT', () => bearer('eyJhbGciOiJFUzI1NiJ9.eyJjbGllbnRfaWQiOiJ4In0.c2ln'), 403, 'Could not validate credentials'],
    ['a GPT key (no application)', () => bearer(gptKey), 404, 'Application not found'],
  ])('users/me with %s → %i', async (_name, headers, status, detail) => {
    const response = await t.app.inject({ url: '/api/v1/users/me', headers: headers() })
    expectDetail(response, status, detail)
    if (status === 401) expect(response.headers['www-authenticate']).toBe('Bearer')
  })
})

describe('adapter: POST /api/v1/memories', () => {
  it.each([
    ['content alone (its code)', { content: 'The user wants to learn about reinforcement learning.' }, {}],
    ['with the conversation context (its story)', { content: 'Prefers short answers.', context: { custom_gpt_id: 'gpt-custom-123', conversation_id: 'conv-456' } }, { custom_gpt_id: 'gpt-custom-123', conversation_id: 'conv-456' }],
    [
      'with metadata, categories and priority (its design)',
      { content: 'Memory content to store', metadata: { user_context: 'extra' }, categories: ['PROJECT'], priority: 'normal', unknown_field: 1 },
      { user_context: 'extra', categories: ['PROJECT'], priority: 'normal' },
    ],
  ])('%s → 202, and the memory is a house memory tagged with its source', async (_name, body, metadata) => {
    const response = await remember(body)
    expect(response.statusCode, response.body).toBe(202)
    const accepted = response.json<Accepted>()
    expect(accepted).toEqual({ status: 'accepted', request_id: expect.any(String), message: 'Memory creation request received and is being processed.', memory_id: expect.any(String) })
    expect(response.headers.location).toBe(`/v1/memories/${accepted.memory_id}`)
    const stored = await t.app.inject({ url: `/v1/memories/${accepted.memory_id}`, headers: bearer(gptKey) })
    expect(stored.json()).toMatchObject({ gpt_id: GPT, content: body.content, metadata: { ...metadata, source: 'custom-gpt', client_id: client.client_id } })
    expect(stored.json()).not.toHaveProperty('metadata.unknown_field')
  })

  it('the trailing-slash path of its code works too', async () => {
    expect((await post('/api/v1/memories/', { content: 'slash' })).statusCode).toBe(202)
  })

  it.each([
    ['no content', {}, 422, [{ type: 'missing', loc: ['body', 'content'], msg: expect.any(String) }]],
    ['empty content', { content: '' }, 422, undefined],
    ['content that is not text', { content: 42 }, 422, undefined],
    ['a context that is not an object', { content: 'x', context: 'conv-1' }, 422, undefined],
    ['categories that are not a list', { content: 'x', categories: 'PROJECT' }, 422, undefined],
  ])('%s → %i', async (_name, body, status, detail) => {
    const items = expectDetail(await remember(body), status, detail)
    expect(Array.isArray(items)).toBe(true)
  })

  it('content over the house limit → 422', async () => {
    expectDetail(await remember({ content: 'x'.repeat(t.config.maxMemoryChars + 1) }), 422)
  })

  it('a body that is not JSON → 422 json_invalid', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/memories', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '{"content":' })
    expectDetail(response, 422, [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }])
  })

  it.each([
    ['no token', null, 401, 'Not authenticated'],
    ['a read-only token', 'READ', 403, undefined],
    ['a wrong token', 'rt_wrong', 403, 'Could not validate credentials'],
  ])('%s → %i', async (_name, as, status, detail) => {
    expectDetail(await remember({ content: 'x' }, as === 'READ' ? readToken : as), status, detail)
  })
})

describe('adapter: POST /api/v1/search', () => {
  let tea: string
  beforeAll(async () => {
    tea = (await remember({ content: 'Green tea is the favourite drink of the user.', categories: ['PREFERENCE'] })).json<Accepted>().memory_id
    await remember({ content: 'The deployment uses Kubernetes on three nodes.', categories: ['TECHNICAL'] })
  })

  it('a natural language query → its results with relevance scores, request id, count and time', async () => {
    const response = await search({ query: 'what does the user like to drink', limit: 5, context: { custom_gpt_id: 'g', conversation_id: 'c' } })
    expect(response.statusCode, response.body).toBe(200)
    const found = response.json<Found>()
    expect(found).toMatchObject({ status: 'success', request_id: expect.any(String), total_found: found.results.length, processing_time_ms: expect.any(Number) })
    expect(found.results[0]).toEqual({
      memory_id: tea,
      content: 'Green tea is the favourite drink of the user.',
      relevance_score: expect.any(Number),
      metadata: { categories: ['PREFERENCE'], source: 'custom-gpt', client_id: client.client_id, created_at: expect.stringMatching(ISO) },
    })
    expect(found.results[0]!.relevance_score).toBeGreaterThan(found.results.at(-1)!.relevance_score - 1e-9)
  })

  it.each<[string, Record<string, unknown>, number | null, RegExp | null]>([
    ['limit', { limit: 1 }, 1, null],
    ['a category', { filters: { categories: ['TECHNICAL'] } }, 1, /Kubernetes/],
    ['a date range that holds them', { filters: { date_range: { start: '2000-01-01', end: '2999-12-31' } } }, null, null],
    ['a date range before them', { filters: { date_range: { end: '2001-01-01' } } }, 0, null],
    ['null filters and context', { filters: null, context: null }, null, null],
  ])('%s narrows the results', async (_name, extra, count, first) => {
    const found = (await search({ query: 'drink or deployment', ...extra })).json<Found>()
    if (count === null) expect(found.results.length).toBeGreaterThanOrEqual(2)
    else expect(found.results).toHaveLength(count)
    if (first) expect(found.results[0]!.content).toMatch(first)
  })

  it('another GPT\'s app finds none of these memories', async () => {
    expect((await search({ query: 'drink' }, otherToken)).json<Found>().results).toEqual([])
  })

  it('a read-only token may search', async () => {
    expect((await search({ query: 'drink' }, readToken)).statusCode).toBe(200)
  })

  it.each([
    ['no query', {}, [{ type: 'missing', loc: ['body', 'query'], msg: expect.any(String) }]],
    ['a blank query', { query: '   ' }, undefined],
    ['limit 0', { query: 'x', limit: 0 }, undefined],
    ['limit over 50', { query: 'x', limit: 51 }, undefined],
    ['a date that is no date', { query: 'x', filters: { date_range: { start: '2024-13-45' } } }, [{ type: 'value_error', loc: ['body', 'filters', 'date_range', 'start'], msg: expect.any(String) }]],
    ['a date in another format', { query: 'x', filters: { date_range: { start: 'yesterday' } } }, undefined],
  ])('%s → 422', async (_name, body, detail) => {
    expectDetail(await search(body), 422, detail)
  })

  it('no token → 401 Not authenticated', async () => {
    expectDetail(await search({ query: 'x' }, null), 401, 'Not authenticated')
  })
})

describe('adapter: audit records', () => {
  it('search and create are audit rows of the app with the sanitized request, status, duration and request id', async () => {
    const created = (await remember({ content: 'Audited memory', context: { conversation_id: 'conv-9' } })).json<Accepted>()
    const found = (await search({ query: 'audited' })).json<Found>()
    await t.services.auditWriter!.flush()
    const rows = async (action: string) =>
      (await t.app.inject({ url: `/v1/gpts/${GPT}/audit?action=${action}&limit=200`, headers: bearer(gptKey) })).json<{ audit: Record<string, unknown>[] }>().audit
    const create = (await rows('adapterCreateMemory')).find((row) => row.request_id === created.request_id)
    expect(create).toMatchObject({ gpt_id: GPT, principal: { kind: 'app', id: client.client_id }, status: 202, duration_ms: expect.any(Number), request: { body: { content: 'Audited memory' } } })
    const searched = (await rows('adapterSearch')).find((row) => row.request_id === found.request_id)
    expect(searched).toMatchObject({ gpt_id: GPT, principal: { kind: 'app', id: client.client_id }, status: 200, request: { body: { query: 'audited' } } })
    const refused = (await rows('adapterSearch')).filter((row) => row.status === 422)
    expect(refused.length).toBeGreaterThan(0)
  })
})

describe('adapter: an app\'s own rate limit', () => {
  it('past it → 429 with slowapi\'s {"error": …} and Retry-After', async () => {
    const limited = await tokenOf(await registerApp(t.app, GPT, gptKey, { rate_limit_per_minute: 1 }))
    expect((await search({ query: 'x' }, limited)).statusCode).toBe(200)
    const refused = await search({ query: 'x' }, limited)
    expect(refused.statusCode).toBe(429)
    expect(refused.json()).toEqual({ error: expect.stringMatching(/^Rate limit exceeded/) })
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
  })
})

describe('adapter: shared paths', () => {
  it('GET /metrics is Prometheus text with the request counter and latency histogram its dashboard read', async () => {
    await search({ query: 'metrics' })
    const response = await t.app.inject({ url: '/metrics' })
    expect(response.statusCode).toBe(200)
    expect(response.body).toMatch(/^http_requests_total\{method="POST",route="\/api\/v1\/search",status="200"\} \d+/m)
    expect(response.body).toContain('http_request_duration_seconds_bucket{')
  })

  it('GET / keeps the agent-messaging demo\'s message when both are served', async () => {
    expect((await t.app.inject({ url: '/' })).json()).toMatchObject({ message: 'FastAPI PostgreSQL Demo API' })
  })

  describe('COMPAT=adapter alone', () => {
    let alone: TestApp
    beforeAll(async () => {
      alone = await createTestApp({ env: { COMPAT: 'adapter' } })
    })
    afterAll(async () => {
      await alone?.close()
    })

    it('GET / says the adapter\'s welcome, and its paths are served', async () => {
      expect((await alone.app.inject({ url: '/' })).json()).toMatchObject({ message: 'Welcome to the Custom GPT Adapter Service', name: 'agentstore' })
      expect((await alone.app.inject({ url: '/api/v1/health' })).json()).toEqual({ status: 'ok' })
      expect((await alone.app.inject({ method: 'POST', url: '/api/v1/search' })).statusCode).toBe(401)
      // Its OpenAPI document's path (the chat store's too): the service's own, listing its routes.
      const doc = (await alone.app.inject({ url: '/api/v1/openapi.json' })).json<{ paths: Record<string, unknown> }>()
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/token', '/api/v1/memories', '/api/v1/search']))
      expect(Object.keys((await t.app.inject({ url: '/api/v1/openapi.json' })).json<{ paths: object }>().paths)).toContain('/api/v1/search')
    })
  })
})

// The GPT object store's own API, as its README documents it, on the house services: every endpoint
// with the request shapes its clients send, success and failure.
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

const GPT = 'diary-gpt'
const BASE = `/v1/gpts/${GPT}`
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MISSING = '01900000-0000-7000-8000-000000000000'
const DIARY_SCHEMA = {
  type: 'object',
  properties: { date: { type: 'string' }, entry: { type: 'string' }, mood: { type: 'string' } },
  required: ['date', 'entry'],
}

let t: TestApp
let key: string
let other: string
let objectId: string

beforeAll(async () => {
  t = await createTestApp()
  // An object store client's key may do everything its key could: set schemas too.
  key = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  other = (await createGptWithKey(t.services, 'other-gpt', ['read', 'write', 'admin'])).token
  const created = await injectJson(t.app, 'POST', `${BASE}/collections`, bearer(key), { name: 'diary_entries', schema: DIARY_SCHEMA })
  expect(created.statusCode).toBe(201)
  const object = await injectJson(t.app, 'POST', `${BASE}/collections/diary_entries/objects`, bearer(key), { date: '2025-09-03', entry: 'First' })
  objectId = object.json<{ id: string }>().id
})

afterAll(async () => {
  await t?.close()
})

const call = (method: HttpMethod, url: string, payload?: unknown, token: string | null = key) =>
  injectJson(t.app, method, url, token === null ? {} : bearer(token), payload)

/** The object store's error shape: RFC 9457 problem details, never a stack trace. */
function expectStoreProblem(response: LightMyRequestResponse, status: number, url: string) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = response.json<Record<string, unknown>>()
  expect(body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), instance: url.split('?')[0] })
  expect(response.body).not.toMatch(/\bat .+:\d+:\d+/)
  return body
}

const objectShape = (collection: string, body: Record<string, unknown>) => ({
  id: expect.stringMatching(UUID),
  gpt_id: GPT,
  collection,
  body,
  created_at: expect.stringMatching(ISO),
  updated_at: expect.stringMatching(ISO),
})

describe('object store: documented endpoints succeed with its request shapes', () => {
  it('POST /v1/gpts/{gpt_id}/collections creates a collection with a schema → 201', async () => {
    const response = await call('POST', `${BASE}/collections`, { name: 'notes', schema: { type: 'object' } })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json()).toMatchObject({ gpt_id: GPT, name: 'notes', schema: { type: 'object' }, created_at: expect.stringMatching(ISO) })
  })

  it('POST …/collections again upserts the schema (2xx, the new schema kept)', async () => {
    const response = await call('POST', `${BASE}/collections`, { name: 'notes', schema: { type: 'object', required: ['title'] } })
    expect([200, 201]).toContain(response.statusCode)
    expect(response.json()).toMatchObject({ name: 'notes', schema: { type: 'object', required: ['title'] } })
  })

  it('GET …/collections lists them with seek pagination, a Link header and next_cursor', async () => {
    const first = await call('GET', `${BASE}/collections?limit=1&order=desc`)
    expect(first.statusCode).toBe(200)
    const page = first.json<{ collections: { name: string }[]; next_cursor: string; has_more: boolean }>()
    expect(page).toMatchObject({ collections: [expect.objectContaining({ gpt_id: GPT })], has_more: true, next_cursor: expect.any(String) })
    expect(first.headers.link).toMatch(/^<[^>]+cursor=[^>]+>; rel="next"$/)
    const second = await call('GET', `${BASE}/collections?limit=1&order=desc&cursor=${page.next_cursor}`)
    expect(second.json<{ collections: { name: string }[] }>().collections[0]!.name).not.toBe(page.collections[0]!.name)
  })

  it('GET and PATCH …/collections/{name} read and change the schema', async () => {
    const read = await call('GET', `${BASE}/collections/notes`)
    expect(read.statusCode).toBe(200)
    expect(read.json()).toMatchObject({ gpt_id: GPT, name: 'notes' })
    const patched = await call('PATCH', `${BASE}/collections/notes`, { schema: { type: 'object' } })
    expect(patched.statusCode).toBe(200)
    expect(patched.json()).toMatchObject({ name: 'notes', schema: { type: 'object' } })
  })

  it.each([
    ['direct fields (what a GPT Action sends)', { date: '2025-09-04', entry: 'Productive day', mood: 'neutral', tags: ['a'] }],
    ['the {"body": {…}} wrapper', { body: { date: '2025-09-05', entry: 'Wrapped' } }],
  ])('POST …/collections/{name}/objects takes %s → 201 with the object', async (_name, payload) => {
    const response = await call('POST', `${BASE}/collections/diary_entries/objects`, payload)
    expect(response.statusCode, response.body).toBe(201)
    const stored = 'body' in payload ? payload.body : payload
    expect(response.json()).toEqual(objectShape('diary_entries', stored))
  })

  it('GET …/objects pages newest first with limit, order, cursor and Link', async () => {
    const first = await call('GET', `${BASE}/collections/diary_entries/objects?limit=1&order=desc`)
    expect(first.statusCode).toBe(200)
    const page = first.json<{ objects: { id: string; created_at: string }[]; next_cursor: string; has_more: boolean }>()
    expect(page.objects).toHaveLength(1)
    expect(page.has_more).toBe(true)
    expect(first.headers.link).toContain('rel="next"')
    const rest = await call('GET', `${BASE}/collections/diary_entries/objects?limit=200&cursor=${page.next_cursor}`)
    const ids = rest.json<{ objects: { id: string; created_at: string }[] }>().objects.map((o) => o.id)
    expect(ids).not.toContain(page.objects[0]!.id)
    expect(ids).toContain(objectId)
  })

  it('GET /v1/objects/{id} reads one object', async () => {
    const response = await call('GET', `/v1/objects/${objectId}`)
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual(objectShape('diary_entries', { date: '2025-09-03', entry: 'First' }))
  })

  it('PATCH /v1/objects/{id} merges the given fields and moves updated_at', async () => {
    const before = (await call('GET', `/v1/objects/${objectId}`)).json<{ updated_at: string }>()
    await new Promise((resolve) => setTimeout(resolve, 5))
    const response = await call('PATCH', `/v1/objects/${objectId}`, { mood: 'happy' })
    expect(response.statusCode).toBe(200)
    const after = response.json<{ body: unknown; updated_at: string }>()
    expect(after.body).toEqual({ date: '2025-09-03', entry: 'First', mood: 'happy' })
    expect(after.updated_at > before.updated_at).toBe(true)
  })

  it('DELETE /v1/objects/{id} → 204, then 404', async () => {
    const created = await call('POST', `${BASE}/collections/diary_entries/objects`, { date: '2025-09-06', entry: 'Gone soon' })
    const id = created.json<{ id: string }>().id
    const deleted = await call('DELETE', `/v1/objects/${id}`)
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')
    expectStoreProblem(await call('GET', `/v1/objects/${id}`), 404, `/v1/objects/${id}`)
  })

  it('DELETE …/collections/{name} → 204 and its objects go with it', async () => {
    await call('POST', `${BASE}/collections`, { name: 'scratch' })
    const object = await call('POST', `${BASE}/collections/scratch/objects`, { a: 1 })
    const deleted = await call('DELETE', `${BASE}/collections/scratch`)
    expect(deleted.statusCode).toBe(204)
    expect((await call('GET', `/v1/objects/${object.json<{ id: string }>().id}`)).statusCode).toBe(404)
  })
})

describe('object store: health and root (public)', () => {
  it.each([
    ['/health', { status: 'ok', service: 'Agentstore', version: '0.0.0-test' }],
    ['/live', { status: 'ok', service: 'Agentstore' }],
    ['/ready', { status: 'ready', service: 'Agentstore' }],
    ['/', { service: 'Agentstore', version: '0.0.0-test', docs: '/docs', health: '/health' }],
  ])('GET %s → 200 without a key', async (url, fields) => {
    const response = await t.app.inject({ url })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.json()).toMatchObject(fields)
  })
})

describe('object store: documented failures are problem details', () => {
  const obj = () => `/v1/objects/${objectId}`
  const every: [HttpMethod, () => string, unknown?][] = [
    ['POST', () => `${BASE}/collections`, { name: 'x' }],
    ['GET', () => `${BASE}/collections`],
    ['GET', () => `${BASE}/collections/diary_entries`],
    ['PATCH', () => `${BASE}/collections/diary_entries`, { schema: null }],
    ['DELETE', () => `${BASE}/collections/diary_entries`],
    ['POST', () => `${BASE}/collections/diary_entries/objects`, { a: 1 }],
    ['GET', () => `${BASE}/collections/diary_entries/objects`],
    ['GET', obj],
    ['PATCH', obj, { a: 1 }],
    ['DELETE', obj],
  ]

  it.each(every)('%s %s without a key → 401', async (method, url, payload) => {
    expectStoreProblem(await call(method, url(), payload, null), 401, url())
  })

  it.each(every.filter(([, url]) => url().startsWith(BASE)))('%s %s with another GPT\'s key → 403', async (method, url, payload) => {
    expectStoreProblem(await call(method, url(), payload, other), 403, url())
  })

  it.each(every.filter(([, url]) => url === obj))('%s /v1/objects/{id} of another GPT → 404', async (method, url, payload) => {
    expectStoreProblem(await call(method, url(), payload, other), 404, url())
  })

  const missing: [HttpMethod, string, unknown?][] = [
    ['GET', `${BASE}/collections/nope`],
    ['PATCH', `${BASE}/collections/nope`, { schema: null }],
    ['DELETE', `${BASE}/collections/nope`],
    ['POST', `${BASE}/collections/nope/objects`, { a: 1 }],
    ['GET', `${BASE}/collections/nope/objects`],
    ['GET', `/v1/objects/${MISSING}`],
    ['PATCH', `/v1/objects/${MISSING}`, { a: 1 }],
    ['DELETE', `/v1/objects/${MISSING}`],
  ]
  it.each(missing)('%s %s (missing) → 404', async (method, url, payload) => {
    expectStoreProblem(await call(method, url, payload), 404, url)
  })

  it.each([
    ['POST', `${BASE}/collections/diary_entries/objects`, { entry: 'no date' }],
    ['PATCH', () => `/v1/objects/${objectId}`, { date: 20250903 }],
  ] as const)('%s a document that fails the collection schema → 400', async (method, url, payload) => {
    const path = typeof url === 'function' ? url() : url
    expectStoreProblem(await call(method, path, payload), 400, path)
  })

  it('a bad cursor → 400', async () => {
    const url = `${BASE}/collections/diary_entries/objects?cursor=bad==`
    expectStoreProblem(await call('GET', url), 400, url)
  })

  it.each([
    ['GET', `${BASE}/collections/diary_entries/objects?limit=0`],
    ['GET', `${BASE}/collections/diary_entries/objects?limit=201`],
    ['GET', `${BASE}/collections?order=sideways`],
    ['POST', `${BASE}/collections`, { name: '' }],
    ['GET', '/v1/objects/not-a-uuid'],
  ] as [HttpMethod, string, unknown?][])('%s %s (invalid) → 422', async (method, url, payload) => {
    expectStoreProblem(await call(method, url, payload), 422, url)
  })
})

describe('object store: rate limits answer 429 with Retry-After', () => {
  let limited: TestApp
  afterAll(async () => {
    await limited?.close()
  })

  it('the key budget runs out → 429 problem with Retry-After', async () => {
    limited = await createTestApp({ env: { RATE_LIMITS: 'key:2/m' } })
    const token = (await createGptWithKey(limited.services, GPT)).token
    const url = `${BASE}/collections`
    for (let i = 0; i < 2; i++) expect((await injectJson(limited.app, 'GET', url, bearer(token))).statusCode).toBe(200)
    const response = await injectJson(limited.app, 'GET', url, bearer(token))
    expectStoreProblem(response, 429, url)
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0)
  })
})

describe('COMPAT', () => {
  it('by default serves every surface and logs them', () => {
    const line = t.logs.find((entry) => entry.msg === 'compatibility surfaces')
    expect(line).toMatchObject({ compat: ['objectstore', 'adapter', 'fastwrap', 'agentmail', 'chatstore'] })
  })
})

describe('COMPAT without objectstore', () => {
  let plain: TestApp
  beforeAll(async () => {
    plain = await createTestApp({ env: { COMPAT: 'none' } })
  })
  afterAll(async () => {
    await plain?.close()
  })

  it('answers the house landing at / without the object store\'s fields, and health carries only the house fields', async () => {
    const root = (await plain.app.inject({ url: '/' })).json()
    expect(Object.keys(root).sort()).toEqual(['description', 'links', 'name', 'version'])
    expect((await plain.app.inject({ url: '/health' })).json()).toEqual({ status: 'ok', version: '0.0.0-test' })
    expect((await plain.app.inject({ url: '/live' })).json()).toEqual({ status: 'ok' })
  })

  it('serves none of the Custom GPT adapter\'s paths', async () => {
    for (const [method, url] of [['POST', '/auth/token'], ['POST', '/api/v1/auth/token'], ['POST', '/api/v1/auth/refresh'], ['GET', '/api/v1/health'], ['GET', '/api/v1/users/me'], ['POST', '/api/v1/memories'], ['POST', '/api/v1/search']] as const) {
      expect((await plain.app.inject({ method, url })).statusCode, url).toBe(404)
    }
  })

  it('serves none of the agent-messaging demo\'s paths', async () => {
    for (const [method, url] of [['POST', '/agents'], ['POST', '/cli/echo'], ['GET', '/users/1'], ['GET', '/conversations']] as const) {
      expect((await plain.app.inject({ method, url })).statusCode).toBe(404)
    }
  })
})

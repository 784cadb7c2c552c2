import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'
import { PROBLEMS } from '../src/platform/errors.js'

let t: TestApp
let small: TestApp
const INTERNAL_MESSAGE = 'connection to 10.0.0.7 refused: password authentication failed for user "svc"'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

beforeAll(async () => {
  ;[t, small] = await Promise.all([
    createTestApp({
      extend: (app) => {
        app.get('/test/boom', { config: { access: 'public' } }, async () => {
          throw new Error(INTERNAL_MESSAGE)
        })
        app.get('/test/reject', { config: { access: 'public' } }, async () => {
          // A thrown non-Error (some libraries do this) is still a 500 without internals.
          throw { secret: INTERNAL_MESSAGE }
        })
      },
    }),
    createTestApp({ env: { BODY_LIMIT: '2kb' } }),
  ])
})

afterAll(async () => {
  await Promise.all([t?.close(), small?.close()])
})

const admin = () => bearer(t.adminToken)


describe('problem details for every error', () => {
  const scenarios: {
    name: string
    app?: () => TestApp
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
    url: string
    headers?: () => Record<string, string>
    payload?: string | Record<string, unknown>
    status: number
    type: string
    detail?: RegExp
    allow?: string
  }[] = [
    { name: 'unknown route', url: '/nope', status: 404, type: 'not-found', detail: /No route for GET \/nope/ },
    { name: 'unknown route under /v1', url: '/v1/unknown/thing?x=1', status: 404, type: 'not-found' },
    { name: 'unknown POST route', method: 'POST', url: '/v1/nothing', payload: {}, status: 404, type: 'not-found' },
    {
      name: 'wrong method on a collection path',
      method: 'PUT',
      url: '/v1/admin/gpts',
      headers: admin,
      payload: {},
      status: 405,
      type: 'method-not-allowed',
      allow: 'GET, HEAD, POST',
      detail: /PUT is not allowed/,
    },
    { name: 'wrong method on an item path', method: 'PATCH', url: '/v1/keys/0190a1b2-0000-7000-8000-000000000000', payload: {}, status: 405, type: 'method-not-allowed', allow: 'DELETE' },
    { name: 'wrong method on /health', method: 'DELETE', url: '/health', status: 405, type: 'method-not-allowed', allow: 'GET, HEAD' },
    { name: 'wrong method with a trailing slash', method: 'POST', url: '/v1/gpts/some-gpt/', payload: {}, status: 405, type: 'method-not-allowed', allow: 'GET, HEAD, PATCH' },
    {
      name: 'malformed JSON',
      method: 'POST',
      url: '/v1/admin/gpts',
      headers: () => ({ ...admin(), 'content-type': 'application/json' }),
      payload: '{"id": "x", "name": ',
      status: 400,
      type: 'malformed-json',
      detail: /not valid JSON/,
    },
    {
      name: 'JSON with a trailing comma',
      method: 'POST',
      url: '/v1/admin/gpts',
      headers: () => ({ ...admin(), 'content-type': 'application/json; charset=utf-8' }),
      payload: '{"id": "x", "name": "y",}',
      status: 400,
      type: 'malformed-json',
    },
    {
      name: 'empty JSON body',
      method: 'POST',
      url: '/v1/admin/gpts',
      headers: () => ({ ...admin(), 'content-type': 'application/json' }),
      payload: '',
      status: 400,
      type: 'malformed-json',
    },
    {
      name: 'text/plain body',
      method: 'POST',
      url: '/v1/admin/gpts',
      headers: () => ({ ...admin(), 'content-type': 'text/plain' }),
      payload: '{"id":"plain","name":"Plain"}',
      status: 415,
      type: 'unsupported-media-type',
      detail: /application\/json/,
    },
    {
      name: 'application/xml body',
      method: 'POST',
      url: '/v1/admin/gpts',
      headers: () => ({ ...admin(), 'content-type': 'application/xml' }),
      payload: '<gpt><id>xml</id></gpt>',
      status: 415,
      type: 'unsupported-media-type',
    },
    {
      name: 'form body',
      method: 'POST',
      url: '/v1/admin/gpts',
      headers: () => ({ ...admin(), 'content-type': 'application/x-www-form-urlencoded' }),
      payload: 'id=form&name=Form',
      status: 415,
      type: 'unsupported-media-type',
    },
    {
      name: 'body over BODY_LIMIT',
      app: () => small,
      method: 'POST',
      url: '/v1/admin/gpts',
      headers: () => ({ ...bearer(small.adminToken), 'content-type': 'application/json' }),
      payload: JSON.stringify({ id: 'big', name: 'Big', description: 'x'.repeat(3000) }),
      status: 413,
      type: 'payload-too-large',
      detail: /BODY_LIMIT/,
    },
    {
      name: 'unexpected exception',
      url: '/test/boom',
      status: 500,
      type: 'internal',
      detail: /^An unexpected error occurred; the log has the details under this request id\.$/,
    },
    { name: 'thrown non-Error', url: '/test/reject', status: 500, type: 'internal', detail: /^An unexpected error occurred/ },
  ]

  it.each(scenarios)('$name → $status', async ({ app, method = 'GET', url, headers, payload, status, type, detail, allow }) => {
    const target = app ? app() : t
    const response = await target.app.inject({ method, url, headers: headers?.() ?? {}, ...(payload !== undefined ? { payload } : {}) })
    const body = expectProblem(response, status, url)
    expect(body.type).toBe(`/problems/${type}`)
    if (detail) expect(body.detail).toMatch(detail)
    if (allow !== undefined) expect(response.headers.allow).toBe(allow)
    else expect(response.headers.allow).toBeUndefined()
    expect(response.body).not.toContain(INTERNAL_MESSAGE)
    expect(response.body).not.toContain('secret')
    expect(body).not.toHaveProperty('stack')
  })

  it('accepts a body just under BODY_LIMIT on the small app', async () => {
    const payload = JSON.stringify({ id: 'fits', name: 'Fits', description: 'x'.repeat(1900) })
    expect(Buffer.byteLength(payload)).toBeLessThan(2048)
    const response = await small.app.inject({
      method: 'POST',
      url: '/v1/admin/gpts',
      headers: { ...bearer(small.adminToken), 'content-type': 'application/json' },
      payload,
    })
    expect(response.statusCode).toBe(201)
  })

  it('logs an unexpected exception with its request id, message and stack', async () => {
    const response = await t.app.inject({ url: '/test/boom', headers: { 'x-request-id': 'boom-trace-1' } })
    expect(response.statusCode).toBe(500)
    expect(response.json().request_id).toBe('boom-trace-1')
    const entry = t.logs.find((line) => line.reqId === 'boom-trace-1' && line.level === 50)
    expect(entry, JSON.stringify(t.logs.slice(-5))).toBeDefined()
    const err = entry!.err as { message?: string; stack?: string }
    expect(err.message).toBe(INTERNAL_MESSAGE)
    expect(err.stack).toContain('errors.api.test.ts')
  })

  it('does not log client errors as server errors', async () => {
    await t.app.inject({ url: '/nope', headers: { 'x-request-id': 'client-error-1' } })
    expect(t.logs.some((line) => line.reqId === 'client-error-1' && (line.level as number) >= 50)).toBe(false)
  })
})

describe('request validation → 422 with errors pointing at the offending member', () => {
  const scenarios: {
    name: string
    method?: 'GET' | 'POST' | 'DELETE'
    url: string
    payload?: unknown
    errors: { pointer: string; location: string; message?: RegExp }[]
  }[] = [
    { name: 'missing name', method: 'POST', url: '/v1/admin/gpts', payload: { id: 'v1' }, errors: [{ pointer: '/name', location: 'body', message: /required/ }] },
    {
      name: 'missing id and name',
      method: 'POST',
      url: '/v1/admin/gpts',
      payload: {},
      errors: [
        { pointer: '/id', location: 'body' },
        { pointer: '/name', location: 'body' },
      ],
    },
    {
      name: 'extra field',
      method: 'POST',
      url: '/v1/admin/gpts',
      payload: { id: 'v2', name: 'V2', owner: 'me' },
      errors: [{ pointer: '/owner', location: 'body', message: /not an allowed property/ }],
    },
    { name: 'id of the wrong type', method: 'POST', url: '/v1/admin/gpts', payload: { id: 42, name: 'V3' }, errors: [{ pointer: '/id', location: 'body', message: /string/ }] },
    { name: 'name of the wrong type', method: 'POST', url: '/v1/admin/gpts', payload: { id: 'v4', name: { x: 1 } }, errors: [{ pointer: '/name', location: 'body', message: /string/ }] },
    // JSON bodies are not coerced: a number, boolean or bare string is not silently turned into the declared type.
    { name: 'name that is a number', method: 'POST', url: '/v1/admin/gpts', payload: { id: 'v4b', name: 7 }, errors: [{ pointer: '/name', location: 'body', message: /string/ }] },
    { name: 'description that is a boolean', method: 'POST', url: '/v1/admin/gpts', payload: { id: 'v4c', name: 'V', description: true }, errors: [{ pointer: '/description', location: 'body', message: /string/ }] },
    { name: 'scopes that is a string', method: 'POST', url: '/v1/admin/gpts/err-gpt/keys', payload: { scopes: 'read' }, errors: [{ pointer: '/scopes', location: 'body', message: /array/ }] },
    { name: 'empty name', method: 'POST', url: '/v1/admin/gpts', payload: { id: 'v5', name: '' }, errors: [{ pointer: '/name', location: 'body' }] },
    { name: 'id with spaces', method: 'POST', url: '/v1/admin/gpts', payload: { id: 'has space', name: 'V6' }, errors: [{ pointer: '/id', location: 'body', message: /pattern/ }] },
    { name: 'body that is an array', method: 'POST', url: '/v1/admin/gpts', payload: [1, 2], errors: [{ pointer: '', location: 'body', message: /object/ }] },
    {
      name: 'wrong scope name in a key',
      method: 'POST',
      url: '/v1/admin/gpts/err-gpt/keys',
      payload: { scopes: ['read', 'root'] },
      errors: [{ pointer: '/scopes/1', location: 'body', message: /"read", "write", "admin"|constant|one of/ }],
    },
    { name: 'limit=0', url: '/v1/admin/gpts?limit=0', errors: [{ pointer: '/limit', location: 'query', message: />= 1/ }] },
    { name: 'limit=999', url: '/v1/admin/gpts?limit=999', errors: [{ pointer: '/limit', location: 'query', message: /<= 200/ }] },
    { name: 'limit=abc', url: '/v1/admin/gpts?limit=abc', errors: [{ pointer: '/limit', location: 'query', message: /integer/ }] },
    { name: 'order=sideways', url: '/v1/admin/gpts?order=sideways', errors: [{ pointer: '/order', location: 'query' }] },
    { name: 'unknown query parameter', url: '/v1/admin/gpts?page=2', errors: [{ pointer: '/page', location: 'query', message: /not an allowed property/ }] },
    { name: 'bad path parameter', url: '/v1/admin/gpts/bad!id', errors: [{ pointer: '/gpt_id', location: 'params', message: /pattern/ }] },
    { name: 'key id that is not a uuid', method: 'DELETE', url: '/v1/admin/keys/not-a-uuid', errors: [{ pointer: '/key_id', location: 'params', message: /uuid/ }] },
  ]

  it.each(scenarios)('$name', async ({ method = 'GET', url, payload, errors }) => {
    const response = await t.app.inject({ method, url, headers: admin(), ...(payload !== undefined ? { payload: payload as object } : {}) })
    const body = expectProblem(response, 422, url)
    expect(body.type).toBe('/problems/validation-failed')
    expect(Array.isArray(body.errors)).toBe(true)
    for (const error of body.errors!) {
      expect(error).toEqual({ pointer: expect.any(String), message: expect.any(String), location: expect.any(String) })
      expect(error.message.length).toBeGreaterThan(0)
    }
    // Every expected member is reported, and nothing but the expected members.
    expect([...new Set(body.errors!.map((e) => e.pointer))].sort()).toEqual(errors.map((e) => e.pointer).sort())
    for (const expected of errors) {
      const found = body.errors!.find((e) => e.pointer === expected.pointer)!
      expect(found.location).toBe(expected.location)
      if (expected.message) expect(found.message).toMatch(expected.message)
    }
  })
})

describe('X-Request-Id', () => {
  it.each(['req-123', 'a1b2c3d4.e5:f6_g7', 'x'.repeat(128)])('echoes a valid id %j', async (id) => {
    const response = await t.app.inject({ url: '/health', headers: { 'x-request-id': id } })
    expect(response.statusCode).toBe(200)
    expect(response.headers['x-request-id']).toBe(id)
  })

  it('echoes it in a problem body and in the log', async () => {
    const response = await t.app.inject({ url: '/nope', headers: { 'x-request-id': 'trace-404' } })
    expect(response.headers['x-request-id']).toBe('trace-404')
    expect(response.json().request_id).toBe('trace-404')
    expect(t.logs.some((line) => line.reqId === 'trace-404')).toBe(true)
  })

  it('generates a fresh one when none is given', async () => {
    const [first, second] = await Promise.all([t.app.inject({ url: '/health' }), t.app.inject({ url: '/health' })])
    expect(first.headers['x-request-id']).toMatch(UUID)
    expect(second.headers['x-request-id']).toMatch(UUID)
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id'])
  })

  it.each([
    ['spaces', 'my request id'],
    ['a newline', 'abc\ninjected log line'],
    ['a carriage return', 'abc\r\nx-evil: 1'],
    ['quotes and braces', '{"level":60}'],
    ['too long', 'x'.repeat(129)],
    ['very long', 'a'.repeat(10_000)],
    ['empty', ''],
  ])('replaces one with %s', async (_name, id) => {
    const response = await t.app.inject({ url: '/health', headers: { 'x-request-id': id } })
    expect(response.statusCode).toBe(200)
    expect(response.headers['x-request-id']).toMatch(UUID)
    expect(response.headers['x-request-id']).not.toBe(id)
    if (id.length > 0) expect(JSON.stringify(t.logs)).not.toContain(JSON.stringify(id).slice(1, -1))
  })
})

describe('problem types resolve', () => {
  it.each(Object.entries(PROBLEMS))('/problems/%s describes the problem', async (code, kind) => {
    const response = await t.app.inject({ url: `/problems/${code}` })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ type: `/problems/${code}`, status: kind.status, title: kind.title, description: kind.description })
    expect(kind.description.length).toBeGreaterThan(20)
  })

  it('an unknown problem type is 404', async () => {
    const response = await t.app.inject({ url: '/problems/no-such-thing' })
    expect(response.statusCode).toBe(404)
    expect(response.json().type).toBe('/problems/not-found')
  })

  it('the type of an error answer is a path that resolves', async () => {
    const error = await t.app.inject({ url: '/v1/gpts/x', headers: {} })
    const described = await t.app.inject({ url: error.json().type })
    expect(described.json()).toMatchObject({ status: 401, title: 'Unauthorized' })
  })
})

describe('text PostgreSQL cannot store', () => {
  it.each([
    { name: 'NUL in a GPT name', url: '/v1/admin/gpts', payload: '{"id":"nul-gpt","name":"a\\u0000b"}', pointer: '/name', location: 'body' },
    { name: 'lone surrogate in a description', url: '/v1/admin/gpts', payload: '{"id":"sur-gpt","name":"x","description":"\\ud800"}', pointer: '/description', location: 'body' },
    { name: 'NUL in a member name', url: '/v1/admin/gpts', payload: '{"id":"k-gpt","name":"x","a\\u0000":1}', pointer: '/a\u0000', location: 'body' },
  ])('$name → 422', async ({ url, payload, pointer, location }) => {
    const response = await t.app.inject({ method: 'POST', url, headers: { ...admin(), 'content-type': 'application/json' }, payload })
    expectProblem(response, 422, url)
    expect(response.json().errors[0]).toMatchObject({ pointer, location })
  })

  it('a number JSON can write but PostgreSQL cannot hold (1e309) → 422, never stored as null', async () => {
    const { token } = await createGptWithKey(t.services, 'inf-gpt')
    const headers = { ...bearer(token), 'content-type': 'application/json' }
    expect((await t.app.inject({ method: 'POST', url: '/v1/gpts/inf-gpt/collections', headers, payload: '{"name":"numbers"}' })).statusCode).toBe(201)
    const url = '/v1/gpts/inf-gpt/collections/numbers/objects'
    for (const [payload, pointer] of [['{"n":1e309}', '/n'], ['{"list":[1,-1e309]}', '/list/1']] as const) {
      const response = await t.app.inject({ method: 'POST', url, headers, payload })
      expectProblem(response, 422, url)
      expect(response.json().errors[0]).toEqual({ pointer, location: 'body', message: 'must be a finite number' })
    }
    const list = await t.app.inject({ url, headers: bearer(token) })
    expect(list.json().objects).toEqual([])
  })

  it('NUL in a query string → 422', async () => {
    const response = await t.app.inject({ url: '/v1/admin/gpts?cursor=%00', headers: admin() })
    expectProblem(response, 422, '/v1/admin/gpts')
    expect(response.json().errors[0]).toMatchObject({ pointer: '/cursor', location: 'query' })
  })
})

describe('nesting depth of any body', () => {
  it('answers 422, not 500, for metadata nested thousands of levels deep', async () => {
    const t = await createTestApp()
    try {
      const { token } = await createGptWithKey(t.services, 'deep-gpt')
      // Sent as text: building it as an object would overflow the test's own JSON.stringify.
      const metadata = `${'{"a":'.repeat(5000)}{}${'}'.repeat(5000)}`
      const payload = `{"name":"x","title":"x","content":"x","metadata":${metadata}}`
      for (const url of ['/v1/gpts/deep-gpt/agents', '/v1/gpts/deep-gpt/conversations', '/v1/gpts/deep-gpt/memories']) {
        const headers = { ...bearer(token), 'content-type': 'application/json' }
        const response = await t.app.inject({ method: 'POST', url, headers, payload })
        expect(response.statusCode, url).toBe(422)
        expect(response.headers['content-type']).toContain('application/problem+json')
        expect(response.json().detail).toContain('deeper than 256 levels')
      }
    } finally {
      await t.close()
    }
  })
})

import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'

type Body = Record<string, unknown>
interface ObjectView {
  id: string
  gpt_id: string
  collection: string
  body: Body
  created_at: string
  updated_at: string
}
interface ObjectList {
  objects: ObjectView[]
  next_cursor: string | null
  has_more: boolean
}

const GPT = 'obj-gpt'
const COLLECTIONS = `/v1/gpts/${GPT}/collections`
const objectsOf = (collection: string) => `${COLLECTIONS}/${collection}/objects`
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'

let t: TestApp
/** BODY_LIMIT 64kb, IMPORT_MAX_LINES 5, IMPORT_BODY_LIMIT 128kb, MAX_PAGE_SIZE 10, DEFAULT_PAGE_SIZE 4. */
let small: TestApp
let writer: string
let admin: string
let reader: string
let smallWriter: string

beforeAll(async () => {
  ;[t, small] = await Promise.all([
    createTestApp(),
    createTestApp({
      env: { BODY_LIMIT: '64kb', IMPORT_MAX_LINES: '5', IMPORT_BODY_LIMIT: '128kb', MAX_PAGE_SIZE: '10', DEFAULT_PAGE_SIZE: '4' },
    }),
  ])
  writer = (await createGptWithKey(t.services, GPT, ['read', 'write'])).token
  admin = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
  smallWriter = (await createGptWithKey(small.services, GPT, ['read', 'write'])).token
})

afterAll(async () => {
  await Promise.all([t?.close(), small?.close()])
})

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

interface CallOptions {
  token?: string
  headers?: Record<string, string>
  app?: TestApp
  /** Sent as the raw body (with Content-Type application/json unless headers say otherwise). */
  raw?: string
}

function call(method: Method, url: string, payload?: unknown, options: CallOptions = {}): Promise<LightMyRequestResponse> {
  const app = options.app ?? t
  const headers: Record<string, string> = { ...bearer(options.token ?? writer), ...options.headers }
  if (options.raw !== undefined) {
    return app.app.inject({ method, url, headers: { 'content-type': 'application/json', ...headers }, payload: options.raw })
  }
  if (payload === undefined) return app.app.inject({ method, url, headers })
  return app.app.inject({ method, url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(payload) })
}


async function createCollection(name: string, schema?: Body, app: TestApp = t, token = admin): Promise<void> {
  const response = await app.app.inject({
    method: 'POST',
    url: COLLECTIONS,
    headers: bearer(token),
    payload: schema === undefined ? { name } : { name, schema },
  })
  expect(response.statusCode, response.body).toBe(201)
}

async function createObject(collection: string, body: Body, options: CallOptions = {}): Promise<ObjectView> {
  const response = await call('POST', objectsOf(collection), body, options)
  expect(response.statusCode, response.body).toBe(201)
  return response.json<ObjectView>()
}

async function listAll(collection: string, query = '', options: CallOptions = {}): Promise<ObjectView[]> {
  // The small app caps pages at 10 (MAX_PAGE_SIZE).
  const limit = options.app === small ? 10 : 200
  const response = await call('GET', `${objectsOf(collection)}?limit=${limit}${query ? `&${query}` : ''}`, undefined, options)
  expect(response.statusCode, response.body).toBe(200)
  const page = response.json<ObjectList>()
  expect(page.has_more).toBe(false)
  return page.objects
}

/** Follows Link headers from `url`; checks that each page's Link and next_cursor agree. */
async function walk(url: string, options: CallOptions = {}): Promise<{ objects: ObjectView[]; pages: number }> {
  const objects: ObjectView[] = []
  let next: string | null = url
  let pages = 0
  while (next !== null) {
    const response = await call('GET', next, undefined, options)
    expect(response.statusCode, response.body).toBe(200)
    const page = response.json<ObjectList>()
    objects.push(...page.objects)
    pages++
    expect(pages).toBeLessThan(100)
    if (page.has_more) {
      const link = response.headers.link as string
      expect(link).toMatch(/^<http:\/\/agentstore\.test\/v1\/gpts\/[^>]+>; rel="next"$/)
      const target = new URL(/^<([^>]+)>/.exec(link)![1]!)
      expect(target.searchParams.get('cursor')).toBe(page.next_cursor)
      next = `${target.pathname}${target.search}`
    } else {
      expect(page.next_cursor).toBeNull()
      expect(response.headers.link).toBeUndefined()
      next = null
    }
  }
  return { objects, pages }
}

const nested = (collection: string, id: string) => `${objectsOf(collection)}/${id}`

describe('creating documents', () => {
  beforeAll(async () => {
    await createCollection('notes')
    await createCollection('strict', {
      type: 'object',
      required: ['title', 'year'],
      properties: { title: { type: 'string', minLength: 1 }, year: { type: 'integer', minimum: 1900 }, tags: { type: 'array', items: { type: 'string' } } },
      additionalProperties: false,
    })
  })

  it('stores the request body itself: 201, Location, ETag and the object view', async () => {
    const body = { date: '2025-01-02', entry: 'Walked the dog.', mood: 7, done: true, extra: null, list: [1, 'two', { three: 3 }] }
    const response = await call('POST', objectsOf('notes'), body)
    expect(response.statusCode, response.body).toBe(201)
    const view = response.json<ObjectView>()
    expect(view).toEqual({ id: expect.stringMatching(UUID_V7), gpt_id: GPT, collection: 'notes', body, created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO) })
    expect(view.created_at).toBe(view.updated_at)
    expect(response.headers.location).toBe(`/v1/objects/${view.id}`)
    expect(response.headers.etag).toBe('"1"')
    expect(response.headers['content-type']).toMatch(/^application\/json/)

    const read = await call('GET', `/v1/objects/${view.id}`, undefined, { token: reader })
    expect(read.statusCode).toBe(200)
    expect(read.json<ObjectView>()).toEqual(view)
    expect(read.headers.etag).toBe('"1"')
  })

  it('takes {"body": {…}} alone as the envelope and stores the inner object', async () => {
    const view = await createObject('notes', { body: { entry: 'inside', n: 1 } })
    expect(view.body).toEqual({ entry: 'inside', n: 1 })
  })

  const asIs: { name: string; body: Body }[] = [
    { name: 'body plus other keys', body: { body: { entry: 'x' }, title: 'kept' } },
    { name: 'body that is a string', body: { body: 'just text' } },
    { name: 'body that is an array', body: { body: [{ a: 1 }] } },
    { name: 'body that is null', body: { body: null } },
    { name: 'an empty object', body: {} },
  ]
  it.each(asIs)('stores $name as it is', async ({ body }) => {
    expect((await createObject('notes', body)).body).toEqual(body)
  })

  const notObjects: { name: string; raw: string; status: number; type: string }[] = [
    { name: 'an array', raw: '[{"a":1}]', status: 422, type: 'validation-failed' },
    { name: 'an empty array', raw: '[]', status: 422, type: 'validation-failed' },
    { name: 'a string', raw: '"hello"', status: 422, type: 'validation-failed' },
    { name: 'a number', raw: '42', status: 422, type: 'validation-failed' },
    { name: 'true', raw: 'true', status: 422, type: 'validation-failed' },
    { name: 'null', raw: 'null', status: 422, type: 'validation-failed' },
    { name: 'malformed JSON', raw: '{"a":', status: 400, type: 'malformed-json' },
    { name: 'an empty body', raw: '', status: 400, type: 'malformed-json' },
  ]
  it.each(notObjects)('rejects $name with $status', async ({ raw, status, type }) => {
    const before = (await listAll('notes')).length
    const url = objectsOf('notes')
    const problem = expectProblem(await call('POST', url, undefined, { raw }), status, url, type)
    if (status === 422) expect(problem.errors?.[0]).toMatchObject({ pointer: '', location: 'body' })
    expect((await listAll('notes')).length).toBe(before)
  })

  it('rejects a body that is not JSON with 415', async () => {
    const url = objectsOf('notes')
    const response = await call('POST', url, undefined, { raw: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expectProblem(response, 415, url, 'unsupported-media-type')
  })

  it('answers 404 for an unknown collection', async () => {
    const url = objectsOf('nowhere')
    const problem = expectProblem(await call('POST', url, { a: 1 }), 404, url, 'not-found')
    expect(problem.detail).toMatch(/Collection "nowhere" not found/)
  })

  it('stores a document that matches the schema', async () => {
    const view = await createObject('strict', { title: 'Dune', year: 1965, tags: ['sf'] })
    expect(view.body).toEqual({ title: 'Dune', year: 1965, tags: ['sf'] })
  })

  const failing: { name: string; body: Body; errors: { pointer: string; message: RegExp }[] }[] = [
    { name: 'a missing field', body: { title: 'Dune' }, errors: [{ pointer: '/year', message: /required/ }] },
    { name: 'a wrong type', body: { title: 'Dune', year: '1965' }, errors: [{ pointer: '/year', message: /integer/ }] },
    { name: 'a value below the minimum', body: { title: 'Dune', year: 1800 }, errors: [{ pointer: '/year', message: />= 1900/ }] },
    { name: 'a bad array item', body: { title: 'Dune', year: 1965, tags: ['ok', 5] }, errors: [{ pointer: '/tags/1', message: /string/ }] },
    { name: 'an extra field', body: { title: 'Dune', year: 1965, isbn: 'x' }, errors: [{ pointer: '/isbn', message: /not an allowed property/ }] },
    {
      name: 'several problems at once',
      body: { title: '', tags: 'x' },
      errors: [
        { pointer: '/year', message: /required/ },
        { pointer: '/title', message: /fewer than 1/ },
        { pointer: '/tags', message: /array/ },
      ],
    },
  ]
  it.each(failing)('refuses $name with 400 and pointers, storing nothing', async ({ body, errors }) => {
    const before = (await listAll('strict')).length
    const url = objectsOf('strict')
    const problem = expectProblem(await call('POST', url, body), 400, url, 'bad-request')
    expect(problem.detail).toMatch(/does not match the schema of collection "strict"/)
    expect(problem.errors).toHaveLength(errors.length)
    expect(problem.errors).toEqual(expect.arrayContaining(errors.map((e) => ({ pointer: e.pointer, message: expect.stringMatching(e.message) }))))
    expect((await listAll('strict')).length).toBe(before)
  })

  it('validates the envelope’s inner object against the schema', async () => {
    const url = objectsOf('strict')
    expect((await call('POST', url, { body: { title: 'Emma', year: 1915 } })).statusCode).toBe(201)
    const problem = expectProblem(await call('POST', url, { body: { title: 'Emma' } }), 400, url)
    expect(problem.errors).toEqual([{ pointer: '/year', message: expect.any(String) }])
  })
})

describe('reading and changing one document', () => {
  let id: string
  beforeAll(async () => {
    await createCollection('items')
    await createCollection('others')
    await createCollection('typed', { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] })
    id = (await createObject('items', { a: 1, b: 2 })).id
  })

  it('PATCH merges top-level fields, moves updated_at and the ETag', async () => {
    const before = (await call('GET', `/v1/objects/${id}`)).json<ObjectView>()
    await new Promise((resolve) => setTimeout(resolve, 5))
    const response = await call('PATCH', `/v1/objects/${id}`, { b: 3, c: { deep: true } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers.etag).toBe('"2"')
    const after = response.json<ObjectView>()
    expect(after.body).toEqual({ a: 1, b: 3, c: { deep: true } })
    expect(after.created_at).toBe(before.created_at)
    expect(Date.parse(after.updated_at)).toBeGreaterThan(Date.parse(before.updated_at))
    // Top-level merge: a nested object is replaced, not merged.
    const again = await call('PATCH', `/v1/objects/${id}`, { c: { other: 1 } })
    expect(again.json<ObjectView>().body).toEqual({ a: 1, b: 3, c: { other: 1 } })
    // The envelope form merges the inner object.
    const envelope = await call('PATCH', `/v1/objects/${id}`, { body: { d: 'x' } })
    expect(envelope.json<ObjectView>().body).toEqual({ a: 1, b: 3, c: { other: 1 }, d: 'x' })
    expect(envelope.headers.etag).toBe('"4"')
    expect((await call('GET', `/v1/objects/${id}`)).json<ObjectView>()).toEqual(envelope.json<ObjectView>())
  })

  it('PUT replaces the whole body', async () => {
    const response = await call('PUT', `/v1/objects/${id}`, { only: 'this' })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<ObjectView>().body).toEqual({ only: 'this' })
    const envelope = await call('PUT', `/v1/objects/${id}`, { body: { wrapped: 1 } })
    expect(envelope.json<ObjectView>().body).toEqual({ wrapped: 1 })
    const etag = envelope.headers.etag as string
    expect((await call('GET', `/v1/objects/${id}`)).headers.etag).toBe(etag)
  })

  it('re-validates a merge and a replacement against the schema: 400 and nothing changed', async () => {
    const doc = await createObject('typed', { n: 1, label: 'one' })
    const url = `/v1/objects/${doc.id}`
    const merge = expectProblem(await call('PATCH', url, { n: 'two' }), 400, url, 'bad-request')
    expect(merge.errors).toEqual([{ pointer: '/n', message: 'must be integer' }])
    const replace = expectProblem(await call('PUT', url, { label: 'no n' }), 400, url, 'bad-request')
    expect(replace.errors).toEqual([{ pointer: '/n', message: expect.stringContaining('n') }])
    const nestedUrl = nested('typed', doc.id)
    expectProblem(await call('PATCH', nestedUrl, { n: 1.5 }), 400, nestedUrl)
    const read = await call('GET', url)
    expect(read.json<ObjectView>()).toEqual(doc)
    expect(read.headers.etag).toBe('"1"')
    // A valid merge goes through.
    const ok = await call('PATCH', url, { n: 2 })
    expect(ok.json<ObjectView>().body).toEqual({ n: 2, label: 'one' })
  })

  it('DELETE answers 204, then 404', async () => {
    const doc = await createObject('items', { gone: true })
    const url = `/v1/objects/${doc.id}`
    const response = await call('DELETE', url)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    expectProblem(await call('PATCH', url, { a: 1 }), 404, url, 'not-found')
    expectProblem(await call('PUT', url, { a: 1 }), 404, url, 'not-found')
  })

  it('answers the nested item routes like the flat ones', async () => {
    const doc = await createObject('items', { v: 1 })
    const url = nested('items', doc.id)
    const read = await call('GET', url)
    expect(read.statusCode).toBe(200)
    expect(read.json<ObjectView>()).toEqual(doc)
    expect(read.headers.etag).toBe('"1"')
    const patched = await call('PATCH', url, { w: 2 })
    expect(patched.statusCode).toBe(200)
    expect(patched.json<ObjectView>().body).toEqual({ v: 1, w: 2 })
    expect(patched.headers.etag).toBe('"2"')
    const put = await call('PUT', url, { x: 3 }, { headers: { 'if-match': '"2"' } })
    expect(put.statusCode).toBe(200)
    expect(put.json<ObjectView>().body).toEqual({ x: 3 })
    expectProblem(await call('DELETE', url, undefined, { headers: { 'if-match': '"2"' } }), 412, url, 'precondition-failed')
    expect((await call('DELETE', url, undefined, { headers: { 'if-match': '"3"' } })).statusCode).toBe(204)
    expectProblem(await call('GET', `/v1/objects/${doc.id}`), 404, `/v1/objects/${doc.id}`)
  })

  it('answers 404 on a nested path naming another (or an unknown) collection, changing nothing', async () => {
    const doc = await createObject('items', { mine: 'items' })
    for (const collection of ['others', 'unknown-collection']) {
      const url = nested(collection, doc.id)
      for (const [method, payload] of [['GET'], ['PATCH', { x: 1 }], ['PUT', { x: 1 }], ['DELETE']] as [Method, Body?][]) {
        const problem = expectProblem(await call(method, url, payload), 404, url, 'not-found')
        expect(problem.detail).toMatch(/not found/)
      }
    }
    const read = await call('GET', `/v1/objects/${doc.id}`)
    expect(read.json<ObjectView>()).toEqual(doc)
    expect(read.headers.etag).toBe('"1"')
  })

  const malformedIds = ['not-a-uuid', '123', '0190a1b2-0000-7000-8000-00000000000', '0190a1b2-0000-7000-8000-00000000000g', "x' OR '1'='1"]
  const methods: [Method, Body?][] = [['GET'], ['PATCH', { a: 1 }], ['PUT', { a: 1 }], ['DELETE']]
  it.each(malformedIds.flatMap((bad) => methods.map(([method, payload]) => ({ bad, method, payload }))))(
    '$method with malformed id $bad → 422',
    async ({ bad, method, payload }) => {
      for (const url of [`/v1/objects/${encodeURIComponent(bad)}`, nested('items', encodeURIComponent(bad))]) {
        const problem = expectProblem(await call(method, url, payload), 422, url, 'validation-failed')
        expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/id', location: 'params' })])
      }
    },
  )

  it('answers 404 for a well-formed id that does not exist', async () => {
    for (const [method, payload] of methods) {
      const url = `/v1/objects/${MISSING_ID}`
      expect(expectProblem(await call(method, url, payload), 404, url).detail).toBe(`Object "${MISSING_ID}" not found.`)
    }
  })

  it('needs the write scope to change and the read scope to read', async () => {
    const doc = await createObject('items', { scoped: true })
    const url = `/v1/objects/${doc.id}`
    expect((await call('GET', url, undefined, { token: reader })).statusCode).toBe(200)
    for (const [method, payload] of [['PATCH', { a: 1 }], ['PUT', { a: 1 }], ['DELETE']] as [Method, Body?][]) {
      expect(expectProblem(await call(method, url, payload, { token: reader }), 403, url).detail).toMatch(/"write" scope/)
    }
    expect(expectProblem(await call('POST', objectsOf('items'), { a: 1 }, { token: reader }), 403, objectsOf('items')).detail).toMatch(/"write"/)
    expect((await call('GET', url)).json<ObjectView>()).toEqual(doc)
  })
})

describe('ETag and If-Match', () => {
  let id: string
  let url: string
  beforeAll(async () => {
    await createCollection('etags')
    id = (await createObject('etags', { n: 0 })).id
    url = `/v1/objects/${id}`
    expect((await call('PATCH', url, { n: 1 })).headers.etag).toBe('"2"')
  })

  const scenarios: { name: string; method: Method; ifMatch: string; status: number }[] = [
    { name: 'stale ETag on PATCH', method: 'PATCH', ifMatch: '"1"', status: 412 },
    { name: 'stale ETag on PUT', method: 'PUT', ifMatch: '"1"', status: 412 },
    { name: 'stale ETag on DELETE', method: 'DELETE', ifMatch: '"1"', status: 412 },
    { name: 'unquoted ETag', method: 'PATCH', ifMatch: '2', status: 412 },
    { name: 'weak ETag (strong comparison)', method: 'PATCH', ifMatch: 'W/"2"', status: 412 },
    { name: 'a list without the current ETag', method: 'PUT', ifMatch: '"1", "7"', status: 412 },
  ]
  it.each(scenarios)('$name → $status and nothing changes', async ({ method, ifMatch, status }) => {
    const before = await call('GET', url)
    const problem = expectProblem(await call(method, url, method === 'DELETE' ? undefined : { n: 99 }, { headers: { 'if-match': ifMatch } }), status, url, 'precondition-failed')
    expect(problem.detail).toMatch(/ETag is "\d+"/)
    const after = await call('GET', url)
    expect(after.json<ObjectView>()).toEqual(before.json<ObjectView>())
    expect(after.headers.etag).toBe(before.headers.etag)
  })

  it('accepts the current ETag, a list holding it, and *', async () => {
    let response = await call('PATCH', url, { n: 2 }, { headers: { 'if-match': '"2"' } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers.etag).toBe('"3"')
    response = await call('PUT', url, { n: 3 }, { headers: { 'if-match': '"1", "3"' } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers.etag).toBe('"4"')
    response = await call('PATCH', url, { n: 4 }, { headers: { 'if-match': '*' } })
    expect(response.statusCode).toBe(200)
    expect(response.headers.etag).toBe('"5"')
    expect(response.json<ObjectView>().body).toEqual({ n: 4 })
    response = await call('DELETE', url, undefined, { headers: { 'if-match': '"5"' } })
    expect(response.statusCode).toBe(204)
  })

  it('If-Match on a missing object is 404, and * deletes', async () => {
    const missing = `/v1/objects/${MISSING_ID}`
    expectProblem(await call('PATCH', missing, { a: 1 }, { headers: { 'if-match': '*' } }), 404, missing)
    const doc = await createObject('etags', { x: 1 })
    expect((await call('DELETE', `/v1/objects/${doc.id}`, undefined, { headers: { 'if-match': '*' } })).statusCode).toBe(204)
  })
})

describe('Idempotency-Key', () => {
  beforeAll(async () => {
    await createCollection('idem')
    await createCollection('idem-other')
  })

  it('replays the first response for the same key and body, storing once', async () => {
    const headers = { 'idempotency-key': 'order-42' }
    const first = await call('POST', objectsOf('idem'), { item: 'tea', qty: 2 }, { headers })
    expect(first.statusCode, first.body).toBe(201)
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    const view = first.json<ObjectView>()
    for (let i = 0; i < 3; i++) {
      const again = await call('POST', objectsOf('idem'), { item: 'tea', qty: 2 }, { headers })
      expect(again.statusCode).toBe(201)
      expect(again.headers['idempotent-replayed']).toBe('true')
      expect(again.headers.etag).toBe(first.headers.etag)
      expect(again.headers.location).toBe(first.headers.location)
      expect(again.json<ObjectView>()).toEqual(view)
    }
    const stored = await listAll('idem')
    expect(stored.map((o) => o.id)).toEqual([view.id])
  })

  it('answers 422 for the same key with another body (or another collection), storing nothing', async () => {
    const headers = { 'idempotency-key': 'order-43' }
    expect((await call('POST', objectsOf('idem'), { item: 'coffee' }, { headers })).statusCode).toBe(201)
    const count = (await listAll('idem')).length
    for (const [collection, body] of [['idem', { item: 'coffee', qty: 3 }], ['idem-other', { item: 'coffee' }]] as const) {
      const url = objectsOf(collection)
      const problem = expectProblem(await call('POST', url, body, { headers }), 422, url, 'validation-failed')
      expect(problem.detail).toMatch(/different request/)
      expect(problem.errors).toEqual([{ pointer: '/Idempotency-Key', location: 'headers', message: expect.any(String) }])
    }
    expect((await listAll('idem')).length).toBe(count)
    expect(await listAll('idem-other')).toEqual([])
  })

  const badKeys: { name: string; key: string }[] = [
    { name: '300 characters', key: 'k'.repeat(300) },
    { name: '256 characters', key: 'k'.repeat(256) },
    { name: 'a space inside', key: 'two words' },
    { name: 'an empty key', key: '' },
  ]
  it.each(badKeys)('rejects a key of $name with 422, storing nothing', async ({ key }) => {
    const url = objectsOf('idem')
    const count = (await listAll('idem')).length
    const problem = expectProblem(await call('POST', url, { bad: key.length }, { headers: { 'idempotency-key': key } }), 422, url, 'validation-failed')
    expect(problem.errors?.[0]).toMatchObject({ location: 'headers' })
    expect(problem.errors?.[0]?.pointer).toMatch(/idempotency-key/i)
    expect((await listAll('idem')).length).toBe(count)
  })

  it('accepts a key of exactly 255 visible characters', async () => {
    const key = 'K'.repeat(254) + '~'
    const first = await call('POST', objectsOf('idem'), { long: true }, { headers: { 'idempotency-key': key } })
    expect(first.statusCode).toBe(201)
    const again = await call('POST', objectsOf('idem'), { long: true }, { headers: { 'idempotency-key': key } })
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json<ObjectView>().id).toBe(first.json<ObjectView>().id)
  })

  it('stores once when the same key arrives concurrently', async () => {
    const headers = { 'idempotency-key': 'concurrent-1' }
    const responses = await Promise.all(Array.from({ length: 6 }, () => call('POST', objectsOf('idem-other'), { race: true }, { headers })))
    const statuses = responses.map((r) => r.statusCode)
    // Each repeat either replays the winner or is told to retry (409) while the winner is in flight.
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1)
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true)
    const ids = new Set(responses.filter((r) => r.statusCode === 201).map((r) => r.json<ObjectView>().id))
    expect(ids.size).toBe(1)
    expect((await listAll('idem-other')).filter((o) => o.body.race === true)).toHaveLength(1)
  })

  it('forgets a key after 24 hours', async () => {
    const headers = { 'idempotency-key': 'expiring' }
    const first = (await call('POST', objectsOf('idem'), { v: 1 }, { headers })).json<ObjectView>()
    await sql`update idempotency_keys set created_at = now() - interval '24 hours 1 minute' where key = 'expiring'`.execute(t.db.database.db)
    // Past 24 h the key is free again: another body is a new write, not a 422.
    const second = await call('POST', objectsOf('idem'), { v: 2 }, { headers })
    expect(second.statusCode).toBe(201)
    expect(second.headers['idempotent-replayed']).toBeUndefined()
    expect(second.json<ObjectView>().id).not.toBe(first.id)
    const replay = await call('POST', objectsOf('idem'), { v: 2 }, { headers })
    expect(replay.headers['idempotent-replayed']).toBe('true')
    expect(replay.json<ObjectView>().id).toBe(second.json<ObjectView>().id)
  })
})

describe('listing documents', () => {
  let seq: ObjectView[]
  let bulkIds: string[]

  beforeAll(async () => {
    await createCollection('seq')
    await createCollection('bulk')
    await createCollection('empty')
    seq = []
    for (let n = 0; n < 25; n++) seq.push(await createObject('seq', { n }))
    const lines = Array.from({ length: 25 }, (_, n) => JSON.stringify({ n })).join('\n')
    const imported = await t.app.inject({ method: 'POST', url: `${COLLECTIONS}/bulk/import`, headers: { ...bearer(writer), 'content-type': 'application/x-ndjson' }, payload: lines })
    expect(imported.statusCode, imported.body).toBe(201)
    bulkIds = (await listAll('bulk', 'order=asc')).map((o) => o.id)
  })

  it('lists newest first by default', async () => {
    const response = await call('GET', objectsOf('seq'))
    expect(response.statusCode).toBe(200)
    const page = response.json<ObjectList>()
    expect(page.has_more).toBe(false)
    expect(page.next_cursor).toBeNull()
    expect(response.headers.link).toBeUndefined()
    expect(page.objects.map((o) => o.body.n)).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i))
    expect(page.objects[0]).toEqual(seq[24])
  })

  it('lists oldest first with order=asc', async () => {
    const objects = await listAll('seq', 'order=asc')
    expect(objects.map((o) => o.id)).toEqual(seq.map((o) => o.id))
  })

  it('answers an empty page for an empty collection and 404 for an unknown one', async () => {
    expect((await call('GET', objectsOf('empty'))).json<ObjectList>()).toEqual({ objects: [], next_cursor: null, has_more: false })
    expectProblem(await call('GET', objectsOf('nope')), 404, objectsOf('nope'), 'not-found')
  })

  it.each(['desc', 'asc'] as const)('walks 25 documents 7 at a time in %s order, each exactly once', async (order) => {
    for (const [collection, expected] of [['seq', seq.map((o) => o.id)], ['bulk', bulkIds]] as const) {
      const { objects, pages } = await walk(`${objectsOf(collection)}?limit=7&order=${order}`)
      expect(pages).toBe(4)
      const ids = objects.map((o) => o.id)
      expect(new Set(ids).size).toBe(25)
      expect(ids).toEqual(order === 'asc' ? expected : [...expected].reverse())
    }
  })

  it('walks with sort=updated_at, and the last changed document comes first', async () => {
    const oldest = seq[0]!
    await new Promise((resolve) => setTimeout(resolve, 5))
    const patched = await call('PATCH', `/v1/objects/${oldest.id}`, { touched: true })
    expect(patched.statusCode).toBe(200)
    const byUpdate = await listAll('seq', 'sort=updated_at')
    expect(byUpdate[0]!.id).toBe(oldest.id)
    expect(byUpdate[0]!.body).toEqual({ n: 0, touched: true })
    const byCreation = await listAll('seq')
    expect(byCreation[24]!.id).toBe(oldest.id)
    const { objects } = await walk(`${objectsOf('seq')}?limit=6&sort=updated_at&order=asc`)
    expect(objects.map((o) => o.id)).toEqual([...seq.slice(1).map((o) => o.id), oldest.id])
  })

  it('follows the page-size limits (1–200, default 50)', async () => {
    expect((await call('GET', `${objectsOf('seq')}?limit=1`)).json<ObjectList>().objects).toHaveLength(1)
    expect((await call('GET', `${objectsOf('seq')}?limit=200`)).json<ObjectList>().objects).toHaveLength(25)
    for (const limit of ['0', '201', '-1', '1.5', 'many']) {
      const url = `${objectsOf('seq')}?limit=${limit}`
      const problem = expectProblem(await call('GET', url), 422, url, 'validation-failed')
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/limit', location: 'query' })])
    }
  })

  it('follows MAX_PAGE_SIZE and DEFAULT_PAGE_SIZE from config', async () => {
    await createCollection('paged', undefined, small, smallWriter)
    for (let n = 0; n < 9; n++) await createObject('paged', { n }, { app: small, token: smallWriter })
    const options = { app: small, token: smallWriter }
    const first = await call('GET', objectsOf('paged'), undefined, options)
    expect(first.json<ObjectList>().objects).toHaveLength(4)
    expect(first.json<ObjectList>().has_more).toBe(true)
    expect((await call('GET', `${objectsOf('paged')}?limit=10`, undefined, options)).json<ObjectList>().objects).toHaveLength(9)
    const url = `${objectsOf('paged')}?limit=11`
    expectProblem(await call('GET', url, undefined, options), 422, url, 'validation-failed')
    const { objects, pages } = await walk(objectsOf('paged'), options)
    expect(pages).toBe(3)
    expect(objects.map((o) => o.body.n)).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0])
  })

  it('refuses malformed cursors and cursors of another list with 400', async () => {
    const page = (await call('GET', `${objectsOf('seq')}?limit=2`)).json<ObjectList>()
    const cursor = page.next_cursor!
    const asc = (await call('GET', `${objectsOf('seq')}?limit=2&order=asc`)).json<ObjectList>().next_cursor!
    const forged = (key: unknown[], scope = `objects:${GPT}/seq:created_at:desc`) =>
      Buffer.from(JSON.stringify({ s: scope, k: key })).toString('base64url')
    const scenarios: { name: string; query: string; detail: RegExp }[] = [
      { name: 'garbage', query: `cursor=${encodeURIComponent('%%%not base64%%%')}`, detail: /malformed/ },
      { name: 'base64 of non-JSON', query: `cursor=${Buffer.from('hello').toString('base64url')}`, detail: /malformed/ },
      { name: 'JSON without a key', query: `cursor=${Buffer.from('{"s":"x"}').toString('base64url')}`, detail: /malformed/ },
      { name: 'a truncated cursor', query: `cursor=${cursor.slice(0, -6)}`, detail: /malformed|another/ },
      { name: 'a cursor of the other order', query: `cursor=${asc}`, detail: /another list or sort order/ },
      { name: 'a cursor reused with the other order', query: `order=asc&cursor=${cursor}`, detail: /another list or sort order/ },
      { name: 'a cursor reused with sort=updated_at', query: `sort=updated_at&cursor=${cursor}`, detail: /another list or sort order/ },
      { name: 'a cursor reused with q', query: `q=x&cursor=${cursor}`, detail: /another list or sort order/ },
      { name: 'a forged key with a bad date', query: `cursor=${forged(['yesterday', MISSING_ID])}`, detail: /malformed/ },
      { name: 'a forged key with a bad id', query: `cursor=${forged([new Date().toISOString(), 'x'])}`, detail: /malformed/ },
      { name: 'a forged key that is too short', query: `cursor=${forged([])}`, detail: /malformed/ },
    ]
    for (const { name, query, detail } of scenarios) {
      const url = `${objectsOf('seq')}?${query}`
      const problem = expectProblem(await call('GET', url), 400, url, 'invalid-cursor')
      expect(problem.detail, name).toMatch(detail)
    }
    // A cursor from another collection.
    const other = `${objectsOf('bulk')}?limit=2&cursor=${cursor}`
    expect(expectProblem(await call('GET', other), 400, other, 'invalid-cursor').detail).toMatch(/another list/)
  })

  describe('filters', () => {
    let work: ObjectView[]
    beforeAll(async () => {
      await createCollection('filtered')
      work = []
      const docs: Body[] = [
        { tag: 'work', title: 'Quarterly report', meta: { lang: 'en', pages: 3 }, labels: ['a', 'b'] },
        { tag: 'home', title: 'Shopping list', meta: { lang: 'de' }, labels: ['b'] },
        { tag: 'work', title: 'Team meeting notes', meta: { lang: 'en' }, labels: ['c'] },
        { tag: 'home', title: 'Garden plan', priority: 1 },
        { tag: 'work', title: 'Budget', priority: 1, meta: { lang: 'fr' } },
      ]
      for (const doc of docs) {
        const view = await createObject('filtered', doc)
        if (doc.tag === 'work') work.push(view)
      }
    })

    const where = (value: unknown) => `where=${encodeURIComponent(JSON.stringify(value))}`
    const containment: { name: string; filter: unknown; titles: string[] }[] = [
      { name: 'one field', filter: { tag: 'work' }, titles: ['Budget', 'Team meeting notes', 'Quarterly report'] },
      { name: 'two fields', filter: { tag: 'home', priority: 1 }, titles: ['Garden plan'] },
      { name: 'a nested object', filter: { meta: { lang: 'en' } }, titles: ['Team meeting notes', 'Quarterly report'] },
      { name: 'an array element', filter: { labels: ['b'] }, titles: ['Shopping list', 'Quarterly report'] },
      { name: 'a number', filter: { meta: { pages: 3 } }, titles: ['Quarterly report'] },
      { name: 'nothing matching', filter: { tag: 'none' }, titles: [] },
      { name: 'the empty object (everything)', filter: {}, titles: ['Budget', 'Garden plan', 'Team meeting notes', 'Shopping list', 'Quarterly report'] },
    ]
    it.each(containment)('where matches by containment: $name', async ({ filter, titles }) => {
      expect((await listAll('filtered', where(filter))).map((o) => o.body.title)).toEqual(titles)
    })

    it('pages through a where filter', async () => {
      const { objects, pages } = await walk(`${objectsOf('filtered')}?limit=2&${where({ tag: 'work' })}`)
      expect(pages).toBe(2)
      expect(objects.map((o) => o.id)).toEqual([...work].reverse().map((o) => o.id))
    })

    const badWhere: { name: string; raw: string; detail: RegExp }[] = [
      { name: 'invalid JSON', raw: '{tag:work}', detail: /not valid JSON/ },
      { name: 'an array', raw: '["work"]', detail: /must be a JSON object/ },
      { name: 'a string', raw: '"work"', detail: /must be a JSON object/ },
      { name: 'a number', raw: '5', detail: /must be a JSON object/ },
      { name: 'null', raw: 'null', detail: /must be a JSON object/ },
    ]
    it.each(badWhere)('rejects a where that is $name with 422', async ({ raw, detail }) => {
      const url = `${objectsOf('filtered')}?where=${encodeURIComponent(raw)}`
      const problem = expectProblem(await call('GET', url), 422, url, 'validation-failed')
      expect(problem.detail).toMatch(detail)
      expect(problem.errors).toEqual([{ pointer: '/where', location: 'query', message: expect.any(String) }])
    })

    it('ranks full-text matches (q) best first, and pages through them', async () => {
      await createCollection('texts')
      const weak = await createObject('texts', { text: 'An apple and a banana' })
      const strong = await createObject('texts', { text: 'apple pie with apple sauce', note: 'apple' })
      await createObject('texts', { text: 'cherry only' })
      const medium = await createObject('texts', { text: 'apple crumble', other: 'apple' })
      const ranked = await listAll('texts', 'q=apple')
      expect(ranked.map((o) => o.id)).toEqual([strong.id, medium.id, weak.id])
      // Paged one at a time, the ranking holds across pages.
      const { objects, pages } = await walk(`${objectsOf('texts')}?q=apple&limit=1`)
      expect(pages).toBe(3)
      expect(objects.map((o) => o.id)).toEqual([strong.id, medium.id, weak.id])
      // Words in nested strings and in several terms (web search syntax).
      expect((await listAll('texts', `q=${encodeURIComponent('banana apple')}`)).map((o) => o.id)).toEqual([weak.id])
      expect((await listAll('texts', 'q=durian')).map((o) => o.id)).toEqual([])
      // q with where.
      expect((await listAll('texts', `q=apple&${where({ other: 'apple' })}`)).map((o) => o.id)).toEqual([medium.id])
    })

    it('pages through q results of equal rank, each exactly once', async () => {
      await createCollection('ties')
      const ids: string[] = []
      for (let i = 0; i < 7; i++) ids.push((await createObject('ties', { text: `kiwi number ${i}` })).id)
      const { objects, pages } = await walk(`${objectsOf('ties')}?q=kiwi&limit=3`)
      expect(pages).toBe(3)
      expect(new Set(objects.map((o) => o.id))).toEqual(new Set(ids))
      expect(objects).toHaveLength(7)
    })

    it('filters by created_after and created_before', async () => {
      await createCollection('dated')
      const early: ObjectView[] = []
      const late: ObjectView[] = []
      for (let i = 0; i < 3; i++) early.push(await createObject('dated', { phase: 'early', i }))
      await new Promise((resolve) => setTimeout(resolve, 20))
      for (let i = 0; i < 3; i++) late.push(await createObject('dated', { phase: 'late', i }))
      const boundaryAfter = encodeURIComponent(early[2]!.created_at)
      const boundaryBefore = encodeURIComponent(late[0]!.created_at)
      const after = await listAll('dated', `created_after=${boundaryAfter}&order=asc`)
      expect(after.map((o) => o.id)).toEqual(late.map((o) => o.id))
      const before = await listAll('dated', `created_before=${boundaryBefore}&order=asc`)
      expect(before.map((o) => o.id)).toEqual(early.map((o) => o.id))
      const between = await listAll('dated', `created_after=${encodeURIComponent(early[0]!.created_at)}&created_before=${boundaryBefore}&order=asc`)
      // Strictly after the first (documents of the same millisecond are not after it).
      expect(between.map((o) => o.id)).toEqual(early.filter((o) => o.created_at > early[0]!.created_at).map((o) => o.id))
      for (const bad of ['yesterday', '2025-13-01T00:00:00Z', '12345']) {
        const url = `${objectsOf('dated')}?created_after=${bad}`
        const problem = expectProblem(await call('GET', url), 422, url, 'validation-failed')
        expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/created_after', location: 'query' })])
      }
    })

    it('rejects an unknown sort, order or query parameter with 422', async () => {
      for (const [query, pointer] of [['sort=title', '/sort'], ['order=up', '/order'], ['colour=red', '/colour']] as const) {
        const url = `${objectsOf('filtered')}?${query}`
        const problem = expectProblem(await call('GET', url), 422, url, 'validation-failed')
        expect(problem.errors?.map((e) => e.pointer)).toContain(pointer)
      }
    })
  })
})

describe('export and import', () => {
  const importUrl = (collection: string) => `${COLLECTIONS}/${collection}/import`
  const exportUrl = (collection: string) => `${COLLECTIONS}/${collection}/export`
  const ndjson = (url: string, payload: string, options: { app?: TestApp; token?: string; type?: string } = {}) =>
    (options.app ?? t).app.inject({
      method: 'POST',
      url,
      headers: { ...bearer(options.token ?? writer), 'content-type': options.type ?? 'application/x-ndjson' },
      payload,
    })

  beforeAll(async () => {
    await createCollection('exported')
    await createCollection('imports', { type: 'object', required: ['title'], properties: { title: { type: 'string' }, n: { type: 'integer' } } })
  })

  it('exports every document as NDJSON, oldest first, as GET shows them', async () => {
    const empty = await call('GET', exportUrl('exported'))
    expect(empty.statusCode).toBe(200)
    expect(empty.body).toBe('')
    const created: ObjectView[] = []
    for (let i = 0; i < 5; i++) created.push(await createObject('exported', { i, text: `line ${i}\nwith a newline` }))
    const response = await call('GET', exportUrl('exported'), undefined, { token: reader })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/)
    expect(response.headers['content-disposition']).toBe('attachment; filename="exported.ndjson"')
    expect(response.body.endsWith('\n')).toBe(true)
    const lines = response.body.trimEnd().split('\n')
    expect(lines).toHaveLength(5)
    expect(lines.map((line) => JSON.parse(line) as ObjectView)).toEqual(created)
    expectProblem(await call('GET', exportUrl('missing')), 404, exportUrl('missing'), 'not-found')
  })

  it('imports NDJSON all at once (plain and envelope lines, blank lines and CRLF)', async () => {
    const payload = ['{"title":"one","n":1}', '', '{"body":{"title":"two","n":2}}\r', '   ', '{"title":"three"}', ''].join('\n')
    const response = await ndjson(importUrl('imports'), payload)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json()).toEqual({ imported: 3 })
    const stored = await listAll('imports', 'order=asc')
    expect(stored.map((o) => o.body)).toEqual([{ title: 'one', n: 1 }, { title: 'two', n: 2 }, { title: 'three' }])
    for (const o of stored) expect(o).toMatchObject({ gpt_id: GPT, collection: 'imports', id: expect.stringMatching(UUID_V7) })
    // application/jsonl is accepted as well.
    const jsonl = await ndjson(importUrl('imports'), '{"title":"four"}', { type: 'application/jsonl' })
    expect(jsonl.statusCode, jsonl.body).toBe(201)
    expect((await listAll('imports')).length).toBe(4)
  })

  it('refuses the whole import when any line fails, listing lines and pointers', async () => {
    const before = await listAll('imports')
    const payload = [
      '{"title":"fine"}',
      '{"title": broken',
      '',
      '[1,2,3]',
      '{"n":5}',
      '{"title":7,"n":"x"}',
      '"just a string"',
      '{"title":"also fine"}',
    ].join('\n')
    const url = importUrl('imports')
    const problem = expectProblem(await ndjson(url, payload), 400, url, 'bad-request')
    expect(problem.detail).toMatch(/5 line\(s\) failed; nothing was imported/)
    // In line order; within a line, in the schema validator's order.
    expect(problem.errors?.map((e) => e.line)).toEqual([2, 4, 5, 6, 6, 7])
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { line: 2, pointer: '', message: 'is not valid JSON' },
        { line: 4, pointer: '', message: 'must be a JSON object' },
        { line: 5, pointer: '/title', message: expect.stringContaining('title') },
        { line: 6, pointer: '/title', message: 'must be string' },
        { line: 6, pointer: '/n', message: 'must be integer' },
        { line: 7, pointer: '', message: 'must be a JSON object' },
      ]),
    )
    expect(await listAll('imports')).toEqual(before)
  })

  it('reports a line nested too deep, and stores nothing', async () => {
    await createCollection('import-plain')
    const deep = deepObject(33)
    const url = importUrl('import-plain')
    const problem = expectProblem(await ndjson(url, `{"ok":1}\n${JSON.stringify(deep)}`), 400, url)
    expect(problem.errors).toEqual([{ line: 2, pointer: '', message: expect.stringMatching(/deeper than 32/) }])
    expect(await listAll('import-plain')).toEqual([])
  })

  it('round-trips an export through an import', async () => {
    await createCollection('import-copy')
    const exported = (await call('GET', exportUrl('exported'))).body
    const response = await ndjson(importUrl('import-copy'), exported)
    expect(response.statusCode).toBe(201)
    // Each exported line is an object view: imported as is (its `body` key is not alone).
    const copies = await listAll('import-copy', 'order=asc')
    const originals = exported.trimEnd().split('\n').map((line) => JSON.parse(line) as ObjectView)
    expect(copies.map((c) => c.body)).toEqual(originals)
  })

  it('exports and re-checks large collections in batches (1,201 documents)', async () => {
    await createCollection('big')
    const payload = Array.from({ length: 1201 }, (_, i) => JSON.stringify(i % 2 === 0 ? { i, even: true } : { i })).join('\n')
    const imported = await ndjson(importUrl('big'), payload)
    expect(imported.statusCode, imported.body).toBe(201)
    expect(imported.json()).toEqual({ imported: 1201 })
    const response = await call('GET', exportUrl('big'))
    const lines = response.body.trimEnd().split('\n').map((line) => JSON.parse(line) as ObjectView)
    expect(lines).toHaveLength(1201)
    expect(new Set(lines.map((l) => l.id)).size).toBe(1201)
    expect(lines.map((l) => l.body.i)).toEqual(Array.from({ length: 1201 }, (_, i) => i))
    const patched = await call('PATCH', `${COLLECTIONS}/big`, { schema: { type: 'object', required: ['even'] } }, { token: admin })
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json<{ invalid_documents: number }>().invalid_documents).toBe(600)
  })

  it('answers 413 past IMPORT_MAX_LINES and IMPORT_BODY_LIMIT, storing nothing', async () => {
    await createCollection('limited', undefined, small, smallWriter)
    const url = importUrl('limited')
    const options = { app: small, token: smallWriter }
    const five = Array.from({ length: 5 }, (_, i) => JSON.stringify({ i })).join('\n')
    expect((await ndjson(url, five, options)).statusCode).toBe(201)
    const six = Array.from({ length: 6 }, (_, i) => JSON.stringify({ i })).join('\n')
    expect(expectProblem(await ndjson(url, six, options), 413, url, 'payload-too-large').detail).toMatch(/IMPORT_MAX_LINES/)
    // The import has its own body limit: above BODY_LIMIT (64kb) is fine, above IMPORT_BODY_LIMIT (128kb) is 413.
    const line = (size: number) => JSON.stringify({ text: 'x'.repeat(size) })
    const ninetyKb = [line(45 * 1024), line(45 * 1024)].join('\n')
    expect((await ndjson(url, ninetyKb, options)).statusCode).toBe(201)
    const tooBig = [line(70 * 1024), line(70 * 1024)].join('\n')
    expectProblem(await ndjson(url, tooBig, options), 413, url, 'payload-too-large')
    expect((await listAll('limited', '', options)).length).toBe(7)
  })

  it('answers 415 for an import sent as JSON or text', async () => {
    const url = importUrl('imports')
    for (const [type, payload] of [['application/json', '{"title":"json"}'], ['text/plain', '{"title":"text"}']] as const) {
      const problem = expectProblem(await ndjson(url, payload, { type }), 415, url, 'unsupported-media-type')
      expect(problem.detail.length).toBeGreaterThan(0)
    }
    expect((await listAll('imports')).some((o) => o.body.title === 'json' || o.body.title === 'text')).toBe(false)
  })

  it('imports nothing from an empty or blank body', async () => {
    await createCollection('import-empty')
    for (const payload of ['', '\n\n  \n']) {
      const response = await ndjson(importUrl('import-empty'), payload)
      expect(response.statusCode, response.body).toBe(201)
      expect(response.json()).toEqual({ imported: 0 })
    }
    expect(await listAll('import-empty')).toEqual([])
  })

  it('answers 404 for an import into an unknown collection', async () => {
    const url = importUrl('ghost')
    expectProblem(await ndjson(url, '{"a":1}'), 404, url, 'not-found')
  })
})

function deepObject(levels: number): Body {
  let value: Body = { leaf: 'bottom' }
  for (let i = 1; i < levels; i++) value = { child: value }
  return value
}

describe('bad and unusual input', () => {
  beforeAll(async () => {
    await createCollection('unicode')
    await createCollection('deep')
    await createCollection('large', undefined, small, smallWriter)
  })

  it('round-trips Unicode exactly: emoji, CJK, RTL, combining marks and control characters', async () => {
    const body: Body = {
      emoji: '👩‍💻 🎉 🇯🇵 🏳️‍🌈 👍🏽',
      cjk: '日本語の文章、中文句子、한국어 문장',
      rtl: 'שלום עולם — مرحبا بالعالم',
      mixed: 'abc\u202Edef\u202C ghi',
      combining: 'e\u0301 vs \u00e9, Z\u0351\u0352\u0353',
      controls: '\u0001\u0007\b\f\n\r\t\u001b\u001f\u007f\u0085',
      invisible: '\u200b\u200d\ufeff\u2028\u2029',
      astral: '𝄞 𓀀 \u{10FFFD}',
      quotes: '"\'`\\/',
      '键': '值',
      'ключ 🔑': ['значение', { 'עברית': 'כן' }],
    }
    const created = await call('POST', objectsOf('unicode'), body)
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json<ObjectView>().body).toEqual(body)
    const id = created.json<ObjectView>().id
    const read = await call('GET', `/v1/objects/${id}`)
    expect(read.json<ObjectView>().body).toEqual(body)
    expect(JSON.stringify(read.json<ObjectView>().body.emoji)).toBe(JSON.stringify(body.emoji))
    const exported = (await call('GET', `${COLLECTIONS}/unicode/export`)).body.trimEnd().split('\n')
    expect((JSON.parse(exported[0]!) as ObjectView).body).toEqual(body)
    // Containment and full text find the same strings.
    expect((await listAll('unicode', `where=${encodeURIComponent(JSON.stringify({ '键': '值' }))}`)).map((o) => o.id)).toEqual([id])
    expect((await listAll('unicode', `q=${encodeURIComponent('שלום')}`)).map((o) => o.id)).toEqual([id])
    const patched = await call('PATCH', `/v1/objects/${id}`, { emoji: '🦄' })
    expect(patched.json<ObjectView>().body).toEqual({ ...body, emoji: '🦄' })
  })

  it('refuses text PostgreSQL cannot store (\\u0000, lone surrogates) with 422, not 500', async () => {
    const url = objectsOf('unicode')
    const doc = await createObject('unicode', { fine: 'yes' })
    const item = `/v1/objects/${doc.id}`
    const cases: { raw: string; pointer: string }[] = [
      { raw: '{"text":"a\\u0000b"}', pointer: '/text' },
      { raw: '{"a\\u0000":1}', pointer: '/a\u0000' },
      { raw: '{"list":["ok","\\ud800"]}', pointer: '/list/1' },
      { raw: '{"nested":{"t":"x\\udc00y"}}', pointer: '/nested/t' },
      { raw: '{"body":{"t":"\\u0000"}}', pointer: '/body/t' },
    ]
    for (const { raw, pointer } of cases) {
      for (const [method, target] of [['POST', url], ['PATCH', item], ['PUT', item]] as const) {
        const problem = expectProblem(await call(method, target, undefined, { raw }), 422, target, 'validation-failed')
        expect(problem.errors).toEqual([{ pointer, location: 'body', message: expect.stringMatching(/U\+0000|surrogate/) }])
      }
    }
    expect((await call('GET', item)).json<ObjectView>()).toEqual(doc)
    // A paired surrogate (an astral character written as an escape) is fine.
    expect((await createObject('unicode', JSON.parse('{"clef":"\\ud834\\udd1e"}') as Body)).body).toEqual({ clef: '𝄞' })
    // Filters with such text are refused too, not a 500.
    for (const query of [`where=${encodeURIComponent('{"text":"\\u0000"}')}`, `q=${encodeURIComponent('a\u0000b')}`]) {
      const target = `${url}?${query}`
      expectProblem(await call('GET', target), 422, target, 'validation-failed')
    }
    // An import line with it is reported by line.
    const importUrl = `${COLLECTIONS}/unicode/import`
    const imported = await t.app.inject({ method: 'POST', url: importUrl, headers: { ...bearer(writer), 'content-type': 'application/x-ndjson' }, payload: '{"ok":1}\n{"t":"\\u0000"}' })
    expect(expectProblem(imported, 400, importUrl).errors).toEqual([{ line: 2, pointer: '/t', message: expect.stringMatching(/U\+0000/) }])
  })

  it('accepts 32 levels of nesting and refuses 33 with 422', async () => {
    const url = objectsOf('deep')
    const ok = await call('POST', url, deepObject(32))
    expect(ok.statusCode, ok.body).toBe(201)
    expect(ok.json<ObjectView>().body).toEqual(deepObject(32))
    // The envelope is not a level of the document.
    expect((await call('POST', url, { body: deepObject(32) })).statusCode).toBe(201)
    // Arrays count as levels too.
    let arrays: unknown = 'x'
    for (let i = 1; i < 32; i++) arrays = [arrays]
    expect((await call('POST', url, { a: arrays })).statusCode).toBe(201)
    for (const payload of [deepObject(33), { a: [arrays] }, { body: deepObject(33) }]) {
      const problem = expectProblem(await call('POST', url, payload), 422, url, 'validation-failed')
      expect(problem.detail).toMatch(/deeper than 32 levels \(MAX_JSON_DEPTH\)/)
      expect(problem.errors).toEqual([{ pointer: '', message: 'must not nest deeper than 32 levels' }])
    }
    // Far deeper bodies stop at the request-wide backstop, before any route reads them.
    const backstop = expectProblem(await call('POST', url, deepObject(1000)), 422, url, 'validation-failed')
    expect(backstop.detail).toMatch(/deeper than 256 levels; stored JSON may nest 32 \(MAX_JSON_DEPTH\)/)
    // A merge that would nest too deep is refused the same way, leaving the document as it was.
    const doc = ok.json<ObjectView>()
    const item = `/v1/objects/${doc.id}`
    expectProblem(await call('PATCH', item, { more: deepObject(32) }), 422, item, 'validation-failed')
    expectProblem(await call('PUT', item, deepObject(33)), 422, item, 'validation-failed')
    expect((await call('GET', item)).json<ObjectView>()).toEqual(doc)
    expect((await listAll('deep')).length).toBe(3)
  })

  it('refuses absurdly deep bodies (deeper than JSON.stringify can go) with 422, never 500', async () => {
    const raw = `${'{"c":'.repeat(20_000)}1${'}'.repeat(20_000)}`
    const url = objectsOf('deep')
    const doc = await createObject('deep', { shallow: true })
    const item = `/v1/objects/${doc.id}`
    const attempts: [Method, string, Record<string, string>][] = [
      ['POST', url, {}],
      ['POST', url, { 'idempotency-key': 'deep-1' }],
      ['PATCH', item, {}],
      ['PUT', item, { 'if-match': '"1"' }],
    ]
    for (const [method, target, headers] of attempts) {
      const problem = expectProblem(await call(method, target, undefined, { raw, headers }), 422, target, 'validation-failed')
      expect(problem.detail).toMatch(/MAX_JSON_DEPTH/)
    }
    expect((await call('GET', item)).json<ObjectView>()).toEqual(doc)
    const importUrl = `${COLLECTIONS}/deep/import`
    const imported = await t.app.inject({ method: 'POST', url: importUrl, headers: { ...bearer(writer), 'content-type': 'application/x-ndjson' }, payload: raw })
    expect(expectProblem(imported, 400, importUrl).errors).toEqual([{ line: 1, pointer: '', message: expect.stringMatching(/deeper than 32/) }])
  })

  it('accepts a document near BODY_LIMIT and refuses one past it with 413', async () => {
    const url = objectsOf('large')
    const options = { app: small, token: smallWriter }
    const near = { text: 'é'.repeat(15 * 1024), filler: 'a'.repeat(29 * 1024) } // ~60 KB of UTF-8
    expect(Buffer.byteLength(JSON.stringify(near))).toBeGreaterThan(59 * 1024)
    expect(Buffer.byteLength(JSON.stringify(near))).toBeLessThan(64 * 1024)
    const created = await call('POST', url, near, options)
    expect(created.statusCode, created.body.slice(0, 200)).toBe(201)
    expect(created.json<ObjectView>().body).toEqual(near)
    const id = created.json<ObjectView>().id
    const over = { text: 'a'.repeat(70 * 1024) }
    const problem = expectProblem(await call('POST', url, over, options), 413, url, 'payload-too-large')
    expect(problem.detail).toMatch(/BODY_LIMIT/)
    const item = `/v1/objects/${id}`
    expectProblem(await call('PUT', item, over, options), 413, item, 'payload-too-large')
    expectProblem(await call('PATCH', item, over, options), 413, item, 'payload-too-large')
    const read = await call('GET', item, undefined, options)
    expect(read.json<ObjectView>().body).toEqual(near)
    expect((await listAll('large', '', options)).length).toBe(1)
  })
})

describe('concurrent updates', () => {
  beforeAll(async () => {
    await createCollection('race')
  })

  it('keeps every field of 10 parallel PATCHes without If-Match (no lost update)', async () => {
    const doc = await createObject('race', { start: true })
    const url = `/v1/objects/${doc.id}`
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => call('PATCH', url, { [`field${i}`]: i })))
    expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 10 }, () => 200))
    const final = await call('GET', url)
    const expected: Body = { start: true }
    for (let i = 0; i < 10; i++) expected[`field${i}`] = i
    expect(final.json<ObjectView>().body).toEqual(expected)
    expect(final.headers.etag).toBe('"11"')
    // Every response saw a distinct version.
    expect(new Set(responses.map((r) => r.headers.etag)).size).toBe(10)
  })

  it('lets exactly one of 10 parallel PATCHes with the same If-Match win; the others get 412', async () => {
    const doc = await createObject('race', { counter: 0 })
    const url = `/v1/objects/${doc.id}`
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call('PATCH', url, { counter: i + 1, [`by${i}`]: true }, { headers: { 'if-match': '"1"' } })),
    )
    const statuses = responses.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 412)).toHaveLength(9)
    for (const r of responses.filter((r) => r.statusCode === 412)) expectProblem(r, 412, url, 'precondition-failed')
    const winner = responses.find((r) => r.statusCode === 200)!.json<ObjectView>()
    const final = await call('GET', url)
    expect(final.json<ObjectView>()).toEqual(winner)
    expect(final.headers.etag).toBe('"2"')
    expect(Object.keys(final.json<ObjectView>().body).filter((k) => k.startsWith('by'))).toHaveLength(1)
  })

  it('lets exactly one of 10 parallel DELETEs with the same If-Match succeed', async () => {
    const doc = await createObject('race', { x: 1 })
    const url = `/v1/objects/${doc.id}`
    const responses = await Promise.all(Array.from({ length: 10 }, () => call('DELETE', url, undefined, { headers: { 'if-match': '"1"' } })))
    const statuses = responses.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 204)).toHaveLength(1)
    expect(statuses.every((s) => s === 204 || s === 404 || s === 412)).toBe(true)
  })
})

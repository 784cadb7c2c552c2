import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'

interface CollectionView {
  gpt_id: string
  name: string
  schema: Record<string, unknown> | null
  created_at: string
  updated_at: string
}
interface CollectionList {
  collections: CollectionView[]
  next_cursor: string | null
  has_more: boolean
}
interface ObjectView {
  id: string
  body: Record<string, unknown>
}

const GPT = 'coll-gpt'
const BASE = `/v1/gpts/${GPT}/collections`
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

let t: TestApp
let writer: string
let admin: string
let reader: string

beforeAll(async () => {
  t = await createTestApp()
  writer = (await createGptWithKey(t.services, GPT, ['read', 'write'])).token
  admin = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
})

afterAll(async () => {
  await t?.close()
})

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, token: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method,
    url,
    headers: bearer(token),
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  })
}


describe('creating collections', () => {
  it('creates with 201 and Location, then answers 200 for the same name', async () => {
    const first = await call('POST', BASE, writer, { name: 'diary' })
    expect(first.statusCode, first.body).toBe(201)
    expect(first.headers.location).toBe(`${BASE}/diary`)
    const created = first.json<CollectionView>()
    expect(created).toEqual({ gpt_id: GPT, name: 'diary', schema: null, per_user: false, ttl_seconds: null, created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO) })

    const again = await call('POST', BASE, writer, { name: 'diary' })
    expect(again.statusCode, again.body).toBe(200)
    expect(again.headers.location).toBeUndefined()
    expect(again.json<CollectionView>()).toEqual(created)
  })

  it('POST with a schema on an existing collection replaces its schema (200)', async () => {
    expect((await call('POST', BASE, admin, { name: 'resettable' })).statusCode).toBe(201)
    const schema = { type: 'object', required: ['x'] }
    const response = await call('POST', BASE, admin, { name: 'resettable', schema })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<CollectionView>().schema).toEqual(schema)
    // A POST without schema keeps the schema it has.
    const plain = await call('POST', BASE, writer, { name: 'resettable' })
    expect(plain.statusCode).toBe(200)
    expect(plain.json<CollectionView>().schema).toEqual(schema)
  })

  const names: { name: string; payload: Record<string, unknown>; pointer: string }[] = [
    { name: 'empty name', payload: { name: '' }, pointer: '/name' },
    { name: '65 characters', payload: { name: 'a'.repeat(65) }, pointer: '/name' },
    { name: 'a space', payload: { name: 'my notes' }, pointer: '/name' },
    { name: 'a slash', payload: { name: 'a/b' }, pointer: '/name' },
    { name: 'a dot', payload: { name: 'a.b' }, pointer: '/name' },
    { name: 'non-ASCII letters', payload: { name: 'café' }, pointer: '/name' },
    { name: 'no name', payload: {}, pointer: '/name' },
    { name: 'an unknown field', payload: { name: 'ok', colour: 'red' }, pointer: '/colour' },
    { name: 'a schema that is not an object', payload: { name: 'ok', schema: 'string' }, pointer: '/schema' },
  ]
  it.each(names)('rejects $name with 422 pointing at $pointer', async ({ payload, pointer }) => {
    const response = await call('POST', BASE, admin, payload)
    const problem = expectProblem(response, 422, BASE)
    expect(problem.type).toBe('/problems/validation-failed')
    expect(problem.errors?.map((e) => e.pointer)).toContain(pointer)
  })

  it('accepts names of exactly 1 and 64 characters with _ and -', async () => {
    for (const name of ['x', `${'A-b_9'.repeat(12)}abcd`]) {
      expect(name.length === 1 || name.length === 64).toBe(true)
      const response = await call('POST', BASE, writer, { name })
      expect(response.statusCode, response.body).toBe(201)
      expect(response.json<CollectionView>().name).toBe(name)
    }
  })

  it('rejects a bad name in the path with 422', async () => {
    const url = `${BASE}/${'b'.repeat(65)}`
    const problem = expectProblem(await call('GET', url, reader), 422, url)
    expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/name', location: 'params' })])
  })
})

describe('collection schemas', () => {
  it('reads a schema without $schema as draft 2020-12', async () => {
    const schema = { type: 'object', properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false } } }
    const created = await call('POST', BASE, admin, { name: 'modern', schema })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json<CollectionView>().schema).toEqual(schema)
    const url = `${BASE}/modern/objects`
    expect((await call('POST', url, writer, { pair: ['a', 1] })).statusCode).toBe(201)
    // prefixItems (2020-12 only) is enforced: a third item is refused by `items: false`.
    const bad = expectProblem(await call('POST', url, writer, { pair: ['a', 1, 2] }), 400, url)
    expect(bad.errors?.map((e) => e.pointer)).toContain('/pair')
    const wrongType = expectProblem(await call('POST', url, writer, { pair: [1, 1] }), 400, url)
    expect(wrongType.errors?.map((e) => e.pointer)).toContain('/pair/0')
  })

  it('the 2020-12 default refuses the draft-07 tuple form of items', async () => {
    const problem = expectProblem(
      await call('POST', BASE, admin, { name: 'tuple-2020', schema: { type: 'object', properties: { pair: { items: [{ type: 'string' }] } } } }),
      422,
      BASE,
    )
    expect(problem.errors?.[0]?.pointer).toMatch(/^\/schema\/properties\/pair\/items/)
    expect((await call('GET', `${BASE}/tuple-2020`, reader)).statusCode).toBe(404)
  })

  it('reads a schema as draft-07 when $schema says so', async () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }], additionalItems: false } },
    }
    const created = await call('POST', BASE, admin, { name: 'classic', schema })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json<CollectionView>().schema).toEqual(schema)
    const url = `${BASE}/classic/objects`
    expect((await call('POST', url, writer, { pair: ['a', 1] })).statusCode).toBe(201)
    const bad = expectProblem(await call('POST', url, writer, { pair: [1, 'a'] }), 400, url)
    expect(bad.errors?.map((e) => e.pointer)).toEqual(expect.arrayContaining(['/pair/0', '/pair/1']))
  })

  it('accepts an explicit 2020-12 $schema', async () => {
    const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' }
    const response = await call('POST', BASE, admin, { name: 'explicit', schema })
    expect(response.statusCode, response.body).toBe(201)
  })

  const invalid: { name: string; schema: Record<string, unknown>; pointer: RegExp; detail: RegExp; message?: RegExp }[] = [
    { name: 'type is a number', schema: { type: 12 }, pointer: /^\/schema\/type$/, detail: /not a valid JSON Schema/ },
    { name: 'required is not an array', schema: { type: 'object', required: 'x' }, pointer: /^\/schema\/required$/, detail: /not a valid JSON Schema/ },
    { name: 'unknown $schema', schema: { $schema: 'http://example.com/my-schema', type: 'object' }, pointer: /^\/schema\/\$schema$/, detail: /Unsupported JSON Schema draft/, message: /2020-12 or draft-07/ },
    { name: 'draft-04 $schema', schema: { $schema: 'http://json-schema.org/draft-04/schema#' }, pointer: /^\/schema\/\$schema$/, detail: /Unsupported/ },
    { name: 'unresolvable local $ref', schema: { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }, pointer: /^\/schema$/, detail: /cannot be compiled/, message: /resolve reference/ },
    { name: 'unresolvable remote $ref', schema: { $ref: 'https://example.com/schemas/thing.json' }, pointer: /^\/schema$/, detail: /cannot be compiled/, message: /resolve reference/ },
    { name: 'a NUL character', schema: { type: 'object', description: 'a\u0000b' }, pointer: /^\/schema\/description$/, detail: /cannot be stored/, message: /U\+0000/ },
    { name: 'an unpaired surrogate', schema: { type: 'object', properties: { '\ud800': { type: 'string' } } }, pointer: /^\/schema\/properties\//, detail: /cannot be stored/, message: /surrogate/ },
    { name: 'invalid regex pattern', schema: { type: 'string', pattern: '([a-z' }, pointer: /^\/schema/, detail: /schema/ },
  ]
  it.each(invalid)('rejects a schema with $name (422 naming the problem)', async ({ schema, pointer, detail, message }) => {
    const name = 'never-created'
    const problem = expectProblem(await call('POST', BASE, admin, { name, schema }), 422, BASE)
    expect(problem.type).toBe('/problems/validation-failed')
    expect(problem.detail).toMatch(detail)
    expect(problem.errors?.length).toBeGreaterThan(0)
    expect(problem.errors?.[0]?.pointer).toMatch(pointer)
    if (message) expect(problem.errors?.[0]?.message).toMatch(message)
    // Nothing was created.
    expect((await call('GET', `${BASE}/${name}`, reader)).statusCode).toBe(404)
    // The same schema on PATCH is refused the same way.
    await call('POST', BASE, writer, { name: 'patch-target' })
    const patched = expectProblem(await call('PATCH', `${BASE}/patch-target`, admin, { schema }), 422, `${BASE}/patch-target`)
    expect(patched.errors?.[0]?.pointer).toMatch(pointer)
    expect((await call('GET', `${BASE}/patch-target`, reader)).json<CollectionView>().schema).toBeNull()
  })
})

describe('listing and reading collections', () => {
  const LIST_GPT = 'coll-list-gpt'
  let token: string
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo']

  beforeAll(async () => {
    token = (await createGptWithKey(t.services, LIST_GPT, ['read', 'write'])).token
    for (const name of names) {
      expect((await call('POST', `/v1/gpts/${LIST_GPT}/collections`, token, { name })).statusCode).toBe(201)
    }
  })

  it('pages oldest first with next_cursor, has_more and Link, covering every collection once', async () => {
    const seen: string[] = []
    let url: string | null = `/v1/gpts/${LIST_GPT}/collections?limit=2`
    let pages = 0
    while (url !== null) {
      const response = await call('GET', url, token)
      expect(response.statusCode, response.body).toBe(200)
      const page = response.json<CollectionList>()
      expect(page.collections.length).toBeLessThanOrEqual(2)
      seen.push(...page.collections.map((c) => c.name))
      pages++
      if (page.has_more) {
        expect(page.next_cursor).toEqual(expect.any(String))
        const link = response.headers.link as string
        expect(link).toMatch(/^<http:\/\/agentstore\.test\/v1\/gpts\/coll-list-gpt\/collections\?[^>]*>; rel="next"$/)
        const next = new URL(/^<([^>]+)>/.exec(link)![1]!)
        expect(next.searchParams.get('cursor')).toBe(page.next_cursor)
        expect(next.searchParams.get('limit')).toBe('2')
        url = `${next.pathname}${next.search}`
      } else {
        expect(page.next_cursor).toBeNull()
        expect(response.headers.link).toBeUndefined()
        url = null
      }
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(names)
  })

  it('pages newest first with order=desc', async () => {
    const response = await call('GET', `/v1/gpts/${LIST_GPT}/collections?order=desc&limit=200`, token)
    expect(response.json<CollectionList>().collections.map((c) => c.name)).toEqual([...names].reverse())
    expect(response.json<CollectionList>().has_more).toBe(false)
  })

  const bad: { name: string; query: string; status: number; type: string }[] = [
    { name: 'limit 0', query: 'limit=0', status: 422, type: 'validation-failed' },
    { name: 'limit 201', query: 'limit=201', status: 422, type: 'validation-failed' },
    { name: 'limit not a number', query: 'limit=ten', status: 422, type: 'validation-failed' },
    { name: 'unknown order', query: 'order=sideways', status: 422, type: 'validation-failed' },
    { name: 'malformed cursor', query: 'cursor=not-a-cursor', status: 400, type: 'invalid-cursor' },
  ]
  it.each(bad)('rejects $name with $status', async ({ query, status, type }) => {
    const url = `/v1/gpts/${LIST_GPT}/collections?${query}`
    expect(expectProblem(await call('GET', url, token), status, url).type).toBe(`/problems/${type}`)
  })

  it('refuses a cursor issued for the other order', async () => {
    const first = (await call('GET', `/v1/gpts/${LIST_GPT}/collections?limit=1`, token)).json<CollectionList>()
    const url = `/v1/gpts/${LIST_GPT}/collections?order=desc&cursor=${first.next_cursor!}`
    const problem = expectProblem(await call('GET', url, token), 400, url)
    expect(problem.type).toBe('/problems/invalid-cursor')
  })

  it('gets one collection, and 404 for an unknown one', async () => {
    const response = await call('GET', `/v1/gpts/${LIST_GPT}/collections/bravo`, token)
    expect(response.statusCode).toBe(200)
    expect(response.json<CollectionView>()).toMatchObject({ gpt_id: LIST_GPT, name: 'bravo', schema: null })
    const url = `/v1/gpts/${LIST_GPT}/collections/zulu`
    expect(expectProblem(await call('GET', url, token), 404, url).detail).toMatch(/Collection "zulu" not found/)
  })
})

describe('changing a schema with PATCH', () => {
  const url = `${BASE}/people`
  const objects = `${url}/objects`
  let ids: string[]

  beforeAll(async () => {
    expect((await call('POST', BASE, writer, { name: 'people' })).statusCode).toBe(201)
    ids = []
    for (const body of [{ name: 'Ada', age: 36 }, { name: 'Linus' }, { age: 'old' }, { name: 'Grace', age: 85 }]) {
      const response = await call('POST', objects, writer, body)
      expect(response.statusCode).toBe(201)
      ids.push(response.json<ObjectView>().id)
    }
  })

  it('reports how many stored documents fail the new schema, without rejecting or deleting them', async () => {
    const schema = { type: 'object', required: ['name', 'age'], properties: { name: { type: 'string' }, age: { type: 'integer' } } }
    const response = await call('PATCH', url, admin, { schema })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toEqual({
      gpt_id: GPT,
      name: 'people',
      schema,
      per_user: false,
      ttl_seconds: null,
      invalid_documents: 2,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    // The collection now has the schema, every document is still there.
    expect((await call('GET', url, reader)).json<CollectionView>().schema).toEqual(schema)
    for (const id of ids) expect((await call('GET', `/v1/objects/${id}`, reader)).statusCode).toBe(200)
    // New writes follow the new schema.
    const problem = expectProblem(await call('POST', objects, writer, { name: 'Alan' }), 400, objects)
    expect(problem.errors).toEqual([{ pointer: '/age', message: expect.stringContaining('age') }])
  })

  it('counts 0 when every document passes, and all of them when none does', async () => {
    const loose = await call('PATCH', url, admin, { schema: { type: 'object' } })
    expect(loose.json<{ invalid_documents: number }>().invalid_documents).toBe(0)
    const strict = await call('PATCH', url, admin, { schema: { type: 'object', required: ['missing'] } })
    expect(strict.json<{ invalid_documents: number }>().invalid_documents).toBe(4)
  })

  it('removes the schema with null (0 invalid) and then accepts anything', async () => {
    const response = await call('PATCH', url, admin, { schema: null })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ schema: null, invalid_documents: 0 })
    expect((await call('POST', objects, writer, { anything: true })).statusCode).toBe(201)
  })

  it('moves updated_at', async () => {
    const before = (await call('GET', url, reader)).json<CollectionView>()
    await new Promise((resolve) => setTimeout(resolve, 5))
    const after = (await call('PATCH', url, admin, { schema: { type: 'object' } })).json<CollectionView>()
    expect(after.created_at).toBe(before.created_at)
    expect(Date.parse(after.updated_at)).toBeGreaterThan(Date.parse(before.updated_at))
  })

  const bad: { name: string; target: string; payload: unknown; status: number; pointer?: string }[] = [
    { name: 'neither schema nor per_user', target: url, payload: {}, status: 422, pointer: '' },
    { name: 'a string schema', target: url, payload: { schema: 'x' }, status: 422, pointer: '/schema' },
    { name: 'an unknown field', target: url, payload: { schema: null, name: 'other' }, status: 422, pointer: '/name' },
    { name: 'an unknown collection', target: `${BASE}/nobody`, payload: { schema: null }, status: 404 },
  ]
  it.each(bad)('PATCH with $name → $status', async ({ target, payload, status, pointer }) => {
    const problem = expectProblem(await call('PATCH', target, admin, payload), status, target)
    if (pointer) expect(problem.errors?.map((e) => e.pointer)).toContain(pointer)
  })
})

describe('deleting a collection', () => {
  it('answers 204, removes its documents, and 404 afterwards', async () => {
    expect((await call('POST', BASE, writer, { name: 'doomed' })).statusCode).toBe(201)
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      ids.push((await call('POST', `${BASE}/doomed/objects`, writer, { i })).json<ObjectView>().id)
    }
    const response = await call('DELETE', `${BASE}/doomed`, writer)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    for (const id of ids) {
      expectProblem(await call('GET', `/v1/objects/${id}`, reader), 404, `/v1/objects/${id}`)
      const nested = `${BASE}/doomed/objects/${id}`
      expectProblem(await call('GET', nested, reader), 404, nested)
    }
    expectProblem(await call('GET', `${BASE}/doomed`, reader), 404, `${BASE}/doomed`)
    expectProblem(await call('GET', `${BASE}/doomed/objects`, reader), 404, `${BASE}/doomed/objects`)
    expectProblem(await call('DELETE', `${BASE}/doomed`, writer), 404, `${BASE}/doomed`)
    // Re-creating the name starts empty.
    expect((await call('POST', BASE, writer, { name: 'doomed' })).statusCode).toBe(201)
    expect((await call('GET', `${BASE}/doomed/objects`, reader)).json<{ objects: unknown[] }>().objects).toEqual([])
  })
})

describe('scopes', () => {
  const scenarios: { name: string; method: Method; url: string; token: () => string; payload?: unknown; status: number; detail?: RegExp }[] = [
    { name: 'schema without admin scope', method: 'POST', url: BASE, token: () => writer, payload: { name: 'scoped', schema: { type: 'object' } }, status: 403, detail: /"admin" scope/ },
    { name: 'null schema without admin scope', method: 'POST', url: BASE, token: () => writer, payload: { name: 'scoped', schema: null }, status: 403, detail: /"admin" scope/ },
    { name: 'PATCH without admin scope', method: 'PATCH', url: `${BASE}/diary`, token: () => writer, payload: { schema: null }, status: 403, detail: /"admin" scope/ },
    { name: 'create with a read-only key', method: 'POST', url: BASE, token: () => reader, payload: { name: 'scoped' }, status: 403, detail: /"write" scope/ },
    { name: 'delete with a read-only key', method: 'DELETE', url: `${BASE}/diary`, token: () => reader, status: 403, detail: /"write" scope/ },
    { name: 'list with a read-only key', method: 'GET', url: BASE, token: () => reader, status: 200 },
    { name: 'get with a read-only key', method: 'GET', url: `${BASE}/diary`, token: () => reader, status: 200 },
    { name: 'schema with admin scope', method: 'POST', url: BASE, token: () => admin, payload: { name: 'scoped-admin', schema: { type: 'object' } }, status: 201 },
    { name: 'no key', method: 'GET', url: BASE, token: () => '', status: 401 },
  ]
  it.each(scenarios)('$name → $status', async ({ method, url, token, payload, status, detail }) => {
    const response = await t.app.inject({
      method,
      url,
      headers: token() === '' ? {} : bearer(token()),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    })
    if (status >= 400) {
      const problem = expectProblem(response, status, url)
      if (detail) expect(problem.detail).toMatch(detail)
    } else {
      expect(response.statusCode, response.body).toBe(status)
    }
  })

  it('a refused schema change leaves nothing behind', async () => {
    expect((await call('GET', `${BASE}/scoped`, reader)).statusCode).toBe(404)
    expect((await call('GET', `${BASE}/diary`, reader)).json<CollectionView>().schema).toBeNull()
  })
})

import { beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { type Body, type ObjectView, GPT, objectsOf, UUID_V7, ISO, MISSING_ID, reader, type Method, call, createCollection, createObject, listAll, nested, useObjectsApi } from './helpers/objects-api.js'

useObjectsApi()

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

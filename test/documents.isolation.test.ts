import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance: string
}
type Body = Record<string, unknown>
interface ObjectView {
  id: string
  gpt_id: string
  collection: string
  body: Body
  created_at: string
  updated_at: string
}

const A = 'iso-gpt-a'
const B = 'iso-gpt-b'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'

let t: TestApp
/** GPT A's keys: every scope, and read only. */
let aAdmin: string
let aReader: string
/** GPT B's key, used to set up and to check that nothing of B changed. */
let bAdmin: string
let bSecret: ObjectView[]
let bPlain: ObjectView
let aSecret: ObjectView

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

function call(
  method: Method,
  url: string,
  token: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  if (payload === undefined) return t.app.inject({ method, url, headers: { ...bearer(token), ...headers } })
  const raw = typeof payload === 'string' ? payload : JSON.stringify(payload)
  return t.app.inject({ method, url, headers: { 'content-type': 'application/json', ...bearer(token), ...headers }, payload: raw })
}

function expectProblem(response: LightMyRequestResponse, status: number, url: string): Problem {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = response.json<Problem>()
  expect(body).toMatchObject({ type: expect.stringMatching(/^\/problems\//), title: expect.any(String), status, detail: expect.any(String), instance: url.split('?')[0] })
  return body
}

async function post(url: string, token: string, payload: unknown, headers: Record<string, string> = {}): Promise<ObjectView> {
  const response = await call('POST', url, token, payload, headers)
  expect(response.statusCode, response.body).toBe(201)
  return response.json<ObjectView>()
}

/** Everything GPT B can see of its own data, read with B's key: lists, each document and ETag, exports. */
async function snapshotOfB(): Promise<unknown> {
  const collections = await call('GET', `/v1/gpts/${B}/collections?limit=200`, bAdmin)
  expect(collections.statusCode).toBe(200)
  const result: Record<string, unknown> = { collections: collections.json<unknown>() }
  for (const name of ['secret', 'plain']) {
    const collection = await call('GET', `/v1/gpts/${B}/collections/${name}`, bAdmin)
    const list = await call('GET', `/v1/gpts/${B}/collections/${name}/objects?limit=200`, bAdmin)
    const exported = await call('GET', `/v1/gpts/${B}/collections/${name}/export`, bAdmin)
    expect(list.statusCode).toBe(200)
    const items: unknown[] = []
    for (const object of list.json<{ objects: ObjectView[] }>().objects) {
      const one = await call('GET', `/v1/objects/${object.id}`, bAdmin)
      items.push({ body: one.json<unknown>(), etag: one.headers.etag })
    }
    result[name] = { collection: collection.json<unknown>(), list: list.json<unknown>(), export: exported.body, items }
  }
  return result
}

let before: unknown

beforeAll(async () => {
  t = await createTestApp()
  aAdmin = (await createGptWithKey(t.services, A, ['read', 'write', 'admin'])).token
  aReader = (await createGptWithKey(t.services, A, ['read'])).token
  bAdmin = (await createGptWithKey(t.services, B, ['read', 'write', 'admin'])).token

  const schema = { type: 'object', required: ['text'], properties: { text: { type: 'string' } } }
  for (const [gpt, token] of [[B, bAdmin], [A, aAdmin]] as const) {
    expect((await call('POST', `/v1/gpts/${gpt}/collections`, token, { name: 'secret', schema })).statusCode).toBe(201)
  }
  expect((await call('POST', `/v1/gpts/${B}/collections`, bAdmin, { name: 'plain' })).statusCode).toBe(201)
  bSecret = []
  for (const text of ['zebracorn launch codes', 'zebracorn password', 'diary of B']) {
    bSecret.push(await post(`/v1/gpts/${B}/collections/secret/objects`, bAdmin, { text, owner: 'B' }))
  }
  bPlain = await post(`/v1/gpts/${B}/collections/plain/objects`, bAdmin, { note: 'B only' }, { 'idempotency-key': 'shared-key' })
  aSecret = await post(`/v1/gpts/${A}/collections/secret/objects`, aAdmin, { text: 'A public note', owner: 'A' })
  before = await snapshotOfB()
})

afterAll(async () => {
  await t?.close()
})

describe("GPT A's keys on GPT B's paths → 403", () => {
  const b = `/v1/gpts/${B}`
  const scenarios: { name: string; method: Method; url: () => string; payload?: unknown; headers?: Record<string, string> }[] = [
    { name: 'create a collection', method: 'POST', url: () => `${b}/collections`, payload: { name: 'planted' } },
    { name: 'create a collection with a schema', method: 'POST', url: () => `${b}/collections`, payload: { name: 'secret', schema: { type: 'object', required: ['x'] } } },
    { name: 'list collections', method: 'GET', url: () => `${b}/collections` },
    { name: 'list collections (paged)', method: 'GET', url: () => `${b}/collections?limit=1&order=desc` },
    { name: 'read a collection', method: 'GET', url: () => `${b}/collections/secret` },
    { name: 'change a schema', method: 'PATCH', url: () => `${b}/collections/secret`, payload: { schema: null } },
    { name: 'delete a collection', method: 'DELETE', url: () => `${b}/collections/secret` },
    { name: 'delete another collection', method: 'DELETE', url: () => `${b}/collections/plain` },
    { name: 'create a document', method: 'POST', url: () => `${b}/collections/secret/objects`, payload: { text: 'planted' } },
    { name: 'create a document replaying B’s Idempotency-Key', method: 'POST', url: () => `${b}/collections/plain/objects`, payload: { note: 'B only' }, headers: { 'idempotency-key': 'shared-key' } },
    { name: 'list documents', method: 'GET', url: () => `${b}/collections/secret/objects` },
    { name: 'list documents with where', method: 'GET', url: () => `${b}/collections/secret/objects?where=${encodeURIComponent('{"owner":"B"}')}` },
    { name: 'search documents with q', method: 'GET', url: () => `${b}/collections/secret/objects?q=zebracorn` },
    { name: 'list documents by updated_at', method: 'GET', url: () => `${b}/collections/secret/objects?sort=updated_at&order=asc` },
    { name: 'export', method: 'GET', url: () => `${b}/collections/secret/export` },
    { name: 'import', method: 'POST', url: () => `${b}/collections/secret/import`, payload: '{"text":"planted"}\n{"text":"planted too"}', headers: { 'content-type': 'application/x-ndjson' } },
    { name: 'read a document (nested)', method: 'GET', url: () => `${b}/collections/secret/objects/${bSecret[0]!.id}` },
    { name: 'merge into a document (nested)', method: 'PATCH', url: () => `${b}/collections/secret/objects/${bSecret[0]!.id}`, payload: { text: 'pwned' } },
    { name: 'replace a document (nested)', method: 'PUT', url: () => `${b}/collections/secret/objects/${bSecret[0]!.id}`, payload: { text: 'pwned' }, headers: { 'if-match': '*' } },
    { name: 'delete a document (nested)', method: 'DELETE', url: () => `${b}/collections/secret/objects/${bSecret[0]!.id}` },
    // An unknown collection or GPT answers the same: nothing tells what exists.
    { name: 'read an unknown collection of B', method: 'GET', url: () => `${b}/collections/nothing-here` },
    { name: 'list documents of an unknown collection of B', method: 'GET', url: () => `${b}/collections/nothing-here/objects` },
    { name: 'a GPT that does not exist', method: 'GET', url: () => '/v1/gpts/iso-gpt-unknown/collections' },
  ]

  for (const [who, token] of [['admin key', () => aAdmin], ['read-only key', () => aReader]] as const) {
    it.each(scenarios)(`${who}: $name → 403`, async ({ method, url, payload, headers }) => {
      const target = url()
      const problem = expectProblem(await call(method, target, token(), payload, headers), 403, target)
      expect(problem.type).toBe('/problems/forbidden')
      expect(problem.detail).toBe('This API key belongs to another GPT.')
      // Nothing of B leaks into the answer (the instance is the caller's own URL).
      const { instance: _instance, ...rest } = problem
      expect(JSON.stringify(rest)).not.toMatch(/zebracorn|diary of B|B only|secret/)
      for (const doc of bSecret) expect(JSON.stringify(rest)).not.toContain(doc.id)
    })
  }
})

describe("GPT A's keys on GPT B's flat object ids → 404", () => {
  const scenarios: { name: string; method: Method; payload?: unknown; headers?: Record<string, string> }[] = [
    { name: 'GET', method: 'GET' },
    { name: 'PATCH', method: 'PATCH', payload: { text: 'pwned' } },
    { name: 'PATCH with If-Match *', method: 'PATCH', payload: { text: 'pwned' }, headers: { 'if-match': '*' } },
    { name: 'PATCH with the current ETag', method: 'PATCH', payload: { text: 'pwned' }, headers: { 'if-match': '"1"' } },
    { name: 'PATCH (envelope)', method: 'PATCH', payload: { body: { text: 'pwned' } } },
    { name: 'PUT', method: 'PUT', payload: { text: 'pwned' } },
    { name: 'PUT with If-Match *', method: 'PUT', payload: { text: 'pwned' }, headers: { 'if-match': '*' } },
    { name: 'DELETE', method: 'DELETE' },
    { name: 'DELETE with If-Match *', method: 'DELETE', headers: { 'if-match': '*' } },
    { name: 'DELETE with the current ETag', method: 'DELETE', headers: { 'if-match': '"1"' } },
  ]
  const missingDetail = async (method: Method, payload?: unknown) =>
    expectProblem(await call(method, `/v1/objects/${MISSING_ID}`, aAdmin, payload), 404, `/v1/objects/${MISSING_ID}`).detail

  it.each(scenarios)('$name on every document of B → 404, like an id that does not exist', async ({ method, payload, headers }) => {
    const expectedDetail = (await missingDetail(method, payload)).replace(MISSING_ID, '<id>')
    for (const doc of [...bSecret, bPlain]) {
      for (const url of [
        `/v1/objects/${doc.id}`,
        // A's own collection of the same name does not open B's document either.
        `/v1/gpts/${A}/collections/secret/objects/${doc.id}`,
        `/v1/gpts/${A}/collections/${doc.collection}/objects/${doc.id}`,
      ]) {
        const problem = expectProblem(await call(method, url, aAdmin, payload, headers), 404, url)
        expect(problem.type).toBe('/problems/not-found')
        expect(problem.detail.replace(doc.id, '<id>')).toBe(expectedDetail)
        expect(JSON.stringify(problem)).not.toMatch(/zebracorn|diary of B|B only/)
      }
    }
  })

  it('the read-only key of A gets 404 on GET and 403 (scope) on writes, never B’s data', async () => {
    const url = `/v1/objects/${bSecret[1]!.id}`
    expectProblem(await call('GET', url, aReader), 404, url)
    for (const method of ['PATCH', 'PUT', 'DELETE'] as const) {
      const problem = expectProblem(await call(method, url, aReader, method === 'DELETE' ? undefined : { text: 'x' }), 403, url)
      expect(problem.detail).toMatch(/"write" scope/)
    }
  })
})

describe("what A sees of its own data never includes B's", () => {
  it('lists, filters, searches and exports only A’s documents', async () => {
    const base = `/v1/gpts/${A}/collections/secret`
    const list = (await call('GET', `${base}/objects`, aAdmin)).json<{ objects: ObjectView[] }>()
    expect(list.objects).toEqual([aSecret])
    expect((await call('GET', `${base}/objects?q=zebracorn`, aAdmin)).json<{ objects: ObjectView[] }>().objects).toEqual([])
    expect((await call('GET', `${base}/objects?where=${encodeURIComponent('{"owner":"B"}')}`, aAdmin)).json<{ objects: ObjectView[] }>().objects).toEqual([])
    const exported = (await call('GET', `${base}/export`, aAdmin)).body
    expect(exported.trimEnd().split('\n').map((line) => JSON.parse(line) as ObjectView)).toEqual([aSecret])
    const collections = (await call('GET', `/v1/gpts/${A}/collections`, aAdmin)).json<{ collections: { gpt_id: string; name: string }[] }>()
    expect(collections.collections.map((c) => [c.gpt_id, c.name])).toEqual([[A, 'secret']])
    // B's collection "plain" does not exist for A.
    expectProblem(await call('GET', `/v1/gpts/${A}/collections/plain/objects`, aAdmin), 404, `/v1/gpts/${A}/collections/plain/objects`)
  })

  it('a cursor issued to B does not page A’s list', async () => {
    const page = (await call('GET', `/v1/gpts/${B}/collections/secret/objects?limit=1`, bAdmin)).json<{ next_cursor: string | null }>()
    expect(page.next_cursor).not.toBeNull()
    const url = `/v1/gpts/${A}/collections/secret/objects?limit=1&cursor=${page.next_cursor!}`
    expect(expectProblem(await call('GET', url, aAdmin), 400, url).type).toBe('/problems/invalid-cursor')
  })

  it('an Idempotency-Key B used is A’s to use independently (no replay of B’s answer, no 422)', async () => {
    expect((await call('POST', `/v1/gpts/${A}/collections`, aAdmin, { name: 'plain' })).statusCode).toBe(201)
    const url = `/v1/gpts/${A}/collections/plain/objects`
    const response = await call('POST', url, aAdmin, { note: 'A only' }, { 'idempotency-key': 'shared-key' })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['idempotent-replayed']).toBeUndefined()
    expect(response.json<ObjectView>()).toMatchObject({ gpt_id: A, collection: 'plain', body: { note: 'A only' } })
    expect(response.json<ObjectView>().id).not.toBe(bPlain.id)
    // And the same body B sent, under the same key, is a new document of A's too.
    const other = await call('POST', url, aAdmin, { note: 'B only' }, { 'idempotency-key': 'shared-key-2' })
    expect(other.json<ObjectView>().gpt_id).toBe(A)
  })

  it('deleting A’s collection of the same name leaves B’s alone', async () => {
    const url = `/v1/gpts/${A}/collections/secret`
    expect((await call('DELETE', url, aAdmin)).statusCode).toBe(204)
    expect((await call('GET', `/v1/objects/${bSecret[0]!.id}`, bAdmin)).statusCode).toBe(200)
  })
})

describe("B's data afterwards", () => {
  it('is exactly as it was: collections, documents, ETags and exports', async () => {
    expect(await snapshotOfB()).toEqual(before)
    // And B still reads and writes its own documents normally.
    const doc = await call('GET', `/v1/objects/${bSecret[0]!.id}`, bAdmin)
    expect(doc.statusCode).toBe(200)
    expect(doc.headers.etag).toBe('"1"')
    expect(doc.json<ObjectView>().body).toEqual({ text: 'zebracorn launch codes', owner: 'B' })
    const replay = await call('POST', `/v1/gpts/${B}/collections/plain/objects`, bAdmin, { note: 'B only' }, { 'idempotency-key': 'shared-key' })
    expect(replay.headers['idempotent-replayed']).toBe('true')
    expect(replay.json<ObjectView>().id).toBe(bPlain.id)
  })
})

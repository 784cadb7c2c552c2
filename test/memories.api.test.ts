import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import type { MemoryView } from '../src/modules/memories/memories.schemas.js'
import { walkPages } from './helpers/pages.js'

interface MemoryList {
  memories: MemoryView[]
  next_cursor: string | null
  has_more: boolean
}
interface BatchResult {
  memories: MemoryView[]
  created_count: number
  updated_count: number
}
interface SearchResult {
  source: string
  id: string
  score: number
  content: string
}

const GPT = 'memories-gpt'
const OTHER = 'memories-other'
const MEMORIES = `/v1/gpts/${GPT}/memories`
const BATCH = `${MEMORIES}/batch`
const SEARCH = `/v1/gpts/${GPT}/search`
const MODEL = 'universal-sentence-encoder-lite'
const MAX_BATCH = 5
const MAX_MEMORY_CHARS = 500
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'

let t: TestApp
let writer: string
let reader: string
let otherWriter: string

beforeAll(async () => {
  t = await createTestApp({ env: { MAX_BATCH: String(MAX_BATCH), MAX_MEMORY_CHARS: String(MAX_MEMORY_CHARS) } })
  writer = (await createGptWithKey(t.services, GPT)).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
  otherWriter = (await createGptWithKey(t.services, OTHER)).token
})

afterAll(async () => {
  await t?.close()
})

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, payload?: unknown, token: string | null = writer): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, token === null ? {} : bearer(token), payload)
}

async function write(body: Record<string, unknown>, status = 201, url = MEMORIES, token = writer): Promise<MemoryView> {
  const response = await call('POST', url, body, token)
  expect(response.statusCode, response.body).toBe(status)
  return response.json<MemoryView>()
}

async function list(query = '', token = writer, url = MEMORIES): Promise<MemoryList> {
  const response = await call('GET', `${url}${query ? `?${query}` : ''}`, undefined, token)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<MemoryList>()
}

async function search(body: Record<string, unknown>, token = writer, url = SEARCH): Promise<SearchResult[]> {
  const response = await call('POST', url, { sources: ['memories'], ...body }, token)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<{ results: SearchResult[] }>().results
}

/** The stored vector row of a memory (null when it has none). */
async function vectorOf(id: string): Promise<{ model: string; dims: number; embedded_at: Date } | null> {
  const { rows } = await sql<{ model: string; dims: number; embedded_at: Date }>`
    select model, dims, embedded_at from embeddings where memory_id = ${id}
  `.execute(t.db.database.db)
  return rows[0] ?? null
}

const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)
const countAll = async () => (await list('limit=200')).memories.length

describe('writing a memory', () => {
  it('answers 201 with the memory, embedded in the request, and its Location', async () => {
    const response = await call('POST', MEMORIES, { content: 'Allergic to peanuts; carries an EpiPen.', user_id: 'u1', metadata: { topic: 'health', level: 3 } })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const memory = response.json<MemoryView>()
    expect(memory).toEqual({
      id: expect.stringMatching(UUID_V7),
      gpt_id: GPT,
      content: 'Allergic to peanuts; carries an EpiPen.',
      entity_type: null,
      entity_id: null,
      user_id: 'u1',
      metadata: { topic: 'health', level: 3 },
      embedding_status: 'ready',
      embedding_error: null,
      embedding_model: MODEL,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    expect(response.headers.location).toBe(`/v1/memories/${memory.id}`)
    const read = await call('GET', response.headers.location as string)
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(memory)
    expect(await vectorOf(memory.id)).toMatchObject({ model: MODEL, dims: 512 })
  })

  it('without an entity, the same content twice makes two memories', async () => {
    const first = await write({ content: 'Said hello twice.' })
    const second = await write({ content: 'Said hello twice.' })
    expect(second.id).not.toBe(first.id)
    // An entity_type alone is no entity either.
    const typed1 = await write({ content: 'Typed only.', entity_type: 'note' })
    const typed2 = await write({ content: 'Typed only.', entity_type: 'note' })
    expect(typed2.id).not.toBe(typed1.id)
  })

  it('upserts by entity: 201, then 200 with the same id, the new content and a new vector', async () => {
    const created = await call('POST', MEMORIES, { content: 'Favourite colour is blue.', entity_type: 'profile', entity_id: 'colour', user_id: 'u1', metadata: { a: 1, b: 2 } })
    expect(created.statusCode, created.body).toBe(201)
    const first = created.json<MemoryView>()
    const vectorBefore = await vectorOf(first.id)
    await sleep(5)

    const replaced = await call('POST', MEMORIES, { content: 'Favourite colour is deep orange.', entity_type: 'profile', entity_id: 'colour', user_id: 'u2', metadata: { c: 3 } })
    expect(replaced.statusCode, replaced.body).toBe(200)
    expect(replaced.headers.location).toBe(`/v1/memories/${first.id}`)
    const second = replaced.json<MemoryView>()
    expect(second).toEqual({
      ...first,
      content: 'Favourite colour is deep orange.',
      user_id: 'u2',
      // An upsert replaces metadata (PATCH merges it).
      metadata: { c: 3 },
      updated_at: expect.stringMatching(ISO),
    })
    expect(Date.parse(second.updated_at)).toBeGreaterThan(Date.parse(first.updated_at))
    const vectorAfter = await vectorOf(first.id)
    expect(vectorAfter!.embedded_at.getTime()).toBeGreaterThan(vectorBefore!.embedded_at.getTime())

    // One memory for the entity; found by its new words, not by its old ones.
    expect((await list('entity_type=profile&entity_id=colour')).memories.map((m) => m.id)).toEqual([first.id])
    expect((await search({ query: 'orange', mode: 'keyword' })).map((r) => r.id)).toContain(first.id)
    expect((await search({ query: 'blue', mode: 'keyword' })).map((r) => r.id)).not.toContain(first.id)
  })

  it('an upsert with the same content keeps the stored vector', async () => {
    const first = await write({ content: 'Works night shifts at the hospital.', entity_type: 'profile', entity_id: 'job' })
    const vectorBefore = await vectorOf(first.id)
    await sleep(5)
    const response = await call('POST', MEMORIES, { content: 'Works night shifts at the hospital.', entity_type: 'profile', entity_id: 'job', metadata: { confirmed: true } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MemoryView>()).toMatchObject({ id: first.id, embedding_status: 'ready', embedding_model: MODEL, metadata: { confirmed: true } })
    expect(await vectorOf(first.id)).toEqual(vectorBefore)
    const [top] = await search({ query: 'Works night shifts at the hospital.', mode: 'semantic', top_k: 1 })
    expect(top).toMatchObject({ id: first.id, score: expect.closeTo(1, 3) })
  })

  it('the same entity in another GPT is another memory', async () => {
    const mine = await write({ content: 'Shared entity here.', entity_type: 'profile', entity_id: 'shared' })
    const theirs = await write({ content: 'Shared entity there.', entity_type: 'profile', entity_id: 'shared' }, 201, `/v1/gpts/${OTHER}/memories`, otherWriter)
    expect(theirs.id).not.toBe(mine.id)
    expect((await call('GET', `/v1/memories/${mine.id}`)).json<MemoryView>().content).toBe('Shared entity here.')
  })

  const badBodies: { name: string; body: Record<string, unknown>; pointer: string }[] = [
    { name: 'missing content', body: { user_id: 'u1' }, pointer: '/content' },
    { name: 'empty content', body: { content: '' }, pointer: '/content' },
    { name: `content over ${MAX_MEMORY_CHARS} characters`, body: { content: 'x'.repeat(MAX_MEMORY_CHARS + 1) }, pointer: '/content' },
    { name: 'content that is a number', body: { content: 42 }, pointer: '/content' },
    { name: 'content with a NUL', body: { content: 'a\u0000b' }, pointer: '/content' },
    { name: 'empty entity_type', body: { content: 'x', entity_type: '' }, pointer: '/entity_type' },
    { name: 'entity_type of 201 characters', body: { content: 'x', entity_type: 'e'.repeat(201) }, pointer: '/entity_type' },
    { name: 'numeric entity_id', body: { content: 'x', entity_type: 'e', entity_id: 7 }, pointer: '/entity_id' },
    { name: 'empty entity_id', body: { content: 'x', entity_id: '' }, pointer: '/entity_id' },
    { name: 'empty user_id', body: { content: 'x', user_id: '' }, pointer: '/user_id' },
    { name: 'user_id of 201 characters', body: { content: 'x', user_id: 'u'.repeat(201) }, pointer: '/user_id' },
    { name: 'metadata that is a list', body: { content: 'x', metadata: [1] }, pointer: '/metadata' },
    { name: 'metadata that is a string', body: { content: 'x', metadata: 'tag' }, pointer: '/metadata' },
    { name: 'metadata with a NUL', body: { content: 'x', metadata: { k: 'a\u0000' } }, pointer: '/metadata/k' },
    { name: 'unknown member', body: { content: 'x', embedding: [0.1] }, pointer: '/embedding' },
  ]

  it.each(badBodies)('refuses $name with 422 at $pointer and stores nothing', async ({ body, pointer }) => {
    const before = await countAll()
    const response = await call('POST', MEMORIES, body)
    const problem = expectProblem(response, 422, MEMORIES, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
    for (const error of problem.errors!) expect(error.location).toBe('body')
    expect(await countAll()).toBe(before)
  })

  it('refuses a body that is not JSON, or no body, with a problem', async () => {
    const notJson = await t.app.inject({ method: 'POST', url: MEMORIES, headers: { ...bearer(writer), 'content-type': 'application/json' }, payload: '{"content": ' })
    expect(notJson.statusCode).toBeGreaterThanOrEqual(400)
    expect(notJson.statusCode).toBeLessThan(500)
    expect(notJson.headers['content-type']).toMatch(/^application\/problem\+json/)
    expectProblem(await call('POST', MEMORIES, []), 422, MEMORIES, 'validation-failed')
  })
})

describe('who may do what', () => {
  let memory: MemoryView

  beforeAll(async () => {
    memory = await write({ content: 'Owned by the first GPT: a secret recipe.' })
  })

  const writes = () => [
    { method: 'POST' as const, url: MEMORIES, body: { content: 'ro' } },
    { method: 'POST' as const, url: BATCH, body: { memories: [{ content: 'ro' }] } },
    { method: 'PATCH' as const, url: `/v1/memories/${memory.id}`, body: { content: 'ro' } },
    { method: 'DELETE' as const, url: `/v1/memories/${memory.id}`, body: undefined },
  ]
  const reads = () => [
    { method: 'GET' as const, url: MEMORIES, body: undefined },
    { method: 'GET' as const, url: `/v1/memories/${memory.id}`, body: undefined },
    { method: 'POST' as const, url: SEARCH, body: { query: 'recipe' } },
  ]

  it('answers 401 without a token, for every endpoint', async () => {
    for (const { method, url, body } of [...writes(), ...reads()]) {
      expectProblem(await call(method, url, body, null), 401, url, 'unauthorized')
      expectProblem(await call(method, url, body, 'ak_nope_nope'), 401, url, 'unauthorized')
    }
  })

  it('answers 403 to a read-only key on every write, and changes nothing', async () => {
    const before = await countAll()
    for (const { method, url, body } of writes()) {
      const problem = expectProblem(await call(method, url, body, reader), 403, url, 'forbidden')
      expect(problem.detail).toContain('"write"')
    }
    expect(await countAll()).toBe(before)
    expect((await call('GET', `/v1/memories/${memory.id}`)).json()).toEqual(memory)
  })

  it('lets a read-only key list, read and search', async () => {
    for (const { method, url, body } of reads()) {
      const response = await call(method, url, body, reader)
      expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(200)
    }
  })

  it("answers 403 to another GPT's key on this GPT's lists and writes", async () => {
    for (const { method, url, body } of [
      { method: 'POST' as const, url: MEMORIES, body: { content: 'intruder' } },
      { method: 'POST' as const, url: BATCH, body: { memories: [{ content: 'intruder' }] } },
      { method: 'GET' as const, url: MEMORIES, body: undefined },
      { method: 'POST' as const, url: SEARCH, body: { query: 'recipe' } },
    ]) {
      const response = await call(method, url, body, otherWriter)
      expectProblem(response, 403, url, 'forbidden')
      expect(response.body).not.toContain('secret recipe')
    }
  })

  it("answers 404 for another GPT's memory id on GET, PATCH and DELETE", async () => {
    const url = `/v1/memories/${memory.id}`
    for (const [method, body] of [['GET', undefined], ['PATCH', { content: 'stolen' }], ['DELETE', undefined]] as const) {
      const response = await call(method, url, body, otherWriter)
      expectProblem(response, 404, url, 'not-found')
      expect(response.body).not.toContain('secret recipe')
    }
    expect((await call('GET', url)).json()).toEqual(memory)
  })

  it('answers 404 for an unknown id and 422 for a malformed one', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const body = method === 'PATCH' ? { content: 'x' } : undefined
      expectProblem(await call(method, `/v1/memories/${MISSING_ID}`, body), 404, `/v1/memories/${MISSING_ID}`, 'not-found')
      const bad = await call(method, '/v1/memories/not-a-uuid', body)
      expectProblem(bad, 422, '/v1/memories/not-a-uuid', 'validation-failed')
      expect(pointers(bad)).toEqual(['/id'])
    }
  })
})

describe('changing a memory', () => {
  it('PATCH merges metadata by key, re-embeds new content and keeps id and created_at', async () => {
    const memory = await write({ content: 'Runs five kilometres on Sundays.', user_id: 'u3', metadata: { topic: 'fitness', nested: { a: 1 }, keep: 'yes' } })
    const vectorBefore = await vectorOf(memory.id)
    await sleep(5)
    const url = `/v1/memories/${memory.id}`
    const response = await call('PATCH', url, { content: 'Swims two kilometres on Saturdays.', metadata: { topic: 'swimming', nested: { b: 2 }, added: true } })
    expect(response.statusCode, response.body).toBe(200)
    const patched = response.json<MemoryView>()
    expect(patched).toEqual({
      ...memory,
      content: 'Swims two kilometres on Saturdays.',
      metadata: { topic: 'swimming', nested: { b: 2 }, keep: 'yes', added: true },
      updated_at: expect.stringMatching(ISO),
    })
    expect(Date.parse(patched.updated_at)).toBeGreaterThan(Date.parse(memory.updated_at))
    expect((await call('GET', url)).json()).toEqual(patched)
    expect((await vectorOf(memory.id))!.embedded_at.getTime()).toBeGreaterThan(vectorBefore!.embedded_at.getTime())
    const [top] = await search({ query: 'Swims two kilometres on Saturdays.', mode: 'semantic', top_k: 1 })
    expect(top).toMatchObject({ id: memory.id, score: expect.closeTo(1, 3) })
    expect((await search({ query: 'Sundays', mode: 'keyword' })).map((r) => r.id)).not.toContain(memory.id)
  })

  it('PATCH of metadata or user only keeps the vector', async () => {
    const memory = await write({ content: 'Keeps bees in the garden.' })
    const vectorBefore = await vectorOf(memory.id)
    const response = await call('PATCH', `/v1/memories/${memory.id}`, { user_id: 'u9', metadata: { hives: 2 } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MemoryView>()).toMatchObject({ user_id: 'u9', metadata: { hives: 2 }, embedding_status: 'ready', embedding_model: MODEL })
    expect(await vectorOf(memory.id)).toEqual(vectorBefore)
  })

  it('PATCH sets and clears the entity, which makes later writes upsert into it', async () => {
    const memory = await write({ content: 'Birthday is in March.' })
    const url = `/v1/memories/${memory.id}`
    expect((await call('PATCH', url, { entity_type: 'profile', entity_id: 'birthday' })).json<MemoryView>()).toMatchObject({ entity_type: 'profile', entity_id: 'birthday' })
    const upserted = await write({ content: 'Birthday is on 3 March.', entity_type: 'profile', entity_id: 'birthday' }, 200)
    expect(upserted.id).toBe(memory.id)
    expect((await call('PATCH', url, { entity_type: null, entity_id: null })).json<MemoryView>()).toMatchObject({ entity_type: null, entity_id: null })
    expect((await write({ content: 'Birthday entity again.', entity_type: 'profile', entity_id: 'birthday' })).id).not.toBe(memory.id)
  })

  it('PATCH to an entity another memory has is 409 and changes nothing', async () => {
    await write({ content: 'Owner of the entity.', entity_type: 'pet', entity_id: 'dog' })
    const second = await write({ content: 'Wants the entity.', entity_type: 'pet', entity_id: 'cat', metadata: { m: 1 } })
    const url = `/v1/memories/${second.id}`
    const problem = expectProblem(await call('PATCH', url, { entity_id: 'dog', content: 'Changed?', metadata: { m: 2 } }), 409, url, 'conflict')
    expect(problem.detail).toContain('"dog"')
    expect(problem.detail).not.toContain('undefined')
    expectProblem(await call('PATCH', url, { entity_type: 'pet', entity_id: 'dog' }), 409, url, 'conflict')
    expect((await call('GET', url)).json()).toEqual(second)
    // Its own entity is no conflict.
    expect((await call('PATCH', url, { entity_type: 'pet', entity_id: 'cat' })).statusCode).toBe(200)
  })

  it.each([
    { name: 'empty body', body: {}, pointer: '' },
    { name: 'empty content', body: { content: '' }, pointer: '/content' },
    { name: 'content too long', body: { content: 'y'.repeat(MAX_MEMORY_CHARS + 1) }, pointer: '/content' },
    { name: 'null content', body: { content: null }, pointer: '/content' },
    { name: 'metadata that is a list', body: { metadata: ['a'] }, pointer: '/metadata' },
    { name: 'empty entity_id', body: { entity_id: '' }, pointer: '/entity_id' },
    { name: 'unknown member', body: { gpt_id: OTHER }, pointer: '/gpt_id' },
  ])('PATCH refuses $name with 422 and changes nothing', async ({ body, pointer }) => {
    const memory = await write({ content: `Patch target ${pointer || 'empty'}.` })
    const url = `/v1/memories/${memory.id}`
    const response = await call('PATCH', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toContain(pointer)
    expect((await call('GET', url)).json()).toEqual(memory)
  })
})

describe('deleting a memory', () => {
  it('answers 204, then 404, and the memory and its vector leave search', async () => {
    const memory = await write({ content: 'Temporary: the garage code is 4711.' })
    const other = await write({ content: 'Permanent: the shed code is 1234.' })
    const query = { query: 'Temporary: the garage code is 4711.' }
    for (const mode of ['keyword', 'semantic', 'hybrid']) expect((await search({ ...query, mode })).map((r) => r.id)).toContain(memory.id)

    const url = `/v1/memories/${memory.id}`
    const response = await call('DELETE', url)
    expect(response.statusCode, response.body).toBe(204)
    expect(response.body).toBe('')
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('DELETE', url), 404, url, 'not-found')
    expectProblem(await call('PATCH', url, { content: 'back' }), 404, url, 'not-found')
    expect(await vectorOf(memory.id)).toBeNull()
    for (const mode of ['keyword', 'semantic', 'hybrid']) {
      const ids = (await search({ ...query, mode, top_k: 50 })).map((r) => r.id)
      expect(ids, mode).not.toContain(memory.id)
      if (mode !== 'keyword') expect(ids).toContain(other.id)
    }
    expect((await list('limit=200')).memories.map((m) => m.id)).not.toContain(memory.id)
  })
})

describe('listing memories', () => {
  const LIST_GPT = 'memories-list'
  const URL = `/v1/gpts/${LIST_GPT}/memories`
  let token: string
  let created: MemoryView[]

  beforeAll(async () => {
    token = (await createGptWithKey(t.services, LIST_GPT)).token
    const specs = [
      { content: 'Eats oatmeal for breakfast.', entity_type: 'preference', user_id: 'ann', metadata: { topic: 'food', tags: ['morning'] } },
      { content: 'Flies to Lisbon in May.', entity_type: 'event', entity_id: 'trip-1', user_id: 'ann', metadata: { topic: 'travel' } },
      { content: 'Prefers tea over coffee.', entity_type: 'preference', user_id: 'bob', metadata: { topic: 'food', strength: 2 } },
      { content: 'Has a cat called Miso.', entity_type: 'fact', user_id: 'bob', metadata: {} },
      { content: 'Dentist on Friday.', entity_type: 'event', entity_id: 'dentist', user_id: 'cy', metadata: { topic: 'health' } },
      { content: 'Learning Italian.', user_id: 'cy', metadata: { topic: 'learning', nested: { level: 'a2' } } },
      { content: 'Cooks pasta on Fridays.', entity_type: 'preference', user_id: 'ann', metadata: { topic: 'food', tags: ['evening'] } },
    ]
    created = []
    for (const spec of specs) created.push(await write(spec, 201, URL, token))
  })

  it('lists oldest first and walks every page with next_cursor and Link', async () => {
    const { items: seen, pages } = await walkPages<MemoryView>((url) => call('GET', url, undefined, token), `${URL}?limit=3`, 'memories', 'http://agentstore.test/v1/gpts/memories-list/memories')
    expect(pages).toBe(3)
    expect(seen).toEqual(created)
  })

  it('lists newest first with order=desc', async () => {
    const first = await list('limit=4&order=desc', token, URL)
    const rest = await list(`limit=4&order=desc&cursor=${first.next_cursor}`, token, URL)
    expect([...first.memories, ...rest.memories].map((m) => m.id)).toEqual(created.map((m) => m.id).reverse())
    // A cursor of one order is refused by the other.
    expectProblem(await call('GET', `${URL}?order=asc&cursor=${first.next_cursor}`, undefined, token), 400, URL, 'invalid-cursor')
  })

  const filterCases: { name: string; query: string; expected: number[] }[] = [
    { name: 'entity_type', query: 'entity_type=preference', expected: [0, 2, 6] },
    { name: 'entity_type and entity_id', query: 'entity_type=event&entity_id=dentist', expected: [4] },
    { name: 'entity_id alone', query: 'entity_id=trip-1', expected: [1] },
    { name: 'user_id', query: 'user_id=bob', expected: [2, 3] },
    { name: 'user_id and entity_type', query: 'user_id=ann&entity_type=preference', expected: [0, 6] },
    { name: 'embedding_status=ready', query: 'embedding_status=ready', expected: [0, 1, 2, 3, 4, 5, 6] },
    { name: 'embedding_status=pending', query: 'embedding_status=pending', expected: [] },
    { name: 'where on a key', query: `where=${encodeURIComponent('{"topic":"food"}')}`, expected: [0, 2, 6] },
    { name: 'where on two keys', query: `where=${encodeURIComponent('{"topic":"food","strength":2}')}`, expected: [2] },
    { name: 'where on an array member', query: `where=${encodeURIComponent('{"tags":["evening"]}')}`, expected: [6] },
    { name: 'where on a nested object', query: `where=${encodeURIComponent('{"nested":{"level":"a2"}}')}`, expected: [5] },
    { name: 'where {} (everything)', query: `where=${encodeURIComponent('{}')}`, expected: [0, 1, 2, 3, 4, 5, 6] },
    { name: 'where with filters', query: `user_id=ann&where=${encodeURIComponent('{"topic":"travel"}')}`, expected: [1] },
    { name: 'an unknown user', query: 'user_id=nobody', expected: [] },
  ]

  it.each(filterCases)('filters by $name', async ({ query, expected }) => {
    const page = await list(`${query}&limit=200`, token, URL)
    expect(page.memories.map((m) => m.id)).toEqual(expected.map((i) => created[i]!.id))
    expect(page.has_more).toBe(false)
  })

  it('pages through a filtered list', async () => {
    const first = await list('entity_type=preference&limit=2', token, URL)
    expect(first.has_more).toBe(true)
    const second = await list(`entity_type=preference&limit=2&cursor=${first.next_cursor}`, token, URL)
    expect([...first.memories, ...second.memories].map((m) => m.id)).toEqual([0, 2, 6].map((i) => created[i]!.id))
    expect(second.has_more).toBe(false)
  })

  it.each([
    { name: 'where that is not JSON', query: 'where=%7Bnope', pointer: '/where' },
    { name: 'where that is a list', query: `where=${encodeURIComponent('[1]')}`, pointer: '/where' },
    { name: 'where that is a string', query: `where=${encodeURIComponent('"food"')}`, pointer: '/where' },
    { name: 'limit 0', query: 'limit=0', pointer: '/limit' },
    { name: 'limit 201', query: 'limit=201', pointer: '/limit' },
    { name: 'an unknown embedding_status', query: 'embedding_status=done', pointer: '/embedding_status' },
    { name: 'an empty user_id', query: 'user_id=', pointer: '/user_id' },
    { name: 'a bad order', query: 'order=up', pointer: '/order' },
    { name: 'an unknown parameter', query: 'colour=red', pointer: '/colour' },
  ])('refuses $name with 422', async ({ query, pointer }) => {
    const response = await call('GET', `${URL}?${query}`, undefined, token)
    const problem = expectProblem(response, 422, URL, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
    for (const error of problem.errors!) expect(error.location).toBe('query')
  })

  it('refuses a malformed cursor with 400', async () => {
    expectProblem(await call('GET', `${URL}?cursor=not-a-cursor`, undefined, token), 400, URL, 'invalid-cursor')
  })

  it("never lists another GPT's memories", async () => {
    const mine = (await list('limit=200', token, URL)).memories
    expect(mine.every((m) => m.gpt_id === LIST_GPT)).toBe(true)
    expect(mine).toHaveLength(created.length)
  })
})

describe('writing memories in a batch', () => {
  const BATCH_GPT = 'memories-batch'
  const URL = `/v1/gpts/${BATCH_GPT}/memories`
  let token: string

  beforeAll(async () => {
    token = (await createGptWithKey(t.services, BATCH_GPT)).token
  })

  const batch = (memories: unknown[]) => call('POST', `${URL}/batch`, { memories }, token)
  const all = async () => (await list('limit=200', token, URL)).memories

  it('answers 200 with the memories in the order sent and the created/updated counts', async () => {
    const existing = await write({ content: 'Old address: Elm Street.', entity_type: 'profile', entity_id: 'address' }, 201, URL, token)
    const response = await batch([
      { content: 'Batch: likes jazz.', user_id: 'u1', metadata: { topic: 'music' } },
      { content: 'New address: Oak Avenue.', entity_type: 'profile', entity_id: 'address' },
      { content: 'Batch: speaks Dutch.', entity_type: 'profile', entity_id: 'language' },
    ])
    expect(response.statusCode, response.body).toBe(200)
    const body = response.json<BatchResult>()
    expect(body.created_count).toBe(2)
    expect(body.updated_count).toBe(1)
    expect(body.memories.map((m) => m.content)).toEqual(['Batch: likes jazz.', 'New address: Oak Avenue.', 'Batch: speaks Dutch.'])
    expect(body.memories[1]!.id).toBe(existing.id)
    for (const memory of body.memories) {
      expect(memory).toMatchObject({ gpt_id: BATCH_GPT, embedding_status: 'ready', embedding_model: MODEL, id: expect.stringMatching(UUID_V7) })
      expect((await call('GET', `/v1/memories/${memory.id}`, undefined, token)).json()).toEqual(memory)
    }
    expect(body.memories[0]).toMatchObject({ user_id: 'u1', metadata: { topic: 'music' } })
    expect(await all()).toHaveLength(3)
  })

  it(`takes exactly MAX_BATCH (${MAX_BATCH}) memories`, async () => {
    const response = await batch(Array.from({ length: MAX_BATCH }, (_, i) => ({ content: `Full batch item ${i}.` })))
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<BatchResult>()).toMatchObject({ created_count: MAX_BATCH, updated_count: 0 })
  })

  const badBatches: { name: string; memories: unknown; pointer: string }[] = [
    { name: `over MAX_BATCH (${MAX_BATCH + 1})`, memories: Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({ content: `Too many ${i}.` })), pointer: '/memories' },
    { name: 'an empty list', memories: [], pointer: '/memories' },
    { name: 'a list that is an object', memories: { content: 'x' }, pointer: '/memories' },
    {
      name: 'the same entity twice',
      memories: [
        { content: 'Dup A.', entity_type: 'profile', entity_id: 'dup' },
        { content: 'Unrelated.' },
        { content: 'Dup B.', entity_type: 'profile', entity_id: 'dup' },
      ],
      pointer: '/memories/2/entity_id',
    },
    {
      name: 'one content over MAX_MEMORY_CHARS',
      memories: [{ content: 'Fine one.' }, { content: 'Fine two.' }, { content: 'z'.repeat(MAX_MEMORY_CHARS + 1) }],
      pointer: '/memories/2/content',
    },
    { name: 'one memory without content', memories: [{ content: 'Fine.' }, { user_id: 'u1' }], pointer: '/memories/1/content' },
    { name: 'one unknown member', memories: [{ content: 'Fine.', colour: 'red' }], pointer: '/memories/0/colour' },
  ]

  it.each(badBatches)('refuses $name with 422 at $pointer and stores none of it', async ({ memories, pointer }) => {
    const before = await all()
    const response = await call('POST', `${URL}/batch`, { memories }, token)
    expectProblem(response, 422, `${URL}/batch`, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
    expect(await all()).toEqual(before)
  })

  it('all or nothing: a batch refused for a later item does not replace an entity named by an earlier one', async () => {
    const before = await all()
    const response = await batch([
      { content: 'Would replace the address.', entity_type: 'profile', entity_id: 'address' },
      { content: 'Twin.', entity_type: 'pet', entity_id: 'twin' },
      { content: 'Twin again.', entity_type: 'pet', entity_id: 'twin' },
    ])
    expectProblem(response, 422, `${URL}/batch`, 'validation-failed')
    expect(await all()).toEqual(before)
    expect(before.find((m) => m.entity_id === 'address')!.content).toBe('New address: Oak Avenue.')
  })

  it('all or nothing: a write failing in the database mid-batch rolls back the earlier ones', async () => {
    const db = t.db.database.db
    // A test-only trigger makes the third row fail inside the batch's transaction.
    await sql`create function fail_boom() returns trigger language plpgsql as $$
      begin
        if new.content = 'BOOM' then raise exception 'boom'; end if;
        return new;
      end $$`.execute(db)
    await sql`create trigger fail_boom before insert or update on memories for each row execute function fail_boom()`.execute(db)
    try {
      const before = await all()
      const response = await batch([
        { content: 'Rolled back: new memory.' },
        { content: 'Rolled back: replaced address.', entity_type: 'profile', entity_id: 'address' },
        { content: 'BOOM' },
      ])
      const problem = expectProblem(response, 500, `${URL}/batch`)
      expect(problem.detail).not.toContain('boom')
      expect(await all()).toEqual(before)
      expect(await search({ query: 'Rolled back', mode: 'keyword' }, token, `/v1/gpts/${BATCH_GPT}/search`)).toEqual([])
    } finally {
      await sql`drop trigger fail_boom on memories`.execute(db)
      await sql`drop function fail_boom()`.execute(db)
    }
  })

  it('refuses a body without memories', async () => {
    const response = await call('POST', `${URL}/batch`, { content: 'not a batch' }, token)
    expectProblem(response, 422, `${URL}/batch`, 'validation-failed')
    expect(pointers(response)).toEqual(expect.arrayContaining(['/memories']))
  })
})

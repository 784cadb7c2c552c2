import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer } from './helpers/test-app.js'
import type { MemoryView } from '../src/modules/memories/memories.schemas.js'
import { GPT, OTHER, MEMORIES, BATCH, SEARCH, MODEL, MAX_MEMORY_CHARS, UUID_V7, ISO, MISSING_ID, t, writer, reader, otherWriter, call, write, list, search, vectorOf, pointers, countAll, useMemoriesApi } from './helpers/memories-api.js'

useMemoriesApi()

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
      expires_at: null,
      source: { type: 'manual' },
      valid_from: memory.created_at,
      valid_to: null,
      superseded_by: null,
      pinned: false,
      importance: 0.5,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    expect(response.headers.location).toBe(`/v1/memories/${memory.id}`)
    const read = await call('GET', response.headers.location as string)
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(memory)
    expect(await vectorOf(memory.id)).toMatchObject({ model: MODEL, dims: 512 })
  })

  it('without an entity and with dedup off, the same content twice makes two memories', async () => {
    const first = await write({ content: 'Said hello twice.', dedup: false })
    const second = await write({ content: 'Said hello twice.', dedup: false })
    expect(second.id).not.toBe(first.id)
    // An entity_type alone is no entity either.
    const typed1 = await write({ content: 'Typed only.', entity_type: 'note', dedup: false })
    const typed2 = await write({ content: 'Typed only.', entity_type: 'note', dedup: false })
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
      // The new content is true from now; the old version's validity stays in its history.
      valid_from: second.updated_at,
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

import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { createGptWithKey } from './helpers/test-app.js'
import type { MemoryView } from '../src/modules/memories/memories.schemas.js'
import { walkPages } from './helpers/pages.js'
import { OTHER, MODEL, MAX_MEMORY_CHARS, ISO, t, call, write, list, search, vectorOf, pointers, useMemoriesApi } from './helpers/memories-api.js'

useMemoriesApi()

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
    const memory = await write({ content: `Patch target ${pointer || 'empty'}.`, dedup: false })
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

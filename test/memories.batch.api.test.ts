import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { createGptWithKey } from './helpers/test-app.js'
import { type BatchResult, MODEL, MAX_BATCH, MAX_MEMORY_CHARS, UUID_V7, t, call, write, list, search, pointers, useMemoriesApi } from './helpers/memories-api.js'

useMemoriesApi()

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
    const response = await batch(Array.from({ length: MAX_BATCH }, (_, i) => ({ content: `Full batch item ${i}.`, dedup: false })))
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

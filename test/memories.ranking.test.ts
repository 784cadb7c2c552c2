import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { MEMORIES, SEARCH, t, call, write, search, pointers, useMemoriesApi } from './helpers/memories-api.js'

useMemoriesApi()

describe('pinning and importance', () => {
  it('stores pinned and importance, and PATCH changes them', async () => {
    const memory = await write({ content: 'Prefers window seats.', pinned: true, importance: 0.75 })
    expect(memory).toMatchObject({ pinned: true, importance: 0.75 })
    const patched = await call('PATCH', `/v1/memories/${memory.id}`, { pinned: false, importance: 0.25 })
    expect(patched.json()).toMatchObject({ pinned: false, importance: 0.25 })
  })

  it.each([
    { name: 'importance above 1', body: { importance: 1.5 }, pointer: '/importance' },
    { name: 'importance below 0', body: { importance: -0.1 }, pointer: '/importance' },
    { name: 'pinned as a string', body: { pinned: 'yes' }, pointer: '/pinned' },
  ])('refuses $name with 422', async ({ body, pointer }) => {
    const response = await call('POST', MEMORIES, { content: 'Bad weight.', ...body })
    expectProblem(response, 422, MEMORIES, 'validation-failed')
    expect(pointers(response)).toContain(pointer)
  })
})

describe('rank', () => {
  it('relevance weighs equal matches by importance; recency prefers the recently changed', async () => {
    const filters = { user_id: 'rank' }
    const important = await write({ content: 'Tulip bulbs go in the north bed.', user_id: 'rank', importance: 1, dedup: false })
    const minor = await write({ content: 'Tulip bulbs go in the south bed.', user_id: 'rank', importance: 0.2, dedup: false })
    const byRelevance = await search({ query: 'tulip bulbs', mode: 'keyword', filters })
    expect(byRelevance.map((r) => r.id)).toEqual([important.id, minor.id])
    expect(byRelevance[0]!.score / byRelevance[1]!.score).toBeCloseTo(1.5 / 0.7, 5)
    // The important one last changed 90 days ago (three half-lives of the default 30 days).
    await sql`update memories set updated_at = now() - interval '90 days' where id = ${important.id}`.execute(t.db.database.db)
    const byRecency = await search({ query: 'tulip bulbs', mode: 'keyword', filters, rank: 'recency' })
    expect(byRecency.map((r) => r.id)).toEqual([minor.id, important.id])
    expect((await search({ query: 'tulip bulbs', mode: 'keyword', filters, rank: 'relevance' })).map((r) => r.id)).toEqual([important.id, minor.id])
  })

  it('refuses an unknown rank with 422', async () => {
    const response = await call('POST', SEARCH, { query: 'anything', rank: 'popularity' })
    expectProblem(response, 422, SEARCH, 'validation-failed')
    expect(pointers(response)).toContain('/rank')
  })
})

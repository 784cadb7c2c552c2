import { describe, expect, it } from 'vitest'
import type { MemoryHistoryView, MemoryView } from '../src/modules/memories/memories.schemas.js'
import { MEMORIES, BATCH, call, write, list, useMemoriesApi } from './helpers/memories-api.js'

useMemoriesApi()

interface Batch {
  memories: MemoryView[]
  created_count: number
  updated_count: number
}

describe('deduplication', () => {
  // The local model puts these two at cosine 0.98 (MEMORY_DEDUP_SIMILARITY defaults to 0.95).
  it('a nearly identical write updates the live memory of the same scope, answers 200 and says so', async () => {
    const first = await write({ content: 'Dentist on Friday.', user_id: 'dd', metadata: { a: 1 } })
    expect(first).not.toHaveProperty('deduplicated')
    const response = await call('POST', MEMORIES, { content: 'Dentist on Monday.', user_id: 'dd', metadata: { b: 2 }, importance: 0.9 })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers.location).toBe(`/v1/memories/${first.id}`)
    const merged = response.json<MemoryView>()
    expect(merged).toMatchObject({ id: first.id, content: 'Dentist on Monday.', metadata: { a: 1, b: 2 }, importance: 0.9, deduplicated: true })
    expect((await list('user_id=dd')).memories.map((m) => m.content)).toEqual(['Dentist on Monday.'])
    const history = (await call('GET', `/v1/memories/${first.id}/history`)).json<MemoryHistoryView>().history
    expect(history.map((entry) => [entry.action, entry.new?.content])).toEqual([
      ['create', 'Dentist on Friday.'],
      ['update', 'Dentist on Monday.'],
    ])
  })

  it('leaves other users, other entity types, different content and dedup: false alone', async () => {
    const base = await write({ content: 'Speaks fluent Portuguese.', user_id: 'd1', entity_type: 'skill' })
    const otherUser = await write({ content: 'Speaks fluent Portuguese.', user_id: 'd2', entity_type: 'skill' })
    const otherType = await write({ content: 'Speaks fluent Portuguese.', user_id: 'd1', entity_type: 'note' })
    const different = await write({ content: 'Plays the cello in an orchestra.', user_id: 'd1', entity_type: 'skill' })
    const optedOut = await write({ content: 'Speaks fluent Portuguese.', user_id: 'd1', entity_type: 'skill', dedup: false })
    expect(new Set([base.id, otherUser.id, otherType.id, different.id, optedOut.id]).size).toBe(5)
  })

  it('does not merge into an expired or superseded memory', async () => {
    const expired = await write({ content: 'Owns a grey parrot.', user_id: 'd3', expires_at: new Date(Date.now() - 1000).toISOString() })
    const fresh = await write({ content: 'Owns a grey parrot.', user_id: 'd3' })
    expect(fresh.id).not.toBe(expired.id)
    const next = await write({ content: 'Owns two grey parrots.', user_id: 'd3', supersedes: fresh.id })
    expect(next.id).not.toBe(fresh.id)
    const again = await write({ content: 'Owns a grey parrot.', user_id: 'd3' })
    expect([expired.id, fresh.id]).not.toContain(again.id)
  })

  it('a batch merges an item into an earlier item of the same batch, counted as updated', async () => {
    const response = await call('POST', BATCH, { memories: [
      { content: 'Runs marathons every spring.', user_id: 'd4' },
      { content: 'Runs marathons every spring.', user_id: 'd4', metadata: { again: true } },
    ] })
    expect(response.statusCode, response.body).toBe(200)
    const body = response.json<Batch>()
    expect(body).toMatchObject({ created_count: 1, updated_count: 1 })
    expect(body.memories[1]).toMatchObject({ id: body.memories[0]!.id, deduplicated: true })
  })
})

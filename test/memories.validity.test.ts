import { describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import type { MemoryHistoryView, MemoryView } from '../src/modules/memories/memories.schemas.js'
import { MEMORIES, MISSING_ID, SEARCH, call, write, list, search, pointers, useMemoriesApi, otherWriter } from './helpers/memories-api.js'

useMemoriesApi()

const ids = (items: { id: string }[]) => items.map((item) => item.id)

describe('valid time', () => {
  it('valid_from defaults to the write; valid_from and valid_to are stored; search and lists take as_of', async () => {
    const now = await write({ content: 'Works at the harbour office.', user_id: 'vt' })
    expect(now.valid_from).toBe(now.created_at)
    expect(now.valid_to).toBeNull()
    const was = await write({ content: 'Worked at the train station office.', user_id: 'vt', valid_from: '2020-01-01T00:00:00.000Z', valid_to: '2023-06-30T00:00:00.000Z' })
    expect(was).toMatchObject({ valid_from: '2020-01-01T00:00:00.000Z', valid_to: '2023-06-30T00:00:00.000Z' })
    const filters = { user_id: 'vt' }
    // Now: only what is true now.
    expect(ids(await search({ query: 'office work', mode: 'keyword', filters }))).toEqual([now.id])
    // Then: what was true then.
    expect(ids(await search({ query: 'office work', mode: 'keyword', filters, as_of: '2021-01-01T00:00:00Z' }))).toEqual([was.id])
    expect(ids(await search({ query: 'office work', mode: 'semantic', filters, as_of: '2021-01-01T00:00:00Z' }))).toEqual([was.id])
    expect(ids(await search({ query: 'office work', mode: 'keyword', filters, as_of: '2019-01-01T00:00:00Z' }))).toEqual([])
    // A list shows every live memory; as_of narrows it the same way.
    expect(ids((await list('user_id=vt')).memories)).toEqual([now.id, was.id])
    expect(ids((await list('user_id=vt&as_of=2021-01-01T00:00:00Z')).memories)).toEqual([was.id])
  })

  it.each([
    { name: 'valid_to before valid_from', body: { valid_from: '2024-01-02T00:00:00Z', valid_to: '2024-01-01T00:00:00Z' }, pointer: '/valid_to' },
    { name: 'a valid_from that is no date', body: { valid_from: 'last year' }, pointer: '/valid_from' },
  ])('refuses $name with 422', async ({ body, pointer }) => {
    const response = await call('POST', MEMORIES, { content: 'Bad validity.', ...body })
    expectProblem(response, 422, MEMORIES, 'validation-failed')
    expect(pointers(response)).toContain(pointer)
    const bad = await call('POST', SEARCH, { query: 'x', as_of: 'yesterday' })
    expectProblem(bad, 422, SEARCH, 'validation-failed')
  })

  it('PATCH checks valid_to against the stored valid_from', async () => {
    const memory = await write({ content: 'Owns a red bicycle.', valid_from: '2024-05-01T00:00:00.000Z' })
    const url = `/v1/memories/${memory.id}`
    expectProblem(await call('PATCH', url, { valid_to: '2024-04-01T00:00:00Z' }), 422, url, 'validation-failed')
    const ended = await call('PATCH', url, { valid_to: '2025-04-01T00:00:00.000Z' })
    expect(ended.json<MemoryView>().valid_to).toBe('2025-04-01T00:00:00.000Z')
  })
})

describe('supersedes', () => {
  it('ends the old memory\'s validity now, names its successor, and keeps it in history and as_of', async () => {
    const old = await write({ content: 'Phone number ends in 1234.', user_id: 'sup' })
    const before = new Date().toISOString()
    const replacement = await write({ content: 'Phone number now ends in 9876.', user_id: 'sup', supersedes: old.id, dedup: false })
    const stored = (await call('GET', `/v1/memories/${old.id}`)).json<MemoryView>()
    expect(stored.superseded_by).toBe(replacement.id)
    expect(Date.parse(stored.valid_to!)).toBeGreaterThanOrEqual(Date.parse(before))
    const filters = { user_id: 'sup' }
    expect(ids(await search({ query: 'phone number', mode: 'keyword', filters }))).toEqual([replacement.id])
    expect(ids(await search({ query: 'phone number', mode: 'keyword', filters, as_of: before }))).toEqual([old.id])
    const history = (await call('GET', `/v1/memories/${old.id}/history`)).json<MemoryHistoryView>().history
    expect(history.map((entry) => entry.action)).toEqual(['create', 'supersede'])
    expect(history[1]).toMatchObject({ old: { valid_to: null, superseded_by: null }, new: { superseded_by: replacement.id } })
  })

  it('refuses an unknown memory, another GPT\'s, itself and one already superseded', async () => {
    const unknown = await call('POST', MEMORIES, { content: 'Supersedes nothing.', supersedes: MISSING_ID })
    expectProblem(unknown, 422, MEMORIES, 'validation-failed')
    expect(pointers(unknown)).toEqual(['/supersedes'])
    const theirs = await write({ content: 'Their memory.' }, 201, `/v1/gpts/memories-other/memories`, otherWriter)
    expectProblem(await call('POST', MEMORIES, { content: 'Supersedes theirs.', supersedes: theirs.id }), 422, MEMORIES, 'validation-failed')
    const entity = await write({ content: 'Entity memory v1.', entity_type: 'self', entity_id: 'one' })
    expectProblem(await call('POST', MEMORIES, { content: 'Entity memory v2.', entity_type: 'self', entity_id: 'one', supersedes: entity.id }), 422, MEMORIES, 'validation-failed')
    const old = await write({ content: 'Car is a blue hatchback.' })
    await write({ content: 'Car is a green estate.', supersedes: old.id, dedup: false })
    expectProblem(await call('POST', MEMORIES, { content: 'Car is a red van.', supersedes: old.id, dedup: false }), 409, MEMORIES, 'conflict')
    // Nothing of the refused writes was stored.
    expect((await list('limit=200')).memories.map((m) => m.content)).not.toContain('Car is a red van.')
  })
})

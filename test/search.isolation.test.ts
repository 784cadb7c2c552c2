import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import type { MemoryView } from '../src/modules/memories/memories.schemas.js'

/**
 * Two GPTs store the same things (same texts, entities, users, collection and session names): neither
 * ever sees the other's memories, documents or messages, by search, list or id.
 */

type Source = 'memories' | 'objects' | 'messages'
interface SearchResult {
  source: Source
  id: string
  content: string
  details: Record<string, unknown>
}

const A = 'iso-search-a'
const B = 'iso-search-b'

let t: TestApp
const keys: Record<string, string> = {}
/** Every item id of each GPT, by source. */
const owned: Record<string, Record<Source, string[]>> = {}
/** The ids of each GPT's items per end user. */
const byUser: Record<string, Record<string, string[]>> = {}
/** Memories the second GPT holds besides the shared ones (all close to the shared query). */
const CROWD = 120

const SHARED_MEMORIES = [
  { content: 'Alice drinks green tea every morning.', entity_type: 'preference', entity_id: 'drink', user_id: 'alice', metadata: { topic: 'food' } },
  { content: 'Alice is training for the Berlin marathon.', entity_type: 'goal', entity_id: 'run', user_id: 'alice', metadata: { topic: 'fitness' } },
  { content: 'Bob drinks green tea with honey after lunch.', entity_type: 'preference', entity_id: 'drink-bob', user_id: 'bob', metadata: { topic: 'food' } },
  { content: 'Bob keeps a secret password notebook in the desk drawer.', entity_type: 'fact', entity_id: 'notebook', user_id: 'bob', metadata: { topic: 'security' } },
]
const SHARED_DOCUMENTS = [
  { title: 'Green tea guide', text: 'Brew green tea at eighty degrees for two minutes.', topic: 'food' },
  { title: 'Marathon plan', text: 'Long run on Sundays, intervals on Wednesdays.', topic: 'fitness' },
]
const SHARED_MESSAGES: Record<string, string[]> = {
  alice: ['Which green tea should I buy for mornings?', 'How do I taper before the marathon?'],
  bob: ['Where did I leave my password notebook?'],
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, gpt: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, bearer(keys[gpt]!), payload)
}

async function ok<T>(method: Method, url: string, gpt: string, payload?: unknown, status = method === 'POST' ? 201 : 200): Promise<T> {
  const response = await call(method, url, gpt, payload)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status)
  return response.json<T>()
}

async function search(gpt: string, body: Record<string, unknown>): Promise<SearchResult[]> {
  return (await ok<{ results: SearchResult[] }>('POST', `/v1/gpts/${gpt}/search`, gpt, body, 200)).results
}

const all = (gpt: string) => Object.values(owned[gpt]!).flat()

async function seed(gpt: string): Promise<void> {
  owned[gpt] = { memories: [], objects: [], messages: [] }
  byUser[gpt] = { alice: [], bob: [] }
  const batch = await ok<{ memories: MemoryView[] }>('POST', `/v1/gpts/${gpt}/memories/batch`, gpt, { memories: SHARED_MEMORIES }, 200)
  for (const memory of batch.memories) {
    owned[gpt]!.memories.push(memory.id)
    byUser[gpt]![memory.user_id!]!.push(memory.id)
  }
  await ok('POST', `/v1/gpts/${gpt}/collections`, gpt, { name: 'guides' })
  for (const body of SHARED_DOCUMENTS) owned[gpt]!.objects.push((await ok<{ id: string }>('POST', `/v1/gpts/${gpt}/collections/guides/objects`, gpt, body)).id)
  for (const [user, contents] of Object.entries(SHARED_MESSAGES)) {
    const session = await ok<{ id: string }>('POST', `/v1/gpts/${gpt}/sessions`, gpt, { user_id: user, name: 'Same session name' })
    for (const content of contents) {
      const message = await ok<{ id: string }>('POST', `/v1/sessions/${session.id}/messages`, gpt, { sender: 'user', content })
      owned[gpt]!.messages.push(message.id)
      byUser[gpt]![user]!.push(message.id)
    }
  }
}

beforeAll(async () => {
  t = await createTestApp()
  keys[A] = (await createGptWithKey(t.services, A)).token
  keys[B] = (await createGptWithKey(t.services, B)).token
  await seed(A)
  await seed(B)
  // B also holds many memories close to the shared ones: an index scan must not let them crowd A's out.
  for (let start = 0; start < CROWD; start += 60) {
    const memories = Array.from({ length: 60 }, (_, i) => ({ content: `Alice drinks green tea every morning, variant ${start + i}.`, user_id: 'alice', dedup: false }))
    const batch = await ok<{ memories: MemoryView[] }>('POST', `/v1/gpts/${B}/memories/batch`, B, { memories }, 200)
    owned[B]!.memories.push(...batch.memories.map((m) => m.id))
    byUser[B]!.alice!.push(...batch.memories.map((m) => m.id))
  }
}, 120_000)

afterAll(async () => {
  await t?.close()
})

describe('the embedding backfill', () => {
  it("embeds one GPT's documents and messages without touching the other's", async () => {
    expect(await t.services.embeddingWorker.embedStale('objects', A, 100)).toBe(2)
    expect(await t.services.embeddingWorker.embedStale('messages', A, 100)).toBe(3)
    expect(await t.services.embeddingWorker.countStale(A)).toEqual({ memories: 0, objects: 0, messages: 0 })
    expect(await t.services.embeddingWorker.countStale(B)).toEqual({ memories: 0, objects: 2, messages: 3 })
    // B's documents and messages are not yet searchable by meaning; A's are, and only by A.
    expect(await search(B, { query: 'green tea', mode: 'semantic', sources: ['objects', 'messages'] })).toEqual([])
    expect(await t.services.embeddingWorker.embedStale('objects', null, 100)).toBe(2)
    expect(await t.services.embeddingWorker.embedStale('messages', null, 100)).toBe(3)
    expect(await t.services.embeddingWorker.countStale(null)).toEqual({ memories: 0, objects: 0, messages: 0 })
  })
})

describe('search', () => {
  const queries = ['green tea', 'Alice drinks green tea every morning.', 'marathon training', 'password notebook', 'what does bob drink']
  const modes = ['semantic', 'keyword', 'hybrid'] as const
  const filterSets: Record<string, unknown>[] = [
    {},
    { user_id: 'alice' },
    { user_id: 'bob' },
    { entity_type: 'preference' },
    { entity_type: 'guides' },
    { where: { topic: 'food' } },
  ]

  it.each([A, B])('of %s returns only its own items, in every mode, source set and filter', async (gpt) => {
    const mine = new Set(all(gpt))
    let seen = 0
    for (const query of queries) {
      for (const mode of modes) {
        for (const filters of filterSets) {
          const results = await search(gpt, { query, mode, top_k: 50, filters })
          seen += results.length
          for (const result of results) expect(mine.has(result.id), `${gpt} ${mode} ${query} ${JSON.stringify(filters)}: ${result.content}`).toBe(true)
        }
      }
    }
    expect(seen).toBeGreaterThan(100)
  })

  it('semantic search with a large top_k returns every item of the GPT, however close the other GPT is', async () => {
    for (const gpt of [A, B]) {
      const results = await search(gpt, { query: 'Alice drinks green tea every morning.', mode: 'semantic', top_k: 50, sources: ['objects', 'messages'] })
      expect(results.map((r) => r.id).sort()).toEqual([...owned[gpt]!.objects, ...owned[gpt]!.messages].sort())
    }
    // A has 4 memories; B's 124 lie closer to the query than most of them.
    const memories = await search(A, { query: 'Alice drinks green tea every morning.', mode: 'semantic', top_k: 50, sources: ['memories'] })
    expect(memories.map((r) => r.id).sort()).toEqual([...owned[A]!.memories].sort())
    const crowded = await search(B, { query: 'Alice drinks green tea every morning.', mode: 'semantic', top_k: 50, sources: ['memories'] })
    expect(crowded).toHaveLength(50)
    for (const result of crowded) expect(owned[B]!.memories).toContain(result.id)
  })

  it('the same text in both GPTs is found once, as its own', async () => {
    for (const gpt of [A, B]) {
      const results = await search(gpt, { query: 'secret password notebook desk drawer', mode: 'keyword', sources: ['memories'] })
      expect(results).toHaveLength(1)
      expect(results[0]!.id).toBe(owned[gpt]!.memories[3])
    }
  })

  it('user_id separates the users of a GPT in memories and messages', async () => {
    for (const gpt of [A, B]) {
      for (const user of ['alice', 'bob']) {
        const results = await search(gpt, { query: 'green tea marathon password', mode: 'semantic', top_k: 50, filters: { user_id: user }, sources: ['memories', 'messages'] })
        const expected = byUser[gpt]![user]!
        if (expected.length <= 50) expect(results.map((r) => r.id).sort(), `${gpt} ${user}`).toEqual([...expected].sort())
        else expect(results).toHaveLength(50)
        for (const result of results) {
          expect(expected).toContain(result.id)
          expect(result.details.user_id).toBe(user)
        }
      }
      // Documents belong to no user: a user filter leaves them out.
      expect(await search(gpt, { query: 'green tea', mode: 'keyword', filters: { user_id: 'alice' }, sources: ['objects'] })).toEqual([])
    }
    // A user of the same name in A is not the one in B.
    const aliceOfA = await search(A, { query: 'green tea', mode: 'keyword', top_k: 50, filters: { user_id: 'alice' } })
    expect(aliceOfA.map((r) => r.id).sort()).toEqual(
      [owned[A]!.memories[0], owned[A]!.messages[0]].sort(),
    )
  })
})

describe('lists and ids', () => {
  it('lists only the GPT own memories, with and without filters', async () => {
    const listA = await ok<{ memories: MemoryView[] }>('GET', `/v1/gpts/${A}/memories?limit=200`, A)
    expect(listA.memories.map((m) => m.id)).toEqual(owned[A]!.memories)
    const aliceA = await ok<{ memories: MemoryView[] }>('GET', `/v1/gpts/${A}/memories?user_id=alice&limit=200`, A)
    expect(aliceA.memories.map((m) => m.id)).toEqual(owned[A]!.memories.filter((id) => byUser[A]!.alice!.includes(id)))
    const entity = await ok<{ memories: MemoryView[] }>('GET', `/v1/gpts/${A}/memories?entity_type=preference&entity_id=drink`, A)
    expect(entity.memories.map((m) => m.id)).toEqual([owned[A]!.memories[0]])
    const where = await ok<{ memories: MemoryView[] }>(`GET`, `/v1/gpts/${A}/memories?where=${encodeURIComponent('{"topic":"food"}')}`, A)
    expect(where.memories.map((m) => m.id)).toEqual([owned[A]!.memories[0], owned[A]!.memories[2]])
    // Walking B's long list by cursor never reaches A's.
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { memories: MemoryView[]; next_cursor: string | null } = await ok('GET', `/v1/gpts/${B}/memories?limit=50${cursor ? `&cursor=${cursor}` : ''}`, B)
      seen.push(...page.memories.map((m) => m.id))
      cursor = page.next_cursor
    } while (cursor)
    expect(seen).toEqual(owned[B]!.memories)
  })

  it("another GPT's list is 403", async () => {
    const url = `/v1/gpts/${B}/memories`
    expectProblem(await call('GET', url, A), 403, url, 'forbidden')
  })

  it("another GPT's memories, documents and messages are 404 by id, for every method", async () => {
    const cases: { method: Method; url: string; body?: unknown }[] = []
    for (const id of owned[B]!.memories.slice(0, 4)) {
      cases.push({ method: 'GET', url: `/v1/memories/${id}` }, { method: 'PATCH', url: `/v1/memories/${id}`, body: { content: 'stolen' } }, { method: 'DELETE', url: `/v1/memories/${id}` })
    }
    for (const id of owned[B]!.objects) cases.push({ method: 'GET', url: `/v1/objects/${id}` }, { method: 'DELETE', url: `/v1/objects/${id}` })
    for (const id of owned[B]!.messages) cases.push({ method: 'GET', url: `/v1/messages/${id}` })
    for (const { method, url, body } of cases) {
      const response = await call(method, url, A, body)
      expectProblem(response, 404, url, 'not-found')
      expect(response.body).not.toContain(B)
    }
    // Still there for B, unchanged.
    const memory = await ok<MemoryView>('GET', `/v1/memories/${owned[B]!.memories[0]}`, B)
    expect(memory).toMatchObject({ gpt_id: B, content: SHARED_MEMORIES[0]!.content })
  })

  it('an upsert or batch naming an entity the other GPT also has changes only its own', async () => {
    const upserted = await ok<MemoryView>('POST', `/v1/gpts/${A}/memories`, A, { content: 'Alice now drinks oolong tea.', entity_type: 'preference', entity_id: 'drink', user_id: 'alice' }, 200)
    expect(upserted.id).toBe(owned[A]!.memories[0])
    const batch = await ok<{ created_count: number; updated_count: number }>(
      'POST',
      `/v1/gpts/${A}/memories/batch`,
      A,
      { memories: [{ content: 'Alice runs the Paris marathon instead.', entity_type: 'goal', entity_id: 'run', user_id: 'alice' }] },
      200,
    )
    expect(batch).toMatchObject({ created_count: 0, updated_count: 1 })
    const ofB = await ok<{ memories: MemoryView[] }>('GET', `/v1/gpts/${B}/memories?entity_type=preference&entity_id=drink`, B)
    expect(ofB.memories.map((m) => m.content)).toEqual([SHARED_MEMORIES[0]!.content])
    expect(await search(B, { query: 'oolong Paris', mode: 'keyword' })).toEqual([])
    expect((await search(A, { query: 'oolong', mode: 'keyword' })).map((r) => r.id)).toEqual([owned[A]!.memories[0]])
  })

  it("deleting one GPT's memory leaves the other's twin searchable", async () => {
    const id = owned[A]!.memories[3]!
    expect((await call('DELETE', `/v1/memories/${id}`, A)).statusCode).toBe(204)
    expect(await search(A, { query: 'password notebook', mode: 'keyword', sources: ['memories'] })).toEqual([])
    expect((await search(B, { query: 'password notebook', mode: 'keyword', sources: ['memories'] })).map((r) => r.id)).toEqual([owned[B]!.memories[3]])
  })
})

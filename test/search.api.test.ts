import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from './helpers/fake-embeddings-server.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import { onPostgres } from './helpers/test-database.js'

type Source = 'memories' | 'objects' | 'messages'
interface SearchResult {
  source: Source
  id: string
  score: number
  content: string
  metadata: Record<string, unknown>
  details: Record<string, unknown>
  created_at: string
  match: {
    semantic: { rank: number; similarity: number } | null
    keyword: { rank: number; score: number; terms: string[] } | null
  }
}
interface SearchResponse {
  results: SearchResult[]
  mode: 'semantic' | 'keyword' | 'hybrid'
  sources: Source[]
  vector_backend: 'hnsw' | 'exact'
  embedding_model: string
  warnings?: string[]
}
interface Item {
  id: string
  created_at: string
  [key: string]: unknown
}

const GPT = 'search-gpt'
const SEARCH = `/v1/gpts/${GPT}/search`
const MODEL = 'universal-sentence-encoder-lite'
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const BACKEND = onPostgres() ? 'exact' : 'hnsw'

let t: TestApp
let token: string
let reader: string

/** Named items, so that expectations read as names. */
const items: Record<string, { id: string; source: Source; created_at: string }> = {}
/** created_at of the first item written after the pause between the two halves of the data. */
let cut: string

type Method = 'GET' | 'POST' | 'PATCH'

function call(method: Method, url: string, payload?: unknown, key = token): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, bearer(key), payload)
}

async function created(url: string, payload: unknown): Promise<Item> {
  const response = await call('POST', url, payload)
  expect(response.statusCode, `${url}: ${response.body}`).toBe(201)
  return response.json<Item>()
}

async function search(body: Record<string, unknown>, key = token): Promise<SearchResponse> {
  const response = await call('POST', SEARCH, body, key)
  expect(response.statusCode, response.body).toBe(200)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  return response.json<SearchResponse>()
}

const names = (response: SearchResponse) => response.results.map((r) => nameOf(r.id))
function nameOf(id: string): string {
  return Object.entries(items).find(([, item]) => item.id === id)?.[0] ?? `?${id}`
}
const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)

function expectSortedByScore(response: SearchResponse): void {
  const scores = response.results.map((r) => r.score)
  expect(scores).toEqual([...scores].sort((a, b) => b - a))
}

const MEMORIES = {
  shellfish: { content: 'Maria is allergic to shellfish and must avoid shrimp and crab.', entity_type: 'health', user_id: 'maria', metadata: { topic: 'food', severity: 'high' } },
  hiking: { content: 'Maria goes hiking in the Swiss Alps every summer.', entity_type: 'hobby', user_id: 'maria', metadata: { topic: 'travel' } },
  jaguar: { content: 'Tom restores a vintage Jaguar E-Type sports car in his garage.', entity_type: 'fact', user_id: 'tom', metadata: { topic: 'cars' } },
  violin: { content: 'Tom is learning to play the violin and practises scales daily.', entity_type: 'hobby', user_id: 'tom', metadata: { topic: 'music' } },
  budget: { content: 'The quarterly budget review with finance is on Friday.', entity_type: 'event', metadata: { topic: 'work' } },
}

beforeAll(async () => {
  t = await createTestApp()
  token = (await createGptWithKey(t.services, GPT)).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token

  // First half: memories and documents.
  for (const [name, body] of Object.entries(MEMORIES)) items[name] = { ...(await created(`/v1/gpts/${GPT}/memories`, body)), source: 'memories' }
  await created(`/v1/gpts/${GPT}/collections`, { name: 'recipes' })
  await created(`/v1/gpts/${GPT}/collections`, { name: 'notes' })
  const documents = {
    risotto: ['recipes', { title: 'Lemon risotto', steps: 'Toast arborio rice, add stock slowly, finish with lemon zest and parmesan.', topic: 'food' }],
    tacos: ['recipes', { title: 'Shrimp tacos', steps: 'Grill the shrimp, warm corn tortillas, top with lime slaw.', topic: 'food' }],
    spreadsheet: ['notes', { text: 'The quarterly budget spreadsheet lives in the finance shared drive.', owner: 'tom' }],
  } as const
  for (const [name, [collection, body]] of Object.entries(documents)) {
    items[name] = { ...(await created(`/v1/gpts/${GPT}/collections/${collection}/objects`, body)), source: 'objects' }
  }

  // Second half, after a pause: chat messages and one more memory.
  await sleep(20)
  const mariaSession = await created(`/v1/gpts/${GPT}/sessions`, { user_id: 'maria', name: 'Cooking help', metadata: { channel: 'web' } })
  const tomSession = await created(`/v1/gpts/${GPT}/sessions`, { user_id: 'tom', name: 'Music practice' })
  const messages = {
    lasagna: [mariaSession.id, { sender: 'user', content: 'Can you suggest a vegetarian lasagna with spinach and ricotta?', context: { source: 'kb', doc: 7 } }],
    lasagnaReply: [mariaSession.id, { sender: 'ai', status: 'complete', content: 'Layer pasta sheets with spinach, ricotta and tomato sauce, then bake for forty minutes.' }],
    metronome: [tomSession.id, { sender: 'user', content: 'My violin teacher says I should practise with a metronome.' }],
  } as const
  for (const [name, [session, body]] of Object.entries(messages)) {
    items[name] = { ...(await created(`/v1/sessions/${session}/messages`, body)), source: 'messages' }
  }
  items.gardening = {
    ...(await created(`/v1/gpts/${GPT}/memories`, { content: 'Maria grows basil and tomatoes on her balcony.', entity_type: 'hobby', user_id: 'maria', metadata: { topic: 'garden' } })),
    source: 'memories',
  }
  cut = items.lasagna!.created_at
  // An AI message still being written is not searchable.
  items.draft = {
    ...(await created(`/v1/sessions/${mariaSession.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Draft about lasagna noodles' })),
    source: 'messages',
  }
}, 60_000)

afterAll(async () => {
  await t?.close()
})

describe('the answer', () => {
  it('has results, the mode, the sources, the vector backend and the model', async () => {
    const response = await search({ query: 'shellfish allergy' })
    expect(response).toEqual({
      results: expect.any(Array),
      mode: 'hybrid',
      sources: ['memories', 'objects', 'messages'],
      vector_backend: BACKEND,
      embedding_model: MODEL,
    })
    expect(response.warnings).toBeUndefined()
    expect(response.results.length).toBeGreaterThan(0)
    expect(names(response)[0]).toBe('shellfish')
    expect(response.results[0]).toEqual({
      source: 'memories',
      id: items.shellfish!.id,
      score: expect.any(Number),
      content: MEMORIES.shellfish.content,
      metadata: { topic: 'food', severity: 'high' },
      details: {
        entity_type: 'health', entity_id: null, user_id: 'maria', importance: 0.5, pinned: false,
        valid_from: expect.any(String), valid_to: null, updated_at: expect.any(String),
      },
      created_at: items.shellfish!.created_at,
      match: { semantic: expect.any(Object), keyword: expect.any(Object) },
    })
    for (const result of response.results) expect(result.created_at).toMatch(ISO)
  })

  it('is open to a read-only key', async () => {
    expect((await search({ query: 'violin', mode: 'keyword' }, reader)).results.length).toBeGreaterThan(0)
  })

  it('shows documents as JSON with their collection, and messages with their session, sender and user', async () => {
    const doc = (await search({ query: 'arborio', mode: 'keyword', sources: ['objects'] })).results[0]!
    expect(doc).toMatchObject({ source: 'objects', id: items.risotto!.id, metadata: { collection: 'recipes' }, details: { collection: 'recipes' } })
    expect(JSON.parse(doc.content)).toMatchObject({ title: 'Lemon risotto', topic: 'food' })

    const message = (await search({ query: 'lasagna', mode: 'keyword', sources: ['messages'] })).results
    expect(message.map((r) => nameOf(r.id)).sort()).toEqual(['lasagna'])
    expect(message[0]).toMatchObject({
      source: 'messages',
      content: 'Can you suggest a vegetarian lasagna with spinach and ricotta?',
      metadata: { channel: 'web' },
      details: { sender: 'user', user_id: 'maria', session_id: expect.any(String) },
    })
  })
})

describe('modes', () => {
  it('keyword finds only items holding the words, best first', async () => {
    const response = await search({ query: 'shrimp', mode: 'keyword' })
    expect(response.mode).toBe('keyword')
    expect(names(response).sort()).toEqual(['shellfish', 'tacos'])
    expectSortedByScore(response)
    for (const result of response.results) expect(result.score).toBeGreaterThan(0)
  })

  it('keyword matches word prefixes and ignores function words', async () => {
    expect(names(await search({ query: 'practis', mode: 'keyword' })).sort()).toEqual(['metronome', 'violin'])
    expect(names(await search({ query: 'what is the budget', mode: 'keyword' })).sort()).toEqual(['budget', 'spreadsheet'])
    expect((await search({ query: '?!', mode: 'keyword' })).results).toEqual([])
  })

  it('semantic finds by meaning, with cosine scores', async () => {
    const response = await search({ query: 'seafood allergy', mode: 'semantic', sources: ['memories'] })
    expect(response.mode).toBe('semantic')
    expect(names(response)[0]).toBe('shellfish')
    expectSortedByScore(response)
    for (const result of response.results) {
      expect(result.score).toBeLessThanOrEqual(1.0001)
      expect(result.score).toBeGreaterThanOrEqual(-1.0001)
    }
    // The exact text scores ≈ 1.
    const exact = await search({ query: MEMORIES.violin.content, mode: 'semantic', sources: ['memories'], top_k: 1 })
    expect(exact.results).toHaveLength(1)
    expect(exact.results[0]).toMatchObject({ id: items.violin!.id, score: expect.closeTo(1, 3) })
  })

  it('hybrid fuses both lists: an item found by both ranks first', async () => {
    const response = await search({ query: 'violin lessons', mode: 'hybrid', sources: ['memories'] })
    expect(response.mode).toBe('hybrid')
    expect(names(response)[0]).toBe('violin')
    expectSortedByScore(response)
    // Cosine plus half the squared share of the query's words: at most 1.5, and above the cosine alone
    // for the item holding the words.
    for (const result of response.results) expect(result.score).toBeLessThanOrEqual(1.5 + 1e-9)
    const semantic = await search({ query: 'violin lessons', mode: 'semantic', sources: ['memories'] })
    const cosine = semantic.results.find((result) => result.id === response.results[0]!.id)!.score
    expect(response.results[0]!.score).toBeGreaterThan(cosine)
    // Hybrid is the default.
    expect((await search({ query: 'violin lessons', sources: ['memories'] })).results).toEqual(response.results)
  })

  it('says why each result matched: its place by meaning and by keyword, and the words it holds', async () => {
    const hybrid = await search({ query: 'violin lessons', mode: 'hybrid', sources: ['memories'] })
    const violin = hybrid.results.find((r) => r.id === items.violin!.id)!
    expect(violin.match.semantic).toEqual({ rank: 1, similarity: expect.any(Number) })
    expect(violin.match.keyword).toEqual({ rank: 1, score: expect.any(Number), terms: ['violin'] })
    // Found by meaning only: no keyword place.
    const budget = hybrid.results.find((r) => r.id === items.budget!.id)!
    expect(budget.match).toEqual({ semantic: { rank: expect.any(Number), similarity: expect.any(Number) }, keyword: null })
    // One mode answers for itself only; its score is the mode's own.
    const keyword = await search({ query: 'violin lessons', mode: 'keyword', sources: ['memories'] })
    expect(keyword.results.map((r) => r.match)).toEqual([{ semantic: null, keyword: { rank: 1, score: keyword.results[0]!.score, terms: ['violin'] } }])
    const semantic = await search({ query: 'violin lessons', mode: 'semantic', sources: ['memories'], top_k: 2 })
    expect(semantic.results.map((r) => r.match)).toEqual(semantic.results.map((r, index) => ({ semantic: { rank: index + 1, similarity: r.score }, keyword: null })))
  })

  it('hybrid also finds what only meaning finds', async () => {
    const response = await search({ query: 'classic British automobile', mode: 'hybrid', sources: ['memories'], top_k: 3 })
    expect((await search({ query: 'classic British automobile', mode: 'keyword', sources: ['memories'] })).results).toEqual([])
    expect(names(response)).toContain('jaguar')
  })
})

describe('documents and messages', () => {
  it('are found by keyword at once, and by meaning only once the backfill has embedded them', async () => {
    expect(names(await search({ query: 'parmesan', mode: 'keyword', sources: ['objects'] }))).toEqual(['risotto'])
    expect(names(await search({ query: 'metronome', mode: 'keyword', sources: ['messages'] }))).toEqual(['metronome'])
    expect((await search({ query: 'Italian rice dish with citrus', mode: 'semantic', sources: ['objects'] })).results).toEqual([])
    expect((await search({ query: 'keeping tempo while practising an instrument', mode: 'semantic', sources: ['messages'] })).results).toEqual([])

    expect(await t.services.embeddingWorker.embedStale('objects', null, 100)).toBe(3)
    expect(await t.services.embeddingWorker.embedStale('messages', null, 100)).toBe(3)
    // Nothing is left, and the in-progress AI message was not embedded.
    expect(await t.services.embeddingWorker.embedStale('objects', null, 100)).toBe(0)
    expect(await t.services.embeddingWorker.embedStale('messages', null, 100)).toBe(0)
    expect(await t.services.embeddingWorker.countStale(GPT)).toEqual({ memories: 0, objects: 0, messages: 0 })

    expect(names(await search({ query: 'Italian rice dish with citrus', mode: 'semantic', sources: ['objects'] }))[0]).toBe('risotto')
    expect(names(await search({ query: 'keeping tempo while practising an instrument', mode: 'semantic', sources: ['messages'] }))[0]).toBe('metronome')
    expect(names(await search({ query: 'pasta bake with cheese and greens', mode: 'hybrid', sources: ['messages'] })).slice(0, 2).sort()).toEqual(['lasagna', 'lasagnaReply'])
  })

  it('an AI message still in progress is in no result', async () => {
    for (const mode of ['keyword', 'semantic', 'hybrid']) {
      const response = await search({ query: 'Draft about lasagna noodles', mode, sources: ['messages'], top_k: 50 })
      expect(names(response), mode).not.toContain('draft')
    }
  })

  it('a changed document is found by its new words, and by meaning after the backfill', async () => {
    const url = `/v1/objects/${items.spreadsheet!.id}`
    const response = await call('PATCH', url, { text: 'The annual tax return forms are in the accountant folder.', owner: 'tom' })
    expect(response.statusCode, response.body).toBe(200)
    expect(names(await search({ query: 'accountant', mode: 'keyword', sources: ['objects'] }))).toEqual(['spreadsheet'])
    expect(names(await search({ query: 'spreadsheet', mode: 'keyword', sources: ['objects'] }))).toEqual([])
    expect(await t.services.embeddingWorker.embedStale('objects', null, 100)).toBe(1)
    expect(names(await search({ query: 'paperwork for income taxes', mode: 'semantic', sources: ['objects'] }))[0]).toBe('spreadsheet')
    // Put back as it was, for the tests that follow.
    await call('PATCH', url, { text: 'The quarterly budget spreadsheet lives in the finance shared drive.', owner: 'tom' })
    expect(await t.services.embeddingWorker.embedStale('objects', null, 100)).toBe(1)
  })
})

describe('sources', () => {
  it.each([
    [['memories'], ['memories']],
    [['objects'], ['objects']],
    [['messages'], ['messages']],
    [['objects', 'messages'], ['objects', 'messages']],
  ] as [Source[], Source[]][])('%j searches only those', async (sources, expected) => {
    const response = await search({ query: 'Maria lasagna recipe shrimp budget', sources, mode: 'semantic', top_k: 50 })
    expect(response.sources).toEqual(sources)
    expect(new Set(response.results.map((r) => r.source))).toEqual(new Set(expected))
  })

  it('by default searches all three, and merges them by score', async () => {
    const response = await search({ query: 'shrimp', mode: 'semantic', top_k: 50 })
    expect(new Set(response.results.map((r) => r.source))).toEqual(new Set(['memories', 'objects', 'messages']))
    expect(response.results).toHaveLength(12)
    expectSortedByScore(response)
  })
})

describe('filters', () => {
  // Semantic search with a large top_k returns every embedded item that passes the filters.
  const everything = async (filters: Record<string, unknown>) =>
    names(await search({ query: 'anything at all', mode: 'semantic', top_k: 50, ...(filters ? { filters } : {}) })).sort()
  const ALL = ['budget', 'gardening', 'hiking', 'jaguar', 'lasagna', 'lasagnaReply', 'metronome', 'risotto', 'shellfish', 'spreadsheet', 'tacos', 'violin']

  it('without filters, everything searchable is a candidate', async () => {
    expect(await everything({})).toEqual([...ALL].sort())
  })

  it.each([
    { name: 'entity_type of memories (leaves messages out)', filters: { entity_type: 'hobby' }, expected: ['gardening', 'hiking', 'violin'] },
    { name: 'entity_type as a document collection', filters: { entity_type: 'recipes' }, expected: ['risotto', 'tacos'] },
    { name: 'an entity_type nothing has', filters: { entity_type: 'nothing' }, expected: [] },
    { name: 'user_id of memories and messages (leaves documents out)', filters: { user_id: 'maria' }, expected: ['gardening', 'hiking', 'lasagna', 'lasagnaReply', 'shellfish'] },
    { name: 'user_id of another user', filters: { user_id: 'tom' }, expected: ['jaguar', 'metronome', 'violin'] },
    { name: 'user_id and entity_type', filters: { user_id: 'maria', entity_type: 'hobby' }, expected: ['gardening', 'hiking'] },
    { name: 'where on memory metadata and document bodies', filters: { where: { topic: 'food' } }, expected: ['risotto', 'shellfish', 'tacos'] },
    { name: 'where on two keys', filters: { where: { topic: 'food', severity: 'high' } }, expected: ['shellfish'] },
    { name: 'where on message context', filters: { where: { source: 'kb' } }, expected: ['lasagna'] },
    { name: 'where on a document body', filters: { where: { owner: 'tom' } }, expected: ['spreadsheet'] },
    { name: 'where with user_id', filters: { where: { topic: 'travel' }, user_id: 'maria' }, expected: ['hiking'] },
  ])('narrows by $name', async ({ filters, expected }) => {
    const found = await everything(filters)
    expect(found).toEqual([...expected].sort())
    expect(found.length).toBeLessThan(ALL.length)
  })

  it('created_after and created_before split by creation time', async () => {
    const after = await everything({ created_after: new Date(Date.parse(cut) - 1).toISOString() })
    expect(after).toEqual(['gardening', 'lasagna', 'lasagnaReply', 'metronome'])
    const before = await everything({ created_before: cut })
    expect(before).toEqual(['budget', 'hiking', 'jaguar', 'risotto', 'shellfish', 'spreadsheet', 'tacos', 'violin'])
    const window = await everything({ created_after: items.hiking!.created_at, created_before: items.risotto!.created_at })
    expect(window).toEqual(['budget', 'jaguar', 'violin'])
  })

  it('filters apply in keyword and hybrid modes too', async () => {
    expect(names(await search({ query: 'shrimp', mode: 'keyword', filters: { entity_type: 'recipes' } }))).toEqual(['tacos'])
    expect(names(await search({ query: 'shrimp', mode: 'keyword', filters: { user_id: 'maria' } }))).toEqual(['shellfish'])
    const hybrid = await search({ query: 'violin practice', mode: 'hybrid', top_k: 50, filters: { user_id: 'tom' } })
    expect(names(hybrid).sort()).toEqual(['jaguar', 'metronome', 'violin'])
  })
})

describe('top_k', () => {
  it('defaults to 10 and returns at most top_k results', async () => {
    expect((await search({ query: 'Maria', mode: 'semantic' })).results).toHaveLength(10)
    expect((await search({ query: 'Maria', mode: 'hybrid' })).results).toHaveLength(10)
    for (const topK of [1, 3, 7]) {
      for (const mode of ['semantic', 'hybrid']) expect((await search({ query: 'Maria', mode, top_k: topK })).results).toHaveLength(topK)
    }
    expect((await search({ query: 'Maria', mode: 'semantic', top_k: 50 })).results).toHaveLength(12)
  })

  it('the first k of a longer list are the top k', async () => {
    const long = await search({ query: 'music and instruments', mode: 'semantic', top_k: 8 })
    const short = await search({ query: 'music and instruments', mode: 'semantic', top_k: 3 })
    expect(short.results.map((r) => r.id)).toEqual(long.results.slice(0, 3).map((r) => r.id))
  })
})

describe('bad requests', () => {
  it.each([
    { name: 'no query', body: { mode: 'keyword' }, pointer: '/query' },
    { name: 'an empty query', body: { query: '' }, pointer: '/query' },
    { name: 'a blank query', body: { query: ' \t\n ' }, pointer: '/query' },
    { name: 'a query of 2001 characters', body: { query: 'q'.repeat(2001) }, pointer: '/query' },
    { name: 'a query that is not a string', body: { query: 42 }, pointer: '/query' },
    { name: 'top_k 0', body: { query: 'x', top_k: 0 }, pointer: '/top_k' },
    { name: 'top_k 51', body: { query: 'x', top_k: 51 }, pointer: '/top_k' },
    { name: 'top_k 2.5', body: { query: 'x', top_k: 2.5 }, pointer: '/top_k' },
    { name: 'top_k "5"', body: { query: 'x', top_k: '5' }, pointer: '/top_k' },
    { name: 'an unknown mode', body: { query: 'x', mode: 'fuzzy' }, pointer: '/mode' },
    { name: 'no sources', body: { query: 'x', sources: [] }, pointer: '/sources' },
    { name: 'an unknown source', body: { query: 'x', sources: ['files'] }, pointer: '/sources/0' },
    { name: 'a source twice', body: { query: 'x', sources: ['memories', 'memories'] }, pointer: '/sources' },
    { name: 'an unknown filter', body: { query: 'x', filters: { colour: 'red' } }, pointer: '/filters/colour' },
    { name: 'an empty entity_type', body: { query: 'x', filters: { entity_type: '' } }, pointer: '/filters/entity_type' },
    { name: 'an empty user_id', body: { query: 'x', filters: { user_id: '' } }, pointer: '/filters/user_id' },
    { name: 'where that is a list', body: { query: 'x', filters: { where: [1] } }, pointer: '/filters/where' },
    { name: 'created_after that is no date-time', body: { query: 'x', filters: { created_after: 'yesterday' } }, pointer: '/filters/created_after' },
    { name: 'created_before that is a date only', body: { query: 'x', filters: { created_before: '2024-01-01' } }, pointer: '/filters/created_before' },
    {
      name: 'created_after not before created_before',
      body: { query: 'x', filters: { created_after: '2024-02-01T00:00:00Z', created_before: '2024-01-01T00:00:00Z' } },
      pointer: '/filters/created_after',
    },
    { name: 'an unknown member', body: { query: 'x', limit: 5 }, pointer: '/limit' },
  ])('refuses $name with 422 at $pointer', async ({ body, pointer }) => {
    const response = await call('POST', SEARCH, body)
    const problem = expectProblem(response, 422, SEARCH, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
    for (const error of problem.errors!) expect(error.location).toBe('body')
  })

  it('answers 401 without a token and 403 for another GPT', async () => {
    expectProblem(await t.app.inject({ method: 'POST', url: SEARCH, payload: { query: 'x' } }), 401, SEARCH, 'unauthorized')
    const other = (await createGptWithKey(t.services, 'search-other')).token
    expectProblem(await call('POST', SEARCH, { query: 'shellfish' }, other), 403, SEARCH, 'forbidden')
  })
})

describe('with a remote embeddings provider that fails', () => {
  let fake: FakeEmbeddingsServer
  let remote: TestApp

  beforeAll(async () => {
    fake = await startFakeEmbeddingsServer({ dimensions: 48 })
    // A second app over the same database, embedding with the remote provider.
    remote = await createTestApp({
      db: t.db,
      env: { EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_BASE_URL: fake.url, EMBEDDINGS_MODEL: 'fake-remote', EMBEDDINGS_DIM: '48' },
    })
  })

  afterAll(async () => {
    await remote?.close()
    await fake?.close()
  })

  const remoteSearch = (body: Record<string, unknown>) =>
    remote.app.inject({ method: 'POST', url: SEARCH, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify(body) })

  it('hybrid works while the provider answers', async () => {
    const response = await remoteSearch({ query: 'shrimp' })
    expect(response.statusCode, response.body).toBe(200)
    const body = response.json<SearchResponse>()
    expect(body).toMatchObject({ mode: 'hybrid', embedding_model: 'fake-remote' })
    expect(body.warnings).toBeUndefined()
    expect(fake.requests.at(-1)!.body).toMatchObject({ model: 'fake-remote', input: ['shrimp'] })
  })

  it.each([503, 500, 429, 400, 401])('hybrid falls back to keyword with a warning when the provider answers %i', async (status) => {
    fake.failNext(1, status)
    const response = await remoteSearch({ query: 'shrimp', mode: 'hybrid' })
    expect(response.statusCode, response.body).toBe(200)
    const body = response.json<SearchResponse>()
    expect(body.mode).toBe('keyword')
    expect(body.warnings).toHaveLength(1)
    expect(body.warnings![0]).toMatch(/semantic search is unavailable/i)
    expect(body.warnings![0]).toContain(String(status))
    expect(names(body).sort()).toEqual(['shellfish', 'tacos'])
  })

  it('hybrid falls back when the provider answers vectors of the wrong dimension', async () => {
    fake.setDimensions(12)
    try {
      const body = (await remoteSearch({ query: 'shrimp' })).json<SearchResponse>()
      expect(body.mode).toBe('keyword')
      expect(body.warnings![0]).toContain('returned 12 dimensions')
    } finally {
      fake.setDimensions(48)
    }
  })

  it('semantic answers 503 with a problem when the provider fails', async () => {
    for (const status of [503, 400]) {
      fake.failNext(1, status)
      const response = await remoteSearch({ query: 'shrimp', mode: 'semantic' })
      const problem = expectProblem(response, 503, SEARCH, 'unavailable')
      expect(problem.detail).toMatch(/semantic search is unavailable/i)
      expect(problem.detail).toContain(String(status))
    }
    // And works again once it recovers.
    const recovered = await remoteSearch({ query: 'shrimp', mode: 'semantic' })
    expect(recovered.statusCode, recovered.body).toBe(200)
  })

  it('keyword never asks the provider', async () => {
    const before = fake.requests.length
    fake.failNext(1, 503)
    try {
      const response = await remoteSearch({ query: 'shrimp', mode: 'keyword' })
      expect(response.statusCode).toBe(200)
      expect(response.json<SearchResponse>().warnings).toBeUndefined()
      expect(fake.requests.length).toBe(before)
    } finally {
      // Use up the failure so that it does not leak.
      await remoteSearch({ query: 'x' })
    }
  })
})

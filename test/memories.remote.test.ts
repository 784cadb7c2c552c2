import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EMBED_MEMORIES_JOB, EMBED_MEMORIES_RETRY_LIMIT } from '../src/modules/memories/memories.embed.job.js'
import { registerJobs, type JobLogger } from '../src/platform/jobs/jobs.queue.js'
import { PgBossJobQueue } from '../src/platform/jobs/pg-boss.queue.js'
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from './helpers/fake-embeddings-server.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson, serviceJobs } from './helpers/test-app.js'
import { onPostgres } from './helpers/test-database.js'
import type { MemoryView } from '../src/modules/memories/memories.schemas.js'

/**
 * Memories with a remote (OpenAI-compatible) embeddings provider: writes that need no vector now (entity
 * upserts, `dedup: false`) answer 202 with `pending`, and the `memories.embed` job on a real pg-boss queue
 * makes the vectors, retrying what can be retried; a write to deduplicate embeds in the request.
 */

const GPT = 'remote-gpt'
const MEMORIES = `/v1/gpts/${GPT}/memories`
const MODEL = 'fake-embed-small'
const DIMS = 64
/**
 * The job retries after 5 s doubling (5–10 s, then 10–20 s, …): two failures would cost 15–30 s. The
 * test keeps the job's limit and backoff but starts its delays at 1 s.
 */
const TEST_RETRY_DELAY_SECONDS = 1
const FAST = { pollingIntervalSeconds: 0.2, cronMonitorIntervalSeconds: 1, cronWorkerIntervalSeconds: 1, stopTimeoutMs: 5000 }

let fake: FakeEmbeddingsServer
let t: TestApp
let queue: PgBossJobQueue | null = null
let token: string
const jobLogs: { msg: string | undefined; obj: object }[] = []

function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, bearer(token), payload)
}

async function getMemory(id: string): Promise<MemoryView> {
  const response = await call('GET', `/v1/memories/${id}`)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<MemoryView>()
}

/** Polls the memory until it leaves `pending` (bounded). */
async function settled(id: string, timeoutMs = 20_000): Promise<MemoryView> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const memory = await getMemory(id)
    if (memory.embedding_status !== 'pending') return memory
    if (Date.now() > deadline) throw new Error(`memory ${id} still pending after ${timeoutMs} ms: ${JSON.stringify(memory)}`)
    await sleep(100)
  }
}

/** Requests the fake server received whose input held `text`. */
const requestsFor = (text: string) =>
  fake.requests.filter((request) => {
    const input = (request.body as { input?: unknown } | null)?.input
    return Array.isArray(input) ? input.includes(text) : input === text
  })

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const response = await t.app.inject({ url: '/metrics' })
  expect(response.statusCode).toBe(200)
  let total = 0
  for (const line of response.body.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const found = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) total += Number(match[3])
  }
  return total
}

function capturingLogger(): JobLogger {
  const push = (obj: object, msg?: string) => void jobLogs.push({ obj, msg })
  return { info: push, warn: push, error: push }
}

beforeAll(async () => {
  fake = await startFakeEmbeddingsServer({ dimensions: DIMS })
  t = await createTestApp({
    env: { EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_BASE_URL: fake.url, EMBEDDINGS_MODEL: MODEL, EMBEDDINGS_DIM: String(DIMS) },
    jobs: () => queue,
  })
  const started = new PgBossJobQueue({ database: t.db.database, logger: capturingLogger(), ...FAST })
  const definitions = serviceJobs(t, capturingLogger())
  registerJobs(
    started,
    definitions.map((definition) => (definition.name === EMBED_MEMORIES_JOB ? { ...definition, retryDelaySeconds: TEST_RETRY_DELAY_SECONDS } : definition)),
  )
  const embed = definitions.find((definition) => definition.name === EMBED_MEMORIES_JOB)!
  // What production runs with, before the test shortens the delay.
  expect(embed).toMatchObject({ retryLimit: EMBED_MEMORIES_RETRY_LIMIT, retryDelaySeconds: 5, retryBackoff: true })
  expect(EMBED_MEMORIES_RETRY_LIMIT).toBe(5)
  await started.start()
  queue = started
  token = (await createGptWithKey(t.services, GPT)).token
}, 60_000)

afterAll(async () => {
  await queue?.stop()
  await t?.close()
  await fake?.close()
})

describe('writing with a remote embeddings provider', () => {
  it('answers 202 with pending, and the job makes the vector', async () => {
    const response = await call('POST', MEMORIES, { content: 'Prefers window seats on long flights.', user_id: 'u1', metadata: { topic: 'travel' }, dedup: false })
    expect(response.statusCode, response.body).toBe(202)
    const memory = response.json<MemoryView>()
    expect(memory).toMatchObject({
      gpt_id: GPT,
      content: 'Prefers window seats on long flights.',
      embedding_status: 'pending',
      embedding_error: null,
      embedding_model: null,
    })
    expect(response.headers.location).toBe(`/v1/memories/${memory.id}`)

    const ready = await settled(memory.id)
    expect(ready).toMatchObject({ id: memory.id, embedding_status: 'ready', embedding_error: null, embedding_model: MODEL })
    // The server was asked by the configured model, without `dimensions` (not an OpenAI text-embedding-3 model).
    const [request] = requestsFor('Prefers window seats on long flights.')
    expect(request).toMatchObject({ method: 'POST', path: '/v1/embeddings', body: { model: MODEL, encoding_format: 'float' } })
    expect((request!.body as Record<string, unknown>).dimensions).toBeUndefined()

    // The stored vector is the server's: searching by the same text finds it first, with cosine ≈ 1.
    const search = await call('POST', `/v1/gpts/${GPT}/search`, { query: 'Prefers window seats on long flights.', mode: 'semantic', sources: ['memories'] })
    expect(search.statusCode, search.body).toBe(200)
    const body = search.json<{ results: { id: string; score: number }[]; embedding_model: string; vector_backend: string }>()
    expect(body.embedding_model).toBe(MODEL)
    expect(body.vector_backend).toBe(onPostgres() ? 'exact' : 'hnsw')
    expect(body.results[0]!.id).toBe(memory.id)
    expect(body.results[0]!.score).toBeCloseTo(1, 4)
  })

  it('lists pending and ready memories by embedding_status', async () => {
    fake.setDelay(1500)
    try {
      const pending = (await call('POST', MEMORIES, { content: 'Slow to embed: allergic to penicillin.', dedup: false })).json<MemoryView>()
      const list = await call('GET', `${MEMORIES}?embedding_status=pending`)
      expect(list.statusCode).toBe(200)
      expect(list.json<{ memories: MemoryView[] }>().memories.map((m) => m.id)).toContain(pending.id)
      fake.setDelay(0)
      await settled(pending.id)
      const after = (await call('GET', `${MEMORIES}?embedding_status=pending`)).json<{ memories: MemoryView[] }>()
      expect(after.memories.map((m) => m.id)).not.toContain(pending.id)
      const ready = (await call('GET', `${MEMORIES}?embedding_status=ready&limit=200`)).json<{ memories: MemoryView[] }>()
      expect(ready.memories.map((m) => m.id)).toContain(pending.id)
    } finally {
      fake.setDelay(0)
    }
  })

  it('answers 202 for a batch, and every memory becomes ready', async () => {
    const contents = ['Batch one: owns a red kayak.', 'Batch two: plays the cello.', 'Batch three: grows tomatoes.']
    const response = await call('POST', `${MEMORIES}/batch`, { memories: contents.map((content, i) => ({ content, entity_type: 'hobby', entity_id: `h${i}` })) })
    expect(response.statusCode, response.body).toBe(202)
    const body = response.json<{ memories: MemoryView[]; created_count: number; updated_count: number }>()
    expect(body.created_count).toBe(3)
    expect(body.updated_count).toBe(0)
    expect(body.memories.map((m) => m.content)).toEqual(contents)
    expect(body.memories.every((m) => m.embedding_status === 'pending')).toBe(true)
    for (const memory of body.memories) expect((await settled(memory.id)).embedding_status).toBe('ready')
  })

  it('re-embeds changed content on PATCH (202), and a metadata-only PATCH stays 200', async () => {
    const created = (await call('POST', MEMORIES, { content: 'Drives a blue hatchback.', entity_type: 'car', entity_id: 'c1' })).json<MemoryView>()
    await settled(created.id)
    const url = `/v1/memories/${created.id}`

    const metadataOnly = await call('PATCH', url, { metadata: { checked: true } })
    expect(metadataOnly.statusCode, metadataOnly.body).toBe(200)
    expect(metadataOnly.json<MemoryView>()).toMatchObject({ embedding_status: 'ready', metadata: { checked: true } })

    const changed = await call('PATCH', url, { content: 'Drives a green estate car.' })
    expect(changed.statusCode, changed.body).toBe(202)
    expect(changed.json<MemoryView>()).toMatchObject({ content: 'Drives a green estate car.', embedding_status: 'pending' })
    expect(await settled(created.id)).toMatchObject({ embedding_status: 'ready', embedding_model: MODEL })
    const search = await call('POST', `/v1/gpts/${GPT}/search`, { query: 'Drives a green estate car.', mode: 'semantic', sources: ['memories'], top_k: 1 })
    expect(search.json<{ results: { id: string; score: number }[] }>().results[0]).toMatchObject({ id: created.id, score: expect.closeTo(1, 4) })
  })

  it('an upsert with the same content keeps the ready vector and answers 200', async () => {
    const first = await call('POST', MEMORIES, { content: 'Lives in Porto.', entity_type: 'home', entity_id: 'h' })
    expect(first.statusCode).toBe(202)
    const id = first.json<MemoryView>().id
    await settled(id)
    const before = requestsFor('Lives in Porto.').length
    const again = await call('POST', MEMORIES, { content: 'Lives in Porto.', entity_type: 'home', entity_id: 'h', metadata: { since: 2020 } })
    expect(again.json<MemoryView>()).toMatchObject({ id, embedding_status: 'ready', embedding_model: MODEL, metadata: { since: 2020 } })
    // Nothing is being made in the background, so this is not a 202.
    expect(again.statusCode, again.body).toBe(200)
    await sleep(500)
    expect(requestsFor('Lives in Porto.')).toHaveLength(before)
  })
})

describe('deduplication with a remote provider', () => {
  it('embeds a write in the request to find its twin, and merges the second write', async () => {
    const body = { content: 'Deduplicated remotely: takes the 7:40 train.', user_id: 'u-dedup' }
    const first = await call('POST', MEMORIES, body)
    expect(first.statusCode, first.body).toBe(201)
    expect(first.json<MemoryView>()).toMatchObject({ embedding_status: 'ready', embedding_model: MODEL })
    expect(requestsFor(body.content)).toHaveLength(1)

    const second = await call('POST', MEMORIES, { ...body, metadata: { again: true } })
    expect(second.statusCode, second.body).toBe(200)
    expect(second.json<MemoryView>()).toMatchObject({ id: first.json<MemoryView>().id, deduplicated: true, metadata: { again: true } })
    // Another user's identical memory is theirs, not a twin.
    const other = await call('POST', MEMORIES, { ...body, user_id: 'u-other' })
    expect(other.statusCode, other.body).toBe(201)
    expect(other.json<MemoryView>().id).not.toBe(first.json<MemoryView>().id)
  })

  it('stores the write pending, undeduplicated, when the provider fails in the request', async () => {
    const body = { content: 'Deduplicated remotely, provider down: owns a tandem.' }
    const first = await call('POST', MEMORIES, body)
    expect(first.statusCode, first.body).toBe(201)
    fake.failNext(1, 503)
    const second = await call('POST', MEMORIES, body)
    expect(second.statusCode, second.body).toBe(202)
    const pending = second.json<MemoryView>()
    expect(pending).toMatchObject({ embedding_status: 'pending' })
    expect(pending.id).not.toBe(first.json<MemoryView>().id)
    expect(pending.deduplicated).toBeUndefined()
    expect((await settled(pending.id)).embedding_status).toBe('ready')
  })
})

describe('embedding failures', () => {
  it('retries server errors with backoff until the memory is ready', async () => {
    const failedBefore = await metric('agentstore_embedding_failures_total', { source: 'memories', final: 'false' })
    fake.failNext(2, 503)
    const response = await call('POST', MEMORIES, { content: 'Retried: speaks Portuguese and Greek.', dedup: false })
    expect(response.statusCode).toBe(202)
    const id = response.json<MemoryView>().id
    const ready = await settled(id, 30_000)
    expect(ready).toMatchObject({ embedding_status: 'ready', embedding_error: null, embedding_model: MODEL })
    // Two failed attempts, then the one that worked.
    expect(requestsFor('Retried: speaks Portuguese and Greek.')).toHaveLength(3)
    expect(await metric('agentstore_embedding_failures_total', { source: 'memories', final: 'false' })).toBe(failedBefore + 2)
    const retried = jobLogs.filter((line) => line.msg === 'job failed' && (line.obj as { job?: string }).job === EMBED_MEMORIES_JOB)
    expect(retried.length).toBeGreaterThanOrEqual(2)
  }, 40_000)

  it('marks the memory failed at once on a 4xx, with the error visible and counted', async () => {
    const finalBefore = await metric('agentstore_embedding_failures_total', { source: 'memories', final: 'true' })
    const embeddedBefore = await metric('agentstore_embeddings_total', { source: 'memories' })
    fake.failNext(1, 400)
    const response = await call('POST', MEMORIES, { content: 'Rejected: collects stamps.', dedup: false })
    expect(response.statusCode).toBe(202)
    const id = response.json<MemoryView>().id
    const failed = await settled(id)
    expect(failed).toMatchObject({ embedding_status: 'failed', embedding_model: null })
    expect(failed.embedding_error).toMatch(/400/)
    expect(failed.embedding_error).toContain(MODEL)
    // No retry: one request only.
    await sleep(1500)
    expect(requestsFor('Rejected: collects stamps.')).toHaveLength(1)
    expect((await getMemory(id)).embedding_status).toBe('failed')
    expect(await metric('agentstore_embedding_failures_total', { source: 'memories', final: 'true' })).toBe(finalBefore + 1)
    expect(await metric('agentstore_embeddings_total', { source: 'memories' })).toBe(embeddedBefore)

    const list = (await call('GET', `${MEMORIES}?embedding_status=failed`)).json<{ memories: MemoryView[] }>()
    expect(list.memories.map((m) => m.id)).toContain(id)
    // A failed memory is still found by keyword.
    const search = await call('POST', `/v1/gpts/${GPT}/search`, { query: 'stamps', mode: 'keyword' })
    expect(search.json<{ results: { id: string }[] }>().results.map((r) => r.id)).toContain(id)
  })

  it('a failed memory whose content changes is embedded again', async () => {
    fake.failNext(1, 400)
    const id = (await call('POST', MEMORIES, { content: 'Second chance: knits scarves.', dedup: false })).json<MemoryView>().id
    expect((await settled(id)).embedding_status).toBe('failed')
    const patched = await call('PATCH', `/v1/memories/${id}`, { content: 'Second chance: knits jumpers.' })
    expect(patched.statusCode, patched.body).toBe(202)
    expect(patched.json<MemoryView>()).toMatchObject({ embedding_status: 'pending', embedding_error: null })
    expect(await settled(id)).toMatchObject({ embedding_status: 'ready', embedding_error: null, embedding_model: MODEL })
  })

  it('a failed memory written again with the same content is retried (upsert by entity)', async () => {
    fake.failNext(1, 400)
    const body = { content: 'Third chance: bakes sourdough.', entity_type: 'hobby', entity_id: 'bread' }
    const first = await call('POST', MEMORIES, body)
    expect(first.statusCode, first.body).toBe(202)
    const id = first.json<MemoryView>().id
    expect((await settled(id)).embedding_status).toBe('failed')
    const again = await call('POST', MEMORIES, body)
    expect(again.statusCode, again.body).toBe(202)
    expect(again.json<MemoryView>()).toMatchObject({ id, embedding_status: 'pending', embedding_error: null })
    expect(await settled(id)).toMatchObject({ embedding_status: 'ready', embedding_model: MODEL })
  })

  it('marks the memory failed when the server answers another dimension than EMBEDDINGS_DIM', async () => {
    fake.setDimensions(32)
    try {
      const id = (await call('POST', MEMORIES, { content: 'Wrong size: paints watercolours.', dedup: false })).json<MemoryView>().id
      const failed = await settled(id)
      expect(failed).toMatchObject({ embedding_status: 'failed', embedding_model: null })
      expect(failed.embedding_error).toBe(`model ${MODEL} returned 32 dimensions, EMBEDDINGS_DIM is ${DIMS}`)
      await sleep(1500)
      expect(requestsFor('Wrong size: paints watercolours.')).toHaveLength(1)
    } finally {
      fake.setDimensions(DIMS)
    }
  })

  it('counts embedded texts by source in /metrics', async () => {
    const before = await metric('agentstore_embeddings_total', { source: 'memories' })
    const id = (await call('POST', MEMORIES, { content: 'Counted: reads Borges.' })).json<MemoryView>().id
    await settled(id)
    expect(await metric('agentstore_embeddings_total', { source: 'memories' })).toBe(before + 1)
    const response = await t.app.inject({ url: '/metrics' })
    expect(response.body).toMatch(/^# TYPE agentstore_embeddings_total counter$/m)
    expect(response.body).toMatch(/^# TYPE agentstore_embedding_failures_total counter$/m)
  })
})


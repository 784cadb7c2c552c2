import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoriesRepository } from '../src/modules/memories/memories.repo.js'
import { Embedder } from '../src/modules/search/embedder.js'
import { EmbeddingWorker } from '../src/modules/search/embedding-worker.js'
import { BACKFILL_EMBEDDINGS_JOB, backfillEmbeddingsJob } from '../src/modules/search/embeddings.backfill.job.js'
import type { EmbeddingsProvider } from '../src/platform/embeddings/embeddings.provider.js'
import { registerJobs, silentJobLogger } from '../src/platform/jobs/jobs.queue.js'
import { PgBossJobQueue } from '../src/platform/jobs/pg-boss.queue.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp, serviceJobs } from './helpers/test-app.js'

/**
 * New and changed documents and chat messages are embedded right after the write, by a job the write
 * hands over, not by the minute backfill: the backfill is left out of this queue, so that only the
 * write's own job can make them searchable by meaning.
 */

const GPT = 'embed-on-write'
const FAST = { pollingIntervalSeconds: 0.2, cronMonitorIntervalSeconds: 1, cronWorkerIntervalSeconds: 1, stopTimeoutMs: 5000 }

let t: TestApp
let queue: PgBossJobQueue | null = null
let token: string

async function ok<T>(method: HttpMethod, url: string, payload?: unknown, status = method === 'POST' ? 201 : 200): Promise<T> {
  const response = await injectJson(t.app, method, url, bearer(token), payload)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status)
  return response.json<T>()
}

interface Found {
  id: string
  score: number
}

/** The semantic search hit of `id` for `query` once its score says the vector is of `query` (bounded wait). */
async function foundByMeaning(source: 'objects' | 'messages', query: string, id: string): Promise<Found> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const { results } = await ok<{ results: Found[] }>('POST', `/v1/gpts/${GPT}/search`, { query, mode: 'semantic', sources: [source], top_k: 50 }, 200)
    const hit = results.find((result) => result.id === id)
    if (hit && hit.score > 0.99) return hit
    if (Date.now() > deadline) throw new Error(`${source} ${id} not found by "${query}": ${JSON.stringify(results)}`)
    await sleep(100)
  }
}

beforeAll(async () => {
  t = await createTestApp({ jobs: () => queue })
  const started = new PgBossJobQueue({ database: t.db.database, ...FAST })
  const definitions = serviceJobs(t, silentJobLogger)
  registerJobs(started, definitions.filter((definition) => definition.name !== BACKFILL_EMBEDDINGS_JOB))
  await started.start()
  queue = started
  token = (await createGptWithKey(t.services, GPT)).token
}, 60_000)

afterAll(async () => {
  await queue?.stop()
  await t?.close()
})

describe('embedding on write', () => {
  it('finds a new document, then its new text once it changes', async () => {
    await ok('POST', `/v1/gpts/${GPT}/collections`, { name: 'recipes' })
    const text = 'Whisk eggs with milk and flour for fluffy pancakes'
    const doc = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/collections/recipes/objects`, { title: text })
    await foundByMeaning('objects', text, doc.id)

    const changed = 'Slow-cook the beef stew with red wine for three hours'
    await ok('PATCH', `/v1/objects/${doc.id}`, { title: changed })
    await foundByMeaning('objects', changed, doc.id)
    expect(await t.services.embeddingWorker.countStale(GPT)).toMatchObject({ objects: 0 })
  })

  it('finds an imported batch of documents', async () => {
    const lines = ['Tomato basil soup', 'Lemon garlic roast chicken', 'Chocolate chip cookies'].map((title) => JSON.stringify({ title }))
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/gpts/${GPT}/collections/recipes/import`,
      headers: { ...bearer(token), 'content-type': 'application/x-ndjson' },
      payload: lines.join('\n'),
    })
    expect(response.statusCode, response.body).toBe(201)
    const deadline = Date.now() + 20_000
    while ((await t.services.embeddingWorker.countStale(GPT)).objects > 0) {
      if (Date.now() > deadline) throw new Error('the imported documents were not embedded')
      await sleep(100)
    }
  })

  it('finds a chat message posted to a session, and both sides of a chat', async () => {
    const session = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'maria' })
    const posted = 'Which wine goes with grilled salmon?'
    const message = await ok<{ id: string }>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: posted })
    await foundByMeaning('messages', posted, message.id)

    const character = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Chef', agent_role: 'You are a chef.' })
    const said = 'How long should I rest a steak?'
    const chat = await ok<{ session_id: string; message: { id: string; content: string } }>('POST', '/v1/chat', { character_id: character.id, user_id: 'maria', content: said })
    const { messages } = await ok<{ messages: { id: string; sender: string; content: string }[] }>('GET', `/v1/sessions/${chat.session_id}/messages`)
    const user = messages.find((m) => m.sender === 'user')!
    expect(user.content).toBe(said)
    await foundByMeaning('messages', said, user.id)
    await foundByMeaning('messages', chat.message.content, chat.message.id)
  })
})

describe('a document changed while its vector is being made', () => {
  it('stays stale and is embedded again, and an older vector never replaces a newer one', async () => {
    const { db } = t.db.database
    const store = t.services.embedder.store
    await t.services.collections.upsertCollection(GPT, 'race')
    const [object] = await sql<{ id: string }>`
      insert into objects (gpt_id, id, collection, body) values (${GPT}, gen_random_uuid(), 'race', ${JSON.stringify({ v: 'first text' })}) returning id
    `.execute(db).then((result) => result.rows)
    // A provider that holds the first request until the document has changed.
    let entered = () => {}
    const inside = new Promise<void>((resolve) => (entered = resolve))
    let release = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const provider: EmbeddingsProvider = {
      ...t.services.embedder.provider,
      async embed(texts) {
        entered()
        await held
        return texts.map(() => Array.from({ length: store.dims }, (_, i) => (i === 0 ? 1 : 0)))
      },
    }
    const worker = new EmbeddingWorker(db, new MemoriesRepository(db), new Embedder(provider, store, new Registry()))
    const stale = () => worker.countStale(GPT).then((counts) => counts.objects)
    expect(await stale()).toBe(1)

    const first = worker.embedStale('objects', GPT, 10, { ids: [object!.id] })
    await inside
    await sql`update objects set body = ${JSON.stringify({ v: 'second text' })}, version = version + 1, updated_at = now() where id = ${object!.id}`.execute(db)
    release()
    expect(await first).toBe(1)
    // The vector is of the first text: the second still needs one.
    expect(await stale()).toBe(1)
    expect(await worker.embedStale('objects', GPT, 10, { ids: [object!.id] })).toBe(1)
    expect(await stale()).toBe(0)

    // A late vector of the first text (its version) is dropped.
    const { rows } = await sql<{ updated_at: Date }>`select updated_at from objects where id = ${object!.id}`.execute(db)
    await store.put(db, GPT, { source: 'objects', id: object!.id }, Array.from({ length: store.dims }, (_, i) => (i === 1 ? 1 : 0)), new Date(rows[0]!.updated_at.getTime() - 1000))
    expect(await stale()).toBe(0)
  })
})

describe('the minute backfill', () => {
  it('embeds what its own job missed, and leaves writes of the last 30 seconds to theirs', async () => {
    const { db } = t.db.database
    await t.services.collections.upsertCollection(GPT, 'late')
    const insert = (text: string, age: string) =>
      sql<{ id: string }>`
        insert into objects (gpt_id, id, collection, body, created_at, updated_at)
        values (${GPT}, gen_random_uuid(), 'late', ${JSON.stringify({ text })}, now() - ${age}::interval, now() - ${age}::interval) returning id
      `.execute(db).then((result) => result.rows[0]!.id)
    const missed = await insert('written where no jobs run', '2 minutes')
    const fresh = await insert('its own job is under way', '0 seconds')
    const job = backfillEmbeddingsJob({ worker: t.services.embeddingWorker, logger: silentJobLogger })
    const ctx = { id: 'run', name: job.name, retryCount: 0, signal: new AbortController().signal, logger: silentJobLogger }
    expect(await job.handler({}, ctx)).toEqual({ memories: 0, objects: 1, messages: 0 })
    const { rows } = await sql<{ object_id: string }>`select object_id from embeddings where object_id in (${missed}, ${fresh})`.execute(db)
    expect(rows.map((row) => row.object_id)).toEqual([missed])
  })
})

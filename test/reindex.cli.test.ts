import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, useCliDatabase } from './helpers/cli.js'
import { loadConfig } from '../src/config.js'
import { LocalEventBus } from '../src/platform/events/event-bus.js'
import { openConfiguredDatabase, openEmbeddings } from '../src/runtime.js'
import { createServices } from '../src/services.js'
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from './helpers/fake-embeddings-server.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

// `agentstore reindex` after a change of embeddings model, against a fake OpenAI-compatible server.

let server: FakeEmbeddingsServer
const silent = { warn() {} }

useCliDatabase('reindex')

const cli = runCli

/** Runs `use` over the services of the configured database (the CLI is not running meanwhile). */
async function withServices<T>(use: (services: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env)
  const opened = await openConfiguredDatabase(config)
  try {
    const services = createServices({ database: opened.database, config, events: new LocalEventBus(), log: silent, embeddings: await openEmbeddings(config, opened.database) })
    return await use(services)
  } finally {
    await opened.close()
  }
}

const modelsOf = (gptId: string) =>
  withServices(async (services) => (await services.memories.listMemories(gptId, {})).items.map((memory) => [memory.embedding_status, memory.embedding_model]))

beforeAll(async () => {
  server = await startFakeEmbeddingsServer({ dimensions: 8 })
  Object.assign(process.env, {
    EMBEDDINGS_PROVIDER: 'openai',
    EMBEDDINGS_BASE_URL: server.url,
    EMBEDDINGS_MODEL: 'model-a',
    EMBEDDINGS_DIM: '8',
  })
  expect((await cli('gpt', 'create', 'g1', '--name', 'G1')).code).toBe(0)
  expect((await cli('gpt', 'create', 'g2', '--name', 'G2')).code).toBe(0)
  // A remote provider embeds in the background (writes that deduplicate embed at once): with no job queue, the memories stay pending.
  await withServices(async (services) => {
    for (const content of ['likes green tea', 'walks the dog at seven', 'allergic to peanuts']) await services.memories.writeMemory('g1', { content, dedup: false })
    await services.memories.writeMemory('g2', { content: 'other tenant', dedup: false })
  })
})

afterAll(async () => {
  await server.close()
})

describe('agentstore reindex', () => {
  it('embeds what has no vector, for one GPT only when --gpt is given', async () => {
    expect(await modelsOf('g1')).toEqual([['pending', null], ['pending', null], ['pending', null]])
    const result = await cli('--json', 'reindex', '--gpt', 'g1')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ model: 'model-a', embedded: { memories: 3 }, failed: 0, remaining: { memories: 0 } })
    expect(await modelsOf('g1')).toEqual(Array(3).fill(['ready', 'model-a']))
    expect(await modelsOf('g2')).toEqual([['pending', null]])
  })

  it('re-embeds every vector of another model after EMBEDDINGS_MODEL changed, with progress', async () => {
    process.env.EMBEDDINGS_MODEL = 'model-b'
    const result = await cli('reindex', '--batch', '2')
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('Re-embedding 4 items with model-b')
    expect(result.stderr).toMatch(/\[#+\] 100%/)
    expect(result.stdout).toContain('Embedded 4 items with model-b (memories 4')
    expect(await modelsOf('g1')).toEqual(Array(3).fill(['ready', 'model-b']))
    expect(await modelsOf('g2')).toEqual([['ready', 'model-b']])
    const again = await cli('--json', 'reindex')
    expect(JSON.parse(again.stdout)).toMatchObject({ embedded: { memories: 0, objects: 0, messages: 0 } })
  })

  it('marks memories failed on a refusal, exits 1, and retries them with --include-failed', async () => {
    process.env.EMBEDDINGS_MODEL = 'model-c'
    server.failNext(1, 400)
    const failed = await cli('reindex', '--gpt', 'g1')
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain('3 memories failed')
    expect(await modelsOf('g1')).toEqual(Array(3).fill(['failed', 'model-b']))
    const retried = await cli('--json', 'reindex', '--gpt', 'g1', '--include-failed')
    expect(retried.code).toBe(0)
    expect(JSON.parse(retried.stdout)).toMatchObject({ embedded: { memories: 3 }, failed: 0 })
    expect(await modelsOf('g1')).toEqual(Array(3).fill(['ready', 'model-c']))
  })

  it('refuses an unknown GPT and a bad batch size', async () => {
    const unknown = await cli('reindex', '--gpt', 'nope')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('GPT "nope" not found')
    const bad = await cli('reindex', '--batch', '0')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--batch')
  })
})

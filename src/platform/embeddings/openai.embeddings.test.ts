import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fakeVector, startFakeEmbeddingsServer, type FakeEmbeddingsServer } from '../../../test/helpers/fake-embeddings-server.js'
import { createEmbeddingsProvider } from './create-embeddings-provider.js'
import { EmbeddingsError, type EmbeddingsProvider, type EmbeddingsSettings } from './embeddings.provider.js'
import { OPENAI_BATCH_SIZE } from './openai.embeddings.js'

let server: FakeEmbeddingsServer

beforeAll(async () => {
  server = await startFakeEmbeddingsServer({ dimensions: 384, apiKey: 'sk-test' })
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  server.requests.length = 0
  server.setDimensions(384)
  server.setDelay(0)
})

function settings(overrides: Partial<EmbeddingsSettings> = {}): EmbeddingsSettings {
  return {
    provider: 'openai',
    model: 'nomic-embed-text',
    baseUrl: server.url,
    apiKey: 'sk-test',
    dimensions: 384,
    timeoutMs: 5_000,
    workers: 1,
    ...overrides,
  }
}

async function failure(promise: Promise<unknown>): Promise<EmbeddingsError> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(EmbeddingsError)
  return error as EmbeddingsError
}

function expectClose(actual: number[] | undefined, expected: number[]): void {
  expect(actual).toHaveLength(expected.length)
  actual?.forEach((value, i) => expect(value).toBeCloseTo(expected[i] ?? Number.NaN, 6))
}

describe('OpenAI-compatible provider', () => {
  let provider: EmbeddingsProvider

  beforeAll(async () => {
    provider = await createEmbeddingsProvider(settings())
  })

  it('describes itself as a remote provider of the configured model and size', () => {
    expect(provider).toMatchObject({ name: 'openai', model: 'nomic-embed-text', dimensions: 384, local: false })
  })

  it('sends the wire request with the key and returns the vectors in input order', async () => {
    const texts = ['first text', 'second text', 'third text']
    const vectors = await provider.embed(texts)
    expect(vectors).toHaveLength(3)
    texts.forEach((text, i) => expectClose(vectors[i], fakeVector(text, 384)))
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/embeddings',
      authorization: 'Bearer sk-test',
      body: { model: 'nomic-embed-text', input: texts, encoding_format: 'float' },
    })
    // Only OpenAI's text-embedding-3 models take `dimensions`; other servers may refuse it.
    expect(server.requests[0]?.body).not.toHaveProperty('dimensions')
  })

  it('orders by index when the server answers out of order', async () => {
    const shuffling = await startFakeEmbeddingsServer({ dimensions: 384, reverseOrder: true })
    try {
      const remote = await createEmbeddingsProvider(settings({ baseUrl: shuffling.url, apiKey: null }))
      const texts = ['alpha', 'beta', 'gamma', 'delta']
      const vectors = await remote.embed(texts)
      texts.forEach((text, i) => expectClose(vectors[i], fakeVector(text, 384)))
      // No key configured for a self-hosted server: a placeholder, never someone else's key.
      expect(shuffling.requests[0]?.authorization).toBe('Bearer not-needed')
    } finally {
      await shuffling.close()
    }
  })

  it('normalises vectors from servers that do not', async () => {
    const scaling = await startFakeEmbeddingsServer({ dimensions: 384, scale: 7 })
    try {
      const remote = await createEmbeddingsProvider(settings({ baseUrl: scaling.url, apiKey: null }))
      const [vector] = await remote.embed(['unnormalised'])
      expect(Math.hypot(...(vector ?? []))).toBeCloseTo(1, 6)
      expectClose(vector, fakeVector('unnormalised', 384))
    } finally {
      await scaling.close()
    }
  })

  it('splits long lists into batches and keeps the order across them', async () => {
    const texts = Array.from({ length: OPENAI_BATCH_SIZE * 2 + 8 }, (_, i) => `text number ${i}`)
    const vectors = await provider.embed(texts)
    expect(server.requests.map((r) => (r.body as { input: string[] }).input.length)).toEqual([
      OPENAI_BATCH_SIZE,
      OPENAI_BATCH_SIZE,
      8,
    ])
    expect(vectors).toHaveLength(texts.length)
    for (const i of [0, OPENAI_BATCH_SIZE - 1, OPENAI_BATCH_SIZE, texts.length - 1]) {
      expectClose(vectors[i], fakeVector(texts[i] ?? '', 384))
    }
  })

  it('makes no request for no texts', async () => {
    expect(await provider.embed([])).toEqual([])
    expect(server.requests).toHaveLength(0)
  })

  it('asks text-embedding-3 models for the configured size', async () => {
    const openai = await createEmbeddingsProvider(settings({ model: 'text-embedding-3-small', dimensions: 256 }))
    const [vector] = await openai.embed(['shortened'])
    expect(server.requests[0]?.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: 256 })
    expectClose(vector, fakeVector('shortened', 256))
  })

  it('refuses vectors of another size than configured, for good', async () => {
    server.setDimensions(768)
    const error = await failure(provider.embed(['mismatch']))
    expect(error.message).toBe('model nomic-embed-text returned 768 dimensions, EMBEDDINGS_DIM is 384')
    expect(error.retryable).toBe(false)
  })

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [400, false],
    [401, false],
    [404, false],
  ])('maps HTTP %i to retryable=%s', async (status, retryable) => {
    server.failNext(1, status)
    const error = await failure(provider.embed(['fails once']))
    expect(error).toMatchObject({ status, retryable })
    expect(error.message).toContain('nomic-embed-text')
    // The SDK itself does not retry: the job layer decides.
    expect(server.requests).toHaveLength(1)
    // The server is fine again afterwards.
    expect(await provider.embed(['fails once'])).toHaveLength(1)
  })

  it('reports a wrong key as not retryable', async () => {
    const wrongKey = await createEmbeddingsProvider(settings({ apiKey: 'sk-wrong' }))
    const error = await failure(wrongKey.embed(['hello']))
    expect(error).toMatchObject({ status: 401, retryable: false })
    expect(server.requests[0]?.authorization).toBe('Bearer sk-wrong')
  })

  it('times out a slow server, retryably', async () => {
    server.setDelay(5_000)
    const slow = await createEmbeddingsProvider(settings({ timeoutMs: 150 }))
    const started = Date.now()
    const error = await failure(slow.embed(['slow']))
    expect(Date.now() - started).toBeLessThan(4_000)
    expect(error.retryable).toBe(true)
    expect(error.message).toMatch(/timed out after 150 ms/)
  })

  it('stops when the caller aborts', async () => {
    server.setDelay(5_000)
    const controller = new AbortController()
    const pending = provider.embed(['abandoned'], controller.signal)
    setTimeout(() => controller.abort(), 50)
    const error = await failure(pending)
    expect(error.message).toMatch(/aborted/)
    const aborted = await failure(provider.embed(['never sent'], AbortSignal.abort()))
    expect(aborted.retryable).toBe(true)
  })

  it('reports an unreachable server as retryable', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()))
    const { port } = closed.address() as AddressInfo
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const unreachable = await createEmbeddingsProvider(settings({ baseUrl: `http://127.0.0.1:${port}/v1` }))
    const error = await failure(unreachable.embed(['anyone there?']))
    expect(error.retryable).toBe(true)
    expect(error.status).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { createEmbeddingsProvider } from './create-embeddings-provider.js'
import { EmbeddingsConfigError, type EmbeddingsSettings } from './embeddings.provider.js'

const base: EmbeddingsSettings = {
  provider: 'local',
  model: null,
  baseUrl: null,
  apiKey: null,
  dimensions: null,
  timeoutMs: 10_000,
  workers: 1,
}
const openai = (overrides: Partial<EmbeddingsSettings>): EmbeddingsSettings => ({ ...base, provider: 'openai', ...overrides })

describe('createEmbeddingsProvider', () => {
  it('defaults to the offline model without loading it', async () => {
    const provider = await createEmbeddingsProvider(base)
    expect(provider).toMatchObject({
      name: 'local:universal-sentence-encoder-lite',
      model: 'universal-sentence-encoder-lite',
      dimensions: 512,
      local: true,
    })
    await provider.close?.()
  })

  it('accepts the local model named explicitly, with its size', async () => {
    const provider = await createEmbeddingsProvider({ ...base, model: 'universal-sentence-encoder-lite', dimensions: 512 })
    expect(provider.dimensions).toBe(512)
  })

  it('defaults OpenAI to text-embedding-3-small and its native size', async () => {
    const provider = await createEmbeddingsProvider(openai({ apiKey: 'sk-x' }))
    expect(provider).toMatchObject({ name: 'openai', model: 'text-embedding-3-small', dimensions: 1536, local: false })
  })

  it('takes a self-hosted server without a key', async () => {
    const provider = await createEmbeddingsProvider(
      openai({ baseUrl: 'http://127.0.0.1:11434/v1/', model: 'nomic-embed-text', dimensions: 768 }),
    )
    expect(provider).toMatchObject({ model: 'nomic-embed-text', dimensions: 768, local: false })
  })

  it.each<[string, EmbeddingsSettings, RegExp]>([
    ['openai without key or server', openai({}), /needs EMBEDDINGS_API_KEY, or EMBEDDINGS_BASE_URL/],
    ['a server without a model', openai({ baseUrl: 'http://127.0.0.1:11434/v1' }), /EMBEDDINGS_MODEL is required/],
    ['a model of unknown size', openai({ apiKey: 'k', model: 'my-embedder' }), /EMBEDDINGS_DIM is required for model my-embedder/],
    ['a size over the model’s', openai({ apiKey: 'k', model: 'text-embedding-3-small', dimensions: 4096 }), /at most 1536/],
    ['a size ada cannot give', openai({ apiKey: 'k', model: 'text-embedding-ada-002', dimensions: 512 }), /gives 1536 dimensions/],
    ['a size that is no size', openai({ apiKey: 'k', model: 'm', dimensions: 0 }), /positive integer/],
    ['a base URL that is no URL', openai({ baseUrl: 'localhost:11434', model: 'm', dimensions: 3 }), /http\(s\)|not a URL/],
    ['a timeout that is no timeout', openai({ apiKey: 'k', timeoutMs: 0 }), /timeout must be a positive/],
    ['another local model', { ...base, model: 'Xenova/all-MiniLM-L6-v2' }, /has one model, universal-sentence-encoder-lite/],
    ['another local size', { ...base, dimensions: 384 }, /gives 512 dimensions; EMBEDDINGS_DIM is 384/],
    ['no worker thread for the local model', { ...base, workers: 0 }, /EMBEDDINGS_WORKERS must be a positive integer/],
    ['a server for the local provider', { ...base, baseUrl: 'http://127.0.0.1:1/v1' }, /apply to EMBEDDINGS_PROVIDER=openai/],
  ])('refuses %s', async (_, settings, message) => {
    const error: unknown = await createEmbeddingsProvider(settings).then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(error).toBeInstanceOf(EmbeddingsConfigError)
    expect((error as Error).message).toMatch(message)
  })
})

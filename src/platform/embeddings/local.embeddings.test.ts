import type { EventEmitter } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddingsError } from './embeddings.provider.js'
import { LocalEmbeddingsProvider } from './local.embeddings.js'
import { USE_LITE_MAX_TOKENS } from './use-lite.model.js'

const cosine = (a: number[] | undefined, b: number[] | undefined): number =>
  (a ?? []).reduce((sum, value, i) => sum + value * (b?.[i] ?? Number.NaN), 0)

// One thread for the file: loading the model is the slow part.
const provider = new LocalEmbeddingsProvider({ workers: 1 })
beforeAll(() => provider.warmUp())
afterAll(() => provider.close())

describe('local provider (Universal Sentence Encoder Lite, offline)', () => {
  it('gives unit vectors of its size, one per text', async () => {
    const vectors = await provider.embed(['The cat sits on the mat.', 'Agents remember what users tell them.'])
    expect(vectors).toHaveLength(2)
    for (const vector of vectors) {
      expect(vector).toHaveLength(512)
      expect(Math.hypot(...vector)).toBeCloseTo(1, 6)
    }
  })

  it('is deterministic: same text, same vector, whatever else is in the batch', async () => {
    const [alone] = await provider.embed(['determinism check'])
    const [again] = await provider.embed(['determinism check'])
    const batch = await provider.embed(['something else entirely', 'determinism check', 'x'])
    expect(again).toEqual(alone)
    expect(batch[1]).toEqual(alone)
  })

  it.each([
    ['How do I reset my password?', 'I forgot my login credentials and need to change them', 'The weather in Paris is sunny today'],
    ['The user prefers dark mode in the editor', 'They like a dark theme for their IDE', 'Quarterly revenue grew by ten percent'],
    ['My dog loves playing fetch in the park', 'The puppy enjoys chasing balls outside', 'The stock market fell yesterday'],
    ['affordable laptop', 'budget notebook computer', 'chocolate cake recipe'],
  ])('scores "%s" closer to a paraphrase than to an unrelated sentence', async (text, paraphrase, unrelated) => {
    const [a, b, c] = await provider.embed([text, paraphrase, unrelated])
    // Semantic, not lexical: most paraphrases here share no word with the text.
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c) + 0.2)
  })

  it('embeds empty and blank texts as one fixed unit vector', async () => {
    const [empty, blank, newline] = await provider.embed(['', '   ', '\n\t'])
    expect(empty).toHaveLength(512)
    expect(Math.hypot(...(empty ?? []))).toBeCloseTo(1, 6)
    expect(blank).toEqual(empty)
    expect(newline).toEqual(empty)
  })

  it('treats any run of whitespace as one space', async () => {
    const [spaced, tabbed] = await provider.embed(['remember the milk', '  remember\n\nthe\tmilk '])
    expect(tabbed).toEqual(spaced)
  })

  it('ignores text past its token limit, quickly', async () => {
    const words = Array.from({ length: USE_LITE_MAX_TOKENS * 4 }, (_, i) => `memory${i % 97}`).join(' ')
    const started = Date.now()
    const [long, longer] = await provider.embed([words, `${words} and a different ending that is past the limit`])
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(long).toHaveLength(512)
    expect(longer).toEqual(long)
    const [huge] = await provider.embed(['x'.repeat(2_000_000)])
    expect(Math.hypot(...(huge ?? []))).toBeCloseTo(1, 6)
  })

  it('keeps the order across batches and concurrent calls', async () => {
    const texts = Array.from({ length: 70 }, (_, i) => `note number ${i} about project ${i % 7}`)
    const [all, first, last] = await Promise.all([
      provider.embed(texts),
      provider.embed([texts[0] ?? '']),
      provider.embed([texts[69] ?? '']),
    ])
    expect(all).toHaveLength(70)
    expect(all[0]).toEqual(first[0])
    expect(all[69]).toEqual(last[0])
  })

  it('leaves no process-wide rethrowing error handlers behind (the WebAssembly runtime adds some)', () => {
    const emitter: EventEmitter = process
    for (const event of ['uncaughtException', 'unhandledRejection']) {
      expect(emitter.listeners(event).map(String).filter((source) => /\bthrow (ex|reason)\b/.test(source))).toEqual([])
    }
  })

  it('returns nothing for nothing', async () => {
    expect(await provider.embed([])).toEqual([])
  })

  it('refuses work the caller has already given up on', async () => {
    const error: unknown = await provider.embed(['late'], AbortSignal.abort()).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(EmbeddingsError)
    expect(error).toMatchObject({ retryable: true })
  })
})

describe('local provider failures', () => {
  it('reports a model that cannot load, and tries again on the next call', async () => {
    const broken = new LocalEmbeddingsProvider({ workers: 1, modelDir: '/nonexistent/use-lite' })
    try {
      for (let i = 0; i < 2; i++) {
        const error: unknown = await broken.embed(['hello']).catch((thrown: unknown) => thrown)
        expect(error).toBeInstanceOf(EmbeddingsError)
        expect(error).toMatchObject({ retryable: false })
        expect((error as Error).message).toMatch(/could not load local embedding model .*nonexistent/)
        // The thread that could not load is gone: nothing is left running, the next call starts another.
        expect(broken.threadCount).toBe(0)
      }
    } finally {
      await broken.close()
    }
  })

  it('refuses to embed once closed, and fails what was still queued', async () => {
    const closing = new LocalEmbeddingsProvider({ workers: 1 })
    expect(await closing.embed(['a'])).toHaveLength(1)
    const queued = closing.embed(Array.from({ length: 64 }, (_, i) => `queued ${i}`)).catch((thrown: unknown) => thrown)
    await closing.close()
    expect(closing.threadCount).toBe(0)
    expect(await queued).toMatchObject({ name: 'EmbeddingsError', message: expect.stringMatching(/closed/) })
    await expect(closing.embed(['a'])).rejects.toThrow(/closed/)
  })
})

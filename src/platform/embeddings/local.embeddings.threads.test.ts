import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { EmbeddingsError, normalize } from './embeddings.provider.js'
import { LocalEmbeddingsProvider } from './local.embeddings.js'
import { loadUseLiteModel, USE_LITE_MODEL } from './use-lite.model.js'

/*
 * The local model runs in worker threads: what they give is what the model gives on this thread, a
 * thread that dies is replaced without taking the process with it, requests' texts go before
 * background work, and a closed provider leaves nothing that keeps the process alive.
 */

// Each test starts threads that load the model (a few seconds each, far more when the machine is busy).
vi.setConfig({ testTimeout: 120_000 })
const TEXTS = ['The cat sits on the mat.', 'Agents remember what users tell them.', '', 'x'.repeat(20_000), 'naïve café — 東京 🚀']
const crashingEntry = new URL('../../../test/fixtures/embeddings/crashing.worker.ts', import.meta.url)
const opened: LocalEmbeddingsProvider[] = []
const open = (options: ConstructorParameters<typeof LocalEmbeddingsProvider>[0]) => {
  const provider = new LocalEmbeddingsProvider(options)
  opened.push(provider)
  return provider
}
afterAll(() => Promise.all(opened.map((provider) => provider.close())))
let single: LocalEmbeddingsProvider | undefined
/** One thread with the model loaded, shared by the tests that need no more (each load takes seconds). */
const oneThread = () => (single ??= open({ workers: 1 }))

describe('local model in worker threads', () => {
  it('gives exactly the vectors the model gives on this thread', async () => {
    const model = await loadUseLiteModel()
    const here = (await model.run(TEXTS)).map((row) => normalize(row, USE_LITE_MODEL))
    model.dispose()
    expect(await oneThread().embed(TEXTS)).toEqual(here)
    // Spread over two threads and many chunks, still the same vectors in the same order.
    const texts = Array.from({ length: 40 }, (_, i) => TEXTS[i % TEXTS.length]!)
    const two = open({ workers: 2 })
    const vectors = await two.embed(texts)
    expect(two.threadCount).toBe(2)
    expect(vectors).toEqual(texts.map((_, i) => here[i % TEXTS.length]))
  })

  it('serves a request before background work queued ahead of it', async () => {
    const provider = oneThread()
    await provider.embed(['warm'])
    const finished: string[] = []
    const background = provider.embed(Array.from({ length: 64 }, (_, i) => `background item ${i}`), undefined, { background: true }).then(() => finished.push('background'))
    const request = provider.embed(['a search query']).then(() => finished.push('request'))
    await Promise.all([background, request])
    expect(finished).toEqual(['request', 'background'])
  })

  it('fails the work of a thread that dies as retryable, starts another, and goes on', async () => {
    const provider = open({ workers: 1, entry: crashingEntry })
    const [before] = await provider.embed(['still here'])
    const lost = provider.embed(['crash'])
    const queued = provider.embed(['queued behind the crash'])
    const error: unknown = await lost.catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(EmbeddingsError)
    expect(error).toMatchObject({ retryable: true })
    expect((error as Error).message).toMatch(/worker thread stopped \(exit code 70\)/)
    // Work that was only queued is not lost: the new thread does it.
    expect(await queued).toHaveLength(1)
    expect(await provider.embed(['still here'])).toEqual([before])
    expect(provider.threadCount).toBe(1)
  })

  it('closes its threads, so that a process that embedded exits by itself', () => {
    // The build, as the service runs it (the global setup compiles dist/ afresh): without the
    // TypeScript loader the child and each of its threads start in a fraction of the CPU.
    const module = new URL('../../../dist/platform/embeddings/local.embeddings.js', import.meta.url).href
    // CommonJS with a dynamic import: the threads inherit the child's flags, and --input-type would stop them.
    const script = `
      void (async () => {
        const { LocalEmbeddingsProvider } = await import(${JSON.stringify(module)})
        const provider = new LocalEmbeddingsProvider({ workers: 2 })
        const vectors = await provider.embed(['one', 'two'])
        await provider.close()
        console.log(JSON.stringify({ vectors: vectors.length, threads: provider.threadCount }))
      })()
    `
    // Without close() the threads would keep the child alive until the guard below kills it.
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 })
    expect(child.stderr).toBe('')
    expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null })
    expect(JSON.parse(child.stdout)).toEqual({ vectors: 2, threads: 0 })
  })
})

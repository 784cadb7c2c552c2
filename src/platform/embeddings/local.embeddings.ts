import { setImmediate as nextTurn } from 'node:timers/promises'
import { EmbeddingsError, normalize, throwIfAborted, type EmbeddingsProvider } from './embeddings.provider.js'
import { loadUseLiteModel, USE_LITE_DIMENSIONS, USE_LITE_MODEL, type UseLiteModel } from './use-lite.model.js'

// Inference runs on the event loop's thread: small batches with a turn in between keep a long list
// from stalling requests (a batch of 32 sentences takes ~250 ms on two cores).
const BATCH_SIZE = 32

/**
 * The offline default: Universal Sentence Encoder Lite (see use-lite.model.ts), loaded from the
 * installed package on first use and kept for the life of the process. Deterministic: a text's
 * vector does not depend on the other texts of its batch. About 15 ms for one sentence, so
 * requests may embed inline.
 */
export class LocalEmbeddingsProvider implements EmbeddingsProvider {
  readonly name = `local:${USE_LITE_MODEL}`
  readonly model = USE_LITE_MODEL
  readonly dimensions = USE_LITE_DIMENSIONS
  readonly local = true
  private loading: Promise<UseLiteModel> | null = null
  // One inference at a time: the backend is a single WebAssembly instance, and order keeps latency fair.
  private tail: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(private readonly load: () => Promise<UseLiteModel> = loadUseLiteModel) {}

  /** Loads the model now, so that the first request does not pay for it (~0.2 s). */
  async warmUp(): Promise<void> {
    await this.loaded()
  }

  embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const run = this.tail.then(() => this.embedNow(texts, signal))
    this.tail = run.catch(() => {})
    return run
  }

  async close(): Promise<void> {
    this.closed = true
    await this.tail
    const loading = this.loading
    this.loading = null
    if (loading) await loading.then((model) => model.dispose(), () => {})
  }

  private async embedNow(texts: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    if (this.closed) throw new EmbeddingsError(`embeddings provider ${this.name} is closed`, { retryable: false })
    throwIfAborted(signal)
    if (texts.length === 0) return []
    const model = await this.loaded()
    const vectors: number[][] = []
    for (let start = 0; start < texts.length; start += BATCH_SIZE) {
      if (start > 0) await nextTurn()
      throwIfAborted(signal)
      const batch = texts.slice(start, start + BATCH_SIZE)
      const rows = await this.run(model, batch)
      for (const row of rows) vectors.push(normalize(row, this.model))
    }
    return vectors
  }

  private async run(model: UseLiteModel, texts: string[]): Promise<number[][]> {
    let rows: number[][]
    try {
      rows = await model.run(texts)
    } catch (error) {
      throw new EmbeddingsError(`local model ${this.model} failed: ${errorMessage(error)}`, { retryable: false, cause: error })
    }
    if (rows.length !== texts.length || rows.some((row) => row.length !== this.dimensions)) {
      throw new EmbeddingsError(`local model ${this.model} returned output of an unexpected shape`, { retryable: false })
    }
    return rows
  }

  private loaded(): Promise<UseLiteModel> {
    if (!this.loading) {
      const loading = this.load().catch((error: unknown) => {
        // Forget the failure so that a later call tries again (a missing package can be installed meanwhile).
        if (this.loading === loading) this.loading = null
        throw new EmbeddingsError(`could not load local embedding model ${this.model}: ${errorMessage(error)}`, {
          retryable: false,
          cause: error,
        })
      })
      this.loading = loading
    }
    return this.loading
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

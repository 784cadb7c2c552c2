import { EmbeddingsError, throwIfAborted, type EmbedOptions, type EmbeddingsProvider } from './embeddings.provider.js'
import { EmbeddingThread, type ThreadEnd } from './embeddings.thread.js'
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL } from './use-lite.model.js'

/**
 * Texts per message to a thread. A thread runs one chunk at a time and takes the next from the
 * queue, so a request's texts never wait behind more than one chunk of background work per thread
 * (16 sentences: ~0.1 s on two cores).
 */
const CHUNK_SIZE = 16

export interface LocalEmbeddingsOptions {
  /** Worker threads, each with its own copy of the model (EMBEDDINGS_WORKERS). */
  workers: number
  /** Where the model files are; the installed package's by default. */
  modelDir?: string | null
  /** The thread's entry module; another only to test how the pool copes with a thread that dies. */
  entry?: URL
}

interface Chunk {
  texts: string[]
  signal: AbortSignal | undefined
  resolve(vectors: number[][]): void
  reject(error: unknown): void
}

/**
 * The offline default: Universal Sentence Encoder Lite (see use-lite.model.ts), run by a pool of
 * worker threads so that inference never blocks the event loop. Threads start on first use (or
 * `warmUp()`) and load the model there; a thread that crashes fails its chunk (retryable) and is
 * replaced at once. Requests' texts (search queries, memories written) go before background work
 * (embedding jobs), chunk by chunk. Deterministic: a text's vector does not depend on its batch.
 */
export class LocalEmbeddingsProvider implements EmbeddingsProvider {
  readonly name = `local:${USE_LITE_MODEL}`
  readonly model = USE_LITE_MODEL
  readonly dimensions = USE_LITE_DIMENSIONS
  readonly local = true
  private readonly threads = new Set<EmbeddingThread>()
  private readonly queued = { request: [] as Chunk[], background: [] as Chunk[] }
  private readonly entry: URL
  private closed = false

  constructor(private readonly options: LocalEmbeddingsOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError('workers must be a positive integer')
    // Beside this module: use-lite.worker.ts under tsx and vitest, use-lite.worker.js in dist/.
    this.entry = options.entry ?? new URL(`./use-lite.worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
  }

  /** Live threads (started, not yet ended). */
  get threadCount(): number {
    return this.threads.size
  }

  /** Starts the threads now; they load the model off the event loop, so this returns at once. */
  warmUp(): void {
    if (this.closed) return
    while (this.threads.size < this.options.workers) this.startThread()
  }

  async embed(texts: string[], signal?: AbortSignal, options: EmbedOptions = {}): Promise<number[][]> {
    this.throwIfClosed()
    throwIfAborted(signal)
    if (texts.length === 0) return []
    const queue = options.background ? this.queued.background : this.queued.request
    const chunks: Promise<number[][]>[] = []
    for (let start = 0; start < texts.length; start += CHUNK_SIZE) {
      const slice = texts.slice(start, start + CHUNK_SIZE)
      chunks.push(new Promise((resolve, reject) => queue.push({ texts: slice, signal, resolve, reject })))
    }
    this.dispatch()
    return (await Promise.all(chunks)).flat()
  }

  async close(): Promise<void> {
    this.closed = true
    const error = this.closedError()
    for (const chunk of [...this.queued.request.splice(0), ...this.queued.background.splice(0)]) chunk.reject(error)
    await Promise.all([...this.threads].map((thread) => thread.close()))
  }

  /** Hands the next chunks to idle threads, requests' first; starts threads up to the pool size. */
  private dispatch(): void {
    if (this.queued.request.length + this.queued.background.length === 0) return
    this.warmUp()
    for (const thread of this.threads) {
      if (thread.inFlight > 0) continue
      const chunk = this.queued.request.shift() ?? this.queued.background.shift()
      if (!chunk) return
      if (chunk.signal?.aborted) {
        chunk.reject(new EmbeddingsError('embedding was aborted', { retryable: true, cause: chunk.signal.reason }))
        continue
      }
      thread.run(chunk.texts, this.dimensions).then(chunk.resolve, chunk.reject).finally(() => this.dispatch())
    }
  }

  private startThread(): void {
    this.threads.add(new EmbeddingThread(this.entry, { modelDir: this.options.modelDir ?? null }, this.model, (thread, why, error) => this.threadEnded(thread, why, error)))
  }

  private threadEnded(thread: EmbeddingThread, why: ThreadEnd, error: EmbeddingsError): void {
    this.threads.delete(thread)
    if (this.closed || why === 'closed') return
    if (why === 'load-failed') {
      // Every chunk would fail the same way; the next call starts a thread and tries to load again.
      if (this.threads.size === 0) {
        for (const chunk of [...this.queued.request.splice(0), ...this.queued.background.splice(0)]) chunk.reject(error)
      }
      return
    }
    // A crash: a new thread starts loading now, so that the next request does not wait for it.
    this.startThread()
    this.dispatch()
  }

  private throwIfClosed(): void {
    if (this.closed) throw this.closedError()
  }

  private closedError(): EmbeddingsError {
    return new EmbeddingsError(`embeddings provider ${this.name} is closed`, { retryable: false })
  }
}

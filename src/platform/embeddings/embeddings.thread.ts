import { Worker } from 'node:worker_threads'
import { EmbeddingsError } from './embeddings.provider.js'

/** What a thread is started with. `modelDir` null: the installed package's model. */
export interface ThreadStart {
  modelDir: string | null
}
export interface ThreadRequest {
  id: number
  texts: string[]
  dimensions: number
}
export type ThreadReply =
  | { type: 'ready' }
  | { type: 'load-failed'; message: string }
  | { type: 'vectors'; id: number; vectors: Float64Array }
  | { type: 'failed'; id: number; message: string }

/** Why a thread ended: the pool starts another after a crash, not after a model that cannot load. */
export type ThreadEnd = 'crashed' | 'load-failed' | 'closed'

interface Waiting {
  resolve(vectors: number[][]): void
  reject(error: Error): void
  dimensions: number
}

/**
 * One worker thread running the model (see use-lite.worker.ts), and the requests it owes an answer.
 * When it ends for any reason those requests fail with an EmbeddingsError: retryable after a crash
 * (the texts may do fine on the next thread), not when the model cannot load or the pool is closing.
 */
export class EmbeddingThread {
  private readonly worker: Worker
  private readonly waiting = new Map<number, Waiting>()
  private nextId = 0
  private loadError: string | null = null
  private ready = false
  /** The uncaught error that ended the thread, if one did. */
  private failure: string | null = null
  private closing = false

  constructor(
    entry: URL,
    start: ThreadStart,
    private readonly model: string,
    private readonly onEnd: (thread: EmbeddingThread, why: ThreadEnd, error: EmbeddingsError) => void,
  ) {
    this.worker = spawn(entry, start)
    this.worker.on('message', (reply: ThreadReply) => this.receive(reply))
    // An 'error' event is followed by 'exit'; listening to it keeps the error from crashing the process.
    this.worker.on('error', (error) => (this.failure ??= error.message))
    this.worker.on('exit', (code) => this.ended(code))
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.waiting.size
  }

  run(texts: string[], dimensions: number): Promise<number[][]> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++
      this.waiting.set(id, { resolve, reject, dimensions })
      this.worker.postMessage({ id, texts, dimensions } satisfies ThreadRequest)
    })
  }

  async close(): Promise<void> {
    this.closing = true
    await this.worker.terminate()
  }

  private receive(reply: ThreadReply): void {
    if (reply.type === 'ready') {
      this.ready = true
      return
    }
    if (reply.type === 'load-failed') {
      this.loadError = reply.message
      void this.worker.terminate()
      return
    }
    const waiting = this.waiting.get(reply.id)
    if (!waiting) return
    this.waiting.delete(reply.id)
    if (reply.type === 'failed') {
      waiting.reject(new EmbeddingsError(`local model ${this.model} failed: ${reply.message}`, { retryable: false }))
      return
    }
    const rows: number[][] = []
    for (let start = 0; start < reply.vectors.length; start += waiting.dimensions) {
      rows.push(Array.from(reply.vectors.subarray(start, start + waiting.dimensions)))
    }
    waiting.resolve(rows)
  }

  private ended(code: number): void {
    // A thread that dies before its model is loaded would die again: that is a load failure, not a crash.
    const stopped = `the worker thread stopped (exit code ${code}${this.failure === null ? '' : `: ${this.failure}`})`
    this.loadError ??= this.ready ? null : `${stopped} while loading`
    const why: ThreadEnd = this.closing ? 'closed' : this.loadError !== null ? 'load-failed' : 'crashed'
    const error =
      why === 'closed'
        ? new EmbeddingsError(`embeddings provider local:${this.model} is closed`, { retryable: false })
        : why === 'load-failed'
          ? new EmbeddingsError(`could not load local embedding model ${this.model}: ${this.loadError}`, { retryable: false })
          : new EmbeddingsError(`embedding failed, ${stopped}; a new one is starting`, { retryable: true })
    for (const waiting of this.waiting.values()) waiting.reject(error)
    this.waiting.clear()
    this.onEnd(this, why, error)
  }
}

/**
 * From compiled JavaScript (dist/) the entry runs as it is. From TypeScript (tsx, vitest) a worker
 * does not inherit the parent's loader, so a bootstrap registers tsx in the thread before importing it.
 */
function spawn(entry: URL, start: ThreadStart): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: start })
  const tsx = import.meta.resolve('tsx/esm/api')
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`
  return new Worker(bootstrap, { eval: true, workerData: start })
}

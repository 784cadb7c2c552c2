/**
 * Text embeddings as the rest of the service sees them. Memories and search depend on this
 * interface only; which provider serves it is configuration (see create-embeddings-provider.ts).
 */
export interface EmbeddingsProvider {
  /** For logs and `/ready`: `local:<model>` or `openai`. */
  readonly name: string
  /** Stored with every vector: vectors of different models must never be compared. */
  readonly model: string
  readonly dimensions: number
  /** true: fast and in-process, so a request may embed inline. false: remote; callers embed in a background job. */
  readonly local: boolean
  /** Unit-length vectors, one per text, in the order of `texts`. Throws EmbeddingsError. */
  embed(texts: string[], signal?: AbortSignal, options?: EmbedOptions): Promise<number[][]>
  close?(): Promise<void>
}

export interface EmbedOptions {
  /** Work no request waits for (embedding jobs): a local provider runs requests' texts first. */
  background?: boolean
}

export interface EmbeddingsSettings {
  provider: 'local' | 'openai'
  model: string | null
  baseUrl: string | null
  apiKey: string | null
  dimensions: number | null
  timeoutMs: number
  /** Worker threads of the local model. */
  workers: number
}

/** A provider failed to embed. `retryable` tells the job layer whether trying again can help. */
export class EmbeddingsError extends Error {
  readonly retryable: boolean
  /** The HTTP status of a remote provider's answer, when there was one. */
  readonly status?: number

  constructor(message: string, options: { retryable: boolean; status?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'EmbeddingsError'
    this.retryable = options.retryable
    if (options.status !== undefined) this.status = options.status
  }
}

/** The settings cannot work; raised at startup so that a bad configuration never reaches a request. */
export class EmbeddingsConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'EmbeddingsConfigError'
  }
}

/** Scales to unit length; a vector that cannot be scaled is a provider fault, not something to store. */
export function normalize(vector: ArrayLike<number>, model: string): number[] {
  let sum = 0
  for (let i = 0; i < vector.length; i++) {
    const value = vector[i] ?? Number.NaN
    if (!Number.isFinite(value)) {
      throw new EmbeddingsError(`model ${model} returned a vector with a non-finite value`, { retryable: false })
    }
    sum += value * value
  }
  const norm = Math.sqrt(sum)
  if (norm === 0) throw new EmbeddingsError(`model ${model} returned a zero vector`, { retryable: false })
  return Array.from(vector, (value) => value / norm)
}

/** Rejects at once when the caller has given up, so queued work is not started for nobody. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new EmbeddingsError('embedding was aborted', { retryable: true, cause: signal.reason })
  }
}

export function checkTimeout(timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new EmbeddingsConfigError(`the embeddings timeout must be a positive number of milliseconds, got ${timeoutMs}`)
  }
  return timeoutMs
}

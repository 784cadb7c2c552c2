import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai'
import {
  checkTimeout,
  EmbeddingsConfigError,
  EmbeddingsError,
  normalize,
  throwIfAborted,
  type EmbeddingsProvider,
  type EmbeddingsSettings,
} from './embeddings.provider.js'

/** Inputs per request: well under OpenAI's 2048, and small enough for self-hosted servers' limits. */
export const OPENAI_BATCH_SIZE = 96
export const DEFAULT_OPENAI_MODEL = 'text-embedding-3-small'
/** Sent when a self-hosted server (Ollama, vLLM, …) takes no key: the SDK refuses to start without one. */
export const NO_KEY_PLACEHOLDER = 'not-needed'

/** Native sizes of OpenAI's models; any other model needs EMBEDDINGS_DIM, as its size cannot be known in advance. */
const KNOWN_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
}

/**
 * Only these models take the `dimensions` parameter; other servers may refuse it (vLLM answers 400 for a
 * model without Matryoshka training), so for them the size is checked on the answer instead.
 */
function acceptsDimensions(model: string): boolean {
  return model.startsWith('text-embedding-3-')
}

export interface OpenAIEmbeddingsOptions {
  model: string
  dimensions: number
  /** Without /embeddings: https://api.openai.com/v1, http://127.0.0.1:11434/v1, … */
  baseUrl: string
  apiKey: string
  timeoutMs: number
}

/**
 * Any server that speaks OpenAI's embeddings API. The SDK does not retry (the job layer does, guided by
 * EmbeddingsError.retryable) and reads nothing from the environment: what it does is what the settings say.
 */
export class OpenAIEmbeddingsProvider implements EmbeddingsProvider {
  readonly name = 'openai'
  readonly model: string
  readonly dimensions: number
  readonly local = false
  private readonly client: OpenAI
  private readonly sendDimensions: boolean

  constructor(private readonly options: OpenAIEmbeddingsOptions) {
    this.model = options.model
    this.dimensions = options.dimensions
    this.sendDimensions = acceptsDimensions(options.model)
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl,
      // Explicit nulls, or the SDK would pick these up from OPENAI_* variables meant for something else.
      adminAPIKey: null,
      organization: null,
      project: null,
      timeout: options.timeoutMs,
      maxRetries: 0,
      logLevel: 'off',
    })
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    throwIfAborted(signal)
    const vectors: number[][] = []
    for (let start = 0; start < texts.length; start += OPENAI_BATCH_SIZE) {
      throwIfAborted(signal)
      vectors.push(...(await this.embedBatch(texts.slice(start, start + OPENAI_BATCH_SIZE), signal)))
    }
    return vectors
  }

  private async embedBatch(input: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    let data: unknown
    try {
      const response = await this.client.embeddings.create(
        {
          model: this.model,
          input,
          encoding_format: 'float',
          ...(this.sendDimensions ? { dimensions: this.dimensions } : {}),
        },
        signal ? { signal } : undefined,
      )
      data = response.data
    } catch (error) {
      throw this.translate(error)
    }
    return this.vectorsOf(data, input.length)
  }

  /** Checks the answer instead of trusting it: a wrong size or count must not reach the vector index. */
  private vectorsOf(data: unknown, count: number): number[][] {
    if (!Array.isArray(data) || data.length !== count) {
      throw this.invalid(`expected ${count} embeddings, got ${Array.isArray(data) ? data.length : 'none'}`)
    }
    const vectors: (number[] | undefined)[] = new Array<number[] | undefined>(count)
    for (const item of data as unknown[]) {
      const { index, embedding } = (item ?? {}) as { index?: unknown; embedding?: unknown }
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || vectors[index]) {
        throw this.invalid('embedding indexes do not match the inputs')
      }
      const values = typeof embedding === 'string' ? decodeBase64Floats(embedding) : embedding
      if (!Array.isArray(values) || values.some((value) => typeof value !== 'number')) {
        throw this.invalid('an embedding is not a list of numbers')
      }
      if (values.length !== this.dimensions) {
        throw new EmbeddingsError(
          `model ${this.model} returned ${values.length} dimensions, EMBEDDINGS_DIM is ${this.dimensions}`,
          { retryable: false },
        )
      }
      vectors[index] = normalize(values as number[], this.model)
    }
    return vectors as number[][]
  }

  private invalid(detail: string): EmbeddingsError {
    return new EmbeddingsError(`invalid embeddings response for model ${this.model}: ${detail}`, { retryable: false })
  }

  private translate(error: unknown): EmbeddingsError {
    if (error instanceof EmbeddingsError) return error
    const model = this.model
    if (error instanceof APIUserAbortError) {
      return new EmbeddingsError('embedding was aborted', { retryable: true, cause: error })
    }
    if (error instanceof APIConnectionTimeoutError) {
      return new EmbeddingsError(`embedding request for model ${model} timed out after ${this.options.timeoutMs} ms`, {
        retryable: true,
        cause: error,
      })
    }
    if (error instanceof APIConnectionError) {
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
      return new EmbeddingsError(`could not reach the embeddings server for model ${model}${cause}`, {
        retryable: true,
        cause: error,
      })
    }
    if (error instanceof APIError && typeof error.status === 'number') {
      const status = error.status
      // Throttling, conflicts and server faults pass; any other 4xx (bad key, unknown model, input too long) stays.
      const retryable = status === 408 || status === 409 || status === 429 || status >= 500
      return new EmbeddingsError(`embedding request for model ${model} failed: ${error.message}`, {
        retryable,
        status,
        cause: error,
      })
    }
    const message = error instanceof Error ? error.message : String(error)
    return new EmbeddingsError(`embedding request for model ${model} failed: ${message}`, { retryable: false, cause: error })
  }
}

/** OpenAI's base64 format: little-endian float32; some servers send it even when floats were asked for. */
function decodeBase64Floats(text: string): number[] {
  const bytes = Buffer.from(text, 'base64')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const values: number[] = []
  for (let offset = 0; offset + 4 <= bytes.byteLength; offset += 4) values.push(view.getFloat32(offset, true))
  return values
}

/** Turns settings into options, refusing any combination that could only fail later or do something unasked. */
export function openAIEmbeddingsOptions(settings: EmbeddingsSettings): OpenAIEmbeddingsOptions {
  const baseUrl = settings.baseUrl?.trim() || null
  const apiKey = settings.apiKey?.trim() || null
  if (baseUrl === null && apiKey === null) {
    throw new EmbeddingsConfigError(
      'EMBEDDINGS_PROVIDER=openai needs EMBEDDINGS_API_KEY, or EMBEDDINGS_BASE_URL for a server that takes no key',
    )
  }
  if (baseUrl !== null) checkUrl(baseUrl)
  const model = settings.model?.trim() || (baseUrl === null ? DEFAULT_OPENAI_MODEL : null)
  if (model === null) {
    throw new EmbeddingsConfigError(`EMBEDDINGS_MODEL is required with EMBEDDINGS_BASE_URL: the server's model names are not OpenAI's`)
  }
  return {
    model,
    dimensions: dimensionsFor(model, settings.dimensions),
    baseUrl: (baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, ''),
    apiKey: apiKey ?? NO_KEY_PLACEHOLDER,
    timeoutMs: checkTimeout(settings.timeoutMs),
  }
}

function dimensionsFor(model: string, configured: number | null): number {
  const native = KNOWN_DIMENSIONS[model]
  if (configured === null) {
    if (native === undefined) {
      throw new EmbeddingsConfigError(`EMBEDDINGS_DIM is required for model ${model}: its vector size is not known in advance`)
    }
    return native
  }
  if (!Number.isInteger(configured) || configured < 1) {
    throw new EmbeddingsConfigError(`EMBEDDINGS_DIM must be a positive integer, got ${configured}`)
  }
  if (native !== undefined && (acceptsDimensions(model) ? configured > native : configured !== native)) {
    const allowed = acceptsDimensions(model) ? `at most ${native}` : `${native}`
    throw new EmbeddingsConfigError(`EMBEDDINGS_DIM is ${configured}, but model ${model} gives ${allowed} dimensions`)
  }
  return configured
}

function checkUrl(url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new EmbeddingsConfigError(`EMBEDDINGS_BASE_URL is not a URL: ${url}`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EmbeddingsConfigError(`EMBEDDINGS_BASE_URL must be http(s), got ${parsed.protocol}`)
  }
}

import { EmbeddingsError, type EmbeddingsProvider } from '../../src/platform/embeddings/embeddings.provider.js'
import { LocalEmbeddingsProvider } from '../../src/platform/embeddings/local.embeddings.js'

let shared: LocalEmbeddingsProvider | null = null

/**
 * The default local provider for a test app, over model threads shared by the apps of this worker
 * (its files run one after another): each provider loads the model afresh in every thread it starts,
 * ~0.5 s of CPU, and a run made about a hundred such loads. The app's own view closes as its own
 * provider would: texts it queued or is waiting for fail as a closed provider fails them.
 */
export function sharedLocalEmbeddings(): EmbeddingsProvider {
  shared ??= new LocalEmbeddingsProvider({ workers: 1 })
  const model = shared
  const closing = new AbortController()
  const closedError = () => new EmbeddingsError(`embeddings provider ${model.name} is closed`, { retryable: false })
  // Fails every text still awaited when the app closes; one listener for the app, not one per call.
  const stopped = new Promise<never>((_, reject) => closing.signal.addEventListener('abort', () => reject(closedError()), { once: true }))
  stopped.catch(() => {})
  return {
    name: model.name,
    model: model.model,
    dimensions: model.dimensions,
    local: model.local,
    embed(texts, signal, options) {
      if (closing.signal.aborted) return Promise.reject(closedError())
      // Aborted with the app's close too, so that its queued texts are dropped rather than embedded for nobody.
      const both = signal ? AbortSignal.any([signal, closing.signal]) : closing.signal
      return Promise.race([model.embed(texts, both, options), stopped])
    },
    async close() {
      closing.abort()
    },
  }
}

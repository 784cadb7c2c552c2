import { checkTimeout, EmbeddingsConfigError, type EmbeddingsProvider, type EmbeddingsSettings } from './embeddings.provider.js'
import { LocalEmbeddingsProvider } from './local.embeddings.js'
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL } from './use-lite.model.js'

/**
 * The provider the settings name, or an EmbeddingsConfigError saying what is wrong with them.
 * Nothing is contacted or loaded here: the local model loads in its threads on first use, and a
 * remote server that is down shows up as retryable failures rather than a service that will not start.
 */
export async function createEmbeddingsProvider(settings: EmbeddingsSettings): Promise<EmbeddingsProvider> {
  switch (settings.provider) {
    case 'openai': {
      // The OpenAI SDK is loaded only for this provider (it holds ~10 MB resident).
      const { OpenAIEmbeddingsProvider, openAIEmbeddingsOptions } = await import('./openai.embeddings.js')
      return new OpenAIEmbeddingsProvider(openAIEmbeddingsOptions(settings))
    }
    case 'local':
      return createLocalProvider(settings)
    default: {
      const provider: never = settings.provider
      throw new EmbeddingsConfigError(`EMBEDDINGS_PROVIDER must be local or openai, got ${String(provider)}`)
    }
  }
}

function createLocalProvider(settings: EmbeddingsSettings): LocalEmbeddingsProvider {
  const model = settings.model?.trim() || null
  if (model !== null && model !== USE_LITE_MODEL) {
    throw new EmbeddingsConfigError(
      `the local provider has one model, ${USE_LITE_MODEL}; EMBEDDINGS_MODEL=${model} needs EMBEDDINGS_PROVIDER=openai and a server that has it`,
    )
  }
  if (settings.dimensions !== null && settings.dimensions !== USE_LITE_DIMENSIONS) {
    throw new EmbeddingsConfigError(
      `the local model ${USE_LITE_MODEL} gives ${USE_LITE_DIMENSIONS} dimensions; EMBEDDINGS_DIM is ${settings.dimensions}`,
    )
  }
  if (settings.baseUrl?.trim() || settings.apiKey?.trim()) {
    // Settings that would be ignored are refused: someone meant to use a server and would silently not be.
    throw new EmbeddingsConfigError('EMBEDDINGS_BASE_URL and EMBEDDINGS_API_KEY apply to EMBEDDINGS_PROVIDER=openai, not local')
  }
  checkTimeout(settings.timeoutMs)
  if (!Number.isInteger(settings.workers) || settings.workers < 1) {
    throw new EmbeddingsConfigError(`EMBEDDINGS_WORKERS must be a positive integer, got ${settings.workers}`)
  }
  return new LocalEmbeddingsProvider({ workers: settings.workers })
}

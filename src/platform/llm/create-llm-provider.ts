import { LazyProvider } from './lazy.provider.js'
import { LlmConfigError } from './llm-error.js'
import { DEFAULT_MODELS, type LlmProvider, type LlmProviderName, type LlmSettings } from './llm.js'
import { OfflineProvider } from './offline.provider.js'

const ANTHROPIC_KEY_PREFIX = 'sk-ant-'

type Detectable = Pick<LlmSettings, 'provider' | 'apiKey' | 'baseUrl'>

/**
 * The provider the settings select. Without an explicit provider: an Anthropic-style key (sk-ant-)
 * means Anthropic, any other key means OpenAI, a base URL alone means an OpenAI-compatible local
 * server (Ollama, vLLM, LM Studio need no key), and nothing at all means the offline provider.
 * Throws LlmConfigError when an explicitly named provider lacks what it needs.
 */
export function resolveLlmProviderName(settings: Detectable): LlmProviderName {
  const apiKey = blankToNull(settings.apiKey)
  const baseUrl = blankToNull(settings.baseUrl)
  switch (settings.provider) {
    case 'anthropic':
      if (!apiKey) throw new LlmConfigError('LLM provider "anthropic" needs an API key')
      return 'anthropic'
    case 'openai':
      if (!apiKey && !baseUrl) {
        throw new LlmConfigError('LLM provider "openai" needs an API key, or a base URL of an OpenAI-compatible server that takes none')
      }
      return 'openai'
    case 'offline':
      return 'offline'
    case null:
      if (apiKey) return apiKey.startsWith(ANTHROPIC_KEY_PREFIX) ? 'anthropic' : 'openai'
      return baseUrl ? 'openai' : 'offline'
  }
}

/** The SDK of a remote provider is imported only here, when the settings select it (see LazyProvider). */
export function createLlmProvider(settings: LlmSettings): LlmProvider {
  const name = resolveLlmProviderName(settings)
  if (!Number.isFinite(settings.timeoutMs) || settings.timeoutMs <= 0) {
    throw new LlmConfigError(`LLM timeout must be a positive number of milliseconds, got ${settings.timeoutMs}`)
  }
  const apiKey = blankToNull(settings.apiKey)
  const baseUrl = blankToNull(settings.baseUrl)
  const model = blankToNull(settings.model)
  if (baseUrl !== null && !URL.canParse(baseUrl)) throw new LlmConfigError(`LLM base URL is not a URL: ${baseUrl}`)
  switch (name) {
    case 'anthropic':
      return new LazyProvider('anthropic', model ?? DEFAULT_MODELS.anthropic, async () => {
        const { AnthropicProvider } = await import('./anthropic.provider.js')
        // resolveLlmProviderName guarantees the key.
        return new AnthropicProvider({ apiKey: apiKey ?? '', baseUrl, model, timeoutMs: settings.timeoutMs })
      })
    case 'openai':
      return new LazyProvider('openai', model ?? DEFAULT_MODELS.openai, async () => {
        const { OpenAiProvider } = await import('./openai.provider.js')
        return new OpenAiProvider({ apiKey, baseUrl, model, timeoutMs: settings.timeoutMs })
      })
    case 'offline':
      return new OfflineProvider({ delayMs: settings.offlineDelayMs })
  }
}

function blankToNull(value: string | null): string | null {
  const trimmed = value?.trim()
  return trimmed ? trimmed : null
}

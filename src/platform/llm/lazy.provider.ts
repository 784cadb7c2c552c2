import type { GenerateRequest, LlmProvider, LlmProviderName } from './llm.js'

/**
 * A provider whose SDK is imported only when the configuration names it: the OpenAI and Anthropic
 * SDKs hold ~30 MB resident once loaded, which an embedded server on the offline provider never needs.
 * The import starts at construction (at start, when the provider is configured), so that the first
 * reply does not wait for it.
 */
export class LazyProvider implements LlmProvider {
  private readonly loading: Promise<LlmProvider>

  constructor(
    readonly name: LlmProviderName,
    readonly defaultModel: string,
    load: () => Promise<LlmProvider>,
  ) {
    this.loading = load()
    // Reported by the first stream that needs it; not an unhandled rejection at start.
    this.loading.catch(() => {})
  }

  async *stream(request: GenerateRequest): AsyncIterable<string> {
    const provider = await this.loading
    yield* provider.stream(request)
  }
}

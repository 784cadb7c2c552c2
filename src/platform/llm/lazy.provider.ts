import type { GenerateRequest, JsonCompletion, JsonRequest, LlmProvider, LlmProviderName } from './llm.js'

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

  /** Both SDK-backed providers answer in strict JSON (memory extraction uses it). */
  async completeJson(request: JsonRequest): Promise<JsonCompletion> {
    const provider = await this.loading
    if (!provider.completeJson) throw new Error(`the ${this.name} provider gives no JSON completions`)
    return provider.completeJson(request)
  }
}

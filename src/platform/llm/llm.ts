/** The contract between the chat module and whichever LLM answers it. */

export type LlmProviderName = 'openai' | 'anthropic' | 'offline'

export type ChatRole = 'system' | 'user' | 'assistant'

export interface ChatTurn {
  role: ChatRole
  content: string
}

export interface GenerateRequest {
  /** The character's system prompt (plus context), sent the provider's native way; null or '' for none. */
  system: string | null
  /** History, oldest first; the last turn is normally the user's. */
  messages: ChatTurn[]
  /** Overrides the provider's default model. */
  model?: string
  temperature?: number
  maxTokens?: number
  /**
   * Text already generated for this reply (resume after a failure or interruption). The provider
   * yields only what follows it, so the final reply is `continueFrom + (deltas joined)`.
   */
  continueFrom?: string
  /** Aborting stops the request; the stream then throws an LlmError with code 'aborted'. */
  signal?: AbortSignal
}

/** One request whose answer must be a JSON object of the given schema (extraction, not chat). */
export interface JsonRequest {
  system: string
  messages: ChatTurn[]
  /** Letters, digits, `_` and `-`: the name of the schema (OpenAI) or of the tool the model must call (Anthropic). */
  schemaName: string
  /** JSON Schema of the object, in the strict subset: every property required, no additional properties. */
  schema: Record<string, unknown>
  model?: string
  maxTokens?: number
  signal?: AbortSignal
}

export interface JsonCompletion {
  /** The JSON text the model produced (not yet checked against the schema: models can still be wrong). */
  text: string
  /** Tokens as the provider counted them (0 when it did not say). */
  usage: { input: number; output: number }
}

export interface LlmProvider {
  readonly name: LlmProviderName
  readonly defaultModel: string
  /**
   * Yields text deltas as they arrive. Throws LlmError on any failure, also after some deltas were
   * yielded; a stream that ends without the provider's end-of-message marker is a failure too.
   * Breaking out of the loop cancels the request.
   */
  stream(request: GenerateRequest): AsyncIterable<string>
  /** Structured output in one non-streamed call; absent on the offline provider. Throws LlmError. */
  completeJson?(request: JsonRequest): Promise<JsonCompletion>
}

export interface LlmSettings {
  /** null: detect from apiKey and baseUrl (see resolveLlmProviderName). */
  provider: LlmProviderName | null
  model: string | null
  apiKey: string | null
  baseUrl: string | null
  /** Longest wait for the first chunk, and between two chunks, before the stream fails. */
  timeoutMs: number
  /** Offline provider only: pause before each word, so that streaming is observable (default 8). */
  offlineDelayMs?: number
}

/**
 * The model of each provider when LLM_MODEL is unset: change it here, and only here (the settings help
 * and .env.example follow; docs/chat.md is checked against it).
 */
export const DEFAULT_MODELS: Readonly<Record<LlmProviderName, string>> = {
  openai: 'gpt-4o-mini',
  // The newest Haiku in @anthropic-ai/sdk's model list, and not in its deprecation table (a test checks).
  anthropic: 'claude-haiku-5-5',
  offline: 'offline-echo-1',
}

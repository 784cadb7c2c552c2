import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai'
import { CONTINUE_INSTRUCTION, dropRepeatedPrefix } from './continuation.js'
import { LlmError, providerError, transportError } from './llm-error.js'
import { DEFAULT_MODELS, type GenerateRequest, type JsonCompletion, type JsonRequest, type LlmProvider } from './llm.js'
import { guardStream } from './stream-guard.js'

export { CONTINUE_INSTRUCTION }

type MessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam

export interface OpenAiProviderOptions {
  /** null for local servers (Ollama, vLLM, LM Studio) that take no key: no Authorization header is sent. */
  apiKey: string | null
  /** null for api.openai.com; else an OpenAI-compatible base URL ending in /v1. */
  baseUrl: string | null
  model: string | null
  timeoutMs: number
}


/** OpenAI and every server that speaks its chat completions API. */
export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai'
  readonly defaultModel: string
  private readonly client: OpenAI

  constructor(private readonly options: OpenAiProviderOptions) {
    this.defaultModel = options.model ?? DEFAULT_MODELS.openai
    this.client = new OpenAI({
      // The SDK refuses to start without a credential; for keyless servers a placeholder is given
      // and the header it would produce is removed below.
      apiKey: options.apiKey ?? 'no-key',
      // Explicit values so that OPENAI_BASE_URL / OPENAI_ORG_ID in the environment cannot redirect
      // requests behind the service's own configuration.
      baseURL: options.baseUrl ?? 'https://api.openai.com/v1',
      organization: null,
      project: null,
      // Retrying is the caller's decision (it resumes from the partial reply instead).
      maxRetries: 0,
      timeout: options.timeoutMs,
      ...(options.apiKey === null ? { defaultHeaders: { Authorization: null } } : {}),
    })
  }

  stream(request: GenerateRequest): AsyncIterable<string> {
    const deltas = this.deltas(request)
    return request.continueFrom ? dropRepeatedPrefix(deltas, request.continueFrom) : deltas
  }

  private async *deltas(request: GenerateRequest): AsyncGenerator<string> {
    const body: OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming = {
      model: request.model ?? this.defaultModel,
      messages: toMessages(request),
      stream: true,
      // max_tokens rather than max_completion_tokens: the compatible servers (Ollama, vLLM) know only this one.
      ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    }
    const chunks = guardStream(
      { provider: 'openai', timeoutMs: this.options.timeoutMs, signal: request.signal, toError: (error) => this.toError(error) },
      async (signal) => this.client.chat.completions.create(body, { signal }),
    )
    let finished = false
    for await (const chunk of chunks) {
      const choice = chunk.choices[0]
      // A chunk without choices carries usage only.
      if (!choice) continue
      if (choice.delta?.content) yield choice.delta.content
      if (choice.finish_reason) finished = true
    }
    // A proxy or server that drops the connection cleanly would otherwise pass as a short reply.
    if (!finished) throw new LlmError('openai', 'incomplete', 'the stream ended before the reply was finished (no finish_reason)')
  }

  /** Strict structured output (response_format json_schema), which the compatible servers (Ollama, vLLM) accept too. */
  async completeJson(request: JsonRequest): Promise<JsonCompletion> {
    const messages: MessageParam[] = [{ role: 'system', content: request.system }, ...request.messages.map((turn) => ({ role: turn.role, content: turn.content }))]
    try {
      const completion = await this.client.chat.completions.create(
        {
          model: request.model ?? this.defaultModel,
          messages,
          temperature: 0,
          response_format: { type: 'json_schema', json_schema: { name: request.schemaName, strict: true, schema: request.schema } },
          ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
        },
        request.signal ? { signal: request.signal } : {},
      )
      const usage = { input: completion.usage?.prompt_tokens ?? 0, output: completion.usage?.completion_tokens ?? 0 }
      return { text: completion.choices[0]?.message.content ?? '', usage }
    } catch (error) {
      throw error instanceof LlmError ? error : this.toError(error)
    }
  }

  private toError(error: unknown): LlmError {
    if (error instanceof APIConnectionTimeoutError) {
      return new LlmError('openai', 'timeout', `timed out: no response within ${this.options.timeoutMs} ms`, { cause: error })
    }
    if (error instanceof APIConnectionError) return transportError('openai', error, this.options.apiKey)
    if (error instanceof APIError) {
      const body: unknown = error.error
      const message =
        typeof body === 'string'
          ? body
          : isRecord(body) && typeof body['message'] === 'string'
            ? body['message']
            : error.message.replace(/^\d{3}\s+/, '')
      return providerError('openai', { status: error.status, type: error.type, message }, this.options.apiKey, error)
    }
    return transportError('openai', error, this.options.apiKey)
  }
}

function toMessages(request: GenerateRequest): MessageParam[] {
  const messages: MessageParam[] = []
  if (request.system) messages.push({ role: 'system', content: request.system })
  for (const turn of request.messages) messages.push({ role: turn.role, content: turn.content })
  if (request.continueFrom) {
    messages.push({ role: 'assistant', content: request.continueFrom })
    messages.push({ role: 'user', content: CONTINUE_INSTRUCTION })
  }
  return messages
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

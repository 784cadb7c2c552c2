import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk'
import { joinAfterPrefill, splitPrefill } from './continuation.js'
import { LlmError, providerError, transportError } from './llm-error.js'
import { DEFAULT_MODELS, type GenerateRequest, type JsonCompletion, type JsonRequest, type LlmProvider } from './llm.js'
import { guardStream } from './stream-guard.js'

/** Anthropic requires max_tokens; this is enough for a chat turn and bounds the cost of one. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024

export interface AnthropicProviderOptions {
  apiKey: string
  /** null for api.anthropic.com; a proxy or a test server otherwise (without /v1). */
  baseUrl: string | null
  model: string | null
  timeoutMs: number
}

/** Anthropic's Messages API, streamed. */
export class AnthropicProvider implements LlmProvider {
  readonly name = 'anthropic'
  readonly defaultModel: string
  private readonly client: Anthropic

  constructor(private readonly options: AnthropicProviderOptions) {
    this.defaultModel = options.model ?? DEFAULT_MODELS.anthropic
    this.client = new Anthropic({
      apiKey: options.apiKey,
      // Explicit so that ANTHROPIC_BASE_URL in the environment cannot override the service's configuration.
      baseURL: options.baseUrl ?? 'https://api.anthropic.com',
      // Retrying is the caller's decision (it resumes from the partial reply instead).
      maxRetries: 0,
      timeout: options.timeoutMs,
    })
  }

  stream(request: GenerateRequest): AsyncIterable<string> {
    const continueFrom = request.continueFrom ?? ''
    // Resume uses the native prefill: the partial reply is the final assistant message and the model
    // writes what follows it. The API rejects a final assistant message that ends in whitespace, so
    // it is sent trimmed, and joinAfterPrefill reconciles the trimmed tail with the model's output.
    const { prefill, tail } = splitPrefill(continueFrom)
    const deltas = this.deltas(request, prefill)
    return continueFrom ? joinAfterPrefill(deltas, tail) : deltas
  }

  private async *deltas(request: GenerateRequest, prefill: string): AsyncGenerator<string> {
    const body: Anthropic.Messages.MessageCreateParamsStreaming = {
      model: request.model ?? this.defaultModel,
      max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
      messages: toMessages(request, prefill),
      stream: true,
      ...systemParam(request),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    }
    const events = guardStream(
      { provider: 'anthropic', timeoutMs: this.options.timeoutMs, signal: request.signal, toError: (error) => this.toError(error) },
      async (signal) => this.client.messages.create(body, { signal }),
    )
    let finished = false
    for await (const event of events) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') yield event.delta.text
      else if (event.type === 'message_stop') finished = true
    }
    // A proxy that drops the connection cleanly would otherwise pass as a short reply.
    if (!finished) throw new LlmError('anthropic', 'incomplete', 'the stream ended before the reply was finished (no message_stop)')
  }

  /**
   * Structured output the way Anthropic's API enforces it: one tool whose input schema is the wanted
   * schema, and tool_choice forcing the model to call it. The tool's input is the answer.
   */
  async completeJson(request: JsonRequest): Promise<JsonCompletion> {
    try {
      const message = await this.client.messages.create(
        {
          model: request.model ?? this.defaultModel,
          max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
          system: request.system,
          messages: request.messages.filter((turn) => turn.role !== 'system').map((turn) => ({ role: turn.role as 'user' | 'assistant', content: turn.content })),
          tools: [{ name: request.schemaName, description: 'Record the answer.', input_schema: request.schema as Anthropic.Messages.Tool.InputSchema }],
          tool_choice: { type: 'tool', name: request.schemaName },
        },
        request.signal ? { signal: request.signal } : {},
      )
      const usage = { input: message.usage.input_tokens, output: message.usage.output_tokens }
      const call = message.content.find((block) => block.type === 'tool_use')
      // No tool call: the model's text (if any) is what it said instead, and fails validation as such.
      const text = call ? JSON.stringify(call.input) : message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')
      return { text, usage }
    } catch (error) {
      throw error instanceof LlmError ? error : this.toError(error)
    }
  }

  private toError(error: unknown): LlmError {
    if (error instanceof APIConnectionTimeoutError) {
      return new LlmError('anthropic', 'timeout', `timed out: no response within ${this.options.timeoutMs} ms`, { cause: error })
    }
    if (error instanceof APIConnectionError) return transportError('anthropic', error, this.options.apiKey)
    // Both an HTTP error and an `event: error` inside the stream (status undefined) arrive as APIError.
    if (error instanceof APIError) {
      return providerError(
        'anthropic',
        { status: error.status, type: error.type, message: error.apiMessage ?? error.message },
        this.options.apiKey,
        error,
      )
    }
    return transportError('anthropic', error, this.options.apiKey)
  }
}

/** System turns in the history have no place in Anthropic's messages; they join the system parameter. */
function systemParam(request: GenerateRequest): { system?: string } {
  const parts = [request.system, ...request.messages.filter((turn) => turn.role === 'system').map((turn) => turn.content)]
  const system = parts.filter((part): part is string => Boolean(part)).join('\n\n')
  return system ? { system } : {}
}

function toMessages(request: GenerateRequest, prefill: string): Anthropic.Messages.MessageParam[] {
  const messages: Anthropic.Messages.MessageParam[] = []
  for (const turn of request.messages) {
    if (turn.role !== 'system') messages.push({ role: turn.role, content: turn.content })
  }
  if (prefill) messages.push({ role: 'assistant', content: prefill })
  return messages
}

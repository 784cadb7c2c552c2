import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest'
import { collectDeltas, startFakeLlmServer, type FakeLlmServer } from '../../../test/helpers/fake-llm-server.js'
import { ANTHROPIC_DEFAULT_MAX_TOKENS, AnthropicProvider, type AnthropicProviderOptions } from './anthropic.provider.js'
import { LlmError } from './llm-error.js'
import { DEFAULT_MODELS } from './llm.js'

let server: FakeLlmServer

beforeAll(async () => {
  server = await startFakeLlmServer()
})
afterAll(async () => {
  await server.close()
})
// The SDK warns on the console when a request names a model past or near its end of life.
let warn: MockInstance<typeof console.warn>
beforeEach(() => {
  warn = vi.spyOn(console, 'warn')
})
afterEach(() => {
  server.requests.length = 0
  server.release()
  const deprecations = warn.mock.calls.filter((args) => /deprecated|end-of-life/i.test(String(args[0])))
  warn.mockRestore()
  expect(deprecations).toEqual([])
})

/** The SDK's own table of deprecated models (not exported by the package, so read by its file path). */
function sdkDeprecatedModels(): Record<string, string> {
  const require = createRequire(import.meta.url)
  const sdk = dirname(require.resolve('@anthropic-ai/sdk'))
  return (require(join(sdk, 'internal/data/deprecated-models.js')) as { DEPRECATED_MODELS: Record<string, string> }).DEPRECATED_MODELS
}

const KEY = 'sk-ant-test-abcdef'

function provider(options: Partial<AnthropicProviderOptions> = {}): AnthropicProvider {
  return new AnthropicProvider({ apiKey: KEY, baseUrl: server.url, model: null, timeoutMs: 5_000, ...options })
}

const history = [
  { role: 'user' as const, content: 'Hi there' },
  { role: 'assistant' as const, content: 'Hello! How can I help?' },
  { role: 'user' as const, content: 'Tell me a joke' },
]

describe('Anthropic provider', () => {
  it('defaults to a model the installed SDK does not deprecate', () => {
    const table = sdkDeprecatedModels()
    expect(Object.keys(table).length).toBeGreaterThan(0)
    expect(table).not.toHaveProperty(DEFAULT_MODELS.anthropic)
    expect(provider().defaultModel).toBe(DEFAULT_MODELS.anthropic)
  })

  it('streams the text deltas in order and sends system, history, model and key on the wire', async () => {
    server.script({ tokens: ['Why', ' did', ' the', ' chicken…'] })
    const llm = provider()
    const result = await collectDeltas(llm.stream({ system: 'You are a comedian.', messages: history, temperature: 0.2 }))

    expect(result.error).toBeNull()
    expect(result.deltas).toEqual(['Why', ' did', ' the', ' chicken…'])
    const [request] = server.requests
    expect(request?.path).toBe('/v1/messages')
    expect(request?.headers['anthropic-version']).toBeTruthy()
    // SDK 1.x sends the key as a Bearer token (0.x used x-api-key).
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(request?.body).toMatchObject({
      model: 'claude-haiku-5-5',
      stream: true,
      system: 'You are a comedian.',
      temperature: 0.2,
      max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
    })
    expect(request?.body.messages).toEqual(history)
    expect(llm.name).toBe('anthropic')
  })

  it('uses the request model and maxTokens, and moves system turns of the history into `system`', async () => {
    await collectDeltas(
      provider({ model: 'claude-sonnet-4-6' }).stream({
        system: null,
        messages: [{ role: 'system', content: 'Context: the user likes puns.' }, ...history],
        model: 'claude-opus-4-5',
        maxTokens: 99,
      }),
    )
    await collectDeltas(provider({ model: 'claude-sonnet-4-6' }).stream({ system: null, messages: history }))

    const [first, second] = server.requests
    expect(first?.body).toMatchObject({ model: 'claude-opus-4-5', max_tokens: 99, system: 'Context: the user likes puns.' })
    expect(first?.body.messages).toEqual(history)
    expect(second?.body.model).toBe('claude-sonnet-4-6')
    expect(second?.body).not.toHaveProperty('system')
    expect(second?.body).not.toHaveProperty('temperature')
  })

  it('resumes with the partial reply as assistant prefill', async () => {
    server.script({ tokens: [' the', ' road.'] })
    const result = await collectDeltas(provider().stream({ system: 'sys', messages: history, continueFrom: 'Why did the chicken cross' }))

    expect(result.text).toBe(' the road.')
    expect(server.requests[0]?.body.messages).toEqual([...history, { role: 'assistant', content: 'Why did the chicken cross' }])
  })

  it('sends the prefill without trailing whitespace and does not double it in the continuation', async () => {
    // The model continues the trimmed prefill, so it usually regenerates the space that was cut.
    server.script({ tokens: [' the', ' road.'] }, { tokens: ['\n\n', 'Next', ' part.'] })
    const partial = 'Why did the chicken cross '
    const first = await collectDeltas(provider().stream({ system: null, messages: history, continueFrom: partial }))
    const second = await collectDeltas(provider().stream({ system: null, messages: history, continueFrom: partial }))

    expect(server.requests[0]?.body.messages?.at(-1)).toEqual({ role: 'assistant', content: 'Why did the chicken cross' })
    expect(partial + first.text).toBe('Why did the chicken cross the road.')
    // Whitespace that differs from the stored tail: the stored partial's is kept, never both.
    expect(partial + second.text).toBe('Why did the chicken cross Next part.')
  })

  it('sends no prefill when the partial reply is only whitespace', async () => {
    await collectDeltas(provider().stream({ system: null, messages: history, continueFrom: '  ' }))

    expect(server.requests[0]?.body.messages).toEqual(history)
  })

  it('fails with the error event’s type after the first deltas', async () => {
    server.script({ tokens: ['one', ' two', ' three'], failAfter: 2, errorMessage: 'Overloaded' })
    const result = await collectDeltas(provider().stream({ system: null, messages: history }))

    expect(result.deltas).toEqual(['one', ' two'])
    expect(result.error).toBeInstanceOf(LlmError)
    expect(result.error).toMatchObject({ provider: 'anthropic', code: 'overloaded', retryable: true, status: undefined })
    expect((result.error as LlmError).message).toBe('anthropic: error event in the stream: overloaded_error: Overloaded')
  })

  it('fails when the connection is cut mid-stream', async () => {
    server.script({ tokens: ['one', ' two', ' three'], failAfter: 1, failMode: 'destroy' })
    const result = await collectDeltas(provider().stream({ system: null, messages: history }))

    expect(result.deltas).toEqual(['one'])
    expect(result.error).toMatchObject({ code: 'connection', retryable: true })
  })

  it('fails when the stream ends without message_stop', async () => {
    server.script({ tokens: ['one', ' two'], failAfter: 1, failMode: 'end' })
    const result = await collectDeltas(provider().stream({ system: null, messages: history }))

    expect(result.deltas).toEqual(['one'])
    expect(result.error).toMatchObject({ code: 'incomplete', retryable: true })
  })

  it.each([
    [401, 'auth', false, 'authentication_error'],
    [429, 'rate_limited', true, 'rate_limit_error'],
    [500, 'overloaded', true, 'api_error'],
    [529, 'overloaded', true, 'overloaded_error'],
  ] as const)('turns HTTP %i into an LlmError with that status', async (status, code, retryable, type) => {
    server.script({ status, errorMessage: `bad key ${KEY}` })
    const result = await collectDeltas(provider().stream({ system: null, messages: history }))

    expect(result.deltas).toEqual([])
    expect(result.error).toBeInstanceOf(LlmError)
    expect(result.error).toMatchObject({ provider: 'anthropic', status, code, retryable })
    expect((result.error as LlmError).message).toBe(`anthropic: HTTP ${status} ${type}: bad key ***`)
    expect(server.requests).toHaveLength(1) // maxRetries: 0
  })

  it('times out when the stream stalls between chunks', async () => {
    server.script({ tokens: ['one', ' two'], hold: 1 })
    // Generous: the first chunk must still arrive within it on a loaded machine.
    const result = await collectDeltas(provider({ timeoutMs: 1_000 }).stream({ system: null, messages: history }))

    expect(result.deltas).toEqual(['one'])
    expect(result.error).toMatchObject({ code: 'timeout', retryable: true })
    expect((result.error as LlmError).message).toBe('anthropic: timed out: no data from the provider for 1000 ms')
  })

  it('stops on the caller’s signal with an aborted LlmError', async () => {
    server.script({ tokens: ['one', ' two', ' three'], hold: 1 })
    const controller = new AbortController()
    const deltas: string[] = []
    let caught: unknown = null
    try {
      for await (const delta of provider().stream({ system: null, messages: history, signal: controller.signal })) {
        deltas.push(delta)
        await server.held()
        controller.abort()
      }
    } catch (error) {
      caught = error
    }

    expect(deltas).toEqual(['one'])
    expect(caught).toMatchObject({ code: 'aborted', retryable: false })
  })

  it('cancels the request when the consumer stops reading', async () => {
    server.script({ tokens: ['one', ' two', ' three'], hold: 1 })
    for await (const delta of provider().stream({ system: null, messages: history })) {
      expect(delta).toBe('one')
      break
    }
    // The client closed the held stream's connection, which the server sees.
    await expect.poll(() => server.openStreams(), { timeout: 5_000 }).toBe(0)
    expect(server.release()).toBe(0)
  })
})

import { createServer } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { collectDeltas, startFakeLlmServer, type FakeLlmServer } from '../../../test/helpers/fake-llm-server.js'
import { LlmError } from './llm-error.js'
import { CONTINUE_INSTRUCTION, OpenAiProvider, type OpenAiProviderOptions } from './openai.provider.js'

let server: FakeLlmServer

beforeAll(async () => {
  server = await startFakeLlmServer()
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  server.requests.length = 0
  server.release()
})

function provider(options: Partial<OpenAiProviderOptions> = {}): OpenAiProvider {
  return new OpenAiProvider({ apiKey: 'sk-test-123456', baseUrl: server.openaiBaseUrl, model: null, timeoutMs: 5_000, ...options })
}

const history = [
  { role: 'user' as const, content: 'Hi there' },
  { role: 'assistant' as const, content: 'Hello! How can I help?' },
  { role: 'user' as const, content: 'Tell me a joke' },
]

describe('OpenAI-compatible provider', () => {
  it('streams the deltas in order and sends system prompt, history, model and auth on the wire', async () => {
    server.script({ tokens: ['Why', ' did', ' the', ' chicken…'] })
    const llm = provider()
    const result = await collectDeltas(llm.stream({ system: 'You are a comedian.', messages: history, temperature: 0.2, maxTokens: 50 }))

    expect(result.error).toBeNull()
    expect(result.deltas).toEqual(['Why', ' did', ' the', ' chicken…'])
    expect(server.requests).toHaveLength(1)
    const [request] = server.requests
    expect(request?.path).toBe('/v1/chat/completions')
    expect(request?.headers.authorization).toBe('Bearer sk-test-123456')
    expect(request?.body).toMatchObject({ model: 'gpt-4o-mini', stream: true, temperature: 0.2, max_tokens: 50 })
    expect(request?.body.messages).toEqual([
      { role: 'system', content: 'You are a comedian.' },
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello! How can I help?' },
      { role: 'user', content: 'Tell me a joke' },
    ])
    expect(llm.name).toBe('openai')
    expect(llm.defaultModel).toBe('gpt-4o-mini')
  })

  it('uses the configured model, and the request model over it; sends no system message when there is none', async () => {
    await collectDeltas(provider({ model: 'llama3.2' }).stream({ system: null, messages: history }))
    await collectDeltas(provider({ model: 'llama3.2' }).stream({ system: '', messages: history, model: 'qwen2.5:7b' }))

    expect(server.requests.map((request) => request.body.model)).toEqual(['llama3.2', 'qwen2.5:7b'])
    expect(server.requests[0]?.body.messages?.[0]).toEqual({ role: 'user', content: 'Hi there' })
    expect(server.requests[0]?.body).not.toHaveProperty('temperature')
    expect(server.requests[0]?.body).not.toHaveProperty('max_tokens')
  })

  it('sends no Authorization header to a keyless local server', async () => {
    const result = await collectDeltas(provider({ apiKey: null }).stream({ system: null, messages: history }))

    expect(result.error).toBeNull()
    expect(result.text).toBe('Hello from the fake model.')
    expect(server.requests[0]?.headers).not.toHaveProperty('authorization')
  })

  it('resumes by showing the partial reply and asking for the rest', async () => {
    server.script({ tokens: [' the', ' road.'] })
    const result = await collectDeltas(provider().stream({ system: 'sys', messages: history, continueFrom: 'Why did the chicken cross' }))

    expect(result.text).toBe(' the road.')
    expect(server.requests[0]?.body.messages?.slice(-3)).toEqual([
      { role: 'user', content: 'Tell me a joke' },
      { role: 'assistant', content: 'Why did the chicken cross' },
      { role: 'user', content: CONTINUE_INSTRUCTION },
    ])
  })

  it('drops a full restart of the partial reply when the model starts over', async () => {
    server.script({ tokens: ['Why did', ' the chicken', ' cross the', ' road?'] })
    const result = await collectDeltas(provider().stream({ system: null, messages: history, continueFrom: 'Why did the chicken' }))

    expect(result.text).toBe(' cross the road?')
  })

  it('fails with a retryable LlmError when the connection is cut mid-stream, after the first deltas', async () => {
    server.script({ tokens: ['one', ' two', ' three', ' four'], failAfter: 2 })
    const result = await collectDeltas(provider().stream({ system: null, messages: history }))

    expect(result.deltas).toEqual(['one', ' two'])
    expect(result.error).toBeInstanceOf(LlmError)
    const error = result.error as LlmError
    expect(error).toMatchObject({ provider: 'openai', code: 'connection', retryable: true, status: undefined })
    expect(error.message).toMatch(/^openai: connection failed or broke: /)
  })

  it('fails when an error chunk arrives mid-stream', async () => {
    server.script({ tokens: ['one', ' two', ' three'], failAfter: 1, failMode: 'error', errorMessage: 'The server had an error' })
    const result = await collectDeltas(provider().stream({ system: null, messages: history }))

    expect(result.deltas).toEqual(['one'])
    expect(result.error).toBeInstanceOf(LlmError)
    expect(result.error).toMatchObject({ code: 'overloaded', retryable: true })
    expect((result.error as LlmError).message).toBe('openai: error event in the stream: server_error: The server had an error')
  })

  it('fails when the stream ends cleanly but without finish_reason', async () => {
    server.script({ tokens: ['one', ' two', ' three'], failAfter: 2, failMode: 'end' })
    const result = await collectDeltas(provider().stream({ system: null, messages: history }))

    expect(result.deltas).toEqual(['one', ' two'])
    expect(result.error).toMatchObject({ code: 'incomplete', retryable: true })
  })

  it.each([
    [401, 'auth', false],
    [404, 'bad_request', false],
    [429, 'rate_limited', true],
    [500, 'overloaded', true],
  ] as const)('turns HTTP %i into an LlmError with that status', async (status, code, retryable) => {
    server.script({ status, errorMessage: 'Incorrect API key provided: sk-test-123456' })
    const result = await collectDeltas(provider().stream({ system: null, messages: history }))

    expect(result.deltas).toEqual([])
    expect(result.error).toBeInstanceOf(LlmError)
    const error = result.error as LlmError
    expect(error).toMatchObject({ provider: 'openai', status, code, retryable })
    expect(error.message).toMatch(new RegExp(`^openai: HTTP ${status} `))
    // The provider echoed the key; the stored message must not.
    expect(error.message).toContain('Incorrect API key provided: ***')
    expect(error.message).not.toContain('sk-test-123456')
    expect(server.requests).toHaveLength(1) // maxRetries: 0
  })

  it('times out when the stream stalls between chunks', async () => {
    server.script({ tokens: ['one', ' two', ' three'], hold: 1 })
    // Generous: the first chunk must still arrive within it on a loaded machine.
    const result = await collectDeltas(provider({ timeoutMs: 1_000 }).stream({ system: null, messages: history }))

    expect(result.deltas).toEqual(['one'])
    expect(result.error).toMatchObject({ code: 'timeout', retryable: true })
    expect((result.error as LlmError).message).toBe('openai: timed out: no data from the provider for 1000 ms')
  })

  it('times out when no chunk arrives at all', async () => {
    server.script({ hold: 0 })
    const result = await collectDeltas(provider({ timeoutMs: 300 }).stream({ system: null, messages: history }))

    expect(result.deltas).toEqual([])
    expect(result.error).toMatchObject({ code: 'timeout' })
  })

  it('stops on the caller’s signal with an aborted LlmError', async () => {
    server.script({ tokens: ['one', ' two', ' three'], hold: 2 })
    const controller = new AbortController()
    const deltas: string[] = []
    let caught: unknown = null
    try {
      for await (const delta of provider().stream({ system: null, messages: history, signal: controller.signal })) {
        deltas.push(delta)
        if (deltas.length === 2) {
          await server.held()
          controller.abort()
        }
      }
    } catch (error) {
      caught = error
    }

    expect(deltas).toEqual(['one', ' two'])
    expect(caught).toBeInstanceOf(LlmError)
    expect(caught).toMatchObject({ code: 'aborted', retryable: false })
  })

  it('refuses to start when the signal is already aborted, without a request', async () => {
    const result = await collectDeltas(provider().stream({ system: null, messages: history, signal: AbortSignal.abort() }))

    expect(result.error).toMatchObject({ code: 'aborted' })
    expect(server.requests).toHaveLength(0)
  })

  it('reports a server that is not there as a connection error', async () => {
    const result = await collectDeltas(provider({ baseUrl: `http://127.0.0.1:${await closedPort()}/v1` }).stream({ system: null, messages: history }))

    expect(result.error).toMatchObject({ code: 'connection', retryable: true })
    expect((result.error as LlmError).message).toMatch(/ECONNREFUSED/)
  })
})

/** A port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const address = probe.address()
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

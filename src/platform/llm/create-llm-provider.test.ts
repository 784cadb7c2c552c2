import { describe, expect, it } from 'vitest'
import { collectDeltas, startFakeLlmServer } from '../../../test/helpers/fake-llm-server.js'
import { createLlmProvider, resolveLlmProviderName } from './create-llm-provider.js'
import { LlmConfigError } from './llm-error.js'
import type { LlmSettings } from './llm.js'
import { OfflineProvider } from './offline.provider.js'

const none: LlmSettings = { provider: null, model: null, apiKey: null, baseUrl: null, timeoutMs: 30_000 }

describe('LLM provider detection', () => {
  it.each([
    [{}, 'offline'],
    [{ apiKey: '  ', baseUrl: '' }, 'offline'],
    [{ apiKey: 'sk-ant-api03-abc' }, 'anthropic'],
    [{ apiKey: 'sk-ant-api03-abc', baseUrl: 'http://proxy.local' }, 'anthropic'],
    [{ apiKey: 'sk-proj-abc' }, 'openai'],
    [{ apiKey: 'gsk_other_vendor' }, 'openai'],
    [{ baseUrl: 'http://localhost:11434/v1' }, 'openai'],
    [{ provider: 'offline', apiKey: 'sk-proj-abc' }, 'offline'],
    [{ provider: 'openai', baseUrl: 'http://localhost:11434/v1' }, 'openai'],
    [{ provider: 'openai', apiKey: 'sk-ant-looks-like-anthropic' }, 'openai'],
    [{ provider: 'anthropic', apiKey: 'key-for-a-proxy' }, 'anthropic'],
  ] as const)('%j → %s', (settings, expected) => {
    expect(resolveLlmProviderName({ ...none, ...settings })).toBe(expected)
  })

  it.each([
    [{ provider: 'anthropic' }, /"anthropic" needs an API key/],
    [{ provider: 'anthropic', baseUrl: 'http://proxy.local' }, /"anthropic" needs an API key/],
    [{ provider: 'openai' }, /"openai" needs an API key, or a base URL/],
  ] as const)('rejects %j', (settings, message) => {
    expect(() => resolveLlmProviderName({ ...none, ...settings })).toThrow(LlmConfigError)
    expect(() => createLlmProvider({ ...none, ...settings })).toThrow(message)
  })

  it('builds the detected provider with the configured or default model', () => {
    const openai = createLlmProvider({ ...none, apiKey: 'sk-proj-abc' })
    const anthropic = createLlmProvider({ ...none, apiKey: 'sk-ant-abc', model: 'claude-sonnet-4-6' })
    const offline = createLlmProvider(none)

    expect(openai).toMatchObject({ name: 'openai', defaultModel: 'gpt-4o-mini' })
    expect(anthropic).toMatchObject({ name: 'anthropic', defaultModel: 'claude-sonnet-4-6' })
    expect(offline).toBeInstanceOf(OfflineProvider)
    expect(offline).toMatchObject({ name: 'offline', defaultModel: 'offline-echo-1' })
  })

  it('rejects an unusable timeout or base URL', () => {
    expect(() => createLlmProvider({ ...none, timeoutMs: 0 })).toThrow(/timeout must be a positive number/)
    expect(() => createLlmProvider({ ...none, baseUrl: 'not a url' })).toThrow(/base URL is not a URL/)
  })

  it('talks to a keyless OpenAI-compatible server found by its base URL alone', async () => {
    const server = await startFakeLlmServer({ tokens: ['Local', ' reply'] })
    try {
      const llm = createLlmProvider({ ...none, baseUrl: server.openaiBaseUrl, model: 'llama3.2' })
      const result = await collectDeltas(llm.stream({ system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] }))

      expect(result).toMatchObject({ text: 'Local reply', error: null })
      expect(server.requests[0]?.body.model).toBe('llama3.2')
      expect(server.requests[0]?.headers).not.toHaveProperty('authorization')
    } finally {
      await server.close()
    }
  })

  it('streams through the Anthropic SDK it imports on demand', async () => {
    const server = await startFakeLlmServer({ tokens: ['Lazy', ' reply'] })
    try {
      const llm = createLlmProvider({ ...none, apiKey: 'sk-ant-abc', baseUrl: server.url })
      const result = await collectDeltas(llm.stream({ system: null, messages: [{ role: 'user', content: 'Hi' }] }))

      expect(result).toMatchObject({ text: 'Lazy reply', error: null })
      expect(server.requests[0]?.path).toBe('/v1/messages')
      expect(server.requests[0]?.body.model).toBe('claude-haiku-5-5')
    } finally {
      await server.close()
    }
  })
})

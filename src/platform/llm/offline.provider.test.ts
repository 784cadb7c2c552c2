import { describe, expect, it } from 'vitest'
import { collectDeltas } from '../../../test/helpers/fake-llm-server.js'
import type { ChatTurn } from './llm.js'
import { OFFLINE_RESTART_SEPARATOR, OfflineProvider, offlineReply, offlineTokens } from './offline.provider.js'

const history: ChatTurn[] = [
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'What is   the\ncapital of France?' },
]
const llm = new OfflineProvider({ delayMs: 0 })

describe('offline provider', () => {
  it('answers with a canned reply that quotes the last user message and counts the turns', () => {
    expect(offlineReply('You are terse.', history)).toBe(
      'You said: "What is the capital of France?". This is offline-echo-1, the offline test model: ' +
        'I saw 3 turns of conversation and a system prompt of 3 words. Configure an LLM provider for real answers.',
    )
    expect(offlineReply(null, [])).toMatch(/^There is no message from you yet\. .* I saw 0 turns of conversation and no system prompt\./)
    expect(offlineReply(null, [{ role: 'user', content: 'x'.repeat(500) }])).toContain(`"${'x'.repeat(119)}…"`)
  })

  it('is deterministic and streams word-sized deltas that add up to the reply', async () => {
    const first = await collectDeltas(llm.stream({ system: 'You are terse.', messages: history }))
    const second = await collectDeltas(llm.stream({ system: 'You are terse.', messages: history, model: 'whatever' }))

    expect(first.error).toBeNull()
    expect(first.text).toBe(offlineReply('You are terse.', history))
    expect(second.deltas).toEqual(first.deltas)
    expect(first.deltas.length).toBeGreaterThan(10)
    expect(first.deltas.slice(0, 3)).toEqual(['You', ' said:', ' "What'])
    expect(llm).toMatchObject({ name: 'offline', defaultModel: 'offline-echo-1' })
  })

  it('depends on the system prompt and the history', () => {
    expect(offlineReply('a', history)).not.toBe(offlineReply('a b', history))
    expect(offlineReply('a', history)).not.toBe(offlineReply('a', history.slice(0, 1)))
  })

  it('continues from a prefix of its reply with exactly the rest', async () => {
    const full = offlineReply(null, history)
    for (const cut of [1, 7, 8, 25, full.length - 1, full.length]) {
      const partial = full.slice(0, cut)
      const rest = await collectDeltas(llm.stream({ system: null, messages: history, continueFrom: partial }))
      expect(partial + rest.text).toBe(full)
    }
  })

  it('restarts after a separator when the partial is not a prefix of its reply', async () => {
    const full = offlineReply(null, history)
    const result = await collectDeltas(llm.stream({ system: null, messages: history, continueFrom: 'Something else' }))

    expect(result.text).toBe(OFFLINE_RESTART_SEPARATOR + full)
  })

  it('stops on the caller’s signal, also while waiting between words', async () => {
    const slow = new OfflineProvider({ delayMs: 60_000 })
    const controller = new AbortController()
    const pending = collectDeltas(slow.stream({ system: null, messages: history, signal: controller.signal }))
    controller.abort()
    const result = await pending

    expect(result.deltas).toEqual([])
    expect(result.error).toMatchObject({ provider: 'offline', code: 'aborted' })
  })

  it('splits text into pieces whose concatenation is the text', () => {
    for (const text of ['a b  c', '  lead', 'trail  ', '', 'one\n\ntwo']) expect(offlineTokens(text).join('')).toBe(text)
  })
})

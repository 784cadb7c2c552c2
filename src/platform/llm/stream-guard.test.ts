import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { collectDeltas } from '../../../test/helpers/fake-llm-server.js'
import { LlmError } from './llm-error.js'
import { guardStream } from './stream-guard.js'

const toError = (error: unknown) => new LlmError('openai', 'connection', String(error))

describe('guardStream', () => {
  it('does not count the consumer’s own pauses as a provider stall', async () => {
    async function* quick(): AsyncGenerator<string> {
      yield 'a'
      yield 'b'
    }
    const deltas: string[] = []
    for await (const delta of guardStream({ provider: 'openai', timeoutMs: 50, signal: undefined, toError }, async () => quick())) {
      deltas.push(delta)
      await sleep(200) // a slow database write per delta
    }
    expect(deltas).toEqual(['a', 'b'])
  })

  it('turns an iterator that ends silently on abort (as the SDKs do) into a timeout', async () => {
    async function* silentOnAbort(signal: AbortSignal): AsyncGenerator<string> {
      yield 'a'
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    }
    const result = await collectDeltas(
      guardStream({ provider: 'anthropic', timeoutMs: 100, signal: undefined, toError }, async (signal) => silentOnAbort(signal)),
    )
    expect(result.deltas).toEqual(['a'])
    expect(result.error).toMatchObject({ code: 'timeout', provider: 'anthropic' })
  })

  it('maps other failures with toError and closes the source when the consumer stops', async () => {
    let closed = false
    async function* failing(): AsyncGenerator<string> {
      try {
        yield 'a'
        throw new Error('boom')
      } finally {
        closed = true
      }
    }
    const result = await collectDeltas(guardStream({ provider: 'openai', timeoutMs: 1_000, signal: undefined, toError }, async () => failing()))
    expect(result.error).toMatchObject({ code: 'connection', message: 'openai: Error: boom' })
    expect(closed).toBe(true)

    closed = false
    async function* endless(): AsyncGenerator<string> {
      try {
        for (;;) yield 'x'
      } finally {
        closed = true
      }
    }
    for await (const delta of guardStream({ provider: 'openai', timeoutMs: 1_000, signal: undefined, toError }, async () => endless())) {
      expect(delta).toBe('x')
      break
    }
    expect(closed).toBe(true)
  })
})

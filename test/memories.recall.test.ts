import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'

/** Chat recall with memory governance: pinned memories always offered; expired and superseded ones never. */

const GPT = 'recall-gpt'
let llm: FakeLlmServer
let t: TestApp
let token: string

interface Recalled {
  id: string
  content: string
  score: number
  pinned?: boolean
}

async function ok<T>(method: 'POST' | 'PATCH', url: string, body: unknown): Promise<T> {
  const response = await injectJson(t.app, method, url, bearer(token), body)
  expect(response.statusCode, response.body).toBeLessThan(300)
  return response.json<T>()
}

async function recalled(characterId: string, user: string, content: string): Promise<Recalled[]> {
  const answer = await ok<{ message: MessageView }>('POST', '/v1/chat', { character_id: characterId, user_id: user, content })
  return ((answer.message.context as { memories?: Recalled[] } | null)?.memories ?? [])
}

beforeAll(async () => {
  llm = await startFakeLlmServer()
  t = await createTestApp({ env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test' } })
  token = (await createGptWithKey(t.services, GPT)).token
})

afterAll(async () => {
  await t?.close()
  await llm?.close()
})

describe('chat recall', () => {
  it('offers pinned memories of the user whatever the message, up to the character\'s top_k, besides the best matches', async () => {
    const character = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Helper', agent_role: 'Be kind.', memory: { enabled: true, top_k: 1 } })
    const pinned = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/memories`, { content: 'Always answer in French.', user_id: 'ana', pinned: true, importance: 1 })
    await ok('POST', `/v1/gpts/${GPT}/memories`, { content: 'Keep answers under fifty words.', user_id: 'ana', pinned: true, importance: 0.1 })
    const cat = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/memories`, { content: 'Has a ginger cat named Biscuit.', user_id: 'ana' })
    await ok('POST', `/v1/gpts/${GPT}/memories`, { content: 'Someone else pinned this.', user_id: 'ben', pinned: true })
    const memories = await recalled(character.id, 'ana', 'What is the name of my cat?')
    // The most important pinned one (top_k 1), then the best match.
    expect(memories.map((m) => [m.id, m.pinned === true])).toEqual([[pinned.id, true], [cat.id, false]])
    const prompt = JSON.stringify(llm.requests.at(-1)!.body)
    expect(prompt).toContain('Always answer in French.')
    expect(prompt).not.toContain('Someone else pinned this.')
  })

  it('never recalls an expired or a superseded memory, pinned or not', async () => {
    const character = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Recaller', agent_role: 'Be brief.', memory: { enabled: true, top_k: 5 } })
    const expired = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/memories`, { content: 'Hotel room number is 512.', user_id: 'cy', pinned: true, expires_at: new Date(Date.now() - 1000).toISOString() })
    const old = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/memories`, { content: 'Hotel is the Grand Budapest.', user_id: 'cy', pinned: true })
    const current = await ok<{ id: string }>('POST', `/v1/gpts/${GPT}/memories`, { content: 'Hotel is now the Overlook.', user_id: 'cy', supersedes: old.id })
    const ids = (await recalled(character.id, 'cy', 'Which hotel am I staying at, and what room?')).map((m) => m.id)
    expect(ids).toContain(current.id)
    expect(ids).not.toContain(expired.id)
    expect(ids).not.toContain(old.id)
  })
})

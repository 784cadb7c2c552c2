import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'
import { DEFAULT_FAKE_TOKENS, startFakeLlmServer, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

/**
 * A user turn whose reply never started is not left orphaned: its session names it
 * (`unanswered_message_id`), and POST /v1/chat retried with the same Idempotency-Key answers it
 * without storing the turn twice.
 */

const GPT = 'unanswered-gpt'
const FULL = DEFAULT_FAKE_TOKENS.join('')

let llm: FakeLlmServer
let t: TestApp
let writer: string
let character: { id: string }

beforeAll(async () => {
  llm = await startFakeLlmServer()
  t = await createTestApp({ env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test' } })
  writer = (await createGptWithKey(t.services, GPT)).token
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, { name: 'Teller', agent_role: 'You tell stories.' })
})

afterAll(async () => {
  await t?.close()
  await llm?.close()
})

beforeEach(() => {
  llm.setDefault({})
})

function call(method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, { ...bearer(writer), ...headers }, payload)
}

async function ok<T>(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<T> {
  const response = await call(method, url, payload)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : 200)
  return response.json<T>()
}

const session = (id: string) => ok<SessionView>('GET', `/v1/sessions/${id}`)
const messages = async (id: string) => (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${id}/messages`)).messages
const listed = async (id: string) => (await ok<{ sessions: SessionView[] }>('GET', `/v1/gpts/${GPT}/sessions?user_id=alice`)).sessions.find((s) => s.id === id)

describe('the unanswered turn of a session', () => {
  it('is named while nothing answers it, in the session and in lists, and cleared by the reply', async () => {
    const created = await ok<SessionView>('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'alice', character_id: character.id })
    expect(created.unanswered_message_id).toBeNull()
    const question = await ok<MessageView>('POST', `/v1/sessions/${created.id}/messages`, { sender: 'user', content: 'Tell me a story.' })
    expect((await session(created.id)).unanswered_message_id).toBe(question.id)
    expect((await listed(created.id))?.unanswered_message_id).toBe(question.id)
    await ok('POST', `/v1/sessions/${created.id}/generate`, {})
    expect((await session(created.id)).unanswered_message_id).toBeNull()
    expect((await listed(created.id))?.unanswered_message_id).toBeNull()
  })

  it.each([
    { name: 'a reply that failed before a word', reply: { sender: 'ai', status: 'failed' }, unanswered: true },
    { name: 'a reply cancelled before a word', reply: { sender: 'ai', status: 'cancelled' }, unanswered: true },
    { name: 'a reply that kept some text', reply: { sender: 'ai', status: 'failed', partial_content: 'Once' }, unanswered: false },
    { name: 'a complete reply', reply: { sender: 'ai', content: 'Once upon a time.' }, unanswered: false },
  ])('after $name: unanswered is $unanswered', async ({ reply, unanswered }) => {
    const created = await ok<SessionView>('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'alice' })
    const question = await ok<MessageView>('POST', `/v1/sessions/${created.id}/messages`, { sender: 'user', content: 'Hello?' })
    await ok('POST', `/v1/sessions/${created.id}/messages`, reply)
    expect((await session(created.id)).unanswered_message_id).toBe(unanswered ? question.id : null)
  })
})

describe('POST /v1/chat with an Idempotency-Key', () => {
  const chat = (key: string, body: Record<string, unknown>) => call('POST', '/v1/chat', { character_id: character.id, ...body }, { 'idempotency-key': key })

  it('a retry after the reply failed at once stores no second turn, and answers the same reply', async () => {
    llm.script({ status: 400, errorMessage: 'the provider refused' })
    const first = await chat('retry-after-failure', { user_id: 'alice', content: 'Tell me about rivers.' })
    const problem = expectProblem(first, 502, '/v1/chat', 'bad-gateway')
    const sessionId = problem.session_id as string
    const [question, failed] = await messages(sessionId)
    expect(failed).toMatchObject({ id: problem.message_id, status: 'failed', partial_content: '' })
    expect((await session(sessionId)).unanswered_message_id).toBe(question!.id)

    const retry = await chat('retry-after-failure', { user_id: 'alice', content: 'Tell me about rivers.' })
    expect(retry.statusCode, retry.body).toBe(201)
    expect(retry.headers['idempotent-replayed']).toBe('true')
    expect(retry.json()).toMatchObject({ session_id: sessionId, message: { id: failed!.id, status: 'complete', content: FULL } })
    expect((await messages(sessionId)).map((m) => [m.sender, m.id])).toEqual([
      ['user', question!.id],
      ['ai', failed!.id],
    ])
    expect((await session(sessionId)).unanswered_message_id).toBeNull()
  })

  it('a retry after success replays the reply without asking the provider again', async () => {
    const first = await chat('retry-after-success', { user_id: 'alice', content: 'Hello.' })
    expect(first.statusCode, first.body).toBe(201)
    const before = llm.requests.length
    const retry = await chat('retry-after-success', { user_id: 'alice', content: 'Hello.', stream: false })
    expect(retry.statusCode).toBe(201)
    expect(retry.headers['idempotent-replayed']).toBe('true')
    expect(retry.json()).toEqual(first.json())
    expect(llm.requests.length).toBe(before)
    expect(await messages(first.json<{ session_id: string }>().session_id)).toHaveLength(2)
  })

  it('the same key with another message → 422, and nothing is stored', async () => {
    const first = await chat('reused-key', { user_id: 'alice', content: 'One.' })
    const sessionId = first.json<{ session_id: string }>().session_id
    const reused = await chat('reused-key', { session_id: sessionId, content: 'Two.' })
    expectProblem(reused, 422, '/v1/chat')
    expect(await messages(sessionId)).toHaveLength(2)
  })

  it('concurrent retries of a new chat make one session and one turn', async () => {
    const responses = await Promise.all([1, 2, 3].map(() => chat('concurrent', { user_id: 'carol', content: 'Once.' })))
    const sessions = new Set(responses.map((response) => response.json<{ session_id: string }>().session_id))
    expect(sessions.size).toBe(1)
    const listedForCarol = (await ok<{ sessions: SessionView[] }>('GET', `/v1/gpts/${GPT}/sessions?user_id=carol`)).sessions
    expect(listedForCarol).toHaveLength(1)
    expect((await messages([...sessions][0]!)).filter((m) => m.sender === 'user')).toHaveLength(1)
  })
})

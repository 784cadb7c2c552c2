import { beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import { PASSWORD, signup, type TestAccount } from './helpers/accounts.js'
import { consoleCall, consoleSignIn, type ConsoleLogin } from './helpers/console.js'
import { chatFixture, deltaText as text, postSse as post, WAIT_MS } from './helpers/chat.js'
import type { FakeLlmServer } from './helpers/fake-llm-server.js'
import { openSseStream, type SseStream } from './helpers/sse.js'
import { bearer, injectJson, type TestApp } from './helpers/test-app.js'

// Event streams through the console: /admin/api/v1/... pipes an answer as the API writes it, so a
// generation is watched live, reattached from Last-Event-ID, and let go when the browser leaves.
const TOKENS = ['Slow', ' and', ' steady', ' wins', ' the', ' race.']

const chat = chatFixture({ PARTIAL_SAVE_MS: '50' })
let llm: FakeLlmServer
let t: TestApp
let base: string
let owner: TestAccount
let login: ConsoleLogin
let character: string
/** How many followers each message's generation has in this process right now. */
const followers = new Map<string, number>()

beforeAll(async () => {
  ;({ llm, t, base } = chat)
  const hub = t.services.generationHub
  const follow = hub.follow.bind(hub)
  hub.follow = (messageId, listener) => {
    followers.set(messageId, (followers.get(messageId) ?? 0) + 1)
    const unfollow = follow(messageId, listener)
    return () => {
      followers.set(messageId, (followers.get(messageId) ?? 1) - 1)
      unfollow()
    }
  }
  owner = await signup(t.app)
  expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(owner.key), { id: 'live-gpt', name: 'Live' })).statusCode).toBe(201)
  login = await consoleSignIn(t.app, { email: owner.email, password: PASSWORD })
  character = (await gptCall<{ id: string }>('POST', '/v1/gpts/live-gpt/characters', { name: 'Teller', agent_role: 'You tell stories.' })).id
})

async function gptCall<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const response = await consoleCall(t.app, login, method, `/admin/api${url}`, body, { 'agentstore-gpt': 'live-gpt' })
  expect(response.statusCode, response.body).toBeLessThan(300)
  return response.json<T>()
}

async function question(): Promise<string> {
  const session = await gptCall<{ id: string }>('POST', '/v1/gpts/live-gpt/sessions', { user_id: 'reader', character_id: character })
  await gptCall('POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: 'A story, please.' })
  return session.id
}

/** A console write as a browser sends it over a socket: cookie, CSRF token, an event stream accepted. */
const postSse = (path: string, headers: Record<string, string> = {}): Promise<SseStream> =>
  post(`${base}${path}`, '{}', { cookie: login.cookie, 'x-csrf-token': login.csrf, 'agentstore-gpt': 'live-gpt', accept: 'text/event-stream', ...headers })

const names = (stream: SseStream) => stream.events.map((event) => event.event)

describe('an event stream through the console', () => {
  it('arrives event by event: the first deltas come while the generation is still held', async () => {
    const sessionId = await question()
    llm.script({ tokens: TOKENS, hold: 2 })
    const stream = await postSse(`/admin/api/v1/sessions/${sessionId}/generate`)
    try {
      expect(stream.status).toBe(200)
      expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
      await stream.waitFor('the first two deltas', (s) => text(s) === 'Slow and', WAIT_MS)
      expect(names(stream)).not.toContain('done')
      expect(llm.release()).toBe(1)
      await stream.waitFor('the end', (s) => s.ended, WAIT_MS)
      expect(text(stream)).toBe(TOKENS.join(''))
      expect(names(stream).at(-1)).toBe('done')
    } finally {
      stream.close()
    }
  })

  it('reattaches from Last-Event-ID: the text after it, then the live rest', async () => {
    const sessionId = await question()
    llm.script({ tokens: TOKENS, hold: 3 })
    const first = await postSse(`/admin/api/v1/sessions/${sessionId}/generate`)
    await first.waitFor('three deltas', (s) => text(s) === 'Slow and steady', WAIT_MS)
    const messageId = (JSON.parse(first.events[0]!.data) as MessageView).id
    // A client that had seen 'Slow' (delta ids are offsets in the reply) when its connection dropped.
    const seen = String('Slow'.length)
    first.close()
    const again = await openSseStream(`${base}/admin/api/v1/messages/${messageId}/stream`, {
      cookie: login.cookie,
      'agentstore-gpt': 'live-gpt',
      'last-event-id': seen,
    })
    try {
      await again.waitFor('the replayed text', (s) => text(s) === ' and steady', WAIT_MS)
      llm.release()
      await again.waitFor('the end', (s) => s.ended, WAIT_MS)
      expect(TOKENS.join('').slice(0, Number(seen)) + text(again)).toBe(TOKENS.join(''))
      expect(names(again).at(-1)).toBe('done')
    } finally {
      again.close()
    }
  })

  it('lets go of the generation when the browser leaves, which goes on and completes', async () => {
    const sessionId = await question()
    llm.script({ tokens: TOKENS, hold: 1 })
    const stream = await postSse(`/admin/api/v1/sessions/${sessionId}/generate`)
    await stream.waitFor('the first delta', (s) => text(s) === 'Slow', WAIT_MS)
    const messageId = (JSON.parse(stream.events[0]!.data) as MessageView).id
    expect(followers.get(messageId)).toBe(1)
    stream.close()
    await expect.poll(() => followers.get(messageId), { timeout: WAIT_MS }).toBe(0)
    llm.release()
    await expect
      .poll(async () => (await gptCall<MessageView>('GET', `/v1/messages/${messageId}`)).status, { timeout: WAIT_MS })
      .toBe('complete')
  })

  it('keeps the console rules: a session, a CSRF token for the write, the GPT of this account only', async () => {
    const sessionId = await question()
    const anonymous = await openSseStream(`${base}/admin/api/v1/messages/${sessionId}/stream`, { 'agentstore-gpt': 'live-gpt' })
    expect(anonymous.status).toBe(401)
    anonymous.close()
    const forged = await postSse(`/admin/api/v1/sessions/${sessionId}/generate`, { 'x-csrf-token': 'forged' })
    expect(forged.status).toBe(403)
    forged.close()
    const stranger = await signup(t.app)
    const strangerLogin = await consoleSignIn(t.app, { email: stranger.email, password: PASSWORD })
    const foreign = await openSseStream(`${base}/admin/api/v1/gpts/live-gpt/sessions`, { cookie: strangerLogin.cookie, 'agentstore-gpt': 'live-gpt' })
    expect(foreign.status).toBe(404)
    foreign.close()
    // Nothing was generated by the refused write.
    const stored = await gptCall<{ messages: MessageView[] }>('GET', `/v1/sessions/${sessionId}/messages`)
    expect(stored.messages.map((message) => message.sender)).toEqual(['user'])
  })
})

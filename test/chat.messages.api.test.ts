import { beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'
import { appFixture, chatCalls, gptKeys, ISO, MISSING_ID, pointers, UUID_V7 } from './helpers/chat.js'
import { expectProblem } from './helpers/problem.js'
import type { TestApp } from './helpers/test-app.js'

// Chat messages through the API: adding them (limits, idempotency, scopes) and listing them.

interface MessageList {
  messages: MessageView[]
  next_cursor: string | null
  has_more: boolean
}

const GPT = 'chat-gpt'
/** MAX_MESSAGE_CHARS for this file. */
const MAX = 40

let t: TestApp
let writer: string
let reader: string
let character: { id: string }
const app = appFixture({ MAX_MESSAGE_CHARS: String(MAX) })
const { call, ok, createSession, addMessage } = chatCalls(() => ({ app: t, token: writer, gpt: GPT }))

beforeAll(async () => {
  ;({ t } = app)
  ;({ writer, reader } = await gptKeys(t, GPT))
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, { name: 'Guide', agent_role: 'You guide.' })
})

const pause = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms))

describe('adding messages', () => {
  let session: SessionView

  beforeAll(async () => {
    session = await createSession({ name: 'messages', character_id: character.id })
  })

  it('answers 201 with the message and its Location, and marks activity on the session', async () => {
    await pause()
    const url = `/v1/sessions/${session.id}/messages`
    const response = await call('POST', url, { sender: 'user', content: 'Where to?', context: { docs: [{ id: 'd1', score: 0.9 }] } })
    expect(response.statusCode, response.body).toBe(201)
    const message = response.json<MessageView>()
    expect(message).toEqual({
      id: expect.stringMatching(UUID_V7),
      session_id: session.id,
      gpt_id: GPT,
      sender: 'user',
      content: 'Where to?',
      context: { docs: [{ id: 'd1', score: 0.9 }] },
      status: 'complete',
      partial_content: '',
      error_message: null,
      model: null,
      character_id: null,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    })
    expect(response.headers.location).toBe(`/v1/messages/${message.id}`)
    expect((await call('GET', `/v1/messages/${message.id}`, undefined, reader)).json()).toEqual(message)
    const after = await ok<SessionView>('GET', `/v1/sessions/${session.id}`)
    expect(after.last_activity_at).toBe(message.created_at)
    expect(after.updated_at).toBe(message.created_at)
    expect(Date.parse(after.last_activity_at)).toBeGreaterThan(Date.parse(session.last_activity_at))
  })

  it.each([
    { name: 'user', body: { sender: 'user', content: 'hi' } },
    { name: 'system', body: { sender: 'system', content: 'Be brief.', status: 'complete' } },
    { name: 'tool', body: { sender: 'tool', content: '{"temp": 21}', context: null } },
    { name: 'AI, complete', body: { sender: 'ai', content: 'Paris.', model: 'gpt-4o-mini' } },
    { name: 'AI, pending and empty', body: { sender: 'ai', status: 'pending' } },
    { name: 'AI, in progress', body: { sender: 'ai', status: 'in_progress', partial_content: 'Par' } },
    { name: 'AI, failed', body: { sender: 'ai', status: 'failed', partial_content: 'Pa', error_message: 'timeout' } },
  ])('stores a $name message', async ({ body }) => {
    const message = await addMessage(session.id, body)
    expect(message).toMatchObject({
      ...body,
      status: (body as { status?: string }).status ?? 'complete',
      context: (body as { context?: unknown }).context ?? null,
      // AI messages carry the session's character.
      character_id: body.sender === 'ai' ? character.id : null,
    })
  })

  it('takes partial_content as the content of an AI message stored complete without content', async () => {
    expect(await addMessage(session.id, { sender: 'ai', partial_content: 'All of it' })).toMatchObject({ content: 'All of it', status: 'complete' })
  })

  it.each([
    { name: 'a string', context: 'plain text' },
    { name: 'a number', context: 42 },
    { name: 'an array', context: [1, 'two', { three: 3 }] },
    { name: 'false', context: false },
    { name: 'null', context: null },
  ])('keeps a context that is $name', async ({ context }) => {
    const message = await addMessage(session.id, { sender: 'user', content: 'c', context })
    expect(message.context).toEqual(context)
    expect((await ok<MessageView>('GET', `/v1/messages/${message.id}`)).context).toEqual(context)
  })

  it(`takes content of exactly MAX_MESSAGE_CHARS (${MAX}) characters and refuses one more, naming the limit`, async () => {
    const url = `/v1/sessions/${session.id}/messages`
    expect((await addMessage(session.id, { sender: 'user', content: 'x'.repeat(MAX) })).content).toHaveLength(MAX)
    // Characters, not bytes or UTF-16 units.
    expect((await addMessage(session.id, { sender: 'user', content: '😀'.repeat(MAX) })).content).toBe('😀'.repeat(MAX))
    for (const member of ['content', 'partial_content'] as const) {
      const body = member === 'content' ? { sender: 'user', content: 'x'.repeat(MAX + 1) } : { sender: 'ai', status: 'in_progress', partial_content: 'x'.repeat(MAX + 1) }
      const problem = expectProblem(await call('POST', url, body), 422, url, 'validation-failed')
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: `/${member}`, message: expect.stringContaining(String(MAX)) })])
    }
  })

  it.each([
    { name: 'a user message with status pending', body: { sender: 'user', content: 'x', status: 'pending' }, pointers: ['/status'] },
    { name: 'a tool message with status failed', body: { sender: 'tool', content: 'x', status: 'failed' }, pointers: ['/status'] },
    { name: 'a user message with partial_content', body: { sender: 'user', content: 'x', partial_content: 'y' }, pointers: ['/partial_content'] },
    { name: 'a system message with error_message', body: { sender: 'system', content: 'x', error_message: 'e' }, pointers: ['/error_message'] },
    { name: 'a user message with a model', body: { sender: 'user', content: 'x', model: 'm' }, pointers: ['/model'] },
    { name: 'a user message with empty content', body: { sender: 'user', content: '' }, pointers: ['/content'] },
    { name: 'a user message without content', body: { sender: 'user' }, pointers: ['/content'] },
    { name: 'a system message without content', body: { sender: 'system', content: '' }, pointers: ['/content'] },
    { name: 'a complete AI message without content', body: { sender: 'ai', status: 'complete' }, pointers: ['/content'] },
    { name: 'an error_message on an in-progress AI message', body: { sender: 'ai', status: 'in_progress', error_message: 'e' }, pointers: ['/error_message'] },
    { name: 'an error_message on a complete AI message', body: { sender: 'ai', content: 'x', error_message: 'e' }, pointers: ['/error_message'] },
    { name: 'several broken rules at once', body: { sender: 'user', status: 'pending', model: 'm' }, pointers: ['/status', '/model', '/content'] },
    { name: 'an unknown sender', body: { sender: 'bot', content: 'x' }, pointers: ['/sender'] },
    { name: 'no sender', body: { content: 'x' }, pointers: ['/sender'] },
    { name: 'an unknown status', body: { sender: 'ai', content: 'x', status: 'done' }, pointers: ['/status'] },
    { name: 'numeric content', body: { sender: 'user', content: 5 }, pointers: ['/content'] },
    { name: 'an empty error_message', body: { sender: 'ai', status: 'failed', error_message: '' }, pointers: ['/error_message'] },
    { name: 'an empty model', body: { sender: 'ai', content: 'x', model: '' }, pointers: ['/model'] },
    { name: 'an unknown member', body: { sender: 'user', content: 'x', mood: 'happy' }, pointers: ['/mood'] },
  ])('refuses $name with 422', async ({ body, pointers: expected }) => {
    const url = `/v1/sessions/${session.id}/messages`
    const before = (await ok<MessageList>('GET', `${url}?limit=200`)).messages.length
    const response = await call('POST', url, body)
    const problem = expectProblem(response, 422, url, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set(expected))
    for (const error of problem.errors!) expect(error.location).toBe('body')
    expect((await ok<MessageList>('GET', `${url}?limit=200`)).messages).toHaveLength(before)
  })

  it('refuses a context nested deeper than MAX_JSON_DEPTH', async () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 40; i++) deep = [deep]
    const url = `/v1/sessions/${session.id}/messages`
    const response = await call('POST', url, { sender: 'user', content: 'x', context: deep })
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual(['/context'])
  })

  it('stores a message once per Idempotency-Key and replays the answer', async () => {
    const fresh = await createSession()
    const url = `/v1/sessions/${fresh.id}/messages`
    const headers = { 'idempotency-key': 'msg-1' }
    const first = await call('POST', url, { sender: 'user', content: 'once' }, writer, headers)
    expect(first.statusCode, first.body).toBe(201)
    const again = await call('POST', url, { sender: 'user', content: 'once' }, writer, headers)
    expect(again.statusCode).toBe(201)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json()).toEqual(first.json())
    expect(again.headers.location).toBe(first.headers.location)
    expect((await ok<MessageList>('GET', url)).messages).toHaveLength(1)
    const reused = await call('POST', url, { sender: 'user', content: 'something else' }, writer, headers)
    expectProblem(reused, 422, url, 'validation-failed')
    // A request that failed stores nothing under its key.
    const missing = `/v1/sessions/${MISSING_ID}/messages`
    expectProblem(await call('POST', missing, { sender: 'user', content: 'x' }, writer, { 'idempotency-key': 'msg-2' }), 404, missing, 'not-found')
    expect((await call('POST', url, { sender: 'user', content: 'x' }, writer, { 'idempotency-key': 'msg-2' })).statusCode).toBe(201)
  })

  it('needs the write scope to add and the read scope to list', async () => {
    const url = `/v1/sessions/${session.id}/messages`
    expectProblem(await call('POST', url, { sender: 'user', content: 'x' }, reader), 403, url, 'forbidden')
    expect((await call('GET', url, undefined, reader)).statusCode).toBe(200)
  })
})

describe('listing messages', () => {
  let session: SessionView
  const made: MessageView[] = []

  beforeAll(async () => {
    session = await createSession({ name: 'history' })
    for (let i = 0; i < 5; i++) made.push(await addMessage(session.id, { sender: i % 2 === 0 ? 'user' : 'ai', content: `m${i}` }))
  })

  it('lists oldest first and walks every page with the cursor and Link', async () => {
    const seen: MessageView[] = []
    let url: string | null = `/v1/sessions/${session.id}/messages?limit=2`
    let pages = 0
    while (url !== null) {
      const response = await call('GET', url, undefined, reader)
      expect(response.statusCode, response.body).toBe(200)
      const page = response.json<MessageList>()
      seen.push(...page.messages)
      pages++
      const link = response.headers.link as string | undefined
      if (page.has_more) {
        expect(link).toMatch(new RegExp(`^<http://agentstore\\.test/v1/sessions/${session.id}/messages\\?[^>]+>; rel="next"$`))
        const target = new URL(/^<([^>]+)>/.exec(link!)![1]!)
        url = `${target.pathname}${target.search}`
      } else {
        expect(link).toBeUndefined()
        expect(page.next_cursor).toBeNull()
        url = null
      }
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(made)
  })

  it('lists newest first with order=desc', async () => {
    const page = await ok<MessageList>('GET', `/v1/sessions/${session.id}/messages?order=desc`)
    expect(page.messages.map((m) => m.content)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0'])
  })

  it('refuses a cursor of another session or order (400)', async () => {
    const other = await createSession()
    await addMessage(other.id, { sender: 'user', content: 'a' })
    await addMessage(other.id, { sender: 'user', content: 'b' })
    const foreignCursor = (await ok<MessageList>('GET', `/v1/sessions/${other.id}/messages?limit=1`)).next_cursor!
    const descCursor = (await ok<MessageList>('GET', `/v1/sessions/${session.id}/messages?limit=1&order=desc`)).next_cursor!
    for (const cursor of [foreignCursor, descCursor, 'bm90LWpzb24']) {
      const url = `/v1/sessions/${session.id}/messages?cursor=${cursor}`
      expectProblem(await call('GET', url), 400, url, 'invalid-cursor')
    }
  })

  it('gives generation the last messages, oldest first', async () => {
    const recent = await t.services.messages.recentMessages(GPT, session.id, 3)
    expect(recent.map((m) => m.content)).toEqual(['m2', 'm3', 'm4'])
    expect(await t.services.messages.recentMessages(GPT, session.id, 0)).toEqual([])
    expect((await t.services.messages.recentMessages(GPT, session.id, 100)).map((m) => m.id)).toEqual(made.map((m) => m.id))
  })
})

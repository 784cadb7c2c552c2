import { beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import { type Character, chatCalls, chatFixture, type Delta, fakeLlmEnv, generateUrl, isEnded, messageReads, onTheWire as wire, postSse as post, UUID, WAIT_MS } from './helpers/chat.js'
import { DEFAULT_FAKE_TOKENS, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { expectProblem } from './helpers/problem.js'
import type { SseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

/**
 * POST /v1/sessions/{id}/generate against a fake OpenAI-compatible server: the reply, what goes on
 * the wire, and streaming. The one-generation-per-session rule, refusals and provider failures:
 * chat.generate.failures.test.ts.
 */

const GPT = 'gen-gpt'
const DEFAULT_MODEL = 'fake-default-model'
const ROLE = 'You are Guide, a terse travel assistant.'

const chat = chatFixture({ LLM_MODEL: DEFAULT_MODEL })
let llm: FakeLlmServer
let t: TestApp
let base: string
let writer: string
let guide: Character
const { call, ok, createSession, addMessage, sessionWithQuestion, generate } = chatCalls(() => ({ app: t, token: writer, gpt: GPT, character: guide }))
const { getMessage } = messageReads(ok)

beforeAll(async () => {
  ;({ llm, t, base } = chat)
  writer = (await createGptWithKey(t.services, GPT)).token
  guide = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Guide', agent_role: ROLE })
})

/** POST with `Accept: text/event-stream` (or none) over real HTTP, read as Server-Sent Events. */
const postSse = (path: string, body: unknown, headers: Record<string, string> = { accept: 'text/event-stream' }, token = writer): Promise<SseStream> =>
  post(`${base}${path}`, body, { ...bearer(token), ...headers })
/** The requests the fake provider received while `action` ran. */
const onTheWire = <T>(action: () => Promise<T>) => wire(llm, action)
const llmEnv = (server: FakeLlmServer, extra: Record<string, string> = {}) => ({ ...fakeLlmEnv(server), LLM_MODEL: DEFAULT_MODEL, ...extra })

/** Asserts the event sequence message, delta…, done|error and contiguous deltas from `start`; returns the parsed parts. */
function checkStream(stream: SseStream, start: number, end: 'done' | 'error' = 'done') {
  const names = stream.events.map((event) => event.event)
  expect(names[0], stream.raw).toBe('message')
  expect(names[names.length - 1], stream.raw).toBe(end)
  expect(names.slice(1, -1).every((name) => name === 'delta'), stream.raw).toBe(true)
  const first = JSON.parse(stream.events[0]!.data) as MessageView
  const deltas = stream.events.slice(1, -1).map((event) => ({ ...(JSON.parse(event.data) as Delta), id: event.id }))
  let offset = start
  for (const delta of deltas) {
    expect(delta.offset, stream.raw).toBe(offset)
    expect(delta.text.length).toBeGreaterThan(0)
    offset += delta.text.length
    expect(delta.id).toBe(String(offset))
  }
  const last = JSON.parse(stream.events[stream.events.length - 1]!.data) as MessageView & { error?: string; message?: MessageView }
  return { first, deltas, text: deltas.map((delta) => delta.text).join(''), last }
}


describe('generating a reply (no streaming)', () => {
  it('answers 201 with the finished AI message, stored, with the joined tokens as content', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: ['Try', ' Lisbon', ' in', ' May', '.'] })
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    const message = response.json<MessageView>()
    expect(message).toEqual({
      id: expect.stringMatching(UUID),
      session_id: session.id,
      gpt_id: GPT,
      sender: 'ai',
      content: 'Try Lisbon in May.',
      context: null,
      status: 'complete',
      partial_content: 'Try Lisbon in May.',
      error_message: null,
      model: DEFAULT_MODEL,
      character_id: guide.id,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    })
    expect(response.headers.location).toBe(`/v1/messages/${message.id}`)
    expect(await getMessage(message.id)).toEqual(message)
    expect(requests).toHaveLength(1)
    expect(requests[0]!.headers.authorization).toBe('Bearer sk-test')
    expect(requests[0]!.body).toMatchObject({ model: DEFAULT_MODEL, stream: true })
  })

  it('sends the character prompt as the system message, then the history as user/assistant turns', async () => {
    const session = await createSession()
    await addMessage(session.id, { sender: 'user', content: 'Hi there' })
    await addMessage(session.id, { sender: 'ai', content: 'Hello! Where to?' })
    await addMessage(session.id, { sender: 'system', content: 'The user prefers trains.' })
    await addMessage(session.id, { sender: 'user', content: 'Somewhere warm', context: { weather: 'sunny in Seville' } })
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>().content).toBe(DEFAULT_FAKE_TOKENS.join(''))
    const messages = requests[0]!.body.messages!
    expect(messages[0]!.role).toBe('system')
    const system = messages[0]!.content as string
    expect(system.startsWith(ROLE), system).toBe(true)
    expect(system).toContain('The user prefers trains.')
    expect(system).toContain('sunny in Seville')
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello! Where to?' },
      { role: 'user', content: 'Somewhere warm' },
    ])
  })

  it('puts its own earlier replies into the next prompt as assistant turns, and leaves failed ones out', async () => {
    const session = await sessionWithQuestion('First question')
    llm.script({ tokens: ['First', ' answer'] })
    expect((await generate(session.id)).statusCode).toBe(201)
    await addMessage(session.id, { sender: 'ai', status: 'failed', partial_content: 'half an ans', error_message: 'broke' })
    await addMessage(session.id, { sender: 'user', content: 'Second question' })
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    expect(requests[0]!.body.messages).toEqual([
      { role: 'system', content: ROLE },
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: 'First answer' },
      { role: 'user', content: 'Second question' },
    ])
  })

  it('sends no system message for a session without a character', async () => {
    const session = await sessionWithQuestion('No persona', { character_id: null })
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>()).toMatchObject({ character_id: null, status: 'complete' })
    expect(requests[0]!.body.messages).toEqual([{ role: 'user', content: 'No persona' }])
  })

  it('uses the character named in the body instead of the session\'s, and records it', async () => {
    const pirate = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Pirate', agent_role: 'Talk like a pirate.' })
    const session = await sessionWithQuestion()
    const { result: response, requests } = await onTheWire(() => generate(session.id, { character_id: pirate.id }))
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>().character_id).toBe(pirate.id)
    expect(requests[0]!.body.messages![0]).toEqual({ role: 'system', content: 'Talk like a pirate.' })
  })

  it.each([
    { name: 'the service default', character: {}, body: {}, model: DEFAULT_MODEL },
    { name: 'the character\'s model', character: { model: 'character-model' }, body: {}, model: 'character-model' },
    { name: 'the body\'s model over the default', character: {}, body: { model: 'override-model' }, model: 'override-model' },
    { name: 'the body\'s model over the character\'s', character: { model: 'character-model' }, body: { model: 'override-model' }, model: 'override-model' },
  ])('uses and records $name', async ({ character, body, model }) => {
    const persona = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Modeled', agent_role: 'Be brief.', ...character })
    const session = await sessionWithQuestion('Which model?', { character_id: persona.id })
    const { result: response, requests } = await onTheWire(() => generate(session.id, body))
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json<MessageView>().model).toBe(model)
    expect((await getMessage(response.json<MessageView>().id)).model).toBe(model)
    expect(requests[0]!.body.model).toBe(model)
  })

  it('sends the character\'s temperature', async () => {
    const persona = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Warm', agent_role: 'Be creative.', temperature: 1.25 })
    const session = await sessionWithQuestion('Hot or cold?', { character_id: persona.id })
    const { requests } = await onTheWire(() => generate(session.id))
    expect(requests[0]!.body.temperature).toBe(1.25)
  })

  it('answers JSON when the body says stream: false, even with Accept: text/event-stream', async () => {
    const session = await sessionWithQuestion()
    const response = await call('POST', generateUrl(session.id), { stream: false }, writer, { accept: 'text/event-stream' })
    expect(response.statusCode, response.body).toBe(201)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.json<MessageView>().status).toBe('complete')
  })
})

describe('CHAT_HISTORY_MESSAGES', () => {
  it('limits the history on the wire to the latest messages', async () => {
    const short = await createTestApp({ db: t.db, env: llmEnv(llm, { CHAT_HISTORY_MESSAGES: '2' }) })
    try {
      const session = await createSession()
      for (const [sender, content] of [
        ['user', 'u1'],
        ['ai', 'a1'],
        ['user', 'u2'],
        ['ai', 'a2'],
        ['user', 'u3'],
      ] as const) {
        await addMessage(session.id, { sender, content })
      }
      const { result: response, requests } = await onTheWire(() => generate(session.id, {}, writer, short))
      expect(response.statusCode, response.body).toBe(201)
      expect(requests[0]!.body.messages).toEqual([
        { role: 'system', content: ROLE },
        { role: 'assistant', content: 'a2' },
        { role: 'user', content: 'u3' },
      ])
    } finally {
      await short.close()
    }
  })
})

describe('streaming', () => {
  it.each([
    { name: 'Accept: text/event-stream', body: {}, headers: { accept: 'text/event-stream' } },
    { name: 'stream: true without Accept', body: { stream: true }, headers: {} as Record<string, string> },
    { name: 'stream: true with Accept: application/json', body: { stream: true }, headers: { accept: 'application/json' } },
  ])('with $name: message, contiguous deltas whose ids are their end offsets, then done', async ({ body, headers }) => {
    const session = await sessionWithQuestion()
    const tokens = ['Lis', 'bon', ' is', ' lovely', ' in', ' May', ' — ', 'go', '!']
    llm.script({ tokens, delayMs: 5 })
    const stream = await postSse(generateUrl(session.id), body, headers)
    try {
      expect(stream.status).toBe(200)
      expect(stream.response.headers['content-type']).toMatch(/^text\/event-stream/)
      await stream.waitFor('the end of the stream', isEnded, WAIT_MS)
      await stream.waitFor('the connection to close', (s) => s.ended, WAIT_MS)
      const { first, text, last } = checkStream(stream, 0)
      expect(first).toMatchObject({ session_id: session.id, sender: 'ai', character_id: guide.id, model: DEFAULT_MODEL })
      expect(['pending', 'in_progress']).toContain(first.status)
      expect(text).toBe(tokens.join(''))
      expect(last).toMatchObject({ id: first.id, status: 'complete', content: tokens.join('') })
      expect(stream.events.filter((event) => event.event === 'done')).toHaveLength(1)
      expect(await getMessage(first.id)).toMatchObject({ status: 'complete', content: tokens.join('') })
    } finally {
      stream.close()
    }
  })

  it('ends with an error event (with the failed message) when the provider fails mid-stream', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: ['One', ' two', ' three', ' four'], failAfter: 2 })
    const stream = await postSse(generateUrl(session.id), {})
    try {
      await stream.waitFor('the end of the stream', isEnded, WAIT_MS)
      const { first, text, last } = checkStream(stream, 0, 'error')
      expect(text).toBe('One two')
      const error = last as unknown as { error: string; message: MessageView }
      expect(error.error).toEqual(expect.any(String))
      expect(error.error.length).toBeGreaterThan(0)
      expect(error.message).toMatchObject({ id: first.id, status: 'failed', partial_content: 'One two', content: '' })
      expect(await getMessage(first.id)).toMatchObject({ status: 'failed', partial_content: 'One two' })
    } finally {
      stream.close()
    }
  })

  it('answers 409 as a problem, not a stream, when a generation is running', async () => {
    const session = await sessionWithQuestion()
    llm.script({ hold: 1 })
    const first = await postSse(generateUrl(session.id), {})
    try {
      await llm.held()
      const second = await generate(session.id, { stream: true })
      expectProblem(second, 409, generateUrl(session.id), 'conflict')
      expect(llm.release()).toBe(1)
      await first.waitFor('the first stream to end', isEnded, WAIT_MS)
      expect(checkStream(first, 0).last.status).toBe('complete')
    } finally {
      first.close()
    }
  })
})

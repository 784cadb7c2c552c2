import { beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'
import { chatCalls, chatFixture, deltasOf, deltaText, expectWholeStream, generateUrl, gptKeys, messageReads, MISSING_ID, postSse as post, streamUrl, until, WAIT_MS } from './helpers/chat.js'
import type { FakeLlmServer } from './helpers/fake-llm-server.js'
import { expectProblem } from './helpers/problem.js'
import { openSseStream, type SseStream } from './helpers/sse.js'
import { bearer, type TestApp } from './helpers/test-app.js'

/**
 * Generations over real HTTP: a client that goes away does not stop them, and GET
 * /v1/messages/{id}/stream reattaches from an offset (query or Last-Event-ID). Other processes and
 * crashes: chat.stream.processes.test.ts.
 */

const GPT = 'stream-gpt'
const OTHER = 'stream-other'
const TOKENS = ['Once', ' upon', ' a', ' time', ' there', ' was', ' a', ' small', ' river', '.']
const FULL = TOKENS.join('')

const chat = chatFixture({ PARTIAL_SAVE_MS: '50' })
let llm: FakeLlmServer
let t: TestApp
let base: string
let writer: string
let otherWriter: string
let character: { id: string }
const { call, ok, sessionWithQuestion } = chatCalls(() => ({ app: t, token: writer, gpt: GPT, character, question: 'Tell me a story.' }))
const { aiMessage, settled } = messageReads(ok)

beforeAll(async () => {
  ;({ llm, t, base } = chat)
  ;({ writer, otherWriter } = await gptKeys(t, GPT, OTHER))
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, { name: 'Teller', agent_role: 'You tell stories.' })
})

const follow = (path: string, headers: Record<string, string> = {}, token = writer, at = base) => openSseStream(`${at}${path}`, { ...bearer(token), ...headers })

const postSse = (path: string, body: unknown): Promise<SseStream> => post(`${base}${path}`, body, { ...bearer(writer), accept: 'text/event-stream' })
const connections = () => new Promise<number>((resolve, reject) => t.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))))

describe('a client that disconnects', () => {
  it('does not stop the generation: the message still completes with the whole reply', async () => {
    const session = await sessionWithQuestion()
    const baseline = await connections()
    llm.script({ tokens: TOKENS, hold: 3 })
    const stream = await postSse(generateUrl(session.id), {})
    await stream.waitFor('two deltas', (s) => deltaText(s).length >= 'Once upon'.length, WAIT_MS)
    const id = (JSON.parse(stream.events[0]!.data) as MessageView).id
    stream.close()
    // The server saw the client go away before the provider goes on.
    await until('the server to see the disconnect', async () => (await connections()) <= baseline)
    expect(llm.release()).toBe(1)
    const message = await settled(id)
    expect(message).toMatchObject({ status: 'complete', content: FULL, partial_content: FULL, error_message: null })
    // The provider's stream was read to its end, not cut.
    await until('the provider stream to close', () => llm.openStreams() === 0)
  })
})

describe('reattaching with GET /v1/messages/{id}/stream', () => {
  it.each([
    { name: 'offset 0', offset: 0 },
    { name: 'an offset inside the text so far', offset: 6 },
    { name: 'the offset where the text so far ends', offset: 'Once upon a'.length },
    { name: 'an offset past the text so far', offset: 'Once upon a time there'.length },
  ])('mid-generation from $name: the text after it, then the live deltas, then done', async ({ offset }) => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 3 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const { id } = await aiMessage(session.id)
    const stream = await follow(streamUrl(id, offset))
    try {
      await stream.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)
      const first = JSON.parse(stream.events[0]!.data) as MessageView
      expect(first).toMatchObject({ id, status: 'in_progress' })
      // What was generated before the stream opened is replayed before anything live.
      if (offset < 'Once upon a'.length) {
        await stream.waitFor('the replayed text', (s) => deltaText(s) === 'Once upon a'.slice(offset), WAIT_MS)
      }
      expect(llm.release()).toBe(1)
      const done = await expectWholeStream(stream, offset)
      expect(done).toMatchObject({ id, status: 'complete', content: FULL })
      expect(FULL.slice(0, offset) + deltaText(stream)).toBe(FULL)
      expect((await running).statusCode).toBe(201)
    } finally {
      stream.close()
    }
  })

  it('serves several followers of one generation the same text', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 2, delayMs: 2 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const { id } = await aiMessage(session.id)
    const streams = await Promise.all([follow(streamUrl(id)), follow(streamUrl(id, 3)), follow(streamUrl(id), { 'last-event-id': '5' })])
    try {
      await Promise.all(streams.map((stream) => stream.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)))
      llm.release()
      for (const [stream, offset] of [
        [streams[0]!, 0],
        [streams[1]!, 3],
        [streams[2]!, 5],
      ] as const) {
        await expectWholeStream(stream, offset)
        expect(deltaText(stream)).toBe(FULL.slice(offset))
      }
      expect((await running).statusCode).toBe(201)
    } finally {
      for (const stream of streams) stream.close()
    }
  })

  it('after completion: replays from the offset and ends at once', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS })
    const message = (await call('POST', generateUrl(session.id), {})).json<MessageView>()
    expect(message.content).toBe(FULL)
    for (const offset of [undefined, 0, 5, FULL.length - 1, FULL.length, FULL.length + 10]) {
      const stream = await follow(streamUrl(message.id, offset))
      try {
        const done = await expectWholeStream(stream, offset ?? 0)
        expect(done).toMatchObject({ id: message.id, status: 'complete', content: FULL })
        expect(deltaText(stream)).toBe(FULL.slice(offset ?? 0))
        expect(deltasOf(stream).length).toBe((offset ?? 0) < FULL.length ? 1 : 0)
      } finally {
        stream.close()
      }
    }
  })

  it('takes the offset from Last-Event-ID (the query wins when both are given)', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS })
    const message = (await call('POST', generateUrl(session.id), {})).json<MessageView>()
    const byHeader = await follow(streamUrl(message.id), { 'last-event-id': '9' })
    const both = await follow(streamUrl(message.id, 4), { 'last-event-id': '9' })
    try {
      await expectWholeStream(byHeader, 9)
      expect(deltaText(byHeader)).toBe(FULL.slice(9))
      await expectWholeStream(both, 4)
      expect(deltaText(both)).toBe(FULL.slice(4))
    } finally {
      byHeader.close()
      both.close()
    }
  })

  it('reconnecting with the last id seen picks up exactly where the first stream stopped', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 4 })
    const first = await postSse(generateUrl(session.id), {})
    await llm.held()
    await first.waitFor('the held text', (s) => deltaText(s) === 'Once upon a time', WAIT_MS)
    const id = (JSON.parse(first.events[0]!.data) as MessageView).id
    const lastId = deltasOf(first).at(-1)!.id!
    const seen = deltaText(first)
    first.close()
    const second = await follow(streamUrl(id), { 'last-event-id': lastId })
    try {
      await second.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)
      llm.release()
      await expectWholeStream(second, Number(lastId))
      expect(seen + deltaText(second)).toBe(FULL)
    } finally {
      second.close()
    }
  })

  it('ends a failed message\'s stream with its kept text and an error event', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, failAfter: 4 })
    const problem = expectProblem(await call('POST', generateUrl(session.id), {}), 502, generateUrl(session.id), 'bad-gateway')
    const stream = await follow(streamUrl(problem.message_id as string, 5))
    try {
      const error = await expectWholeStream(stream, 5, 'error')
      expect(deltaText(stream)).toBe('Once upon a time'.slice(5))
      expect(error.error).toEqual(expect.any(String))
      expect(error.message).toMatchObject({ id: problem.message_id, status: 'failed', partial_content: 'Once upon a time' })
    } finally {
      stream.close()
    }
  })

  it('tells followers when the message is deleted mid-generation; the generate request answers 404', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 2 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const { id } = await aiMessage(session.id)
    const stream = await follow(streamUrl(id))
    try {
      await stream.waitFor('the message event', (s) => s.events.length >= 1, WAIT_MS)
      expect((await call('DELETE', `/v1/sessions/${session.id}`)).statusCode).toBe(204)
      llm.release()
      const end = await expectWholeStream(stream, 0, 'error')
      expect(end).toMatchObject({ message: null })
      expectProblem(await running, 404, generateUrl(session.id), 'not-found')
    } finally {
      stream.close()
    }
  })

  it('answers 404 for an unknown message and another GPT\'s, 422 for a bad offset', async () => {
    const theirs = await ok<SessionView>('POST', `/v1/gpts/${OTHER}/sessions`, { user_id: 'alice' }, otherWriter)
    const theirMessage = await ok<MessageView>('POST', `/v1/sessions/${theirs.id}/messages`, { sender: 'ai', status: 'failed', partial_content: 'their secret', error_message: 'x' }, otherWriter)
    for (const id of [MISSING_ID, theirMessage.id]) {
      const response = await call('GET', streamUrl(id), undefined, writer, { accept: 'text/event-stream' })
      expectProblem(response, 404, streamUrl(id), 'not-found')
      expect(response.body).not.toContain('their secret')
    }
    const session = await sessionWithQuestion()
    const { id } = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', content: 'done already' })
    for (const query of ['offset=-1', 'offset=1.5', 'offset=abc', 'from=1']) {
      const url = `/v1/messages/${id}/stream?${query}`
      expectProblem(await call('GET', url), 422, url, 'validation-failed')
    }
    expectProblem(await call('GET', streamUrl(id), undefined, writer, { 'last-event-id': 'abc' }), 422, streamUrl(id), 'validation-failed')
    expectProblem(await call('GET', '/v1/messages/nope/stream'), 422, '/v1/messages/nope/stream', 'validation-failed')
  })
})

describe('a message a client generates itself (PATCH progress)', () => {
  it('streams its saved progress to followers, then its end', async () => {
    const session = await sessionWithQuestion()
    const message = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Once' })
    const stream = await follow(streamUrl(message.id))
    await stream.waitFor('the stored text', (s) => deltaText(s) === 'Once', WAIT_MS)
    await ok('PATCH', `/v1/messages/${message.id}`, { partial_content: 'Once upon' })
    await stream.waitFor('the PATCHed progress', (s) => deltaText(s) === 'Once upon', WAIT_MS)
    await ok('PATCH', `/v1/messages/${message.id}`, { status: 'complete', content: 'Once upon a time.' })
    const done = await expectWholeStream(stream, 0)
    expect(done).toMatchObject({ id: message.id, status: 'complete', content: 'Once upon a time.' })
    expect(deltaText(stream)).toBe('Once upon a time.')
  })
})

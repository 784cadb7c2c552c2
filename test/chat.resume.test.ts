import { request as httpRequest } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CONTINUE_INSTRUCTION, offlineReply, OFFLINE_RESTART_SEPARATOR } from '../src/platform/llm/index.js'
import { startFakeLlmServer, type FakeLlmRequest, type FakeLlmServer } from './helpers/fake-llm-server.js'
import { expectProblem } from './helpers/problem.js'
import { SseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'

/**
 * POST /v1/sessions/{id}/resume: a reply the provider broke off is continued from the text it kept,
 * the final content being that text plus the continuation, exactly once — with OpenAI (continue
 * instruction), Anthropic (assistant prefill) and the offline provider.
 */

interface Character {
  id: string
}
interface Delta {
  offset: number
  text: string
}

const GPT = 'resume-gpt'
const OTHER = 'resume-other'
const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'
const ROLE = 'You are Scribe. You finish sentences.'
const QUESTION = 'Tell me about the fox.'
const WAIT_MS = 15_000

let llm: FakeLlmServer
/** OpenAI-compatible provider; listening, for the streaming tests. */
let openai: TestApp
/** The same database, through the Anthropic provider. */
let anthropic: TestApp
/** The same database, through the offline provider (no LLM settings). */
let offline: TestApp
let base: string
let writer: string
let reader: string
let otherWriter: string
let scribe: Character

beforeAll(async () => {
  llm = await startFakeLlmServer()
  openai = await createTestApp({ env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.openaiBaseUrl, LLM_API_KEY: 'sk-test', LLM_MODEL: 'gpt-fake' } })
  anthropic = await createTestApp({
    db: openai.db,
    env: { LLM_PROVIDER: 'anthropic', LLM_BASE_URL: llm.url, LLM_API_KEY: 'sk-ant-test', LLM_MODEL: 'claude-fake' },
  })
  offline = await createTestApp({ db: openai.db })
  await openai.app.listen({ port: 0, host: '127.0.0.1' })
  const address = openai.app.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  writer = (await createGptWithKey(openai.services, GPT)).token
  reader = (await createGptWithKey(openai.services, GPT, ['read'])).token
  otherWriter = (await createGptWithKey(openai.services, OTHER)).token
  scribe = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Scribe', agent_role: ROLE })
})

afterAll(async () => {
  await offline?.close()
  await anthropic?.close()
  await openai?.close()
  await llm?.close()
})

beforeEach(() => {
  llm.setDefault({})
  llm.release()
})

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, payload?: unknown, token = writer, app = openai): Promise<LightMyRequestResponse> {
  return injectJson(app.app, method, url, bearer(token), payload)
}

async function ok<T>(method: Method, url: string, payload?: unknown, token = writer): Promise<T> {
  const response = await call(method, url, payload, token)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : 200)
  return response.json<T>()
}

const resumeUrl = (sessionId: string) => `/v1/sessions/${sessionId}/resume`
const generateUrl = (sessionId: string) => `/v1/sessions/${sessionId}/generate`
const getMessage = (id: string) => ok<MessageView>('GET', `/v1/messages/${id}`)
const aiMessages = async (sessionId: string) =>
  (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${sessionId}/messages`)).messages.filter((message) => message.sender === 'ai')

async function sessionWithQuestion(question = QUESTION, gpt = GPT, token = writer, characterId: string | null = scribe.id): Promise<SessionView> {
  const session = await ok<SessionView>('POST', `/v1/gpts/${gpt}/sessions`, { user_id: 'alice', character_id: characterId }, token)
  await ok('POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: question }, token)
  return session
}

async function onTheWire<T>(action: () => Promise<T>): Promise<{ result: T; requests: FakeLlmRequest[] }> {
  const before = llm.requests.length
  const result = await action()
  return { result, requests: llm.requests.slice(before) }
}

/** Generates through `app` with the provider failing after `failAfter` tokens; returns the failed message. */
async function failedReply(app: TestApp, sessionId: string, tokens: string[], failAfter: number): Promise<MessageView> {
  llm.script({ tokens, failAfter })
  const response = await call('POST', generateUrl(sessionId), {}, writer, app)
  const problem = expectProblem(response, 502, generateUrl(sessionId), 'bad-gateway')
  const failed = await getMessage(problem.message_id as string)
  expect(failed).toMatchObject({ status: 'failed', content: '', partial_content: tokens.slice(0, failAfter).join('') })
  expect(failed.error_message).toEqual(expect.any(String))
  return failed
}

function postSse(path: string, body: unknown): Promise<SseStream> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${base}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: { ...bearer(writer), accept: 'text/event-stream', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) },
      },
      (response) => resolve(new SseStream(response, request)),
    )
    request.on('error', reject)
    request.end(payload)
  })
}

const isEnded = (stream: SseStream) => stream.ended || stream.events.some((event) => event.event === 'done' || event.event === 'error')

describe.each([
  {
    provider: 'openai',
    app: () => openai,
    /** Asked to continue "The quick ", a chat-completions model starts right after the space. */
    afterSpace: ['brown', ' fox.'],
    /** The resumed request ends with the partial as the assistant's turn and the instruction to go on. */
    checkWire(request: FakeLlmRequest, partial: string) {
      expect(request.path).toBe('/v1/chat/completions')
      const messages = request.body.messages!
      expect(messages[0]).toEqual({ role: 'system', content: ROLE })
      expect(messages.slice(1)).toEqual([
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: partial },
        { role: 'user', content: CONTINUE_INSTRUCTION },
      ])
    },
  },
  {
    provider: 'anthropic',
    app: () => anthropic,
    /** Prefilled with "The quick" (trimmed), the model writes the space again. */
    afterSpace: [' brown', ' fox.'],
    /** The resumed request ends with the partial (trailing whitespace trimmed) as the assistant prefill. */
    checkWire(request: FakeLlmRequest, partial: string) {
      expect(request.path).toBe('/v1/messages')
      // The key goes as x-api-key or as a bearer token, depending on the SDK version.
      expect([request.headers['x-api-key'], request.headers.authorization]).toContainEqual(expect.stringMatching(/^(Bearer )?sk-ant-test$/))
      expect(request.body.system).toBe(ROLE)
      expect(request.body.messages).toEqual([
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: partial.trimEnd() },
      ])
    },
  },
])('resume through $provider', ({ app, checkWire, afterSpace }) => {
  it('continues a reply broken off mid-stream: content = partial + continuation, once, in the same message', async () => {
    const session = await sessionWithQuestion()
    const failed = await failedReply(app(), session.id, ['The', ' quick', ' brown', ' fox'], 2)
    llm.script({ tokens: [' brown', ' fox', ' jumps.'] })
    const { result: response, requests } = await onTheWire(() => call('POST', resumeUrl(session.id), {}, writer, app()))
    expect(response.statusCode, response.body).toBe(200)
    const message = response.json<MessageView>()
    expect(message).toMatchObject({ id: failed.id, status: 'complete', content: 'The quick brown fox jumps.', error_message: null, model: failed.model })
    expect(await getMessage(failed.id)).toMatchObject({ status: 'complete', content: 'The quick brown fox jumps.' })
    expect(await aiMessages(session.id)).toHaveLength(1)
    expect(requests).toHaveLength(1)
    checkWire(requests[0]!, 'The quick')
    expect(requests[0]!.body.model).toBe(failed.model)
    // Complete now: nothing left to resume.
    expectProblem(await call('POST', resumeUrl(session.id), {}, writer, app()), 409, resumeUrl(session.id), 'conflict')
  })

  it('keeps the partial\'s trailing whitespace exactly once', async () => {
    const session = await sessionWithQuestion()
    const failed = await failedReply(app(), session.id, ['The ', 'quick ', 'brown'], 2)
    expect(failed.partial_content).toBe('The quick ')
    llm.script({ tokens: afterSpace })
    const { result: response, requests } = await onTheWire(() => call('POST', resumeUrl(session.id), {}, writer, app()))
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MessageView>().content).toBe('The quick brown fox.')
    checkWire(requests[0]!, 'The quick ')
  })

  it('fails again keeping all the text, and a second resume finishes it', async () => {
    const session = await sessionWithQuestion()
    const failed = await failedReply(app(), session.id, ['One', ' two', ' three'], 1)
    llm.script({ tokens: [' two', ' three', ' four'], failAfter: 1 })
    const again = await call('POST', resumeUrl(session.id), {}, writer, app())
    const problem = expectProblem(again, 502, resumeUrl(session.id), 'bad-gateway')
    expect(problem).toMatchObject({ message_id: failed.id, session_id: session.id })
    expect(await getMessage(failed.id)).toMatchObject({ status: 'failed', partial_content: 'One two' })
    llm.script({ tokens: [' three', ' four.'] })
    const { result: response, requests } = await onTheWire(() => call('POST', resumeUrl(session.id), {}, writer, app()))
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MessageView>()).toMatchObject({ id: failed.id, status: 'complete', content: 'One two three four.' })
    checkWire(requests[0]!, 'One two')
  })

  it('resumes a failed message that kept no text as a plain generation', async () => {
    const session = await sessionWithQuestion()
    llm.script({ status: 500 })
    const problem = expectProblem(await call('POST', generateUrl(session.id), {}, writer, app()), 502, generateUrl(session.id), 'bad-gateway')
    llm.script({ tokens: ['Fresh', ' start.'] })
    const { result: response, requests } = await onTheWire(() => call('POST', resumeUrl(session.id), {}, writer, app()))
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MessageView>()).toMatchObject({ id: problem.message_id, status: 'complete', content: 'Fresh start.' })
    const turns = requests[0]!.body.messages!.filter((turn) => turn.role !== 'system')
    expect(turns).toEqual([{ role: 'user', content: QUESTION }])
  })
})

describe('resume through openai', () => {
  it('drops a continuation that starts the reply over, keeping the text once', async () => {
    const session = await sessionWithQuestion()
    await failedReply(openai, session.id, ['The', ' quick', ' brown'], 2)
    llm.script({ tokens: ['The', ' quick', ' brown', ' fox.'] })
    const response = await call('POST', resumeUrl(session.id), {})
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MessageView>().content).toBe('The quick brown fox.')
  })

  it('resumes a pending AI message stored by a client', async () => {
    const session = await sessionWithQuestion()
    const pending = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'pending' })
    llm.script({ tokens: ['Now', ' done.'] })
    const response = await call('POST', resumeUrl(session.id), {})
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MessageView>()).toMatchObject({ id: pending.id, status: 'complete', content: 'Now done.' })
  })

  it('uses the model and the character named in the body', async () => {
    const other = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Poet', agent_role: 'Rhyme.' })
    const session = await sessionWithQuestion()
    const failed = await failedReply(openai, session.id, ['Roses', ' are'], 1)
    llm.script({ tokens: [' red.'] })
    const { result: response, requests } = await onTheWire(() => call('POST', resumeUrl(session.id), { model: 'gpt-other', character_id: other.id }))
    expect(response.statusCode, response.body).toBe(200)
    // The stored message names what wrote it now.
    expect(response.json<MessageView>()).toMatchObject({ id: failed.id, content: 'Roses red.', status: 'complete', model: 'gpt-other', character_id: other.id })
    expect(requests[0]!.body.model).toBe('gpt-other')
    expect(requests[0]!.body.messages![0]).toEqual({ role: 'system', content: 'Rhyme.' })
  })

  it('streams from the end of the kept text: deltas start at offset = partial length', async () => {
    const session = await sessionWithQuestion()
    const failed = await failedReply(openai, session.id, ['Stream', 'ing', ' from', ' here'], 2)
    expect(failed.partial_content).toBe('Streaming')
    llm.script({ tokens: [' from', ' here', ' on.'], delayMs: 5 })
    const stream = await postSse(resumeUrl(session.id), {})
    try {
      expect(stream.status).toBe(200)
      await stream.waitFor('the end of the stream', isEnded, WAIT_MS)
      const names = stream.events.map((event) => event.event)
      expect(names[0], stream.raw).toBe('message')
      expect(names[names.length - 1], stream.raw).toBe('done')
      expect(names.slice(1, -1).every((name) => name === 'delta')).toBe(true)
      const deltas = stream.events.filter((event) => event.event === 'delta').map((event) => ({ ...(JSON.parse(event.data) as Delta), id: event.id }))
      expect(deltas.length).toBeGreaterThan(0)
      let offset = 'Streaming'.length
      for (const delta of deltas) {
        expect(delta.offset, stream.raw).toBe(offset)
        offset += delta.text.length
        expect(delta.id).toBe(String(offset))
      }
      const done = JSON.parse(stream.events[stream.events.length - 1]!.data) as MessageView
      expect(done).toMatchObject({ id: failed.id, status: 'complete', content: 'Streaming from here on.' })
      expect('Streaming' + deltas.map((delta) => delta.text).join('')).toBe(done.content)
    } finally {
      stream.close()
    }
  })
})

describe('refusals', () => {
  it('answers 404 when the session has no AI message', async () => {
    const session = await sessionWithQuestion()
    const before = llm.requests.length
    const problem = expectProblem(await call('POST', resumeUrl(session.id), {}), 404, resumeUrl(session.id), 'not-found')
    expect(problem.detail).toMatch(/no AI message/i)
    expect(llm.requests.length).toBe(before)
  })

  it('answers 404 for an unknown session and for another GPT\'s, touching nothing of it', async () => {
    const theirs = await sessionWithQuestion('their question', OTHER, otherWriter, null)
    const theirMessage = await ok<MessageView>('POST', `/v1/sessions/${theirs.id}/messages`, { sender: 'ai', status: 'failed', partial_content: 'their half', error_message: 'x' }, otherWriter)
    for (const id of [MISSING_ID, theirs.id]) expectProblem(await call('POST', resumeUrl(id), {}), 404, resumeUrl(id), 'not-found')
    expect(await ok<MessageView>('GET', `/v1/messages/${theirMessage.id}`, undefined, otherWriter)).toMatchObject({ status: 'failed', partial_content: 'their half' })
  })

  it('answers 409 when the last AI message is complete (an older failed one is not resumed)', async () => {
    const session = await sessionWithQuestion()
    await ok('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'failed', partial_content: 'old', error_message: 'x' })
    await ok('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', content: 'A finished reply.' })
    const problem = expectProblem(await call('POST', resumeUrl(session.id), {}), 409, resumeUrl(session.id), 'conflict')
    expect(problem.detail).toMatch(/complete/i)
  })

  it('answers 409 while a generation (or a resume) runs for the session', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: ['Held', ' reply'], hold: 1 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    expectProblem(await call('POST', resumeUrl(session.id), {}), 409, resumeUrl(session.id), 'conflict')
    expect(llm.release()).toBe(1)
    expect((await running).statusCode).toBe(201)

    await failedReply(openai, session.id, ['Half', ' way'], 1)
    llm.script({ tokens: [' way', ' there.'], hold: 1 })
    const resuming = call('POST', resumeUrl(session.id), {})
    await llm.held()
    expectProblem(await call('POST', resumeUrl(session.id), {}), 409, resumeUrl(session.id), 'conflict')
    expectProblem(await call('POST', generateUrl(session.id), {}), 409, generateUrl(session.id), 'conflict')
    expect(llm.release()).toBe(1)
    const resumed = await resuming
    expect(resumed.statusCode, resumed.body).toBe(200)
    expect(resumed.json<MessageView>().content).toBe('Half way there.')
  })

  it('answers 409 in another process (app) over the same database while a generation runs in this one', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: ['Only', ' this', ' process', ' writes.'], hold: 2 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const before = llm.requests.length
    // anthropic is a second app over the same database: another process, as far as the lease goes.
    expectProblem(await call('POST', resumeUrl(session.id), {}, writer, anthropic), 409, resumeUrl(session.id), 'conflict')
    expectProblem(await call('POST', generateUrl(session.id), {}, writer, anthropic), 409, generateUrl(session.id), 'conflict')
    expect(llm.requests.length).toBe(before)
    expect(llm.release()).toBe(1)
    const finished = await running
    expect(finished.statusCode, finished.body).toBe(201)
    expect(finished.json<MessageView>()).toMatchObject({ status: 'complete', content: 'Only this process writes.' })
    expect(await aiMessages(session.id)).toHaveLength(1)
  })

  it.each([
    { name: 'unknown character', body: { character_id: MISSING_ID }, pointer: '/character_id' },
    { name: 'character_id not a uuid', body: { character_id: 'x' }, pointer: '/character_id' },
    { name: 'empty model', body: { model: '' }, pointer: '/model' },
    { name: 'unknown member', body: { partial: 'x' }, pointer: '/partial' },
  ])('answers 422 for $name and leaves the message failed', async ({ body, pointer }) => {
    const session = await sessionWithQuestion()
    const failed = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'failed', partial_content: 'kept', error_message: 'x' })
    const response = await call('POST', resumeUrl(session.id), body)
    const problem = expectProblem(response, 422, resumeUrl(session.id), 'validation-failed')
    expect(problem.errors!.map((error) => error.pointer)).toContain(pointer)
    expect(await getMessage(failed.id)).toMatchObject({ status: 'failed', partial_content: 'kept' })
    // Nor does a refused resume hold the session.
    llm.script({ tokens: [' and', ' more.'] })
    expect((await call('POST', resumeUrl(session.id), {})).json<MessageView>().content).toBe('kept and more.')
  })

  it('needs the write scope', async () => {
    const session = await sessionWithQuestion()
    expectProblem(await call('POST', resumeUrl(session.id), {}, reader), 403, resumeUrl(session.id), 'forbidden')
  })
})

describe('resume through the offline provider', () => {
  const expected = (question: string) => offlineReply(ROLE, [{ role: 'user', content: question }])

  it.each([
    { name: 'a few words', cut: (reply: string) => reply.slice(0, reply.indexOf(' ', 12)) },
    { name: 'up to a space', cut: (reply: string) => reply.slice(0, reply.indexOf(' ', 12) + 1) },
    { name: 'mid-word', cut: (reply: string) => reply.slice(0, 15) },
    { name: 'nothing', cut: () => '' },
    { name: 'all but the last character', cut: (reply: string) => reply.slice(0, -1) },
  ])('completes a failed message whose partial is a prefix of its reply ($name) to exactly the reply', async ({ cut }) => {
    const question = 'Where does the quick brown fox sleep?'
    const session = await sessionWithQuestion(question)
    const reply = expected(question)
    const partial = cut(reply)
    expect(reply.startsWith(partial)).toBe(true)
    const failed = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, {
      sender: 'ai',
      status: 'failed',
      partial_content: partial,
      error_message: 'connection lost',
    })
    const response = await call('POST', resumeUrl(session.id), {}, writer, offline)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MessageView>()).toMatchObject({ id: failed.id, status: 'complete', content: reply, error_message: null })
    expect(await getMessage(failed.id)).toMatchObject({ status: 'complete', content: reply })
  })

  it('a fresh offline generation is the same reply, and a partial that is not a prefix is kept, then the reply', async () => {
    const question = 'And the lazy dog?'
    const session = await sessionWithQuestion(question)
    const generated = await call('POST', generateUrl(session.id), {}, writer, offline)
    expect(generated.statusCode, generated.body).toBe(201)
    expect(generated.json<MessageView>().content).toBe(expected(question))

    const other = await sessionWithQuestion(question)
    await ok('POST', `/v1/sessions/${other.id}/messages`, { sender: 'ai', status: 'failed', partial_content: 'Something else', error_message: 'x' })
    const response = await call('POST', resumeUrl(other.id), {}, writer, offline)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MessageView>().content).toBe(`Something else${OFFLINE_RESTART_SEPARATOR}${expected(question)}`)
  })

  it('resumes a generation marked interrupted to exactly the reply', async () => {
    const question = 'Interrupted?'
    const session = await sessionWithQuestion(question)
    const reply = expected(question)
    const stuck = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: reply.slice(0, 20) })
    // No live generation holds its session: the periodic recovery marks it.
    expect(await offline.services.generation.recoverInterrupted(false)).toBeGreaterThanOrEqual(1)
    expect(await getMessage(stuck.id)).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/interrupted/) })
    const response = await call('POST', resumeUrl(session.id), {}, writer, offline)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json<MessageView>()).toMatchObject({ id: stuck.id, status: 'complete', content: reply })
  })
})

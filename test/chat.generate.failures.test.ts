import type { LightMyRequestResponse } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import { type Character, chatCalls, chatFixture, fakeLlmEnv, generateUrl, gptKeys, messageReads, MISSING_ID, onTheWire as wire, pointers, until, UUID } from './helpers/chat.js'
import type { FakeLlmScript, FakeLlmServer } from './helpers/fake-llm-server.js'
import { expectProblem } from './helpers/problem.js'
import { createTestApp, type TestApp } from './helpers/test-app.js'

/**
 * POST /v1/sessions/{id}/generate against a fake OpenAI-compatible server: the one-generation-per-session
 * rule, refusals, and provider failures.
 */

const GPT = 'gen-gpt'
const OTHER = 'gen-other'
const DEFAULT_MODEL = 'fake-default-model'
const ROLE = 'You are Guide, a terse travel assistant.'

const chat = chatFixture({ LLM_MODEL: DEFAULT_MODEL })
let llm: FakeLlmServer
let t: TestApp
let writer: string
let reader: string
let otherWriter: string
let guide: Character
let otherCharacter: Character
const { call, ok, createSession, addMessage, sessionWithQuestion, generate } = chatCalls(() => ({ app: t, token: writer, gpt: GPT, character: guide }))
const { getMessage } = messageReads(ok)

beforeAll(async () => {
  ;({ llm, t } = chat)
  ;({ writer, reader, otherWriter } = await gptKeys(t, GPT, OTHER))
  guide = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Guide', agent_role: ROLE })
  otherCharacter = await ok<Character>('POST', `/v1/gpts/${OTHER}/characters`, { name: 'Theirs', agent_role: 'Other secret role' }, otherWriter)
})

/** The requests the fake provider received while `action` ran. */
const onTheWire = <T>(action: () => Promise<T>) => wire(llm, action)
const llmEnv = (server: FakeLlmServer, extra: Record<string, string> = {}) => ({ ...fakeLlmEnv(server), LLM_MODEL: DEFAULT_MODEL, ...extra })

describe('one generation per session', () => {
  it('answers exactly one of two simultaneous generates with 409, while the other is still running', async () => {
    const session = await sessionWithQuestion()
    llm.setDefault({ hold: 1 })
    const before = llm.requests.length
    const answered: LightMyRequestResponse[] = []
    const both = [generate(session.id), generate(session.id)].map((pending) => pending.then((response) => (answered.push(response), response)))
    await llm.held()
    // The loser does not wait for the winner, which is held until release().
    await until('the losing request to be answered', () => answered.length >= 1)
    expect(answered).toHaveLength(1)
    expect(expectProblem(answered[0]!, 409, generateUrl(session.id), 'conflict').detail).toMatch(/generation is running/i)
    expect(llm.release()).toBe(1)
    const responses = await Promise.all(both)
    expect(responses.map((response) => response.statusCode).sort()).toEqual([201, 409])
    expect(responses.find((response) => response.statusCode === 201)!.json<MessageView>().status).toBe('complete')
    expect(llm.requests.length - before).toBe(1)
    // The 409 stored nothing.
    const messages = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${session.id}/messages`)).messages
    expect(messages.map((message) => message.sender)).toEqual(['user', 'ai'])
  })

  it('answers 409 while a generation runs, and takes the next one after it ended', async () => {
    const session = await sessionWithQuestion()
    llm.script({ hold: 2 })
    const running = generate(session.id)
    await llm.held()
    expectProblem(await generate(session.id), 409, generateUrl(session.id), 'conflict')
    // The lease is per session: another session of the GPT generates meanwhile.
    const other = await sessionWithQuestion('Elsewhere')
    expect((await generate(other.id)).statusCode).toBe(201)
    expect(llm.release()).toBe(1)
    expect((await running).statusCode).toBe(201)
    expect((await generate(session.id)).statusCode).toBe(201)
  })

  it('frees the session after a failed generation', async () => {
    const session = await sessionWithQuestion()
    llm.script({ status: 500 })
    expect((await generate(session.id)).statusCode).toBe(502)
    expect((await generate(session.id)).statusCode).toBe(201)
  })
})

describe('refusals', () => {
  it('answers 404 for an unknown session and for another GPT\'s session, sending nothing to the provider', async () => {
    const theirs = await createSession({ character_id: otherCharacter.id }, OTHER, otherWriter)
    await addMessage(theirs.id, { sender: 'user', content: 'their secret' }, otherWriter)
    const before = llm.requests.length
    for (const id of [MISSING_ID, theirs.id]) {
      expectProblem(await generate(id), 404, generateUrl(id), 'not-found')
      expectProblem(await generate(id, { stream: true }), 404, generateUrl(id), 'not-found')
    }
    expect(llm.requests.length).toBe(before)
    const messages = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${theirs.id}/messages`, undefined, otherWriter)).messages
    expect(messages.map((message) => message.sender)).toEqual(['user'])
  })

  it('answers 422 at /character_id for a character that is unknown, deleted or another GPT\'s, storing nothing', async () => {
    const deleted = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Gone', agent_role: 'x' })
    expect((await call('DELETE', `/v1/characters/${deleted.id}`)).statusCode).toBe(204)
    const session = await sessionWithQuestion()
    const before = llm.requests.length
    for (const characterId of [MISSING_ID, deleted.id, otherCharacter.id]) {
      const response = await generate(session.id, { character_id: characterId })
      const problem = expectProblem(response, 422, generateUrl(session.id), 'validation-failed')
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/character_id', location: 'body' })])
    }
    expect(llm.requests.length).toBe(before)
    const messages = (await ok<{ messages: MessageView[] }>('GET', `/v1/sessions/${session.id}/messages`)).messages
    expect(messages.map((message) => message.sender)).toEqual(['user'])
  })

  it('replies without a system prompt when the session\'s own character was deleted since', async () => {
    const gone = await ok<Character>('POST', `/v1/gpts/${GPT}/characters`, { name: 'Soon gone', agent_role: 'Forgotten role' })
    const session = await sessionWithQuestion('Still there?', { character_id: gone.id })
    expect((await call('DELETE', `/v1/characters/${gone.id}`)).statusCode).toBe(204)
    const { result: response, requests } = await onTheWire(() => generate(session.id))
    expect(response.statusCode, response.body).toBe(201)
    expect(JSON.stringify(requests[0]!.body.messages)).not.toContain('Forgotten role')
  })

  it.each([
    { name: 'character_id not a uuid', body: { character_id: 'guide' }, pointer: '/character_id' },
    { name: 'character_id null', body: { character_id: null }, pointer: '/character_id' },
    { name: 'empty model', body: { model: '' }, pointer: '/model' },
    { name: 'model of 201 characters', body: { model: 'm'.repeat(201) }, pointer: '/model' },
    { name: 'model a number', body: { model: 4 }, pointer: '/model' },
    { name: 'stream "yes"', body: { stream: 'yes' }, pointer: '/stream' },
    { name: 'unknown member', body: { prompt: 'hi' }, pointer: '/prompt' },
  ])('answers 422 for $name at $pointer', async ({ body, pointer }) => {
    const session = await sessionWithQuestion()
    const response = await generate(session.id, body)
    expectProblem(response, 422, generateUrl(session.id), 'validation-failed')
    expect(pointers(response)).toContain(pointer)
  })

  it('answers 422 for a malformed session id', async () => {
    const response = await generate('not-a-uuid')
    expectProblem(response, 422, generateUrl('not-a-uuid'), 'validation-failed')
    expect(pointers(response)).toEqual(['/id'])
  })

  it('needs a key (401) with the write scope (403)', async () => {
    const session = await sessionWithQuestion()
    expectProblem(await generate(session.id, {}, reader), 403, generateUrl(session.id), 'forbidden')
    const anonymous = await t.app.inject({ method: 'POST', url: generateUrl(session.id), payload: {} })
    expectProblem(anonymous, 401, generateUrl(session.id), 'unauthorized')
  })
})

describe('provider failures', () => {
  it.each([
    { name: 'HTTP 401', script: { status: 401, errorMessage: 'Incorrect API key provided: sk-test' }, error: /401/ },
    { name: 'HTTP 500', script: { status: 500, errorMessage: 'The server had an error' }, error: /500/ },
    { name: 'HTTP 429', script: { status: 429 }, error: /429/ },
    { name: 'a connection cut after two tokens', script: { tokens: ['Half', ' a', ' reply'], failAfter: 2 }, error: /./, partial: 'Half a' },
    { name: 'an error chunk after one token', script: { tokens: ['Half', ' a'], failAfter: 1, failMode: 'error' as const, errorMessage: 'Overloaded now' }, error: /./, partial: 'Half' },
    { name: 'a clean end without finish_reason', script: { tokens: ['Cut', ' short'], failAfter: 2, failMode: 'end' as const }, error: /finish/, partial: 'Cut short' },
  ] satisfies { name: string; script: FakeLlmScript; error: RegExp; partial?: string }[])(
    '$name: 502 naming the message, which is stored failed with what was generated',
    async ({ script, error, partial }) => {
      const session = await sessionWithQuestion()
      llm.script(script)
      const response = await generate(session.id)
      const problem = expectProblem(response, 502, generateUrl(session.id), 'bad-gateway')
      expect(problem.session_id).toBe(session.id)
      expect(problem.message_id).toEqual(expect.stringMatching(UUID))
      expect(problem.detail).toContain(`/v1/sessions/${session.id}/resume`)
      const stored = await getMessage(problem.message_id as string)
      expect(stored).toMatchObject({ session_id: session.id, sender: 'ai', status: 'failed', content: '', partial_content: partial ?? '' })
      expect(stored.error_message).toMatch(error)
      // The key never reaches a stored error or the answer.
      expect(stored.error_message).not.toContain('sk-test')
      expect(response.body).not.toContain('sk-test')
    },
  )

  it.each([
    { name: 'a stall before the first token', script: { tokens: ['Never', ' sent'], delayMs: 60_000 }, partial: '' },
    { name: 'a stall after two tokens', script: { tokens: ['Slow', ' start', ' never', ' ends'], hold: 2 }, partial: 'Slow start' },
  ])('$name longer than LLM_TIMEOUT_MS: failed with a timeout error, 502', async ({ script, partial }) => {
    const impatient = await createTestApp({ db: t.db, env: llmEnv(llm, { LLM_TIMEOUT_MS: '400' }) })
    try {
      const session = await sessionWithQuestion()
      llm.script(script)
      const response = await generate(session.id, {}, writer, impatient)
      const problem = expectProblem(response, 502, generateUrl(session.id), 'bad-gateway')
      const stored = await getMessage(problem.message_id as string)
      expect(stored).toMatchObject({ status: 'failed', partial_content: partial })
      expect(stored.error_message).toMatch(/timed out/i)
      // The session is free again.
      llm.script({ tokens: ['Fine', ' now'] })
      const again = await generate(session.id, {}, writer, impatient)
      expect(again.statusCode, again.body).toBe(201)
      expect(again.json<MessageView>().content).toBe('Fine now')
    } finally {
      await impatient.close()
    }
  })
})

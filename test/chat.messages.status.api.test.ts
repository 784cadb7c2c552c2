import { beforeAll, describe, expect, it } from 'vitest'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'
import { appFixture, chatCalls, gptKeys, MISSING_ID, pointers, type Status } from './helpers/chat.js'
import { expectProblem } from './helpers/problem.js'
import type { TestApp } from './helpers/test-app.js'

// The status of a chat message: the transitions PATCH allows, progress, completion and failure, and races.


const GPT = 'chat-gpt'
/** MAX_MESSAGE_CHARS for this file. */
const MAX = 40

let t: TestApp
let writer: string
let reader: string
const app = appFixture({ MAX_MESSAGE_CHARS: String(MAX) })
const { call, ok, createSession, addMessage } = chatCalls(() => ({ app: t, token: writer, gpt: GPT }))

beforeAll(async () => {
  ;({ t } = app)
  ;({ writer, reader } = await gptKeys(t, GPT))
})

describe('message status', () => {
  let session: SessionView

  beforeAll(async () => {
    session = await createSession({ name: 'status' })
  })

  /** A new AI message in the given status. */
  const aiMessage = (status: Status, extra: Record<string, unknown> = {}) =>
    addMessage(session.id, { sender: 'ai', status, ...(status === 'complete' ? { content: 'done' } : {}), ...extra })

  const ALLOWED: Record<Status, Status[]> = {
    pending: ['pending', 'in_progress', 'failed'],
    in_progress: ['in_progress', 'complete', 'failed'],
    complete: [],
    failed: ['in_progress'],
  }
  const STATUSES: Status[] = ['pending', 'in_progress', 'complete', 'failed']
  const pairs = STATUSES.flatMap((from) => STATUSES.map((to) => ({ from, to, expected: ALLOWED[from].includes(to) ? 200 : 409 })))

  it('covers all 16 pairs', () => {
    expect(pairs).toHaveLength(16)
    expect(pairs.filter((p) => p.expected === 200)).toHaveLength(7)
  })

  it.each(pairs)('$from → $to answers $expected', async ({ from, to, expected }) => {
    const message = await aiMessage(from)
    const url = `/v1/messages/${message.id}`
    const response = await call('PATCH', url, { status: to, ...(to === 'complete' ? { content: 'final' } : {}) })
    if (expected === 200) {
      expect(response.statusCode, response.body).toBe(200)
      expect(response.json<MessageView>()).toMatchObject({ status: to, ...(to === 'complete' ? { content: 'final' } : {}) })
    } else {
      const problem = expectProblem(response, 409, url, 'conflict')
      if (from === 'complete') expect(problem.detail).toContain('complete is final')
      else expect(problem.detail).toContain(`from ${from} to ${to}`)
      expect((await ok<MessageView>('GET', url)).status).toBe(from)
    }
  })

  it.each([
    { name: 'its context', body: { context: { late: true } } },
    { name: 'its partial content', body: { partial_content: 'more' } },
    { name: 'its content', body: { content: 'edited' } },
    { name: 'its status, to complete again', body: { status: 'complete', content: 'again' } },
  ])('never changes a complete AI message, not even $name (409)', async ({ body }) => {
    const message = await aiMessage('complete')
    const url = `/v1/messages/${message.id}`
    const problem = expectProblem(await call('PATCH', url, body), 409, url, 'conflict')
    expect(problem.detail).toContain('complete is final')
    expect(await ok('GET', url)).toEqual(message)
  })

  it('saves progress while in progress, and completing takes partial_content as the content', async () => {
    const message = await aiMessage('pending', { model: 'm-1' })
    const url = `/v1/messages/${message.id}`
    expect(await ok('PATCH', url, { status: 'in_progress' })).toMatchObject({ status: 'in_progress', partial_content: '' })
    expect(await ok('PATCH', url, { partial_content: 'The' })).toMatchObject({ status: 'in_progress', partial_content: 'The' })
    expect(await ok('PATCH', url, { status: 'in_progress', partial_content: 'The answer' })).toMatchObject({ partial_content: 'The answer' })
    const done = await ok<MessageView>('PATCH', url, { status: 'complete' })
    expect(done).toMatchObject({ status: 'complete', content: 'The answer', partial_content: 'The answer', model: 'm-1', error_message: null })
    expect(Date.parse(done.updated_at)).toBeGreaterThanOrEqual(Date.parse(message.updated_at))
  })

  it('completing with partial_content in the same request takes that as the content', async () => {
    const message = await aiMessage('in_progress', { partial_content: 'old' })
    expect(await ok('PATCH', `/v1/messages/${message.id}`, { status: 'complete', partial_content: 'newer' })).toMatchObject({ content: 'newer', partial_content: 'newer' })
  })

  it('refuses to complete a message with no content at all (422 at /content)', async () => {
    const message = await aiMessage('in_progress')
    const url = `/v1/messages/${message.id}`
    const response = await call('PATCH', url, { status: 'complete' })
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual(['/content'])
    expect((await ok<MessageView>('GET', url)).status).toBe('in_progress')
  })

  it('fails with an error message, and a retry clears it but keeps the partial content', async () => {
    const message = await aiMessage('in_progress', { partial_content: 'Half' })
    const url = `/v1/messages/${message.id}`
    expect(await ok('PATCH', url, { status: 'failed', error_message: 'provider timeout' })).toMatchObject({
      status: 'failed',
      error_message: 'provider timeout',
      partial_content: 'Half',
    })
    expect(await ok('PATCH', url, { status: 'in_progress' })).toMatchObject({ status: 'in_progress', error_message: null, partial_content: 'Half' })
    expect(await ok('PATCH', url, { status: 'failed' })).toMatchObject({ status: 'failed', error_message: null })
    expect(await ok('PATCH', url, { status: 'in_progress', partial_content: 'Half and more' })).toMatchObject({ partial_content: 'Half and more' })
    expect(await ok('PATCH', url, { status: 'complete' })).toMatchObject({ status: 'complete', content: 'Half and more' })
  })

  it.each([
    { name: 'pending', status: 'pending' as Status, body: { error_message: 'x' } },
    { name: 'in_progress', status: 'in_progress' as Status, body: { error_message: 'x' } },
    { name: 'pending, moving to in_progress', status: 'pending' as Status, body: { status: 'in_progress', error_message: 'x' } },
    { name: 'failed, moving to in_progress', status: 'failed' as Status, body: { status: 'in_progress', error_message: 'x' } },
    { name: 'in_progress, moving to complete', status: 'in_progress' as Status, body: { status: 'complete', content: 'c', error_message: 'x' } },
  ])('refuses an error_message unless the status is failed ($name → 422)', async ({ status, body }) => {
    const message = await aiMessage(status)
    const url = `/v1/messages/${message.id}`
    const response = await call('PATCH', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(pointers(response)).toEqual(['/error_message'])
    expect(await ok('GET', url)).toEqual(message)
  })

  it('a PATCH that keeps the status follows the same rules (failed stays put: 409)', async () => {
    const failed = await aiMessage('failed', { error_message: 'boom' })
    const url = `/v1/messages/${failed.id}`
    const problem = expectProblem(await call('PATCH', url, { context: { note: 1 } }), 409, url, 'conflict')
    expect(problem.detail).toContain('from failed to failed')
    const pending = await aiMessage('pending')
    expect(await ok('PATCH', `/v1/messages/${pending.id}`, { context: { note: 1 } })).toMatchObject({ status: 'pending', context: { note: 1 } })
  })

  it.each(['user', 'system', 'tool'] as const)('keeps a %s message as history: only its context can change', async (sender) => {
    const message = await addMessage(session.id, { sender, content: 'said' })
    const url = `/v1/messages/${message.id}`
    const patched = await ok<MessageView>('PATCH', url, { context: ['doc-1'] })
    expect(patched).toMatchObject({ content: 'said', status: 'complete', context: ['doc-1'] })
    expect(await ok('PATCH', url, { context: null })).toMatchObject({ context: null })
    for (const [body, expected] of [
      [{ content: 'rewritten' }, ['/content']],
      [{ status: 'complete' }, ['/status']],
      [{ partial_content: 'x', error_message: 'y', context: 1 }, ['/partial_content', '/error_message']],
    ] as const) {
      const response = await call('PATCH', url, body)
      expectProblem(response, 422, url, 'validation-failed')
      expect(new Set(pointers(response))).toEqual(new Set(expected))
    }
    expect((await ok<MessageView>('GET', url)).content).toBe('said')
  })

  it.each([
    { name: 'an empty body', body: {}, pointer: '' },
    { name: 'an unknown status', body: { status: 'done' }, pointer: '/status' },
    { name: 'content over the limit', body: { content: 'x'.repeat(MAX + 1) }, pointer: '/content' },
    { name: 'partial_content over the limit', body: { partial_content: 'x'.repeat(MAX + 1) }, pointer: '/partial_content' },
    { name: 'null content', body: { content: null }, pointer: '/content' },
    { name: 'sender (not changeable)', body: { sender: 'user' }, pointer: '/sender' },
    { name: 'an unknown member', body: { mood: 'x' }, pointer: '/mood' },
  ])('PATCH refuses $name with 422 at "$pointer"', async ({ body, pointer }) => {
    const message = await aiMessage('in_progress')
    const url = `/v1/messages/${message.id}`
    const response = await call('PATCH', url, body)
    expectProblem(response, 422, url, 'validation-failed')
    expect(new Set(pointers(response))).toEqual(new Set([pointer]))
  })

  it('PATCH takes partial_content of exactly MAX_MESSAGE_CHARS', async () => {
    const message = await aiMessage('in_progress')
    expect((await ok<MessageView>('PATCH', `/v1/messages/${message.id}`, { partial_content: 'p'.repeat(MAX) })).partial_content).toHaveLength(MAX)
  })

  it('answers 404 for an unknown message, 422 for a malformed id and 403 without the write scope', async () => {
    const url = `/v1/messages/${MISSING_ID}`
    expectProblem(await call('GET', url), 404, url, 'not-found')
    expectProblem(await call('PATCH', url, { status: 'failed' }), 404, url, 'not-found')
    const bad = await call('PATCH', '/v1/messages/42', { status: 'failed' })
    expectProblem(bad, 422, '/v1/messages/42', 'validation-failed')
    expect(pointers(bad)).toEqual(['/id'])
    const message = await aiMessage('in_progress')
    const own = `/v1/messages/${message.id}`
    expectProblem(await call('PATCH', own, { status: 'failed' }, reader), 403, own, 'forbidden')
    expectProblem(await t.app.inject({ method: 'GET', url: own }), 401, own, 'unauthorized')
  })

  it.each([
    { name: 'complete and failed', bodies: [{ status: 'complete', content: 'won' }, { status: 'failed', error_message: 'lost' }] },
    { name: 'complete and complete', bodies: [{ status: 'complete', content: 'first' }, { status: 'complete', content: 'second' }] },
    { name: 'failed and failed', bodies: [{ status: 'failed', error_message: 'a' }, { status: 'failed', error_message: 'b' }] },
  ])('lets exactly one of two racing transitions win ($name)', async ({ bodies }) => {
    for (let round = 0; round < 5; round++) {
      const message = await aiMessage('in_progress', { partial_content: 'so far' })
      const url = `/v1/messages/${message.id}`
      const responses = await Promise.all(bodies.map((body) => call('PATCH', url, body)))
      expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 409])
      const winner = responses.find((r) => r.statusCode === 200)!.json<MessageView>()
      const loser = responses.find((r) => r.statusCode === 409)!
      expectProblem(loser, 409, url, 'conflict')
      expect(await ok('GET', url)).toEqual(winner)
    }
  })

  it('lets exactly one of two transitions win when both read the message before either writes', async () => {
    // Through the service, both reads are queued before either write, even on PGlite's single connection.
    for (let round = 0; round < 3; round++) {
      const message = await aiMessage('in_progress', { partial_content: 'so far' })
      const results = await Promise.allSettled([
        t.services.messages.updateMessage(GPT, message.id, { status: 'complete' }),
        t.services.messages.updateMessage(GPT, message.id, { status: 'failed', error_message: 'late' }),
      ])
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
      expect(rejected.reason).toMatchObject({ status: 409 })
      const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<MessageView>).value
      expect(await ok('GET', `/v1/messages/${message.id}`)).toEqual(winner)
    }
  })

  it('lets progress updates race with the completion without losing it', async () => {
    const message = await aiMessage('in_progress')
    const url = `/v1/messages/${message.id}`
    const responses = await Promise.all([
      call('PATCH', url, { partial_content: 'a' }),
      call('PATCH', url, { status: 'complete', content: 'final' }),
      call('PATCH', url, { partial_content: 'ab' }),
    ])
    expect(responses[1]!.statusCode, responses[1]!.body).toBe(200)
    for (const response of responses) expect([200, 409]).toContain(response.statusCode)
    expect(await ok('GET', url)).toMatchObject({ status: 'complete', content: 'final' })
  })
})

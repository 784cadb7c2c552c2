import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { LocalEventBus } from '../src/platform/events/event-bus.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'
import { chatCalls, chatFixture, deltaText, expectWholeStream, fakeLlmEnv, generateUrl, listen, messageReads, resumeUrl, streamUrl, until, WAIT_MS } from './helpers/chat.js'
import type { FakeLlmServer } from './helpers/fake-llm-server.js'
import { openSseStream } from './helpers/sse.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

/**
 * Generations and other processes: followers in another app over the same database and event bus,
 * the text saved while it arrives, and a generation a stopped process left behind marked interrupted
 * and resumed.
 */

const GPT = 'stream-gpt'
const TOKENS = ['Once', ' upon', ' a', ' time', ' there', ' was', ' a', ' small', ' river', '.']
const FULL = TOKENS.join('')
/** The event bus between "processes": this file's apps over one database. */
const events = new LocalEventBus()
const llmEnv = (server: FakeLlmServer) => ({ ...fakeLlmEnv(server), PARTIAL_SAVE_MS: '50' })
const chat = chatFixture({ PARTIAL_SAVE_MS: '50' }, { events })
let llm: FakeLlmServer
let t: TestApp
let base: string
let writer: string
let character: { id: string }
const { call, ok, sessionWithQuestion } = chatCalls(() => ({ app: t, token: writer, gpt: GPT, character, question: 'Tell me a story.' }))
const { getMessage, aiMessage } = messageReads(ok)

beforeAll(async () => {
  ;({ llm, t, base } = chat)
  writer = (await createGptWithKey(t.services, GPT)).token
  character = await ok('POST', `/v1/gpts/${GPT}/characters`, { name: 'Teller', agent_role: 'You tell stories.' })
})

const follow = (path: string, headers: Record<string, string> = {}, token = writer, at = base) => openSseStream(`${at}${path}`, { ...bearer(token), ...headers })

describe('following from another process (app) over the same database and event bus', () => {
  it('sees the text as it is saved, then the end', async () => {
    const other = await createTestApp({ db: t.db, env: llmEnv(llm), events })
    try {
      const otherBase = await listen(other)
      const session = await sessionWithQuestion()
      llm.script({ tokens: TOKENS, hold: 3 })
      const running = call('POST', generateUrl(session.id), {})
      await llm.held()
      const { id } = await aiMessage(session.id)
      const stream = await follow(streamUrl(id), {}, writer, otherBase)
      try {
        // Only what the generating process saved reaches the other one.
        await stream.waitFor('the saved text', (s) => deltaText(s) === 'Once upon a', WAIT_MS)
        llm.release()
        const done = await expectWholeStream(stream, 0)
        expect(done).toMatchObject({ id, status: 'complete', content: FULL })
        expect(deltaText(stream)).toBe(FULL)
        expect((await running).statusCode).toBe(201)
      } finally {
        stream.close()
      }
    } finally {
      await other.close()
    }
  })

  it('ends the followers of a generation marked interrupted, in this process and in the others', async () => {
    const other = await createTestApp({ db: t.db, env: llmEnv(llm), events })
    try {
      const otherBase = await listen(other)
      const session = await sessionWithQuestion()
      // Left in progress by a process that is gone.
      const stuck = await ok<MessageView>('POST', `/v1/sessions/${session.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Once upon' })
      const here = await follow(streamUrl(stuck.id))
      const there = await follow(streamUrl(stuck.id), {}, writer, otherBase)
      try {
        for (const stream of [here, there]) await stream.waitFor('the replayed text', (s) => deltaText(s) === 'Once upon', WAIT_MS)
        expect(await t.services.generation.recoverInterrupted(false)).toBe(1)
        for (const stream of [here, there]) {
          const end = await expectWholeStream(stream, 0, 'error')
          expect(end.message).toMatchObject({ id: stuck.id, status: 'failed', partial_content: 'Once upon' })
          expect(end.error).toMatch(/interrupted/i)
        }
      } finally {
        here.close()
        there.close()
      }
    } finally {
      await other.close()
    }
  })
})

describe('saving the text while it arrives', () => {
  it('stores partial_content during the generation (PARTIAL_SAVE_MS=50), before the provider finishes', async () => {
    const session = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 3 })
    const running = call('POST', generateUrl(session.id), {})
    await llm.held()
    const { id } = await aiMessage(session.id)
    let stored = await getMessage(id)
    await until('the partial to be saved', async () => (stored = await getMessage(id)).partial_content === 'Once upon a')
    expect(stored).toMatchObject({ status: 'in_progress', content: '', partial_content: 'Once upon a' })
    // In the database itself, not only in this process's memory.
    const row = await t.db.database.db.selectFrom('chat_messages').select(['status', 'partial_content']).where('id', '=', id).executeTakeFirstOrThrow()
    expect(row).toEqual({ status: 'in_progress', partial_content: 'Once upon a' })
    llm.release()
    expect((await running).json<MessageView>()).toMatchObject({ status: 'complete', content: FULL })
  })
})

describe('generations a stopped process left behind', () => {
  it('recoverInterrupted(true) on a second app marks the generation failed "interrupted" with its saved text; resume completes it', async () => {
    const doomed = await createTestApp({ db: t.db, env: llmEnv(llm) })
    let closed = false
    try {
      const session = await sessionWithQuestion()
      llm.script({ tokens: TOKENS, hold: 4 })
      const running = call('POST', generateUrl(session.id), {}, writer, {}, doomed)
      await llm.held()
      const { id } = await aiMessage(session.id)
      await until('the partial to be saved', async () => (await getMessage(id)).partial_content === 'Once upon a time')

      // The process that starts next (embedded: the only one) marks every unfinished generation.
      expect(await t.services.generation.recoverInterrupted(true)).toBe(1)
      const failed = await getMessage(id)
      expect(failed).toMatchObject({ status: 'failed', partial_content: 'Once upon a time', content: '' })
      expect(failed.error_message).toMatch(/interrupted/i)

      // The old process is gone for good (its abort changes nothing now).
      await doomed.close()
      closed = true
      await running.catch(() => undefined)
      expect(await getMessage(id)).toMatchObject({ status: 'failed', partial_content: 'Once upon a time' })

      llm.script({ tokens: [' there', ' was', ' a', ' small', ' river', '.'] })
      const resumed = await call('POST', resumeUrl(session.id), {})
      expect(resumed.statusCode, resumed.body).toBe(200)
      expect(resumed.json<MessageView>()).toMatchObject({ id, status: 'complete', content: FULL, error_message: null })
      const last = llm.requests.at(-1)!.body.messages!
      expect(last.at(-2)).toEqual({ role: 'assistant', content: 'Once upon a time' })
    } finally {
      if (!closed) await doomed.close()
    }
  })

  it('a stopping app stores its running generation failed with its text, for resume', async () => {
    const stopping = await createTestApp({ db: t.db, env: llmEnv(llm) })
    let closed = false
    try {
      const session = await sessionWithQuestion()
      llm.script({ tokens: TOKENS, hold: 2 })
      const running = call('POST', generateUrl(session.id), {}, writer, {}, stopping)
      await llm.held()
      const { id } = await aiMessage(session.id)
      await until('the service to have the held text', async () => (await getMessage(id)).partial_content === 'Once upon')
      await stopping.close()
      closed = true
      await running.catch(() => undefined)
      const stopped = await getMessage(id)
      expect(stopped).toMatchObject({ status: 'failed', partial_content: 'Once upon' })
      expect(stopped.error_message).toMatch(/interrupted/i)
      llm.script({ tokens: TOKENS.slice(2) })
      const resumed = await call('POST', resumeUrl(session.id), {})
      expect(resumed.statusCode, resumed.body).toBe(200)
      expect(resumed.json<MessageView>()).toMatchObject({ id, status: 'complete', content: FULL })
    } finally {
      if (!closed) await stopping.close()
    }
  })

  it('recoverInterrupted(false) marks only generations no live lease holds', async () => {
    // A live generation (its session lease is current): left alone.
    const live = await sessionWithQuestion()
    llm.script({ tokens: TOKENS, hold: 2 })
    const running = call('POST', generateUrl(live.id), {})
    await llm.held()
    const liveMessage = await aiMessage(live.id)
    // An in-progress message no generation holds (a client wrote it): marked.
    const orphanSession = await sessionWithQuestion()
    const orphan = await ok<MessageView>('POST', `/v1/sessions/${orphanSession.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Orphaned te' })
    // An in-progress message in the live session whose lease belongs to the other message: marked.
    const stray = await ok<MessageView>('POST', `/v1/sessions/${live.id}/messages`, { sender: 'ai', status: 'in_progress', partial_content: 'Stray' })

    expect(await t.services.generation.recoverInterrupted(false)).toBe(2)
    expect(await getMessage(orphan.id)).toMatchObject({ status: 'failed', partial_content: 'Orphaned te', error_message: expect.stringMatching(/interrupted/i) })
    expect(await getMessage(stray.id)).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/interrupted/i) })
    expect((await getMessage(liveMessage.id)).status).toBe('in_progress')

    llm.release()
    expect((await running).json<MessageView>()).toMatchObject({ id: liveMessage.id, status: 'complete', content: FULL })
  })

  it('recoverInterrupted(false) marks a generation whose process stopped renewing its lease', async () => {
    const dead = await createTestApp({ db: t.db, env: llmEnv(llm) })
    let closed = false
    try {
      const session = await sessionWithQuestion()
      llm.script({ tokens: TOKENS, hold: 3 })
      const running = call('POST', generateUrl(session.id), {}, writer, {}, dead)
      await llm.held()
      const { id } = await aiMessage(session.id)
      await until('the partial to be saved', async () => (await getMessage(id)).partial_content === 'Once upon a')
      expect(await t.services.generation.recoverInterrupted(false)).toBe(0)
      // 30 s later, as far as the lease is concerned.
      await sql`update chat_sessions set generation_lease_until = now() - interval '1 second' where id = ${session.id}`.execute(t.db.database.db)
      expect(await t.services.generation.recoverInterrupted(false)).toBe(1)
      expect(await getMessage(id)).toMatchObject({ status: 'failed', partial_content: 'Once upon a', error_message: expect.stringMatching(/interrupted/i) })
      await dead.close()
      closed = true
      await running.catch(() => undefined)
      llm.script({ tokens: TOKENS.slice(3) })
      const resumed = await call('POST', resumeUrl(session.id), {})
      expect(resumed.statusCode, resumed.body).toBe(200)
      expect(resumed.json<MessageView>()).toMatchObject({ id, status: 'complete', content: FULL })
    } finally {
      if (!closed) await dead.close()
    }
  })
})

import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { MessagesRepository } from '../src/modules/chat/messages.repo.js'
import { CharactersRepository } from '../src/modules/characters/characters.repo.js'
import { ExtractionRepository } from '../src/modules/extraction/extraction.repo.js'
import type { ExtractionRunView } from '../src/modules/extraction/extraction.schemas.js'
import { LocalEventBus, type EventBus } from '../src/platform/events/event-bus.js'
import { PostgresEventBus } from '../src/platform/events/postgres.bus.js'
import { extractionApi } from './helpers/extraction.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

// Automatic extraction is checked after every message write: a GPT whose characters do not extract
// automatically pays no database read for it, and a character's change is seen at once, also by
// another process.

const GPT = 'gpt-extract-auto'
let t: TestApp
let token: string
const api = extractionApi(() => t, () => token, GPT)

// The reads of the check: the GPT's auto characters (cached), then the session's open run, cursor and count.
const loads = vi.spyOn(CharactersRepository.prototype, 'listAutoExtraction')
const sessionReads = [
  vi.spyOn(ExtractionRepository.prototype, 'hasOpenRun'),
  vi.spyOn(ExtractionRepository.prototype, 'cursor'),
  vi.spyOn(MessagesRepository.prototype, 'countUserMessagesAfter'),
]

beforeAll(async () => {
  t = await createTestApp()
  token = (await createGptWithKey(t.services, GPT)).token
}, 120_000)
afterAll(async () => t?.close())
beforeEach(() => {
  for (const spy of [loads, ...sessionReads]) spy.mockClear()
})

async function character(name: string, extraction?: { auto: boolean; every_turns?: number }): Promise<string> {
  const response = await api.call('POST', `/v1/gpts/${GPT}/characters`, { name, agent_role: 'You listen.', ...(extraction ? { extraction } : {}) })
  expect(response.statusCode, response.body).toBe(201)
  return response.json<{ id: string }>().id
}

async function setAuto(characterId: string, extraction: { auto: boolean; every_turns?: number }): Promise<void> {
  const response = await api.call('PATCH', `/v1/characters/${characterId}`, { extraction })
  expect(response.statusCode, response.body).toBe(200)
}

async function runsOf(sessionId: string, app = t): Promise<ExtractionRunView[]> {
  await app.services.extraction.idle()
  const response = await api.call('GET', `/v1/sessions/${sessionId}/extractions`)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<{ extractions: ExtractionRunView[] }>().extractions
}

const turns = (n: number) => Array.from({ length: n }, (_, i) => `I like colour number ${i}.`)

describe('automatic extraction after message writes', () => {
  it('makes no run when no character extracts automatically, and reads only the cached answer once', async () => {
    const plain = await character('Plain')
    const session = await api.session('ann', plain)
    // More user messages than the default every_turns (10), and replies, which never count.
    await api.say(session, ...turns(12))
    const reply = await api.call('POST', `/v1/sessions/${session}/messages`, { sender: 'ai', content: 'Noted.' })
    expect(reply.statusCode, reply.body).toBe(201)
    expect(await runsOf(session)).toEqual([])
    expect(loads).toHaveBeenCalledTimes(1)
    for (const spy of sessionReads) expect(spy).not.toHaveBeenCalled()
  }, 60_000)

  it('queues a run after every_turns user messages once a character turns auto on, and none once it turns off', async () => {
    const keeper = await character('Keeper')
    await setAuto(keeper, { auto: true, every_turns: 3 })
    const session = await api.session('bea', keeper)
    await api.say(session, ...turns(2))
    expect(await runsOf(session)).toEqual([])
    await api.say(session, 'I live in Porto.')
    expect(await runsOf(session)).toMatchObject([{ trigger: 'auto', status: 'done', messages_read: 3 }])
    // A session of a character without auto in the same GPT is not read.
    const other = await api.session('bea', await character('Quiet', { auto: false }))
    for (const spy of sessionReads) spy.mockClear()
    await api.say(other, ...turns(4))
    expect(await runsOf(other)).toEqual([])
    for (const spy of sessionReads) expect(spy).not.toHaveBeenCalled()

    await setAuto(keeper, { auto: false })
    const later = await api.session('bea', keeper)
    await api.say(later, ...turns(4))
    expect(await runsOf(later)).toEqual([])
    const deleted = await character('Gone', { auto: true, every_turns: 1 })
    const orphan = await api.session('bea', deleted)
    expect((await api.call('DELETE', `/v1/characters/${deleted}`)).statusCode).toBe(204)
    await api.say(orphan, 'I work as a baker.')
    expect(await runsOf(orphan)).toEqual([])
  }, 60_000)

  it('sees a character changed on another process at once, through the event bus', async () => {
    // Two app instances over one database, each with its own bus of the kind production would use.
    const shared = new LocalEventBus()
    const busFor = (): EventBus => (t.db.url ? new PostgresEventBus(t.db.url, t.db.database.pool, { warn: () => {} }) : shared)
    const [busA, busB] = [busFor(), busFor()]
    const a = await createTestApp({ db: t.db, events: busA })
    const b = await createTestApp({ db: t.db, events: busB })
    try {
      await Promise.all([busA.ready(5000), busB.ready(5000)])
      const character = (await a.services.characters.createCharacter(GPT, { name: 'Later', agent_role: 'You listen.' })).id
      const session = (await b.services.sessions.createSession(GPT, { user_id: 'cid', character_id: character })).id
      await b.services.messages.createMessage(GPT, session, { sender: 'user', content: 'My name is Cid.' })
      await b.services.extraction.idle()
      // B now holds "no auto character" for the GPT; A's change must reach it before B's next message.
      const heard = new Promise<void>((resolve) => busB.subscribe('extraction.auto', () => resolve()))
      await a.services.characters.updateCharacter(GPT, character, { extraction: { auto: true, every_turns: 2 } })
      await heard
      await b.services.messages.createMessage(GPT, session, { sender: 'user', content: 'I live in Lyon.' })
      expect(await runsOf(session, b)).toMatchObject([{ trigger: 'auto', status: 'done', messages_read: 2 }])
    } finally {
      await a.close()
      await b.close()
      if (busA !== shared) await busA.close()
      if (busB !== shared) await busB.close()
    }
  }, 60_000)
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { extractionApi } from './helpers/extraction.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import type { ExtractionRunView } from '../src/modules/extraction/extraction.schemas.js'

const GPT = 'gpt-extract-offline'
let t: TestApp
let token: string
let reader: string
const api = extractionApi(() => t, () => token, GPT)

beforeAll(async () => {
  // No LLM configured: the offline extractor.
  t = await createTestApp({ env: { EXTRACTION_RUNS_PER_DAY: '50' } })
  token = (await createGptWithKey(t.services, GPT)).token
  reader = (await createGptWithKey(t.services, GPT, ['read'])).token
}, 120_000)
afterAll(async () => t?.close())

describe('the offline extractor, over real text', () => {
  it('adds first-person facts with provenance, finds them known again, then refines and supersedes them', async () => {
    const session = await api.session('ada')
    const [intro, tastes] = await api.say(
      session,
      'Hi! My name is Ada Lovelace. I live in London and I work at the Analytical Engine Company.',
      'I love dark chocolate, but I hate olives. Do you like jazz? I\'m going to visit Paris next spring.',
    )
    const first = await api.extract(session)
    expect(first).toMatchObject({ status: 'done', extractor: 'offline', trigger: 'request', messages_read: 2, from_message_id: intro, to_message_id: tastes, tokens_in: 0, tokens_out: 0 })
    expect(first.summary).toEqual({ add: 6, update: 0, supersede: 0, none: 0 })
    expect(first.decisions.map((decision) => decision.content).sort()).toEqual([
      'The user dislikes olives.',
      'The user lives in London.',
      'The user loves dark chocolate.',
      'The user plans to visit Paris next spring.',
      'The user works at the Analytical Engine Company.',
      "The user's name is Ada Lovelace.",
    ])
    const stored = await api.memories('ada')
    const london = stored.find((memory) => memory.content === 'The user lives in London.')!
    expect(london.source).toEqual({ type: 'extraction', id: first.id })
    expect(london.metadata).toMatchObject({ extraction: { run_id: first.id, session_id: session, message_ids: [intro], key: 'home', value: 'London' } })
    expect(first.decisions.find((decision) => decision.memory_id === london.id)?.message_ids).toEqual([intro])

    // Nothing new: the cursor is past every message.
    const empty = await api.extract(session)
    expect(empty).toMatchObject({ status: 'done', messages_read: 0, from_message_id: null, decisions: [] })

    const [again, moved, olives] = await api.say(session, 'As I said, I live in London.', 'Update: I live in London, Camden these days.', 'Actually I like olives now.')
    const second = await api.extract(session)
    expect(second.messages_read).toBe(3)
    expect(second.summary).toEqual({ add: 0, update: 1, supersede: 1, none: 0 })
    const home = second.decisions.find((decision) => decision.content.startsWith('The user lives in'))!
    expect(home).toMatchObject({ action: 'update', memory_id: london.id, message_ids: [moved] })
    expect(again).not.toEqual(moved)
    const liking = second.decisions.find((decision) => decision.action === 'supersede')!
    expect(liking).toMatchObject({ content: 'The user likes olives.', message_ids: [olives] })
    const oldOlives = stored.find((memory) => memory.content === 'The user dislikes olives.')!
    expect(liking.supersedes).toBe(oldOlives.id)
    const after = await api.call('GET', `/v1/memories/${oldOlives.id}`)
    expect(after.json<{ superseded_by: string }>().superseded_by).toBe(liking.memory_id)

    await api.say(session, 'I live in London, Camden these days.')
    const third = await api.extract(session)
    expect(third.summary).toEqual({ add: 0, update: 0, supersede: 0, none: 1 })
    expect(third.decisions[0]).toMatchObject({ action: 'none', memory_id: london.id })
  }, 120_000)

  it('leaves alone what it does not catch: questions, other people, small talk', async () => {
    const session = await api.session('bob')
    await api.say(session, 'Do you like jazz?', 'My sister lives in Rome.', 'It is raining today. Thanks!', 'I like it.')
    const run = await api.extract(session)
    expect(run).toMatchObject({ status: 'done', messages_read: 4, decisions: [] })
    expect(await api.memories('bob')).toEqual([])
  }, 60_000)

  it('lists the runs of a session, newest first, and answers 404 for an unknown session or run', async () => {
    const session = await api.session('carol')
    await api.say(session, 'I am a nurse.')
    const run = await api.extract(session)
    expect(run.decisions).toMatchObject([{ action: 'add', content: 'The user is a nurse.' }])
    const list = await api.call('GET', `/v1/sessions/${session}/extractions`)
    expect(list.statusCode).toBe(200)
    expect(list.json<{ extractions: ExtractionRunView[] }>().extractions.map((item) => item.id)).toEqual([run.id])
    const missing = '0190c9f2-0000-7000-8000-000000000000'
    expectProblem(await api.call('POST', `/v1/sessions/${missing}/extract`), 404, `/v1/sessions/${missing}/extract`)
    expectProblem(await api.call('GET', `/v1/sessions/${missing}/extractions`), 404, `/v1/sessions/${missing}/extractions`)
    expectProblem(await api.call('GET', `/v1/extractions/${missing}`), 404, `/v1/extractions/${missing}`)
  }, 60_000)

  it('needs the write scope to start a run, and read to follow it', async () => {
    const session = await api.session('dan')
    expectProblem(await api.call('POST', `/v1/sessions/${session}/extract`, undefined, reader), 403, `/v1/sessions/${session}/extract`)
    const run = await api.extract(session)
    expect((await api.call('GET', `/v1/extractions/${run.id}`, undefined, reader)).statusCode).toBe(200)
  }, 60_000)

  it('extracts on its own after every_turns user messages of a session whose character says auto', async () => {
    const created = await api.call('POST', `/v1/gpts/${GPT}/characters`, { name: 'Keeper', agent_role: 'You remember.', extraction: { auto: true, every_turns: 2 } })
    expect(created.statusCode, created.body).toBe(201)
    const character = created.json<{ id: string; extraction: unknown }>()
    expect(character.extraction).toEqual({ auto: true, every_turns: 2 })
    const session = await api.session('erin', character.id)
    await api.say(session, 'My name is Erin.')
    await t.services.extraction.idle()
    expect((await api.call('GET', `/v1/sessions/${session}/extractions`)).json<{ extractions: unknown[] }>().extractions).toEqual([])
    await api.say(session, 'I work as a pilot.')
    // Waits for the check and the run it queued (this process has no job queue).
    await t.services.extraction.idle()
    const runs = (await api.call('GET', `/v1/sessions/${session}/extractions`)).json<{ extractions: ExtractionRunView[] }>().extractions
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({ trigger: 'auto', status: 'done', summary: { add: 2 } })
  }, 60_000)
})

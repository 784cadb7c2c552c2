// Session and message lists beyond the cursor: favorites first (sort=favorites) and offset paging with a total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { walkPages } from './helpers/pages.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'
import type { SessionView } from '../src/modules/chat/sessions.schemas.js'
import type { MessageView } from '../src/modules/chat/messages.schemas.js'

const GPT = 'lists-gpt'
const SESSIONS = `/v1/gpts/${GPT}/sessions`

let t: TestApp
let key: string
/** Created oldest first: s0 … s4; s1 and s3 are favorites. */
const ids: string[] = []
let sessionWithMessages: string
const messageIds: string[] = []

beforeAll(async () => {
  t = await createTestApp()
  key = (await createGptWithKey(t.services, GPT)).token
  for (let i = 0; i < 5; i++) {
    const created = await injectJson(t.app, 'POST', SESSIONS, bearer(key), { user_id: 'ann', name: `s${i}`, is_favorite: i % 2 === 1 })
    ids.push(created.json<SessionView>().id)
  }
  await injectJson(t.app, 'POST', SESSIONS, bearer(key), { user_id: 'bob', name: 'other user' })
  sessionWithMessages = ids[0]!
  for (let i = 0; i < 5; i++) {
    const message = await injectJson(t.app, 'POST', `/v1/sessions/${sessionWithMessages}/messages`, bearer(key), { sender: 'user', content: `m${i}` })
    messageIds.push(message.json<MessageView>().id)
  }
})

afterAll(async () => {
  await t?.close()
})

const get = (url: string) => injectJson(t.app, 'GET', url, bearer(key))
const names = (sessions: SessionView[]) => sessions.map((s) => s.name)

describe('sessions: sort=favorites', () => {
  it('lists favorites first, each group by newest activity, across cursor pages', async () => {
    const { items, pages } = await walkPages<SessionView>(get, `${SESSIONS}?user_id=ann&sort=favorites&limit=2`, 'sessions', `http://agentstore.test${SESSIONS}`)
    expect(pages).toBe(3)
    // s0 had messages last, so it is the most recently active of the others.
    expect(names(items)).toEqual(['s3', 's1', 's0', 's4', 's2'])
  })

  it('order=asc reverses it', async () => {
    const response = await get(`${SESSIONS}?user_id=ann&sort=favorites&order=asc`)
    expect(names(response.json<{ sessions: SessionView[] }>().sessions)).toEqual(['s2', 's4', 's0', 's1', 's3'])
  })

  it('a cursor of the activity sort is refused by the favorites sort', async () => {
    const first = await get(`${SESSIONS}?user_id=ann&limit=1`)
    const cursor = first.json<{ next_cursor: string }>().next_cursor
    const url = `${SESSIONS}?user_id=ann&sort=favorites&cursor=${cursor}`
    expectProblem(await get(url), 400, url, 'invalid-cursor')
  })
})

describe('offset paging with a total', () => {
  it('sessions: skips `offset` rows of the filtered list and counts them all', async () => {
    const response = await get(`${SESSIONS}?user_id=ann&sort=favorites&offset=1&limit=2`)
    expect(response.statusCode).toBe(200)
    const page = response.json<{ sessions: SessionView[]; total: number; has_more: boolean; next_cursor: string }>()
    expect(names(page.sessions)).toEqual(['s1', 's0'])
    expect(page.total).toBe(5)
    expect(page.has_more).toBe(true)
    // The cursor of an offset page goes on from its last row.
    const next = await get(`${SESSIONS}?user_id=ann&sort=favorites&limit=2&cursor=${page.next_cursor}`)
    expect(names(next.json<{ sessions: SessionView[] }>().sessions)).toEqual(['s4', 's2'])
  })

  it('sessions: past the end → empty page, the total still counted; no offset → no total', async () => {
    const past = (await get(`${SESSIONS}?offset=50`)).json<{ sessions: SessionView[]; total: number; has_more: boolean }>()
    expect(past).toEqual({ sessions: [], total: 6, has_more: false, next_cursor: null })
    expect((await get(SESSIONS)).json()).not.toHaveProperty('total')
  })

  it('messages: oldest first from `offset`, with the total', async () => {
    const response = await get(`/v1/sessions/${sessionWithMessages}/messages?offset=3&limit=10`)
    const page = response.json<{ messages: MessageView[]; total: number; has_more: boolean }>()
    expect(page.messages.map((m) => m.id)).toEqual(messageIds.slice(3))
    expect(page.total).toBe(5)
    expect(page.has_more).toBe(false)
    expect((await get(`/v1/sessions/${sessionWithMessages}/messages`)).json()).not.toHaveProperty('total')
  })

  it.each([
    `${SESSIONS}?offset=-1`,
    `${SESSIONS}?offset=abc`,
    `${SESSIONS}?sort=newest`,
    '/v1/sessions/0190a1b2-0000-7000-8000-000000000000/messages?offset=1000001',
  ])('%s → 422', async (url) => {
    expectProblem(await get(url), 422, url, 'validation-failed')
  })

  it.each([SESSIONS, '/v1/sessions/{id}/messages'])('%s with both cursor and offset → 422 naming offset', async (path) => {
    const base = path.replace('{id}', sessionWithMessages)
    const first = await get(`${base}?limit=1`)
    const url = `${base}?limit=1&offset=1&cursor=${first.json<{ next_cursor: string }>().next_cursor}`
    const problem = expectProblem(await get(url), 422, url, 'validation-failed')
    expect(problem.errors).toEqual([{ pointer: '/offset', location: 'query', message: 'must not be given with cursor' }])
  })
})

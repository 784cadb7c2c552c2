import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './helpers/test-app.js'

interface Item {
  id: string
  gpt_id: string
  [key: string]: unknown
}

const A = 'iso-chat-a'
const B = 'iso-chat-b'

let t: TestApp
let keyA: string
let keyB: string
let characterA: Item
let characterB: Item
/** Sessions of A: alice's (with characterA) and bob's. */
let aliceA: Item
let bobA: Item
/** B's session, for a user also called alice. */
let aliceB: Item
let messageA: Item
let messageB: Item

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

function call(method: Method, url: string, token: string, payload?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, { ...bearer(token), ...headers }, payload)
}

async function ok<T = Item>(method: Method, url: string, token: string, payload?: unknown): Promise<T> {
  const response = await call(method, url, token, payload)
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(method === 'POST' ? 201 : 200)
  return response.json<T>()
}

beforeAll(async () => {
  t = await createTestApp()
  keyA = (await createGptWithKey(t.services, A)).token
  keyB = (await createGptWithKey(t.services, B)).token
  characterA = await ok('POST', `/v1/gpts/${A}/characters`, keyA, { name: 'Same name', agent_role: 'A secret role' })
  characterB = await ok('POST', `/v1/gpts/${B}/characters`, keyB, { name: 'Same name', agent_role: 'B secret role' })
  aliceA = await ok('POST', `/v1/gpts/${A}/sessions`, keyA, { user_id: 'alice', name: 'A chat', character_id: characterA.id })
  bobA = await ok('POST', `/v1/gpts/${A}/sessions`, keyA, { user_id: 'bob', name: 'A chat of bob' })
  aliceB = await ok('POST', `/v1/gpts/${B}/sessions`, keyB, { user_id: 'alice', name: 'B chat', character_id: characterB.id })
  messageA = await ok('POST', `/v1/sessions/${aliceA.id}/messages`, keyA, { sender: 'user', content: 'A secret' })
  messageB = await ok('POST', `/v1/sessions/${aliceB.id}/messages`, keyB, { sender: 'ai', status: 'in_progress', partial_content: 'B secret' })
  // As it is once its message marked activity on it.
  aliceB = await ok('GET', `/v1/sessions/${aliceB.id}`, keyB)
})

afterAll(async () => {
  await t?.close()
})

describe("another GPT's items by id", () => {
  const cases = () => [
    { method: 'GET' as const, url: `/v1/sessions/${aliceB.id}` },
    { method: 'PATCH' as const, url: `/v1/sessions/${aliceB.id}`, body: { name: 'stolen', is_favorite: true } },
    { method: 'DELETE' as const, url: `/v1/sessions/${aliceB.id}` },
    { method: 'GET' as const, url: `/v1/sessions/${aliceB.id}/messages` },
    { method: 'POST' as const, url: `/v1/sessions/${aliceB.id}/messages`, body: { sender: 'user', content: 'injected' } },
    { method: 'GET' as const, url: `/v1/messages/${messageB.id}` },
    { method: 'PATCH' as const, url: `/v1/messages/${messageB.id}`, body: { status: 'failed', error_message: 'sabotage' } },
    { method: 'GET' as const, url: `/v1/characters/${characterB.id}` },
    { method: 'PATCH' as const, url: `/v1/characters/${characterB.id}`, body: { agent_role: 'stolen' } },
    { method: 'DELETE' as const, url: `/v1/characters/${characterB.id}` },
  ]

  it('are 404 for every method, and reveal nothing', async () => {
    for (const { method, url, body } of cases()) {
      const response = await call(method, url, keyA, body)
      expectProblem(response, 404, url, 'not-found')
      expect(response.body).not.toMatch(/B secret|B chat|iso-chat-b/)
    }
  })

  it("leave B's items as they were", async () => {
    expect(await ok('GET', `/v1/sessions/${aliceB.id}`, keyB)).toEqual(aliceB)
    expect(await ok('GET', `/v1/messages/${messageB.id}`, keyB)).toEqual(messageB)
    expect(await ok('GET', `/v1/characters/${characterB.id}`, keyB)).toEqual(characterB)
    const messages = await ok<{ messages: Item[] }>('GET', `/v1/sessions/${aliceB.id}/messages`, keyB)
    expect(messages.messages.map((m) => m.id)).toEqual([messageB.id])
  })

  it('are not found by the services under another tenant either', async () => {
    expect(await t.services.sessions.findSession(A, aliceB.id as string)).toBeNull()
    expect(await t.services.characters.findActiveCharacter(A, characterB.id as string)).toBeNull()
    expect(await t.services.messages.recentMessages(A, aliceB.id as string, 10)).toEqual([])
    await expect(t.services.messages.insertMessage(A, aliceB.id as string, { sender: 'user', content: 'x' })).rejects.toMatchObject({ status: 404 })
  })
})

describe("another GPT's lists and creation", () => {
  it.each([
    { method: 'GET' as const, path: 'sessions' },
    { method: 'POST' as const, path: 'sessions', body: { user_id: 'alice' } },
    { method: 'GET' as const, path: 'characters' },
    { method: 'POST' as const, path: 'characters', body: { name: 'x', agent_role: 'y' } },
  ])('$method /v1/gpts/<other>/$path is 403', async ({ method, path, body }) => {
    const url = `/v1/gpts/${B}/${path}`
    const response = await call(method, url, keyA, body)
    expectProblem(response, 403, url, 'forbidden')
    expect(response.body).not.toMatch(/B secret|B chat/)
  })

  it("never lists another GPT's sessions or characters", async () => {
    const sessions = await ok<{ sessions: Item[] }>('GET', `/v1/gpts/${A}/sessions?limit=200`, keyA)
    expect(sessions.sessions.map((s) => s.id).sort()).toEqual([aliceA.id, bobA.id].sort())
    const alice = await ok<{ sessions: Item[] }>('GET', `/v1/gpts/${A}/sessions?user_id=alice`, keyA)
    expect(alice.sessions.map((s) => s.id)).toEqual([aliceA.id])
    const named = await ok<{ sessions: Item[] }>('GET', `/v1/gpts/${A}/sessions?q=chat`, keyA)
    expect(named.sessions.every((s) => s.gpt_id === A)).toBe(true)
    const characters = await ok<{ characters: Item[] }>('GET', `/v1/gpts/${A}/characters`, keyA)
    expect(characters.characters.map((c) => c.id)).toEqual([characterA.id])
  })

  it("does not return user A's sessions for user_id=B", async () => {
    const bob = await ok<{ sessions: Item[] }>('GET', `/v1/gpts/${A}/sessions?user_id=bob`, keyA)
    expect(bob.sessions.map((s) => s.id)).toEqual([bobA.id])
    const nobody = await ok<{ sessions: Item[] }>('GET', `/v1/gpts/${A}/sessions?user_id=ALICE`, keyA)
    expect(nobody.sessions).toEqual([])
  })

  it("refuses a cursor of another GPT's list", async () => {
    await ok('POST', `/v1/gpts/${B}/sessions`, keyB, { user_id: 'carol' })
    const page = await ok<{ next_cursor: string }>('GET', `/v1/gpts/${B}/sessions?limit=1`, keyB)
    const url = `/v1/gpts/${A}/sessions?cursor=${page.next_cursor}`
    expectProblem(await call('GET', url, keyA), 400, url, 'invalid-cursor')
  })

  it("refuses another GPT's character in a session (422 at /character_id)", async () => {
    const url = `/v1/gpts/${A}/sessions`
    const created = await call('POST', url, keyA, { user_id: 'alice', character_id: characterB.id })
    expect(expectProblem(created, 422, url, 'validation-failed').errors!.map((e) => e.pointer)).toEqual(['/character_id'])
    const patchUrl = `/v1/sessions/${bobA.id}`
    const patched = await call('PATCH', patchUrl, keyA, { character_id: characterB.id })
    expect(expectProblem(patched, 422, patchUrl, 'validation-failed').errors!.map((e) => e.pointer)).toEqual(['/character_id'])
  })

  it('keeps Idempotency-Keys apart per GPT', async () => {
    const headers = { 'idempotency-key': 'shared-key' }
    const inA = await call('POST', `/v1/sessions/${bobA.id}/messages`, keyA, { sender: 'user', content: 'same' }, headers)
    const inB = await call('POST', `/v1/sessions/${aliceB.id}/messages`, keyB, { sender: 'user', content: 'same' }, headers)
    expect([inA.statusCode, inB.statusCode]).toEqual([201, 201])
    expect(inB.headers['idempotent-replayed']).toBeUndefined()
    expect(inA.json<Item>().gpt_id).toBe(A)
    expect(inB.json<Item>().gpt_id).toBe(B)
  })

  it("A's own items stay reachable to A", async () => {
    expect(await ok('GET', `/v1/messages/${messageA.id}`, keyA)).toEqual(messageA)
    expectProblem(await call('GET', `/v1/messages/${messageA.id}`, keyB), 404, `/v1/messages/${messageA.id}`, 'not-found')
  })
})

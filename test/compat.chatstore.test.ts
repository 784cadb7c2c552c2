// The RAG chat store's own API (/api/v1/sessions…), as its README and sources describe it, on the
// house services: every endpoint, success and failure, with its shapes, statuses and error texts.
import { Validator } from '@seriousme/openapi-schema-validator'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { bearer, createGptWithKey, createTestApp, injectJson, type HttpMethod, type TestApp } from './helpers/test-app.js'

const GPT = 'rag-gpt'
const BASE = '/api/v1/sessions'
const USER = '5b0c3f8e-4a8d-4c57-9a43-2f3c1b6f7a10'
const OTHER_USER = '0f9d5b1c-7e2a-4d3b-8c6f-1a2b3c4d5e6f'
const MISSING = '01900000-0000-7000-8000-000000000000'
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const SESSION_FIELDS = ['created_at', 'id', 'is_favorite', 'name', 'updated_at', 'user_id']
const MESSAGE_FIELDS = ['content', 'context', 'created_at', 'error_message', 'id', 'partial_content', 'sender', 'session_id', 'status', 'timestamp', 'updated_at']

interface Session {
  id: string
  user_id: string
  name: string
  is_favorite: boolean
}
interface Message {
  id: string
  status: string
  content: string
  partial_content: string | null
}

let t: TestApp
let key: string
let otherKey: string
let session: Session

beforeAll(async () => {
  t = await createTestApp()
  key = (await createGptWithKey(t.services, GPT)).token
  otherKey = (await createGptWithKey(t.services, 'rag-other')).token
  session = (await call('POST', BASE, { user_id: USER, name: 'Debugging' })).json<Session>()
})

afterAll(async () => {
  await t?.close()
})

function call(method: HttpMethod, url: string, payload?: unknown, token: string | null = key): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, token === null ? {} : bearer(token), payload)
}

/** FastAPI's error shape: `{"detail": …}` as plain JSON. */
function expectDetail(response: LightMyRequestResponse, status: number, detail?: unknown) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json<{ detail: unknown }>()
  expect(Object.keys(body)).toEqual(['detail'])
  if (detail !== undefined) expect(body.detail).toEqual(detail)
  return body.detail
}

describe('chat store: sessions', () => {
  it('POST /api/v1/sessions → 201 with its fields; the name defaults to "New Chat"', async () => {
    const response = await call('POST', BASE, { user_id: USER })
    expect(response.statusCode, response.body).toBe(201)
    const created = response.json<Session>()
    expect(Object.keys(created).sort()).toEqual(SESSION_FIELDS)
    expect(created).toMatchObject({ user_id: USER, name: 'New Chat', is_favorite: false, created_at: expect.stringMatching(ISO) })
    expect((await call('POST', `${BASE}/`, { user_id: USER, name: null, is_favorite: true })).json()).toMatchObject({ name: 'New Chat', is_favorite: true })
  })

  it('GET /api/v1/sessions?user_id= lists that user\'s sessions, favorites first, with the total and skip/limit', async () => {
    const favorite = (await call('POST', BASE, { user_id: OTHER_USER, name: 'fav', is_favorite: true })).json<Session>()
    await call('POST', BASE, { user_id: OTHER_USER, name: 'newest' })
    const all = (await call('GET', `${BASE}?user_id=${OTHER_USER}`)).json<{ sessions: Session[]; total: number }>()
    expect(all.total).toBe(2)
    expect(all.sessions.map((s) => s.name)).toEqual(['fav', 'newest'])
    expect(Object.keys(all.sessions[0]!).sort()).toEqual(SESSION_FIELDS)
    const second = (await call('GET', `${BASE}/?user_id=${OTHER_USER}&skip=1&limit=1`)).json<{ sessions: Session[]; total: number }>()
    expect(second).toEqual({ sessions: [expect.objectContaining({ name: 'newest' })], total: 2 })
    expect(all.sessions[0]!.id).toBe(favorite.id)
    // A UUID is the same user in any letter case.
    expect((await call('GET', `${BASE}?user_id=${OTHER_USER.toUpperCase()}`)).json()).toMatchObject({ total: 2 })
  })

  it('PUT /api/v1/sessions/{id} renames (trimmed)', async () => {
    const response = await call('PUT', `${BASE}/${session.id}`, { name: '  Renamed  ' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ id: session.id, name: 'Renamed' })
  })

  it('PATCH …/favorite sets it with ?is_favorite=, and toggles it without', async () => {
    const set = await call('PATCH', `${BASE}/${session.id}/favorite?is_favorite=true`)
    expect(set.statusCode).toBe(200)
    expect(set.json()).toMatchObject({ is_favorite: true })
    expect((await call('PATCH', `${BASE}/${session.id}/favorite?is_favorite=true`)).json()).toMatchObject({ is_favorite: true })
    expect((await call('PATCH', `${BASE}/${session.id}/favorite`)).json()).toMatchObject({ is_favorite: false })
    expect((await call('PATCH', `${BASE}/${session.id}/favorite`)).json()).toMatchObject({ is_favorite: true })
  })

  it('DELETE /api/v1/sessions/{id} → 204 and its messages go with it', async () => {
    const doomed = (await call('POST', BASE, { user_id: USER })).json<Session>()
    const message = (await call('POST', `${BASE}/${doomed.id}/messages`, { sender: 'user', content: 'hi' })).json<Message>()
    const deleted = await call('DELETE', `${BASE}/${doomed.id}`)
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')
    expect((await t.services.messages.getMessage(GPT, message.id).catch((error: { status: number }) => error.status))).toBe(404)
    expectDetail(await call('DELETE', `${BASE}/${doomed.id}`), 404, 'Session not found')
  })
})

describe('chat store: messages', () => {
  let first: Message

  it('POST …/messages → 201 with sender, content, RAG context and its field names', async () => {
    const context = { documents: [{ source: 'README.md', score: 0.9 }] }
    const response = await call('POST', `${BASE}/${session.id}/messages`, { sender: 'user', content: 'How do I resume?', context })
    expect(response.statusCode, response.body).toBe(201)
    first = response.json<Message>()
    expect(Object.keys(first).sort()).toEqual(MESSAGE_FIELDS)
    expect(first).toMatchObject({ session_id: session.id, sender: 'user', content: 'How do I resume?', context, partial_content: null, error_message: null })
    const raw = response.json<{ timestamp: string; created_at: string }>()
    expect(raw.timestamp).toBe(raw.created_at)
  })

  it('GET …/messages lists oldest first with the total and skip/limit; GET …/messages/{id} reads one', async () => {
    await call('POST', `${BASE}/${session.id}/messages`, { sender: 'ai', content: 'Call /resume.' })
    const all = (await call('GET', `${BASE}/${session.id}/messages`)).json<{ messages: Message[]; total: number }>()
    expect(all.total).toBe(2)
    expect(all.messages.map((m) => m.content)).toEqual(['How do I resume?', 'Call /resume.'])
    const page = (await call('GET', `${BASE}/${session.id}/messages?skip=1&limit=5`)).json<{ messages: Message[]; total: number }>()
    expect(page.messages.map((m) => m.content)).toEqual(['Call /resume.'])
    const one = await call('GET', `${BASE}/${session.id}/messages/${first.id}`)
    expect(one.json()).toMatchObject({ id: first.id, content: 'How do I resume?' })
  })

  it('POST …/resume continues a failed AI reply from its partial text → {message_id, status}', async () => {
    const failed = await injectJson(t.app, 'POST', `/v1/sessions/${session.id}/messages`, bearer(key), {
      sender: 'ai',
      status: 'failed',
      partial_content: 'Call ',
      error_message: 'LLM timeout',
    })
    const failedId = failed.json<{ id: string }>().id
    const response = await call('POST', `${BASE}/${session.id}/resume`)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toEqual({ message_id: failedId, status: expect.stringMatching(/^(pending|in_progress|complete)$/) })
    await vi.waitFor(async () => expect((await t.services.messages.getMessage(GPT, failedId)).status).toBe('complete'), { timeout: 10_000 })
    const done = (await call('GET', `${BASE}/${session.id}/messages/${failedId}`)).json<Message>()
    expect(done.content.startsWith('Call ')).toBe(true)
    // Nothing left to resume: the last reply is complete.
    expectDetail(await call('POST', `${BASE}/${session.id}/messages/${failedId}/resume`), 400, 'Latest message is not in a resumable state')
  })

  it('resume in a session without an AI reply → 400 naming the session', async () => {
    const quiet = (await call('POST', BASE, { user_id: USER })).json<Session>()
    expectDetail(await call('POST', `${BASE}/${quiet.id}/resume`), 400, `No messages found for session ${quiet.id}`)
  })
})

describe('chat store: failures answer {"detail": …}', () => {
  const every: [HttpMethod, () => string, unknown?][] = [
    ['POST', () => BASE, { user_id: USER }],
    ['GET', () => `${BASE}?user_id=${USER}`],
    ['PUT', () => `${BASE}/${session.id}`, { name: 'x' }],
    ['PATCH', () => `${BASE}/${session.id}/favorite`],
    ['DELETE', () => `${BASE}/${session.id}`],
    ['POST', () => `${BASE}/${session.id}/messages`, { sender: 'user', content: 'x' }],
    ['GET', () => `${BASE}/${session.id}/messages`],
    ['POST', () => `${BASE}/${session.id}/resume`],
  ]

  it.each(every)('%s %s without a key → 403 "Not authenticated"', async (method, url, payload) => {
    expectDetail(await call(method, url(), payload, null), 403, 'Not authenticated')
  })

  it.each(every)('%s %s with a wrong key → 401 "Invalid API key" with WWW-Authenticate', async (method, url, payload) => {
    const response = await call(method, url(), payload, `ak_${'0'.repeat(32)}_${'A'.repeat(43)}`)
    expectDetail(response, 401, 'Invalid API key')
    expect(response.headers['www-authenticate']).toBe('Bearer')
  })

  it('a non-Bearer Authorization header → 403 "Invalid authentication credentials"', async () => {
    const response = await t.app.inject({ url: `${BASE}?user_id=${USER}`, headers: { authorization: 'Basic dXNlcjpwYXNz' } })
    expectDetail(response, 403, 'Invalid authentication credentials')
  })

  it('another GPT\'s key does not see the session (404)', async () => {
    expectDetail(await call('PUT', `${BASE}/${session.id}`, { name: 'x' }, otherKey), 404, 'Session not found')
    expect((await call('GET', `${BASE}?user_id=${USER}`, undefined, otherKey)).json()).toEqual({ sessions: [], total: 0 })
  })

  it.each([
    ['PUT', `${BASE}/${MISSING}`, { name: 'x' }, 'Session not found'],
    ['PATCH', `${BASE}/${MISSING}/favorite`, undefined, 'Session not found'],
    ['DELETE', `${BASE}/${MISSING}`, undefined, 'Session not found'],
    ['POST', `${BASE}/${MISSING}/messages`, { sender: 'user', content: 'x' }, `Session ${MISSING} not found`],
    ['GET', `${BASE}/${MISSING}/messages`, undefined, `Session ${MISSING} not found`],
    ['POST', `${BASE}/${MISSING}/resume`, undefined, `Session ${MISSING} not found`],
  ] as [HttpMethod, string, unknown, string][])('%s %s (missing) → 404 %j', async (method, url, payload, detail) => {
    expectDetail(await call(method, url, payload), 404, detail)
  })

  it('a message of another session → 404 naming both', async () => {
    const url = () => `${BASE}/${session.id}/messages/${MISSING}`
    expectDetail(await call('GET', url()), 404, `Message ${MISSING} not found in session ${session.id}`)
  })

  it('PUT without a name → 400 "Name is required for update"; a blank name → 404', async () => {
    expectDetail(await call('PUT', `${BASE}/${session.id}`, { is_favorite: true }), 400, 'Name is required for update')
    expectDetail(await call('PUT', `${BASE}/${session.id}`, { name: '   ' }), 404, 'Session not found')
  })

  it.each([
    ['POST', BASE, {}, ['body', 'user_id']],
    ['POST', BASE, { user_id: 'not-a-uuid' }, ['body', 'user_id']],
    ['GET', BASE, undefined, ['query', 'user_id']],
    ['GET', `${BASE}?user_id=${USER}&limit=1001`, undefined, ['query', 'limit']],
    ['GET', `${BASE}?user_id=${USER}&skip=-1`, undefined, ['query', 'skip']],
    ['PUT', `${BASE}/not-a-uuid`, { name: 'x' }, ['path', 'session_id']],
    ['POST', `${BASE}/${MISSING}/messages`, { sender: 'robot', content: 'x' }, ['body', 'sender']],
    ['POST', `${BASE}/${MISSING}/messages`, { sender: 'user', content: '' }, ['body', 'content']],
    ['POST', `${BASE}/${MISSING}/messages`, { sender: 'user', content: 'x', context: 'text' }, ['body', 'context']],
  ] as [HttpMethod, string, unknown, string[]][])('%s %s %j → 422 at %j', async (method, url, payload, loc) => {
    const detail = expectDetail(await call(method, url, payload), 422) as { loc: string[]; msg: string; type: string }[]
    expect(detail.length).toBeGreaterThan(0)
    expect(detail.map((item) => item.loc)).toContainEqual(loc)
    for (const item of detail) expect(item).toEqual({ type: expect.any(String), loc: expect.any(Array), msg: expect.any(String) })
  })

  it('a body that is not JSON → 422 json_invalid', async () => {
    const response = await t.app.inject({ method: 'POST', url: BASE, headers: { ...bearer(key), 'content-type': 'application/json' }, payload: '{"user_id":' })
    expectDetail(response, 422, [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }])
  })
})

describe('OpenAPI with the compatibility surfaces served', () => {
  it('stays valid OpenAPI 3.1 and lists their paths', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, object> }>()
    const result = await new Validator().validate(structuredClone(doc) as Record<string, unknown>)
    expect(result.errors).toBeUndefined()
    expect(result.valid).toBe(true)
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item as Record<string, { operationId?: string }>).map((op) => op.operationId))
    expect(new Set(ids).size).toBe(ids.length)
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/', '/api/v1/sessions', '/api/v1/sessions/{session_id}/favorite', '/api/v1/sessions/{session_id}/resume']),
    )
  })

  it('is also where the chat store served it, /api/v1/openapi.json, without a key', async () => {
    const response = await t.app.inject({ url: '/api/v1/openapi.json' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual((await t.app.inject({ url: '/openapi.json' })).json())
  })
})

describe('chat store: health and rate limits', () => {
  it('GET /health carries its start_time, current_time and uptime beside the house fields', async () => {
    const body = (await t.app.inject({ url: '/health' })).json<Record<string, string>>()
    expect(body).toMatchObject({ status: 'ok', start_time: expect.stringMatching(ISO), current_time: expect.stringMatching(ISO) })
    expect(body.uptime).toMatch(/^\d+d \d+hrs \d+mins \d+s$/)
  })

  it('a spent budget → 429 {"error": …} with Retry-After', async () => {
    const limited = await createTestApp({ env: { RATE_LIMITS: 'key:1/m' } })
    try {
      const token = (await createGptWithKey(limited.services, GPT)).token
      const url = `${BASE}?user_id=${USER}`
      expect((await injectJson(limited.app, 'GET', url, bearer(token))).statusCode).toBe(200)
      const response = await injectJson(limited.app, 'GET', url, bearer(token))
      expect(response.statusCode).toBe(429)
      expect(response.json()).toEqual({ error: expect.stringMatching(/^Rate limit exceeded/) })
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0)
    } finally {
      await limited.close()
    }
  })
})

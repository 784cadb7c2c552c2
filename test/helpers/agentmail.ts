import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { bearer, injectJson, type HttpMethod, type TestApp } from './test-app.js'

/** Calls on the agent-messaging demo's surface, as its clients send them (JSON, a GPT key). */
export function agentMailClient(app: () => TestApp, key: () => string) {
  const call = (method: HttpMethod, url: string, payload?: unknown, token: string | null = key()): Promise<LightMyRequestResponse> =>
    injectJson(app().app, method, url, token === null ? {} : bearer(token), payload)
  const ok = async <T = Record<string, unknown>>(method: HttpMethod, url: string, payload?: unknown, status = method === 'POST' ? 201 : 200): Promise<T> => {
    const response = await call(method, url, payload)
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status)
    return response.json<T>()
  }
  let count = 0
  const agent = (name = `agent-${++count}`) => ok<{ id: string; agent_name: string }>('POST', '/agents', { agent_name: name, ip_address: '192.168.1.10', port: 8080 })
  const message = (senderId: string, extra: Record<string, unknown> = {}) =>
    ok<{ id: string; conversation_id: string | null }>('POST', '/messages', { content: 'hello', sender_id: senderId, ...extra })
  const deliver = (messageId: string, recipientId: string, isRead = false) =>
    ok('POST', '/message_recipients', { message_id: messageId, recipient_id: recipientId, is_read: isRead })
  return { call, ok, agent, message, deliver }
}

/** FastAPI's error shape: `{"detail": …}` as plain JSON. */
export function expectDetail(response: LightMyRequestResponse, status: number, detail?: unknown): unknown {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json<{ detail: unknown }>()
  expect(Object.keys(body)).toEqual(['detail'])
  if (detail !== undefined) expect(body.detail).toEqual(detail)
  return body.detail
}

/** A validation answer: 422 with pydantic-like items; returns their types and places. */
export function expectInvalid(response: LightMyRequestResponse): { type: string; loc: (string | number)[] }[] {
  const detail = expectDetail(response, 422) as { type: string; loc: (string | number)[]; msg: string }[]
  expect(Array.isArray(detail)).toBe(true)
  for (const item of detail) expect(typeof item.msg).toBe('string')
  return detail.map(({ type, loc }) => ({ type, loc }))
}

import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { bearer, type TestApp } from './test-app.js'

// Calls of the operator API (/v1/admin) as the admin tests make them.

export type AdminMethod = 'GET' | 'POST' | 'DELETE'

/** `call` sends the admin token unless given other headers; `app` is read at call time (set in beforeAll). */
export function adminCalls(app: () => TestApp) {
  const admin = () => bearer(app().adminToken)
  const call = (method: AdminMethod, url: string, payload?: unknown, headers: Record<string, string> = admin()) =>
    app().app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) })
  const me = (token: string) => app().app.inject({ url: '/v1/me', headers: bearer(token) })
  return { admin, call, me }
}

/** A problem-details answer of `status` (and `type`, when given). */
export function expectAdminProblem(response: LightMyRequestResponse, status: number, type?: string) {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = response.json()
  expect(body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String), instance: expect.any(String) })
  if (type) expect(body.type).toBe(`/problems/${type}`)
  return body as { detail: string; errors?: { pointer: string; message: string }[] }
}

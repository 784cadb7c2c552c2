import type { FastifyInstance } from 'fastify'
import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'

export interface ConsoleLogin {
  cookie: string
  csrf: string
  kind: string
  accountId: string | null
}

/** The `name=value` of the console cookie a sign-in set, and its raw Set-Cookie line. */
export function consoleCookie(response: LightMyRequestResponse): { pair: string; line: string } {
  const header = response.headers['set-cookie']
  const line = (Array.isArray(header) ? header : [header ?? '']).find((value) => value.startsWith('agentstore_console='))
  expect(line, 'a console cookie').toBeDefined()
  return { pair: line!.split(';')[0]!, line: line! }
}

/** Signs in to the console through HTTP (an account's credentials or the admin token). */
export async function consoleSignIn(app: FastifyInstance, body: Record<string, string>): Promise<ConsoleLogin> {
  const response = await app.inject({ method: 'POST', url: '/admin/api/session', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
  expect(response.statusCode, response.body).toBe(201)
  const view = response.json<{ kind: string; csrf_token: string; account_id: string | null }>()
  return { cookie: consoleCookie(response).pair, csrf: view.csrf_token, kind: view.kind, accountId: view.account_id }
}

/** A console request: the session cookie, and for writes the CSRF token unless `csrf` says otherwise. */
export function consoleCall(
  app: FastifyInstance,
  login: ConsoleLogin,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const all: Record<string, string> = { cookie: login.cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': login.csrf }), ...headers }
  if (body === undefined) return app.inject({ method, url, headers: all })
  return app.inject({ method, url, headers: { 'content-type': 'application/json', ...all }, payload: JSON.stringify(body) })
}

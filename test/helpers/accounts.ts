import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { bearer, injectJson } from './test-app.js'

export const PASSWORD = 'Correct-Horse1'

let counter = 0
/** A fresh email per call, unique in the file. */
export const email = (name = 'owner') => `${name}-${++counter}@example.com`

export interface TestAccount {
  id: string
  email: string
  password: string
  key: string
}

/** Signs up through HTTP and returns the account with its first key. */
export async function signup(app: FastifyInstance, address = email(), password = PASSWORD): Promise<TestAccount> {
  const response = await injectJson(app, 'POST', '/v1/auth/signup', {}, { email: address, password })
  expect(response.statusCode, response.body).toBe(201)
  const body = response.json<{ account: { id: string }; key: string }>()
  return { id: body.account.id, email: address, password, key: body.key }
}

export interface Tokens {
  access_token: string
  refresh_token: string
}

export async function login(app: FastifyInstance, account: { email: string; password: string }): Promise<Tokens> {
  const response = await injectJson(app, 'POST', '/v1/auth/login', {}, { email: account.email, password: account.password })
  expect(response.statusCode, response.body).toBe(200)
  return response.json<Tokens>()
}

export const me = (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> =>
  app.inject({ url: '/v1/accounts/me', headers: bearer(token) })

/** A 401 for a bearer access token, as RFC 6750 has it. */
export function expectInvalidToken(response: LightMyRequestResponse): void {
  expect(response.statusCode, response.body).toBe(401)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="agentstore", error="invalid_token"/)
}

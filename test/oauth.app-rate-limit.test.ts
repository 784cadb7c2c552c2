import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import { postForm, registerApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

let t: TestApp
let admin: string

beforeAll(async () => {
  // RATE_LIMITS is off in tests: an app's own budget holds anyway.
  t = await createTestApp()
  admin = (await createGptWithKey(t.services, 'limited-gpt', ['read', 'write', 'admin'])).token
})

afterAll(async () => {
  await t.close()
})

async function appToken(body: Record<string, unknown>): Promise<string> {
  const app = await registerApp(t.app, 'limited-gpt', admin, body)
  const response = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { id: app.client_id, secret: app.client_secret! })
  expect(response.statusCode, response.body).toBe(200)
  return response.json<{ access_token: string }>().access_token
}

describe("an app's rate_limit_per_minute", () => {
  it('holds for all its tokens, with RateLimit headers and a 429 with Retry-After past it', async () => {
    const token = await appToken({ rate_limit_per_minute: 3 })
    for (let i = 0; i < 3; i++) {
      const response = await t.app.inject({ url: '/v1/gpts/limited-gpt', headers: bearer(token) })
      expect(response.statusCode, response.body).toBe(200)
      expect(response.headers['ratelimit-limit']).toBe('3')
    }
    const refused = await t.app.inject({ url: '/v1/gpts/limited-gpt', headers: bearer(token) })
    expectProblem(refused, 429, '/v1/gpts/limited-gpt', 'rate-limited')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('leaves other apps and the GPT key alone', async () => {
    const other = await appToken({})
    for (let i = 0; i < 5; i++) expect((await t.app.inject({ url: '/v1/gpts/limited-gpt', headers: bearer(other) })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/v1/gpts/limited-gpt', headers: bearer(admin) })).statusCode).toBe(200)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'
import { signup } from './helpers/accounts.js'

// Every numeric query parameter the API declares, found in its own OpenAPI document, refuses text
// that is a number JavaScript cannot use (ajv turns "1e309" into Infinity and skips min/max for it).

interface Parameter {
  in: string
  name: string
  schema: { type?: string; format?: string }
}

const GPT = 'num-gpt'
const NON_FINITE = ['1e309', '-1e309', 'Infinity', '-Infinity', '+Infinity', 'NaN', '1e400']

let t: TestApp
let token: string
let accountKey: string
let cases: { path: string; url: string; param: string; value: string }[]

const UUID = '0190a1b2-0000-7000-8000-000000000000'

function pathValue(parameter: Parameter): string {
  if (parameter.name === 'gpt_id') return GPT
  if (parameter.schema.format === 'uuid') return UUID
  return 'notes'
}

beforeAll(async () => {
  t = await createTestApp()
  ;({ token } = await createGptWithKey(t.services, GPT, ['read', 'write', 'admin']))
  accountKey = (await signup(t.app)).key
  const document = (await t.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, { get?: { parameters?: Parameter[] } }> }>()
  cases = Object.entries(document.paths).flatMap(([path, item]) => {
    const parameters = item.get?.parameters ?? []
    const numeric = parameters.filter((p) => p.in === 'query' && (p.schema.type === 'integer' || p.schema.type === 'number'))
    const concrete = parameters.filter((p) => p.in === 'path').reduce((url, p) => url.replace(`{${p.name}}`, pathValue(p)), path)
    return numeric.flatMap((p) => NON_FINITE.map((value) => ({ path, url: `${concrete}?${p.name}=${encodeURIComponent(value)}`, param: p.name, value })))
  })
})

afterAll(async () => {
  await t?.close()
})

describe('non-finite numbers in the query string', () => {
  it('covers every list route and the other numeric parameters', () => {
    const covered = new Set(cases.map((c) => `${c.path}?${c.param}`))
    for (const expected of ['/v1/admin/gpts?limit', '/v1/gpts/{gpt_id}/agents?limit', '/v1/agents/{id}/inbox?min_importance', '/v1/messages/{id}/stream?offset']) {
      expect(covered).toContain(expected)
    }
    expect(covered.size).toBeGreaterThanOrEqual(14)
  })

  it('answers 422 naming the parameter, never 500', async () => {
    const failures: string[] = []
    for (const { url, param } of cases) {
      // Account routes (an account's own GPTs) take an account key, admin routes the admin token.
      const headers = bearer(url.startsWith('/v1/admin/') ? t.adminToken : /^\/v1\/(gpts\?|accounts\/)/.test(url) ? accountKey : token)
      // The chat store's lists need their user: given, so that the number is the only fault.
      const response = await t.app.inject({ url: url.startsWith('/api/v1/sessions?') ? `${url}&user_id=${UUID}` : url, headers })
      if (response.statusCode !== 422) {
        failures.push(`${url} → ${response.statusCode} ${response.body.slice(0, 200)}`)
        continue
      }
      // A replaced system's own surface (/api/…) answers in that system's error shape.
      if (url.startsWith('/api/')) {
        expect(response.json<{ detail: { loc: string[] }[] }>().detail.map((entry) => entry.loc), url).toContainEqual(['query', param])
        continue
      }
      const body = expectProblem(response, 422, url, 'validation-failed')
      expect(body.errors, url).toEqual([{ pointer: `/${param}`, location: 'query', message: expect.stringMatching(/number|integer/) }])
    }
    expect(failures).toEqual([])
  })

  it('still accepts a finite value written with an exponent', async () => {
    const response = await t.app.inject({ url: '/v1/admin/gpts?limit=1e1', headers: bearer(t.adminToken) })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toMatchObject({ gpts: [{ id: GPT }], has_more: false })
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

// What the request log keeps of a URL: everything but the values of secret query parameters.

let t: TestApp
let token: string

beforeAll(async () => {
  t = await createTestApp()
  ;({ token } = await createGptWithKey(t.services, 'log-gpt'))
})

afterAll(async () => {
  await t?.close()
})

function requestLines(reqId: string) {
  return t.logs.filter((line) => line.reqId === reqId)
}

describe('secret query values never reach the log', () => {
  it.each([
    { name: 'a public route', url: '/health?token=SECRET-T1&api_key=SECRET-K1', logged: '/health?token=[redacted]&api_key=[redacted]', status: 200 },
    { name: 'an unknown route', url: '/nope?access_token=SECRET-A1&Client_Secret=SECRET-C1&x=1', logged: '/nope?access_token=[redacted]&Client_Secret=[redacted]&x=1', status: 404 },
    { name: 'a refused query', url: '/v1/admin/gpts?password=SECRET-P1&limit=0', logged: '/v1/admin/gpts?password=[redacted]&limit=0', status: 422 },
    { name: 'a path the router cannot read', url: '/v1/objects/%FF?refresh_token=SECRET-R1&code=SECRET-O1', logged: '/v1/objects/%FF?refresh_token=[redacted]&code=[redacted]', status: 400 },
  ])('$name', async ({ url, logged, status }) => {
    const reqId = `log-${status}`
    const headers = { ...(url.startsWith('/v1/admin') ? bearer(t.adminToken) : {}), 'x-request-id': reqId }
    const response = await t.app.inject({ url, headers })
    expect(response.statusCode).toBe(status)
    const incoming = requestLines(reqId).find((line) => line.msg === 'incoming request')
    expect(incoming, JSON.stringify(requestLines(reqId))).toBeDefined()
    expect(incoming!.req).toMatchObject({ method: 'GET', url: logged })
    expect(JSON.stringify(t.logs)).not.toMatch(/SECRET-/)
  })

  it('keeps other query values, so that a request can still be traced', async () => {
    await t.app.inject({ url: '/v1/gpts/log-gpt/agents?limit=3&order=asc', headers: { ...bearer(token), 'x-request-id': 'log-list' } })
    const incoming = requestLines('log-list').find((line) => line.msg === 'incoming request')
    expect(incoming!.req).toMatchObject({ method: 'GET', url: '/v1/gpts/log-gpt/agents?limit=3&order=asc', remoteAddress: expect.any(String) })
    expect(requestLines('log-list').find((line) => line.msg === 'request completed')).toMatchObject({ res: { statusCode: 200 } })
  })
})

import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'
import { expectProblem } from './helpers/problem.js'

// Errors raised before any route runs: by Fastify's router (bad percent-encoding, long segments)
// and by node's HTTP parser (URL or headers over its limit, malformed HTTP). Each is a problem.

let t: TestApp
let token: string
let port: number

beforeAll(async () => {
  t = await createTestApp()
  ;({ token } = await createGptWithKey(t.services, 'fw-gpt'))
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const address = t.app.server.address()
  port = typeof address === 'object' && address ? address.port : 0
})

afterAll(async () => {
  await t?.close()
})

describe('paths the router cannot read', () => {
  it.each([
    '/v1/objects/%ED%A0%80',
    '/v1/objects/%C0%AF',
    '/v1/objects/%FF',
    '/v1/gpts/%E0%A4%A/agents',
    '/v1/agents/%FF/inbox?limit=5',
  ])('%s → 400 problem', async (url) => {
    const response = await t.app.inject({ url, headers: { ...bearer(token), 'x-request-id': 'bad-url-1' } })
    const body = expectProblem(response, 400, url, 'bad-request')
    expect(body.detail).toBe('The path is not valid percent-encoded UTF-8.')
    expect(body.request_id).toBe('bad-url-1')
  })
})

describe('long path segments', () => {
  it.each([
    { url: `/v1/objects/${'a'.repeat(150)}`, status: 422, type: 'validation-failed' },
    { url: `/v1/admin/gpts/${'g'.repeat(300)}/keys`, status: 422, type: 'validation-failed' },
    { url: `/v1/gpts/fw-gpt/collections/${'c'.repeat(1024)}`, status: 422, type: 'validation-failed' },
    { url: `/problems/${'x'.repeat(500)}`, status: 404, type: 'not-found' },
    { url: `/v1/objects/${'a'.repeat(1025)}`, status: 414, type: 'uri-too-long' },
    { url: `/v1/gpts/${'g'.repeat(5000)}/agents`, status: 414, type: 'uri-too-long' },
  ])('$status for $url.length characters', async ({ url, status, type }) => {
    const response = await t.app.inject({ url, headers: bearer(url.startsWith('/v1/admin/') ? t.adminToken : token) })
    const body = expectProblem(response, status, url, type)
    if (status === 422) expect(body.errors).toEqual([expect.objectContaining({ location: 'params' })])
  })
})

interface RawAnswer {
  statusLine: string
  headers: Record<string, string>
  body: string
}

/** Writes raw bytes to the listening server and reads its answer until it closes the connection. */
function rawRequest(bytes: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    // The server may close while the request is still being written: the answer is already here.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)))
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const [head = '', body = ''] = text.split('\r\n\r\n')
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
      resolve({ statusLine, headers, body })
    })
    socket.write(bytes)
  })
}

describe('requests node refuses before Fastify sees them (over a real socket)', () => {
  it.each([
    { name: 'a 100 kB URL', request: `GET /v1/admin/gpts?cursor=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, status: 431, statusText: 'Request Header Fields Too Large', type: 'headers-too-large' },
    { name: 'a 20 kB header', request: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, status: 431, statusText: 'Request Header Fields Too Large', type: 'headers-too-large' },
    { name: 'malformed HTTP', request: 'HELLO / THERE\r\n\r\n', status: 400, statusText: 'Bad Request', type: 'bad-request' },
  ])('$name → $status problem', async ({ request, status, statusText, type }) => {
    const answer = await rawRequest(request)
    expect(answer.statusLine).toBe(`HTTP/1.1 ${status} ${statusText}`)
    expect(answer.headers['content-type']).toBe('application/problem+json')
    expect(answer.headers.connection).toBe('close')
    expect(answer.headers['x-content-type-options']).toBe('nosniff')
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body))
    const body = JSON.parse(answer.body) as Record<string, unknown>
    expect(body).toEqual({ type: `/problems/${type}`, title: statusText, status, detail: expect.any(String), request_id: answer.headers['x-request-id'] })
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('answers the same router errors over the socket as in process', async () => {
    const answer = await rawRequest('GET /v1/objects/%C0%AF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request')
    expect(answer.headers['content-type']).toBe('application/problem+json')
    expect(JSON.parse(answer.body)).toMatchObject({ type: '/problems/bad-request', status: 400, request_id: answer.headers['x-request-id'] })
  })

  it('still serves a normal request after them', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/health`)
    expect(response.status).toBe(200)
  })
})

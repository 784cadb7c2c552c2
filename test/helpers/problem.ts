import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  request_id: string
  errors?: { pointer: string; message: string; location?: string; line?: number }[]
  [extension: string]: unknown
}

/**
 * Asserts an RFC 9457 answer with the house fields (type under /problems/, the request id echoed,
 * no stack frames) and returns its body; with `type`, also the exact problem code.
 */
export function expectProblem(response: LightMyRequestResponse, status: number, url: string, type?: string): Problem {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toBe('application/problem+json')
  const body = response.json<Problem>()
  expect(body).toMatchObject({
    type: expect.stringMatching(/^\/problems\/[a-z-]+$/),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance: url.split('?')[0],
  })
  expect(body.title.length).toBeGreaterThan(0)
  expect(body.detail.length).toBeGreaterThan(0)
  expect(body.request_id).toBe(response.headers['x-request-id'])
  if (type) expect(body.type).toBe(`/problems/${type}`)
  expect(response.body).not.toMatch(/\bat .+:\d+:\d+/) // no stack frames
  return body
}

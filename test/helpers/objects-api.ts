import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, expect } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './test-app.js'

export type Body = Record<string, unknown>
export interface ObjectView {
  id: string
  gpt_id: string
  collection: string
  body: Body
  created_at: string
  updated_at: string
}
export interface ObjectList {
  objects: ObjectView[]
  next_cursor: string | null
  has_more: boolean
}

export const GPT = 'obj-gpt'
export const COLLECTIONS = `/v1/gpts/${GPT}/collections`
export const objectsOf = (collection: string) => `${COLLECTIONS}/${collection}/objects`
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
export const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'

export let t: TestApp
/** BODY_LIMIT 64kb, IMPORT_MAX_LINES 5, IMPORT_BODY_LIMIT 128kb, MAX_PAGE_SIZE 10, DEFAULT_PAGE_SIZE 4. */
export let small: TestApp | undefined
export let writer: string
export let admin: string
export let reader: string
export let smallWriter: string

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface CallOptions {
  token?: string
  headers?: Record<string, string>
  app?: TestApp
  /** Sent as the raw body (with Content-Type application/json unless headers say otherwise). */
  raw?: string
}

export function call(method: Method, url: string, payload?: unknown, options: CallOptions = {}): Promise<LightMyRequestResponse> {
  const app = options.app ?? t
  const headers: Record<string, string> = { ...bearer(options.token ?? writer), ...options.headers }
  if (options.raw !== undefined) {
    return app.app.inject({ method, url, headers: { 'content-type': 'application/json', ...headers }, payload: options.raw })
  }
  if (payload === undefined) return app.app.inject({ method, url, headers })
  return app.app.inject({ method, url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(payload) })
}

export async function createCollection(name: string, schema?: Body, app: TestApp = t, token = admin): Promise<void> {
  const response = await app.app.inject({
    method: 'POST',
    url: COLLECTIONS,
    headers: bearer(token),
    payload: schema === undefined ? { name } : { name, schema },
  })
  expect(response.statusCode, response.body).toBe(201)
}

export async function createObject(collection: string, body: Body, options: CallOptions = {}): Promise<ObjectView> {
  const response = await call('POST', objectsOf(collection), body, options)
  expect(response.statusCode, response.body).toBe(201)
  return response.json<ObjectView>()
}

export async function listAll(collection: string, query = '', options: CallOptions = {}): Promise<ObjectView[]> {
  // The small app caps pages at 10 (MAX_PAGE_SIZE).
  const limit = options.app === small ? 10 : 200
  const response = await call('GET', `${objectsOf(collection)}?limit=${limit}${query ? `&${query}` : ''}`, undefined, options)
  expect(response.statusCode, response.body).toBe(200)
  const page = response.json<ObjectList>()
  expect(page.has_more).toBe(false)
  return page.objects
}

/** Follows Link headers from `url`; checks that each page's Link and next_cursor agree. */
export async function walk(url: string, options: CallOptions = {}): Promise<{ objects: ObjectView[]; pages: number }> {
  const objects: ObjectView[] = []
  let next: string | null = url
  let pages = 0
  while (next !== null) {
    const response = await call('GET', next, undefined, options)
    expect(response.statusCode, response.body).toBe(200)
    const page = response.json<ObjectList>()
    objects.push(...page.objects)
    pages++
    expect(pages).toBeLessThan(100)
    if (page.has_more) {
      const link = response.headers.link as string
      expect(link).toMatch(/^<http:\/\/agentstore\.test\/v1\/gpts\/[^>]+>; rel="next"$/)
      const target = new URL(/^<([^>]+)>/.exec(link)![1]!)
      expect(target.searchParams.get('cursor')).toBe(page.next_cursor)
      next = `${target.pathname}${target.search}`
    } else {
      expect(page.next_cursor).toBeNull()
      expect(response.headers.link).toBeUndefined()
      next = null
    }
  }
  return { objects, pages }
}

export const nested = (collection: string, id: string) => `${objectsOf(collection)}/${id}`

export function deepObject(levels: number): Body {
  let value: Body = { leaf: 'bottom' }
  for (let i = 1; i < levels; i++) value = { child: value }
  return value
}

/**
 * The app, GPT and keys every file of these scenarios starts from (hooks of the calling file); the
 * small app only for files that test its limits.
 */
export function useObjectsApi(options: { small?: boolean } = {}): void {
  beforeAll(async () => {
    ;[t, small] = await Promise.all([
      createTestApp(),
      options.small ? createTestApp({
        env: { BODY_LIMIT: '64kb', IMPORT_MAX_LINES: '5', IMPORT_BODY_LIMIT: '128kb', MAX_PAGE_SIZE: '10', DEFAULT_PAGE_SIZE: '4' },
      }) : undefined,
    ])
    writer = (await createGptWithKey(t.services, GPT, ['read', 'write'])).token
    admin = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
    reader = (await createGptWithKey(t.services, GPT, ['read'])).token
    if (small) smallWriter = (await createGptWithKey(small.services, GPT, ['read', 'write'])).token
  })
  afterAll(async () => {
    await Promise.all([t?.close(), small?.close()])
  })
}

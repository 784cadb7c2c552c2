import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect } from 'vitest'
import { bearer, createGptWithKey, createTestApp, type TestApp, injectJson } from './test-app.js'
import type { MemoryView } from '../../src/modules/memories/memories.schemas.js'

export interface MemoryList {
  memories: MemoryView[]
  next_cursor: string | null
  has_more: boolean
}
export interface BatchResult {
  memories: MemoryView[]
  created_count: number
  updated_count: number
}
export interface SearchResult {
  source: string
  id: string
  score: number
  content: string
}

export const GPT = 'memories-gpt'
export const OTHER = 'memories-other'
export const MEMORIES = `/v1/gpts/${GPT}/memories`
export const BATCH = `${MEMORIES}/batch`
export const SEARCH = `/v1/gpts/${GPT}/search`
export const MODEL = 'universal-sentence-encoder-lite'
export const MAX_BATCH = 5
export const MAX_MEMORY_CHARS = 500
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
export const MISSING_ID = '0190a1b2-0000-7000-8000-000000000000'

export let t: TestApp
export let writer: string
export let reader: string
export let otherWriter: string

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

export function call(method: Method, url: string, payload?: unknown, token: string | null = writer): Promise<LightMyRequestResponse> {
  return injectJson(t.app, method, url, token === null ? {} : bearer(token), payload)
}

export async function write(body: Record<string, unknown>, status = 201, url = MEMORIES, token = writer): Promise<MemoryView> {
  const response = await call('POST', url, body, token)
  expect(response.statusCode, response.body).toBe(status)
  return response.json<MemoryView>()
}

export async function list(query = '', token = writer, url = MEMORIES): Promise<MemoryList> {
  const response = await call('GET', `${url}${query ? `?${query}` : ''}`, undefined, token)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<MemoryList>()
}

export async function search(body: Record<string, unknown>, token = writer, url = SEARCH): Promise<SearchResult[]> {
  const response = await call('POST', url, { sources: ['memories'], ...body }, token)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<{ results: SearchResult[] }>().results
}

/** The stored vector row of a memory (null when it has none). */
export async function vectorOf(id: string): Promise<{ model: string; dims: number; embedded_at: Date } | null> {
  const { rows } = await sql<{ model: string; dims: number; embedded_at: Date }>`
    select model, dims, embedded_at from embeddings where memory_id = ${id}
  `.execute(t.db.database.db)
  return rows[0] ?? null
}

export const pointers = (response: LightMyRequestResponse) => (response.json<{ errors?: { pointer: string }[] }>().errors ?? []).map((e) => e.pointer)
export const countAll = async () => (await list('limit=200')).memories.length

/** The app(s), GPT and keys every file of these scenarios starts from (hooks of the calling file). */
export function useMemoriesApi(): void {
  beforeAll(async () => {
    t = await createTestApp({ env: { MAX_BATCH: String(MAX_BATCH), MAX_MEMORY_CHARS: String(MAX_MEMORY_CHARS) } })
    writer = (await createGptWithKey(t.services, GPT)).token
    reader = (await createGptWithKey(t.services, GPT, ['read'])).token
    otherWriter = (await createGptWithKey(t.services, OTHER)).token
  })
  afterAll(async () => {
    await t?.close()
  })
}

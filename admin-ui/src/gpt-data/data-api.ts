import { call, send } from '../api.js'
import type { PageOf } from './pager.js'

/** A GPT's data, reached as its owner (or the operator) by naming the GPT in Agentstore-GPT. */
export interface Collection {
  name: string
  schema: Record<string, unknown> | null
  per_user: boolean
  ttl_seconds: number | null
  created_at: string
  updated_at: string
}

export interface StoredDocument {
  id: string
  collection: string
  body: Record<string, unknown>
  user_id?: string
  created_at: string
  updated_at: string
}

export type EmbeddingStatus = 'pending' | 'ready' | 'failed'

export interface Memory {
  id: string
  content: string
  entity_type: string | null
  entity_id: string | null
  user_id: string | null
  metadata: Record<string, unknown>
  embedding_status: EmbeddingStatus
  embedding_error: string | null
  created_at: string
}

export type SearchSource = 'memories' | 'objects' | 'messages'
export type SearchMode = 'hybrid' | 'semantic' | 'keyword'

export interface SearchResult {
  source: SearchSource
  id: string
  score: number
  content: string
  details: Record<string, unknown>
  created_at: string
  match: {
    semantic: { rank: number; similarity: number } | null
    keyword: { rank: number; score: number; terms: string[] } | null
  }
}

export interface SearchAnswer {
  results: SearchResult[]
  mode: SearchMode
  sources: SearchSource[]
  vector_backend: string
  embedding_model: string
  warnings?: string[]
}

const gptPath = (gpt: string) => `/v1/gpts/${encodeURIComponent(gpt)}`
const collectionPath = (gpt: string, name: string) => `${gptPath(gpt)}/collections/${encodeURIComponent(name)}`

/** The query string of the set values only. */
function query(values: Record<string, string | null | undefined>): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(values)) if (value) params.set(name, value)
  return params.toString()
}

export const listCollections = (gpt: string, cursor: string | null) =>
  call<{ collections: Collection[]; next_cursor: string | null }>('GET', `${gptPath(gpt)}/collections?${query({ limit: '50', cursor })}`, undefined, { gpt }).then(
    (page): PageOf<Collection> => ({ items: page.collections, next: page.next_cursor }),
  )

export const createCollection = (gpt: string, body: Record<string, unknown>) => call<Collection>('POST', `${gptPath(gpt)}/collections`, body, { gpt })
export const getCollection = (gpt: string, name: string) => call<Collection>('GET', collectionPath(gpt, name), undefined, { gpt })
export const changeSchema = (gpt: string, name: string, schema: Record<string, unknown> | null) =>
  call<Collection & { invalid_documents: number }>('PATCH', collectionPath(gpt, name), { schema }, { gpt })

export const listDocuments = (gpt: string, name: string, filters: { where: string; q: string }, cursor: string | null) =>
  call<{ objects: StoredDocument[]; next_cursor: string | null }>(
    'GET',
    `${collectionPath(gpt, name)}/objects?${query({ limit: '20', where: filters.where, q: filters.q, cursor })}`,
    undefined,
    { gpt },
  ).then((page): PageOf<StoredDocument> => ({ items: page.objects, next: page.next_cursor }))

// Sent as {"body": …}: a document whose only field is "body" would otherwise be unwrapped.
export const addDocument = (gpt: string, name: string, body: Record<string, unknown>) =>
  call<StoredDocument>('POST', `${collectionPath(gpt, name)}/objects`, { body }, { gpt })

/** A document and its ETag, the version an edit is made against. */
export async function readDocument(gpt: string, id: string): Promise<{ document: StoredDocument; etag: string }> {
  const response = await send('GET', `/v1/objects/${encodeURIComponent(id)}`, undefined, { gpt })
  return { document: (await response.json()) as StoredDocument, etag: response.headers.get('etag') ?? '' }
}

/** Replaces the body only if the document is still at `etag` (412 otherwise): an edit never overwrites another. */
export async function replaceDocument(gpt: string, id: string, body: Record<string, unknown>, etag: string) {
  const response = await send('PUT', `/v1/objects/${encodeURIComponent(id)}`, { body }, { gpt, headers: { 'if-match': etag } })
  return { document: (await response.json()) as StoredDocument, etag: response.headers.get('etag') ?? '' }
}

export const deleteDocument = (gpt: string, id: string, etag: string) =>
  call<void>('DELETE', `/v1/objects/${encodeURIComponent(id)}`, undefined, { gpt, headers: { 'if-match': etag } })

export const exportCollection = (gpt: string, name: string) =>
  send('GET', `${collectionPath(gpt, name)}/export`, undefined, { gpt, headers: { accept: 'application/x-ndjson' } }).then((response) => response.text())

export const importCollection = (gpt: string, name: string, ndjson: string) =>
  call<{ imported: number }>('POST', `${collectionPath(gpt, name)}/import`, undefined, { gpt, text: ndjson, headers: { 'content-type': 'application/x-ndjson' } })

export interface MemoryFilters {
  entity_type: string
  entity_id: string
  user_id: string
  embedding_status: string
  where: string
}

export const listMemories = (gpt: string, filters: MemoryFilters, cursor: string | null) =>
  call<{ memories: Memory[]; next_cursor: string | null }>('GET', `${gptPath(gpt)}/memories?${query({ limit: '20', ...filters, cursor })}`, undefined, { gpt }).then(
    (page): PageOf<Memory> => ({ items: page.memories, next: page.next_cursor }),
  )

export const addMemory = (gpt: string, body: Record<string, unknown>) => call<Memory>('POST', `${gptPath(gpt)}/memories`, body, { gpt })

export const search = (gpt: string, body: Record<string, unknown>) => call<SearchAnswer>('POST', `${gptPath(gpt)}/search`, body, { gpt })

/** 200, or 202 with `embedding_status: pending` when the new content is embedded in the background. */
export const updateMemory = (gpt: string, id: string, body: Record<string, unknown>) => call<Memory>('PATCH', `/v1/memories/${encodeURIComponent(id)}`, body, { gpt })

export const deleteMemory = (gpt: string, id: string) => call<void>('DELETE', `/v1/memories/${encodeURIComponent(id)}`, undefined, { gpt })

import type { ValidateFunction } from 'ajv'
import type { JsonObject } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { timeNameAfter } from '../../platform/http/seek.js'
import { pageRequest, toPage, type Page, type SortOrder } from '../../platform/http/pagination.js'
import { checkCollectionSchema, compileCollectionSchema, releaseCollectionSchema } from '../../platform/json-schema.js'
import type { CollectionChange, CollectionRow, CollectionsRepository } from './collections.repo.js'
import type { CollectionView } from './collections.schemas.js'

export function toCollectionView(row: CollectionRow): CollectionView {
  return {
    gpt_id: row.gpt_id,
    name: row.name,
    schema: row.schema,
    per_user: row.per_user,
    ttl_seconds: row.ttl_seconds,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

/** A collection with its compiled schema (null when it has none). */
export interface CollectionHandle {
  row: CollectionRow
  validate: ValidateFunction | null
  /** The schema as JSON text (null: none), for a write that confirms the schema it was checked against. */
  schemaText: string | null
}

const CACHE_LIMIT = 1000

export class CollectionsService {
  /**
   * Compiled validators by schema text: compiling per write would cost more than the write, and the
   * text (unlike a timestamp) changes with every change of the schema. Equal schemas share one.
   */
  private readonly validators = new Map<string, { validate: ValidateFunction; schema: JsonObject }>()
  /**
   * Collections as this process last read them, by GPT and name. Another process may have changed one
   * since: only a write that confirms the rules in its own statement may rely on it (see `recentCollection`).
   */
  private readonly recent = new Map<string, CollectionHandle>()

  constructor(
    private readonly repo: CollectionsRepository,
    private readonly limits: { defaultPageSize: number },
  ) {}

  async upsertCollection(gptId: string, name: string, change: CollectionChange = {}) {
    if (change.schema) checkCollectionSchema(change.schema)
    const { row, created } = await this.repo.upsertCollection(gptId, name, change)
    // Forgotten rather than kept: keeping it would compile the schema checkCollectionSchema just compiled.
    this.recent.delete(recentKey(gptId, name))
    return { collection: toCollectionView(row), created }
  }

  async getCollection(gptId: string, name: string): Promise<CollectionView> {
    return toCollectionView((await this.requireCollection(gptId, name)).row)
  }

  /** The collection and its validator, or 404. */
  async requireCollection(gptId: string, name: string): Promise<CollectionHandle> {
    const row = await this.repo.findCollection(gptId, name)
    if (!row) this.missing(gptId, name)
    return this.remember(this.handleOf(row))
  }

  /**
   * The collection as this process last read or wrote it, without a round trip; undefined when it has
   * not lately. It may have changed or gone since: a write under it must confirm its rules (schema,
   * per_user) in the same statement, and decide again on `requireCollection` when they do not hold.
   */
  recentCollection(gptId: string, name: string): CollectionHandle | undefined {
    return this.recent.get(recentKey(gptId, name))
  }

  async updateCollection(gptId: string, name: string, change: CollectionChange): Promise<CollectionHandle> {
    if (change.schema) checkCollectionSchema(change.schema)
    const row = await this.repo.updateCollection(gptId, name, change)
    if (!row) this.missing(gptId, name)
    return this.remember(this.handleOf(row))
  }

  async listCollections(gptId: string, query: { limit?: number; cursor?: string; order?: SortOrder }): Promise<Page<CollectionView>> {
    const page = pageRequest(query, `collections:${gptId}`, { defaultPageSize: this.limits.defaultPageSize, order: 'asc' })
    const rows = await this.repo.listCollections(gptId, { ...page, after: timeNameAfter(page) })
    const result = toPage(rows, page, (row) => [row.created_at.toISOString(), row.name])
    return { ...result, items: result.items.map(toCollectionView) }
  }

  async deleteCollection(gptId: string, name: string): Promise<void> {
    this.recent.delete(recentKey(gptId, name))
    if (!(await this.repo.deleteCollection(gptId, name))) throw ERR.notFound('Collection', name)
  }

  /** 404 for a collection that is not there, forgotten here too. */
  private missing(gptId: string, name: string): never {
    this.recent.delete(recentKey(gptId, name))
    throw ERR.notFound('Collection', name)
  }

  private remember(handle: CollectionHandle): CollectionHandle {
    const key = recentKey(handle.row.gpt_id, handle.row.name)
    if (!this.recent.has(key) && this.recent.size >= CACHE_LIMIT) this.recent.delete(this.recent.keys().next().value!)
    this.recent.set(key, handle)
    return handle
  }

  private handleOf(row: CollectionRow): CollectionHandle {
    if (row.schema === null) return { row, validate: null, schemaText: null }
    const schemaText = JSON.stringify(row.schema)
    const cached = this.validators.get(schemaText)
    if (cached) return { row, validate: cached.validate, schemaText }
    const validate = compileCollectionSchema(row.schema)
    if (this.validators.size >= CACHE_LIMIT) {
      const [oldestKey, oldest] = this.validators.entries().next().value!
      this.validators.delete(oldestKey)
      releaseCollectionSchema(oldest.schema)
    }
    this.validators.set(schemaText, { validate, schema: row.schema })
    return { row, validate, schemaText }
  }
}

const recentKey = (gptId: string, name: string) => `${gptId}\u0000${name}`

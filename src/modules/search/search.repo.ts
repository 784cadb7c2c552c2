import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { JsonObject, JsonValue, Tables } from '../../platform/db/tables.js'
import { notExpired } from '../objects/objects.expiry.js'
import { live, validAt } from '../memories/memories.repo.js'
import { OWNER_COLUMN, type SearchSource, type VectorStore } from './vector-store.js'

export interface SearchFilters {
  entityType?: string
  userId?: string
  /** An end user's search: their own documents of per-user collections, and shared collections' documents. */
  endUser?: string
  where?: JsonObject
  createdAfter?: Date
  createdBefore?: Date
  /** Memories valid at that time (default now). */
  asOf?: Date
}

export interface SearchHit {
  source: SearchSource
  id: string
  score: number
  content: string
  metadata: JsonObject
  details: Record<string, JsonValue>
  created_at: Date
}

/**
 * How each source is read: its rows (alias `x`, joined as needed), text, filters, and what a hit
 * carries. A filter a source cannot apply (a user on a document) leaves that source out.
 */
interface SourceSpec {
  from: RawBuilder<unknown>
  idColumn: RawBuilder<unknown>
  select: RawBuilder<unknown>
  filters(filters: SearchFilters): RawBuilder<boolean>[] | null
}

const SPECS: Record<SearchSource, SourceSpec> = {
  memories: {
    from: sql`memories x`,
    idColumn: sql`x.id`,
    select: sql`x.id, x.content, x.metadata, x.created_at,
      jsonb_build_object('entity_type', x.entity_type, 'entity_id', x.entity_id, 'user_id', x.user_id,
        'importance', x.importance, 'pinned', x.pinned, 'valid_from', x.valid_from, 'valid_to', x.valid_to, 'updated_at', x.updated_at) as details`,
    // Expired memories are gone at once; superseded ones (valid_to reached) only answer an as_of before it.
    filters: (f) => [
      live('x'),
      validAt('x', f.asOf ?? sql<Date>`now()`),
      ...(f.entityType !== undefined ? [sql<boolean>`x.entity_type = ${f.entityType}`] : []),
      ...(f.userId !== undefined ? [sql<boolean>`x.user_id = ${f.userId}`] : []),
      ...(f.where ? [sql<boolean>`x.metadata @> ${JSON.stringify(f.where)}::jsonb`] : []),
    ],
  },
  objects: {
    from: sql`objects x`,
    idColumn: sql`x.id`,
    select: sql`x.id, x.body::text as content, jsonb_build_object('collection', x.collection) as metadata, x.created_at,
      jsonb_build_object('collection', x.collection) as details`,
    // A document's collection plays the part of its entity type. A user_id filter leaves documents out,
    // except for an end user, who finds their own per-user documents and the shared ones.
    filters: (f) =>
      f.userId !== undefined && f.endUser === undefined
        ? null
        : [
            notExpired('x'),
            ...(f.endUser !== undefined
              ? [sql<boolean>`(x.user_id = ${f.endUser} or (x.user_id is null and exists (select 1 from collections c
                  where c.gpt_id = x.gpt_id and c.name = x.collection and not c.per_user)))`]
              : []),
            ...(f.entityType !== undefined ? [sql<boolean>`x.collection = ${f.entityType}`] : []),
            ...(f.where ? [sql<boolean>`x.body @> ${JSON.stringify(f.where)}::jsonb`] : []),
          ],
  },
  messages: {
    from: sql`chat_messages x join chat_sessions s on s.gpt_id = x.gpt_id and s.id = x.session_id`,
    idColumn: sql`x.id`,
    select: sql`x.id, x.content, coalesce(s.metadata, '{}'::jsonb) as metadata, x.created_at,
      jsonb_build_object('session_id', x.session_id, 'sender', x.sender, 'user_id', s.user_id) as details`,
    filters: (f) =>
      f.entityType !== undefined
        ? null
        : [
            sql<boolean>`x.content <> ''`,
            ...(f.userId !== undefined ? [sql<boolean>`s.user_id = ${f.userId}`] : []),
            ...(f.where ? [sql<boolean>`x.context @> ${JSON.stringify(f.where)}::jsonb`] : []),
          ],
  },
}

function conditions(spec: SourceSpec, gptId: string, filters: SearchFilters): RawBuilder<boolean> | null {
  const specific = spec.filters(filters)
  if (specific === null) return null
  const all = [
    sql<boolean>`x.gpt_id = ${gptId}`,
    ...specific,
    ...(filters.createdAfter ? [sql<boolean>`x.created_at > ${filters.createdAfter}`] : []),
    ...(filters.createdBefore ? [sql<boolean>`x.created_at < ${filters.createdBefore}`] : []),
  ]
  return sql.join(all, sql` and `) as RawBuilder<boolean>
}

type HitRow = Omit<SearchHit, 'source'>

export class SearchRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Full-text matches ranked by ts_rank (length-normalised); `tsquery` is a to_tsquery('simple') expression. */
  async keyword(gptId: string, source: SearchSource, tsquery: string, filters: SearchFilters, limit: number): Promise<SearchHit[]> {
    const spec = SPECS[source]
    const where = conditions(spec, gptId, filters)
    if (where === null) return []
    const query = sql`to_tsquery('simple', ${tsquery})`
    const { rows } = await sql<HitRow>`
      select ${spec.select}, ts_rank(x.search, ${query}, 1)::float8 as score
      from ${spec.from}
      where ${where} and x.search @@ ${query}
      order by score desc, x.id
      limit ${limit}
    `.execute(this.db)
    return rows.map((row) => ({ ...row, source }))
  }

  /** Nearest vectors of the source's items that pass the filters, closest first; score is cosine similarity. */
  async semantic(gptId: string, source: SearchSource, store: VectorStore, vector: number[], filters: SearchFilters, limit: number): Promise<SearchHit[]> {
    const spec = SPECS[source]
    const where = conditions(spec, gptId, filters)
    if (where === null) return []
    const column = sql.ref(`e.${OWNER_COLUMN[source]}`)
    return store.withSearchSettings(this.db, async (db) => {
      const { rows } = await sql<HitRow>`
        select ${spec.select}, ${store.similarity(vector)} as score
        from embeddings e join ${spec.from} on x.gpt_id = e.gpt_id and ${spec.idColumn} = ${column}
        where ${store.candidates(gptId, source)} and ${where}
        order by ${store.distance(vector)}
        limit ${limit}
      `.execute(db)
      return rows.map((row) => ({ ...row, source }))
    })
  }
}

import { sql, type Kysely, type Selectable } from 'kysely'
import type { EmbeddingStatus, JsonObject, MemoriesTable, Tables } from '../../platform/db/tables.js'
import type { PageRequest } from '../../platform/http/pagination.js'

export type MemoryRow = Omit<Selectable<MemoriesTable>, 'search'> & { embedding_model: string | null }

export interface NewMemory {
  gpt_id: string
  id: string
  content: string
  entity_type: string | null
  entity_id: string | null
  user_id: string | null
  metadata: JsonObject
  embedding_status: EmbeddingStatus
}

export interface MemoryFilters {
  entityType?: string
  entityId?: string
  userId?: string
  embeddingStatus?: EmbeddingStatus
  where: JsonObject | null
}

const UNIQUE_VIOLATION = '23505'

const COLUMNS = [
  'm.gpt_id',
  'm.id',
  'm.entity_type',
  'm.entity_id',
  'm.user_id',
  'm.content',
  'm.metadata',
  'm.embedding_status',
  'm.embedding_error',
  'm.embedding_attempts',
  'm.revision',
  'm.created_at',
  'm.updated_at',
] as const

const embeddingModel = sql<string | null>`(select e.model from embeddings e where e.gpt_id = m.gpt_id and e.memory_id = m.id)`.as('embedding_model')

export class MemoriesRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /**
   * Inserts the memory, or, when another memory of the GPT has the same entity, replaces that one's
   * content, user and metadata (keeping its id). `inserted` tells which; `changed` whether the
   * content differs from what was stored, or its embedding had failed (only then is a vector made).
   */
  /** `sameUserOnly`: an existing memory of the entity is replaced only when it has the same user_id (else null). */
  async upsertMemory(db: Kysely<Tables>, memory: NewMemory, sameUserOnly = false): Promise<{ row: MemoryRow; inserted: boolean; changed: boolean } | null> {
    const metadata = JSON.stringify(memory.metadata)
    // New content needs a new vector; so does a memory whose embedding failed (writing it again retries).
    const redo = sql`(m.content is distinct from excluded.content or m.embedding_status = 'failed')`
    const { rows } = await sql<MemoryRow & { inserted: boolean; changed: boolean }>`
      with previous as (
        select content, embedding_status from memories
        where gpt_id = ${memory.gpt_id} and entity_type = ${memory.entity_type} and entity_id = ${memory.entity_id}
      )
      insert into memories as m (gpt_id, id, entity_type, entity_id, user_id, content, metadata, embedding_status)
      values (${memory.gpt_id}, ${memory.id}, ${memory.entity_type}, ${memory.entity_id}, ${memory.user_id}, ${memory.content}, ${metadata}::jsonb, ${memory.embedding_status})
      on conflict (gpt_id, entity_type, entity_id) where entity_type is not null and entity_id is not null
      do update set
        content = excluded.content,
        user_id = excluded.user_id,
        metadata = excluded.metadata,
        revision = case when ${redo} then m.revision + 1 else m.revision end,
        embedding_status = case when ${redo} then excluded.embedding_status else m.embedding_status end,
        embedding_error = case when ${redo} then null else m.embedding_error end,
        embedding_attempts = case when ${redo} then 0 else m.embedding_attempts end,
        updated_at = now()
      ${sameUserOnly ? sql`where m.user_id is not distinct from excluded.user_id` : sql``}
      returning m.gpt_id, m.id, m.entity_type, m.entity_id, m.user_id, m.content, m.metadata, m.embedding_status, m.embedding_error,
        m.embedding_attempts, m.revision, m.created_at, m.updated_at,
        (select e.model from embeddings e where e.gpt_id = m.gpt_id and e.memory_id = m.id) as embedding_model,
        (xmax = 0) as inserted,
        coalesce((select p.content is distinct from m.content or p.embedding_status = 'failed' from previous p), true) as changed
    `.execute(db)
    if (rows.length === 0) return null
    const { inserted, changed, ...row } = rows[0]!
    return { row, inserted, changed }
  }

  async findMemory(gptId: string, id: string, db: Kysely<Tables> = this.db): Promise<MemoryRow | null> {
    return (
      (await db
        .selectFrom('memories as m')
        .select([...COLUMNS, embeddingModel])
        .where('m.gpt_id', '=', gptId)
        .where('m.id', '=', id)
        .executeTakeFirst()) ?? null
    )
  }

  /** 'taken' when the new entity belongs to another memory of the GPT. */
  async updateMemory(
    db: Kysely<Tables>,
    gptId: string,
    id: string,
    change: { content?: string; entity_type?: string | null; entity_id?: string | null; user_id?: string | null; metadata?: JsonObject; embedding_status?: EmbeddingStatus },
  ): Promise<MemoryRow | null | 'taken'> {
    const { metadata, content, embedding_status, ...rest } = change
    try {
      const updated = await db
        .updateTable('memories as m')
        .set({
          ...rest,
          ...(metadata ? { metadata: sql`m.metadata || ${JSON.stringify(metadata)}::jsonb` } : {}),
          ...(content !== undefined
            ? {
                content,
                revision: sql`case when m.content is distinct from ${content} then m.revision + 1 else m.revision end`,
                embedding_status: sql`case when m.content is distinct from ${content} then ${embedding_status ?? 'pending'} else m.embedding_status end`,
                embedding_error: sql`case when m.content is distinct from ${content} then null else m.embedding_error end`,
                embedding_attempts: sql`case when m.content is distinct from ${content} then 0 else m.embedding_attempts end`,
              }
            : {}),
          updated_at: sql`now()`,
        })
        .where('m.gpt_id', '=', gptId)
        .where('m.id', '=', id)
        .returning([...COLUMNS, embeddingModel])
        .executeTakeFirst()
      return updated ?? null
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return 'taken'
      throw error
    }
  }

  async deleteMemory(gptId: string, id: string): Promise<boolean> {
    return (await this.db.deleteFrom('memories').where('gpt_id', '=', gptId).where('id', '=', id).executeTakeFirst()).numDeletedRows > 0n
  }

  async listMemories(gptId: string, filters: MemoryFilters, page: PageRequest & { after: [Date, string] | null }): Promise<MemoryRow[]> {
    let query = this.db.selectFrom('memories as m').select([...COLUMNS, embeddingModel]).where('m.gpt_id', '=', gptId)
    if (filters.entityType !== undefined) query = query.where('m.entity_type', '=', filters.entityType)
    if (filters.entityId !== undefined) query = query.where('m.entity_id', '=', filters.entityId)
    if (filters.userId !== undefined) query = query.where('m.user_id', '=', filters.userId)
    if (filters.embeddingStatus !== undefined) query = query.where('m.embedding_status', '=', filters.embeddingStatus)
    if (filters.where) query = query.where(sql<boolean>`m.metadata @> ${JSON.stringify(filters.where)}::jsonb`)
    if (page.after) {
      const cmp = page.order === 'asc' ? '>' : '<'
      const [createdAt, id] = page.after
      query = query.where((eb) => eb(eb.refTuple('m.created_at', 'm.id'), cmp, eb.tuple(createdAt, id)))
    }
    return query.orderBy('m.created_at', page.order).orderBy('m.id', page.order).limit(page.limit + 1).execute()
  }

  /** Marks the memory embedded, unless its content changed (a newer revision) since the vector was made. */
  async markEmbedded(db: Kysely<Tables>, gptId: string, id: string, revision: number): Promise<boolean> {
    const result = await db
      .updateTable('memories')
      .set({ embedding_status: 'ready', embedding_error: null })
      .where('gpt_id', '=', gptId)
      .where('id', '=', id)
      .where('revision', '=', revision)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  /** Records a failed attempt on the revision tried; `final` marks the memory failed, otherwise its status stays for a retry. */
  async recordFailure(gptId: string, ids: string[], revisions: Map<string, number>, error: string, final: boolean): Promise<void> {
    if (ids.length === 0) return
    await this.db
      .updateTable('memories')
      .set({
        embedding_attempts: sql`embedding_attempts + 1`,
        embedding_error: error.slice(0, 1000),
        ...(final ? { embedding_status: 'failed' as const } : {}),
      })
      .where('gpt_id', '=', gptId)
      .where('id', 'in', ids)
      .where((eb) => eb.or(ids.map((id) => eb.and([eb('id', '=', id), eb('revision', '=', revisions.get(id) ?? -1)]))))
      .execute()
  }

  /** Memories still waiting for a vector, oldest first (all GPTs when `gptId` is null). */
  async pendingMemories(gptId: string | null, limit: number): Promise<Pick<MemoryRow, 'gpt_id' | 'id' | 'content' | 'revision'>[]> {
    let query = this.db
      .selectFrom('memories')
      .select(['gpt_id', 'id', 'content', 'revision'])
      .where('embedding_status', '=', 'pending')
    if (gptId !== null) query = query.where('gpt_id', '=', gptId)
    return query.orderBy('created_at').limit(limit).execute()
  }

  async memoriesByIds(gptId: string, ids: string[]): Promise<Pick<MemoryRow, 'gpt_id' | 'id' | 'content' | 'revision' | 'embedding_status'>[]> {
    if (ids.length === 0) return []
    return this.db
      .selectFrom('memories')
      .select(['gpt_id', 'id', 'content', 'revision', 'embedding_status'])
      .where('gpt_id', '=', gptId)
      .where('id', 'in', ids)
      .execute()
  }
}

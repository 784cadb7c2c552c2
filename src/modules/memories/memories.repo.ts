import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely'
import type { EmbeddingStatus, JsonObject, MemoriesTable, MemorySource, Tables } from '../../platform/db/tables.js'
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
  expires_at: Date | null
  source: MemorySource
  valid_from: Date | null
  valid_to: Date | null
  pinned: boolean
  importance: number
}

/** The fields of a memory that its history records before and after a change, as JSON. */
export function snapshotOf(alias: string): RawBuilder<JsonObject> {
  const c = (name: string) => sql.ref(`${alias}.${name}`)
  return sql<JsonObject>`jsonb_build_object('content', ${c('content')}, 'entity_type', ${c('entity_type')}, 'entity_id', ${c('entity_id')},
    'user_id', ${c('user_id')}, 'metadata', ${c('metadata')}, 'source', ${c('source')}, 'expires_at', ${c('expires_at')},
    'valid_from', ${c('valid_from')}, 'valid_to', ${c('valid_to')}, 'superseded_by', ${c('superseded_by')},
    'pinned', ${c('pinned')}, 'importance', ${c('importance')})`
}

/** A memory not past its expires_at (by the database clock): the only ones reads see. */
export function live(alias: string): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(`${alias}.expires_at`)} is null or ${sql.ref(`${alias}.expires_at`)} > now())`
}

/** A memory valid at `asOf` (its valid_from reached, its valid_to not yet). */
export function validAt(alias: string, asOf: Date | RawBuilder<Date>): RawBuilder<boolean> {
  const at = asOf instanceof Date ? sql`${asOf}::timestamptz` : asOf
  return sql<boolean>`(${sql.ref(`${alias}.valid_from`)} <= ${at} and (${sql.ref(`${alias}.valid_to`)} is null or ${sql.ref(`${alias}.valid_to`)} > ${at}))`
}

export interface MemoryChange {
  content?: string
  entity_type?: string | null
  entity_id?: string | null
  user_id?: string | null
  metadata?: JsonObject
  embedding_status?: EmbeddingStatus
  expires_at?: Date | null
  source?: MemorySource
  valid_from?: Date
  valid_to?: Date | null
  pinned?: boolean
  importance?: number
}

export type ChangedRow = MemoryRow & { old: JsonObject | null; new: JsonObject }

export interface MemoryFilters {
  entityType?: string
  entityId?: string
  userId?: string
  embeddingStatus?: EmbeddingStatus
  where: JsonObject | null
  asOf?: Date
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
  'm.expires_at',
  'm.source',
  'm.valid_from',
  'm.valid_to',
  'm.superseded_by',
  'm.pinned',
  'm.importance',
] as const

const embeddingModel = sql<string | null>`(select e.model from embeddings e where e.gpt_id = m.gpt_id and e.memory_id = m.id)`.as('embedding_model')

export class MemoriesRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  /**
   * Inserts the memory, or, when another memory of the GPT has the same entity, replaces that one's
   * content, user, metadata and governance fields (keeping its id): the new version is valid from its
   * valid_from, the old one's validity stays in `old`. `inserted` tells which; `changed` whether the
   * content differs from what was stored, or its embedding had failed (only then is a vector made).
   * `sameUserOnly`: an existing memory of the entity is replaced only when it has the same user_id (else null).
   */
  async upsertMemory(db: Kysely<Tables>, memory: NewMemory, sameUserOnly = false): Promise<{ row: ChangedRow; inserted: boolean; changed: boolean } | null> {
    const metadata = JSON.stringify(memory.metadata)
    // New content needs a new vector; so does a memory whose embedding failed (writing it again retries).
    const redo = sql`(m.content is distinct from excluded.content or m.embedding_status = 'failed')`
    const validFrom = memory.valid_from === null ? sql`now()` : sql`${memory.valid_from}::timestamptz`
    const { rows } = await sql<ChangedRow & { inserted: boolean; changed: boolean }>`
      with previous as (
        select content, embedding_status, ${snapshotOf('p')} as old from memories p
        where gpt_id = ${memory.gpt_id} and entity_type = ${memory.entity_type} and entity_id = ${memory.entity_id}
      )
      insert into memories as m (gpt_id, id, entity_type, entity_id, user_id, content, metadata, embedding_status,
        expires_at, source, valid_from, valid_to, pinned, importance)
      values (${memory.gpt_id}, ${memory.id}, ${memory.entity_type}, ${memory.entity_id}, ${memory.user_id}, ${memory.content}, ${metadata}::jsonb,
        ${memory.embedding_status}, ${memory.expires_at}, ${JSON.stringify(memory.source)}::jsonb, ${validFrom}, ${memory.valid_to},
        ${memory.pinned}, ${memory.importance})
      on conflict (gpt_id, entity_type, entity_id) where entity_type is not null and entity_id is not null
      do update set
        content = excluded.content,
        user_id = excluded.user_id,
        metadata = excluded.metadata,
        expires_at = excluded.expires_at,
        source = excluded.source,
        valid_from = case when m.content is distinct from excluded.content or ${memory.valid_from !== null} then excluded.valid_from else m.valid_from end,
        valid_to = excluded.valid_to,
        superseded_by = null,
        pinned = excluded.pinned,
        importance = excluded.importance,
        revision = case when ${redo} then m.revision + 1 else m.revision end,
        embedding_status = case when ${redo} then excluded.embedding_status else m.embedding_status end,
        embedding_error = case when ${redo} then null else m.embedding_error end,
        embedding_attempts = case when ${redo} then 0 else m.embedding_attempts end,
        updated_at = now()
      ${sameUserOnly ? sql`where m.user_id is not distinct from excluded.user_id` : sql``}
      returning ${sql.join(COLUMNS.map((column) => sql.ref(column)))},
        (select e.model from embeddings e where e.gpt_id = m.gpt_id and e.memory_id = m.id) as embedding_model,
        (select p.old from previous p) as old, ${snapshotOf('m')} as new,
        (xmax = 0) as inserted,
        coalesce((select p.content is distinct from m.content or p.embedding_status = 'failed' from previous p), true) as changed
    `.execute(db)
    if (rows.length === 0) return null
    const { inserted, changed, ...row } = rows[0]!
    return { row: { ...row, old: inserted ? null : row.old }, inserted, changed }
  }

  /** A live memory (not expired); `lock` holds it for the rest of the transaction. */
  async findMemory(gptId: string, id: string, db: Kysely<Tables> = this.db, lock = false): Promise<(MemoryRow & { old: JsonObject }) | null> {
    const query = db
      .selectFrom('memories as m')
      .select([...COLUMNS, embeddingModel, snapshotOf('m').as('old')])
      .where('m.gpt_id', '=', gptId)
      .where('m.id', '=', id)
      .where(live('m'))
    return (await (lock ? query.forUpdate('m') : query).executeTakeFirst()) ?? null
  }

  /** 'taken' when the new entity belongs to another memory of the GPT. Only a live memory changes. */
  async updateMemory(db: Kysely<Tables>, gptId: string, id: string, change: MemoryChange): Promise<(MemoryRow & { new: JsonObject }) | null | 'taken'> {
    const { metadata, content, embedding_status, source, ...rest } = change
    try {
      const updated = await db
        .updateTable('memories as m')
        .set({
          ...rest,
          ...(source ? { source: JSON.stringify(source) } : {}),
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
        .where(live('m'))
        .returning([...COLUMNS, embeddingModel, snapshotOf('m').as('new')])
        .executeTakeFirst()
      return updated ?? null
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return 'taken'
      throw error
    }
  }

  /** Ends the validity of a live memory now (or at its valid_from, if that is later) and names its successor. */
  async supersede(db: Kysely<Tables>, gptId: string, id: string, by: string): Promise<{ old: JsonObject; new: JsonObject; user_id: string | null } | null> {
    const { rows } = await sql<{ old: JsonObject; new: JsonObject; user_id: string | null }>`
      with before as (select ${snapshotOf('b')} as old from memories b where b.gpt_id = ${gptId} and b.id = ${id})
      update memories m set valid_to = least(coalesce(m.valid_to, 'infinity'), greatest(now(), m.valid_from)), superseded_by = ${by}, updated_at = now()
      where m.gpt_id = ${gptId} and m.id = ${id} and ${live('m')}
      returning (select old from before) as old, ${snapshotOf('m')} as new, m.user_id
    `.execute(db)
    return rows[0] ?? null
  }

  async deleteMemory(db: Kysely<Tables>, gptId: string, id: string): Promise<{ user_id: string | null } | null> {
    return (await db.deleteFrom('memories').where('gpt_id', '=', gptId).where('id', '=', id).returning('user_id').executeTakeFirst()) ?? null
  }

  async listMemories(gptId: string, filters: MemoryFilters, page: PageRequest & { after: [Date, string] | null }): Promise<MemoryRow[]> {
    let query = this.db.selectFrom('memories as m').select([...COLUMNS, embeddingModel]).where('m.gpt_id', '=', gptId).where(live('m'))
    if (filters.asOf) query = query.where(validAt('m', filters.asOf))
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

  /** The pinned memories of a user valid now, most important first (chat recall offers them always). */
  async pinnedMemories(gptId: string, userId: string, entityType: string | null, limit: number): Promise<Pick<MemoryRow, 'id' | 'content'>[]> {
    let query = this.db
      .selectFrom('memories as m')
      .select(['m.id', 'm.content'])
      .where('m.gpt_id', '=', gptId)
      .where('m.user_id', '=', userId)
      .where('m.pinned', '=', true)
      .where(live('m'))
      .where(validAt('m', sql<Date>`now()`))
    if (entityType !== null) query = query.where('m.entity_type', '=', entityType)
    return query.orderBy('m.importance', 'desc').orderBy('m.updated_at', 'desc').limit(limit).execute()
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

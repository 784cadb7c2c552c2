import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import type { ExtractionRunRow } from '../extraction/extraction.repo.js'
import { toRunView } from '../extraction/extraction.service.js'
import type { ArchiveRecord, RecordType } from './archive.format.js'

type Row = Record<string, unknown>

const iso = (value: unknown): string | null => (value === null || value === undefined ? null : new Date(value as string | Date).toISOString())
const stamps = (row: Row) => ({ created_at: iso(row.created_at)!, updated_at: iso(row.updated_at)! })

/** What each record type reads (a table, its columns, its seek key) and how a row becomes a record. */
interface Source {
  from: RawBuilder<unknown>
  columns: RawBuilder<unknown>
  /** The column (of `from`'s first alias `t`) that orders and pages the rows: unique within the GPT. */
  key: 'id' | 'name' | 'session_id'
  record(row: Row, vectors: boolean): Row
}

const SOURCES: Record<RecordType, Source> = {
  collection: {
    from: sql`collections t`,
    columns: sql`t.name, t.schema, t.per_user, t.ttl_seconds, t.created_at, t.updated_at`,
    key: 'name',
    record: (row) => ({ name: row.name, schema: row.schema, per_user: row.per_user, ttl_seconds: row.ttl_seconds, ...stamps(row) }),
  },
  document: {
    from: sql`objects t`,
    columns: sql`t.id, t.collection, t.user_id, t.body, t.version, t.created_at, t.updated_at`,
    key: 'id',
    record: (row) => ({ id: row.id, collection: row.collection, user_id: row.user_id, body: row.body, version: row.version, ...stamps(row) }),
  },
  agent: {
    from: sql`agents t`,
    columns: sql`t.id, t.name, t.address, t.port, t.metadata, t.created_at, t.updated_at`,
    key: 'id',
    record: (row) => ({ id: row.id, name: row.name, address: row.address, port: row.port, metadata: row.metadata, ...stamps(row) }),
  },
  conversation: {
    from: sql`conversations t`,
    columns: sql`t.id, t.title, t.description, t.archived, t.metadata, t.created_at, t.updated_at`,
    key: 'id',
    record: (row) => ({ id: row.id, title: row.title, description: row.description, archived: row.archived, metadata: row.metadata, ...stamps(row) }),
  },
  mail: {
    from: sql`mail t`,
    columns: sql`t.id, t.sender_id, t.conversation_id, t.parent_id, t.type, t.importance, t.content, t.metadata, t.created_at, t.edited_at,
      (select coalesce(json_agg(json_build_object('agent_id', r.agent_id, 'created_at', r.created_at, 'read_at', r.read_at) order by r.agent_id), '[]'::json)
        from mail_recipients r where r.gpt_id = t.gpt_id and r.mail_id = t.id) as recipients,
      (select coalesce(json_agg(json_build_object('key', m.key, 'value', m.value, 'set_by', m.set_by, 'created_at', m.created_at, 'updated_at', m.updated_at) order by m.key), '[]'::json)
        from mail_metadata m where m.gpt_id = t.gpt_id and m.mail_id = t.id) as tags`,
    key: 'id',
    record: (row) => ({
      id: row.id,
      sender_id: row.sender_id,
      conversation_id: row.conversation_id,
      parent_id: row.parent_id,
      mail_type: row.type,
      importance: row.importance,
      content: row.content,
      metadata: row.metadata,
      created_at: iso(row.created_at)!,
      edited_at: iso(row.edited_at),
      recipients: (row.recipients as Row[]).map((r) => ({ agent_id: r.agent_id, created_at: iso(r.created_at)!, read_at: iso(r.read_at) })),
      tags: (row.tags as Row[]).map((m) => ({ key: m.key, value: m.value, set_by: m.set_by, ...stamps(m) })),
    }),
  },
  character: {
    from: sql`characters t`,
    columns: sql`t.id, t.name, t.agent_role, t.model, t.temperature, t.memory, t.extraction, t.created_at, t.updated_at, t.deleted_at`,
    key: 'id',
    record: (row) => ({
      id: row.id,
      name: row.name,
      agent_role: row.agent_role,
      model: row.model,
      temperature: row.temperature,
      memory: row.memory,
      extraction: row.extraction,
      ...stamps(row),
      deleted_at: iso(row.deleted_at),
    }),
  },
  session: {
    from: sql`chat_sessions t`,
    columns: sql`t.id, t.user_id, t.name, t.metadata, t.character_id, t.is_favorite, t.last_activity_at, t.created_at, t.updated_at`,
    key: 'id',
    record: (row) => ({
      id: row.id,
      user_id: row.user_id,
      name: row.name,
      metadata: row.metadata,
      character_id: row.character_id,
      is_favorite: row.is_favorite,
      last_activity_at: iso(row.last_activity_at)!,
      ...stamps(row),
    }),
  },
  message: {
    from: sql`chat_messages t`,
    columns: sql`t.id, t.session_id, t.sender, t.content, t.context, t.status, t.partial_content, t.error_message, t.model, t.character_id, t.created_at, t.updated_at`,
    key: 'id',
    record: (row) => ({
      id: row.id,
      session_id: row.session_id,
      sender: row.sender,
      content: row.content,
      context: row.context,
      status: row.status,
      partial_content: row.partial_content,
      error_message: row.error_message,
      model: row.model,
      character_id: row.character_id,
      ...stamps(row),
    }),
  },
  extraction_run: {
    from: sql`extraction_runs t`,
    columns: sql`t.*`,
    key: 'id',
    record: (row) => {
      const { gpt_id: _gptId, ...run } = toRunView(row as unknown as ExtractionRunRow)
      return run
    },
  },
  extraction_cursor: {
    from: sql`extraction_cursors t`,
    columns: sql`t.session_id, t.message_id, t.message_created_at, t.updated_at`,
    key: 'session_id',
    record: (row) => ({ session_id: row.session_id, message_id: row.message_id, message_created_at: iso(row.message_created_at)!, updated_at: iso(row.updated_at)! }),
  },
  memory: {
    from: sql`memories t left join embeddings e on e.gpt_id = t.gpt_id and e.memory_id = t.id`,
    columns: sql`t.id, t.entity_type, t.entity_id, t.user_id, t.content, t.metadata, t.revision, t.created_at, t.updated_at,
      t.expires_at, t.source, t.valid_from, t.valid_to, t.superseded_by, t.pinned, t.importance,
      e.model as embedding_model, e.dims as embedding_dims, e.embedding::real[] as embedding_vector`,
    key: 'id',
    record: (row, vectors) => ({
      id: row.id,
      entity_type: row.entity_type,
      entity_id: row.entity_id,
      user_id: row.user_id,
      content: row.content,
      metadata: row.metadata,
      revision: row.revision,
      expires_at: iso(row.expires_at),
      source: row.source,
      valid_from: iso(row.valid_from)!,
      valid_to: iso(row.valid_to),
      superseded_by: row.superseded_by,
      pinned: row.pinned,
      importance: row.importance,
      ...stamps(row),
      embedding:
        vectors && row.embedding_model !== null
          ? { model: row.embedding_model, dims: row.embedding_dims, vector: row.embedding_vector }
          : null,
    }),
  },
}

/**
 * Reads one record type of a GPT in pages ordered by its key (seek pagination: each page starts
 * after the last key of the one before), so that a large GPT is never held in memory.
 */
export async function* readRecords<T extends RecordType>(
  db: Kysely<Tables>,
  gptId: string,
  type: T,
  options: { pageSize: number; vectors: boolean },
): AsyncGenerator<ArchiveRecord<T>[]> {
  const source = SOURCES[type]
  // Names in byte order ("C"), so that PostgreSQL and PGlite of other default collations agree.
  const uuid = source.key !== 'name'
  const key = uuid ? sql.ref(`t.${source.key}`) : sql`t.name collate "C"`
  let after: string | null = null
  for (;;) {
    const seek: RawBuilder<unknown> = after === null ? sql`` : uuid ? sql`and ${key} > ${after}::uuid` : sql`and ${key} > ${after}`
    const { rows }: { rows: Row[] } = await sql<Row>`select ${source.columns} from ${source.from}
      where t.gpt_id = ${gptId} ${seek} order by ${key} limit ${options.pageSize}`.execute(db)
    if (rows.length === 0) return
    yield rows.map((row) => source.record(row, options.vectors) as ArchiveRecord<T>)
    if (rows.length < options.pageSize) return
    after = String(rows[rows.length - 1]![source.key])
  }
}

/** The record types of which the GPT holds at least one row, for the "import only into an empty GPT" rule. */
export async function typesHeld(db: Kysely<Tables>, gptId: string): Promise<RecordType[]> {
  const held: RecordType[] = []
  for (const [type, source] of Object.entries(SOURCES) as [RecordType, Source][]) {
    const { rows } = await sql<{ found: boolean }>`select exists (select 1 from ${source.from} where t.gpt_id = ${gptId}) as found`.execute(db)
    if (rows[0]!.found) held.push(type)
  }
  return held
}

/** The name of the last migration applied: the schema an archive was written from. */
export async function schemaVersion(db: Kysely<Tables>): Promise<string> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(db)
  return rows[0]?.name ?? 'none'
}

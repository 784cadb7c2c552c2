import { Type, type Static, type TSchema } from 'typebox'
import { MAX_EXTRACTION_EVERY_TURNS } from '../characters/characters.schemas.js'
import { EXTRACTION_ACTIONS, EXTRACTION_STATUSES } from '../extraction/extraction.schemas.js'
import { ActionExposure, MAX_RETENTION_DAYS } from '../gpts/gpts.schemas.js'

/** The archive of one GPT: NDJSON, a header line, record lines in dependency order, a trailer line. */
export const ARCHIVE_FORMAT = 'agentstore.gpt-archive'
export const ARCHIVE_VERSION = 1
export const NDJSON = 'application/x-ndjson'

/**
 * Record types in the order they are written: each refers only to types before it (mail parents, and
 * the memories an extraction run's decisions name, aside).
 */
export const RECORD_TYPES = [
  'collection',
  'document',
  'agent',
  'conversation',
  'mail',
  'character',
  'session',
  'message',
  'extraction_run',
  'extraction_cursor',
  'memory',
] as const
export type RecordType = (typeof RECORD_TYPES)[number]

/** Limits the records are checked against: the same settings that bound the house API's writes. */
export interface ArchiveLimits {
  maxMemoryChars: number
  maxMessageChars: number
  maxMailChars: number
  maxJsonDepth: number
}

const Uuid = Type.String({ format: 'uuid' })
const Time = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const Text = (maxLength: number) => Type.String({ maxLength })
const Label = Type.String({ minLength: 1, maxLength: 200 })
const Json = Type.Record(Type.String(), Type.Unknown())
const Count = Type.Integer({ minimum: 0 })
const closed = { additionalProperties: false }

export const ArchiveHeader = Type.Object(
  {
    format: Type.Literal(ARCHIVE_FORMAT),
    version: Type.Literal(ARCHIVE_VERSION),
    exported_at: Time,
    schema_version: Type.String(),
    agentstore_version: Type.String(),
    embedding_model: Type.String(),
    embedding_dims: Type.Integer({ minimum: 1 }),
    vectors: Type.Boolean(),
    gpt: Type.Object({
      id: Type.String(),
      name: Type.String(),
      description: Nullable(Type.String({ maxLength: 2000 })),
      action_exposure: Nullable(ActionExposure),
      session_retention_days: Nullable(Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS })),
      mail_retention_days: Nullable(Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS })),
    }),
  },
  closed,
)
export type ArchiveHeader = Static<typeof ArchiveHeader>

export const ArchiveTrailer = Type.Object(
  {
    type: Type.Literal('end'),
    records: Type.Integer({ minimum: 0 }),
    counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  closed,
)
export type ArchiveTrailer = Static<typeof ArchiveTrailer>

const stamps = { created_at: Time, updated_at: Time }

/** The schema of each record type (without `type`), built with the instance's limits. */
export function recordSchemas(limits: ArchiveLimits) {
  return {
    collection: Type.Object(
      {
        name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
        schema: Nullable(Json),
        per_user: Type.Boolean(),
        ttl_seconds: Nullable(Type.Integer({ minimum: 1 })),
        ...stamps,
      },
      closed,
    ),
    document: Type.Object(
      { id: Uuid, collection: Type.String(), user_id: Nullable(Label), body: Json, version: Type.Integer({ minimum: 1 }), ...stamps },
      closed,
    ),
    agent: Type.Object(
      { id: Uuid, name: Label, address: Nullable(Text(255)), port: Nullable(Type.Integer({ minimum: 1, maximum: 65535 })), metadata: Json, ...stamps },
      closed,
    ),
    conversation: Type.Object(
      { id: Uuid, title: Type.String({ minLength: 1, maxLength: 500 }), description: Nullable(Text(5000)), archived: Type.Boolean(), metadata: Json, ...stamps },
      closed,
    ),
    mail: Type.Object(
      {
        id: Uuid,
        sender_id: Uuid,
        conversation_id: Nullable(Uuid),
        parent_id: Nullable(Uuid),
        mail_type: Type.String({ minLength: 1, maxLength: 64 }),
        importance: Type.Integer({ minimum: 0, maximum: 10 }),
        content: Text(limits.maxMailChars),
        metadata: Json,
        created_at: Time,
        edited_at: Nullable(Time),
        recipients: Type.Array(Type.Object({ agent_id: Uuid, created_at: Time, read_at: Nullable(Time) }, closed)),
        tags: Type.Array(
          Type.Object(
            { key: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' }), value: Type.Unknown(), set_by: Nullable(Uuid), ...stamps },
            closed,
          ),
        ),
      },
      closed,
    ),
    character: Type.Object(
      {
        id: Uuid,
        name: Label,
        agent_role: Type.String({ minLength: 1, maxLength: limits.maxMessageChars * 2 }),
        model: Nullable(Label),
        temperature: Nullable(Type.Number({ minimum: 0, maximum: 2 })),
        memory: Json,
        // Optional: archives written before extraction have none (automatic extraction off).
        extraction: Type.Optional(Type.Object({ auto: Type.Boolean(), every_turns: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EXTRACTION_EVERY_TURNS })) }, closed)),
        ...stamps,
        deleted_at: Nullable(Time),
      },
      closed,
    ),
    session: Type.Object(
      {
        id: Uuid,
        user_id: Label,
        name: Nullable(Text(500)),
        metadata: Json,
        character_id: Nullable(Uuid),
        is_favorite: Type.Boolean(),
        last_activity_at: Time,
        ...stamps,
      },
      closed,
    ),
    message: Type.Object(
      {
        id: Uuid,
        session_id: Uuid,
        sender: Type.Union([Type.Literal('user'), Type.Literal('ai'), Type.Literal('system'), Type.Literal('tool')]),
        content: Text(limits.maxMessageChars),
        context: Type.Unknown(),
        status: Type.Union(['pending', 'in_progress', 'complete', 'failed', 'cancelled'].map((status) => Type.Literal(status))),
        partial_content: Text(limits.maxMessageChars),
        error_message: Nullable(Text(10_000)),
        model: Nullable(Label),
        character_id: Nullable(Uuid),
        ...stamps,
      },
      closed,
    ),
    extraction_run: Type.Object(
      {
        id: Uuid,
        session_id: Uuid,
        user_id: Label,
        trigger: Type.Union([Type.Literal('request'), Type.Literal('auto')]),
        status: Type.Union(EXTRACTION_STATUSES.map((status) => Type.Literal(status))),
        reason: Nullable(Text(10_000)),
        extractor: Nullable(Label),
        from_message_id: Nullable(Uuid),
        to_message_id: Nullable(Uuid),
        messages_read: Count,
        decisions: Type.Array(
          Type.Object(
            {
              action: Type.Union(EXTRACTION_ACTIONS.map((action) => Type.Literal(action))),
              content: Type.String({ maxLength: limits.maxMemoryChars }),
              memory_id: Nullable(Uuid),
              supersedes: Nullable(Uuid),
              message_ids: Type.Array(Uuid),
            },
            closed,
          ),
        ),
        summary: Type.Record(Type.String(), Count),
        tokens_in: Count,
        tokens_out: Count,
        attempts: Count,
        created_at: Time,
        started_at: Nullable(Time),
        finished_at: Nullable(Time),
      },
      closed,
    ),
    extraction_cursor: Type.Object({ session_id: Uuid, message_id: Uuid, message_created_at: Time, updated_at: Time }, closed),
    memory: Type.Object(
      {
        id: Uuid,
        entity_type: Nullable(Label),
        entity_id: Nullable(Label),
        user_id: Nullable(Label),
        content: Type.String({ minLength: 1, maxLength: limits.maxMemoryChars }),
        metadata: Json,
        revision: Type.Integer({ minimum: 1 }),
        expires_at: Nullable(Time),
        source: Type.Object({ type: Type.String(), id: Type.Optional(Type.String()), parent: Type.Optional(Type.String()) }, closed),
        valid_from: Time,
        valid_to: Nullable(Time),
        superseded_by: Nullable(Uuid),
        pinned: Type.Boolean(),
        importance: Type.Number({ minimum: 0, maximum: 1 }),
        ...stamps,
        embedding: Nullable(Type.Object({ model: Type.String(), dims: Type.Integer({ minimum: 1 }), vector: Type.Array(Type.Number()) }, closed)),
      },
      closed,
    ),
  } satisfies Record<RecordType, TSchema>
}

type Schemas = ReturnType<typeof recordSchemas>
export type ArchiveRecord<T extends RecordType> = Static<Schemas[T]>
export type AnyRecord = { [T in RecordType]: { type: T } & ArchiveRecord<T> }[RecordType]

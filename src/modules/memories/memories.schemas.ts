import { Type, type Static } from 'typebox'
import { pageQuerySchema } from '../../platform/http/pagination.js'

export const MemoryParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Memory id.' }) })

const Label = (description: string) => Type.String({ minLength: 1, maxLength: 200, description })
const Metadata = Type.Object({}, { additionalProperties: true, description: 'Free JSON object; `where` filters match it by containment.' })
const Time = (description: string) => Type.String({ format: 'date-time', description })
const Nullable = <T extends ReturnType<typeof Time>>(schema: T) => Type.Union([schema, Type.Null()])

/** Longest ttl_seconds: ten years. */
export const MAX_TTL_SECONDS = 10 * 365 * 86_400

const SourceType = Type.Union([Type.Literal('manual'), Type.Literal('chat_message'), Type.Literal('document'), Type.Literal('extraction')])
export const MemorySourceInput = Type.Object(
  {
    type: SourceType,
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'The chat message id, the document id, or the extraction job id (required except for manual).' })),
  },
  { additionalProperties: false, description: 'Where the memory came from (default manual); a chat message or document must exist in the GPT.' },
)
export const MemorySource = Type.Object(
  {
    type: SourceType,
    id: Type.Optional(Type.String()),
    parent: Type.Optional(Type.String({ description: 'The session of the chat message, or the collection of the document.' })),
  },
  { description: 'Where the memory came from.' },
)

/** The governance fields a write and a PATCH share. */
const governance = {
  expires_at: Type.Optional(Nullable(Time('When the memory is forgotten (hidden at once, then purged); null: never.'))),
  ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TTL_SECONDS, description: 'Sets expires_at to now plus this many seconds (not with expires_at).' })),
  valid_from: Type.Optional(Time('Since when what it says is true (default now).')),
  valid_to: Type.Optional(Nullable(Time('Until when it was true; null: still is.'))),
  pinned: Type.Optional(Type.Boolean({ description: 'Always offered to chat recall (up to the character\'s pinned limit).' })),
  importance: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Weight in search ranking, 0–1 (default 0.5, neutral).' })),
}

export function memoryInputSchema(limits: { maxMemoryChars: number }) {
  return Type.Object(
    {
      content: Type.String({ minLength: 1, maxLength: limits.maxMemoryChars, description: 'The text to remember (and to embed).' }),
      entity_type: Type.Optional(Type.Union([Label('Kind of entity (user, project, …); with entity_id, makes the write an upsert.'), Type.Null()])),
      entity_id: Type.Optional(Type.Union([Label('Id of the entity within its type.'), Type.Null()])),
      user_id: Type.Optional(Type.Union([Label('End user the memory belongs to.'), Type.Null()])),
      metadata: Type.Optional(Metadata),
      ...governance,
      source: Type.Optional(MemorySourceInput),
      supersedes: Type.Optional(Type.String({ format: 'uuid', description: 'A memory this one replaces: it stops being valid now and stays in history.' })),
      dedup: Type.Optional(Type.Boolean({ description: 'Default true: content nearly identical to a live memory of the same user and entity updates that one.' })),
    },
    { additionalProperties: false },
  )
}
export type MemoryInput = Static<ReturnType<typeof memoryInputSchema>>

export function patchMemorySchema(limits: { maxMemoryChars: number }) {
  const input = memoryInputSchema(limits)
  return Type.Object(
    {
      content: Type.Optional(input.properties.content),
      entity_type: input.properties.entity_type,
      entity_id: input.properties.entity_id,
      user_id: input.properties.user_id,
      metadata: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Merged into the stored metadata by top-level key.' })),
      ...governance,
    },
    { additionalProperties: false, minProperties: 1 },
  )
}
export type PatchMemoryInput = Static<ReturnType<typeof patchMemorySchema>>

export function batchSchema(limits: { maxMemoryChars: number; maxBatch: number }) {
  return Type.Object(
    { memories: Type.Array(memoryInputSchema(limits), { minItems: 1, maxItems: limits.maxBatch }) },
    { additionalProperties: false },
  )
}

export const EmbeddingStatus = Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('failed')], {
  description: '`ready` once the memory is searchable by meaning; `failed` with `embedding_error` after the retries ran out.',
})

export const Memory = Type.Object({
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  content: Type.String(),
  entity_type: Type.Union([Type.String(), Type.Null()]),
  entity_id: Type.Union([Type.String(), Type.Null()]),
  user_id: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Object({}, { additionalProperties: true }),
  embedding_status: EmbeddingStatus,
  embedding_error: Type.Union([Type.String(), Type.Null()]),
  embedding_model: Type.Union([Type.String(), Type.Null()], { description: 'The model of the stored vector, if any.' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  source: MemorySource,
  valid_from: Type.String({ format: 'date-time' }),
  valid_to: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  superseded_by: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  pinned: Type.Boolean(),
  importance: Type.Number(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  deduplicated: Type.Optional(Type.Boolean({ description: 'On a write only, and only when true: it updated a nearly identical live memory instead of adding one.' })),
})
export type MemoryView = Static<typeof Memory>

export const MemoryList = Type.Object({
  memories: Type.Array(Memory),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

export const BatchResult = Type.Object({
  memories: Type.Array(Memory, { description: 'In the order sent.' }),
  created_count: Type.Integer(),
  updated_count: Type.Integer(),
})

export function listMemoriesQuery(limits: { maxPageSize: number }) {
  return Type.Object(
    {
      ...pageQuerySchema(limits),
      entity_type: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      entity_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      embedding_status: Type.Optional(EmbeddingStatus),
      where: Type.Optional(Type.String({ maxLength: 4096, description: 'JSON object matched against metadata by containment.' })),
      as_of: Type.Optional(Type.String({ format: 'date-time', description: 'Only the memories valid at that time.' })),
    },
    { additionalProperties: false },
  )
}
export type ListMemoriesQuery = Static<ReturnType<typeof listMemoriesQuery>>

export const HistoryEntry = Type.Object({
  action: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('supersede'), Type.Literal('expire'), Type.Literal('delete')]),
  old: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'The fields before; null before a create, and once forgotten.' }),
  new: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'The fields after; null after a delete, and once forgotten.' }),
  actor: Type.Object({ kind: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  at: Type.String({ format: 'date-time' }),
})
export const MemoryHistory = Type.Object({ memory_id: Type.String({ format: 'uuid' }), history: Type.Array(HistoryEntry, { description: 'Oldest first.' }) })
export type MemoryHistoryView = Static<typeof MemoryHistory>

export const DeleteMemoryQuery = Type.Object(
  { purge: Type.Optional(Type.Boolean({ description: 'Also remove its history (default: a tombstone stays, without the content).' })) },
  { additionalProperties: false },
)

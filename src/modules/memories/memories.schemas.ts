import { Type, type Static } from 'typebox'
import { pageQuerySchema } from '../../platform/http/pagination.js'

export const MemoryParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Memory id.' }) })

const Label = (description: string) => Type.String({ minLength: 1, maxLength: 200, description })
const Metadata = Type.Object({}, { additionalProperties: true, description: 'Free JSON object; `where` filters match it by containment.' })

export function memoryInputSchema(limits: { maxMemoryChars: number }) {
  return Type.Object(
    {
      content: Type.String({ minLength: 1, maxLength: limits.maxMemoryChars, description: 'The text to remember (and to embed).' }),
      entity_type: Type.Optional(Type.Union([Label('Kind of entity (user, project, …); with entity_id, makes the write an upsert.'), Type.Null()])),
      entity_id: Type.Optional(Type.Union([Label('Id of the entity within its type.'), Type.Null()])),
      user_id: Type.Optional(Type.Union([Label('End user the memory belongs to.'), Type.Null()])),
      metadata: Type.Optional(Metadata),
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
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
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
    },
    { additionalProperties: false },
  )
}
export type ListMemoriesQuery = Static<ReturnType<typeof listMemoriesQuery>>

import { Type, type Static } from 'typebox'
import { GptId } from '../gpts/gpts.schemas.js'

export const COLLECTION_NAME_PATTERN = '^[A-Za-z0-9_-]{1,64}$'

export const CollectionName = Type.String({
  pattern: COLLECTION_NAME_PATTERN,
  description: 'Collection name: 1–64 letters, digits, `_` or `-`.',
  examples: ['notes'],
})

export const CollectionParams = Type.Object({ gpt_id: GptId, name: CollectionName })

const JsonSchema = Type.Object({}, {
  additionalProperties: true,
  description: 'A JSON Schema (draft 2020-12 by default, or draft-07 by `$schema`) that documents must satisfy.',
})

const PerUser = Type.Boolean({
  description: "Per-user documents: an end user's access token sees and changes only the documents it wrote here (default false: shared).",
})

/** Ten years: longer is "for ever", which is null. */
export const MAX_TTL_SECONDS = 315_360_000

const TtlSeconds = Type.Union(
  [Type.Integer({ minimum: 1, maximum: MAX_TTL_SECONDS }), Type.Null()],
  {
    description:
      "Seconds a document lives after its last write (create or update): then it is invisible everywhere and purged by the `documents.purge-expired` job. 1 to 315360000 (ten years); null (default): documents never expire. A change applies at once to every document of the collection.",
  },
)

export const CreateCollectionBody = Type.Object(
  {
    name: CollectionName,
    schema: Type.Optional(Type.Union([JsonSchema, Type.Null()])),
    per_user: Type.Optional(PerUser),
    ttl_seconds: Type.Optional(TtlSeconds),
  },
  { additionalProperties: false },
)
export type CreateCollectionInput = Static<typeof CreateCollectionBody>

export const PatchCollectionBody = Type.Object(
  { schema: Type.Optional(Type.Union([JsonSchema, Type.Null()])), per_user: Type.Optional(PerUser), ttl_seconds: Type.Optional(TtlSeconds) },
  { additionalProperties: false, minProperties: 1 },
)

export const Collection = Type.Object({
  gpt_id: Type.String(),
  name: Type.String(),
  schema: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  per_user: Type.Boolean(),
  ttl_seconds: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})
export type CollectionView = Static<typeof Collection>

export const PatchedCollection = Type.Object({
  ...Collection.properties,
  invalid_documents: Type.Integer({ description: 'How many stored documents fail the new schema (they are kept).' }),
})

export const CollectionList = Type.Object({
  collections: Type.Array(Collection),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

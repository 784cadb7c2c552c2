import { Type, type Static } from 'typebox'
import type { JsonObject } from '../../platform/db/tables.js'
import { pageQuerySchema } from '../../platform/http/pagination.js'
import { CollectionParams } from '../collections/collections.schemas.js'

export const ObjectId = Type.String({ format: 'uuid', description: 'Object id (UUIDv7).' })
export const ObjectParams = Type.Object({ id: ObjectId })
export const CollectionObjectParams = Type.Object({ ...CollectionParams.properties, id: ObjectId })

/** The document itself (or `{"body": {…}}`): any JSON object. */
export const Document = Type.Object({}, { additionalProperties: true, description: 'A JSON object.' })

export const ObjectBody = Type.Object({
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  collection: Type.String(),
  body: Type.Object({}, { additionalProperties: true }),
  user_id: Type.Optional(Type.String({ description: 'In a per-user collection: the end user the document belongs to.' })),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})
export type ObjectView = Omit<Static<typeof ObjectBody>, 'body'> & { body: JsonObject }

export const ObjectList = Type.Object({
  objects: Type.Array(ObjectBody),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

export const WriteHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Repeat-safe POST: the first response is replayed for 24 h.' })),
})
export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 1024, description: 'An ETag from a previous response; 412 when the object changed since.' })),
})

export function listObjectsQuery(maxPageSize: number) {
  return {
    sort: Type.Optional(Type.Union([Type.Literal('created_at'), Type.Literal('updated_at')], { description: 'Sort key (default created_at).' })),
    where: Type.Optional(Type.String({ maxLength: 4096, description: 'JSON object matched by containment on the body, e.g. {"tag":"work"}.' })),
    q: Type.Optional(Type.String({ maxLength: 500, description: 'Full-text search over the body\'s strings; results ranked best first.' })),
    created_after: Type.Optional(Type.String({ format: 'date-time' })),
    created_before: Type.Optional(Type.String({ format: 'date-time' })),
    ...pageQuerySchema({ maxPageSize }),
  }
}

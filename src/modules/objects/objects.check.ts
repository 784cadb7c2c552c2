import type { JsonObject } from '../../platform/db/tables.js'
import { AppError, ErrorCode, ERR } from '../../platform/errors.js'
import { exceedsDepth, findUnstorableText } from '../../platform/json-depth.js'
import { documentErrors } from '../../platform/json-schema.js'
import type { CollectionHandle } from '../collections/collections.service.js'

/** GPT Actions send the document itself; `{"body": {…}}` alone is the envelope form. */
export function unwrapDocument(payload: JsonObject): JsonObject {
  const keys = Object.keys(payload)
  const inner = payload.body
  if (keys.length === 1 && keys[0] === 'body' && inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
    return inner
  }
  return payload
}

/** The document if it may be stored in the collection: bounded depth (422), storable text (422), then the collection's schema (400). */
export function checkDocument(handle: CollectionHandle, body: JsonObject, maxJsonDepth: number): JsonObject {
  if (exceedsDepth(body, maxJsonDepth)) {
    throw ERR.validation(`The document nests deeper than ${maxJsonDepth} levels (MAX_JSON_DEPTH).`, [
      { pointer: '', message: `must not nest deeper than ${maxJsonDepth} levels` },
    ])
  }
  const unstorable = findUnstorableText(body)
  if (unstorable) throw ERR.validation('The document holds text that cannot be stored.', [unstorable])
  if (handle.validate) {
    const errors = documentErrors(handle.validate, body)
    if (errors.length > 0) {
      throw new AppError(ErrorCode.BadRequest, `The document does not match the schema of collection "${handle.row.name}".`, { errors })
    }
  }
  return body
}

/** What checkDocument answers, with null instead of its refusal: for rules that may be out of date and are asked again. */
export function acceptedOrNull(handle: CollectionHandle, body: JsonObject, maxJsonDepth: number): JsonObject | null {
  try {
    return checkDocument(handle, body, maxJsonDepth)
  } catch {
    return null
  }
}

import type { JsonObject, JsonValue } from '../../platform/db/tables.js'

/**
 * A collection schema as it can stand inside an OpenAPI 3.1 document: without `$schema`/`$id`, and
 * with its internal definitions moved to components (an inlined `#/$defs/x` would point nowhere).
 */
export function embedSchema(collection: string, schema: JsonObject | null, components: Record<string, JsonValue>): JsonObject {
  if (schema === null) return { type: 'object', additionalProperties: true }
  const { $schema: _dialect, $id: _id, $defs, definitions, ...rest } = schema
  const prefix = `${collection}__`
  for (const defs of [$defs, definitions]) {
    if (defs && typeof defs === 'object' && !Array.isArray(defs)) {
      for (const [name, definition] of Object.entries(defs)) components[`${prefix}${name}`] = definition
    }
  }
  const rewrite = (value: JsonValue): JsonValue => {
    if (Array.isArray(value)) return value.map(rewrite)
    if (value === null || typeof value !== 'object') return value
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => {
        if (key === '$ref' && typeof inner === 'string') {
          const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(inner)
          return [key, match ? `#/components/schemas/${prefix}${match[1]}` : inner]
        }
        return [key, rewrite(inner)]
      }),
    )
  }
  for (const name of Object.keys(components)) {
    if (name.startsWith(prefix)) components[name] = rewrite(components[name]!)
  }
  return rewrite(rest) as JsonObject
}

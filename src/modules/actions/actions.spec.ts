import type { JsonObject, JsonValue } from '../../platform/db/tables.js'
import type { CollectionView } from '../collections/collections.schemas.js'
import type { GptView } from '../gpts/gpts.schemas.js'

/** GPT Actions' limits (OpenAI's production notes): longer texts are rejected or truncated. */
export const ACTION_LIMITS = { summary: 300, parameterDescription: 700 }

type Operation = Record<string, unknown>

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/**
 * A collection schema as it can stand inside an OpenAPI 3.1 document: without `$schema`/`$id`, and
 * with its internal definitions moved to components (an inlined `#/$defs/x` would point nowhere).
 */
function embedSchema(collection: string, schema: JsonObject | null, components: Record<string, JsonValue>): JsonObject {
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

/** operationIds GPT Actions accept, short and unique: `notes_create`, `notes_list`, … */
const opId = (collection: string, verb: string) => `${collection.replace(/[^A-Za-z0-9_]/g, '_')}_${verb}`.slice(0, 64)

function collectionPaths(gptId: string, collection: CollectionView, components: Record<string, JsonValue>) {
  const name = collection.name
  const body = embedSchema(name, collection.schema as JsonObject | null, components)
  const stored = {
    type: 'object',
    properties: {
      id: { type: 'string', format: 'uuid' },
      collection: { type: 'string' },
      body,
      created_at: { type: 'string', format: 'date-time' },
      updated_at: { type: 'string', format: 'date-time' },
    },
  }
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } })
  const problem = { description: 'Error (RFC 9457 problem details)' }
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' }, description: `The ${name} document id.` }
  const base = `/v1/gpts/${gptId}/collections/${name}/objects`
  const op = (verb: string, summary: string, extra: Operation): Operation => ({
    operationId: opId(name, verb),
    summary: clip(summary, ACTION_LIMITS.summary),
    ...extra,
  })
  return {
    [base]: {
      post: op('create', `Save a new ${name} document.`, {
        requestBody: { required: true, ...json(body) },
        responses: { 201: { description: 'Saved', ...json(stored) }, 400: problem, 422: problem },
        'x-openai-isConsequential': false,
      }),
      get: op('list', `List ${name} documents, newest first. Filter with where (JSON containment) or search text with q.`, {
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, description: 'How many to return.' },
          { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'next_cursor of the previous page.' },
          { name: 'order', in: 'query', schema: { type: 'string', enum: ['asc', 'desc'] }, description: 'desc (newest first) or asc.' },
          { name: 'q', in: 'query', schema: { type: 'string' }, description: 'Words to search for in the documents.' },
          { name: 'where', in: 'query', schema: { type: 'string' }, description: 'JSON object the document must contain, e.g. {"tag":"work"}.' },
          { name: 'created_after', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Only documents created after this time.' },
        ],
        responses: {
          200: {
            description: 'A page of documents',
            ...json({
              type: 'object',
              properties: { objects: { type: 'array', items: stored }, next_cursor: { type: ['string', 'null'] }, has_more: { type: 'boolean' } },
            }),
          },
          400: problem,
        },
      }),
    },
    [`${base}/{id}`]: {
      get: op('get', `Read one ${name} document by id.`, { parameters: [idParam], responses: { 200: { description: 'The document', ...json(stored) }, 404: problem } }),
      patch: op('update', `Change some fields of a ${name} document; other fields stay.`, {
        parameters: [idParam],
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: true, description: 'Fields to set.' }) },
        responses: { 200: { description: 'Updated', ...json(stored) }, 400: problem, 404: problem },
        'x-openai-isConsequential': false,
      }),
      delete: op('delete', `Delete a ${name} document.`, {
        parameters: [idParam],
        responses: { 204: { description: 'Deleted' }, 404: problem },
        'x-openai-isConsequential': true,
      }),
    },
  }
}

/**
 * The OpenAPI 3.1 document a Custom GPT imports as its Action: one set of operations per
 * collection, each with that collection's schema inlined, the GPT id fixed in the paths, Bearer auth.
 */
export function buildActionSpec(input: { gpt: GptView; collections: CollectionView[]; publicUrl: string; version: string }) {
  const components: Record<string, JsonValue> = {}
  const paths: Record<string, unknown> = Object.assign({}, ...input.collections.map((collection) => collectionPaths(input.gpt.id, collection, components)))
  const names = input.collections.map((collection) => collection.name).join(', ') || 'none yet'
  return {
    openapi: '3.1.0',
    info: {
      title: clip(`${input.gpt.name} storage`, 100),
      version: input.version,
      description: clip(`Persistent storage for the GPT "${input.gpt.name}". Collections: ${names}.`, ACTION_LIMITS.summary),
    },
    servers: [{ url: input.publicUrl }],
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearerAuth: [] }],
  }
}

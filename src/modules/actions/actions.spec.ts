import type { JsonObject, JsonValue } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { BUDGET_NOTE } from '../catalogue/budget.js'
import { plainSchema, type Catalogue } from '../catalogue/catalogue.js'
import type { Operation } from '../catalogue/catalogue.types.js'
import type { CollectionView } from '../collections/collections.schemas.js'
import type { ActionExposureView, GptView } from '../gpts/gpts.schemas.js'
import { embedSchema } from './actions.embed.js'

/** GPT Actions' limits (OpenAI's production notes): a spec past them is refused or cut by the GPT editor. */
export const ACTION_LIMITS = { operations: 30, operationId: /^[A-Za-z0-9_-]{1,64}$/, summary: 300, description: 300, parameterDescription: 700 }
export type ActionLimits = typeof ACTION_LIMITS

type Json = Record<string, unknown>

const takesCollection = (operation: Operation) => 'collection' in operation.input.properties

/** Every `description` inside a schema, with where it is. */
function descriptions(value: unknown, at: string): [string, string][] {
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([key, inner]) =>
    key === 'description' && typeof inner === 'string' ? [[at, inner] as [string, string]] : descriptions(inner, `${at}/${key}`),
  )
}

/** Where one collection is offered, its schema documents the document it takes (and its definitions go to components). */
interface Offered {
  names: string[]
  only: { body: JsonObject } | null
}

function requestSchema(operation: Operation, offered: Offered): Json {
  const schema = plainSchema(operation.input)
  if (!takesCollection(operation)) return schema
  const listed = offered.names.join(', ')
  const description =
    listed.length <= 400 ? `The collection: ${listed}. list_collections gives each one's fields.` : 'The collection (list_collections gives names and fields).'
  const properties: Json = { ...(schema.properties as Json), collection: { type: 'string', enum: offered.names, description } }
  if (offered.only && operation.name === 'create_document') properties.document = offered.only.body
  return { ...schema, properties }
}

function responseSchema(operation: Operation): Json {
  const schema = plainSchema(operation.output)
  if (!operation.list) return schema
  const truncated = { type: 'boolean', description: 'Present and true when the answer was shortened to stay under 100,000 characters.' }
  return { ...schema, properties: { ...(schema.properties as Json), truncated } }
}

function actionOperation(operation: Operation, offered: Offered): Json {
  const description = operation.list ? `${operation.description} ${BUDGET_NOTE}` : operation.description
  const json = (schema: Json) => ({ content: { 'application/json': { schema } } })
  return {
    operationId: operation.name,
    summary: operation.title,
    description,
    'x-openai-isConsequential': operation.consequential,
    requestBody: { required: true, ...json(requestSchema(operation, offered)) },
    responses: {
      200: { description: 'The result', ...json(responseSchema(operation)) },
      default: { description: 'Refused: an RFC 9457 problem (title, status, detail)', ...json({ type: 'object', additionalProperties: true }) },
    },
  }
}

/** Refuses a spec past a limit, naming what to leave out. */
function checkLimits(offered: [Operation, Json][], exposure: ActionExposureView, limits: ActionLimits): void {
  if (offered.length > limits.operations) {
    throw ERR.validation(
      `The spec would have ${offered.length} operations; GPT Actions take at most ${limits.operations}. Drop one of the parts in action_exposure.parts (${exposure.parts.join(', ')}).`,
      [{ pointer: '/action_exposure/parts', message: `gives ${offered.length} operations, more than ${limits.operations}`, location: 'body' }],
    )
  }
  for (const [{ name, group }, operation] of offered) {
    const long = [
      ...(limits.operationId.test(name) ? [] : [[`operationId`, name]]),
      ...(String(operation.summary).length > limits.summary ? [['summary', String(operation.summary)]] : []),
      ...(String(operation.description).length > limits.description ? [['description', String(operation.description)]] : []),
      ...descriptions(operation.requestBody, 'requestBody').filter(([, text]) => text.length > limits.parameterDescription),
    ]
    if (long.length > 0) {
      const instead = group === 'collections' ? ', or choose other collections in action_exposure.collections' : ''
      throw ERR.validation(
        `The operation ${name} would break GPT Actions' limits (${long.map(([at]) => at).join(', ')}): drop ${group} from action_exposure.parts${instead}.`,
        [{ pointer: '/action_exposure/parts', message: `${name} (of ${group}) is over a GPT Actions limit`, location: 'body' }],
      )
    }
  }
}

/** The authorization-code flow of this service's OAuth server, as ChatGPT's importer reads it. */
function oauthScheme(publicUrl: string) {
  return {
    oauth2: {
      type: 'oauth2',
      flows: {
        authorizationCode: {
          authorizationUrl: `${publicUrl}/oauth/authorize`,
          tokenUrl: `${publicUrl}/oauth/token`,
          refreshUrl: `${publicUrl}/oauth/token`,
          scopes: { read: "Read the user's own chats, memories and documents", write: "Add to and change the user's own data" },
        },
      },
    },
  }
}

/**
 * The operations a GPT's Action offers for this exposure, as OpenAPI paths and the schemas they
 * refer to; a choice past GPT Actions' limits, or naming a collection the GPT does not have, is
 * refused with a 422 naming what to drop.
 */
export function actionPaths(input: {
  gptId: string
  catalogue: Catalogue
  collections: CollectionView[]
  exposure: ActionExposureView
  limits?: ActionLimits
}) {
  const { exposure } = input
  const known = new Set(input.collections.map((collection) => collection.name))
  const missing = (exposure.collections ?? []).filter((name) => !known.has(name))
  if (missing.length > 0) {
    throw ERR.validation(
      `This GPT has no collection ${missing.map((name) => JSON.stringify(name)).join(', ')}: drop it from action_exposure.collections.`,
      [{ pointer: '/action_exposure/collections', message: `names no collection: ${missing.join(', ')}`, location: 'body' }],
    )
  }
  const names = exposure.collections ?? [...known]
  const operations = input.catalogue.operations.filter(
    (operation) => exposure.parts.includes(operation.group) && (names.length > 0 || !takesCollection(operation)),
  )
  const components: Record<string, JsonValue> = {}
  const single = names.length === 1 ? input.collections.find((collection) => collection.name === names[0])! : null
  const offered: Offered = { names, only: single ? { body: embedSchema(single.name, single.schema as JsonObject | null, components) } : null }
  const built = operations.map((operation): [Operation, Json] => [operation, actionOperation(operation, offered)])
  checkLimits(built, exposure, input.limits ?? ACTION_LIMITS)
  const paths = Object.fromEntries(built.map(([operation, post]) => [`/v1/gpts/${input.gptId}/actions/${operation.name}`, { post }]))
  return { paths, components }
}

/**
 * The OpenAPI 3.1 document a Custom GPT imports as its Action, made from the catalogue: one POST per
 * exposed operation (its input as the JSON body), the GPT id fixed in the paths, Bearer auth.
 */
export function buildActionSpec(input: {
  gpt: GptView
  catalogue: Catalogue
  collections: CollectionView[]
  exposure: ActionExposureView
  publicUrl: string
  version: string
  /** The GPT has an OAuth app: end users sign in through this service's authorization server. */
  oauth?: boolean
  limits?: ActionLimits
}) {
  const { gpt, exposure } = input
  const { paths, components } = actionPaths({ ...input, gptId: gpt.id })
  const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)
  return {
    openapi: '3.1.0',
    info: {
      title: clip(`${gpt.name} storage`, 100),
      version: input.version,
      description: clip(`Persistent storage for the GPT "${gpt.name}": ${exposure.parts.join(', ')}.`, ACTION_LIMITS.description),
    },
    servers: [{ url: input.publicUrl }],
    paths,
    components: { schemas: components, securitySchemes: input.oauth ? oauthScheme(input.publicUrl) : { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    security: [input.oauth ? { oauth2: ['read', 'write'] } : { bearerAuth: [] }],
  }
}

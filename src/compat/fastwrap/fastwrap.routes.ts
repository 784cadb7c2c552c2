import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError, ErrorCode } from '../../platform/errors.js'
import { API_KEY_HEADER_SECURITY } from '../../platform/openapi.plugin.js'
import type { AccountsService } from '../../modules/accounts/accounts.service.js'
import type { CharactersService } from '../../modules/characters/characters.service.js'
import { finishedMessage } from '../../modules/chat/generation.finish.js'
import type { GenerationService } from '../../modules/chat/generation.service.js'
import type { SessionsService } from '../../modules/chat/sessions.service.js'
import type { GptsService } from '../../modules/gpts/gpts.service.js'
import type { MemoriesService } from '../../modules/memories/memories.service.js'
import type { SearchService } from '../../modules/search/search.service.js'
import { callerId, characterName, fastWrapGpt, fastWrapSurface, toCharacter, translate } from './fastwrap.shapes.js'
import { memoryCaller } from '../../modules/memories/memories.inputs.js'

interface Deps {
  accounts: AccountsService
  gpts: GptsService
  characters: CharactersService
  sessions: SessionsService
  generation: GenerationService
  memories: MemoriesService
  search: SearchService
  limits: { maxMessageChars: number; maxMemoryChars: number }
}

const keyed = { access: 'public' as const, ipBudget: true }
const Uuid = Type.String({ format: 'uuid' })
const CharacterPath = Type.Object({ uuid: Uuid })
/** FastWrap listed a client's characters in one answer; the house pages, so the list stops here. */
const MAX_LISTED = 1000

/** A memory hit names its entity in its details. */
function entityOf(details: { entity_type?: unknown; entity_id?: unknown }) {
  const text = (value: unknown) => (typeof value === 'string' ? value : null)
  return { entity_type: text(details.entity_type), entity_id: text(details.entity_id) }
}

/** FastWrap's characters, chat and vectors on the house's characters, chat generation and memories. */
export function fastWrapRoutes({ accounts, gpts, characters, sessions, generation, memories, search, limits }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    fastWrapSurface(instance, accounts)
    const common = { tags: ['FastWrap (compat)'], security: API_KEY_HEADER_SECURITY }
    const gptOf = (request: FastifyRequest) => fastWrapGpt(gpts, callerId(request))
    const notFound = translate([ErrorCode.NotFound], () => new AppError(ErrorCode.NotFound, 'Resource not found'))
    const Role = Type.Object(
      {
        agent_role: Type.String({ minLength: 1, maxLength: 2 * limits.maxMessageChars }),
        TTL: Type.Optional(Type.Union([Type.Integer({ exclusiveMinimum: 0 }), Type.Null()])),
      },
      { additionalProperties: false },
    )

    app.post(
      '/api/characters',
      { config: keyed, schema: { ...common, operationId: 'fastWrapCreateCharacter', summary: 'Create a character (a system prompt)', body: Role } },
      async (request, reply) => {
        const { agent_role } = request.body
        const character = await characters.createCharacter(await gptOf(request), { name: characterName(agent_role), agent_role })
        return reply.code(201).send({ message: 'Character created', data: toCharacter(character, callerId(request)) })
      },
    )

    app.get(
      '/api/characters',
      { config: keyed, schema: { ...common, operationId: 'fastWrapListCharacters', summary: 'The client\'s characters, oldest first (up to 1000)' } },
      async (request) => {
        const page = await characters.listCharacters(await gptOf(request), { limit: MAX_LISTED })
        return { message: 'Characters fetched', data: page.items.map((character) => toCharacter(character, callerId(request))) }
      },
    )

    app.get(
      '/api/characters/:uuid',
      { config: keyed, schema: { ...common, operationId: 'fastWrapGetCharacter', summary: 'A character\'s system prompt', params: CharacterPath } },
      async (request) => {
        const character = await characters.getCharacter(await gptOf(request), request.params.uuid).catch(notFound)
        // FastWrap answered the prompt alone.
        return { message: 'Character fetched', data: character.agent_role }
      },
    )

    app.patch(
      '/api/characters/:uuid',
      { config: keyed, schema: { ...common, operationId: 'fastWrapUpdateCharacter', summary: 'Replace a character\'s system prompt', params: CharacterPath, body: Role } },
      async (request, reply) => {
        const { agent_role } = request.body
        const character = await characters.updateCharacter(await gptOf(request), request.params.uuid, { agent_role }).catch(notFound)
        return reply.code(201).send({ message: 'Resource updated', data: toCharacter(character, callerId(request)) })
      },
    )

    app.delete(
      '/api/characters/:uuid',
      { config: keyed, schema: { ...common, operationId: 'fastWrapDeleteCharacter', summary: 'Soft delete a character', params: CharacterPath } },
      async (request, reply) => {
        await characters.deleteCharacter(await gptOf(request), request.params.uuid).catch(notFound)
        return reply.code(204).send()
      },
    )

    app.post(
      '/api/chat',
      {
        config: keyed,
        schema: {
          ...common,
          operationId: 'fastWrapChat',
          summary: 'Send a message to a character; the conversation with that character goes on',
          body: Type.Object(
            {
              uuid: Uuid,
              role: Type.Literal('user'),
              content: Type.String({ minLength: 1, maxLength: limits.maxMessageChars }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const gptId = await gptOf(request)
        const { uuid, content } = request.body
        const characterMissing = () => new AppError(ErrorCode.NotFound, 'Character not set/found')
        if (!(await characters.findActiveCharacter(gptId, uuid))) throw characterMissing()
        // One conversation per character: its session is the latest of the user named after it.
        const latest = await sessions.listSessions(gptId, { user_id: uuid, sort: 'activity', order: 'desc', limit: 1 })
        const session_id = latest.items[0]?.id
        const started = await generation
          .chat(gptId, { character_id: uuid, content, ...(session_id === undefined ? { user_id: uuid } : { session_id }) })
          .catch(translate([ErrorCode.NotFound], characterMissing))
        const message = await finishedMessage(started, started.sessionId)
        const messages = [
          { role: 'user', content },
          { role: 'assistant', content: message.content },
        ]
        return reply.code(201).send({ message: 'Chat request posted', data: { session_id: started.sessionId, message_id: message.id, messages } })
      },
    )

    app.post(
      '/api/vectors/upsert',
      {
        config: keyed,
        schema: {
          ...common,
          operationId: 'fastWrapUpsertVector',
          summary: 'Store a text snippet for an entity (one per entity_type and entity_id)',
          body: Type.Object(
            {
              entity_type: Type.String({ minLength: 1, maxLength: 200 }),
              entity_id: Uuid,
              content: Type.String({ minLength: 1, maxLength: limits.maxMemoryChars }),
              metadata: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const { entity_type, entity_id, content, metadata } = request.body
        const { memory } = await memories.writeMemory(await gptOf(request), { entity_type, entity_id, content, ...(metadata ? { metadata } : {}) }, memoryCaller(request.principal))
        const data = {
          id: memory.id,
          client_id: callerId(request),
          entity_type: memory.entity_type,
          entity_id: memory.entity_id,
          content: memory.content,
          metadata: memory.metadata,
          created_at: memory.created_at,
          updated_at: memory.updated_at,
        }
        return reply.code(201).send({ message: 'Vector upserted', data })
      },
    )

    app.post(
      '/api/vectors/search',
      {
        config: keyed,
        schema: {
          ...common,
          operationId: 'fastWrapSearchVectors',
          summary: 'Semantic search over the client\'s snippets',
          body: Type.Object(
            {
              query: Type.String({ minLength: 1, maxLength: 2000 }),
              top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
              entity_type: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { query, top_k = 5, entity_type } = request.body
        const found = await search.search(await gptOf(request), {
          query,
          top_k,
          mode: 'semantic',
          sources: ['memories'],
          ...(entity_type ? { filters: { entity_type } } : {}),
        })
        const data = found.results.map((hit) => ({
          ...entityOf(hit.details),
          id: hit.id,
          client_id: callerId(request),
          content: hit.content,
          metadata: hit.metadata,
          // pgvector's cosine distance, as FastWrap answered it.
          distance: 1 - hit.score,
          created_at: hit.created_at,
        }))
        return { message: 'Search results', data }
      },
    )
  }
}

import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import { Character, CharacterList, CharacterParams, createCharacterBody, patchCharacterBody } from './characters.schemas.js'
import type { CharactersService } from './characters.service.js'

interface Deps {
  characters: CharactersService
  publicUrl: string
  maxPageSize: number
  /** MAX_MESSAGE_CHARS: a character's system prompt may be twice as long. */
  maxMessageChars: number
}

export function characterRoutes({ characters, publicUrl, maxPageSize, maxMessageChars }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['characters'], security: BEARER_SECURITY }
    const limits = { maxAgentRoleChars: 2 * maxMessageChars }

    app.post(
      '/v1/gpts/:gpt_id/characters',
      {
        schema: {
          ...common,
          operationId: 'createCharacter',
          summary: 'Create a character (a named system prompt)',
          description: 'Names need not be unique: characters are told apart by id.',
          params: GptParams,
          body: createCharacterBody(limits),
          response: { 201: Character, ...problemResponses(401, 403, 422) },
        },
      },
      async (request, reply) => {
        const character = await characters.createCharacter(request.params.gpt_id, request.body)
        return reply.code(201).header('location', `/v1/characters/${character.id}`).send(character)
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/characters',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'listCharacters',
          summary: 'List characters, oldest first (deleted ones are hidden)',
          params: GptParams,
          querystring: Type.Object(pageQuerySchema({ maxPageSize }), { additionalProperties: false }),
          response: { 200: CharacterList, ...problemResponses(400, 401, 403, 422) },
        },
      },
      async (request, reply) => {
        const page = await characters.listCharacters(request.params.gpt_id, request.query)
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { characters: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.get(
      '/v1/characters/:id',
      {
        config: { endUsers: true },
        schema: { ...common, operationId: 'getCharacter', summary: 'Read a character', params: CharacterParams, response: { 200: Character, ...problemResponses(401, 403, 404, 422) } },
      },
      async (request) => characters.getCharacter(keyPrincipal(request).gptId, request.params.id),
    )

    app.patch(
      '/v1/characters/:id',
      {
        schema: {
          ...common,
          operationId: 'updateCharacter',
          summary: 'Change a character (memory settings are replaced as a whole)',
          params: CharacterParams,
          body: patchCharacterBody(limits),
          response: { 200: Character, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => characters.updateCharacter(keyPrincipal(request).gptId, request.params.id, request.body),
    )

    app.delete(
      '/v1/characters/:id',
      {
        schema: {
          ...common,
          operationId: 'deleteCharacter',
          summary: 'Delete a character (sessions and messages made with it keep its id)',
          params: CharacterParams,
          response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await characters.deleteCharacter(keyPrincipal(request).gptId, request.params.id)
        return reply.code(204).send(null)
      },
    )
  }
}

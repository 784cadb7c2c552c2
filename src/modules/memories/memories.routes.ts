import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { endUserOf } from '../../platform/auth/principal.js'
import { memoryCaller } from './memories.inputs.js'
import { setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import {
  BatchResult,
  DeleteMemoryQuery,
  batchSchema,
  listMemoriesQuery,
  Memory,
  MemoryHistory,
  MemoryList,
  MemoryParams,
  memoryInputSchema,
  patchMemorySchema,
} from './memories.schemas.js'
import type { MemoriesService } from './memories.service.js'

interface Deps {
  memories: MemoriesService
  publicUrl: string
  maxPageSize: number
  maxMemoryChars: number
  maxBatch: number
}

const OUTCOME_STATUS = { created: 201, replaced: 200, accepted: 202 } as const

export function memoryRoutes({ memories, publicUrl, maxPageSize, maxMemoryChars, maxBatch }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['memories'], security: BEARER_SECURITY }

    app.post(
      '/v1/gpts/:gpt_id/memories',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'writeMemory',
          summary: 'Remember something (an upsert when entity_type and entity_id are given)',
          description:
            '201: created; 200: replaced the content of the memory with the same entity; 202: stored, and its vector is being made in the background (remote embeddings provider) — `embedding_status` is `pending` until then.',
          params: GptParams,
          body: memoryInputSchema({ maxMemoryChars }),
          response: { 200: Memory, 201: Memory, 202: Memory, ...problemResponses(401, 403, 413, 422) },
        },
      },
      async (request, reply) => {
        const { memory, outcome } = await memories.writeMemory(request.params.gpt_id, request.body, memoryCaller(request.principal))
        return reply.code(OUTCOME_STATUS[outcome]).header('location', `/v1/memories/${memory.id}`).send(memory)
      },
    )

    app.post(
      '/v1/gpts/:gpt_id/memories/batch',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'writeMemories',
          summary: `Write up to ${maxBatch} memories at once (all or none)`,
          description: '200 when every vector was made in the request; 202 when some are being made in the background.',
          params: GptParams,
          body: batchSchema({ maxMemoryChars, maxBatch }),
          response: { 200: BatchResult, 202: BatchResult, ...problemResponses(401, 403, 413, 422) },
        },
      },
      async (request, reply) => {
        const result = await memories.writeBatch(request.params.gpt_id, request.body.memories, memoryCaller(request.principal))
        return reply
          .code(result.accepted ? 202 : 200)
          .send({ memories: result.memories, created_count: result.created, updated_count: result.updated })
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/memories',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'listMemories',
          summary: 'List memories (oldest first), filtered by entity, user, embedding status or metadata',
          params: GptParams,
          querystring: listMemoriesQuery({ maxPageSize }),
          response: { 200: MemoryList, ...problemResponses(400, 401, 403, 422) },
        },
      },
      async (request, reply) => {
        const page = await memories.listMemories(request.params.gpt_id, request.query, endUserOf(request.principal))
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { memories: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.get(
      '/v1/memories/:id',
      { config: { endUsers: true }, schema: { ...common, operationId: 'getMemory', summary: 'Read a memory, with where it came from (source) and its validity', params: MemoryParams, response: { 200: Memory, ...problemResponses(401, 403, 404, 422) } } },
      async (request) => memories.getMemory(keyPrincipal(request).gptId, request.params.id, endUserOf(request.principal)),
    )

    app.patch(
      '/v1/memories/:id',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'updateMemory',
          summary: 'Change a memory (metadata merges by key; new content is embedded again)',
          description: '200, or 202 when the new content is being embedded in the background.',
          params: MemoryParams,
          body: patchMemorySchema({ maxMemoryChars }),
          response: { 200: Memory, 202: Memory, ...problemResponses(401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const { memory, accepted } = await memories.updateMemory(keyPrincipal(request).gptId, request.params.id, request.body, memoryCaller(request.principal))
        return reply.code(accepted ? 202 : 200).send(memory)
      },
    )

    app.delete(
      '/v1/memories/:id',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'deleteMemory',
          summary: 'Forget a memory (and its vector)',
          description: 'Its history keeps a tombstone (who deleted it, when) and forgets what it said; `purge=true` removes the history too.',
          params: MemoryParams,
          querystring: DeleteMemoryQuery,
          response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await memories.deleteMemory(keyPrincipal(request).gptId, request.params.id, memoryCaller(request.principal), request.query.purge === true)
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/v1/memories/:id/history',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'getMemoryHistory',
          summary: 'Every change of a memory (create, update, supersede, expire, delete), oldest first',
          description: 'Answers also for a deleted memory (its tombstone), until it is purged.',
          params: MemoryParams,
          response: { 200: MemoryHistory, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => memories.memoryHistory(keyPrincipal(request).gptId, request.params.id, endUserOf(request.principal)),
    )
  }
}

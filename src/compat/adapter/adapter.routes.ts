import { performance } from 'node:perf_hooks'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { endUserOf } from '../../platform/auth/principal.js'
import { memoryCaller } from '../../modules/memories/memories.inputs.js'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import type { JsonObject } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import type { MemoriesService } from '../../modules/memories/memories.service.js'
import type { AppsService } from '../../modules/oauth/apps.service.js'
import type { SearchService } from '../../modules/search/search.service.js'
import { ADAPTER_TAG, sendAdapterError } from './adapter.shapes.js'
import { dateRange, SearchRequest } from './adapter.search.js'

interface Deps {
  apps: AppsService
  memories: MemoriesService
  search: SearchService
  maxMemoryChars: number
  /** Its OpenAPI document's path, /api/v1/openapi.json, which the chat store's surface serves when it is on. */
  servesOpenApiPath: boolean
}

const JsonObjectOrNull = Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])
/** The worker of the adapter tagged every memory with where it came from. */
const SOURCE = 'custom-gpt'

/**
 * The adapter's memory search and create, and its application and health reads, on the house's
 * search, memories and OAuth apps. Fields pydantic would have ignored are ignored here too.
 */
export function adapterRoutes({ apps, memories, search, maxMemoryChars, servesOpenApiPath }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    app.setErrorHandler(sendAdapterError)
    const common = { tags: [ADAPTER_TAG], security: BEARER_SECURITY }
    const clientOf = (request: FastifyRequest) => {
      const principal = keyPrincipal(request)
      return principal.kind === 'token' ? principal.clientId : null
    }

    if (servesOpenApiPath) {
      app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => instance.swagger())
    }

    app.get('/api/v1/health', { config: { access: 'public' }, schema: { ...common, security: [], operationId: 'adapterHealth', summary: 'Health check' } }, async () => ({
      status: 'ok',
    }))

    for (const [path, operationId] of [['/api/v1/users/me', 'adapterMe'], ['/api/v1/me', 'adapterMeShort']] as const) {
      app.get(path, { config: { scope: 'read', endUsers: true }, schema: { ...common, operationId, summary: 'The application of the access token' } }, async (request) => {
        const clientId = clientOf(request)
        const found = clientId === null ? null : await apps.findAppByClientId(keyPrincipal(request).gptId, clientId)
        if (!found) throw ERR.notFoundDetail('Application not found')
        return { id: found.id, name: found.name, client_id: found.client_id, permissions: found.scopes, rate_limit_per_minute: found.rate_limit_per_minute, created_at: found.created_at, last_used: found.last_used_at }
      })
    }

    app.post(
      '/api/v1/memories',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'adapterCreateMemory',
          summary: 'Remember something; answered at once (202), embedded for search as the house embeds memories',
          body: Type.Object({
            content: Type.String({ minLength: 1, maxLength: maxMemoryChars }),
            context: Type.Optional(JsonObjectOrNull),
            metadata: Type.Optional(JsonObjectOrNull),
            categories: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 50 }), Type.Null()])),
            priority: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 50 }), Type.Null()])),
          }),
        },
      },
      async (request, reply) => {
        const { content, context, metadata, categories, priority } = request.body
        const clientId = clientOf(request)
        // As its worker stored them: the conversation context at the top of the metadata, and the source.
        const stored: JsonObject = {
          ...(metadata ?? {}),
          ...(context ?? {}),
          ...(categories ? { categories } : {}),
          ...(priority ? { priority } : {}),
          source: SOURCE,
          ...(clientId === null ? {} : { client_id: clientId }),
        } as JsonObject
        const { memory } = await memories.writeMemory(keyPrincipal(request).gptId, { content, metadata: stored }, memoryCaller(request.principal))
        return reply
          .code(202)
          .header('location', `/v1/memories/${memory.id}`)
          .send({ status: 'accepted', request_id: request.id, message: 'Memory creation request received and is being processed.', memory_id: memory.id })
      },
    )

    app.post(
      '/api/v1/search',
      {
        config: { scope: 'read', endUsers: true },
        schema: { ...common, operationId: 'adapterSearch', summary: 'Search the memories by meaning', body: SearchRequest },
      },
      async (request) => {
        const started = performance.now()
        const { query, limit = 10, filters } = request.body
        const where = filters?.categories?.length ? { where: { categories: filters.categories } } : {}
        const found = await search.search(
          keyPrincipal(request).gptId,
          { query, top_k: limit, mode: 'semantic', sources: ['memories'], filters: { ...where, ...dateRange(filters?.date_range ?? null) } },
          endUserOf(request.principal),
        )
        const results = found.results.map((hit) => ({
          memory_id: hit.id,
          content: hit.content,
          relevance_score: hit.score,
          metadata: { ...hit.metadata, created_at: hit.created_at },
        }))
        return {
          status: 'success',
          request_id: request.id,
          results,
          total_found: results.length,
          processing_time_ms: Math.round(performance.now() - started),
        }
      },
    )
  }
}

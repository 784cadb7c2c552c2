import type { FastifyInstance } from 'fastify'
import { endUserOf } from '../../platform/auth/principal.js'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import { SearchBody, SearchResponse } from './search.schemas.js'
import type { SearchService } from './search.service.js'

export function searchRoutes({ search }: { search: SearchService }) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    app.post(
      '/v1/gpts/:gpt_id/search',
      {
        // A query: it reads, so a read key may send it.
        config: { scope: 'read', endUsers: true },
        schema: {
          tags: ['search'],
          security: BEARER_SECURITY,
          operationId: 'search',
          summary: 'Search memories, documents and chat messages by meaning, by keyword, or both',
          params: GptParams,
          body: SearchBody,
          response: { 200: SearchResponse, ...problemResponses(401, 403, 422, 503) },
        },
      },
      async (request) => search.search(request.params.gpt_id, request.body, endUserOf(request.principal)),
    )
  }
}

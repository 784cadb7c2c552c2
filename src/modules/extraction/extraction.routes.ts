import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { endUserOf } from '../../platform/auth/principal.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { ExtractionParams, ExtractionRun, ExtractionRunList, SessionExtractParams } from './extraction.schemas.js'
import type { ExtractionService } from './extraction.service.js'

interface Deps {
  extraction: ExtractionService
  publicUrl: string
  maxPageSize: number
}

export function extractionRoutes({ extraction, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['memories'], security: BEARER_SECURITY }

    app.post(
      '/v1/sessions/:id/extract',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'extractMemories',
          summary: 'Extract memories from the session\'s new messages, in the background',
          description:
            '202 with the run (`Location: /v1/extractions/{id}`): it reads the messages since the last run and, per fact, adds, updates or supersedes a memory of the session\'s user, ' +
            'or finds it already known. A run already waiting to start for the session is answered again instead of a second one. ' +
            'Over the GPT\'s daily budget the run waits (`waiting_budget`, with the reason) and starts when the budget frees. Needs the write scope.',
          params: SessionExtractParams,
          response: { 202: ExtractionRun, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const { run } = await extraction.requestRun(keyPrincipal(request).gptId, request.params.id, endUserOf(request.principal))
        return reply.code(202).header('location', `/v1/extractions/${run.id}`).send(run)
      },
    )

    app.get(
      '/v1/sessions/:id/extractions',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'listExtractions',
          summary: 'List the extraction runs of a session, newest first',
          params: SessionExtractParams,
          querystring: Type.Object(pageQuerySchema({ maxPageSize }), { additionalProperties: false }),
          response: { 200: ExtractionRunList, ...problemResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const page = await extraction.listRuns(keyPrincipal(request).gptId, request.params.id, request.query, endUserOf(request.principal))
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { extractions: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.get(
      '/v1/extractions/:id',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'getExtraction',
          summary: 'Read an extraction run: status, reason, decisions with their messages, tokens',
          params: ExtractionParams,
          response: { 200: ExtractionRun, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => extraction.getRun(keyPrincipal(request).gptId, request.params.id, endUserOf(request.principal)),
    )
  }
}

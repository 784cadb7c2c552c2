import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { allPages } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import type { CollectionsService } from '../collections/collections.service.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import type { GptsService } from '../gpts/gpts.service.js'
import { buildActionSpec } from './actions.spec.js'

interface Deps {
  gpts: GptsService
  collections: CollectionsService
  publicUrl: string
  version: string
}

/** GET /v1/gpts/{gpt_id}/openapi.json: public (a GPT builder pastes its URL), and holds no secrets. */
export function actionRoutes({ gpts, collections, publicUrl, version }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    app.get(
      '/v1/gpts/:gpt_id/openapi.json',
      {
        config: { access: 'public' },
        schema: {
          tags: ['gpts'],
          operationId: 'getGptActionSpec',
          summary: "An OpenAPI 3.1 document for this GPT's collections, to import as a GPT Action",
          params: GptParams,
          response: {
            200: Type.Object({}, { additionalProperties: true, description: 'OpenAPI 3.1 document' }),
            ...problemResponses(404, 422),
          },
        },
      },
      async (request) => {
        const gptId = request.params.gpt_id
        const gpt = await gpts.getGpt(gptId)
        const all = await allPages((cursor) => collections.listCollections(gptId, { cursor, limit: 200 }))
        return buildActionSpec({ gpt, collections: all, publicUrl, version })
      },
    )
  }
}

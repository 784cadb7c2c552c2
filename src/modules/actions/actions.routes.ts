import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import type { Catalogue } from '../catalogue/catalogue.js'
import type { CollectionsService } from '../collections/collections.service.js'
import { GptId, GptParams } from '../gpts/gpts.schemas.js'
import type { GptsService } from '../gpts/gpts.service.js'
import { callForAction } from './actions.call.js'
import { currentExposure } from './actions.exposure.js'
import { buildActionSpec } from './actions.spec.js'

interface Deps {
  gpts: GptsService
  collections: CollectionsService
  catalogue: Catalogue
  publicUrl: string
  version: string
  /** Whether the GPT has an OAuth app: its spec then declares the OAuth authorization-code flow instead of a key. */
  hasOAuthApp: (gptId: string) => Promise<boolean>
}

/**
 * GET /v1/gpts/{gpt_id}/openapi.json: public (a GPT builder pastes its URL), holds no secrets; what
 * it offers is the GPT's stored choice (its action_exposure). POST …/actions/{operation} runs one
 * catalogue operation for an Action, its answer kept within what Actions accept.
 */
export function actionRoutes({ gpts, collections, catalogue, publicUrl, version, hasOAuthApp }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    app.get(
      '/v1/gpts/:gpt_id/openapi.json',
      {
        config: { access: 'public' },
        schema: {
          tags: ['gpts'],
          operationId: 'getGptActionSpec',
          summary: 'An OpenAPI 3.1 document to import as this GPT\'s Action (documents, memories, search, chat, mail as its action_exposure chooses)',
          description: 'What it offers is the GPT\'s `action_exposure` setting (`PATCH /v1/gpts/{gpt_id}`); the URL takes no query string.',
          params: GptParams,
          querystring: Type.Object({}, { additionalProperties: false }),
          response: {
            200: Type.Object({}, { additionalProperties: true, description: 'OpenAPI 3.1 document' }),
            ...problemResponses(404, 422),
          },
        },
      },
      async (request) => {
        const gpt = await gpts.getGpt(request.params.gpt_id)
        const { all, exposure } = await currentExposure(collections, gpt)
        const oauth = await hasOAuthApp(gpt.id)
        return buildActionSpec({ gpt, catalogue, collections: all, exposure, publicUrl, version, oauth })
      },
    )

    app.post(
      '/v1/gpts/:gpt_id/actions/:operation',
      {
        // Each operation's own scope (and whether agent keys and end users may call it) is checked by the catalogue.
        config: { scope: 'read', agentKeys: true, endUsers: true },
        schema: {
          tags: ['gpts'],
          security: BEARER_SECURITY,
          operationId: 'callAction',
          summary: 'Run one catalogue operation for a GPT Action (what the Action spec calls)',
          description: 'The body is the operation\'s input; list and search answers stay under 100,000 characters (`truncated` says when they were shortened).',
          params: Type.Object({ gpt_id: GptId, operation: Type.String({ pattern: '^[a-z_]{1,64}$', description: 'The operation, as in the Action spec.' }) }),
          body: Type.Object({}, { additionalProperties: true, description: "The operation's input." }),
          response: { 200: Type.Object({}, { additionalProperties: true }), ...problemResponses(400, 401, 403, 404, 409, 422, 502) },
        },
      },
      async (request) => callForAction(catalogue, request.params.operation, keyPrincipal(request), request.body),
    )
  }
}

import type { FastifyContextConfig, FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { ownerOf } from './gpts.routes.js'
import { GptParams } from './gpts.schemas.js'
import type { GptsService } from './gpts.service.js'

const count = (description: string) => Type.Integer({ minimum: 0, description })

export const GptStats = Type.Object(
  {
    gpt_id: Type.String(),
    documents: count('Documents in all its collections.'),
    memories: count('Memories, embedded or not.'),
    sessions: count('Chat sessions.'),
    agents: count('Mail agents.'),
    unread_mail: count('Deliveries not yet read by their recipient agent.'),
  },
  { $id: 'GptStats' },
)

/**
 * GET …/gpts/{gpt_id}/stats: what a GPT holds. For the operator under /v1/admin (any GPT); under /v1
 * for one of the GPT's keys with the read scope, or for the account that owns it.
 */
export function gptStatsRoutes({ gpts }: { gpts: GptsService }, caller: 'operator' | 'tenant') {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const operator = caller === 'operator'
    const config: FastifyContextConfig = operator ? { access: 'admin' } : { access: 'key', scope: 'read', accounts: true }
    app.get(
      `${operator ? '/v1/admin' : '/v1'}/gpts/:gpt_id/stats`,
      {
        config,
        schema: {
          tags: [operator ? 'admin' : 'gpts'],
          security: BEARER_SECURITY,
          operationId: operator ? 'adminGetGptStats' : 'getGptStats',
          summary: 'Count what the GPT holds: documents, memories, chat sessions, agents, unread mail',
          params: GptParams,
          response: { 200: GptStats, ...problemResponses(...(operator ? [401] : [401, 403]), 404, 422) },
        },
      },
      async (request) => gpts.stats(request.params.gpt_id, ownerOf(request)),
    )
  }
}

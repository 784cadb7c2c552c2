import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { ERR } from '../../platform/errors.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import { Agent, AgentList, AgentParams, CreateAgentBody, PatchAgentBody } from './agents.schemas.js'
import type { AgentsService } from './agents.service.js'

interface Deps {
  agents: AgentsService
  publicUrl: string
  maxPageSize: number
}

export function agentRoutes({ agents, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['agents'], security: BEARER_SECURITY }

    app.post(
      '/v1/gpts/:gpt_id/agents',
      {
        schema: {
          ...common,
          operationId: 'createAgent',
          summary: 'Register an agent (name unique within the GPT)',
          params: GptParams,
          body: CreateAgentBody,
          response: { 201: Agent, ...problemResponses(401, 403, 409, 422) },
        },
      },
      async (request, reply) => {
        const agent = await agents.createAgent(request.params.gpt_id, request.body)
        return reply.code(201).header('location', `/v1/agents/${agent.id}`).send(agent)
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/agents',
      {
        schema: {
          ...common,
          operationId: 'listAgents',
          summary: 'List agents',
          params: GptParams,
          querystring: Type.Object(pageQuerySchema({ maxPageSize }), { additionalProperties: false }),
          response: { 200: AgentList, ...problemResponses(400, 401, 403, 422) },
        },
      },
      async (request, reply) => {
        const page = await agents.listAgents(request.params.gpt_id, request.query)
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { agents: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.get(
      '/v1/agents/:id',
      {
        // An agent's own key may read its own record.
        config: { agentKeys: true },
        schema: { ...common, operationId: 'getAgent', summary: 'Read an agent', params: AgentParams, response: { 200: Agent, ...problemResponses(401, 403, 404, 422) } },
      },
      async (request) => {
        const principal = keyPrincipal(request)
        if (principal.agentId !== null && principal.agentId !== request.params.id) throw ERR.forbidden('This key is bound to another agent.')
        return agents.getAgent(principal.gptId, request.params.id)
      },
    )

    app.patch(
      '/v1/agents/:id',
      {
        schema: {
          ...common,
          operationId: 'updateAgent',
          summary: 'Change an agent (metadata merges by key)',
          params: AgentParams,
          body: PatchAgentBody,
          response: { 200: Agent, ...problemResponses(401, 403, 404, 409, 422) },
        },
      },
      async (request) => agents.updateAgent(keyPrincipal(request).gptId, request.params.id, request.body),
    )

    app.delete(
      '/v1/agents/:id',
      {
        schema: {
          ...common,
          operationId: 'deleteAgent',
          summary: 'Delete an agent, the mail it sent and its inbox',
          params: AgentParams,
          response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await agents.deleteAgent(keyPrincipal(request).gptId, request.params.id)
        return reply.code(204).send(null)
      },
    )
  }
}

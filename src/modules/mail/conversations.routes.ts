import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import {
  Conversation,
  ConversationList,
  ConversationParams,
  CreateConversationBody,
  listConversationsQuery,
  PatchConversationBody,
} from './conversations.schemas.js'
import type { ConversationsService } from './conversations.service.js'
import { ConversationDetails } from './mail.schemas.js'
import type { MailService } from './mail.service.js'

interface Deps {
  conversations: ConversationsService
  mail: MailService
  publicUrl: string
  maxPageSize: number
}

export function conversationRoutes({ conversations, mail, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['conversations'], security: BEARER_SECURITY }

    app.post(
      '/v1/gpts/:gpt_id/conversations',
      {
        schema: {
          ...common,
          operationId: 'createConversation',
          summary: 'Start a conversation',
          params: GptParams,
          body: CreateConversationBody,
          response: { 201: Conversation, ...problemResponses(401, 403, 422) },
        },
      },
      async (request, reply) => {
        const conversation = await conversations.createConversation(request.params.gpt_id, request.body)
        return reply.code(201).header('location', `/v1/conversations/${conversation.id}`).send(conversation)
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/conversations',
      {
        config: { agentKeys: true },
        schema: {
          ...common,
          operationId: 'listConversations',
          summary: 'List conversations, newest first (an agent key sees those it takes part in)',
          params: GptParams,
          querystring: Type.Object(listConversationsQuery(pageQuerySchema({ maxPageSize })), { additionalProperties: false }),
          response: { 200: ConversationList, ...problemResponses(400, 401, 403, 422) },
        },
      },
      async (request, reply) => {
        const page = await conversations.listConversations(keyPrincipal(request), request.query)
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { conversations: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.get(
      '/v1/conversations/:id',
      {
        config: { agentKeys: true },
        schema: { ...common, operationId: 'getConversation', summary: 'Read a conversation', params: ConversationParams, response: { 200: Conversation, ...problemResponses(401, 403, 404, 422) } },
      },
      async (request) => {
        const principal = keyPrincipal(request)
        await mail.assertConversationAccess(principal, request.params.id)
        return conversations.getConversation(principal.gptId, request.params.id)
      },
    )

    app.patch(
      '/v1/conversations/:id',
      {
        schema: {
          ...common,
          operationId: 'updateConversation',
          summary: 'Change a conversation (metadata merges by key)',
          params: ConversationParams,
          body: PatchConversationBody,
          response: { 200: Conversation, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => conversations.updateConversation(keyPrincipal(request).gptId, request.params.id, request.body),
    )

    app.delete(
      '/v1/conversations/:id',
      {
        schema: {
          ...common,
          operationId: 'deleteConversation',
          summary: 'Delete a conversation and its mail',
          params: ConversationParams,
          response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await conversations.deleteConversation(keyPrincipal(request).gptId, request.params.id)
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/v1/conversations/:id/details',
      {
        config: { agentKeys: true },
        schema: {
          ...common,
          operationId: 'getConversationDetails',
          summary: 'A conversation with its mail, the agents taking part and unread counts',
          params: ConversationParams,
          response: { 200: ConversationDetails, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => mail.conversationDetails(keyPrincipal(request), request.params.id),
    )
  }
}

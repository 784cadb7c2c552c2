import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { endUserOf } from '../../platform/auth/principal.js'
import { offsetQuerySchema, pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { createMessageBody, Message, MessageList, MessageParams, MessageWriteHeaders, patchMessageBody } from './messages.schemas.js'
import type { MessagesService } from './messages.service.js'
import { SessionParams } from './sessions.schemas.js'

interface Deps {
  messages: MessagesService
  publicUrl: string
  maxPageSize: number
  maxMessageChars: number
}

export function messageRoutes({ messages, publicUrl, maxPageSize, maxMessageChars }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['messages'], security: BEARER_SECURITY }
    const limits = { maxMessageChars }

    app.post(
      '/v1/sessions/:id/messages',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'createMessage',
          summary: 'Add a message to a session',
          description:
            'A user, system or tool message is complete and needs content. An AI message may be stored pending or in_progress ' +
            '(empty content, partial_content so far) and moved on with PATCH /v1/messages/{id}. Marks activity on the session.',
          params: SessionParams,
          headers: MessageWriteHeaders,
          body: createMessageBody(limits),
          response: { 201: Message, ...problemResponses(401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const { message, replayed } = await messages.createMessage(
          keyPrincipal(request).gptId,
          request.params.id,
          request.body,
          request.headers['idempotency-key'] ?? null,
          endUserOf(request.principal),
        )
        if (replayed) reply.header('idempotent-replayed', 'true')
        return reply.code(201).header('location', `/v1/messages/${message.id}`).send(message)
      },
    )

    app.get(
      '/v1/sessions/:id/messages',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'listMessages',
          summary: 'List the messages of a session, oldest first',
          params: SessionParams,
          querystring: Type.Object({ ...pageQuerySchema({ maxPageSize }), ...offsetQuerySchema() }, { additionalProperties: false }),
          response: { 200: MessageList, ...problemResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const page = await messages.listMessages(keyPrincipal(request).gptId, request.params.id, request.query, endUserOf(request.principal))
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { messages: page.items, next_cursor: page.nextCursor, has_more: page.hasMore, total: page.total }
      },
    )

    app.get(
      '/v1/messages/:id',
      {
        config: { endUsers: true },
        schema: { ...common, operationId: 'getMessage', summary: 'Read a message', params: MessageParams, response: { 200: Message, ...problemResponses(401, 403, 404, 422) } },
      },
      async (request) => messages.getMessage(keyPrincipal(request).gptId, request.params.id, endUserOf(request.principal)),
    )

    app.patch(
      '/v1/messages/:id',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'updateMessage',
          summary: 'Move an AI message on (status, partial content, error) or change the context of a message',
          description:
            'Status changes: pending→in_progress|failed, in_progress→in_progress|complete|failed, failed→in_progress; keeping pending or ' +
            'in_progress is allowed, anything else is 409, and a complete message cannot change at all (409). Completing without `content` ' +
            'takes `partial_content` as the content. `error_message` only with status failed; leaving failed clears it. Messages from user, ' +
            'system or tool are history: only their `context` can change.',
          params: MessageParams,
          body: patchMessageBody(limits),
          response: { 200: Message, ...problemResponses(401, 403, 404, 409, 422) },
        },
      },
      async (request) => messages.updateMessage(keyPrincipal(request).gptId, request.params.id, request.body, endUserOf(request.principal)),
    )
  }
}

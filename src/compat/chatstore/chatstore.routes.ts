import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { AppError, ERR, ErrorCode } from '../../platform/errors.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import type { GenerationService } from '../../modules/chat/generation.service.js'
import type { MessagesService } from '../../modules/chat/messages.service.js'
import type { SessionsService } from '../../modules/chat/sessions.service.js'
import { ChatStoreMessage, ChatStoreSession, sendChatStoreError, toChatStoreMessage, toChatStoreSession } from './chatstore.shapes.js'

interface Deps {
  sessions: SessionsService
  messages: MessagesService
  generation: GenerationService
  maxMessageChars: number
}

const BASE = '/api/v1/sessions'
const Uuid = Type.String({ format: 'uuid' })
const SessionPath = Type.Object({ session_id: Uuid })
const MessagePath = Type.Object({ session_id: Uuid, message_id: Uuid })
/** The chat store's offset paging: skip ≥ 0, limit 1–1000 (default 100). */
const Window = {
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
}
const DEFAULT_NAME = 'New Chat'
const Resumed = Type.Object({ message_id: Uuid, status: Type.String() })

const gptOf = (request: FastifyRequest) => keyPrincipal(request).gptId
/** Its user ids were UUIDs, equal in any letter case: stored in one. */
const canonicalUuid = (id: string) => id.toLowerCase()

/**
 * The RAG chat store's own API (/api/v1/sessions…) on the house's sessions, messages and generation:
 * routes translate its shapes, statuses and error texts; every rule stays in the house services.
 */
export function chatStoreRoutes({ sessions, messages, generation, maxMessageChars }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    app.setErrorHandler(sendChatStoreError)
    const common = { tags: ['chat store (compat)'], security: BEARER_SECURITY }

    // Where its FastAPI app served its OpenAPI document: the service's own, which lists these routes.
    app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => instance.swagger())

    /** Its session routes said "Session not found"; its message routes named the id. */
    const sessionOr404 = async (gptId: string, id: string, detail = 'Session not found') => {
      const session = await sessions.findSession(gptId, id)
      if (!session) throw ERR.notFoundDetail(detail)
      return session
    }

    app.post(
      BASE,
      {
        schema: {
          ...common,
          operationId: 'chatStoreCreateSession',
          summary: 'Create a chat session',
          body: Type.Object({
            user_id: Uuid,
            name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
            is_favorite: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
          }),
          response: { 201: ChatStoreSession },
        },
      },
      async (request, reply) => {
        const { user_id, name, is_favorite } = request.body
        const session = await sessions.createSession(gptOf(request), {
          user_id: canonicalUuid(user_id),
          name: name ?? DEFAULT_NAME,
          is_favorite: is_favorite ?? false,
        })
        return reply.code(201).send(toChatStoreSession(session))
      },
    )

    app.get(
      BASE,
      {
        schema: {
          ...common,
          operationId: 'chatStoreListSessions',
          summary: 'A user\'s sessions, favorites first, then by activity; skip/limit with the total',
          querystring: Type.Object({ user_id: Uuid, ...Window }),
          response: { 200: Type.Object({ sessions: Type.Array(ChatStoreSession), total: Type.Integer() }) },
        },
      },
      async (request) => {
        const { user_id, skip = 0, limit = 100 } = request.query
        const page = await sessions.listSessions(gptOf(request), { user_id: canonicalUuid(user_id), sort: 'favorites', offset: skip, limit })
        return { sessions: page.items.map(toChatStoreSession), total: page.total ?? 0 }
      },
    )

    app.put(
      `${BASE}/:session_id`,
      {
        schema: {
          ...common,
          operationId: 'chatStoreRenameSession',
          summary: 'Rename a session',
          params: SessionPath,
          body: Type.Object({
            name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
            is_favorite: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
          }),
          response: { 200: ChatStoreSession },
        },
      },
      async (request) => {
        const { name } = request.body
        if (name === undefined || name === null) throw ERR.badRequest('Name is required for update')
        // A blank name was "not found" there: the rename did not happen.
        if (name.trim() === '') throw ERR.notFoundDetail('Session not found')
        const gptId = gptOf(request)
        await sessionOr404(gptId, request.params.session_id)
        return toChatStoreSession(await sessions.updateSession(gptId, request.params.session_id, { name: name.trim() }))
      },
    )

    app.patch(
      `${BASE}/:session_id/favorite`,
      {
        schema: {
          ...common,
          operationId: 'chatStoreFavoriteSession',
          summary: 'Set the favorite flag (is_favorite=true|false), or toggle it when not given',
          params: SessionPath,
          querystring: Type.Object({ is_favorite: Type.Optional(Type.Boolean()) }),
          response: { 200: ChatStoreSession },
        },
      },
      async (request) => {
        const gptId = gptOf(request)
        const session = await sessionOr404(gptId, request.params.session_id)
        const is_favorite = request.query.is_favorite ?? !session.is_favorite
        return toChatStoreSession(await sessions.updateSession(gptId, session.id, { is_favorite }))
      },
    )

    app.delete(
      `${BASE}/:session_id`,
      { schema: { ...common, operationId: 'chatStoreDeleteSession', summary: 'Delete a session and its messages', params: SessionPath } },
      async (request, reply) => {
        const gptId = gptOf(request)
        await sessionOr404(gptId, request.params.session_id)
        await sessions.deleteSession(gptId, request.params.session_id)
        return reply.code(204).send()
      },
    )

    app.post(
      `${BASE}/:session_id/messages`,
      {
        schema: {
          ...common,
          operationId: 'chatStoreAddMessage',
          summary: 'Add a message to a session',
          params: SessionPath,
          body: Type.Object({
            sender: Type.Union([Type.Literal('user'), Type.Literal('ai')]),
            content: Type.String({ minLength: 1, maxLength: Math.min(10_000, maxMessageChars) }),
            context: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
          }),
          response: { 201: ChatStoreMessage },
        },
      },
      async (request, reply) => {
        const gptId = gptOf(request)
        const id = request.params.session_id
        await sessionOr404(gptId, id, `Session ${id} not found`)
        const { message } = await messages.createMessage(gptId, id, request.body)
        return reply.code(201).send(toChatStoreMessage(message))
      },
    )

    app.get(
      `${BASE}/:session_id/messages`,
      {
        schema: {
          ...common,
          operationId: 'chatStoreListMessages',
          summary: 'A session\'s messages, oldest first; skip/limit with the total',
          params: SessionPath,
          querystring: Type.Object(Window),
          response: { 200: Type.Object({ messages: Type.Array(ChatStoreMessage), total: Type.Integer() }) },
        },
      },
      async (request) => {
        const gptId = gptOf(request)
        const id = request.params.session_id
        await sessionOr404(gptId, id, `Session ${id} not found`)
        const { skip = 0, limit = 100 } = request.query
        const page = await messages.listMessages(gptId, id, { offset: skip, limit })
        return { messages: page.items.map(toChatStoreMessage), total: page.total ?? 0 }
      },
    )

    const messageInSession = async (gptId: string, sessionId: string, messageId: string) => {
      await sessionOr404(gptId, sessionId, `Session ${sessionId} not found`)
      const message = await messages.getMessage(gptId, messageId).catch((error: unknown) => {
        if (error instanceof AppError && error.code === ErrorCode.NotFound) return null
        throw error
      })
      if (!message || message.session_id !== sessionId) throw ERR.notFoundDetail(`Message ${messageId} not found in session ${sessionId}`)
      return message
    }

    app.get(
      `${BASE}/:session_id/messages/:message_id`,
      { schema: { ...common, operationId: 'chatStoreGetMessage', summary: 'One message of a session', params: MessagePath, response: { 200: ChatStoreMessage } } },
      async (request) => toChatStoreMessage(await messageInSession(gptOf(request), request.params.session_id, request.params.message_id)),
    )

    /** Continues the session's last AI message where it stopped (the house's resume); answers at once. */
    const resume = async (gptId: string, sessionId: string) => {
      try {
        const started = await generation.resume(gptId, sessionId, {})
        return { message_id: started.message.id, status: started.message.status }
      } catch (error) {
        if (error instanceof AppError && error.code === ErrorCode.NotFound) throw ERR.badRequest(`No messages found for session ${sessionId}`)
        if (error instanceof AppError && error.code === ErrorCode.Conflict) throw ERR.badRequest('Latest message is not in a resumable state')
        throw error
      }
    }

    app.post(
      `${BASE}/:session_id/resume`,
      { schema: { ...common, operationId: 'chatStoreResume', summary: 'Resume the failed or interrupted reply of a session', params: SessionPath, response: { 200: Resumed } } },
      async (request) => {
        const gptId = gptOf(request)
        await sessionOr404(gptId, request.params.session_id, `Session ${request.params.session_id} not found`)
        return resume(gptId, request.params.session_id)
      },
    )

    app.post(
      `${BASE}/:session_id/messages/:message_id/resume`,
      { schema: { ...common, operationId: 'chatStoreResumeMessage', summary: 'The same, named by a message of the session', params: MessagePath, response: { 200: Resumed } } },
      async (request) => {
        const gptId = gptOf(request)
        await messageInSession(gptId, request.params.session_id, request.params.message_id)
        return resume(gptId, request.params.session_id)
      },
    )
  }
}

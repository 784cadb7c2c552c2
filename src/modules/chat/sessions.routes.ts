import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { endUserOf } from '../../platform/auth/principal.js'
import { offsetQuerySchema, pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import { CreateSessionBody, listSessionsQuery, PatchSessionBody, Session, SessionList, SessionParams } from './sessions.schemas.js'
import type { SessionsService } from './sessions.service.js'

interface Deps {
  sessions: SessionsService
  publicUrl: string
  maxPageSize: number
}

export function sessionRoutes({ sessions, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['sessions'], security: BEARER_SECURITY }

    app.post(
      '/v1/gpts/:gpt_id/sessions',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'createSession',
          summary: 'Start a chat session for a user',
          params: GptParams,
          body: CreateSessionBody,
          response: { 201: Session, ...problemResponses(401, 403, 422) },
        },
      },
      async (request, reply) => {
        const session = await sessions.createSession(request.params.gpt_id, request.body, endUserOf(request.principal))
        return reply.code(201).header('location', `/v1/sessions/${session.id}`).send(session)
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/sessions',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'listSessions',
          summary: 'List chat sessions, most recently active first',
          description:
            'Sorted by `last_activity_at` (the time of the last message), then id; `order=asc` lists the least recently active first. ' +
            'Filter by `user_id`, `favorite` and `q` (a case-insensitive substring of the name). A session that gets a message while you page moves to the top. ' +
            '`sort=favorites` lists favorites first. `offset` skips that many sessions instead of a cursor, and the answer then carries `total`.',
          params: GptParams,
          querystring: Type.Object(listSessionsQuery({ ...pageQuerySchema({ maxPageSize }), ...offsetQuerySchema() }), { additionalProperties: false }),
          response: { 200: SessionList, ...problemResponses(400, 401, 403, 422) },
        },
      },
      async (request, reply) => {
        const page = await sessions.listSessions(request.params.gpt_id, request.query, endUserOf(request.principal))
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { sessions: page.items, next_cursor: page.nextCursor, has_more: page.hasMore, total: page.total }
      },
    )

    app.get(
      '/v1/sessions/:id',
      {
        config: { endUsers: true },
        schema: { ...common, operationId: 'getSession', summary: 'Read a chat session', params: SessionParams, response: { 200: Session, ...problemResponses(401, 403, 404, 422) } },
      },
      async (request) => sessions.getSession(keyPrincipal(request).gptId, request.params.id, endUserOf(request.principal)),
    )

    app.patch(
      '/v1/sessions/:id',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'updateSession',
          summary: 'Rename, favorite or re-character a session (metadata merges by key)',
          params: SessionParams,
          body: PatchSessionBody,
          response: { 200: Session, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => sessions.updateSession(keyPrincipal(request).gptId, request.params.id, request.body, endUserOf(request.principal)),
    )

    app.delete(
      '/v1/sessions/:id',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'deleteSession',
          summary: 'Delete a session and all its messages',
          params: SessionParams,
          response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await sessions.deleteSession(keyPrincipal(request).gptId, request.params.id, endUserOf(request.principal))
        return reply.code(204).send(null)
      },
    )
  }
}

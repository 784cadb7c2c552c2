import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { AppError, ErrorCode, type FieldError } from '../../platform/errors.js'
import { compatAppError } from '../fastapi-errors.js'
import type { MessageView } from '../../modules/chat/messages.schemas.js'
import type { SessionView } from '../../modules/chat/sessions.schemas.js'

const Uuid = Type.String({ format: 'uuid' })
const Time = Type.String({ format: 'date-time' })

/** The chat store's session: its own fields only. */
export const ChatStoreSession = Type.Object({
  id: Uuid,
  user_id: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  is_favorite: Type.Boolean(),
  created_at: Time,
  updated_at: Time,
})

export const ChatStoreMessage = Type.Object({
  id: Uuid,
  session_id: Uuid,
  sender: Type.String(),
  content: Type.String(),
  context: Type.Unknown(),
  status: Type.String(),
  partial_content: Type.Union([Type.String(), Type.Null()]),
  error_message: Type.Union([Type.String(), Type.Null()]),
  timestamp: Time,
  created_at: Time,
  updated_at: Time,
})

export function toChatStoreSession(session: SessionView) {
  const { id, user_id, name, is_favorite, created_at, updated_at } = session
  return { id, user_id, name, is_favorite, created_at, updated_at }
}

export function toChatStoreMessage(message: MessageView) {
  const { id, session_id, sender, content, context, status, error_message, created_at, updated_at } = message
  // The chat store had no partial text as null, and called the time a message was written its timestamp.
  return {
    id,
    session_id,
    sender,
    content,
    context: context ?? null,
    status,
    partial_content: message.partial_content === '' ? null : message.partial_content,
    error_message,
    timestamp: created_at,
    created_at,
    updated_at,
  }
}

/** A FastAPI validation item: where (`["body", "user_id"]`), what, and a short type. */
function validationItems(errors: FieldError[]) {
  return errors.map((error) => ({
    type: 'value_error',
    loc: [error.location === 'query' ? 'query' : error.location === 'params' ? 'path' : error.location ?? 'body', ...error.pointer.split('/').slice(1)],
    msg: error.message,
  }))
}

/**
 * The chat store answered errors the FastAPI way, `{"detail": …}` as application/json: a missing
 * or non-Bearer Authorization header was a 403, a wrong key a 401 "Invalid API key", invalid
 * input a 422 listing `{type, loc, msg}`, and a rate limit `{"error": …}`.
 */
export function sendChatStoreError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = compatAppError(error)
  const { headers, errors } = appError.extra
  if (appError.status >= 500) request.log.error({ err: error }, 'request failed')
  reply.type('application/json')
  switch (appError.code) {
    case ErrorCode.Unauthorized: {
      const header = request.headers.authorization
      if (header === undefined || header === '') return reply.code(403).send({ detail: 'Not authenticated' })
      if (!/^Bearer +\S+ *$/i.test(header)) return reply.code(403).send({ detail: 'Invalid authentication credentials' })
      return reply.code(401).header('www-authenticate', 'Bearer').send({ detail: 'Invalid API key' })
    }
    case ErrorCode.RateLimited:
      if (headers) reply.headers(headers)
      return reply.code(429).send({ error: appError.detail })
    case ErrorCode.ValidationFailed:
      return reply.code(422).send({ detail: validationItems(errors ?? []) })
    case ErrorCode.MalformedJson:
      return reply.code(422).send({ detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] })
    default:
      if (headers) reply.headers(headers)
      return reply.code(appError.status).send({ detail: appError.detail })
  }
}

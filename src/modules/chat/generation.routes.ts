import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { endUserOf } from '../../platform/auth/principal.js'
import { ERR } from '../../platform/errors.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { finishedMessage } from './generation.finish.js'
import type { GenerationCanceller } from './generation.cancel.js'
import type { GenerationService, Started } from './generation.service.js'
import type { GenerationStreams } from './generation.stream.js'
import { Message, MessageParams, MessageWriteHeaders } from './messages.schemas.js'
import { SessionParams } from './sessions.schemas.js'

interface Deps {
  generation: GenerationService
  canceller: GenerationCanceller
  streams: GenerationStreams
  maxMessageChars: number
}

const Uuid = (description: string) => Type.String({ format: 'uuid', description })
const Model = Type.String({ minLength: 1, maxLength: 200, description: 'Overrides the character\'s (or the service\'s) model.' })
const Stream = Type.Boolean({ description: 'Answer with Server-Sent Events (as `Accept: text/event-stream` does).' })

const GenerateBody = Type.Object(
  { character_id: Type.Optional(Uuid('The character whose system prompt and settings to use (default: the session\'s).')), model: Type.Optional(Model), stream: Type.Optional(Stream) },
  { additionalProperties: false },
)

const SSE_DESCRIPTION =
  'With `Accept: text/event-stream` or `stream: true`: Server-Sent Events `message` (the AI message), `delta` ({offset, text}), then `done` (the final message), `cancelled` (the message, stopped by POST /v1/messages/{id}/cancel) or `error` ({error, message}). The generation goes on if the client disconnects; `GET /v1/messages/{id}/stream?offset=N` reattaches.'

function wantsStream(request: FastifyRequest, body: { stream?: boolean }): boolean {
  if (body.stream !== undefined) return body.stream
  return (request.headers.accept ?? '').includes('text/event-stream')
}

export function generationRoutes({ generation, canceller, streams, maxMessageChars }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['chat'], security: BEARER_SECURITY }
    const follow = (request: FastifyRequest, reply: FastifyReply, gptId: string, started: Started) =>
      streams.follow(request, reply, gptId, started.message.id, started.offset, () => generation.liveMessage(started.message.id))

    app.post(
      '/v1/sessions/:id/generate',
      {
        config: { optionalBody: true, endUsers: true },
        schema: {
          ...common,
          operationId: 'generateReply',
          summary: 'Generate the next AI message of a session through the LLM',
          description: `201 with the finished message, or ${SSE_DESCRIPTION} 409 while another generation runs for the session; 502 when the provider fails (the partial text is kept).`,
          params: SessionParams,
          body: GenerateBody,
          response: { 201: Message, ...problemResponses(401, 403, 404, 409, 422, 502) },
        },
      },
      async (request, reply) => {
        const gptId = keyPrincipal(request).gptId
        const started = await generation.generate(gptId, request.params.id, request.body, endUserOf(request.principal))
        if (wantsStream(request, request.body)) return follow(request, reply, gptId, started)
        const message = await finishedMessage(started, request.params.id)
        return reply.code(201).header('location', `/v1/messages/${message.id}`).send(message)
      },
    )

    app.post(
      '/v1/sessions/:id/resume',
      {
        config: { optionalBody: true, endUsers: true },
        schema: {
          ...common,
          operationId: 'resumeReply',
          summary: 'Continue the last AI message of a session (pending or failed) from the text it kept',
          description: `The model continues the stored partial text; the final content is that text plus the continuation. 200 with the finished message, or ${SSE_DESCRIPTION} Deltas start at the end of the kept text. 404 when the session has no AI message, 409 when it is complete or a generation is running.`,
          params: SessionParams,
          body: GenerateBody,
          response: { 200: Message, ...problemResponses(401, 403, 404, 409, 422, 502) },
        },
      },
      async (request, reply) => {
        const gptId = keyPrincipal(request).gptId
        const started = await generation.resume(gptId, request.params.id, request.body, endUserOf(request.principal))
        if (wantsStream(request, request.body)) return follow(request, reply, gptId, started)
        return reply.send(await finishedMessage(started, request.params.id))
      },
    )

    app.get(
      '/v1/messages/:id/stream',
      {
        // Reading a stream is a read.
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'streamMessage',
          summary: 'Reattach to an AI message: replay its text after `offset`, then follow it live until it ends',
          description: 'Server-Sent Events as for generate. `offset` (or the Last-Event-ID header, which each delta\'s id sets) is the character offset to start from.',
          params: MessageParams,
          querystring: Type.Object(
            { offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'Character offset in the reply (default 0).' })) },
            { additionalProperties: false },
          ),
          headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 20, pattern: '^[0-9]*$' })) }),
          produces: ['text/event-stream'],
          response: { ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const gptId = keyPrincipal(request).gptId
        const message = await generation.currentMessage(gptId, request.params.id, endUserOf(request.principal))
        if (!message) throw ERR.notFound('Message', request.params.id)
        const lastEventId = request.headers['last-event-id']
        const offset = request.query.offset ?? (lastEventId ? Number(lastEventId) : 0)
        return streams.follow(request, reply, gptId, message.id, offset)
      },
    )

    app.post(
      '/v1/messages/:id/cancel',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'cancelMessage',
          summary: 'Stop the generation of an AI message, keeping the text so far',
          description:
            'Stops the generation on whichever process runs it and stores the message `cancelled` with the text so far in `partial_content`; ' +
            'followers of its stream get a final `cancelled` event. `POST /v1/sessions/{id}/resume` continues it later. Cancelling a cancelled ' +
            'message answers 200 with it again (a retry is safe); a complete or failed message (or one not from the AI) is 409.',
          params: MessageParams,
          response: { 200: Message, ...problemResponses(401, 403, 404, 409, 422) },
        },
      },
      async (request) => canceller.cancel(keyPrincipal(request).gptId, request.params.id, endUserOf(request.principal)),
    )

    app.post(
      '/v1/chat',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'chat',
          summary: 'Chat with a character: store the user message and generate the reply (a new session when none is given)',
          description: `201 with {session_id, message}, or ${SSE_DESCRIPTION} A character with memory enabled recalls the top memories of the user for the message and records them in the reply's context. With an \`Idempotency-Key\`, a retry stores nothing again (Idempotent-Replayed: true): it answers the reply the first request began, continuing it when it never started or broke off.`,
          headers: MessageWriteHeaders,
          body: Type.Object(
            {
              character_id: Uuid('The character to chat with.'),
              session_id: Type.Optional(Uuid('Continue this session; without it a new session is made (then user_id is required).')),
              user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'The end user of a new session.' })),
              content: Type.String({ minLength: 1, maxLength: maxMessageChars, description: `The user's message (at most ${maxMessageChars} characters).` }),
              context: Type.Optional(Type.Unknown({ description: 'RAG context of this turn (any JSON), stored on the user message and given to the model.' })),
              model: Type.Optional(Model),
              stream: Type.Optional(Stream),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ session_id: Type.String({ format: 'uuid' }), message: Message }),
            ...problemResponses(401, 403, 409, 422, 502),
          },
        },
      },
      async (request, reply) => {
        const gptId = keyPrincipal(request).gptId
        const started = await generation.chat(gptId, request.body, endUserOf(request.principal), request.headers['idempotency-key'] ?? null)
        if (started.replayed) reply.header('idempotent-replayed', 'true')
        if (wantsStream(request, request.body)) return follow(request, reply, gptId, started)
        const message = await finishedMessage(started, started.sessionId)
        return reply.code(201).header('location', `/v1/messages/${message.id}`).send({ session_id: started.sessionId, message })
      },
    )
  }
}

import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import type { JsonValue } from '../../platform/db/tables.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { AgentParams } from '../agents/agents.schemas.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import {
  addRecipientsBody,
  editMailBody,
  InboxList,
  Mail,
  MailParams,
  MarkReadBody,
  MetadataEntryParams,
  MetadataEntryWithMail,
  MetadataParams,
  PatchMetadataEntryBody,
  PutMetadataBody,
  sendMailBody,
} from './mail.schemas.js'
import type { MailService } from './mail.service.js'
import type { InboxStreams } from './mail.stream.js'

interface Deps {
  mail: MailService
  streams: InboxStreams
  publicUrl: string
  maxPageSize: number
  maxRecipients: number
  maxMailChars: number
}

export function mailRoutes({ mail, streams, publicUrl, maxPageSize, maxRecipients, maxMailChars }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['mail'], security: BEARER_SECURITY }
    const config = { agentKeys: true }
    // Open inbox streams would otherwise hold the server's close until the shutdown timeout.
    app.addHook('preClose', async () => streams.closeAll())

    app.post(
      '/v1/gpts/:gpt_id/mail',
      {
        config,
        schema: {
          ...common,
          operationId: 'sendMail',
          summary: 'Send mail from one agent to others',
          params: GptParams,
          body: sendMailBody({ maxRecipients, maxMailChars }),
          response: { 201: Mail, ...problemResponses(401, 403, 422) },
        },
      },
      async (request, reply) => {
        const sent = await mail.sendMail(keyPrincipal(request), request.body)
        return reply.code(201).header('location', `/v1/mail/${sent.id}`).send(sent)
      },
    )

    app.get(
      '/v1/mail/:id',
      {
        config,
        schema: { ...common, operationId: 'getMail', summary: 'Read a mail (sender and recipients only)', params: MailParams, response: { 200: Mail, ...problemResponses(401, 403, 404, 422) } },
      },
      async (request) => mail.getMail(keyPrincipal(request), request.params.id),
    )

    app.patch(
      '/v1/mail/:id',
      {
        config,
        schema: {
          ...common,
          operationId: 'editMail',
          summary: 'Edit a mail (its sender only); recipients see the change and edited_at',
          params: MailParams,
          body: editMailBody({ maxMailChars }),
          response: { 200: Mail, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => mail.editMail(keyPrincipal(request), request.params.id, request.body),
    )

    app.post(
      '/v1/mail/:id/recipients',
      {
        config,
        schema: {
          ...common,
          operationId: 'addMailRecipients',
          summary: 'Add recipients to a sent mail (its sender only); it reaches their inboxes now',
          params: MailParams,
          body: addRecipientsBody({ maxRecipients }),
          response: { 200: Mail, ...problemResponses(401, 403, 404, 409, 422) },
        },
      },
      async (request) => mail.addRecipients(keyPrincipal(request), request.params.id, request.body.to),
    )

    app.get(
      '/v1/mail-metadata/:id',
      {
        config,
        schema: {
          ...common,
          operationId: 'getMailMetadataEntry',
          summary: 'A metadata entry of a mail, by its id (participants only)',
          params: MetadataEntryParams,
          response: { 200: MetadataEntryWithMail, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => mail.getMetadataEntry(keyPrincipal(request), request.params.id),
    )

    app.patch(
      '/v1/mail-metadata/:id',
      {
        config,
        schema: {
          ...common,
          operationId: 'patchMailMetadataEntry',
          summary: 'Change the key or value of a metadata entry, by its id (participants only)',
          params: MetadataEntryParams,
          body: PatchMetadataEntryBody,
          response: { 200: MetadataEntryWithMail, ...problemResponses(401, 403, 404, 409, 422) },
        },
      },
      async (request) => mail.patchMetadataEntry(keyPrincipal(request), request.params.id, request.body as { key?: string; value?: JsonValue }),
    )

    app.put(
      '/v1/mail/:id/metadata/:key',
      {
        config,
        schema: {
          ...common,
          operationId: 'putMailMetadata',
          summary: 'Set a key/value note on a mail (participants only)',
          params: MetadataParams,
          body: PutMetadataBody,
          response: { 200: Type.Object({}, { additionalProperties: true }), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => mail.putMetadata(keyPrincipal(request), request.params.id, request.params.key, request.body.value as JsonValue),
    )

    app.get(
      '/v1/agents/:id/inbox',
      {
        config,
        schema: {
          ...common,
          operationId: 'getInbox',
          summary: "An agent's mail, newest first",
          params: AgentParams,
          querystring: Type.Object(
            {
              ...pageQuerySchema({ maxPageSize }),
              unread: Type.Optional(Type.Boolean({ description: 'Only unread received mail.' })),
              include: Type.Optional(Type.Literal('sent', { description: '`sent`: sent mail too.' })),
              conversation_id: Type.Optional(Type.String({ format: 'uuid' })),
              min_importance: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: InboxList, ...problemResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const page = await mail.inbox(keyPrincipal(request), request.params.id, request.query)
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { mail: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.post(
      '/v1/agents/:id/inbox/read',
      {
        config,
        schema: {
          ...common,
          operationId: 'markInboxRead',
          summary: 'Mark received mail read, up to a time or by ids',
          params: AgentParams,
          body: MarkReadBody,
          response: { 200: Type.Object({ updated_count: Type.Integer() }), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => mail.markRead(keyPrincipal(request), request.params.id, request.body),
    )

    app.get(
      '/v1/agents/:id/inbox/stream',
      {
        config,
        schema: {
          ...common,
          operationId: 'streamInbox',
          summary: 'Live inbox (Server-Sent Events); Last-Event-ID replays what was missed',
          params: AgentParams,
          headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 1024 })) }),
          produces: ['text/event-stream'],
          response: { ...problemResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const principal = keyPrincipal(request)
        const after = streams.replayPosition(request.headers['last-event-id'])
        await mail.inbox(principal, request.params.id, { limit: 1 })
        await streams.stream(request, reply, principal.gptId, request.params.id, after)
      },
    )
  }
}

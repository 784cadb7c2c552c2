import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import type { JsonObject } from '../../platform/db/tables.js'
import { AppError, ERR, ErrorCode } from '../../platform/errors.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { Address } from '../../modules/agents/agents.schemas.js'
import type { AgentsService } from '../../modules/agents/agents.service.js'
import { MetadataParams } from '../../modules/mail/mail.schemas.js'
import type { MailService } from '../../modules/mail/mail.service.js'
import { demoAgent, demoMessage, demoMetadata, demoRecipient, NAME_KEY, agentMailSurface, translate, type OpenGpt } from './agentmail.shapes.js'

export interface AgentMailDeps {
  agents: AgentsService
  mail: MailService
  maxMailChars: number
  openGpt: OpenGpt | null
}

const Uuid = Type.String({ format: 'uuid' })
const Nullable = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]))
const AgentFields = {
  ip_address: Nullable(Address),
  port: Nullable(Type.Integer({ minimum: 1, maximum: 65535 })),
}
const MessageFields = {
  message_type: Nullable(Type.String({ minLength: 1, maxLength: 64 })),
  importance: Nullable(Type.Integer({ minimum: 0, maximum: 10 })),
  status: Nullable(Type.String({ maxLength: 64 })),
  msg_metadata: Nullable(Type.Object({}, { additionalProperties: true })),
}
const MetadataValue = Nullable(Type.String({ maxLength: 10_000 }))
const MetadataKey = MetadataParams.properties.key

/** The demo's names may repeat; the house name is made unique with a short random suffix. */
const houseName = (agentName: string) => `${agentName.slice(0, 190)} #${randomBytes(3).toString('hex')}`
const gptOf = (request: FastifyRequest) => keyPrincipal(request).gptId
const without = <T extends object>(value: T) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null))

/**
 * The agent-messaging demo's writes (agents, messages, recipients, metadata) on the house's agents
 * and mail: the routes rename fields and statuses; the rules stay in the house services.
 */
export function agentMailRoutes({ agents, mail, maxMailChars, openGpt }: AgentMailDeps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    agentMailSurface(instance, openGpt)
    const common = { tags: ['agent messaging (compat)'], security: BEARER_SECURITY }
    const agentNotFound = translate(ErrorCode.NotFound, () => ERR.notFoundDetail('Agent not found'))
    const messageNotFound = translate(ErrorCode.NotFound, () => ERR.notFoundDetail('Message not found'))
    // The demo answered a reference to something missing, and a duplicate, with 409.
    const asConflict = (detail: string) => (error: unknown): never => {
      if (error instanceof AppError && [ErrorCode.NotFound, ErrorCode.ValidationFailed, ErrorCode.Conflict].includes(error.code)) throw ERR.conflict(detail)
      throw error
    }

    app.post(
      '/agents',
      {
        schema: {
          ...common,
          operationId: 'agentMailCreateAgent',
          summary: 'Create an agent',
          body: Type.Object({ agent_name: Type.String({ minLength: 1, maxLength: 190 }), ...AgentFields }),
        },
      },
      async (request, reply) => {
        const { agent_name, ip_address, port } = request.body
        const agent = await agents.createAgent(gptOf(request), { name: houseName(agent_name), address: ip_address ?? null, port: port ?? null, metadata: { [NAME_KEY]: agent_name } })
        return reply.code(201).send(demoAgent(agent))
      },
    )

    app.put(
      '/agents/:agent_id',
      {
        schema: {
          ...common,
          operationId: 'agentMailUpdateAgent',
          summary: 'Update an agent (the fields given)',
          params: Type.Object({ agent_id: Uuid }),
          body: Type.Object({ agent_name: Nullable(Type.String({ minLength: 1, maxLength: 190 })), ...AgentFields }),
        },
      },
      async (request) => {
        const gptId = gptOf(request)
        const current = await agents.getAgent(gptId, request.params.agent_id).catch(agentNotFound)
        const { agent_name, ip_address, port } = request.body
        const renamed = agent_name ? { name: houseName(agent_name), metadata: { ...current.metadata, [NAME_KEY]: agent_name } as JsonObject } : {}
        const change = { ...renamed, ...without({ address: ip_address, port }) }
        if (Object.keys(change).length === 0) return demoAgent(current)
        return demoAgent(await agents.updateAgent(gptId, current.id, change).catch(agentNotFound))
      },
    )

    app.post(
      '/messages',
      {
        schema: {
          ...common,
          operationId: 'agentMailCreateMessage',
          summary: 'Create a message from a sender (recipients are added with POST /message_recipients)',
          body: Type.Object({
            content: Type.String({ minLength: 1, maxLength: maxMailChars }),
            sender_id: Uuid,
            parent_message_id: Nullable(Uuid),
            conversation_id: Nullable(Uuid),
            ...MessageFields,
          }),
        },
      },
      async (request, reply) => {
        const { content, sender_id, parent_message_id, conversation_id, message_type, importance, msg_metadata } = request.body
        const sent = await mail
          .sendMail(keyPrincipal(request), {
            from: sender_id,
            to: [],
            content,
            ...without({ type: message_type, importance, metadata: msg_metadata, parent_id: parent_message_id, conversation_id }),
          })
          .catch(asConflict('Message creation failed: the sender, parent message or conversation does not exist'))
        return reply.code(201).send(demoMessage(sent))
      },
    )

    app.put(
      '/messages/:message_id',
      {
        schema: {
          ...common,
          operationId: 'agentMailUpdateMessage',
          summary: 'Edit a message (content, type, importance, metadata)',
          params: Type.Object({ message_id: Uuid }),
          body: Type.Object({ content: Nullable(Type.String({ minLength: 1, maxLength: maxMailChars })), ...MessageFields }),
        },
      },
      async (request) => {
        const principal = keyPrincipal(request)
        const { content, message_type, importance, msg_metadata } = request.body
        const change = without({ content, type: message_type, importance, metadata: msg_metadata })
        if (Object.keys(change).length === 0) return demoMessage(await mail.getMail(principal, request.params.message_id).catch(messageNotFound))
        return demoMessage(await mail.editMail(principal, request.params.message_id, change).catch(messageNotFound))
      },
    )

    app.post(
      '/message_recipients',
      {
        schema: {
          ...common,
          operationId: 'agentMailAddRecipient',
          summary: 'Deliver a message to one more recipient',
          body: Type.Object({ message_id: Uuid, recipient_id: Uuid, is_read: Nullable(Type.Boolean()), read_at: Nullable(Type.String({ maxLength: 64 })) }),
        },
      },
      async (request, reply) => {
        const principal = keyPrincipal(request)
        const { message_id, recipient_id, is_read } = request.body
        let sent = await mail
          .addRecipients(principal, message_id, [recipient_id])
          .catch(asConflict('Recipient relationship already exists, or the message or agent does not exist'))
        if (is_read === true) {
          await mail.markRead(principal, recipient_id, { ids: [message_id] })
          sent = await mail.getMail(principal, message_id)
        }
        return reply.code(201).send(demoRecipient(sent, recipient_id))
      },
    )

    app.put(
      '/message_recipients/:message_id/:recipient_id',
      {
        schema: {
          ...common,
          operationId: 'agentMailUpdateRecipient',
          summary: 'Mark a delivered message read for its recipient',
          params: Type.Object({ message_id: Uuid, recipient_id: Uuid }),
          body: Type.Object({ is_read: Nullable(Type.Boolean()), read_at: Nullable(Type.String({ maxLength: 64 })) }),
        },
      },
      async (request) => {
        const principal = keyPrincipal(request)
        const { message_id, recipient_id } = request.params
        const notFound = translate(ErrorCode.NotFound, () => ERR.notFoundDetail('Message recipient relationship not found'))
        const current = demoRecipient(await mail.getMail(principal, message_id).catch(notFound), recipient_id)
        // The house keeps read state one way: read stays read.
        if (request.body.is_read === false && current.is_read) throw ERR.badRequest('A read message cannot be marked unread')
        if (request.body.is_read !== true || current.is_read) return current
        await mail.markRead(principal, recipient_id, { ids: [message_id] })
        return demoRecipient(await mail.getMail(principal, message_id), recipient_id)
      },
    )

    app.post(
      '/agent_message_metadata',
      {
        schema: {
          ...common,
          operationId: 'agentMailAddMetadata',
          summary: 'Set a key/value note on a message (one value per key)',
          body: Type.Object({ message_id: Uuid, key: MetadataKey, value: MetadataValue }),
        },
      },
      async (request, reply) => {
        const { message_id, key, value } = request.body
        const entry = await mail
          .putMetadata(keyPrincipal(request), message_id, key, value ?? null)
          .catch(asConflict('Metadata creation failed: the message does not exist'))
        return reply.code(201).send(demoMetadata(entry, message_id))
      },
    )

    app.put(
      '/agent_message_metadata/:metadata_id',
      {
        schema: {
          ...common,
          operationId: 'agentMailUpdateMetadata',
          summary: 'Change a metadata entry by its id',
          params: Type.Object({ metadata_id: Uuid }),
          body: Type.Object({ key: Nullable(MetadataKey), value: MetadataValue }),
        },
      },
      async (request) => {
        const principal = keyPrincipal(request)
        const notFound = translate(ErrorCode.NotFound, () => ERR.notFoundDetail('Agent message metadata not found'))
        const change = without({ key: request.body.key, value: request.body.value })
        const entry =
          Object.keys(change).length === 0
            ? await mail.getMetadataEntry(principal, request.params.metadata_id).catch(notFound)
            : await mail.patchMetadataEntry(principal, request.params.metadata_id, change).catch(notFound)
        return demoMetadata(entry, entry.mail_id)
      },
    )
  }
}

import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import type { JsonObject } from '../../platform/db/tables.js'
import { ERR, ErrorCode } from '../../platform/errors.js'
import type { Page } from '../../platform/http/pagination.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import type { AgentsService } from '../../modules/agents/agents.service.js'
import type { ConversationsService } from '../../modules/mail/conversations.service.js'
import type { MailService } from '../../modules/mail/mail.service.js'
import { demoAgent, demoConversation, demoInboxItem, demoMessage, demoMetadata, agentMailSurface, translate, type OpenGpt } from './agentmail.shapes.js'

interface Deps {
  agents: AgentsService
  mail: MailService
  conversations: ConversationsService
  maxPageSize: number
  openGpt: OpenGpt | null
}

const Uuid = Type.String({ format: 'uuid' })
const AgentPath = Type.Object({ agent_id: Uuid })
const ConversationPath = Type.Object({ conversation_id: Uuid })
/** The demo answered whole lists; the house pages them. Read up to this many, page by page. */
const MAX_LISTED = 1000
/** Its times had no zone when written by Python's datetime.now(): read as UTC. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i

async function everything<T>(read: (cursor: string | undefined, limit: number) => Promise<Page<T>>, pageSize: number): Promise<T[]> {
  const items: T[] = []
  let cursor: string | undefined
  do {
    const page = await read(cursor, pageSize)
    items.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined && items.length < MAX_LISTED)
  return items.slice(0, MAX_LISTED)
}

/** The demo's reads: an agent's received messages, metadata with access control, read marks and conversations. */
export function agentMailReadRoutes({ agents, mail, conversations, maxPageSize, openGpt }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    agentMailSurface(instance, openGpt)
    const common = { tags: ['agent messaging (compat)'], security: BEARER_SECURITY }
    const agentNotFound = translate(ErrorCode.NotFound, () => ERR.notFoundDetail('Agent not found'))
    const conversationNotFound = translate(ErrorCode.NotFound, () => ERR.notFoundDetail('Conversation not found'))
    const pageSize = Math.min(200, maxPageSize)

    const received = (unread: boolean) => async (request: { params: { agent_id: string } } & Parameters<typeof keyPrincipal>[0]) => {
      const principal = keyPrincipal(request)
      const items = await everything((cursor, limit) => mail.inbox(principal, request.params.agent_id, { cursor, limit, unread }), pageSize).catch(agentNotFound)
      // The house orders an inbox by arrival; the demo listed by the time a message was written.
      return items.map(demoInboxItem).sort((a, b) => b.sent_at.localeCompare(a.sent_at) || b.id.localeCompare(a.id))
    }
    const listing = { ...common, params: AgentPath }
    app.get('/agents/:agent_id/messages', { schema: { ...listing, operationId: 'agentMailReceived', summary: "An agent's received messages, newest first" } }, received(false))
    app.get('/agents/:agent_id/messages/unread', { schema: { ...listing, operationId: 'agentMailUnread', summary: "An agent's unread messages, newest first" } }, received(true))

    app.get(
      '/messages/:message_id/metadata/:agent_id',
      {
        schema: {
          ...common,
          operationId: 'agentMailMessageMetadata',
          summary: 'A message with its metadata, for an agent that sent or received it',
          params: Type.Object({ message_id: Uuid, agent_id: Uuid }),
        },
      },
      async (request) => {
        const principal = keyPrincipal(request)
        const { message_id, agent_id } = request.params
        const agent = await agents.getAgent(principal.gptId, agent_id).catch(agentNotFound)
        await mail.getMail(principal, message_id).catch(translate(ErrorCode.NotFound, () => ERR.notFoundDetail('Message not found')))
        // Read as that agent, so that the house's party rule decides.
        const asAgent = { ...principal, agentId: agent_id } as typeof principal
        const seen = await mail
          .getMail(asAgent, message_id)
          .catch(translate(ErrorCode.Forbidden, () => ERR.forbidden('Agent does not have access to this message')))
        return {
          message_id,
          message: demoMessage(seen),
          agent: demoAgent(agent),
          metadata_items: seen.metadata_entries.map((entry) => demoMetadata(entry, message_id)),
        }
      },
    )

    app.put(
      '/agents/:agent_id/messages/mark-read',
      {
        schema: {
          ...common,
          operationId: 'agentMailMarkRead',
          summary: "Mark an agent's received messages read up to a time",
          params: AgentPath,
          body: Type.Object({ read_up_to_date: Type.String({ pattern: DATE_TIME.source, maxLength: 64 }) }),
        },
      },
      async (request) => {
        const given = request.body.read_up_to_date
        const upTo = new Date(/(Z|[+-]\d{2}:?\d{2})$/i.test(given) ? given : `${given}Z`)
        if (Number.isNaN(upTo.getTime())) throw ERR.validation('Invalid date', [{ pointer: '/read_up_to_date', message: 'is not a date and time', location: 'body' }])
        const id = request.params.agent_id
        const { updated_count } = await mail.markRead(keyPrincipal(request), id, { up_to: upTo.toISOString() }).catch(agentNotFound)
        return { updated_count, message: `Marked ${updated_count} messages as read for agent ${id}` }
      },
    )

    const ConversationFields = {
      description: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
      archived: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
      metadata: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
    }
    const Title = Type.String({ minLength: 1, maxLength: 500 })

    app.post(
      '/conversations',
      { schema: { ...common, operationId: 'agentMailCreateConversation', summary: 'Create a conversation', body: Type.Object({ title: Title, ...ConversationFields }) } },
      async (request, reply) => {
        const { title, description, archived, metadata } = request.body
        const input = { title, description: description ?? null, archived: archived ?? false, metadata: (metadata ?? {}) as JsonObject }
        return reply.code(201).send(demoConversation(await conversations.createConversation(keyPrincipal(request).gptId, input)))
      },
    )

    app.put(
      '/conversations/:conversation_id',
      {
        schema: {
          ...common,
          operationId: 'agentMailUpdateConversation',
          summary: 'Update a conversation (the fields given)',
          params: ConversationPath,
          body: Type.Object({ title: Type.Optional(Type.Union([Title, Type.Null()])), ...ConversationFields }),
        },
      },
      async (request) => {
        const gptId = keyPrincipal(request).gptId
        const { title, description, archived, metadata } = request.body
        const change = {
          ...(title ? { title } : {}),
          ...(description !== undefined ? { description } : {}),
          ...(archived !== undefined && archived !== null ? { archived } : {}),
          ...(metadata ? { metadata: metadata as JsonObject } : {}),
        }
        const id = request.params.conversation_id
        if (Object.keys(change).length === 0) return demoConversation(await conversations.getConversation(gptId, id).catch(conversationNotFound))
        return demoConversation(await conversations.updateConversation(gptId, id, change).catch(conversationNotFound))
      },
    )

    app.get('/conversations', { schema: { ...common, operationId: 'agentMailListConversations', summary: 'Conversations, newest first' } }, async (request) => {
      const principal = keyPrincipal(request)
      const items = await everything((cursor, limit) => conversations.listConversations(principal, { cursor, limit, order: 'desc' }), pageSize)
      return items.map(demoConversation)
    })

    app.get(
      '/conversations/:conversation_id',
      { schema: { ...common, operationId: 'agentMailGetConversation', summary: 'A conversation', params: ConversationPath } },
      async (request) => demoConversation(await conversations.getConversation(keyPrincipal(request).gptId, request.params.conversation_id).catch(conversationNotFound)),
    )

    app.get(
      '/conversations/:conversation_id/details',
      { schema: { ...common, operationId: 'agentMailConversationDetails', summary: 'A conversation with its messages, agents and counts', params: ConversationPath } },
      async (request) => {
        const details = await mail.conversationDetails(keyPrincipal(request), request.params.conversation_id).catch(conversationNotFound)
        const unread = typeof details.unread_count === 'number' ? details.unread_count : Object.values(details.unread_count).reduce((sum, n) => sum + n, 0)
        return {
          ...demoConversation(details.conversation),
          messages: details.messages.map(demoMessage),
          unique_agents: details.agents.map(demoAgent),
          total_messages: details.total_messages,
          unread_count: unread,
        }
      },
    )
  }
}

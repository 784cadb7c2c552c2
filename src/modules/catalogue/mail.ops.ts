import { Type } from 'typebox'
import { ERR } from '../../platform/errors.js'
import { pageQuerySchema } from '../../platform/http/pagination.js'
import { ConversationList, listConversationsQuery } from '../mail/conversations.schemas.js'
import type { ConversationsService } from '../mail/conversations.service.js'
import { InboxList, Mail, sendMailBody } from '../mail/mail.schemas.js'
import type { MailService } from '../mail/mail.service.js'
import { defineOperation, type Operation } from './catalogue.types.js'

interface Deps {
  mail: MailService
  conversations: ConversationsService
  maxPageSize: number
  maxRecipients: number
  maxMailChars: number
}

const AgentId = Type.String({ format: 'uuid', description: 'The agent whose inbox it is.' })

/** Agent mail. Agent-bound keys may call these; the mail service decides which agent they act as. */
export function mailOperations({ mail, conversations, maxPageSize, maxRecipients, maxMailChars }: Deps): Operation[] {
  const page = pageQuerySchema({ maxPageSize })
  const { where: _where, ...conversationQuery } = listConversationsQuery(page)
  return [
    defineOperation({
      name: 'send_mail',
      title: 'Send mail',
      description: 'Send mail from one agent to other agents of the GPT, optionally in a conversation or as an answer to a mail.',
      group: 'mail',
      input: sendMailBody({ maxRecipients, maxMailChars }),
      output: Mail,
      scope: 'write',
      agentKeys: true,
      readOnly: false,
      destructive: false,
      consequential: true,
      run: async (principal, input) => mail.sendMail(principal, input),
    }),
    defineOperation({
      name: 'read_inbox',
      title: 'Read an inbox',
      description: "An agent's received mail, newest first; unread=true for unread only, include='sent' for sent mail too.",
      group: 'mail',
      input: Type.Object(
        {
          agent_id: AgentId,
          unread: Type.Optional(Type.Boolean({ description: 'Only unread received mail.' })),
          include: Type.Optional(Type.Literal('sent', { description: '`sent`: sent mail too.' })),
          conversation_id: Type.Optional(Type.String({ format: 'uuid' })),
          min_importance: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
          ...page,
        },
        { additionalProperties: false },
      ),
      output: InboxList,
      scope: 'read',
      agentKeys: true,
      readOnly: true,
      destructive: false,
      consequential: false,
      list: { items: 'mail', text: ['content'] },
      run: async (principal, { agent_id, ...query }) => {
        const found = await mail.inbox(principal, agent_id, query)
        return { mail: found.items, next_cursor: found.nextCursor, has_more: found.hasMore }
      },
    }),
    defineOperation({
      name: 'mark_read',
      title: 'Mark mail read',
      description: "Mark an agent's received mail read: all of it up to a time (up_to), or the mail with the given ids.",
      group: 'mail',
      input: Type.Object(
        {
          agent_id: AgentId,
          up_to: Type.Optional(Type.String({ format: 'date-time', description: 'Mark everything received up to this time.' })),
          ids: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000, description: 'Or: these mail ids.' })),
        },
        { additionalProperties: false },
      ),
      output: Type.Object({ updated_count: Type.Integer() }),
      scope: 'write',
      agentKeys: true,
      readOnly: false,
      destructive: false,
      consequential: false,
      run: async (principal, { agent_id, up_to, ids }) => {
        if ((up_to === undefined) === (ids === undefined)) {
          throw ERR.validation('Give either up_to or ids.', [{ pointer: '/up_to', message: 'give either up_to or ids' }])
        }
        return mail.markRead(principal, agent_id, up_to !== undefined ? { up_to } : { ids: ids! })
      },
    }),
    defineOperation({
      name: 'list_conversations',
      title: 'List conversations',
      description: 'List mail conversations, newest first (an agent-bound key sees those it takes part in).',
      group: 'mail',
      input: Type.Object(conversationQuery, { additionalProperties: false }),
      output: ConversationList,
      scope: 'read',
      agentKeys: true,
      readOnly: true,
      destructive: false,
      consequential: false,
      list: { items: 'conversations', text: [] },
      run: async (principal, input) => {
        const found = await conversations.listConversations(principal, input)
        return { conversations: found.items, next_cursor: found.nextCursor, has_more: found.hasMore }
      },
    }),
  ]
}

import { endUserOf } from '../../platform/auth/principal.js'
import { Type } from 'typebox'
import { pageQuerySchema } from '../../platform/http/pagination.js'
import { finishedMessage } from '../chat/generation.finish.js'
import type { GenerationService } from '../chat/generation.service.js'
import { createMessageBody, Message, MessageList } from '../chat/messages.schemas.js'
import type { MessagesService } from '../chat/messages.service.js'
import { listSessionsQuery, SessionId, SessionList } from '../chat/sessions.schemas.js'
import type { SessionsService } from '../chat/sessions.service.js'
import { CharacterId } from '../characters/characters.schemas.js'
import { defineOperation, type Operation } from './catalogue.types.js'

interface Deps {
  sessions: SessionsService
  messages: MessagesService
  generation: GenerationService
  maxPageSize: number
  maxMessageChars: number
}

/** Chat history: sessions, their messages, and replies generated through the LLM. */
export function chatOperations({ sessions, messages, generation, maxPageSize, maxMessageChars }: Deps): Operation[] {
  const page = pageQuerySchema({ maxPageSize })
  return [
    defineOperation({
      name: 'list_sessions',
      title: 'List chat sessions',
      description: 'List chat sessions, most recently active first; filter by user, favorites or a word of the name.',
      group: 'chat',
      endUsers: true,
      input: Type.Object(listSessionsQuery(page), { additionalProperties: false }),
      output: SessionList,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      list: { items: 'sessions', text: [] },
      run: async (principal, input) => {
        const found = await sessions.listSessions(principal.gptId, input, endUserOf(principal))
        return { sessions: found.items, next_cursor: found.nextCursor, has_more: found.hasMore }
      },
    }),
    defineOperation({
      name: 'read_messages',
      title: 'Read messages',
      description: "Read a chat session's messages, oldest first; follow next_cursor while has_more is true.",
      group: 'chat',
      endUsers: true,
      input: Type.Object({ session_id: SessionId, ...page }, { additionalProperties: false }),
      output: MessageList,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      list: { items: 'messages', text: ['content', 'partial_content'] },
      run: async (principal, { session_id, ...query }) => {
        const found = await messages.listMessages(principal.gptId, session_id, query, endUserOf(principal))
        return { messages: found.items, next_cursor: found.nextCursor, has_more: found.hasMore }
      },
    }),
    defineOperation({
      name: 'add_message',
      title: 'Add a message',
      description: 'Add a message (from user, ai, system or tool) to a chat session.',
      group: 'chat',
      endUsers: true,
      input: Type.Object({ session_id: SessionId, ...createMessageBody({ maxMessageChars }).properties }, { additionalProperties: false }),
      output: Message,
      scope: 'write',
      readOnly: false,
      destructive: false,
      consequential: false,
      run: async (principal, { session_id, ...message }) => (await messages.createMessage(principal.gptId, session_id, message, null, endUserOf(principal))).message,
    }),
    defineOperation({
      name: 'generate_reply',
      title: 'Generate a reply',
      description: "Generate the session's next AI message through the LLM, with the session's (or the given) character; it is stored in the session.",
      group: 'chat',
      endUsers: true,
      input: Type.Object(
        {
          session_id: SessionId,
          character_id: Type.Optional(Type.String({ ...CharacterId, description: "The character to answer as (default: the session's)." })),
          model: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Overrides the character's model." })),
        },
        { additionalProperties: false },
      ),
      output: Message,
      scope: 'write',
      readOnly: false,
      destructive: false,
      consequential: false,
      run: async (principal, { session_id, ...input }) => finishedMessage(await generation.generate(principal.gptId, session_id, input, endUserOf(principal)), session_id),
    }),
  ]
}

import { Type, type Static } from 'typebox'
import type { MessageSender } from '../../platform/db/tables.js'

export const MessageParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Message id.' }) })

export const MESSAGE_SENDERS = ['user', 'ai', 'system', 'tool'] as const
export const MESSAGE_STATUSES = ['pending', 'in_progress', 'complete', 'failed', 'cancelled'] as const

const Sender = Type.Enum(MESSAGE_SENDERS, { description: 'Who wrote the message.' })
const Status = Type.Enum(MESSAGE_STATUSES, {
  description:
    'Only AI messages have a status other than complete. Allowed changes: pending→in_progress|failed, in_progress→in_progress|complete|failed, failed|cancelled→in_progress (a retry); complete is final. `cancelled`: stopped by POST /v1/messages/{id}/cancel, with the text so far in partial_content (resume continues it).',
})
const Context = Type.Unknown({ description: 'Any JSON value (or null): the retrieval (RAG) context of this turn.' })
const Model = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], { description: 'The model that wrote an AI message.' })

export interface MessageLimits {
  maxMessageChars: number
}

const text = (limits: MessageLimits, description: string) =>
  Type.String({ maxLength: limits.maxMessageChars, description: `${description} At most ${limits.maxMessageChars} characters (MAX_MESSAGE_CHARS).` })
const errorMessage = (limits: MessageLimits) =>
  Type.Union([Type.String({ minLength: 1, maxLength: limits.maxMessageChars }), Type.Null()], {
    description: 'Why generation failed; only while the status is failed (cleared when the message leaves failed).',
  })

export function createMessageBody(limits: MessageLimits) {
  return Type.Object(
    {
      sender: Sender,
      content: Type.Optional(text(limits, 'The text; required (not empty) unless an AI message is pending, in progress or failed.')),
      context: Type.Optional(Context),
      status: Type.Optional(Status),
      partial_content: Type.Optional(text(limits, 'AI messages: the text generated so far.')),
      error_message: Type.Optional(errorMessage(limits)),
      model: Type.Optional(Model),
    },
    { additionalProperties: false },
  )
}
export type CreateMessageInput = Static<ReturnType<typeof createMessageBody>>

export function patchMessageBody(limits: MessageLimits) {
  return Type.Object(
    {
      status: Type.Optional(Status),
      content: Type.Optional(text(limits, 'AI messages: the final text (a complete message without it takes partial_content).')),
      partial_content: Type.Optional(text(limits, 'AI messages: the text generated so far.')),
      error_message: Type.Optional(errorMessage(limits)),
      context: Type.Optional(Context),
    },
    { additionalProperties: false, minProperties: 1 },
  )
}
export type PatchMessageInput = Static<ReturnType<typeof patchMessageBody>>

export const Message = Type.Object({
  id: Type.String({ format: 'uuid' }),
  session_id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  sender: Sender,
  content: Type.String(),
  context: Type.Unknown({ description: 'The RAG context of the turn (null when none).' }),
  status: Status,
  partial_content: Type.String(),
  error_message: Type.Union([Type.String(), Type.Null()]),
  model: Type.Union([Type.String(), Type.Null()]),
  character_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})
export type MessageView = Static<typeof Message>

export const MessageList = Type.Object({
  messages: Type.Array(Message),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
  total: Type.Optional(Type.Integer({ description: 'How many messages the session has in all (only with `offset`).' })),
})

export const MessageWriteHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'Repeat-safe POST: the first response is replayed for 24 h.' }),
  ),
})

/**
 * A message a write stored, as told to what follows writes (embedding, automatic extraction): what the
 * write already knew, so that they need not read the message again.
 */
export interface WrittenMessage {
  id: string
  session_id: string
  sender: MessageSender
  /** The session's character as the write read it; undefined when the write did not read the session. */
  session_character_id?: string | null
}

/** Told the messages a write stored, once it is committed. */
export type MessagesWritten = (gptId: string, messages: WrittenMessage[]) => void

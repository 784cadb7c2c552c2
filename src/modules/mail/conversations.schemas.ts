import { Type, type Static } from 'typebox'

export const ConversationParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Conversation id.' }) })
const Metadata = Type.Object({}, { additionalProperties: true })

export const CreateConversationBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 500 }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
    archived: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
)
export type CreateConversationInput = Static<typeof CreateConversationBody>

export const PatchConversationBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
    archived: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type PatchConversationInput = Static<typeof PatchConversationBody>

export const Conversation = Type.Object({
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  title: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  archived: Type.Boolean(),
  metadata: Type.Object({}, { additionalProperties: true }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})
export type ConversationView = Static<typeof Conversation>

export const ConversationList = Type.Object({
  conversations: Type.Array(Conversation),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

export function listConversationsQuery(page: Record<string, unknown>) {
  return {
    ...page,
    archived: Type.Optional(Type.Boolean()),
    where: Type.Optional(Type.String({ maxLength: 4096, description: 'JSON object matched by containment on metadata.' })),
  }
}

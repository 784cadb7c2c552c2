import { Type, type Static } from 'typebox'

export const SessionId = Type.String({ format: 'uuid', description: 'Session id.' })
export const SessionParams = Type.Object({ id: SessionId })

const UserId = Type.String({ minLength: 1, maxLength: 200, description: "The end user the session belongs to (your own id for them). Required, except with an end user's access token: then it is that user." })
const Name = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], { description: 'Display name (null: unnamed).' })
const Metadata = Type.Object({}, { additionalProperties: true, description: 'Free JSON object; PATCH merges it by top-level key.' })
const CharacterRef = Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
  description: 'A character (not deleted) of the GPT that generations in this session speak as; null: none.',
})

export const CreateSessionBody = Type.Object(
  {
    user_id: Type.Optional(UserId),
    name: Type.Optional(Name),
    metadata: Type.Optional(Metadata),
    character_id: Type.Optional(CharacterRef),
    is_favorite: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type CreateSessionInput = Static<typeof CreateSessionBody>

export const PatchSessionBody = Type.Object(
  {
    name: Type.Optional(Name),
    is_favorite: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(Metadata),
    character_id: Type.Optional(CharacterRef),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type PatchSessionInput = Static<typeof PatchSessionBody>

export const Session = Type.Object({
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  user_id: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Object({}, { additionalProperties: true }),
  character_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'Kept when the character is deleted later.' }),
  is_favorite: Type.Boolean(),
  unanswered_message_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
    description:
      'The last user message when nothing answers it (its reply never started, failed at once, or was cancelled before a word, and no generation runs); null otherwise. A retried POST /v1/chat with the same Idempotency-Key answers it, as does POST /v1/sessions/{id}/resume (a reply that failed or was cancelled) or /generate (no reply at all).',
  }),
  last_activity_at: Type.String({ format: 'date-time', description: 'When the last message was added (creation time until then).' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})
export type SessionView = Static<typeof Session>

export const SessionList = Type.Object({
  sessions: Type.Array(Session),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
  total: Type.Optional(Type.Integer({ description: 'How many sessions match in all (only with `offset`).' })),
})

export function listSessionsQuery(page: Record<string, unknown>) {
  return {
    ...page,
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only this user\'s sessions.' })),
    favorite: Type.Optional(Type.Boolean({ description: 'Only favorites (true) or only the others (false).' })),
    sort: Type.Optional(
      Type.Union([Type.Literal('activity'), Type.Literal('favorites')], {
        description: '`activity` (default): by last activity; `favorites`: favorites before the others, each by last activity.',
      }),
    ),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Case-insensitive substring of the name (taken literally: `%`, `_` and `\\` are not wildcards); unnamed sessions never match.',
      }),
    ),
  }
}
export interface ListSessionsQuery {
  limit?: number
  cursor?: string
  offset?: number
  sort?: 'activity' | 'favorites'
  order?: 'asc' | 'desc'
  user_id?: string
  favorite?: boolean
  q?: string
}

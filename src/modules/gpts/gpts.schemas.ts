import { Type, type Static } from 'typebox'

export const GPT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'

export const GptId = Type.String({
  pattern: GPT_ID_PATTERN,
  description: 'The GPT (tenant) id: 1–64 letters, digits, `_` or `-`, starting with a letter or digit.',
  examples: ['diary-gpt'],
})

export const GptParams = Type.Object({ gpt_id: GptId })

export const CreateGptBody = Type.Object(
  {
    id: GptId,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
)
export type CreateGptInput = Static<typeof CreateGptBody>

export const Gpt = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Gpt' },
)
export type GptView = Static<typeof Gpt>

export const GptList = Type.Object({
  gpts: Type.Array(Gpt),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

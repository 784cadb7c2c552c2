import { Type, type Static } from 'typebox'
import { GROUPS, type Group } from '../catalogue/catalogue.types.js'

export const GPT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'

export const GptId = Type.String({
  pattern: GPT_ID_PATTERN,
  description: 'The GPT (tenant) id: 1–64 letters, digits, `_` or `-`, starting with a letter or digit.',
  examples: ['diary-gpt'],
})

export const GptParams = Type.Object({ gpt_id: GptId })

/** A typical GPT stores documents, remembers and searches; chat history and agent mail are asked for. */
export const DEFAULT_PARTS: Group[] = ['collections', 'memories', 'search']

export const ActionExposure = Type.Object(
  {
    parts: Type.Array(Type.Enum(GROUPS), {
      minItems: 1,
      uniqueItems: true,
      description: `The parts the Action spec offers: ${GROUPS.join(', ')}.`,
    }),
    collections: Type.Union(
      [Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), { maxItems: 1000, uniqueItems: true }), Type.Null()],
      { description: 'The collections its document operations offer; null: all of them (also those created later).' },
    ),
  },
  {
    additionalProperties: false,
    description: `What this GPT's Action spec (/v1/gpts/{gpt_id}/openapi.json) offers. Defaults: ${DEFAULT_PARTS.join(', ')}, every collection.`,
  },
)
export type ActionExposureView = Static<typeof ActionExposure>

export const CreateGptBody = Type.Object(
  {
    id: GptId,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
)
export type CreateGptInput = Static<typeof CreateGptBody>

/** Ten years: longer is "for ever", which is null. */
export const MAX_RETENTION_DAYS = 3650

const retentionDays = (what: string, since: string, job: string) =>
  Type.Union([Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS }), Type.Null()], {
    description: `Days ${what} are kept after ${since}; the daily \`${job}\` job deletes older ones. 1 to ${MAX_RETENTION_DAYS}; null (default): kept for ever.`,
  })

const SessionRetentionDays = retentionDays('chat sessions (with their messages)', 'their last activity', 'chat.purge-old-sessions')
const MailRetentionDays = retentionDays('mail messages (with their recipients and metadata)', 'they were sent', 'mail.purge-old')

export const UpdateGptBody = Type.Object(
  {
    name: Type.Optional(CreateGptBody.properties.name),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    action_exposure: Type.Optional(Type.Union([ActionExposure, Type.Null()], { description: 'null: back to the defaults.' })),
    session_retention_days: Type.Optional(SessionRetentionDays),
    mail_retention_days: Type.Optional(MailRetentionDays),
  },
  { additionalProperties: false, minProperties: 1, description: 'What to change.' },
)
export type UpdateGptInput = Static<typeof UpdateGptBody>

export const Gpt = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    action_exposure: ActionExposure,
    session_retention_days: Type.Union([Type.Integer(), Type.Null()]),
    mail_retention_days: Type.Union([Type.Integer(), Type.Null()]),
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

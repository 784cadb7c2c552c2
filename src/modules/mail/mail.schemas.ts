import { Type, type Static } from 'typebox'

export const MailParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Mail id.' }) })
export const MetadataParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  key: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' }),
})

export function sendMailBody(limits: { maxRecipients: number; maxMailChars: number }) {
  return Type.Object(
    {
      from: Type.String({ format: 'uuid', description: 'The sending agent.' }),
      to: Type.Array(Type.String({ format: 'uuid' }), {
        maxItems: limits.maxRecipients,
        uniqueItems: true,
        description: 'May be empty: recipients can be added later (POST /v1/mail/{id}/recipients).',
      }),
      conversation_id: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
      parent_id: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
      type: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Free label such as text, command, result.' })),
      importance: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, default: 5 })),
      content: Type.String({ minLength: 1, maxLength: limits.maxMailChars }),
      metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
    },
    { additionalProperties: false },
  )
}
export type SendMailInput = Static<ReturnType<typeof sendMailBody>>

export function addRecipientsBody(limits: { maxRecipients: number }) {
  return Type.Object(
    { to: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: limits.maxRecipients, uniqueItems: true }) },
    { additionalProperties: false },
  )
}

export function editMailBody(limits: { maxMailChars: number }) {
  return Type.Object(
    {
      content: Type.Optional(Type.String({ minLength: 1, maxLength: limits.maxMailChars })),
      type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      importance: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
      metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
    },
    { additionalProperties: false, minProperties: 1 },
  )
}
export type EditMailInput = Static<ReturnType<typeof editMailBody>>

export const MetadataEntryParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Metadata entry id.' }) })
export const PatchMetadataEntryBody = Type.Object(
  {
    key: Type.Optional(MetadataParams.properties.key),
    value: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false, minProperties: 1 },
)

const Recipient = Type.Object({
  agent_id: Type.String({ format: 'uuid' }),
  read_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})

const MetadataEntry = Type.Object({
  id: Type.String({ format: 'uuid' }),
  key: Type.String(),
  value: Type.Unknown(),
  set_by: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})
export const MetadataEntryWithMail = Type.Object({ ...MetadataEntry.properties, mail_id: Type.String({ format: 'uuid' }) })
export type MetadataEntryView = Static<typeof MetadataEntry>

export const Mail = Type.Object({
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  from: Type.String({ format: 'uuid' }),
  to: Type.Array(Recipient),
  conversation_id: Type.Union([Type.String(), Type.Null()]),
  parent_id: Type.Union([Type.String(), Type.Null()]),
  type: Type.String(),
  importance: Type.Integer(),
  content: Type.String(),
  metadata: Type.Object({}, { additionalProperties: true }),
  metadata_entries: Type.Array(MetadataEntry, { description: 'Key/value notes set by participants (PUT /v1/mail/{id}/metadata/{key}).' }),
  created_at: Type.String({ format: 'date-time' }),
  edited_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When its sender last edited it.' }),
})
export type MailView = Static<typeof Mail>

export const InboxItem = Type.Object({
  ...Mail.properties,
  direction: Type.Union([Type.Literal('received'), Type.Literal('sent')]),
  read_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When this agent read it (null for unread and for sent mail).' }),
})
export type InboxItemView = Static<typeof InboxItem>

export const InboxList = Type.Object({
  mail: Type.Array(InboxItem),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

export const MarkReadBody = Type.Union([
  Type.Object({ up_to: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
  Type.Object({ ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
])

export const PutMetadataBody = Type.Object({ value: Type.Unknown() }, { additionalProperties: false, required: ['value'] })

export const ConversationDetails = Type.Object({
  conversation: Type.Object({}, { additionalProperties: true }),
  messages: Type.Array(Mail, { description: 'Oldest first; for an agent key, only the mail its agent sent or received.' }),
  agents: Type.Array(Type.Object({}, { additionalProperties: true }), { description: 'The senders and recipients of these messages.' }),
  total_messages: Type.Integer({ description: 'How many of the messages the caller may see there are.' }),
  unread_count: Type.Union([Type.Integer(), Type.Record(Type.String(), Type.Integer())], {
    description: "The calling agent's unread count, or per agent for a GPT key.",
  }),
})

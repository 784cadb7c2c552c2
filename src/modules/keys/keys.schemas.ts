import { Type, type Static } from 'typebox'
import { DURATION_PATTERN } from '../../platform/duration.js'
import { SECRET } from '../../platform/http/headers.plugin.js'

export const KeyParams = Type.Object({ key_id: Type.String({ format: 'uuid', description: 'The key id.' }) })

export const CreateKeyBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    scopes: Type.Optional(
      Type.Array(Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')]), { minItems: 1, maxItems: 3, uniqueItems: true }),
    ),
    expires_in: Type.Optional(
      Type.String({ pattern: DURATION_PATTERN, description: 'Lifetime such as `30d`, `12h`, `2w`.', examples: ['30d'] }),
    ),
    expires_at: Type.Optional(Type.String({ format: 'date-time' })),
    agent_id: Type.Optional(Type.String({ format: 'uuid', description: 'Bind the key to this agent: it may then act only as that agent.' })),
  },
  { additionalProperties: false },
)
export type CreateKeyInput = Static<typeof CreateKeyBody>

const keyFields = {
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  scopes: Type.Array(Type.String()),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  agent_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
}

export const ApiKey = Type.Object(keyFields, { $id: 'ApiKey' })
export type KeyView = Static<typeof ApiKey>

export const CreatedApiKey = Type.Object(
  { ...keyFields, key: Type.String({ description: 'The bearer token. Shown only in this response.', [SECRET]: true }) },
  { $id: 'CreatedApiKey' },
)
export type CreatedKeyView = Static<typeof CreatedApiKey>

export const KeyList = Type.Object({
  keys: Type.Array(ApiKey),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

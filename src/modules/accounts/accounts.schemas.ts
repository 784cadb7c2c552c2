import { Type, type Static } from 'typebox'

const Email = Type.String({ format: 'email', maxLength: 254, description: 'Unique regardless of case.', examples: ['owner@example.com'] })
// Longer passwords would only make the hash slower to compute (a cheap way to load the server).
const Password = Type.String({ maxLength: 1024, description: 'At least 10 characters with a lowercase and an uppercase letter, a digit and a special character; no whitespace.' })

export const Credentials = Type.Object({ email: Email, password: Password }, { additionalProperties: false })
export type CredentialsInput = Static<typeof Credentials>

export const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })

export const UpdateAccountBody = Type.Object(
  {
    email: Type.Optional(Email),
    password: Type.Optional(Password),
    current_password: Type.Optional(Type.String({ maxLength: 1024, description: 'Required to change the password.' })),
  },
  { additionalProperties: false, description: 'Exactly one of `email` or `password`.' },
)
export type UpdateAccountInput = Static<typeof UpdateAccountBody>

export const AccountParams = Type.Object({ account_id: Type.String({ format: 'uuid' }) })

export const Account = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    deleted_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'Account' },
)
export type AccountView = Static<typeof Account>

const KeyToken = Type.String({ description: 'The account key (`ak_…`), a bearer token. Shown only in this response.' })

export const SignupResult = Type.Object({ account: Account, key: KeyToken })
export type SignupView = Static<typeof SignupResult>

export const RotatedKey = Type.Object({ key: KeyToken })

export const TokenPair = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String({ description: 'One-time use: each refresh answers with a new one.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds the access token is valid.' }),
})
export type TokenPairView = Static<typeof TokenPair>

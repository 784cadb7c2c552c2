import { Type, type Static } from 'typebox'
import { Credentials } from '../accounts/accounts.schemas.js'

/** An account's email and password, or the operator's ADMIN_TOKEN. */
export const SignInBody = Type.Union([
  Credentials,
  Type.Object({ admin_token: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
])
export type SignInInput = Static<typeof SignInBody>

export const ConsoleSessionView = Type.Object({
  kind: Type.Union([Type.Literal('account'), Type.Literal('operator')]),
  account_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  csrf_token: Type.String({ description: 'Send it back in X-CSRF-Token on every write.' }),
  expires_at: Type.String({ format: 'date-time' }),
})

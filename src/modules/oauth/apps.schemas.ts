import { Type, type Static } from 'typebox'
import { SECRET } from '../../platform/http/headers.plugin.js'

export const AppParams = Type.Object({ app_id: Type.String({ format: 'uuid', description: 'The app id.' }) })
export const GrantParams = Type.Object({ app_id: Type.String({ format: 'uuid' }), grant_id: Type.String({ format: 'uuid' }) })

const Scope = Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')])

export const CreateAppBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.Optional(
      Type.Union([Type.Literal('confidential'), Type.Literal('public')], {
        description: '`confidential` (default) gets a secret; `public` (a native or browser app) has none and must use PKCE.',
      }),
    ),
    redirect_uris: Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
      minItems: 1,
      maxItems: 10,
      uniqueItems: true,
      description: 'Exact redirect URIs: https, or http on a loopback host (127.0.0.1, [::1], localhost). No fragment.',
    }),
    scopes: Type.Optional(Type.Array(Scope, { minItems: 1, maxItems: 3, uniqueItems: true, description: 'The scopes the app may ask for (default read, write).' })),
    rate_limit_per_minute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: "Requests per minute for this app's tokens." })),
  },
  { additionalProperties: false },
)
export type CreateAppInput = Static<typeof CreateAppBody>

export const UpdateAppBody = Type.Object(
  {
    name: Type.Optional(CreateAppBody.properties.name),
    redirect_uris: Type.Optional(CreateAppBody.properties.redirect_uris),
    scopes: Type.Optional(Type.Array(Scope, { minItems: 1, maxItems: 3, uniqueItems: true })),
    rate_limit_per_minute: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1, description: 'What to change; tokens already issued keep their scopes until they expire.' },
)
export type UpdateAppInput = Static<typeof UpdateAppBody>

const appFields = {
  id: Type.String({ format: 'uuid' }),
  gpt_id: Type.String(),
  name: Type.String(),
  client_id: Type.String(),
  type: Type.Union([Type.Literal('confidential'), Type.Literal('public')]),
  redirect_uris: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  rate_limit_per_minute: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
}

export const App = Type.Object(appFields, { $id: 'App' })
export type AppView = Static<typeof App>

export const CreatedApp = Type.Object(
  {
    ...appFields,
    client_secret: Type.Union([Type.String({ [SECRET]: true }), Type.Null()], { description: 'Shown only in this response; null for a public app.' }),
  },
  { $id: 'CreatedApp' },
)
export type CreatedAppView = Static<typeof CreatedApp>

export const AppList = Type.Object({
  apps: Type.Array(App),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

export const AppGrant = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    end_user_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    scopes: Type.Array(Type.String()),
    resource: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    expires_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'AppGrant', description: "A session of the app: one end user's consent and the family of its refresh tokens." },
)
export type AppGrantView = Static<typeof AppGrant>

export const AppGrantList = Type.Object({
  grants: Type.Array(AppGrant),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { auditContext } from '../../platform/audit/audit.js'
import { isJwt } from '../../platform/auth/jwt.js'
import { ERR } from '../../platform/errors.js'
import { acceptForms, noStore } from '../../modules/oauth/oauth.form.js'
import type { OAuthTokensService } from '../../modules/oauth/oauth.tokens.service.js'
import { ADAPTER_TAG, adapterParameters, adapterTokenForm, REFRESH_PATH, sendAdapterError } from './adapter.shapes.js'

const protocol = { access: 'public' as const, ipBudget: true }
const TOKEN_PATHS = [
  // Its design and README documented /auth/token; its code served it under /api/v1.
  ['/auth/token', 'adapterToken'],
  ['/api/v1/auth/token', 'adapterTokenV1'],
] as const

/** The refresh token: the adapter's clients sent it as the Bearer credential; a body's `refresh_token` is taken too. */
function refreshTokenOf(request: FastifyRequest): string {
  const header = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')
  const token = header?.[1] ?? (request.body === undefined ? undefined : adapterParameters(request).refresh_token)
  if (token === undefined) throw ERR.unauthorized('Not authenticated')
  // An access token is no refresh token: the adapter told the two apart by their type.
  if (isJwt(token)) throw ERR.forbidden('Invalid token type')
  return token
}

/**
 * The adapter's OAuth endpoints on the house OAuth server: the same client authentication, grants,
 * refresh token rotation and reuse detection, and audit events; only the request and answer shapes
 * are the adapter's.
 */
export function adapterAuthRoutes({ tokens }: { tokens: OAuthTokensService }) {
  return async (app: FastifyInstance) => {
    acceptForms(app)
    app.setErrorHandler(sendAdapterError)
    const common = { tags: [ADAPTER_TAG] }

    for (const [path, operationId] of TOKEN_PATHS) {
      app.post(
        path,
        {
          config: protocol,
          schema: {
            ...common,
            operationId,
            summary: 'An access token and a refresh token for an app\'s client id and secret',
            description:
              'Form or JSON: `grant_type=client_credentials` with `client_id` and `client_secret` (or HTTP Basic), or the password form (`username` = client id, `password` = client secret). `refresh_token` grants are taken too.',
          },
        },
        async (request, reply) => {
          const form = adapterTokenForm(adapterParameters(request))
          const answer = await tokens.token({ authorization: request.headers.authorization, form }, auditContext(request), { refreshable: true })
          return noStore(reply).send(answer)
        },
      )
    }

    app.post(
      REFRESH_PATH,
      {
        config: protocol,
        schema: {
          ...common,
          operationId: 'adapterRefresh',
          summary: 'A new access token (and the next refresh token) for a refresh token sent as the Bearer credential',
        },
      },
      async (request, reply) => {
        return noStore(reply).send(await tokens.refreshClientGrant(refreshTokenOf(request), auditContext(request)))
      },
    )
  }
}

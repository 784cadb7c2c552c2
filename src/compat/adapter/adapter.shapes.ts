import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCode } from '../../platform/errors.js'
import { OAuthError, oauthError } from '../../modules/oauth/oauth.errors.js'
import { formParameters, noStore } from '../../modules/oauth/oauth.form.js'
import { compatAppError, fastApiValidationItems } from '../fastapi-errors.js'

export const ADAPTER_WELCOME = 'Welcome to the Custom GPT Adapter Service'
export const ADAPTER_TAG = 'Custom GPT adapter (compat)'
export const REFRESH_PATH = '/api/v1/auth/refresh'

/** The adapter's documented scopes, as the house names them. */
const SCOPES: Record<string, string> = { 'memory:read': 'read', 'memory:write': 'write' }

/** The body of a token or refresh request: a form (OAuth's own encoding) or, as the adapter's design showed it, JSON. */
export function adapterParameters(request: FastifyRequest): Record<string, string> {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json') return formParameters(request)
  const body = request.body
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw oauthError('invalid_request', 'The body must be a JSON object.')
  const parameters: Record<string, string> = {}
  for (const [name, value] of Object.entries(body)) {
    if (value === null || value === '') continue
    if (typeof value !== 'string') throw oauthError('invalid_request', `The parameter ${name} must be a string.`)
    parameters[name] = value
  }
  return parameters
}

/**
 * The adapter's token request as the house token endpoint reads it. Its code took FastAPI's password
 * form (`username` = client id, `password` = client secret); its design, `grant_type=client_credentials`
 * with `client_id`, `client_secret` and `memory:*` scopes. Both mean client credentials.
 */
export function adapterTokenForm(parameters: Record<string, string>): Record<string, string> {
  const { username, password, grant_type, scope, ...form } = parameters
  if (username !== undefined && form.client_id === undefined) form.client_id = username
  if (password !== undefined && form.client_secret === undefined) form.client_secret = password
  form.grant_type = grant_type === undefined || grant_type === 'password' ? 'client_credentials' : grant_type
  if (scope !== undefined) form.scope = [...new Set(scope.split(' ').filter(Boolean).map((name) => SCOPES[name] ?? name))].join(' ')
  return form
}

/** What the adapter said for the OAuth errors its clients could meet. */
function oauthDetail(error: OAuthError, request: FastifyRequest): string {
  if (error.error === 'invalid_client') return 'Incorrect client_id or client_secret'
  if (request.routeOptions.url === REFRESH_PATH && error.error === 'invalid_grant') return 'Could not validate credentials'
  return error.description
}

/**
 * The adapter answered errors the FastAPI way, `{"detail": …}` as application/json: no Bearer token
 * a 401 "Not authenticated", a token it could not verify a 403 "Could not validate credentials",
 * invalid input a 422 list, a spent rate limit slowapi's `{"error": …}`. Token endpoint errors keep
 * the OAuth fields (`error`, `error_description`) beside `detail`, so that OAuth libraries read them too.
 */
export function sendAdapterError(error: FastifyError | OAuthError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.type('application/json')
  if (error instanceof OAuthError) {
    const refused = request.routeOptions.url === REFRESH_PATH && error.error === 'invalid_grant'
    reply.header('www-authenticate', error.challenge ?? 'Bearer')
    return noStore(reply)
      .code(refused ? 403 : error.status)
      .send({ detail: oauthDetail(error, request), error: error.error, error_description: error.description })
  }
  const appError = compatAppError(error)
  const { headers, errors } = appError.extra
  if (appError.status >= 500) request.log.error({ err: error }, 'request failed')
  switch (appError.code) {
    case ErrorCode.Unauthorized: {
      // FastAPI's OAuth2PasswordBearer: no Bearer credentials at all is a 401; its own check of the token a 403.
      if (!/^Bearer +\S+ *$/i.test(request.headers.authorization ?? '')) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ detail: 'Not authenticated' })
      }
      return reply.code(403).send({ detail: 'Could not validate credentials' })
    }
    case ErrorCode.RateLimited:
      if (headers) reply.headers(headers)
      return reply.code(429).send({ error: appError.detail })
    case ErrorCode.ValidationFailed:
      return reply.code(422).send({ detail: errors ? fastApiValidationItems(errors) : appError.detail })
    case ErrorCode.MalformedJson:
      return reply.code(422).send({ detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] })
    default:
      if (headers) reply.headers(headers)
      return reply.code(appError.status).send({ detail: appError.detail })
  }
}

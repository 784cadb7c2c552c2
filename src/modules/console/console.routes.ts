import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { auditContext } from '../../platform/audit/audit.js'
import { tokensEqual } from '../../platform/auth/api-key.js'
import { ERR } from '../../platform/errors.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import type { ConsoleSession, ConsoleSessionsService } from './console-sessions.service.js'
import { checkOrigin, clearSessionCookie, sessionCookie, setSessionCookie } from './console.cookies.js'
import { ConsoleSessionView, SignInBody } from './console.schemas.js'

interface Deps {
  console: ConsoleSessionsService
  publicUrl: string
}

/** Request headers the API reads besides the credential; everything else stays behind. */
const FORWARDED_REQUEST = ['agentstore-gpt', 'content-type', 'if-match', 'if-none-match', 'idempotency-key', 'accept', 'user-agent'] as const
/** Answer headers the console may need. */
const FORWARDED_ANSWER = ['content-type', 'etag', 'location', 'retry-after', 'www-authenticate', 'cache-control'] as const

const view = (session: ConsoleSession) => ({
  kind: session.kind,
  account_id: session.accountId,
  csrf_token: session.csrfToken,
  expires_at: session.expiresAt.toISOString(),
})

/**
 * The console's session (sign in, who am I, sign out) and its way into the API: /admin/api/v1/...
 * is the same request to /v1/..., sent inside this process with the session's credential, so every
 * rule of the API (authentication, tenant, scopes, rate limits, audit) applies unchanged.
 */
export function consoleRoutes({ console, publicUrl }: Deps) {
  const secure = publicUrl.startsWith('https:')
  const publicOrigin = new URL(publicUrl).origin

  /** The caller's live session; for a write, also its CSRF token and origin. */
  async function signedIn(request: FastifyRequest) {
    const found = await console.find(sessionCookie(request))
    if (!found) throw ERR.unauthorized('Sign in to the console first (or again: the session has ended).')
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      checkOrigin(request, publicOrigin)
      const given = request.headers['x-csrf-token']
      if (typeof given !== 'string' || !tokensEqual(given, found.session.csrfToken)) {
        throw ERR.forbidden('This console write lacks its CSRF token (X-CSRF-Token).')
      }
    }
    return found
  }

  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { hide: true, tags: ['console'] }

    app.post(
      '/admin/api/session',
      {
        config: { access: 'public', ipBudget: true },
        schema: { ...common, body: SignInBody, response: { 201: ConsoleSessionView, ...problemResponses(401, 403, 422, 429) } },
      },
      async (request, reply) => {
        checkOrigin(request, publicOrigin)
        const body = request.body
        const started = 'admin_token' in body ? await console.signInOperator(body.admin_token, auditContext(request)) : await console.signInAccount(body, auditContext(request))
        setSessionCookie(reply, started.token, console.ttlSeconds, secure)
        return reply.code(201).header('cache-control', 'no-store').send(view(started.session))
      },
    )

    app.get(
      '/admin/api/session',
      { config: { access: 'public' }, schema: { ...common, response: { 200: ConsoleSessionView, ...problemResponses(401) } } },
      async (request, reply) => reply.header('cache-control', 'no-store').send(view((await signedIn(request)).session)),
    )

    app.delete(
      '/admin/api/session',
      { config: { access: 'public' }, schema: { ...common, response: { 204: Type.Null(), ...problemResponses(401, 403) } } },
      async (request, reply) => {
        await signedIn(request)
        await console.signOut(sessionCookie(request)!)
        clearSessionCookie(reply, secure)
        return reply.code(204).send(null)
      },
    )

    app.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url: '/admin/api/v1/*',
      config: { access: 'public' },
      schema: { hide: true },
      handler: async (request, reply) => forward(instance, request, reply, await (await signedIn(request)).bearer()),
    })
  }
}

async function forward(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, bearer: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, 'x-request-id': request.id }
  for (const name of FORWARDED_REQUEST) {
    const value = request.headers[name]
    if (typeof value === 'string') headers[name] = value
  }
  const url = request.url.slice('/admin/api'.length)
  // Dot segments would leave /v1 once some layer resolved them: the console reaches the API and nothing else.
  if (!new URL(url, 'http://console.invalid').pathname.startsWith('/v1/') || /\/\.\.?(\/|$)|%2e/i.test(url.split('?')[0]!)) {
    throw ERR.badRequest('A console request names an API path under /v1/, without dot segments.')
  }
  const answer = await app.inject({
    method: request.method as 'GET',
    url,
    headers,
    remoteAddress: request.ip,
    ...(request.body === undefined ? {} : { payload: JSON.stringify(request.body) }),
  })
  for (const name of FORWARDED_ANSWER) {
    const value = answer.headers[name]
    if (value !== undefined) reply.header(name, value)
  }
  return reply.code(answer.statusCode).send(answer.rawPayload)
}

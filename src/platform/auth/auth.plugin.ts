import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ERR } from '../errors.js'
import { tokensEqual } from './api-key.js'
import type { Principal, Scope } from './principal.js'

/** How a route is reached: openly, with the operator's admin token, or with a GPT's API key. */
export type RouteAccess = 'public' | 'admin' | 'key'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Defaults to 'key': a route is private unless it says otherwise. */
    access?: RouteAccess
    /** The scope a key needs; defaults to `read` for GET/HEAD and `write` for everything else. */
    scope?: Scope
    /** Keys bound to an agent may use this route (their service checks which agent); others are 403 for them. */
    agentKeys?: boolean
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}

export interface AuthOptions {
  adminToken: string | null
  authenticateKey: (token: string) => Promise<Extract<Principal, { kind: 'key' }>>
}

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization
  if (header === undefined || header === '') throw ERR.unauthorized('Send an API key as `Authorization: Bearer <key>`.')
  const match = /^Bearer +(\S+) *$/i.exec(header)
  if (!match) throw ERR.unauthorized('The Authorization header must be `Bearer <key>`.')
  return match[1]!
}

function requiredScope(request: FastifyRequest): Scope {
  const declared = request.routeOptions.config.scope
  if (declared) return declared
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write'
}

/** Authenticates every non-public route and checks the key's tenant and scope before any work is done. */
export const authPlugin = fp<AuthOptions>(
  async (app: FastifyInstance, options) => {
    app.decorateRequest('principal', null)
    app.addHook('onRequest', async (request) => {
      if (request.is404) return
      const access = request.routeOptions.config.access ?? 'key'
      if (access === 'public') return
      const token = bearerToken(request)
      if (access === 'admin') {
        if (options.adminToken === null || !tokensEqual(token, options.adminToken)) {
          throw ERR.unauthorized('The admin token is not valid.')
        }
        request.principal = { kind: 'admin' }
        return
      }
      const principal = await options.authenticateKey(token)
      request.principal = principal
      const gptId = (request.params as { gpt_id?: unknown } | undefined)?.gpt_id
      if (typeof gptId === 'string' && gptId !== principal.gptId) {
        throw ERR.forbidden('This API key belongs to another GPT.')
      }
      if (principal.agentId !== null && !request.routeOptions.config.agentKeys) {
        throw ERR.forbidden('This key is bound to an agent: it can only send and read that agent\'s mail, inbox and conversations.')
      }
      const scope = requiredScope(request)
      if (!principal.scopes.includes(scope)) {
        throw ERR.forbidden(`This API key lacks the "${scope}" scope.`)
      }
    })
  },
  { name: 'auth' },
)

/** The calling key's principal on a key route (the auth hook guarantees it is there). */
export function keyPrincipal(request: FastifyRequest): Extract<Principal, { kind: 'key' }> {
  const principal = request.principal
  if (principal?.kind !== 'key') throw ERR.unauthorized('This route needs an API key.')
  return principal
}

import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ERR } from '../errors.js'
import { tokensEqual } from './api-key.js'
import { authorizeKey } from './authorize.js'
import { isJwt } from './jwt.js'
import { claimsClientId } from './oauth-access-tokens.js'
import type { AccountPrincipal, GptPrincipal, KeyPrincipal, Principal, Scope, TokenPrincipal } from './principal.js'

/**
 * How a route is reached: openly, with the operator's admin token, with a GPT's API key, or with an
 * account's credential (its key or a login access token).
 */
export type RouteAccess = 'public' | 'admin' | 'key' | 'account'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Defaults to 'key': a route is private unless it says otherwise. */
    access?: RouteAccess
    /** The scope a key needs; defaults to `read` for GET/HEAD and `write` for everything else. */
    scope?: Scope
    /** Keys bound to an agent may use this route (their service checks which agent); others are 403 for them. */
    agentKeys?: boolean
    /**
     * An end user's access token may use this route: its service confines the token to that user's own
     * data. Every other route is 403 for end users, so a new route is closed to them until it says so.
     */
    endUsers?: boolean
    /**
     * On a key route: an account's credential is taken too. The service then checks that the account
     * owns the GPT (the path alone proves nothing); scopes do not apply to an owner.
     */
    accounts?: boolean
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}

export interface AuthOptions {
  adminToken: string | null
  authenticateKey: (token: string) => Promise<KeyPrincipal>
  /** An OAuth access token of one of a GPT's apps, for the HTTP API. */
  authenticateToken: (token: string) => Promise<TokenPrincipal>
  /** The account of an account key or access token; null when the token is neither (maybe a GPT key). */
  authenticateAccount: (token: string) => Promise<AccountPrincipal | null>
}

/** The token of `Authorization: Bearer <token>`; 401 (with a Bearer challenge) when there is none. */
export function bearerToken(request: FastifyRequest): string {
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
      if (access === 'account') {
        const account = await options.authenticateAccount(token)
        if (!account) throw ERR.unauthorized('This route needs an account key or access token.')
        request.principal = account
        return
      }
      const oauthToken = claimsClientId(token)
      if (oauthToken) {
        // An app's token reaches its GPT like a key; the checks below apply to both.
      } else if (request.routeOptions.config.accounts) {
        const account = await options.authenticateAccount(token)
        if (account) {
          request.principal = account
          return
        }
      } else if (isJwt(token) && (await options.authenticateAccount(token))) {
        throw ERR.forbidden('An account access token cannot be used here: GPT data is reached with one of the GPT\'s keys.')
      }
      const principal: GptPrincipal = oauthToken ? await options.authenticateToken(token) : await options.authenticateKey(token)
      request.principal = principal
      const gptId = (request.params as { gpt_id?: unknown } | undefined)?.gpt_id
      authorizeKey(principal, {
        gptId: typeof gptId === 'string' ? gptId : undefined,
        scope: requiredScope(request),
        agentKeys: request.routeOptions.config.agentKeys,
        endUsers: request.routeOptions.config.endUsers,
      })
    })
  },
  { name: 'auth' },
)

/** The caller on a key route: one of the GPT's keys or an app's access token (the auth hook guarantees it is there). */
export function keyPrincipal(request: FastifyRequest): GptPrincipal {
  const principal = request.principal
  if (principal?.kind !== 'key' && principal?.kind !== 'token') throw ERR.unauthorized('This route needs an API key.')
  return principal
}

/** The calling account on an account route. */
export function accountPrincipal(request: FastifyRequest): AccountPrincipal {
  const principal = request.principal
  if (principal?.kind !== 'account') throw ERR.unauthorized('This route needs an account key or access token.')
  return principal
}

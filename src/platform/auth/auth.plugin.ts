import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ERR } from '../errors.js'
import { tokensEqual } from './api-key.js'
import { authorizeKey } from './authorize.js'
import { isJwt } from './jwt.js'
import { claimsClientId } from './oauth-access-tokens.js'
import type { AccountPrincipal, GptPrincipal, KeyPrincipal, OwnerPrincipal, Principal, Scope, TokenPrincipal } from './principal.js'

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
  /** Throws unless the GPT exists and (for an account; null is the operator) the account owns it. */
  checkOwner: (gptId: string, accountId: string | null) => Promise<void>
}

/** The header with which an account or the operator names the GPT it acts on, on a route a GPT key would call. */
export const GPT_HEADER = 'agentstore-gpt'

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
      const principal = await keyRouteCaller(request, options, token)
      request.principal = principal
      // An account on a route open to accounts: the service checks that it owns the GPT the path names.
      if (principal.kind === 'account') return
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

/** Who calls a key route: an owner naming its GPT, an app's token, an account (where the route takes one), or a GPT key. */
async function keyRouteCaller(request: FastifyRequest, options: AuthOptions, token: string): Promise<GptPrincipal | AccountPrincipal> {
  const actingOn = request.headers[GPT_HEADER]
  if (actingOn !== undefined) return ownerPrincipal(options, token, actingOn)
  if (claimsClientId(token)) return options.authenticateToken(token)
  if (request.routeOptions.config.accounts) {
    const account = await options.authenticateAccount(token)
    if (account) return account
  } else if (isJwt(token) && (await options.authenticateAccount(token))) {
    throw ERR.forbidden(
      "An account access token reaches GPT data only for a GPT the account owns, named in the Agentstore-GPT header (or use one of the GPT's keys).",
    )
  }
  return options.authenticateKey(token)
}

/**
 * An account or the operator acting on the GPT its Agentstore-GPT header names. Only those credentials
 * take the header: a GPT key or app token already belongs to one GPT, and a header that could point it
 * elsewhere would be a second, weaker tenant check.
 */
async function ownerPrincipal(options: AuthOptions, token: string, header: string | string[]): Promise<OwnerPrincipal> {
  // Node joins a repeated header with ", ", and no GPT id holds a comma.
  if (typeof header !== 'string' || header === '' || header.includes(',')) throw ERR.badRequest('Send one Agentstore-GPT header naming one GPT id.')
  if (options.adminToken !== null && tokensEqual(token, options.adminToken)) {
    await options.checkOwner(header, null)
    return { kind: 'owner', gptId: header, scopes: ['read', 'write', 'admin'], agentId: null, accountId: null }
  }
  const account = claimsClientId(token) ? null : await options.authenticateAccount(token)
  if (!account) throw ERR.unauthorized('The Agentstore-GPT header goes with an account credential or the admin token; a GPT key or app token already names its GPT.')
  await options.checkOwner(header, account.accountId)
  return { kind: 'owner', gptId: header, scopes: ['read', 'write', 'admin'], agentId: null, accountId: account.accountId }
}

/** The caller on a key route: one of the GPT's keys or an app's access token (the auth hook guarantees it is there). */
export function keyPrincipal(request: FastifyRequest): GptPrincipal {
  const principal = request.principal
  if (principal?.kind !== 'key' && principal?.kind !== 'token' && principal?.kind !== 'owner') throw ERR.unauthorized('This route needs an API key.')
  return principal
}

/** The calling account on an account route. */
export function accountPrincipal(request: FastifyRequest): AccountPrincipal {
  const principal = request.principal
  if (principal?.kind !== 'account') throw ERR.unauthorized('This route needs an account key or access token.')
  return principal
}

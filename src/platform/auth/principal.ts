import { ERR } from '../errors.js'

export const SCOPES = ['read', 'write', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

/** Who is calling: a GPT's API key or OAuth access token, an account (its key or a login access token), or the operator. */
export type Principal =
  /** `agentId`: the key is bound to that agent and acts only as it. */
  | { kind: 'key'; keyId: string; gptId: string; scopes: Scope[]; agentId: string | null }
  /** `sessionId`: the login session of an access token; null for the account's own key. */
  /**
   * An OAuth access token of one of the GPT's apps: for an end user (who sees only their own data), or,
   * with client credentials, for the app itself.
   */
  | {
      kind: 'token'
      tokenId: string
      gptId: string
      scopes: Scope[]
      agentId: null
      clientId: string
      grantId: string | null
      endUserId: string | null
      /** The app's own budget over all its tokens (requests per minute); null: none. */
      appRateLimitPerMinute: number | null
    }
  | { kind: 'account'; accountId: string; sessionId: string | null }
  /**
   * An account (or, with `accountId` null, the operator) acting on one GPT it may manage, named by the
   * `Agentstore-GPT` header: the GPT's owner holds every scope, as its admin key does.
   */
  | { kind: 'owner'; gptId: string; scopes: Scope[]; agentId: null; accountId: string | null }
  | { kind: 'admin' }

export type KeyPrincipal = Extract<Principal, { kind: 'key' }>
export type AccountPrincipal = Extract<Principal, { kind: 'account' }>
export type TokenPrincipal = Extract<Principal, { kind: 'token' }>
export type OwnerPrincipal = Extract<Principal, { kind: 'owner' }>
/** What reaches a GPT's data: one of its keys, an access token of one of its apps, or its owner naming it. */
export type GptPrincipal = KeyPrincipal | TokenPrincipal | OwnerPrincipal

/** The end user a caller is confined to: an end user's access token; null for whoever sees the whole GPT. */
export function endUserOf(principal: Principal | null): string | null {
  return principal?.kind === 'token' ? principal.endUserId : null
}

/**
 * The user_id an end user's request works with: their own. Naming another is refused (403), never
 * silently narrowed or widened. Without an end user, what the request named.
 */
export function ownUser(user: string | null, named: string | undefined, pointer: string, location: 'body' | 'query'): string | undefined {
  if (user === null) return named
  if (named !== undefined && named !== user) {
    throw ERR.forbidden(`An end user's token works only with its own user_id (${location} ${pointer} names another).`)
  }
  return user
}

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
    }
  | { kind: 'account'; accountId: string; sessionId: string | null }
  | { kind: 'admin' }

export type KeyPrincipal = Extract<Principal, { kind: 'key' }>
export type AccountPrincipal = Extract<Principal, { kind: 'account' }>
export type TokenPrincipal = Extract<Principal, { kind: 'token' }>
/** What reaches a GPT's data: one of its keys, or an access token of one of its apps. */
export type GptPrincipal = KeyPrincipal | TokenPrincipal

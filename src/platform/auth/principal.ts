export const SCOPES = ['read', 'write', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

/** Who is calling: a GPT's API key, an account (its key or a login access token), or the operator. */
export type Principal =
  /** `agentId`: the key is bound to that agent and acts only as it. */
  | { kind: 'key'; keyId: string; gptId: string; scopes: Scope[]; agentId: string | null }
  /** `sessionId`: the login session of an access token; null for the account's own key. */
  | { kind: 'account'; accountId: string; sessionId: string | null }
  | { kind: 'admin' }

export type KeyPrincipal = Extract<Principal, { kind: 'key' }>
export type AccountPrincipal = Extract<Principal, { kind: 'account' }>

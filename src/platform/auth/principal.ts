export const SCOPES = ['read', 'write', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

/** Who is calling: a GPT's API key, or the operator with the admin token. */
export type Principal =
  /** `agentId`: the key is bound to that agent and acts only as it. */
  | { kind: 'key'; keyId: string; gptId: string; scopes: Scope[]; agentId: string | null }
  | { kind: 'admin' }

export const SCOPES = ['read', 'write', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

/** Who is calling: a GPT's API key, or the operator with the admin token. */
export type Principal =
  | { kind: 'key'; keyId: string; gptId: string; scopes: Scope[] }
  | { kind: 'admin' }

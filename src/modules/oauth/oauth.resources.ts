import { SCOPES, type Scope } from '../../platform/auth/principal.js'

/**
 * The protected resources tokens can be issued for (RFC 8707): the HTTP API and the MCP endpoint.
 * A token is for one of them (`aud`); the HTTP API is the default.
 */
export interface OAuthResources {
  issuer: string
  api: string
  mcp: string
}

export function oauthResources(publicUrl: string): OAuthResources {
  return { issuer: publicUrl, api: `${publicUrl}/v1`, mcp: `${publicUrl}/mcp` }
}

/** Scopes an end user can grant: managing the GPT (`admin`) is for its owner, never for an app's user. */
export const END_USER_SCOPES: readonly Scope[] = ['read', 'write']

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value)
}

/** RFC 6749 §3.3: space-delimited, case-sensitive, no duplicates kept. */
export function parseScope(value: string): string[] {
  return [...new Set(value.split(' ').filter((part) => part !== ''))]
}

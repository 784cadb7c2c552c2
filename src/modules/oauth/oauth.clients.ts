import { secretMatches } from '../../platform/auth/api-key.js'
import type { AppRow, AppsRepository } from './apps.repo.js'
import { OAuthError, oauthError } from './oauth.errors.js'

/** The form parameters and Authorization header a client authenticates with (RFC 6749 §2.3.1). */
export interface ClientCredentials {
  authorization: string | undefined
  form: Record<string, string>
}

/** A hash no secret matches: an unknown client costs the same comparison as a wrong secret. */
const NO_SECRET = Buffer.alloc(32)

/**
 * Authenticates the client of a token, revocation or introspection request: `client_secret_basic`
 * or `client_secret_post` for a confidential app, `client_id` alone for a public one (RFC 6749
 * §2.3.1, §3.2.1). Exactly one method per request.
 */
export async function authenticateClient(apps: AppsRepository, { authorization, form }: ClientCredentials): Promise<AppRow> {
  const basic = authorization !== undefined ? parseBasic(authorization) : null
  if (basic && (form.client_secret !== undefined || (form.client_id !== undefined && form.client_id !== basic.id))) {
    throw oauthError('invalid_request', 'Use one client authentication method: the Authorization header or the client_secret parameter.')
  }
  const clientId = basic?.id ?? form.client_id
  if (clientId === undefined || clientId === '') throw invalidClient('Client authentication is required.', basic !== null)
  const secret = basic?.secret ?? form.client_secret
  const app = await apps.findByClientId(clientId)
  if (app?.type === 'public' && secret === undefined) return app
  const matches = secret !== undefined && secretMatches(secret, app?.secret_hash ?? NO_SECRET)
  if (!app || !matches || app.type !== 'confidential') throw invalidClient('Client authentication failed.', basic !== null)
  return app
}

function invalidClient(description: string, viaHeader: boolean): OAuthError {
  // RFC 6749 §5.2: a client that tried the Authorization header is answered with a challenge.
  return new OAuthError('invalid_client', description, viaHeader ? 'Basic realm="agentstore", charset="UTF-8"' : null)
}

/** `Basic base64(urlencode(id):urlencode(secret))`; null when the header is another scheme. */
function parseBasic(header: string): { id: string; secret: string } | null {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header)
  if (!match) {
    if (/^Basic\b/i.test(header)) throw invalidClient('The Basic credentials are malformed.', true)
    return null
  }
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw invalidClient('The Basic credentials are malformed.', true)
  let credentials: { id: string; secret: string }
  try {
    credentials = { id: decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' ')), secret: decodeURIComponent(decoded.slice(colon + 1).replaceAll('+', ' ')) }
  } catch {
    throw invalidClient('The Basic credentials are malformed.', true)
  }
  // The request's NUL guard never sees inside this header, and the database refuses NUL in text.
  if (`${credentials.id}${credentials.secret}`.includes('\0')) throw invalidClient('The Basic credentials are malformed.', true)
  return credentials
}

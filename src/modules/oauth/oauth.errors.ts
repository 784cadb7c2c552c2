/** The error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 7009 §2.2.1 and RFC 8707 §2. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'server_error'
  | 'invalid_target'

/**
 * An error of the OAuth protocol endpoints. These answer in the protocol's own JSON shape
 * (`{error, error_description}`, RFC 6749 §5.2) that every OAuth client library reads, not as
 * problem details.
 */
export class OAuthError extends Error {
  /** 400, or 401 for a client that failed to authenticate (RFC 6749 §5.2). */
  readonly status: number

  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    /** The WWW-Authenticate challenge of a 401. */
    readonly challenge: string | null = null,
  ) {
    super(description)
    this.status = error === 'invalid_client' ? 401 : 400
  }
}

export const oauthError = (error: OAuthErrorCode, description: string) => new OAuthError(error, description)

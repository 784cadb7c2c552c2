import { randomUUID } from 'node:crypto'
import { decodeJwt, errors, jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose'
import { ERR } from '../errors.js'
import { isJwt } from './jwt.js'
import { SIGNING_ALG, type SigningKeyStore } from './signing-keys.js'

/** RFC 9068 §2.1: the `typ` of a JWT access token. */
const ACCESS_TOKEN_TYP = 'at+jwt'

/** The claims of an OAuth access token (RFC 9068 §2.2, plus the GPT it opens). */
export interface OAuthTokenClaims {
  /** The end user, or the client itself for a client-credentials token (RFC 9068 §2.2). */
  sub: string
  aud: string
  gpt: string
  /** Space-separated, as in RFC 6749 §3.3. */
  scope: string
  client_id: string
  /** The grant (the consent and its refresh-token family); absent for client credentials. */
  sid: string | null
  jti: string
  exp: number
  iat: number
}

export interface IssuedAccessToken {
  token: string
  jti: string
  expiresAt: Date
}

/**
 * The ES256 JWT access tokens of the OAuth server, signed with the same stored keys as logins. Their
 * audience is a protected resource of this service (never the service's own URL, which is the
 * audience of account logins), so neither kind passes for the other.
 */
export class OAuthAccessTokens {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly options: { issuer: string; ttlSeconds: number },
  ) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds
  }

  async issue(claims: Omit<OAuthTokenClaims, 'jti' | 'exp' | 'iat'>): Promise<IssuedAccessToken> {
    const { kid, privateKey } = await this.keys.signer()
    const jti = randomUUID()
    const iat = Math.floor(Date.now() / 1000)
    const exp = iat + this.options.ttlSeconds
    const payload: Record<string, string> = { gpt: claims.gpt, scope: claims.scope, client_id: claims.client_id }
    if (claims.sid !== null) payload.sid = claims.sid
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: ACCESS_TOKEN_TYP })
      .setIssuer(this.options.issuer)
      .setAudience(claims.aud)
      .setSubject(claims.sub)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(privateKey)
    return { token, jti, expiresAt: new Date(exp * 1000) }
  }

  /**
   * The claims of a token that is signed by one of our keys, of our issuer, for one of `audiences`,
   * and not expired; a 401 with `error="invalid_token"` (RFC 6750 §3.1) for anything else, `alg: none` included.
   */
  async verify(token: string, audiences: string[]): Promise<OAuthTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, (header: JWTHeaderParameters) => this.key(header), {
        issuer: this.options.issuer,
        audience: audiences,
        algorithms: [SIGNING_ALG],
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ['sub', 'aud', 'gpt', 'scope', 'client_id', 'jti', 'exp', 'iat'],
      })
      const { sub, aud, gpt, scope, client_id: clientId, sid, jti, exp, iat } = payload
      const audience = Array.isArray(aud) ? aud[0] : aud
      if (
        typeof sub !== 'string' || typeof audience !== 'string' || typeof gpt !== 'string' || typeof scope !== 'string' ||
        typeof clientId !== 'string' || typeof jti !== 'string' || typeof exp !== 'number' || typeof iat !== 'number' ||
        (sid !== undefined && typeof sid !== 'string')
      ) {
        throw ERR.invalidToken('The access token is not valid.')
      }
      return { sub, aud: audience, gpt, scope, client_id: clientId, sid: sid ?? null, jti, exp, iat }
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw ERR.invalidToken('The access token has expired.')
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') throw ERR.invalidToken('The access token is not meant for this resource.')
      throw ERR.invalidToken('The access token is not valid.')
    }
  }

  private async key(header: JWTHeaderParameters) {
    const key = typeof header.kid === 'string' ? await this.keys.publicKey(header.kid) : null
    if (!key) throw ERR.invalidToken('The access token is not valid.')
    return key
  }
}

/**
 * Whether a token is a JWT that claims to be an OAuth access token (it names a client) rather than an
 * account's login token or a key; only a hint for choosing the verifier. The verifier decodes the
 * token again on purpose: it must read the claims only from a token whose signature it has checked.
 */
export function claimsClientId(token: string): boolean {
  if (!isJwt(token)) return false
  try {
    return typeof decodeJwt(token).client_id === 'string'
  } catch {
    return false
  }
}

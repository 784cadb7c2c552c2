import { randomUUID } from 'node:crypto'
import { errors, jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose'
import { ERR } from '../errors.js'
import { SIGNING_ALG, type SigningKeyStore } from './signing-keys.js'

/** RFC 9068: the `typ` of a JWT access token, so that no other JWT we sign passes as one. */
const ACCESS_TOKEN_TYP = 'at+jwt'

export interface AccessTokenClaims {
  sub: string
  sid: string
}

export interface AccessTokenOptions {
  issuer: string
  audience: string
  ttlSeconds: number
}

/** Issues and checks the ES256 JWT access tokens of logins. */
export class AccessTokens {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly options: AccessTokenOptions,
  ) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds
  }

  async issue(claims: AccessTokenClaims): Promise<string> {
    const { kid, privateKey } = await this.keys.signer()
    return new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: ACCESS_TOKEN_TYP })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(claims.sub)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${this.options.ttlSeconds}s`)
      .sign(privateKey)
  }

  /** The claims of a valid token; a 401 with `error="invalid_token"` for anything else. */
  async verify(token: string): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, (header: JWTHeaderParameters) => this.key(header), {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: [SIGNING_ALG],
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
      })
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw ERR.invalidToken('The access token is not valid.')
      return { sub: payload.sub, sid: payload.sid }
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw ERR.invalidToken('The access token has expired.')
      throw ERR.invalidToken('The access token is not valid.')
    }
  }

  private async key(header: JWTHeaderParameters) {
    const key = typeof header.kid === 'string' ? await this.keys.publicKey(header.kid) : null
    if (!key) throw ERR.invalidToken('The access token is not valid.')
    return key
  }
}

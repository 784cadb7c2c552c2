import { identityEvent, type AuditContext, type AuditSink } from '../../platform/audit/audit.js'
import { hashSecret } from '../../platform/auth/api-key.js'
import { isJwt } from '../../platform/auth/jwt.js'
import type { OAuthAccessTokens, OAuthTokenClaims } from '../../platform/auth/oauth-access-tokens.js'
import type { Scope, TokenPrincipal } from '../../platform/auth/principal.js'
import { AppError, ERR } from '../../platform/errors.js'
import type { AppRow, AppsRepository } from './apps.repo.js'
import { authenticateClient, type ClientCredentials } from './oauth.clients.js'
import { oauthError } from './oauth.errors.js'
import type { OAuthRepository, TokenState } from './oauth.repo.js'
import { isScope, parseScope, type OAuthResources } from './oauth.resources.js'
import type { OAuthTokenCache } from './oauth.token-cache.js'
import type { OAuthTokensService } from './oauth.tokens.service.js'

/** RFC 7662 §2.2. */
export type IntrospectionResponse = { active: false } | ({ active: true; token_type: string; client_id: string; scope: string; sub: string; gpt: string } & Record<string, unknown>)

/**
 * Access tokens as the resource server sees them (checked on every request), and the revocation
 * (RFC 7009) and introspection (RFC 7662) endpoints.
 */
export class OAuthAccessService {
  constructor(
    private readonly apps: AppsRepository,
    private readonly repo: OAuthRepository,
    private readonly tokens: OAuthAccessTokens,
    private readonly grants: OAuthTokensService,
    private readonly cache: OAuthTokenCache,
    private readonly resources: OAuthResources,
    private readonly audit: AuditSink,
  ) {}

  /** The principal of a valid, unrevoked access token for one of `audiences`; 401 `invalid_token` otherwise. */
  async authenticate(token: string, audiences: string[] = [this.resources.api], now = Date.now()): Promise<TokenPrincipal> {
    const claims = await this.tokens.verify(token, audiences)
    const state = await this.state(claims, now)
    if (!state.live) throw ERR.invalidToken('The access token was revoked.')
    const scopes = parseScope(claims.scope).filter(isScope) as Scope[]
    return {
      kind: 'token',
      tokenId: claims.jti,
      gptId: claims.gpt,
      scopes,
      agentId: null,
      clientId: claims.client_id,
      grantId: claims.sid,
      // RFC 9068 §2.2: a token with no resource owner names its client as its subject.
      endUserId: claims.sid === null || claims.sub === claims.client_id ? null : claims.sub,
      appRateLimitPerMinute: state.rateLimitPerMinute,
    }
  }

  /** RFC 7009: 200 whether or not the token was known, so that the answer tells nothing. */
  async revoke(credentials: ClientCredentials, context: AuditContext): Promise<void> {
    const app = await authenticateClient(this.apps, credentials)
    const token = credentials.form.token
    if (token === undefined) throw oauthError('invalid_request', 'token is missing.')
    const claims = await this.accessClaims(token)
    if (claims) {
      if (claims.client_id !== app.client_id) return
      await this.repo.revokeAccessToken(claims.jti, new Date(claims.exp * 1000))
      await this.cache.forgetToken(claims.jti)
      this.event(context, app, 'token.revoked', { jti: claims.jti })
      return
    }
    const refresh = await this.repo.findRefreshToken(hashSecret(token))
    if (!refresh || refresh.grant.app_id !== app.id) return
    await this.grants.endGrant(refresh.grant.id)
    this.event(context, app, 'token.revoked', { grant_id: refresh.grant.id })
  }

  /** RFC 7662: what a token of one of the same GPT's apps is; `{active: false}` for anything else. */
  async introspect(credentials: ClientCredentials): Promise<IntrospectionResponse> {
    const app = await authenticateClient(this.apps, credentials)
    // RFC 7662 §4: only a client that proved who it is may learn about tokens; a public one cannot.
    if (app.type !== 'confidential') throw oauthError('unauthorized_client', 'Only a confidential app (with a client secret) may introspect tokens.')
    const token = credentials.form.token
    if (token === undefined) throw oauthError('invalid_request', 'token is missing.')
    const claims = await this.accessClaims(token)
    if (claims) {
      if (claims.gpt !== app.gpt_id || !(await this.state(claims, Date.now())).live) return { active: false }
      return { active: true, token_type: 'Bearer', iss: this.resources.issuer, ...claims, sid: undefined }
    }
    const refresh = await this.repo.findRefreshToken(hashSecret(token))
    if (!refresh || !refresh.grant_live || refresh.used_at !== null || refresh.grant.gpt_id !== app.gpt_id) return { active: false }
    const owner = await this.apps.findById(refresh.grant.app_id)
    if (!owner) return { active: false }
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: owner.client_id,
      scope: refresh.grant.scopes.join(' '),
      sub: refresh.grant.end_user_id ?? owner.client_id,
      gpt: refresh.grant.gpt_id,
      aud: refresh.grant.resource,
      iss: this.resources.issuer,
      exp: Math.floor(refresh.grant.expires_at.getTime() / 1000),
    }
  }

  private async state(claims: OAuthTokenClaims, now: number): Promise<TokenState> {
    let state = this.cache.state(claims.sid, claims.jti, now)
    if (state === undefined) {
      state = await this.repo.accessTokenLive(claims.client_id, claims.sid, claims.jti)
      this.cache.set(claims.sid, claims.jti, claims.client_id, state, now)
    }
    return state
  }

  /** The claims of a JWT access token of ours (for any resource); null for anything else. */
  private async accessClaims(token: string): Promise<OAuthTokenClaims | null> {
    if (!isJwt(token)) return null
    try {
      return await this.tokens.verify(token, [this.resources.api, this.resources.mcp])
    } catch (error) {
      if (error instanceof AppError) return null
      throw error
    }
  }

  private event(context: AuditContext, app: AppRow, action: string, targets: Record<string, string>) {
    const principal = { kind: 'app' as const, id: app.client_id }
    this.audit.record(identityEvent(context, { action, status: 200, gptId: app.gpt_id, principal, targets: { app_id: app.id, ...targets } }))
  }
}

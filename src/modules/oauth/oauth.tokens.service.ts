import { uuidv7 } from 'uuidv7'
import { identityEvent, type AuditContext, type AuditSink } from '../../platform/audit/audit.js'
import { hashSecret, newRefreshToken } from '../../platform/auth/api-key.js'
import type { OAuthAccessTokens } from '../../platform/auth/oauth-access-tokens.js'
import type { AppRow, AppsRepository } from './apps.repo.js'
import { s256 } from './oauth.authorize.js'
import { authenticateClient, type ClientCredentials } from './oauth.clients.js'
import { oauthError } from './oauth.errors.js'
import type { GrantRow, OAuthRepository } from './oauth.repo.js'
import { parseScope, type OAuthResources } from './oauth.resources.js'
import type { OAuthTokenCache } from './oauth.token-cache.js'

/** RFC 7636 §4.1: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/

/** RFC 6749 §5.1. */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token?: string
  scope: string
}

/** The token endpoint's three grants (RFC 6749 §4.1.3, §4.4, §6; OAuth 2.1 refresh token rotation). */
export class OAuthTokensService {
  constructor(
    private readonly apps: AppsRepository,
    private readonly repo: OAuthRepository,
    private readonly tokens: OAuthAccessTokens,
    private readonly cache: OAuthTokenCache,
    private readonly resources: OAuthResources,
    private readonly options: { refreshTokenTtlSeconds: number },
    private readonly audit: AuditSink,
  ) {}

  /**
   * `refreshable`: a client-credentials grant also gets a refresh token (the Custom GPT adapter's
   * clients expect one); it rotates and is guarded against reuse like any other.
   */
  async token(credentials: ClientCredentials, context: AuditContext, options: { refreshable?: boolean } = {}): Promise<TokenResponse> {
    const { form } = credentials
    if (form.grant_type === undefined) throw oauthError('invalid_request', 'grant_type is missing.')
    const app = await authenticateClient(this.apps, credentials)
    let answer: TokenResponse
    if (form.grant_type === 'authorization_code') answer = await this.exchangeCode(app, form, context)
    else if (form.grant_type === 'refresh_token') answer = await this.refresh(app, form, context)
    else if (form.grant_type === 'client_credentials') answer = await this.clientCredentials(app, form, context, options.refreshable === true)
    else throw oauthError('unsupported_grant_type', 'grant_type must be authorization_code, refresh_token or client_credentials.')
    await this.apps.touchApp(app.id)
    return answer
  }

  private async exchangeCode(app: AppRow, form: Record<string, string>, context: AuditContext): Promise<TokenResponse> {
    if (form.code === undefined) throw oauthError('invalid_request', 'code is missing.')
    const codeHash = hashSecret(form.code)
    const code = await this.repo.findCode(codeHash)
    if (!code || code.app_id !== app.id) throw oauthError('invalid_grant', 'The code is not valid.')
    if (code.grant_id !== null) {
      // RFC 6749 §4.1.2: a code used twice may have been stolen; what it gave is taken back.
      await this.endGrant(code.grant_id)
      this.event(context, app, 'code.reused', 400, { grant_id: code.grant_id })
      throw oauthError('invalid_grant', 'The code was already used; the tokens it gave are revoked.')
    }
    if (code.expires_at.getTime() <= Date.now()) throw oauthError('invalid_grant', 'The code has expired.')
    if ((code.redirect_given || form.redirect_uri !== undefined) && form.redirect_uri !== code.redirect_uri) {
      throw oauthError('invalid_grant', 'redirect_uri must be the one of the authorization request.')
    }
    if (code.code_challenge !== null) {
      if (form.code_verifier === undefined) throw oauthError('invalid_request', 'code_verifier is missing (the authorization request used PKCE).')
      if (!CODE_VERIFIER.test(form.code_verifier) || s256(form.code_verifier) !== code.code_challenge) throw oauthError('invalid_grant', 'The code_verifier does not match the code_challenge.')
    } else if (form.code_verifier !== undefined) {
      throw oauthError('invalid_grant', 'The authorization request sent no code_challenge, so no code_verifier is expected.')
    }
    if (form.resource !== undefined && form.resource !== code.resource) throw oauthError('invalid_target', 'resource must be the one of the authorization request.')
    const refresh = newRefreshToken()
    const grant = {
      id: uuidv7(),
      gpt_id: app.gpt_id,
      app_id: app.id,
      end_user_id: code.end_user_id,
      scopes: code.scopes,
      resource: code.resource,
      expires_at: new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000),
    }
    if (!(await this.repo.exchangeCode(codeHash, grant, refresh.hash))) throw oauthError('invalid_grant', 'The code was already used.')
    this.event(context, app, 'token.issued', 200, { grant_id: grant.id, end_user_id: code.end_user_id }, { grant_type: 'authorization_code' })
    return this.answer(app, { ...grant, revoked_at: null, created_at: new Date(), last_used_at: null }, grant.scopes, refresh.token)
  }

  private async refresh(app: AppRow, form: Record<string, string>, context: AuditContext): Promise<TokenResponse> {
    if (form.refresh_token === undefined) throw oauthError('invalid_request', 'refresh_token is missing.')
    const hash = hashSecret(form.refresh_token)
    const row = await this.repo.findRefreshToken(hash)
    if (!row || row.grant.app_id !== app.id) throw oauthError('invalid_grant', 'The refresh token is not valid.')
    if (!row.grant_live) throw oauthError('invalid_grant', 'The refresh token was revoked or has expired.')
    const scopes = form.scope === undefined ? row.grant.scopes : parseScope(form.scope)
    const wider = scopes.filter((scope) => !row.grant.scopes.includes(scope))
    if (wider.length > 0 || scopes.length === 0) throw oauthError('invalid_scope', `The refresh token was not granted: ${wider.join(', ') || '(no scope)'}.`)
    const next = newRefreshToken()
    const rotated = row.used_at === null && (await this.repo.rotateRefreshToken(hash, row.grant.id, next.hash))
    if (!rotated) {
      // Two holders of one refresh token: one of them stole it, so neither may go on (OAuth 2.1 §4.3.1).
      await this.endGrant(row.grant.id)
      this.event(context, app, 'refreshToken.reused', 400, { grant_id: row.grant.id })
      throw oauthError('invalid_grant', 'The refresh token was already used; its grant is revoked.')
    }
    this.event(context, app, 'token.refreshed', 200, { grant_id: row.grant.id })
    return this.answer(app, row.grant, scopes, next.token)
  }

  /**
   * The Custom GPT adapter's refresh: the refresh token of a client-credentials grant, sent alone. It
   * was issued to an authenticated client and rotates, so a stolen one used twice ends its grant; a
   * grant made for an end user still needs its client's credentials (the token endpoint).
   */
  async refreshClientGrant(refreshToken: string, context: AuditContext): Promise<TokenResponse> {
    const row = await this.repo.findRefreshToken(hashSecret(refreshToken))
    const app = row && row.grant.end_user_id === null ? await this.apps.findById(row.grant.app_id) : null
    if (!app) throw oauthError('invalid_grant', 'The refresh token is not valid.')
    const answer = await this.refresh(app, { refresh_token: refreshToken }, context)
    await this.apps.touchApp(app.id)
    return answer
  }

  private async clientCredentials(app: AppRow, form: Record<string, string>, context: AuditContext, refreshable: boolean): Promise<TokenResponse> {
    if (app.type !== 'confidential') throw oauthError('unauthorized_client', 'A public app cannot use client_credentials.')
    const scopes = form.scope === undefined ? app.scopes : parseScope(form.scope)
    const refused = scopes.filter((scope) => !app.scopes.includes(scope))
    if (refused.length > 0 || scopes.length === 0) throw oauthError('invalid_scope', `Not available to this app: ${refused.join(', ') || '(no scope)'}.`)
    const resource = form.resource ?? this.resources.api
    if (resource !== this.resources.api && resource !== this.resources.mcp) throw oauthError('invalid_target', `resource must be ${this.resources.api} or ${this.resources.mcp}.`)
    if (refreshable) {
      const refresh = newRefreshToken()
      const grant = { id: uuidv7(), gpt_id: app.gpt_id, app_id: app.id, end_user_id: null, scopes, resource, expires_at: new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000) }
      await this.repo.insertGrant(grant, refresh.hash)
      this.event(context, app, 'token.issued', 200, { grant_id: grant.id }, { grant_type: 'client_credentials' })
      return this.answer(app, { ...grant, revoked_at: null, created_at: new Date(), last_used_at: null }, scopes, refresh.token)
    }
    const issued = await this.tokens.issue({ sub: app.client_id, aud: resource, gpt: app.gpt_id, scope: scopes.join(' '), client_id: app.client_id, sid: null })
    this.event(context, app, 'token.issued', 200, { jti: issued.jti }, { grant_type: 'client_credentials' })
    return { access_token: issued.token, token_type: 'Bearer', expires_in: this.tokens.ttlSeconds, scope: scopes.join(' ') }
  }

  private async answer(app: AppRow, grant: GrantRow, scopes: string[], refreshToken: string): Promise<TokenResponse> {
    const scope = scopes.join(' ')
    const issued = await this.tokens.issue({ sub: grant.end_user_id ?? app.client_id, aud: grant.resource, gpt: app.gpt_id, scope, client_id: app.client_id, sid: grant.id })
    return { access_token: issued.token, token_type: 'Bearer', expires_in: this.tokens.ttlSeconds, refresh_token: refreshToken, scope }
  }

  /** Housekeeping: consent requests, codes, grants and revocation records no one can use any more. */
  purgeSpent(): Promise<number> {
    return this.repo.purgeSpent()
  }

  async endGrant(grantId: string): Promise<void> {
    await this.repo.revokeGrant(grantId)
    await this.cache.forgetGrant(grantId)
  }

  private event(context: AuditContext, app: AppRow, action: string, status: number, targets: Record<string, string>, request: Record<string, string> | null = null) {
    const principal = { kind: 'app' as const, id: app.client_id }
    this.audit.record(identityEvent(context, { action, status, gptId: app.gpt_id, principal, targets: { app_id: app.id, ...targets }, request }))
  }
}

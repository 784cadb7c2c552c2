import type { Config } from './config.js'
import type { AuditSink } from './platform/audit/audit.js'
import { OAuthAccessTokens } from './platform/auth/oauth-access-tokens.js'
import type { SigningKeyStore } from './platform/auth/signing-keys.js'
import type { Database } from './platform/db/database.js'
import type { LoginThrottle } from './modules/accounts/login-throttle.js'
import type { GptsService } from './modules/gpts/gpts.service.js'
import { AppsRepository } from './modules/oauth/apps.repo.js'
import { AppsService } from './modules/oauth/apps.service.js'
import { EndUsersRepository } from './modules/oauth/end-users.repo.js'
import { EndUsersService } from './modules/oauth/end-users.service.js'
import { OAuthAccessService } from './modules/oauth/oauth.access.service.js'
import { AuthorizeService } from './modules/oauth/oauth.authorize.js'
import { OAuthRepository } from './modules/oauth/oauth.repo.js'
import { oauthResources, type OAuthResources } from './modules/oauth/oauth.resources.js'
import type { OAuthTokenCache } from './modules/oauth/oauth.token-cache.js'
import { OAuthTokensService } from './modules/oauth/oauth.tokens.service.js'

/** The OAuth 2.1 authorization server: apps, the consent page, tokens, and access-token checks. */
export interface OAuthServices {
  apps: AppsService
  authorize: AuthorizeService
  tokens: OAuthTokensService
  access: OAuthAccessService
  resources: OAuthResources
}

/** Wires the OAuth server over the services it shares with the rest (GPTs, signing keys, the login throttle, audit). */
export function createOAuth(deps: {
  database: Database
  config: Pick<Config, 'publicUrl' | 'accounts' | 'defaultPageSize'>
  signingKeys: SigningKeyStore
  gpts: GptsService
  cache: OAuthTokenCache
  throttle: LoginThrottle
  audit: AuditSink
}): OAuthServices {
  const { database, config, signingKeys, gpts, cache, throttle, audit } = deps
  const resources = oauthResources(config.publicUrl)
  const appsRepo = new AppsRepository(database.db)
  const oauthRepo = new OAuthRepository(database.db)
  const accessTokens = new OAuthAccessTokens(signingKeys, { issuer: config.publicUrl, ttlSeconds: config.accounts.accessTokenTtlSeconds })
  const tokens = new OAuthTokensService(appsRepo, oauthRepo, accessTokens, cache, resources, { refreshTokenTtlSeconds: config.accounts.refreshTokenTtlSeconds }, audit)
  return {
    apps: new AppsService(appsRepo, oauthRepo, gpts, cache, tokens, config, audit),
    authorize: new AuthorizeService(appsRepo, oauthRepo, gpts, new EndUsersService(new EndUsersRepository(database.db), throttle), resources, audit),
    tokens,
    access: new OAuthAccessService(appsRepo, oauthRepo, accessTokens, tokens, cache, resources, audit),
    resources,
  }
}

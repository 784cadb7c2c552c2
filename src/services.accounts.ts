import type { Config } from './config.js'
import type { AuditSink } from './platform/audit/audit.js'
import { AccessTokens } from './platform/auth/access-tokens.js'
import { SigningKeyStore } from './platform/auth/signing-keys.js'
import type { Database } from './platform/db/database.js'
import type { EventBus } from './platform/events/event-bus.js'
import { AccountAuthCache } from './modules/accounts/account-auth-cache.js'
import { AccountSessionsRepository } from './modules/accounts/account-sessions.repo.js'
import { AccountSessionsService } from './modules/accounts/account-sessions.service.js'
import { AccountsRepository } from './modules/accounts/accounts.repo.js'
import { AccountsService } from './modules/accounts/accounts.service.js'
import { LoginFailuresRepository } from './modules/accounts/login-failures.repo.js'
import { LoginThrottle, type LoginThrottleOptions } from './modules/accounts/login-throttle.js'
import type { GptsService } from './modules/gpts/gpts.service.js'
import type { KeyCache } from './modules/keys/key-cache.js'
import { OAuthTokenCache } from './modules/oauth/oauth.token-cache.js'

/** Accounts with their sign-ins and the keys that sign access tokens, and the caches the OAuth server shares. */
export function createAccounts(deps: {
  database: Database
  config: Pick<Config, 'accounts' | 'keyCacheTtlMs' | 'publicUrl'>
  events: EventBus
  log: { warn(object: object, message: string): void }
  gpts: GptsService
  keyCache: KeyCache
  audit: AuditSink
  loginThrottle?: LoginThrottleOptions
}) {
  const { database, config, events, log, gpts, keyCache, audit } = deps
  const signingKeys = new SigningKeyStore(database.db, config.accounts.accessTokenTtlSeconds, events)
  const accountsRepo = new AccountsRepository(database.db)
  const accountCache = new AccountAuthCache(config.keyCacheTtlMs, events, log)
  const oauthCache = new OAuthTokenCache(config.keyCacheTtlMs, events, log)
  const throttle = new LoginThrottle(new LoginFailuresRepository(database.db), deps.loginThrottle)
  const accountSessions = new AccountSessionsService(
    new AccountSessionsRepository(database.db),
    accountsRepo,
    // The access tokens are for this service's own API: it is both their issuer and their audience.
    new AccessTokens(signingKeys, { issuer: config.publicUrl, audience: config.publicUrl, ttlSeconds: config.accounts.accessTokenTtlSeconds }),
    throttle,
    accountCache,
    { refreshTokenTtlSeconds: config.accounts.refreshTokenTtlSeconds },
    audit,
  )
  const accounts = new AccountsService(accountsRepo, accountSessions, gpts, accountCache, {
    signup: config.accounts.signup,
    forgetGptKeys: async (gptIds) => {
      for (const gptId of gptIds) await keyCache.forgetGpt(gptId)
      // Their apps' access tokens too (rare enough to forget every cached token).
      if (gptIds.length > 0) await oauthCache.forgetAll()
    },
    audit,
  })
  return { signingKeys, accountSessions, accounts, oauthCache, throttle }
}

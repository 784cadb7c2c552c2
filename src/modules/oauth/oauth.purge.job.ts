import type { SigningKeyStore } from '../../platform/auth/signing-keys.js'
import type { JobDefinition, JobLogger } from '../../platform/jobs/jobs.queue.js'
import type { OAuthTokensService } from './oauth.tokens.service.js'

export const PURGE_OAUTH_JOB = 'oauth.purge'
/** Daily at 04:23 UTC, apart from the other purges. */
export const PURGE_OAUTH_SCHEDULE = '23 4 * * *'

/**
 * Deletes what the OAuth server can no longer use: expired consent requests and codes, grants revoked
 * or expired over a day ago (with their refresh tokens), records of revoked access tokens past their
 * expiry, and retired signing keys whose tokens have all expired.
 */
export function purgeOAuthJob(deps: { tokens: OAuthTokensService; signingKeys: SigningKeyStore; logger: JobLogger }): JobDefinition {
  return {
    name: PURGE_OAUTH_JOB,
    schedule: PURGE_OAUTH_SCHEDULE,
    retryLimit: 3,
    retryDelaySeconds: 60,
    timeoutSeconds: 600,
    policy: 'short',
    async handler() {
      const counts = { oauthRows: await deps.tokens.purgeSpent(), signingKeys: await deps.signingKeys.purgeRetired() }
      deps.logger.info({ job: PURGE_OAUTH_JOB, ...counts }, 'purged spent OAuth records')
      return counts
    },
  }
}

import type { Database } from './platform/db/database.js'
import type { JobDefinition, JobLogger } from './platform/jobs/jobs.queue.js'
import type { JobRuns } from './platform/jobs/job-runs.js'
import { vacuumEmbeddedJob } from './platform/db/vacuum.job.js'
import { recoverInterruptedJob } from './modules/chat/chat.recover-interrupted.job.js'
import type { GenerationService } from './modules/chat/generation.service.js'
import { purgeExpiredKeysJob } from './modules/keys/keys.purge-expired.job.js'
import { embedMemoriesJob } from './modules/memories/memories.embed.job.js'
import { extractionRunJob } from './modules/extraction/extraction.run.job.js'
import { extractionSweepJob } from './modules/extraction/extraction.sweep.job.js'
import type { ExtractionService } from './modules/extraction/extraction.service.js'
import type { EmbeddingWorker } from './modules/search/embedding-worker.js'
import { backfillEmbeddingsJob } from './modules/search/embeddings.backfill.job.js'
import { embedChangedJob } from './modules/search/embeddings.changed.job.js'
import { purgeDeletedAccountsJob } from './modules/accounts/accounts.purge-deleted.job.js'
import type { AccountsService } from './modules/accounts/accounts.service.js'
import { purgeAuditJob } from './modules/audit/audit.purge.job.js'
import type { AuditService } from './modules/audit/audit.service.js'
import { purgeOAuthJob } from './modules/oauth/oauth.purge.job.js'
import type { OAuthTokensService } from './modules/oauth/oauth.tokens.service.js'
import type { SigningKeyStore } from './platform/auth/signing-keys.js'
import { backupJob } from './modules/backups/backups.job.js'
import type { BackupService } from './modules/backups/backups.service.js'
import { SETTINGS } from './config.settings.js'
import { purgeConsoleSessionsJob } from './modules/console/console.purge-sessions.job.js'
import type { ConsoleSessionsService } from './modules/console/console-sessions.service.js'
import { purgeExpiredDocumentsJob } from './modules/retention/documents.purge-expired.job.js'
import { purgeOldMailJob } from './modules/retention/mail.purge-old.job.js'
import { purgeExpiredMemoriesJob } from './modules/retention/memories.purge-expired.job.js'
import type { RetentionService } from './modules/retention/retention.service.js'
import { purgeOldSessionsJob } from './modules/retention/sessions.purge-old.job.js'

export interface JobDependencies {
  database: Database
  logger: JobLogger
  /** Days a revoked or expired API key is kept before the daily purge deletes it (default 30). */
  keyRetentionDays?: number
  embeddingWorker: EmbeddingWorker
  generation: GenerationService
  extraction: ExtractionService
  /** EXTRACTION_CONCURRENCY: extraction runs at once in this process. */
  extractionConcurrency: number
  accounts: AccountsService
  /** Days a deleted account is kept (restorable) before the daily purge removes it with its GPTs. */
  accountRetentionDays: number
  audit: AuditService
  /** Days audit rows are kept before the daily purge deletes them (default 90). */
  auditRetentionDays?: number
  oauthTokens: OAuthTokensService
  signingKeys: SigningKeyStore
  backups: BackupService
  /** Expired documents and memories, and the sessions and mail past their GPT's retention. */
  retention: RetentionService
  /** BACKUP_CRON (default `30 2 * * *`); null: backups only on demand. */
  backupSchedule?: string | null
  /** Console sign-ins, whose expired rows the hourly purge deletes. */
  console: ConsoleSessionsService
  /** Counts each job's runs in this process, for the console's overview. */
  runs?: JobRuns
}

/**
 * Every background job of the service, one file each next to its module. A new job is added here,
 * so that the list of what runs in the background is in one place (beside services.ts, which
 * composes the services these jobs use: the platform's queue knows no module).
 */
export function buildJobDefinitions(deps: JobDependencies): JobDefinition[] {
  const definitions: JobDefinition[] = [
    purgeExpiredKeysJob({ db: deps.database.db, logger: deps.logger, retentionDays: deps.keyRetentionDays }),
    embedMemoriesJob({ worker: deps.embeddingWorker, logger: deps.logger }),
    embedChangedJob({ worker: deps.embeddingWorker, logger: deps.logger }),
    backfillEmbeddingsJob({ worker: deps.embeddingWorker, logger: deps.logger }),
    recoverInterruptedJob({ generation: deps.generation, logger: deps.logger }),
    extractionRunJob({ extraction: deps.extraction, logger: deps.logger, concurrency: deps.extractionConcurrency }),
    extractionSweepJob({ extraction: deps.extraction, logger: deps.logger }),
    purgeDeletedAccountsJob({ accounts: deps.accounts, logger: deps.logger, retentionDays: deps.accountRetentionDays }),
    purgeAuditJob({ audit: deps.audit, logger: deps.logger, retentionDays: deps.auditRetentionDays }),
    purgeOAuthJob({ tokens: deps.oauthTokens, signingKeys: deps.signingKeys, logger: deps.logger }),
    purgeExpiredDocumentsJob({ retention: deps.retention, logger: deps.logger }),
    purgeExpiredMemoriesJob({ retention: deps.retention, logger: deps.logger }),
    purgeOldSessionsJob({ retention: deps.retention, logger: deps.logger }),
    purgeOldMailJob({ retention: deps.retention, logger: deps.logger }),
    purgeConsoleSessionsJob({ console: deps.console, logger: deps.logger }),
    backupJob({ backups: deps.backups, logger: deps.logger, schedule: deps.backupSchedule === undefined ? SETTINGS.BACKUP_CRON.default : deps.backupSchedule }),
    // PostgreSQL's autovacuum does this; embedded PGlite has none.
    ...(deps.database.kind === 'pglite' ? [vacuumEmbeddedJob({ db: deps.database.db, logger: deps.logger })] : []),
  ]
  return deps.runs ? definitions.map((definition) => deps.runs!.counted(definition)) : definitions
}

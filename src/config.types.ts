// The shape of the parsed configuration (src/config.ts fills it from SETTINGS).
import type { CompatSurface } from './config.settings.js'
import type { EmbeddingsSettings } from './platform/embeddings/embeddings.provider.js'
import type { LlmProviderName } from './platform/llm/llm.js'
import type { RateLimitRule } from './platform/limits/rate-limit.rules.js'

export type { LlmProviderName }

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface Config {
  host: string
  port: number
  publicUrl: string
  dataDir: string
  databaseUrl: string | null
  databasePoolSize: number
  /** Embedded PGlite's shared_buffers, in MB. */
  pgliteSharedBuffersMb: number
  /** pgvector HNSW index parameters (build: m, efConstruction; queries: efSearch). */
  hnsw: HnswConfig
  redisUrl: string | null
  /** Starts every Redis key and channel name, so that deployments can share one Redis. */
  redisPrefix: string
  adminToken: string | null
  /** Lifetime of an admin console sign-in. */
  consoleSessionTtlSeconds: number
  logLevel: LogLevel
  bodyLimit: number
  rateLimits: RateLimitRule[]
  trustProxy: boolean
  /** Browser origins allowed by CORS: a list (with credentials), '*' (any, without), or null (no CORS). */
  corsOrigins: string[] | '*' | null
  shutdownTimeoutMs: number
  defaultPageSize: number
  maxPageSize: number
  keyTouchIntervalMs: number
  keyCacheTtlMs: number
  jobsEnabled: boolean
  maxJsonDepth: number
  importBodyLimit: number
  importMaxLines: number
  archiveImportMaxBytes: number
  maxMailChars: number
  maxRecipients: number
  /** Origins (scheme://host[:port]) a browser may call /mcp from; PUBLIC_URL's origin always may. */
  mcpAllowedOrigins: string[]
  sseHeartbeatMs: number
  maxMessageChars: number
  chatHistoryMessages: number
  partialSaveMs: number
  /** How long a generation holds its session without renewing (renewed every third of it): how soon a crashed process's generation can be resumed. */
  generationLeaseMs: number
  llm: LlmConfig
  embeddings: EmbeddingsConfig
  maxBatch: number
  maxMemoryChars: number
  memory: {
    /** Cosine similarity from which a write updates a near-identical live memory (MEMORY_DEDUP_SIMILARITY). */
    dedupSimilarity: number
    /** Age at which search's recency ranking halves a memory's score (MEMORY_HALF_LIFE_DAYS). */
    halfLifeDays: number
  }
  /** Memory extraction from chats: per-GPT daily budgets, LLM calls at once per process, messages per run. */
  extraction: { runsPerDay: number; tokensPerDay: number; concurrency: number; maxMessages: number }
  accounts: AccountsConfig
  /** The replaced systems whose own APIs are served beside the house API (see docs/compat.md). */
  compat: CompatSurface[]
  audit: AuditConfig
  backups: BackupsConfig
}

export interface BackupsConfig {
  /** Cron expression (UTC) of scheduled backups; null: none are scheduled (BACKUP_CRON=off). */
  schedule: string | null
  dir: string
  retentionDays: number
}

export interface AuditConfig {
  /** Off: no request and no identity event is recorded (the audit routes answer what is stored). */
  enabled: boolean
  retentionDays: number
  flushMs: number
  batchSize: number
  maxBuffer: number
}

export interface AccountsConfig {
  /** open: anyone may sign up; closed: only the operator creates accounts (CLI). */
  signup: 'open' | 'closed'
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  retentionDays: number
}

export interface LlmConfig {
  /** Null: detected from the key's form (see SETTINGS.LLM_PROVIDER). */
  provider: LlmProviderName | null
  model: string | null
  apiKey: string | null
  baseUrl: string | null
  timeoutMs: number
}

export interface HnswConfig {
  m: number
  efConstruction: number
  efSearch: number
}

/** Null dimensions: the provider's own; workers: EMBEDDINGS_WORKERS. */
export type EmbeddingsConfig = EmbeddingsSettings

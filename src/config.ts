import { resolve } from 'node:path'
import type { SettingName } from './config.settings.js'
import type { Config, HnswConfig, LogLevel } from './config.types.js'
import { compatList, cronOrOff, originList, settingReader, type Env } from './config.values.js'
import { parseRateLimits, type RateLimitRule } from './platform/limits/rate-limit.rules.js'

export type * from './config.types.js'

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

/** Parses and checks every setting once; a bad value is reported with its variable name and what is allowed. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  const { raw, int, fraction, bool, url, oneOf, bytes, seconds } = settingReader(env, problems)
  const host = raw('HOST')
  const port = int('PORT', 0, 65535)
  const adminToken = raw('ADMIN_TOKEN') || null
  if (adminToken !== null && adminToken.length < 32) {
    problems.push('ADMIN_TOKEN: expected at least 32 characters (for example `openssl rand -hex 32`), or unset to disable the admin API')
  }
  const logLevel = raw('LOG_LEVEL') as LogLevel
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)}: expected fatal, error, warn, info, debug, trace or silent`)
  }
  const bodyLimit = bytes('BODY_LIMIT')
  let rateLimits: RateLimitRule[] = []
  try {
    rateLimits = parseRateLimits(raw('RATE_LIMITS'))
  } catch (error) {
    problems.push(`RATE_LIMITS: ${(error as Error).message}`)
  }
  const defaultPageSize = int('DEFAULT_PAGE_SIZE', 1, 1000)
  const maxPageSize = int('MAX_PAGE_SIZE', 1, 1000)
  const pageSizesValid = !problems.some((problem) => /^(DEFAULT|MAX)_PAGE_SIZE/.test(problem))
  if (pageSizesValid && defaultPageSize > maxPageSize) problems.push('DEFAULT_PAGE_SIZE: must not exceed MAX_PAGE_SIZE')
  const publicUrl = url('PUBLIC_URL', ['http:', 'https:'])
  const cors = originList('CORS_ORIGINS', raw('CORS_ORIGINS'), problems, true)
  const redisPrefix = raw('REDIS_PREFIX')
  if (!/^[A-Za-z0-9_.:{}-]{1,64}$/.test(redisPrefix)) {
    problems.push(`REDIS_PREFIX=${JSON.stringify(redisPrefix)}: expected 1–64 letters, digits or _ . : - { }`)
  }

  const config: Config = {
    host,
    port,
    publicUrl: (publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, ''),
    dataDir: resolve(raw('DATA_DIR')),
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: int('DATABASE_POOL_SIZE', 1, 100),
    pgliteSharedBuffersMb: int('PGLITE_SHARED_BUFFERS_MB', 1, 4096),
    hnsw: hnswSettings(int, problems),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix,
    adminToken,
    consoleSessionTtlSeconds: seconds('CONSOLE_SESSION_TTL', 7 * 86_400_000),
    logLevel,
    bodyLimit,
    rateLimits,
    trustProxy: bool('TRUST_PROXY'),
    corsOrigins: cors !== '*' && cors.length === 0 ? null : cors,
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 0, 600_000),
    defaultPageSize,
    maxPageSize,
    keyTouchIntervalMs: int('KEY_TOUCH_INTERVAL_MS', 0, 86_400_000),
    keyCacheTtlMs: int('KEY_CACHE_TTL_MS', 0, 300_000),
    jobsEnabled: bool('JOBS_ENABLED'),
    maxJsonDepth: int('MAX_JSON_DEPTH', 2, 1000),
    importBodyLimit: bytes('IMPORT_BODY_LIMIT'),
    importMaxLines: int('IMPORT_MAX_LINES', 1, 1_000_000),
    archiveImportMaxBytes: bytes('ARCHIVE_IMPORT_MAX_BYTES', [1024 ** 4, '1024gb']),
    maxMailChars: int('MAX_MAIL_CHARS', 1, 1_000_000),
    maxRecipients: int('MAX_RECIPIENTS', 1, 10_000),
    mcpAllowedOrigins: originList('MCP_ALLOWED_ORIGINS', raw('MCP_ALLOWED_ORIGINS'), problems),
    sseHeartbeatMs: int('SSE_HEARTBEAT_MS', 100, 600_000),
    maxMessageChars: int('MAX_MESSAGE_CHARS', 1, 1_000_000),
    chatHistoryMessages: int('CHAT_HISTORY_MESSAGES', 0, 1000),
    partialSaveMs: int('PARTIAL_SAVE_MS', 10, 60_000),
    generationLeaseMs: int('GENERATION_LEASE_SECONDS', 2, 600) * 1000,
    llm: {
      provider: oneOf('LLM_PROVIDER', ['openai', 'anthropic', 'offline']),
      model: raw('LLM_MODEL') || null,
      apiKey: raw('LLM_API_KEY') || null,
      baseUrl: url('LLM_BASE_URL', ['http:', 'https:']),
      timeoutMs: int('LLM_TIMEOUT_MS', 100, 600_000),
    },
    embeddings: {
      provider: oneOf('EMBEDDINGS_PROVIDER', ['local', 'openai']) ?? 'local',
      model: raw('EMBEDDINGS_MODEL') || null,
      baseUrl: url('EMBEDDINGS_BASE_URL', ['http:', 'https:']),
      apiKey: raw('EMBEDDINGS_API_KEY') || null,
      dimensions: raw('EMBEDDINGS_DIM') === '' ? null : int('EMBEDDINGS_DIM', 1, 16_000),
      timeoutMs: int('EMBEDDINGS_TIMEOUT_MS', 100, 600_000),
      workers: int('EMBEDDINGS_WORKERS', 1, 64),
    },
    maxBatch: int('MAX_BATCH', 1, 10_000),
    maxMemoryChars: int('MAX_MEMORY_CHARS', 1, 1_000_000),
    memory: {
      dedupSimilarity: fraction('MEMORY_DEDUP_SIMILARITY'),
      halfLifeDays: int('MEMORY_HALF_LIFE_DAYS', 1, 36_500),
    },
    extraction: {
      runsPerDay: int('EXTRACTION_RUNS_PER_DAY', 0, 10_000_000),
      tokensPerDay: int('EXTRACTION_TOKENS_PER_DAY', 0, 2_000_000_000),
      concurrency: int('EXTRACTION_CONCURRENCY', 1, 64),
      maxMessages: int('EXTRACTION_MAX_MESSAGES', 1, 1000),
    },
    accounts: {
      signup: oneOf('SIGNUP', ['open', 'closed']) ?? 'open',
      accessTokenTtlSeconds: seconds('ACCESS_TOKEN_TTL', 86_400_000),
      refreshTokenTtlSeconds: seconds('REFRESH_TOKEN_TTL', 365 * 86_400_000),
      retentionDays: int('ACCOUNT_RETENTION_DAYS', 0, 3650),
    },
    compat: compatList(raw('COMPAT'), problems),
    audit: {
      enabled: bool('AUDIT'),
      retentionDays: int('AUDIT_RETENTION_DAYS', 0, 36500),
      flushMs: int('AUDIT_FLUSH_MS', 10, 600_000),
      batchSize: int('AUDIT_BATCH_SIZE', 1, 10_000),
      maxBuffer: int('AUDIT_BUFFER_ROWS', 1, 10_000_000),
    },
    backups: {
      schedule: cronOrOff(raw('BACKUP_CRON'), problems),
      dir: resolve(raw('BACKUP_DIR')),
      retentionDays: int('BACKUP_RETENTION_DAYS', 1, 36500),
    },
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

/** pgvector refuses ef_construction below twice m; said here, at start, rather than at the index build. */
function hnswSettings(int: (name: SettingName, min: number, max: number) => number, problems: string[]): HnswConfig {
  const before = problems.length
  const hnsw = { m: int('HNSW_M', 2, 100), efConstruction: int('HNSW_EF_CONSTRUCTION', 4, 1000), efSearch: int('HNSW_EF_SEARCH', 1, 1000) }
  if (problems.length === before && hnsw.efConstruction < 2 * hnsw.m) problems.push(`HNSW_EF_CONSTRUCTION=${hnsw.efConstruction}: must be at least 2 × HNSW_M (${2 * hnsw.m})`)
  return hnsw
}

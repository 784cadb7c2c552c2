import { resolve } from 'node:path'
import { SETTINGS, type CompatSurface, type SettingName } from './config.settings.js'
import { compatList, cronOrOff, originList, parseBytes } from './config.values.js'
import { parseDuration } from './platform/duration.js'
import { parseRateLimits, type RateLimitRule } from './platform/limits/rate-limit.rules.js'

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

export type LlmProviderName = 'openai' | 'anthropic' | 'offline'

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

export interface EmbeddingsConfig {
  provider: 'local' | 'openai'
  model: string | null
  baseUrl: string | null
  apiKey: string | null
  /** Null: the provider's own dimension. */
  dimensions: number | null
  timeoutMs: number
  /** Worker threads of the local model (EMBEDDINGS_WORKERS). */
  workers: number
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/** Parses and checks every setting once; a bad value is reported with its variable name and what is allowed. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  const raw = (name: SettingName): string => {
    const value = env[name]
    return value === undefined || value.trim() === '' ? SETTINGS[name].default : value.trim()
  }
  const int = (name: SettingName, min: number, max: number): number => {
    const text = raw(name)
    const value = Number(text)
    if (!/^-?\d+$/.test(text) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`)
      return min
    }
    return value
  }
  const fraction = (name: SettingName): number => {
    const text = raw(name)
    const value = Number(text)
    if (!/^\d*\.?\d+$/.test(text) || value <= 0 || value > 1) {
      problems.push(`${name}=${JSON.stringify(text)}: expected a number above 0 and at most 1`)
      return 1
    }
    return value
  }
  const bool = (name: SettingName): boolean => {
    const text = raw(name).toLowerCase()
    if (['true', '1', 'yes', 'on'].includes(text)) return true
    if (['false', '0', 'no', 'off'].includes(text)) return false
    problems.push(`${name}=${JSON.stringify(text)}: expected true or false`)
    return false
  }
  const url = (name: SettingName, protocols: string[]): string | null => {
    const text = raw(name)
    if (text === '') return null
    try {
      const parsed = new URL(text)
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol')
      return text
    } catch {
      problems.push(`${name}: expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`)
      return null
    }
  }

  const oneOf = <T extends string>(name: SettingName, allowed: readonly T[]): T | null => {
    const text = raw(name).toLowerCase()
    if (text === '') return null
    if ((allowed as readonly string[]).includes(text)) return text as T
    problems.push(`${name}=${JSON.stringify(text)}: expected ${allowed.join(', ')} or unset`)
    return null
  }

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
  const bytes = (name: SettingName, max: [number, string] = [100 * 1024 * 1024, '100mb']): number => {
    const value = parseBytes(raw(name))
    if (value === null || value < 1024 || value > max[0]) {
      problems.push(`${name}=${JSON.stringify(raw(name))}: expected a size from 1kb to ${max[1]} (bytes, or with a kb/mb/gb suffix)`)
      return 0
    }
    return value
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
  const seconds = (name: SettingName, maxMs: number): number => {
    const ms = parseDuration(raw(name))
    if (ms === null || ms < 60_000 || ms > maxMs) {
      problems.push(`${name}=${JSON.stringify(raw(name))}: expected a duration such as 15m, 12h or 30d, from 1m to ${maxMs / 86_400_000}d`)
      return 60
    }
    return ms / 1000
  }
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

import { resolve } from 'node:path'
import { DEFAULT_MODELS } from './platform/llm/llm.js'
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
  redisUrl: string | null
  /** Starts every Redis key and channel name, so that deployments can share one Redis. */
  redisPrefix: string
  adminToken: string | null
  logLevel: LogLevel
  bodyLimit: number
  rateLimits: RateLimitRule[]
  trustProxy: boolean
  shutdownTimeoutMs: number
  defaultPageSize: number
  maxPageSize: number
  keyTouchIntervalMs: number
  keyCacheTtlMs: number
  jobsEnabled: boolean
  maxJsonDepth: number
  importBodyLimit: number
  importMaxLines: number
  maxMailChars: number
  maxRecipients: number
  sseHeartbeatMs: number
  maxMessageChars: number
  chatHistoryMessages: number
  partialSaveMs: number
  llm: LlmConfig
  embeddings: EmbeddingsConfig
  maxBatch: number
  maxMemoryChars: number
  accounts: AccountsConfig
  /** The replaced systems whose own APIs are served beside the house API (see docs/compat.md). */
  compat: CompatSurface[]
  audit: AuditConfig
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

export const COMPAT_SURFACES = ['objectstore', 'adapter', 'fastwrap', 'agentmail', 'chatstore'] as const
export type CompatSurface = (typeof COMPAT_SURFACES)[number]

export type LlmProviderName = 'openai' | 'anthropic' | 'offline'

export interface LlmConfig {
  /** Null: detected from the key's form (see SETTINGS.LLM_PROVIDER). */
  provider: LlmProviderName | null
  model: string | null
  apiKey: string | null
  baseUrl: string | null
  timeoutMs: number
}

export interface EmbeddingsConfig {
  provider: 'local' | 'openai'
  model: string | null
  baseUrl: string | null
  apiKey: string | null
  /** Null: the provider's own dimension. */
  dimensions: number | null
  timeoutMs: number
}

/** Every setting, its default, and what it means: the source for `.env.example` and the docs. */
export const SETTINGS = {
  HOST: { default: '127.0.0.1', help: 'Interface to listen on.' },
  PORT: { default: '8080', help: 'TCP port to listen on (0 picks a free one).' },
  PUBLIC_URL: { default: '', help: 'Base URL clients use (OpenAPI servers); defaults to http://HOST:PORT.' },
  DATA_DIR: { default: './data', help: 'Embedded PGlite data directory, relative to the working directory (used when DATABASE_URL is unset). `serve` makes it on its first start; other commands make it only when it is set explicitly.' },
  DATABASE_URL: { default: '', help: 'postgres://… to run on PostgreSQL instead of embedded PGlite.' },
  DATABASE_POOL_SIZE: { default: '10', help: 'PostgreSQL connections per process (1–100).' },
  REDIS_URL: { default: '', help: 'redis://… to share rate limits and events across replicas.' },
  REDIS_PREFIX: { default: 'agentstore:', help: 'Start of every Redis key and pub/sub channel name: give each deployment sharing one Redis its own.' },
  ADMIN_TOKEN: { default: '', help: 'Bearer token for /v1/admin (at least 32 characters); unset disables the admin API.' },
  LOG_LEVEL: { default: 'info', help: 'fatal, error, warn, info, debug, trace or silent.' },
  BODY_LIMIT: { default: '1mb', help: 'Largest request body, in bytes or with kb/mb suffix.' },
  RATE_LIMITS: { default: 'key:60/m,write:10/m,ip:600/5m', help: 'Token buckets: key, write and ip budgets per period (s, m, h or 5m…); 0 or off disables.' },
  TRUST_PROXY: { default: 'false', help: 'true when behind a reverse proxy that sets X-Forwarded-For.' },
  SHUTDOWN_TIMEOUT_MS: { default: '10000', help: 'How long in-flight requests may take after SIGTERM.' },
  DEFAULT_PAGE_SIZE: { default: '50', help: 'List page size when `limit` is not given.' },
  MAX_PAGE_SIZE: { default: '200', help: 'Largest `limit` a list accepts.' },
  KEY_TOUCH_INTERVAL_MS: { default: '60000', help: 'How stale an API key\'s last_used_at may get before it is written again.' },
  KEY_CACHE_TTL_MS: { default: '5000', help: 'How long a process may reuse a checked API key without reading it again (0 disables); revocations reach every process at once through the event bus.' },
  JOBS_ENABLED: { default: 'true', help: 'Run background jobs (pg-boss) in this process.' },
  MAX_JSON_DEPTH: { default: '32', help: 'Deepest nesting of objects/arrays a stored document may have (422 past it).' },
  IMPORT_BODY_LIMIT: { default: '10mb', help: 'Largest NDJSON body of a collection import.' },
  MAX_MAIL_CHARS: { default: '10000', help: 'Longest mail content, in characters (422 past it).' },
  MAX_RECIPIENTS: { default: '100', help: 'Most recipients one mail may have.' },
  SSE_HEARTBEAT_MS: { default: '15000', help: 'How often an idle event stream gets a heartbeat comment.' },
  IMPORT_MAX_LINES: { default: '10000', help: 'Most documents one collection import may hold.' },
  MAX_MESSAGE_CHARS: { default: '10000', help: 'Longest chat message content, in characters (422 past it).' },
  CHAT_HISTORY_MESSAGES: { default: '20', help: 'How many recent messages of a session go into the prompt of a generation.' },
  PARTIAL_SAVE_MS: { default: '500', help: 'How often the text generated so far is saved while tokens arrive (what a crash can lose at most).' },
  LLM_PROVIDER: { default: '', help: 'openai (any OpenAI-compatible endpoint), anthropic or offline; unset: anthropic for an sk-ant- key, openai for another key or a base URL alone, else the deterministic offline provider.' },
  LLM_MODEL: { default: '', help: `Model for chat generation; unset: the provider's default (${Object.values(DEFAULT_MODELS).join(', ')}).` },
  LLM_API_KEY: { default: '', help: 'API key of the LLM provider.' },
  LLM_BASE_URL: { default: '', help: 'Base URL of an OpenAI-compatible or Anthropic endpoint (for example http://127.0.0.1:11434/v1 for Ollama).' },
  LLM_TIMEOUT_MS: { default: '60000', help: 'A generation fails when the provider sends nothing for this long.' },
  EMBEDDINGS_PROVIDER: { default: 'local', help: 'local (offline, in process) or openai (any OpenAI-compatible /embeddings endpoint; embeds in the background).' },
  EMBEDDINGS_MODEL: { default: '', help: 'Embedding model; unset: the provider\'s default.' },
  EMBEDDINGS_BASE_URL: { default: '', help: 'Base URL of an OpenAI-compatible embeddings endpoint.' },
  EMBEDDINGS_API_KEY: { default: '', help: 'API key of the embeddings endpoint.' },
  EMBEDDINGS_DIM: { default: '', help: 'Dimension of the vectors; unset: the model\'s own. A model that returns another dimension is an error.' },
  EMBEDDINGS_TIMEOUT_MS: { default: '30000', help: 'How long one embeddings request may take.' },
  MAX_BATCH: { default: '100', help: 'Most memories one batch request may hold.' },
  MAX_MEMORY_CHARS: { default: '10000', help: 'Longest memory content, in characters (422 past it).' },
  SIGNUP: { default: 'open', help: 'open: anyone may create an account with POST /v1/auth/signup; closed: only the operator does (`agentstore account create`).' },
  ACCESS_TOKEN_TTL: { default: '15m', help: 'Lifetime of a login access token (JWT), such as 15m or 1h (at most 1d).' },
  REFRESH_TOKEN_TTL: { default: '30d', help: 'How long a login session lasts without a refresh; each refresh starts this period again.' },
  ACCOUNT_RETENTION_DAYS: { default: '30', help: 'Days a deleted account and its GPTs are kept (the operator may restore it) before the daily purge removes them.' },
  COMPAT: { default: COMPAT_SURFACES.join(','), help: 'Replaced systems whose own APIs are served too (docs/compat.md): a comma list of objectstore, adapter, fastwrap, agentmail, chatstore, or none.' },
  AUDIT: { default: 'on', help: 'on: every authenticated request and identity event (signup, logins, password and key changes) is written to the audit log, in batches off the request path; off: nothing is recorded.' },
  AUDIT_RETENTION_DAYS: { default: '90', help: 'Days audit rows are kept before the daily purge deletes them.' },
  AUDIT_FLUSH_MS: { default: '1000', help: 'Longest time an audit row waits in memory before its batch is written.' },
  AUDIT_BATCH_SIZE: { default: '500', help: 'Audit rows per INSERT; a full batch is written at once.' },
  AUDIT_BUFFER_ROWS: { default: '10000', help: 'Most audit rows held in memory while the database does not take them; past it the oldest are dropped (agentstore_audit_rows_dropped_total).' },
} as const

export type SettingName = keyof typeof SETTINGS

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
  const bytes = (name: SettingName): number => {
    const value = parseBytes(raw(name))
    if (value === null || value < 1024 || value > 100 * 1024 * 1024) {
      problems.push(`${name}=${JSON.stringify(raw(name))}: expected a size from 1kb to 100mb (bytes, or with a kb/mb suffix)`)
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
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix,
    adminToken,
    logLevel,
    bodyLimit,
    rateLimits,
    trustProxy: bool('TRUST_PROXY'),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 0, 600_000),
    defaultPageSize,
    maxPageSize,
    keyTouchIntervalMs: int('KEY_TOUCH_INTERVAL_MS', 0, 86_400_000),
    keyCacheTtlMs: int('KEY_CACHE_TTL_MS', 0, 300_000),
    jobsEnabled: bool('JOBS_ENABLED'),
    maxJsonDepth: int('MAX_JSON_DEPTH', 2, 1000),
    importBodyLimit: bytes('IMPORT_BODY_LIMIT'),
    importMaxLines: int('IMPORT_MAX_LINES', 1, 1_000_000),
    maxMailChars: int('MAX_MAIL_CHARS', 1, 1_000_000),
    maxRecipients: int('MAX_RECIPIENTS', 1, 10_000),
    sseHeartbeatMs: int('SSE_HEARTBEAT_MS', 100, 600_000),
    maxMessageChars: int('MAX_MESSAGE_CHARS', 1, 1_000_000),
    chatHistoryMessages: int('CHAT_HISTORY_MESSAGES', 0, 1000),
    partialSaveMs: int('PARTIAL_SAVE_MS', 10, 60_000),
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
    },
    maxBatch: int('MAX_BATCH', 1, 10_000),
    maxMemoryChars: int('MAX_MEMORY_CHARS', 1, 1_000_000),
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
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

function compatList(text: string, problems: string[]): CompatSurface[] {
  if (text.toLowerCase() === 'none') return []
  const names = text.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
  const unknown = names.filter((name) => !(COMPAT_SURFACES as readonly string[]).includes(name))
  if (unknown.length > 0) problems.push(`COMPAT=${JSON.stringify(text)}: expected a comma list of ${COMPAT_SURFACES.join(', ')}, or none`)
  return COMPAT_SURFACES.filter((surface) => names.includes(surface))
}

function parseBytes(text: string): number | null {
  const match = /^(\d+)\s*(b|kb|k|mb|m)?$/i.exec(text)
  if (!match) return null
  const unit = (match[2] ?? 'b').toLowerCase()
  const factor = unit.startsWith('m') ? 1024 * 1024 : unit.startsWith('k') ? 1024 : 1
  return Number(match[1]) * factor
}

import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'
import { SETTINGS, type SettingName } from './config.settings.js'

const ENV_EXAMPLE = fileURLToPath(new URL('../.env.example', import.meta.url))
const VALID_TOKEN = 'a'.repeat(32)

/** Runs loadConfig and returns the ConfigError it throws (fails the test when it does not throw one). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`)
}

describe('loadConfig defaults', () => {
  it('gives every default from an empty environment', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      publicUrl: 'http://127.0.0.1:8080',
      dataDir: resolve('./data'),
      databaseUrl: null,
      databasePoolSize: 10,
      redisUrl: null,
      adminToken: null,
      logLevel: 'info',
      bodyLimit: 1024 * 1024,
      rateLimits: [
        { scope: 'key', limit: 60, periodMs: 60_000 },
        { scope: 'write', limit: 10, periodMs: 60_000 },
        { scope: 'ip', limit: 600, periodMs: 300_000 },
      ],
      trustProxy: false,
      shutdownTimeoutMs: 10_000,
      defaultPageSize: 50,
      maxPageSize: 200,
      keyTouchIntervalMs: 60_000,
      jobsEnabled: true,
    })
  })

  it('documents in SETTINGS exactly the defaults it applies', () => {
    const explicit = Object.fromEntries(Object.entries(SETTINGS).map(([name, setting]) => [name, setting.default]))
    expect(loadConfig(explicit)).toEqual(loadConfig({}))
    for (const setting of Object.values(SETTINGS)) expect(setting.help.length).toBeGreaterThan(10)
  })

  it('treats blank values as unset', () => {
    const config = loadConfig({ PORT: '  ', ADMIN_TOKEN: '', DATABASE_URL: '', LOG_LEVEL: '' })
    expect(config.port).toBe(8080)
    expect(config.adminToken).toBeNull()
    expect(config.databaseUrl).toBeNull()
    expect(config.logLevel).toBe('info')
  })

  it('reads good values', () => {
    const config = loadConfig({
      HOST: '::1',
      PORT: '0',
      DATABASE_URL: 'postgres://u:p@db:5432/agentstore',
      REDIS_URL: 'rediss://cache:6380',
      ADMIN_TOKEN: VALID_TOKEN,
      LOG_LEVEL: 'debug',
      BODY_LIMIT: '2kb',
      TRUST_PROXY: 'yes',
      DEFAULT_PAGE_SIZE: '10',
      MAX_PAGE_SIZE: '20',
      JOBS_ENABLED: 'off',
      PUBLIC_URL: 'https://api.example.com/',
    })
    expect(config).toMatchObject({
      host: '::1',
      port: 0,
      databaseUrl: 'postgres://u:p@db:5432/agentstore',
      redisUrl: 'rediss://cache:6380',
      adminToken: VALID_TOKEN,
      logLevel: 'debug',
      bodyLimit: 2048,
      trustProxy: true,
      defaultPageSize: 10,
      maxPageSize: 20,
      jobsEnabled: false,
      publicUrl: 'https://api.example.com',
    })
    expect(loadConfig({ HOST: '::1', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000')
    expect(loadConfig({}).accounts).toEqual({ signup: 'open', accessTokenTtlSeconds: 900, refreshTokenTtlSeconds: 30 * 86_400, retentionDays: 30 })
    expect(loadConfig({ SIGNUP: 'Closed', ACCESS_TOKEN_TTL: '1h', REFRESH_TOKEN_TTL: '2w', ACCOUNT_RETENTION_DAYS: '0' }).accounts).toEqual({
      signup: 'closed',
      accessTokenTtlSeconds: 3600,
      refreshTokenTtlSeconds: 14 * 86_400,
      retentionDays: 0,
    })
    expect(loadConfig({}).embeddings.workers).toBe(1)
    expect(loadConfig({ EMBEDDINGS_WORKERS: '4' }).embeddings.workers).toBe(4)
    expect(loadConfig({ BODY_LIMIT: '3mb' }).bodyLimit).toBe(3 * 1024 * 1024)
    expect(loadConfig({ BODY_LIMIT: '4096' }).bodyLimit).toBe(4096)
  })
})

describe('loadConfig rejects bad values, naming the variable', () => {
  // `alone: false`: a follow-on problem is reported too (an invalid MAX_PAGE_SIZE falls back to 1, below DEFAULT_PAGE_SIZE).
  const cases: { env: Record<string, string>; variable: SettingName; allowed: RegExp; alone?: false }[] = [
    { env: { PORT: 'abc' }, variable: 'PORT', allowed: /0 to 65535/ },
    { env: { PORT: '70000' }, variable: 'PORT', allowed: /0 to 65535/ },
    { env: { PORT: '-1' }, variable: 'PORT', allowed: /0 to 65535/ },
    { env: { PORT: '80.5' }, variable: 'PORT', allowed: /whole number/ },
    { env: { LOG_LEVEL: 'loud' }, variable: 'LOG_LEVEL', allowed: /info/ },
    { env: { BODY_LIMIT: 'huge' }, variable: 'BODY_LIMIT', allowed: /1kb to 100mb/ },
    { env: { BODY_LIMIT: '10' }, variable: 'BODY_LIMIT', allowed: /1kb to 100mb/ },
    { env: { BODY_LIMIT: '200mb' }, variable: 'BODY_LIMIT', allowed: /1kb to 100mb/ },
    { env: { RATE_LIMITS: 'key:60/x' }, variable: 'RATE_LIMITS', allowed: /scope:count\/period/ },
    { env: { RATE_LIMITS: 'foo:1/m' }, variable: 'RATE_LIMITS', allowed: /unknown scope "foo".*key, write, ip/ },
    { env: { RATE_LIMITS: 'key:1/m,key:2/m' }, variable: 'RATE_LIMITS', allowed: /"key" is given twice/ },
    { env: { RATE_LIMITS: 'key:0/m' }, variable: 'RATE_LIMITS', allowed: /above zero/ },
    { env: { DATABASE_URL: 'mysql://root@localhost/agentstore' }, variable: 'DATABASE_URL', allowed: /postgres:\/\// },
    { env: { DATABASE_URL: 'not a url' }, variable: 'DATABASE_URL', allowed: /postgres:\/\// },
    { env: { REDIS_URL: 'http://cache' }, variable: 'REDIS_URL', allowed: /redis:\/\// },
    { env: { PUBLIC_URL: 'ftp://example.com' }, variable: 'PUBLIC_URL', allowed: /https?:\/\// },
    { env: { ADMIN_TOKEN: 'short' }, variable: 'ADMIN_TOKEN', allowed: /at least 32 characters/ },
    { env: { ADMIN_TOKEN: 'a'.repeat(31) }, variable: 'ADMIN_TOKEN', allowed: /at least 32 characters/ },
    { env: { DEFAULT_PAGE_SIZE: '300' }, variable: 'DEFAULT_PAGE_SIZE', allowed: /MAX_PAGE_SIZE/ },
    { env: { DEFAULT_PAGE_SIZE: '20', MAX_PAGE_SIZE: '10' }, variable: 'DEFAULT_PAGE_SIZE', allowed: /MAX_PAGE_SIZE/ },
    { env: { MAX_PAGE_SIZE: '0' }, variable: 'MAX_PAGE_SIZE', allowed: /1 to 1000/, alone: false },
    { env: { DATABASE_POOL_SIZE: '500' }, variable: 'DATABASE_POOL_SIZE', allowed: /1 to 100/ },
    { env: { TRUST_PROXY: 'maybe' }, variable: 'TRUST_PROXY', allowed: /true or false/ },
    { env: { JOBS_ENABLED: 'sometimes' }, variable: 'JOBS_ENABLED', allowed: /true or false/ },
    { env: { SHUTDOWN_TIMEOUT_MS: 'soon' }, variable: 'SHUTDOWN_TIMEOUT_MS', allowed: /whole number/ },
    { env: { SIGNUP: 'invite' }, variable: 'SIGNUP', allowed: /open, closed/ },
    { env: { ACCESS_TOKEN_TTL: '15' }, variable: 'ACCESS_TOKEN_TTL', allowed: /duration such as 15m/ },
    { env: { ACCESS_TOKEN_TTL: '30s' }, variable: 'ACCESS_TOKEN_TTL', allowed: /from 1m to 1d/ },
    { env: { ACCESS_TOKEN_TTL: '2d' }, variable: 'ACCESS_TOKEN_TTL', allowed: /from 1m to 1d/ },
    { env: { REFRESH_TOKEN_TTL: '2w3d' }, variable: 'REFRESH_TOKEN_TTL', allowed: /from 1m to 365d/ },
    { env: { ACCOUNT_RETENTION_DAYS: '-1' }, variable: 'ACCOUNT_RETENTION_DAYS', allowed: /0 to 3650/ },
    { env: { EMBEDDINGS_WORKERS: '0' }, variable: 'EMBEDDINGS_WORKERS', allowed: /1 to 64/ },
    { env: { EMBEDDINGS_WORKERS: 'two' }, variable: 'EMBEDDINGS_WORKERS', allowed: /whole number/ },
    { env: { COMPAT: 'objectstore,mongo' }, variable: 'COMPAT', allowed: /objectstore, adapter, fastwrap, agentmail, chatstore, or none/ },
    { env: { CORS_ORIGINS: 'https://a.example/path' }, variable: 'CORS_ORIGINS', allowed: /"https:\/\/a.example\/path" is not an origin.*\* alone allows any/ },
    { env: { CORS_ORIGINS: 'https://a.example, *' }, variable: 'CORS_ORIGINS', allowed: /"\*" is not an origin/ },
    { env: { MCP_ALLOWED_ORIGINS: '*' }, variable: 'MCP_ALLOWED_ORIGINS', allowed: /"\*" is not an origin such as https:\/\/app.example.com \(scheme, host and port only\)$/ },
    { env: { MCP_ALLOWED_ORIGINS: 'ftp://a.example' }, variable: 'MCP_ALLOWED_ORIGINS', allowed: /is not an origin/ },
  ]

  it.each(cases)('$env → names $variable', ({ env, variable, allowed, alone }) => {
    const error = configError(env)
    expect(error.name).toBe('ConfigError')
    if (alone !== false) expect(error.problems).toHaveLength(1)
    const problem = error.problems[0]!
    expect(problem.startsWith(variable), problem).toBe(true)
    expect(problem).toMatch(allowed)
    expect(error.message).toContain(problem)
  })

  it('never echoes the admin token it rejects', () => {
    const error = configError({ ADMIN_TOKEN: 'hunter2-secret' })
    expect(error.message).not.toContain('hunter2-secret')
  })

  it('reports every bad value at once', () => {
    const error = configError({
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      BODY_LIMIT: 'huge',
      RATE_LIMITS: 'foo:1/m',
      DATABASE_URL: 'mysql://root@localhost/db',
      TRUST_PROXY: 'maybe',
    })
    const named = error.problems.map((problem) => /^[A-Z_]+/.exec(problem)?.[0])
    expect(named.sort()).toEqual(['BODY_LIMIT', 'DATABASE_URL', 'LOG_LEVEL', 'PORT', 'RATE_LIMITS', 'TRUST_PROXY'])
    for (const variable of named) expect(error.message).toContain(variable)
  })
})

describe('origins (CORS_ORIGINS, MCP_ALLOWED_ORIGINS)', () => {
  it('reads a comma list of origins for both, and * alone only for CORS', () => {
    const list = ' https://a.example/ , http://localhost:3000,, '
    expect(loadConfig({ CORS_ORIGINS: list, MCP_ALLOWED_ORIGINS: list })).toMatchObject({
      corsOrigins: ['https://a.example', 'http://localhost:3000'],
      mcpAllowedOrigins: ['https://a.example', 'http://localhost:3000'],
    })
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*')
    expect(loadConfig({})).toMatchObject({ corsOrigins: null, mcpAllowedOrigins: [] })
  })
})

describe('COMPAT', () => {
  it.each([
    ['', ['objectstore', 'adapter', 'fastwrap', 'agentmail', 'chatstore']],
    ['none', []],
    ['NONE', []],
    [' chatstore , ObjectStore ', ['objectstore', 'chatstore']],
    ['objectstore,objectstore', ['objectstore']],
  ])('%j → %j', (value, surfaces) => {
    expect(loadConfig({ COMPAT: value }).compat).toEqual(surfaces)
  })
})

describe('RATE_LIMITS', () => {
  it.each(['off', 'OFF', '0', ' off '])('%j disables rate limiting', (value) => {
    expect(loadConfig({ RATE_LIMITS: value }).rateLimits).toEqual([])
  })

  it('parses key:60/m,write:10/m,ip:600/5m', () => {
    expect(loadConfig({ RATE_LIMITS: 'key:60/m,write:10/m,ip:600/5m' }).rateLimits).toEqual([
      { scope: 'key', limit: 60, periodMs: 60_000 },
      { scope: 'write', limit: 10, periodMs: 60_000 },
      { scope: 'ip', limit: 600, periodMs: 300_000 },
    ])
  })

  it('parses seconds, hours and spaces around parts', () => {
    expect(loadConfig({ RATE_LIMITS: ' key:5/10s , ip:1000/h' }).rateLimits).toEqual([
      { scope: 'key', limit: 5, periodMs: 10_000 },
      { scope: 'ip', limit: 1000, periodMs: 3_600_000 },
    ])
  })
})

describe('.env.example', () => {
  it.skipIf(!existsSync(ENV_EXAMPLE))('lists every setting with its default', () => {
    const listed = new Map<string, string>()
    for (const line of readFileSync(ENV_EXAMPLE, 'utf8').split('\n')) {
      const match = /^\s*#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
      if (match) listed.set(match[1]!, match[2]!.trim())
    }
    for (const [name, setting] of Object.entries(SETTINGS)) {
      expect(listed.has(name), `${name} is missing from .env.example`).toBe(true)
      expect(listed.get(name), `${name}'s default in .env.example`).toBe(setting.default)
    }
  })
})

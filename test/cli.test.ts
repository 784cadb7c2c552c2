import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CLI_ARGS, CLI_CWD, killChildren } from './helpers/children.js'
import { SETTINGS } from '../src/config.settings.js'
import { ApiKey, CreatedApiKey } from '../src/modules/keys/keys.schemas.js'
import { readLock } from '../src/platform/db/data-dir-lock.js'

/*
 * The `agentstore` CLI as a user runs it: a subprocess of the built binary (compiled afresh by the global setup), with
 * `--json` output parsed. Three places for the data: embedded PGlite opened by the CLI itself, the
 * same while a server holds the data directory (the CLI then goes through the server's admin
 * channel), and PostgreSQL when TEST_DATABASE_URL is set.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url))
// Each step runs CLI subprocesses (~3 s each, more when the machine is busy).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })
const CLI_TIMEOUT_MS = 90_000
const children = new Set<ChildProcess>()
const tempDirs: string[] = []

type Env = Record<string, string>

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** The environment of a child: ours without any Agentstore setting, plus the given ones. */
function childEnv(env: Env): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(SETTINGS)) delete base[name]
  return { ...base, LOG_LEVEL: 'warn', ...env }
}

/** Runs `agentstore <args>` (the built binary); kills it after `timeoutMs`. */
function runCli(args: string[], env: Env, timeoutMs = CLI_TIMEOUT_MS): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      cwd: CLI_CWD,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`agentstore ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Runs a `--json` command that must succeed and returns its parsed output. */
async function cliJson<T = Record<string, unknown>>(args: string[], env: Env): Promise<T> {
  const result = await runCli(['--json', ...args], env)
  if (result.code !== 0) throw new Error(`agentstore ${args.join(' ')} exited ${result.code}\nstderr: ${result.stderr}\nstdout: ${result.stdout}`)
  return JSON.parse(result.stdout) as T
}

/** Exactly the fields the published schemas (and so the OpenAPI document) give a key. */
const KEY_VIEW_FIELDS = Object.keys(ApiKey.properties).sort()
const CREATED_KEY_FIELDS = Object.keys(CreatedApiKey.properties).sort()
const TOKEN = /^ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const DAY_MS = 86_400_000
/** Every migration the package ships, by name: what `migrate` applies to a fresh database. */
const ALL_MIGRATIONS = readdirSync(join(ROOT, 'migrations'))
  .filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file))
  .map((file) => file.replace(/\.sql$/, ''))
  .sort()

interface KeyView {
  id: string
  gpt_id: string
  name: string | null
  scopes: string[]
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  created_at: string
}
type CreatedKey = KeyView & { key: string }
interface GptView {
  id: string
  name: string
  description: string | null
}
/** `key create --json`'s shape, plus what seed found or made. */
type SeedResult = CreatedKey & { gpt_created: boolean; collection: string; revoked_keys: string[] }
interface MigrationStatus {
  name: string
  applied: boolean
  appliedAt: string | null
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

interface Mode {
  env: () => Env
  /** Whether independent commands may run at the same time (not when each CLI opens PGlite itself). */
  concurrent: boolean
  /** Whether the database is fresh (the first `migrate` applies every migration) or a server migrated it already. */
  fresh: boolean
  /** The running server, when there is one: what the CLI made must work over HTTP. */
  url?: () => string
}

type Results<T extends (() => Promise<unknown>)[]> = { [K in keyof T]: Awaited<ReturnType<T[K]>> }

/** Runs the given commands at once, or one after another. */
async function all<T extends (() => Promise<unknown>)[]>(mode: Mode, ...tasks: T): Promise<Results<T>> {
  if (mode.concurrent) return (await Promise.all(tasks.map((task) => task()))) as Results<T>
  const results: unknown[] = []
  for (const task of tasks) results.push(await task())
  return results as Results<T>
}

/** The behaviour every mode must show, in order: each step builds on the previous ones. */
function cliContract(mode: Mode): { key?: CreatedKey; seeded?: CreatedKey } {
  const state: { key?: CreatedKey; seeded?: CreatedKey } = {}

  it('migrate applies pending migrations, and migrate status lists 0001_foundation as applied', async () => {
    const up = await cliJson<{ applied: string[]; status: MigrationStatus[] }>(['migrate'], mode.env())
    expect(up.applied).toEqual(mode.fresh ? ALL_MIGRATIONS : [])
    const { status } = await cliJson<{ status: MigrationStatus[] }>(['migrate', 'status'], mode.env())
    const foundation = status.find((migration) => migration.name === '0001_foundation')
    expect(foundation).toMatchObject({ name: '0001_foundation', applied: true })
    expect(Date.parse(foundation!.appliedAt!)).not.toBeNaN()
    expect(status.map((migration) => [migration.name, migration.applied])).toEqual(ALL_MIGRATIONS.map((name) => [name, true]))
  })

  it('gpt create, then key create prints the key once with --json', async () => {
    const gpt = await cliJson<GptView & Record<string, unknown>>(['gpt', 'create', 'alpha', '--name', 'Alpha GPT', '--description', 'first'], mode.env())
    expect(gpt).toMatchObject({ id: 'alpha', name: 'Alpha GPT', description: 'first' })
    expect(Object.keys(gpt).sort()).toEqual(['action_exposure', 'created_at', 'description', 'id', 'mail_retention_days', 'name', 'session_retention_days', 'updated_at'])

    const before = Date.now()
    const key = await cliJson<CreatedKey>(['key', 'create', 'alpha', '--name', 'ci', '--scopes', 'read,admin', '--expires', '30d'], mode.env())
    const after = Date.now()
    state.key = key
    expect(Object.keys(key).sort()).toEqual(CREATED_KEY_FIELDS)
    expect(CREATED_KEY_FIELDS).toEqual(expect.arrayContaining(['id', 'key', 'gpt_id', 'scopes', 'expires_at']))
    expect(key).toMatchObject({ gpt_id: 'alpha', name: 'ci', scopes: ['read', 'admin'], revoked_at: null, last_used_at: null })
    expect(key.id).toMatch(UUID)
    expect(key.key).toMatch(TOKEN)
    expect(key.key.slice(3, 35)).toBe(key.id.replaceAll('-', ''))
    const expires = Date.parse(key.expires_at!)
    expect(expires).toBeGreaterThanOrEqual(before + 30 * DAY_MS - 1000)
    expect(expires).toBeLessThanOrEqual(after + 30 * DAY_MS + 1000)
  })

  it('gpt delete without --yes refuses with exit code 2 and deletes nothing; gpt list shows the GPT', async () => {
    const refused = await runCli(['gpt', 'delete', 'alpha'], mode.env())
    expect(refused.code).toBe(2)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toContain('agentstore: this deletes GPT "alpha" and all its data; add --yes to confirm')
    const gpts = await cliJson<GptView[]>(['gpt', 'list'], mode.env())
    expect(gpts).toContainEqual(expect.objectContaining({ id: 'alpha', name: 'Alpha GPT', description: 'first' }))
  })

  it('key list shows metadata only, never the secret', async () => {
    // Runs after the refused delete: the key is still there.
    const result = await runCli(['--json', 'key', 'list', 'alpha'], mode.env())
    expect(result.code).toBe(0)
    const secret = state.key!.key.slice(36)
    expect(result.stdout).not.toContain(secret)
    expect(result.stdout).not.toContain('secret_hash')
    const keys = JSON.parse(result.stdout) as KeyView[]
    expect(keys).toHaveLength(1)
    expect(Object.keys(keys[0]!).sort()).toEqual(KEY_VIEW_FIELDS)
    expect(KEY_VIEW_FIELDS).not.toContain('key')
    expect(KEY_VIEW_FIELDS).not.toContain('secret_hash')
    expect(keys[0]).toEqual({ ...state.key, key: undefined })
  })

  it('key revoke sets revoked_at', async () => {
    const before = Date.now()
    const revoked = await cliJson<KeyView>(['key', 'revoke', state.key!.id], mode.env())
    expect(revoked).toMatchObject({ id: state.key!.id, gpt_id: 'alpha' })
    expect(Object.keys(revoked).sort()).toEqual(KEY_VIEW_FIELDS)
    const revokedAt = Date.parse(revoked.revoked_at!)
    expect(revokedAt).toBeGreaterThanOrEqual(before - 1000)
    expect(revokedAt).toBeLessThanOrEqual(Date.now() + 1000)
  })

  it('rejects an invalid GPT id and an unknown key id with exit code 1 and a clear message', async () => {
    const [invalid, badKeyId] = await all(
      mode,
      () => runCli(['--json', 'gpt', 'create', 'Bad Id!', '--name', 'x'], mode.env()),
      () => runCli(['key', 'revoke', 'not-a-key-id'], mode.env()),
    )
    expect(invalid.code).toBe(1)
    expect(invalid.stdout).toBe('')
    const error = (JSON.parse(invalid.stderr) as { error: string }).error
    expect(error).toMatch(/^Invalid arguments for gpt\.create\.\n {2}\/id: must match pattern/)
    expect(badKeyId.code).toBe(1)
    expect(badKeyId.stderr).toBe('agentstore: Invalid arguments for key.revoke.\n  /key_id: must be a key id (a UUID) or a whole key (ak_…)\n')
  })

  it('gpt delete --yes deletes the GPT; commands on it (an unknown GPT) then exit 1 with "not found"', async () => {
    expect(await cliJson(['gpt', 'delete', 'alpha', '--yes'], mode.env())).toEqual({ deleted: 'alpha' })
    const [list, create] = await all(
      mode,
      () => runCli(['key', 'list', 'alpha'], mode.env()),
      () => runCli(['--json', 'key', 'create', 'alpha'], mode.env()),
    )
    expect(list.code).toBe(1)
    expect(list.stdout).toBe('')
    expect(list.stderr).toBe('agentstore: GPT "alpha" not found.\n')
    expect(create.code).toBe(1)
    expect(create.stdout).toBe('')
    expect(JSON.parse(create.stderr)).toEqual({ error: 'GPT "alpha" not found.' })
  })

  it('seed creates test-gpt and prints a fresh key on every run, revoking the one before', async () => {
    const first = await cliJson<SeedResult>(['seed'], mode.env())
    const second = await cliJson<SeedResult>(['seed'], mode.env())
    expect(first).toMatchObject({ gpt_id: 'test-gpt', gpt_created: true, collection: 'notes', scopes: ['read', 'write', 'admin'], revoked_keys: [] })
    expect(second).toMatchObject({ gpt_id: 'test-gpt', gpt_created: false, revoked_keys: [first.id] })
    expect(first.key).toMatch(TOKEN)
    expect(second.key).toMatch(TOKEN)
    expect(second.key).not.toBe(first.key)
    expect(second.id).toMatch(UUID)
    expect(second.id).not.toBe(first.id)
    state.seeded = second
    if (mode.url) {
      const response = await fetch(`${mode.url()}/v1/gpts/test-gpt`, { headers: { authorization: `Bearer ${second.key}` } })
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ id: 'test-gpt', name: 'Test GPT' })
      const replaced = await fetch(`${mode.url()}/v1/gpts/test-gpt`, { headers: { authorization: `Bearer ${first.key}` } })
      expect(replaced.status).toBe(401)
    }
  })
  return state
}

afterAll(async () => {
  await killChildren(children)
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('configuration errors', () => {
  it('stop the CLI with exit code 1 and name the variable, before touching DATA_DIR', async () => {
    const dir = await tempDir('agentstore-cli-config-')
    const dataDir = join(dir, 'data')
    const [port, limits] = await Promise.all([
      runCli(['gpt', 'list'], { DATA_DIR: dataDir, PORT: 'abc' }),
      runCli(['--json', 'gpt', 'list'], { DATA_DIR: dataDir, RATE_LIMITS: 'bogus' }),
    ])
    expect(port.code).toBe(1)
    expect(port.stdout).toBe('')
    expect(port.stderr).toBe('agentstore: invalid configuration:\n  PORT="abc": expected a whole number from 0 to 65535\n')
    expect(limits.code).toBe(1)
    expect(limits.stdout).toBe('')
    expect((JSON.parse(limits.stderr) as { error: string }).error).toMatch(/^invalid configuration:\n {2}RATE_LIMITS: "bogus" is not of the form/)
    expect(existsSync(dataDir)).toBe(false)
  })
})

describe('embedded PGlite, no server: the CLI opens DATA_DIR itself', () => {
  let dataDir = ''
  beforeAll(async () => {
    // A directory that does not exist yet: the first command creates and initialises it.
    dataDir = join(await tempDir('agentstore-cli-embedded-'), 'data')
  })

  cliContract({ env: () => ({ DATA_DIR: dataDir }), concurrent: false, fresh: true })

  it('leaves no lock behind after each command', () => {
    expect(existsSync(join(dataDir, 'agentstore.lock'))).toBe(false)
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true)
  })
})

/** A server on the same data sees at once what the CLI did. */
function httpContract(env: () => Env, url: () => string, contract: { seeded?: CreatedKey }) {
  it('the server sees what the CLI created: 200 with the key, 401 without, 403 with another GPT\'s key, 401 once revoked', async () => {
    await cliJson(['gpt', 'create', 'http-a', '--name', 'HTTP A'], env())
    const key = await cliJson<CreatedKey>(['key', 'create', 'http-a'], env())
    expect(key).toMatchObject({ gpt_id: 'http-a', scopes: ['read', 'write'], expires_at: null })

    const gptUrl = `${url()}/v1/gpts/http-a`
    const ok = await fetch(gptUrl, { headers: { authorization: `Bearer ${key.key}` } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ id: 'http-a', name: 'HTTP A', description: null })

    const anonymous = await fetch(gptUrl)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await anonymous.json()).toMatchObject({ status: 401, title: expect.any(String) })

    // The key `seed` printed belongs to test-gpt.
    const otherGpt = await fetch(gptUrl, { headers: { authorization: `Bearer ${contract.seeded!.key}` } })
    expect(otherGpt.status).toBe(403)
    expect(await otherGpt.json()).toMatchObject({ status: 403, detail: 'This API key belongs to another GPT.' })

    // The server has just used (and may cache) the key: a revocation by the CLI must still apply at once.
    await cliJson(['key', 'revoke', key.id], env())
    const revoked = await fetch(gptUrl, { headers: { authorization: `Bearer ${key.key}` } })
    expect(revoked.status).toBe(401)
  })
}

interface RunningServer {
  child: ChildProcess
  url: string
  logs: Record<string, unknown>[]
  stop(): Promise<number | null>
}

/** `agentstore serve` on PORT=0, resolved once it logs where it listens. */
function startServer(env: Env): Promise<RunningServer> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
    cwd: CLI_CWD,
    env: childEnv({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  const logs: Record<string, unknown>[] = []
  let stderr = ''
  let pending = ''
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child)
      resolve(code)
    }),
  )
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in time\nstderr: ${stderr}`)), 90_000)
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8')
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        if (line.trim() === '') continue
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        if (typeof entry.msg === 'string' && entry.msg.startsWith('agentstore listening on ')) {
          clearTimeout(timer)
          resolve({
            child,
            url: entry.url as string,
            logs,
            async stop() {
              child.kill('SIGTERM')
              return exited
            },
          })
        }
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (${code}) before listening\nstderr: ${stderr}`))
    })
  })
}

// The server below initialises a fresh PGlite (the slowest step of this file): start it now, so that it
// does so while the embedded tests run, and wait for it only where it is used.
let serverDataDir = ''
let serverStarting: Promise<RunningServer> | null = null
beforeAll(async () => {
  serverDataDir = join(await tempDir('agentstore-cli-server-'), 'data')
  serverStarting = startServer({ DATA_DIR: serverDataDir })
  serverStarting.catch(() => {}) // reported where it is awaited
})

describe('embedded PGlite while a server holds DATA_DIR: the CLI goes through the admin channel', () => {
  let dataDir = ''
  let server: RunningServer

  beforeAll(async () => {
    dataDir = serverDataDir
    server = await serverStarting!
  })
  afterAll(async () => {
    if (server && server.child.exitCode === null) expect(await server.stop()).toBe(0)
  })

  it('the server holds the lock and announces its admin channel there', () => {
    const lock = readLock(dataDir)
    expect(lock).toMatchObject({ pid: server.child.pid, socket: expect.any(String) })
    expect(statSync(lock!.socket!).isSocket()).toBe(true)
  })

  const contract = cliContract({ env: () => ({ DATA_DIR: dataDir }), concurrent: true, fresh: false, url: () => server.url })

  httpContract(() => ({ DATA_DIR: dataDir }), () => server.url, contract)
})

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL

describe.skipIf(!TEST_DATABASE_URL)('PostgreSQL (DATABASE_URL)', () => {
  const name = `agentstore_cli_${randomBytes(6).toString('hex')}`
  let databaseUrl = ''
  let dataDir = ''

  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await client.connect()
    try {
      await client.query(text)
    } finally {
      await client.end()
    }
  }

  let server: RunningServer | null = null

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${name}`)
    const url = new URL(TEST_DATABASE_URL!)
    url.pathname = `/${name}`
    databaseUrl = url.toString()
    dataDir = join(await tempDir('agentstore-cli-pg-'), 'data')
  })
  afterAll(async () => {
    if (server && server.child.exitCode === null) expect(await server.stop()).toBe(0)
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })

  const env = () => ({ DATABASE_URL: databaseUrl, DATA_DIR: dataDir })
  const contract = cliContract({ env, concurrent: true, fresh: true })

  describe('with a server on the same database', () => {
    beforeAll(async () => {
      server = await startServer(env())
    })
    httpContract(env, () => server!.url, contract)
  })

  it('never touches DATA_DIR', () => {
    expect(existsSync(dataDir)).toBe(false)
  })
})

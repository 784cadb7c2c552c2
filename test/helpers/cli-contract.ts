import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { ApiKey, CreatedApiKey } from '../../src/modules/keys/keys.schemas.js'
import { cliJson as cliJsonOf, runCliProcess, type CliRunner, type Env } from './cli-process.js'

/*
 * What the `agentstore` CLI must do wherever its data is (embedded PGlite opened by the CLI itself,
 * the same while a server holds the data directory, PostgreSQL), with `--json` output parsed: the
 * steps of test/cli.test.ts, test/cli.admin-channel.test.ts and test/cli.postgres.test.ts.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** Exactly the fields the published schemas (and so the OpenAPI document) give a key. */
export const KEY_VIEW_FIELDS = Object.keys(ApiKey.properties).sort()
export const CREATED_KEY_FIELDS = Object.keys(CreatedApiKey.properties).sort()
export const TOKEN = /^ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const DAY_MS = 86_400_000
/** Every migration the package ships, by name: what `migrate` applies to a fresh database. */
export const ALL_MIGRATIONS = readdirSync(join(ROOT, 'migrations'))
  .filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file))
  .map((file) => file.replace(/\.sql$/, ''))
  .sort()

export interface KeyView {
  id: string
  gpt_id: string
  name: string | null
  scopes: string[]
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  created_at: string
}
export type CreatedKey = KeyView & { key: string }
export interface GptView {
  id: string
  name: string
  description: string | null
}
/** `key create --json`'s shape, plus what seed found or made. */
export type SeedResult = CreatedKey & { gpt_created: boolean; collection: string; revoked_keys: string[] }
export interface MigrationStatus {
  name: string
  applied: boolean
  appliedAt: string | null
}


export interface Mode {
  env: () => Env
  /** Whether independent commands may run at the same time (not when each CLI opens PGlite itself). */
  concurrent: boolean
  /** Whether the database is fresh (the first `migrate` applies every migration) or a server migrated it already. */
  fresh: boolean
  /** The running server, when there is one: what the CLI made must work over HTTP. */
  url?: () => string
  /** How each command runs (the built binary as a subprocess unless given). */
  run?: CliRunner
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
export function cliContract(mode: Mode): { key?: CreatedKey; seeded?: CreatedKey } {
  const state: { key?: CreatedKey; seeded?: CreatedKey } = {}
  const runCli = mode.run ?? runCliProcess
  const cliJson = <T = Record<string, unknown>>(args: string[], env: Env) => cliJsonOf<T>(args, env, runCli)

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

/** A server on the same data sees at once what the CLI did. */
export function httpContract(env: () => Env, url: () => string, contract: { seeded?: CreatedKey }) {
  it('the server sees what the CLI created: 200 with the key, 401 without, 403 with another GPT\'s key, 401 once revoked', async () => {
    await cliJsonOf(['gpt', 'create', 'http-a', '--name', 'HTTP A'], env())
    const key = await cliJsonOf<CreatedKey>(['key', 'create', 'http-a'], env())
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
    await cliJsonOf(['key', 'revoke', key.id], env())
    const revoked = await fetch(gptUrl, { headers: { authorization: `Bearer ${key.key}` } })
    expect(revoked.status).toBe(401)
  })
}

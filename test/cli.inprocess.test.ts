import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './helpers/cli.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

// The CLI's own code, run in this process so that its human-readable output and error paths are
// exercised here; test/cli.test.ts runs the real binary as a subprocess.

let db: TestDatabase | null = null
let dataDir: string
const saved = { ...process.env }

const cli = runCli

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'agentstore-cli-'))
  process.env.DATA_DIR = dataDir
  process.env.JOBS_ENABLED = 'false'
  if (process.env.TEST_DATABASE_URL) {
    db = await createTestDatabase()
    process.env.DATABASE_URL = db.url!
  } else {
    delete process.env.DATABASE_URL
  }
  delete process.env.REDIS_URL
})

afterAll(async () => {
  process.env = saved
  await db?.drop()
  await rm(dataDir, { recursive: true, force: true })
})

describe('agentstore (in process)', () => {
  it('walks a GPT and its keys through their life, printing for people', async () => {
    const created = await cli('gpt', 'create', 'inproc-gpt', '--name', 'In Process')
    expect(created).toMatchObject({ code: 0, stderr: '' })
    expect(created.stdout).toBe('Created GPT inproc-gpt (In Process).\nNext: agentstore key create inproc-gpt\n')

    const listed = await cli('gpt', 'list')
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+CREATED\ninproc-gpt\s+In Process\s+\d{4}-/)

    const key = await cli('key', 'create', 'inproc-gpt', '--name', 'ops', '--scopes', 'read', '--expires', '2w')
    expect(key.code).toBe(0)
    expect(key.stdout).toMatch(/Key \(shown once, store it now\):\n\n {2}ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43}\n/)
    expect(key.stdout).toMatch(/scopes: read; expires: \d{4}-/)
    const keyId = /Created key ([0-9a-f-]{36})/.exec(key.stdout)![1]!

    const keys = await cli('key', 'list', 'inproc-gpt')
    expect(keys.stdout).toContain(keyId)
    expect(keys.stdout).toMatch(/ops\s+read\s+\d{4}-.*\s+active\s+never/)
    expect(keys.stdout).not.toMatch(/ak_/)

    expect((await cli('key', 'revoke', keyId)).stdout).toBe(`Revoked key ${keyId} of GPT inproc-gpt.\n`)
    expect((await cli('key', 'list', 'inproc-gpt')).stdout).toMatch(/revoked/)

    // The whole key works too (the object store's `make revoke-key KEY=…`), only with its own secret.
    const token = /(ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43})/.exec((await cli('key', 'create', 'inproc-gpt')).stdout)![1]!
    const wrong = await cli('key', 'revoke', `${token.slice(0, -4)}AAAA`)
    expect(wrong.code).toBeGreaterThan(0)
    expect(wrong.stderr).toMatch(/No API key matches this token/)
    const byKey = await cli('key', 'revoke', token)
    expect(byKey.stdout).toMatch(/^Revoked key [0-9a-f-]{36} of GPT inproc-gpt\.\n$/)
    expect(byKey.stdout).not.toContain(token)

    const refused = await cli('gpt', 'delete', 'inproc-gpt')
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/add --yes to confirm/)
    expect((await cli('gpt', 'delete', 'inproc-gpt', '--yes')).stdout).toBe('Deleted GPT inproc-gpt and all its data.\n')
    expect((await cli('gpt', 'list')).stdout).toContain('(none)')
    // Each command opens the embedded database anew (~2–4 s each on PGlite).
  }, 180_000)

  it('reports migrations and seeds sample data with a fresh key', async () => {
    const status = await cli('migrate', 'status')
    expect(status.stdout).toMatch(/0001_foundation\s+applied/)
    expect((await cli('migrate')).stdout).toMatch(/^Nothing to apply\./)
    const seeded = await cli('seed')
    expect(seeded.stdout).toMatch(/^(Created|Reused) GPT test-gpt\.\nCreated key/)
    const json = JSON.parse((await cli('--json', 'seed')).stdout) as { gpt_created: boolean; collection: string; key: { key: string } }
    expect(json).toMatchObject({ gpt_created: false, collection: 'notes' })
    expect(json.key.key).toMatch(/^ak_/)
  }, 120_000)

  it.each([
    { args: ['gpt', 'create', 'bad id!', '--name', 'x'], message: /Invalid arguments for gpt\.create[\s\S]*\/id: must match pattern/ },
    { args: ['key', 'create', 'no-such-gpt'], message: /GPT "no-such-gpt" not found/ },
    { args: ['key', 'create', 'test-gpt', '--scopes', 'read,sudo'], message: /Invalid arguments for key\.create/ },
    { args: ['key', 'revoke', 'not-a-uuid'], message: /Invalid arguments for key\.revoke/ },
    { args: ['key', 'revoke', 'ak_not-a-key'], message: /No API key matches this token/ },
    { args: ['migrate', 'sideways'], message: /unknown migrate action "sideways"/ },
  ])('$args → a clear error', async ({ args, message }) => {
    const result = await cli(...args)
    expect(result.code).toBeGreaterThan(0)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(message)
    expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/)
  })

  it('prints errors as JSON with --json', async () => {
    const result = await cli('--json', 'key', 'create', 'no-such-gpt')
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stderr)).toEqual({ error: 'GPT "no-such-gpt" not found.' })
  })

  it('names a bad setting and stops', async () => {
    process.env.PORT = 'eighty'
    try {
      const result = await cli('gpt', 'list')
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/PORT="eighty": expected a whole number/)
    } finally {
      delete process.env.PORT
    }
  })
})

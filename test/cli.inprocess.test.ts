import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { runCli, useCliDatabase } from './helpers/cli.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

// The CLI's own code, run in this process so that its human-readable output and error paths are
// exercised here; test/cli.test.ts runs the real binary as a subprocess.

const BIN = fileURLToPath(new URL('../bin/agentstore.js', import.meta.url))

const cli = runCli

useCliDatabase('cli')

describe('agentstore (in process)', () => {
  it('walks a GPT and its keys through their life, printing for people', async () => {
    const created = await cli('gpt', 'create', 'inproc-gpt', '--name', 'In Process')
    expect(created).toMatchObject({ code: 0, stderr: '' })
    // The hint runs the package's own script by its path, never `npx`.
    expect(created.stdout).toBe(`Created GPT inproc-gpt (In Process).\nNext: ${BIN} key create inproc-gpt\n`)

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

    // The key carries its id without dashes; revoke takes that form too, and answers with the one form it prints.
    expect(key.stdout).toContain(`ak_${keyId.replaceAll('-', '')}_`)
    expect((await cli('key', 'revoke', keyId.replaceAll('-', ''))).stdout).toBe(`Revoked key ${keyId} of GPT inproc-gpt.\n`)
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

  it('reports migrations', async () => {
    const status = await cli('migrate', 'status')
    expect(status.stdout).toMatch(/0001_foundation\s+applied/)
    expect((await cli('migrate')).stdout).toMatch(/^Nothing to apply\./)
  })

  it('seeds sample data and says what it made; each run replaces the seed key instead of adding one', async () => {
    const first = await cli('seed')
    expect(first.stdout).toMatch(/^Created GPT test-gpt\.\nCreated collection notes with 3 sample notes\.\nCreated key [0-9a-f-]{36} for GPT test-gpt/)
    const firstId = /Created key ([0-9a-f-]{36})/.exec(first.stdout)![1]!

    // The same shape as `key create --json` (the secret at .key), plus what seed found or made.
    const json = JSON.parse((await cli('--json', 'seed')).stdout) as Record<string, unknown>
    const created = JSON.parse((await cli('--json', 'key', 'create', 'test-gpt')).stdout) as Record<string, unknown>
    expect(Object.keys(json).sort()).toEqual(
      [...Object.keys(created), 'gpt_created', 'collection', 'collection_created', 'sample_notes', 'sample_users', 'revoked_keys'].sort(),
    )
    expect(json).toMatchObject({
      gpt_id: 'test-gpt',
      name: 'seed',
      scopes: ['read', 'write', 'admin'],
      gpt_created: false,
      collection: 'notes',
      collection_created: false,
      sample_notes: 0,
      sample_users: 0,
      revoked_keys: [firstId],
    })
    expect(json.key).toMatch(/^ak_[0-9a-f]{32}_/)

    const third = await cli('seed')
    expect(third.stdout).toMatch(
      new RegExp(`^Reused GPT test-gpt\\.\nKept collection notes and its documents\\.\nRevoked the earlier seed key ${json.id as string}\\.\nCreated key`),
    )
    const keys = (JSON.parse((await cli('--json', 'key', 'list', 'test-gpt')).stdout) as { name: string | null; revoked_at: string | null }[])
    expect(keys.filter((key) => key.name === 'seed').map((key) => key.revoked_at === null)).toEqual([false, false, true])
    expect(keys.filter((key) => key.name !== 'seed' && key.revoked_at === null)).toHaveLength(1)
  }, 120_000)

  it("chooses what a GPT's Action spec offers, and goes back to the defaults", async () => {
    const chosen = await cli('gpt', 'expose', 'test-gpt', '--parts', 'collections,mail', '--collections', 'notes')
    expect(chosen.stdout).toBe('GPT test-gpt: its Action spec offers collections, mail (collections: notes).\n')
    expect((await cli('gpt', 'expose', 'test-gpt', '--defaults')).stdout).toBe(
      'GPT test-gpt: its Action spec offers collections, memories, search (collections: all).\n',
    )
  }, 60_000)

  it.each([
    { args: ['gpt', 'expose', 'test-gpt'], message: /give either --parts or --defaults/ },
    { args: ['gpt', 'expose', 'test-gpt', '--parts', 'memories,files'], message: /Invalid arguments for gpt\.update/ },
    { args: ['gpt', 'expose', 'test-gpt', '--parts', 'collections', '--collections', 'nope'], message: /no collection "nope": drop it from action_exposure\.collections/ },
    { args: ['gpt', 'expose', 'no-such-gpt', '--defaults'], message: /GPT "no-such-gpt" not found/ },
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

  // Commander's own usage errors and --help end the command, never the process that runs it.
  it.each([
    { args: ['gpt', 'create', 'some-gpt'], code: 2, stderr: /required option '--name <name>' not specified/ },
    { args: ['gpt', 'frobnicate'], code: 2, stderr: /unknown command 'frobnicate'/ },
    { args: ['gpt', 'list', '--colour'], code: 2, stderr: /unknown option '--colour'/ },
    { args: ['--help'], code: 0, stdout: /Usage: agentstore/ },
    { args: ['--version'], code: 0, stdout: /^\d+\.\d+\.\d+/ },
  ])('$args → exit code $code from commander, in this process', async ({ args, code, stderr, stdout }) => {
    const result = await cli(...args)
    expect(result.code).toBe(code)
    if (stderr) expect(result.stderr).toMatch(stderr)
    if (stdout) expect(result.stdout).toMatch(stdout)
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

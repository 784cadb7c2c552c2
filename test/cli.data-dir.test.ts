import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCliIn } from './helpers/cli.js'
import { restoreEnv } from './helpers/env.js'

// The CLI run from a directory that holds no data: it says where it looked and stops, instead of
// making and migrating an empty database there. Only `serve` or a directory named explicitly makes one.

const saved = { ...process.env }
const dirs: string[] = []
let cwd = ''

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'agentstore-cwd-'))
  dirs.push(cwd)
  for (const name of ['DATA_DIR', 'DATABASE_URL', 'REDIS_URL', 'PORT', 'HOST']) delete process.env[name]
  process.env.JOBS_ENABLED = 'false'
})
afterEach(() => {
  restoreEnv(saved)
})
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

describe('a command with no data directory', () => {
  it.each([
    { args: ['gpt', 'list'] },
    { args: ['migrate'] },
    { args: ['seed'] },
    { args: ['key', 'revoke', '0191d2b4-6f7e-7c3a-9b1d-2f6e4a8c0d12'] },
    { args: ['reindex'] },
  ])(
    '$args names where it looked and how to fix it, exits 1, and creates nothing',
    async ({ args }) => {
      const result = await runCliIn(cwd, ...args)
      expect(result.code).toBe(1)
      expect(result.stdout).toBe('')
      expect(result.stderr).toMatch(new RegExp(`^agentstore: no data directory at ${join(cwd, 'data')} \\(DATA_DIR defaults to ./data`))
      expect(result.stderr).toMatch(/--data-dir <dir> \(or DATA_DIR=<dir>\)/)
      expect(result.stderr).toMatch(/DATABASE_URL=postgres:/)
      expect(result.stderr).toMatch(/serve` makes a new data directory on its first start/)
      expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/)
      expect(readdirSync(cwd)).toEqual([])
    },
  )

  it('answers in JSON with --json', async () => {
    const result = await runCliIn(cwd, '--json', 'gpt', 'list')
    expect(result.code).toBe(1)
    expect((JSON.parse(result.stderr) as { error: string }).error).toMatch(/^no data directory at /)
    expect(readdirSync(cwd)).toEqual([])
  })

  it('is not needed on PostgreSQL: a bad DATABASE_URL is what gets reported', async () => {
    process.env.DATABASE_URL = 'mysql://nowhere'
    const result = await runCliIn(cwd, 'gpt', 'list')
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/DATABASE_URL: expected a URL starting with postgres:/)
    expect(readdirSync(cwd)).toEqual([])
  })
})

describe('a data directory named explicitly', () => {
  it('--data-dir (relative to the current directory) is made on first use and found by the next command', async () => {
    const created = await runCliIn(cwd, '--data-dir', 'store', 'gpt', 'create', 'dd-gpt', '--name', 'Data Dir')
    expect(created).toMatchObject({ code: 0, stderr: '' })
    expect(existsSync(join(cwd, 'store', 'PG_VERSION'))).toBe(true)
    expect(existsSync(join(cwd, 'data'))).toBe(false)
    // --data-dir wins over DATA_DIR, and may come after the command.
    process.env.DATA_DIR = join(cwd, 'elsewhere')
    const listed = await runCliIn(cwd, 'gpt', 'list', '--data-dir', join(cwd, 'store'))
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+CREATED\ndd-gpt\s+Data Dir/)
    expect(existsSync(join(cwd, 'elsewhere'))).toBe(false)
    // Once it exists, the default ./data is found without being named.
    delete process.env.DATA_DIR
    await rm(join(cwd, 'store', 'agentstore.lock'), { force: true })
    await rename(join(cwd, 'store'), join(cwd, 'data'))
    expect((await runCliIn(cwd, 'gpt', 'list')).stdout).toContain('dd-gpt')
  }, 120_000)
})

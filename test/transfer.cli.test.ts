import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { runCli, useCliDatabase } from './helpers/cli.js'

// `agentstore transfer --to <dir>`: the configured database (PGlite or PostgreSQL) into a new
// embedded data directory, verified; a target with data is refused.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })
const targets = mkdtempSync(join(tmpdir(), 'agentstore-transfer-cli-'))
useCliDatabase('transfer-cli')

afterAll(() => rmSync(targets, { recursive: true, force: true }))

describe('agentstore transfer', () => {
  const to = join(targets, 'moved')

  it('copies everything into a new data directory and says every table matched', async () => {
    expect((await runCli('--json', 'gpt', 'create', 'moving-gpt', '--name', 'Moving')).code).toBe(0)
    const result = await runCli('transfer', '--to', to)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^Copied \d+ rows in \d+ tables; every table's row count and checksum match the source\.\n$/)
    expect(result.stderr).toMatch(/^Copying .* to the data directory .*moved\.\n/)
    expect(result.stderr).toMatch(/100%/)
    const listed = await runCli('--json', '--data-dir', to, 'gpt', 'list')
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((gpt) => gpt.id)).toEqual(['moving-gpt'])
  })

  it.each([
    { case: 'a target that holds data', args: () => ['transfer', '--to', to], error: /The target already holds data \(.*gpts.*\)/ },
    { case: 'no --to', args: () => ['transfer'], error: /required option '--to <target>' not specified/ },
  ])('refuses $case with a one-line reason', async ({ args, error }) => {
    const result = await runCli('--json', ...args())
    expect(result.code).not.toBe(0)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(error)
  })
})

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { runCli, useCliDatabase } from './helpers/cli.js'
import { onPostgres } from './helpers/test-database.js'

// `agentstore backup create|list|verify|restore` as an operator runs them, with --json and without.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })
const backupDir = mkdtempSync(join(tmpdir(), 'agentstore-cli-backups-'))
useCliDatabase('backup-cli', { BACKUP_DIR: backupDir })

afterAll(() => {
  rmSync(backupDir, { recursive: true, force: true })
  // PGlite restore --force keeps the directory it replaced beside the data directory.
  const dataDir = process.env.DATA_DIR
  if (dataDir) for (const name of readdirSync(dirname(dataDir)).filter((entry) => entry.startsWith(`${basename(dataDir)}.replaced-`))) rmSync(join(dirname(dataDir), name), { recursive: true, force: true })
})

const json = async (...args: string[]) => {
  const result = await runCli('--json', ...args)
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Record<string, unknown> & Record<number, Record<string, unknown>>
}

describe('agentstore backup', () => {
  let file = ''

  it('create: makes a backup with its manifest and prints it', async () => {
    await json('gpt', 'create', 'kept-gpt', '--name', 'Kept')
    const made = await json('backup', 'create')
    expect(made).toMatchObject({ kind: onPostgres() ? 'postgres' : 'pglite', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), pruned: [] })
    file = String(made.file)
    expect(existsSync(join(backupDir, file))).toBe(true)
    expect(existsSync(join(backupDir, `${file}.json`))).toBe(true)
  })

  it('list: the backups, newest first; a table without --json', async () => {
    expect(((await json('backup', 'list')) as unknown as { file: string }[]).map((backup) => backup.file)).toEqual([file])
    const text = await runCli('backup', 'list')
    expect(text.stdout).toMatch(new RegExp(`^FILE\\s+FINISHED\\s+SIZE\\s+DURATION\\s+SCHEMA\\n${file.replace(/\./g, '\\.')}\\s`))
  })

  it('verify: by name in BACKUP_DIR or by path', async () => {
    expect(await json('backup', 'verify', file)).toMatchObject({ file, verified: true })
    const text = await runCli('backup', 'verify', join(backupDir, file))
    expect(text).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^${file.replace(/\./g, '\\.')}: intact \\(`)) })
  })

  it.each([
    { args: ['backup', 'verify', 'nothing-here.dump'], error: /No backup file at .*nothing-here\.dump/ },
    { args: ['backup', 'restore', 'nothing-here.dump'], error: /No backup file at .*nothing-here\.dump/ },
  ])('$args.1 of a file that is not there: says so in one line, exit 1', async ({ args, error }) => {
    const result = await runCli(...args)
    expect(result.code).toBe(1)
    const last = result.stderr.trim().split('\n').at(-1)!
    expect(last).toMatch(/^agentstore: /)
    expect(last).toMatch(error)
    expect(result.stdout).toBe('')
  })

  it('restore: refuses a database that has data without --force, then restores with it', async () => {
    const refused = await runCli('backup', 'restore', file)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/add --force/)
    await json('gpt', 'create', 'after-backup', '--name', 'Made after the backup')
    const restored = await json('backup', 'restore', file, '--force')
    expect(restored).toMatchObject({ file, migrated: [] })
    const gpts = (await json('gpt', 'list')) as unknown as { id: string }[]
    expect(gpts.map((gpt) => gpt.id)).toEqual(['kept-gpt'])
  })
})

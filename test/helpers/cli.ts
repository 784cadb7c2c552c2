import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, vi } from 'vitest'
import { main } from '../../src/cli/main.js'
import { CLI_CWD } from './children.js'
import { copyMigratedDataDir, createTestDatabase, type TestDatabase } from './test-database.js'
import { restoreEnv } from './env.js'

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI in this process from CLI_CWD (no `.env` there), capturing what it writes and the exit code it sets. */
export function runCli(...args: string[]): Promise<CliRun> {
  return runCliIn(CLI_CWD, ...args)
}

/** Runs the CLI in this process as if started in `cwd` (where it reads `.env` and finds ./data). */
export async function runCliIn(cwd: string, ...args: string[]): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk)
    return true
  })
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk)
    return true
  })
  const home = process.cwd()
  process.exitCode = undefined
  try {
    process.chdir(cwd)
    await main(['node', 'agentstore', ...args])
  } finally {
    process.chdir(home)
    out.mockRestore()
    err.mockRestore()
  }
  const code = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  return { code, stdout, stderr }
}

/**
 * For the whole test file: points the in-process CLI at a migrated data directory of its own (on a
 * PostgreSQL run, at a database of its own), with `env` on top and no Redis; restores the
 * environment and removes both afterwards. Call it at the top level of the file, before its own hooks.
 * The directory is a copy of the run's: making and migrating one took ~6 CPU-s a file. The tests about
 * making one start from nothing: cli.data-dir (a directory named explicitly, made on first use), server
 * and deploy.image (`serve` on a fresh DATA_DIR).
 */
export function useCliDatabase(name: string, env: Record<string, string> = {}): void {
  const saved = { ...process.env }
  let db: TestDatabase | null = null
  let dataDir: string | null = null
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), `agentstore-${name}-`))
    Object.assign(process.env, { DATA_DIR: dataDir, JOBS_ENABLED: 'false', ...env })
    if (process.env.TEST_DATABASE_URL) {
      db = await createTestDatabase()
      process.env.DATABASE_URL = db.url!
    } else {
      await copyMigratedDataDir(dataDir)
      delete process.env.DATABASE_URL
    }
    delete process.env.REDIS_URL
  })
  afterAll(async () => {
    restoreEnv(saved)
    await db?.drop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })
}

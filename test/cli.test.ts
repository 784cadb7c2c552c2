import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cliContract, type GptView } from './helpers/cli-contract.js'
import { cleanUpCliProcesses, cliJson, runCliInProcess, runCliProcess, tempDir } from './helpers/cli-process.js'

/*
 * The `agentstore` CLI on embedded PGlite that it opens itself, with no server. Its commands run in
 * this process (each opens DATA_DIR anew, as a command of the binary does); the steps about the
 * process itself (configuration errors, exit codes, the lock it leaves) run the built binary as a
 * user does. The same steps against a server's admin channel: test/cli.admin-channel.test.ts; on
 * PostgreSQL: test/cli.postgres.test.ts (both as subprocesses).
 */

// Each step opens the embedded database once or more (~1 s each, more when the machine is busy).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })

afterAll(cleanUpCliProcesses)

describe('configuration errors', () => {
  it('stop the CLI with exit code 1 and name the variable, before touching DATA_DIR', async () => {
    const dir = await tempDir('agentstore-cli-config-')
    const dataDir = join(dir, 'data')
    const [port, limits] = await Promise.all([
      runCliProcess(['gpt', 'list'], { DATA_DIR: dataDir, PORT: 'abc' }),
      runCliProcess(['--json', 'gpt', 'list'], { DATA_DIR: dataDir, RATE_LIMITS: 'bogus' }),
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
  const env = () => ({ DATA_DIR: dataDir })
  beforeAll(async () => {
    // A directory that does not exist yet: the first command creates and initialises it.
    dataDir = join(await tempDir('agentstore-cli-embedded-'), 'data')
  })

  cliContract({ env, concurrent: false, fresh: true, run: runCliInProcess })

  it('the built binary opens the same directory, exits with the code of its command, and lets go of the directory', async () => {
    const gpts = await cliJson<GptView[]>(['gpt', 'list'], env())
    expect(gpts).toContainEqual(expect.objectContaining({ id: 'test-gpt', name: 'Test GPT' }))
    const refused = await runCliProcess(['gpt', 'delete', 'test-gpt'], env())
    expect(refused.code).toBe(2)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toContain('agentstore: this deletes GPT "test-gpt" and all its data; add --yes to confirm')
    const unknown = await runCliProcess(['key', 'list', 'alpha'], env())
    expect(unknown).toEqual({ code: 1, stdout: '', stderr: 'agentstore: GPT "alpha" not found.\n' })
  })

  it('leaves no lock behind after each command', () => {
    expect(existsSync(join(dataDir, 'agentstore.lock'))).toBe(false)
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true)
  })
})

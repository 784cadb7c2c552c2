import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { readLock } from '../src/platform/db/data-dir-lock.js'
import { cliContract, httpContract } from './helpers/cli-contract.js'
import { cleanUpCliProcesses, startServer, tempDir, type RunningServer } from './helpers/cli-process.js'
import { copyMigratedDataDir } from './helpers/test-database.js'

/*
 * The `agentstore` CLI as a user runs it (the built binary as a subprocess) while `agentstore serve`
 * holds the embedded PGlite data directory: the CLI goes through the server's admin channel, and the
 * server sees at once what the CLI did. The same steps without a server: test/cli.test.ts.
 */

// Each step runs CLI subprocesses (~3 s each, more when the machine is busy).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })

afterAll(cleanUpCliProcesses)

describe('embedded PGlite while a server holds DATA_DIR: the CLI goes through the admin channel', () => {
  let dataDir = ''
  let server: RunningServer

  beforeAll(async () => {
    // Not a fresh directory: starting on one is test/server.test.ts's; this is about the admin channel.
    dataDir = join(await tempDir('agentstore-cli-server-'), 'data')
    await copyMigratedDataDir(dataDir)
    server = await startServer({ DATA_DIR: dataDir })
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

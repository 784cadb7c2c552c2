import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cliContract, httpContract } from './helpers/cli-contract.js'
import { cleanUpCliProcesses, startServer, tempDir, type RunningServer } from './helpers/cli-process.js'

/*
 * The `agentstore` CLI as a user runs it (the built binary as a subprocess) on PostgreSQL
 * (DATABASE_URL), alone and next to a server on the same database. Only on a PostgreSQL run.
 */

// Each step runs CLI subprocesses (~3 s each, more when the machine is busy).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })

afterAll(cleanUpCliProcesses)

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

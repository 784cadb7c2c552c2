import { cp, readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import { openDatabase, type Database } from '../../src/platform/db/database.js'
import { leasePglite } from './pglite-reuse.js'

export interface TestDatabase {
  database: Database
  /** The connection URL of a PostgreSQL test database (null on PGlite). */
  url: string | null
  drop(): Promise<void>
}

export const onPostgres = (): boolean => Boolean(process.env.TEST_DATABASE_URL)

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

let loaded: { path: string; blob: Promise<Blob> } | null = null

/** The run's dump, read once per worker: a Blob is immutable, and each load reads it afresh. */
export function dumpBlob(path: string): Promise<Blob> {
  if (loaded?.path !== path) loaded = { path, blob: readFile(path).then((bytes) => new Blob([bytes])) }
  return loaded.blob
}

/**
 * A fresh, migrated database of its own for one test file: a copy of the run's PostgreSQL template
 * when TEST_DATABASE_URL is set (dropped afterwards), else a PGlite in the state of the run's dump
 * (loaded from it, or an earlier file's instance reset to it: see pglite-reuse.ts).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject('pgTemplate')
  if (template) {
    const name = `agentstore_test_${randomBytes(6).toString('hex')}`
    await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`)
    const url = withDatabase(process.env.TEST_DATABASE_URL!, name)
    const database = await openDatabase({ kind: 'postgres', url, poolSize: 5 })
    return {
      database,
      url,
      async drop() {
        await database.close()
        await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      },
    }
  }
  const dump = inject('pgliteDump')
  if (!dump) throw new Error('the global setup provided no test database')
  const lease = await leasePglite(() => dumpBlob(dump))
  const database = await openDatabase({ kind: 'pglite', opening: Promise.resolve(lease.pglite) })
  return {
    database,
    url: null,
    async drop() {
      await database.close()
      await lease.returned
    },
  }
}

/**
 * Makes `target` a migrated PGlite data directory (a copy of the run's), for a process a test starts
 * where the data directory's creation is not what the test is about.
 */
export async function copyMigratedDataDir(target: string): Promise<void> {
  await cp(inject('pgliteDataDir'), target, { recursive: true, errorOnExist: true, force: false })
}

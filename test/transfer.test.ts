import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from '../src/platform/db/database.js'
import { tableDigests, transfer } from '../src/modules/backups/transfer.js'
import { fillEveryTable } from './helpers/fill.js'
import { createTestApp, type TestApp } from './helpers/test-app.js'
import { copyMigratedDataDir, onPostgres } from './helpers/test-database.js'

// A whole instance moved to another database and back, every table's rows and content equal: on a
// PostgreSQL run PostgreSQL → PGlite → PostgreSQL, on a PGlite run PGlite → PGlite.

let t: TestApp
const dir = mkdtempSync(join(tmpdir(), 'agentstore-transfer-'))
const opened: Database[] = []
const cleanups: (() => Promise<void>)[] = []

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
  await client.connect()
  await client.query(text).finally(() => client.end())
}

async function emptyPostgres(): Promise<Database> {
  const name = `agentstore_transfer_${randomBytes(6).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${name}`)
  cleanups.push(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(process.env.TEST_DATABASE_URL!)
  url.pathname = `/${name}`
  const database = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 2 })
  opened.push(database)
  return database
}

/** A new PGlite that `transfer` creates the schema in. */
async function emptyPglite(): Promise<Database> {
  const database = await openDatabase({ kind: 'pglite', dataDir: join(dir, randomBytes(4).toString('hex')) })
  opened.push(database)
  return database
}

/** A PGlite with the schema and no rows (a copy of the run's; creating one costs ~8 s of CPU). */
async function migratedEmptyPglite(): Promise<Database> {
  const dataDir = join(dir, randomBytes(4).toString('hex'))
  await copyMigratedDataDir(dataDir)
  const database = await openDatabase({ kind: 'pglite', dataDir })
  opened.push(database)
  return database
}

beforeAll(async () => {
  t = await createTestApp()
  await fillEveryTable(t)
}, 120_000)

afterAll(async () => {
  for (const database of opened) await database.close()
  await t?.close()
  for (const cleanup of cleanups) await cleanup()
  rmSync(dir, { recursive: true, force: true })
})

describe('transfer', () => {
  it('copies every table there and back with equal row counts and checksums, reporting progress', async () => {
    const original = await tableDigests(t.db.database)
    expect(Object.values(original).every((digest) => digest.rows > 0)).toBe(true)
    const seen = new Set<string>()
    const middle = await emptyPglite()
    const there = await transfer(t.db.database, middle, (table) => seen.add(table))
    expect(there).toMatchObject({ verified: true, tables: original })
    expect([...seen].sort()).toEqual(Object.keys(original).sort())
    const back = onPostgres() ? await emptyPostgres() : await migratedEmptyPglite()
    await transfer(middle, back)
    expect(await tableDigests(back)).toEqual(original)
  }, 180_000)

  it('refuses a target that already holds data', async () => {
    const target = await migratedEmptyPglite()
    await transfer(t.db.database, target)
    await expect(transfer(t.db.database, target)).rejects.toThrow(/The target already holds data \(.*gpts.*\); transfer only into an empty database/)
  }, 180_000)

  it('keeps identity columns going after the copied values', async () => {
    const target = await migratedEmptyPglite()
    await transfer(t.db.database, target)
    const { rows } = await target.pool.query<{ max: string }>('select max(id)::text as max from embeddings')
    const next = await target.pool.query<{ id: string }>("select nextval(pg_get_serial_sequence('embeddings', 'id'))::text as id")
    expect(BigInt(next.rows[0]!.id)).toBeGreaterThan(BigInt(rows[0]!.max))
  }, 180_000)
})

import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Migrator, sql, type Migration } from 'kysely'
import pg from 'pg'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from '../src/platform/db/database.js'
import { migrationStatus, MIGRATIONS_DIR } from '../src/platform/db/migrate.js'
import { restoreBackup, type RestoreTarget } from '../src/modules/backups/backups.restore.js'
import { BackupService } from '../src/modules/backups/backups.service.js'
import { onPostgres } from './helpers/test-database.js'

// A backup made by an older version (its schema lacks the newest migration) comes back at this
// version's schema: restore applies what it predates.

const dir = mkdtempSync(join(tmpdir(), 'agentstore-backup-migrate-'))
const cleanups: (() => Promise<void>)[] = []

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  rmSync(dir, { recursive: true, force: true })
})

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
  await client.connect()
  await client.query(text).finally(() => client.end())
}

async function emptyPostgres(): Promise<string> {
  const name = `agentstore_old_${randomBytes(6).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${name}`)
  cleanups.push(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(process.env.TEST_DATABASE_URL!)
  url.pathname = `/${name}`
  return url.toString()
}

/** The package's migrations but the last: the schema of the previous version. */
function olderMigrations(): Record<string, Migration> {
  const files = readdirSync(MIGRATIONS_DIR).filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file)).sort().slice(0, -1)
  return Object.fromEntries(
    files.map((file) => [file.replace(/\.sql$/, ''), { up: async (db) => void (await sql.raw(readFileSync(join(MIGRATIONS_DIR, file), 'utf8')).execute(db)) } satisfies Migration]),
  )
}

describe('restoring an older backup', () => {
  it('migrates it forward to this version', async () => {
    const url = onPostgres() ? await emptyPostgres() : null
    const old: Database = url ? await openDatabase({ kind: 'postgres', url, poolSize: 2 }) : await openDatabase({ kind: 'pglite' })
    cleanups.push(() => old.close())
    const older = olderMigrations()
    const { error } = await new Migrator({ db: old.db, provider: { getMigrations: async () => older } }).migrateToLatest()
    expect(error).toBeUndefined()
    const backup = await new BackupService(old, { schedule: null, dir, retentionDays: 14, databaseUrl: url }, new Registry()).create()
    const all = (await migrationStatus(old.db)).map((migration) => migration.name)
    expect(backup.migrations).toEqual(all.slice(0, -1))

    const target: RestoreTarget = onPostgres() ? { databaseUrl: await emptyPostgres(), dataDir: '' } : { databaseUrl: null, dataDir: join(dir, 'restored') }
    const result = await restoreBackup(backup.path, target, { force: false })
    expect(result).toMatchObject({ schema_version: all.at(-2), migrated: [all.at(-1)] })
    const restored = target.databaseUrl ? await openDatabase({ kind: 'postgres', url: target.databaseUrl, poolSize: 2 }) : await openDatabase({ kind: 'pglite', dataDir: target.dataDir })
    try {
      expect((await migrationStatus(restored.db)).filter((migration) => !migration.applied)).toEqual([])
    } finally {
      await restored.close()
    }
  }, 120_000)
})

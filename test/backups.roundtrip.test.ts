import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from '../src/platform/db/database.js'
import { manifestPath } from '../src/modules/backups/backups.files.js'
import { restoreBackup, verifyBackup, type RestoreTarget } from '../src/modules/backups/backups.restore.js'
import { BackupService, type BackupResult } from '../src/modules/backups/backups.service.js'
import { fillEveryTable, tableDigests, tableNames } from './helpers/fill.js'
import { createTestApp, type TestApp } from './helpers/test-app.js'
import { onPostgres } from './helpers/test-database.js'

// Back up a database with a row in every table, restore it into a fresh one, and find every table
// with the same rows and content; on PostgreSQL (pg_dump) and on PGlite (data-directory dump).

let t: TestApp
let dir: string
let backups: BackupService
let backup: BackupResult
const cleanups: (() => Promise<void>)[] = []

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
  await client.connect()
  await client.query(text).finally(() => client.end())
}

/** An empty target of the test's database kind: a new PostgreSQL database, or a data directory not yet made. */
async function freshTarget(): Promise<RestoreTarget> {
  if (!onPostgres()) return { databaseUrl: null, dataDir: join(dir, `restored-${randomBytes(4).toString('hex')}`) }
  const name = `agentstore_restore_${randomBytes(6).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${name}`)
  cleanups.push(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(process.env.TEST_DATABASE_URL!)
  url.pathname = `/${name}`
  return { databaseUrl: url.toString(), dataDir: '' }
}

async function open(target: RestoreTarget): Promise<Database> {
  return target.databaseUrl === null ? openDatabase({ kind: 'pglite', dataDir: target.dataDir }) : openDatabase({ kind: 'postgres', url: target.databaseUrl, poolSize: 2 })
}

const settings = () => ({ schedule: '30 2 * * *', dir, retentionDays: 14, databaseUrl: t.db.url })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agentstore-backups-'))
  t = await createTestApp()
  await fillEveryTable(t)
  backups = new BackupService(t.db.database, settings(), new Registry())
  backup = await backups.create()
}, 120_000)

afterAll(async () => {
  await t?.close()
  for (const cleanup of cleanups) await cleanup()
  rmSync(dir, { recursive: true, force: true })
})

describe('a backup', () => {
  it('records its size, duration, checksum and schema version next to the file', () => {
    const manifest = JSON.parse(readFileSync(manifestPath(backup.path), 'utf8')) as Record<string, unknown>
    expect(manifest).toMatchObject({ format: 'agentstore-backup/1', file: backup.file, kind: onPostgres() ? 'postgres' : 'pglite', sha256: backup.sha256, size_bytes: backup.size_bytes })
    expect(backup.size_bytes).toBeGreaterThan(1000)
    expect(backup.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(backup.duration_ms).toBeGreaterThanOrEqual(0)
    expect(backup.schema_version).toBe(backup.migrations.at(-1))
    expect(backup.migrations.length).toBeGreaterThanOrEqual(7)
  })

  it('is listed, newest first, and verifies', async () => {
    expect((await backups.list()).map((m) => m.file)).toContain(backup.file)
    await expect(verifyBackup(backup.path)).resolves.toMatchObject({ verified: true, sha256: backup.sha256 })
  })

  it('restores into a fresh database with every table, its row count and its content equal', async () => {
    const tables = await tableNames(t.db.database)
    const before = await tableDigests(t.db.database, tables)
    const empty = Object.entries(before).filter(([name, digest]) => name.startsWith('public.') && digest.rows === 0).map(([name]) => name)
    expect(empty, 'tables the fill left empty').toEqual([])
    const target = await freshTarget()
    const result = await restoreBackup(backup.path, target, { force: false })
    expect(result).toMatchObject({ file: backup.file, migrated: [], replaced: null })
    const restored = await open(target)
    try {
      expect(await tableNames(restored)).toEqual(tables)
      expect(await tableDigests(restored, tables)).toEqual(before)
    } finally {
      await restored.close()
    }
  }, 120_000)
})

describe('restore refuses', () => {
  const copy = (name: string, change: (bytes: Buffer) => Buffer, manifest: (m: Record<string, unknown>) => Record<string, unknown> = (m) => m) => {
    const file = join(dir, name)
    const original = JSON.parse(readFileSync(manifestPath(backup.path), 'utf8')) as Record<string, unknown>
    writeFileSync(file, change(readFileSync(backup.path)))
    writeFileSync(manifestPath(file), JSON.stringify(manifest({ ...original, file: name })))
    return file
  }
  const flipped = (bytes: Buffer) => {
    const changed = Buffer.from(bytes)
    const middle = Math.floor(changed.length / 2)
    changed[middle] = changed[middle]! ^ 0xff
    return changed
  }

  it.each([
    { case: 'a file whose bytes changed', file: () => copy(`${backup.file}.flipped`, flipped), error: /checksum [0-9a-f]{64} differs from the manifest's/ },
    { case: 'a file cut short', file: () => copy(`${backup.file}.short`, (bytes) => bytes.subarray(0, 100)), error: /100 bytes, the manifest says/ },
    { case: 'a file without its manifest', file: () => { const file = join(dir, 'lonely.dump'); writeFileSync(file, 'x'); return file }, error: /has no manifest/ },
    { case: 'a file that is not there', file: () => join(dir, 'missing.dump'), error: /No backup file at/ },
    {
      case: 'a backup of a newer schema',
      file: () => copy(`${backup.file}.newer`, (bytes) => bytes, (m) => ({ ...m, migrations: [...(m.migrations as string[]), '9999_from_the_future'], agentstore_version: '9.0.0' })),
      error: /made by Agentstore 9\.0\.0 with migrations this version does not have \(9999_from_the_future\)/,
    },
    {
      case: 'a target of the other database kind',
      file: () => backup.path,
      target: (): RestoreTarget => (onPostgres() ? { databaseUrl: null, dataDir: join(dir, 'never-made') } : { databaseUrl: 'postgres://127.0.0.1:1/never', dataDir: '' }),
      error: /backup and the target is/,
    },
  ] as { case: string; file: () => string; target?: () => RestoreTarget; error: RegExp }[])('$case', async ({ file, target: other, error }) => {
    const target = other ? other() : await freshTarget()
    await expect(restoreBackup(file(), target, { force: false })).rejects.toThrow(error)
  })

  it('a target that already holds data, unless --force', async () => {
    const target = await freshTarget()
    await restoreBackup(backup.path, target, { force: false })
    await expect(restoreBackup(backup.path, target, { force: false })).rejects.toThrow(/already (holds a database|has tables); add --force/)
    const forced = await restoreBackup(backup.path, target, { force: true })
    if (target.databaseUrl === null) expect(forced.replaced).toMatch(/\.replaced-/)
    const restored = await open(target)
    try {
      const tables = await tableNames(t.db.database)
      expect(await tableDigests(restored, tables)).toEqual(await tableDigests(t.db.database, tables))
    } finally {
      await restored.close()
    }
  }, 120_000)
})

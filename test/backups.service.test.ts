import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backupFileName, listBackups, pruneBackups, type BackupManifest } from '../src/modules/backups/backups.files.js'
import { BACKUP_JOB, backupJob } from '../src/modules/backups/backups.job.js'
import { BackupService } from '../src/modules/backups/backups.service.js'
import { silentJobLogger, type JobContext } from '../src/platform/jobs/jobs.queue.js'
import { longestInterval } from '../src/platform/jobs/cron.js'
import { createTestApp, type TestApp } from './helpers/test-app.js'
import { onPostgres } from './helpers/test-database.js'

// What surrounds a backup: one at a time, retention, the scheduled job, /ready and /metrics.

let t: TestApp
let root: string
let n = 0
const freshDir = () => join(root, `dir-${++n}`)
const service = (dir: string, registry = new Registry(), schedule: string | null = '30 2 * * *') =>
  new BackupService(t.db.database, { schedule, dir, retentionDays: 14, databaseUrl: t.db.url }, registry)
const context = { id: 'job-1', name: BACKUP_JOB, retryCount: 0, signal: new AbortController().signal, logger: silentJobLogger } as JobContext

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agentstore-backup-service-'))
  t = await createTestApp()
}, 60_000)

afterAll(async () => {
  await t?.close()
  rmSync(root, { recursive: true, force: true })
})

/** A finished backup's files as if made `daysAgo` days ago. */
function fakeBackup(dir: string, daysAgo: number): string {
  const at = new Date(Date.now() - daysAgo * 86_400_000)
  const file = backupFileName('postgres', at)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, file), 'x')
  const manifest: BackupManifest = {
    format: 'agentstore-backup/1', file, kind: 'postgres', started_at: at.toISOString(), finished_at: at.toISOString(),
    duration_ms: 5, size_bytes: 1, sha256: '0'.repeat(64), schema_version: 'm', migrations: ['m'], agentstore_version: '0',
  }
  writeFileSync(join(dir, `${file}.json`), JSON.stringify(manifest))
  return file
}

describe('one backup at a time', () => {
  it('refuses a second backup while one runs, in this process or another on the same database', async () => {
    const dir = freshDir()
    const first = service(dir)
    // Another process on the embedded database cannot exist: it holds the data directory alone.
    const results = await Promise.allSettled([first.create(), first.create(), ...(onPostgres() ? [service(dir).create()] : [])])
    const refused = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason as { status: number; message: string })
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    expect(refused.map((error) => error.status)).toEqual(onPostgres() ? [409, 409] : [409])
    expect(refused.map((error) => error.message).join(' ')).toMatch(/already running|Another backup/)
    // Released afterwards: the next one goes.
    await expect(first.create()).resolves.toMatchObject({ kind: t.db.database.kind })
    expect(await listBackups(dir)).toHaveLength(2)
  }, 60_000)
})

describe('retention', () => {
  it('deletes backups older than the retention with their manifests, and always keeps the newest', async () => {
    const dir = freshDir()
    const [old, recent] = [fakeBackup(dir, 20), fakeBackup(dir, 3)]
    expect(await pruneBackups(dir, 14)).toEqual([old])
    expect((await listBackups(dir)).map((m) => m.file)).toEqual([recent])
    expect(await pruneBackups(dir, 1)).toEqual([])
    expect((await listBackups(dir)).map((m) => m.file)).toEqual([recent])
  })

  it('ignores files without a manifest and manifests of other files', async () => {
    const dir = freshDir()
    const kept = fakeBackup(dir, 1)
    writeFileSync(join(dir, backupFileName('pglite', new Date())), 'unfinished')
    writeFileSync(join(dir, 'notes.txt'), 'x')
    expect((await listBackups(dir)).map((m) => m.file)).toEqual([kept])
  })
})

describe('the scheduled job', () => {
  it('makes a backup, and skips its run while another backup holds the lock', async () => {
    const dir = freshDir()
    const backups = service(dir)
    const job = backupJob({ backups, logger: silentJobLogger, schedule: '30 2 * * *' })
    expect(job).toMatchObject({ name: 'backups.create', schedule: '30 2 * * *', policy: 'short' })
    const [made, skipped] = await Promise.all([job.handler({}, context), job.handler({}, context)])
    expect(made).toMatchObject({ file: expect.stringMatching(/^agentstore-/) })
    expect(skipped).toEqual({ skipped: expect.stringMatching(/already running/) })
    expect(backupJob({ backups, logger: silentJobLogger, schedule: null }).schedule).toBeUndefined()
  }, 60_000)

  it('fails (to be retried) when the backup cannot be written, counting the failure', async () => {
    const file = join(root, 'a-file')
    writeFileSync(file, 'not a directory')
    const registry = new Registry()
    const job = backupJob({ backups: service(join(file, 'backups'), registry), logger: silentJobLogger, schedule: null })
    await expect(job.handler({}, context)).rejects.toThrow(/ENOTDIR|not a directory/)
    expect(await registry.getSingleMetricAsString('agentstore_backup_failures_total')).toMatch(/^agentstore_backup_failures_total 1$/m)
  })
})

describe('/ready and /metrics', () => {
  const DAY = 86_400_000

  it('the longest gap of a schedule: a day for a daily one, three days over a weekend for weekdays only', () => {
    expect(longestInterval('30 2 * * *')).toBe(DAY)
    expect(longestInterval('0 3 * * 1-5')).toBe(3 * DAY)
    expect(longestInterval('*/15 * * * *')).toBe(15 * 60_000)
  })

  it('is fine while the newest backup is within twice the schedule, and fails past it', async () => {
    const dir = freshDir()
    fakeBackup(dir, 1.5)
    const backups = service(dir)
    await expect(backups.check()).resolves.toMatch(/^last \d{4}-/)
    await expect(backups.check(Date.now() + DAY)).rejects.toThrow(/last backup 60 h ago; expected within 48 h \(BACKUP_CRON 30 2 \* \* \*\)/)
  })

  it('counts from the start before the first backup, and says so when not scheduled', async () => {
    const backups = service(freshDir())
    await expect(backups.check()).resolves.toBe('none yet')
    await expect(backups.check(Date.now() + 3 * DAY)).rejects.toThrow(/no backup since the start 72 h ago/)
    await expect(service(freshDir(), new Registry(), null).check(Date.now() + 30 * DAY)).resolves.toBe('not scheduled')
  })

  it('shows the newest backup of the directory, whichever process made it', async () => {
    const dir = freshDir()
    const registry = new Registry()
    service(dir, registry)
    // No sample at all while there is no backup (a 0 would read as "just made").
    expect(await registry.metrics()).not.toMatch(/^agentstore_backup_last_\w+\{/m)
    fakeBackup(dir, 2)
    const text = await registry.metrics()
    const age = Number(/^agentstore_backup_last_success_age_seconds\{kind="postgres"\} (\S+)$/m.exec(text)?.[1])
    expect(age).toBeGreaterThan(2 * 86_400 - 60)
    expect(age).toBeLessThan(2 * 86_400 + 60)
    expect(text).toMatch(/^agentstore_backup_last_size_bytes\{kind="postgres"\} 1$/m)
    expect(text).toMatch(/^agentstore_backup_last_duration_seconds\{kind="postgres"\} 0.005$/m)
    expect(text).toMatch(/^agentstore_backup_failures_total 0$/m)
  })
})

import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'kysely'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Database } from '../../platform/db/database.js'
import { migrationStatus } from '../../platform/db/migrate.js'
import { ERR } from '../../platform/errors.js'
import { longestInterval } from '../../platform/jobs/cron.js'
import { packageVersion } from '../../version.js'
import { dumpPglite, dumpPostgres } from './backups.engine.js'
import { backupFileName, listBackups, pruneBackups, sha256File, writeManifest, type BackupManifest, type Progress } from './backups.files.js'

export interface BackupSettings {
  /** Cron (UTC) of scheduled backups, or null when there are none. */
  schedule: string | null
  dir: string
  retentionDays: number
  /** PostgreSQL only: where pg_dump connects. */
  databaseUrl: string | null
}

export interface BackupResult extends BackupManifest {
  path: string
  /** Older backups this one made redundant (BACKUP_RETENTION_DAYS). */
  pruned: string[]
}

interface LastBackup {
  kind: BackupManifest['kind']
  at: number
  duration: number
  size: number
}

// Any constant unique to this service: PostgreSQL advisory locks share one key space per database.
const LOCK_KEY = 0x61677374_6f726501n

/**
 * Backups of the whole database to files in BACKUP_DIR, each with a manifest (size, duration,
 * SHA-256, schema version). One at a time across every process on the database: a PostgreSQL
 * advisory lock, or this process alone on the embedded database.
 */
export class BackupService {
  private running = false
  private readonly startedAt = Date.now()
  private readonly failures: Counter
  private lastSuccess: LastBackup | null = null
  private allowedAge: { at: number; ms: number } | null = null

  constructor(
    private readonly database: Database,
    readonly settings: BackupSettings,
    registry: Registry,
  ) {
    this.failures = new Counter({ name: 'agentstore_backup_failures_total', help: 'Backups that failed in this process.', registers: [registry] })
    const latest = async () => {
      await this.refresh().catch(() => {})
      return this.lastSuccess
    }
    // Labelled by the kind of database, so that while BACKUP_DIR holds no backup there is no sample
    // at all (rather than a 0 that reads as "just made").
    const gauge = (name: string, help: string, read: (last: LastBackup) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['kind'],
        registers: [registry],
        async collect() {
          const last = await latest()
          this.reset()
          if (last) this.set({ kind: last.kind }, read(last))
        },
      })
    gauge('agentstore_backup_last_success_timestamp_seconds', 'When the newest backup in BACKUP_DIR finished (Unix time).', (b) => b.at / 1000)
    gauge('agentstore_backup_last_success_age_seconds', 'Seconds since the newest backup in BACKUP_DIR finished.', (b) => (Date.now() - b.at) / 1000)
    gauge('agentstore_backup_last_duration_seconds', 'How long the newest backup took.', (b) => b.duration / 1000)
    gauge('agentstore_backup_last_size_bytes', 'Size of the newest backup file.', (b) => b.size)
  }

  /** Makes a backup now; refuses (409) while another one runs anywhere on this database. */
  async create(progress?: Progress): Promise<BackupResult> {
    if (this.running) throw ERR.conflict('A backup is already running in this process.')
    this.running = true
    try {
      if (this.database.kind === 'pglite') return await this.dump(progress)
      // Session-level: held on one pinned connection for the whole dump, released whatever happens.
      return await this.database.db.connection().execute(async (connection) => {
        const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${LOCK_KEY}) as locked`.execute(connection)
        if (!rows[0]!.locked) throw ERR.conflict('Another backup of this database is running (on another process).')
        try {
          return await this.dump(progress)
        } finally {
          await sql`select pg_advisory_unlock(${LOCK_KEY})`.execute(connection)
        }
      })
    } catch (error) {
      this.failures.inc()
      throw error
    } finally {
      this.running = false
    }
  }

  private async dump(progress?: Progress): Promise<BackupResult> {
    const started = new Date()
    const kind = this.database.kind
    const file = backupFileName(kind, started)
    const path = join(this.settings.dir, file)
    const partial = `${path}.partial`
    await mkdir(this.settings.dir, { recursive: true, mode: 0o700 })
    const migrations = (await migrationStatus(this.database.db)).filter((migration) => migration.applied).map((migration) => migration.name)
    try {
      if (kind === 'pglite') await dumpPglite(this.database, partial)
      else await dumpPostgres(this.settings.databaseUrl!, partial, progress)
      const { size } = await stat(partial)
      const sha256 = await sha256File(partial)
      await rename(partial, path)
      const finished = new Date()
      const manifest: BackupManifest = {
        format: 'agentstore-backup/1',
        file,
        kind,
        started_at: started.toISOString(),
        finished_at: finished.toISOString(),
        duration_ms: finished.getTime() - started.getTime(),
        size_bytes: size,
        sha256,
        schema_version: migrations.at(-1) ?? '',
        migrations,
        agentstore_version: packageVersion(),
      }
      await writeManifest(path, manifest)
      const pruned = await pruneBackups(this.settings.dir, this.settings.retentionDays)
      this.lastSuccess = { kind, at: finished.getTime(), duration: manifest.duration_ms, size }
      return { ...manifest, path, pruned }
    } catch (error) {
      await rm(partial, { force: true })
      throw error
    }
  }

  list(): Promise<BackupManifest[]> {
    return listBackups(this.settings.dir)
  }

  /** Reads the newest backup of BACKUP_DIR (any replica may have made it). */
  async refresh(): Promise<void> {
    const [newest] = await this.list()
    if (newest) this.lastSuccess = { kind: newest.kind, at: Date.parse(newest.finished_at), duration: newest.duration_ms, size: newest.size_bytes }
  }

  /**
   * For /ready: fails when the newest backup is older than twice the longest gap of the schedule
   * (counted from this process's start while there is none).
   */
  async check(now = Date.now()): Promise<string> {
    if (this.settings.schedule === null) return 'not scheduled'
    await this.refresh()
    const since = this.lastSuccess?.at ?? this.startedAt
    const age = now - since
    const state = this.lastSuccess ? `last ${new Date(this.lastSuccess.at).toISOString()}` : 'none yet'
    // A five-field schedule runs at most once a minute, so twice its gap is at least two minutes.
    if (age >= 0 && age < 120_000) return state
    // Walking the schedule's next runs takes cron-parser tens of ms, too much for every probe; the gap changes slowly.
    if (this.allowedAge === null || Math.abs(now - this.allowedAge.at) > 3_600_000) {
      this.allowedAge = { at: now, ms: 2 * longestInterval(this.settings.schedule, new Date(now)) }
    }
    const allowed = this.allowedAge.ms
    if (age > allowed) {
      const hours = (ms: number) => `${Math.round(ms / 360_000) / 10} h`
      throw new Error(`${this.lastSuccess ? 'last backup' : 'no backup since the start'} ${hours(age)} ago; expected within ${hours(allowed)} (BACKUP_CRON ${this.settings.schedule})`)
    }
    return state
  }
}

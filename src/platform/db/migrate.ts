import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Tables } from './tables.js'
import { type Kysely, type Migration, type MigrationProvider, type MigrationResult, Migrator, sql } from 'kysely'

/** The numbered SQL files of the package's `migrations/` folder (the same path from `src/` and `dist/`). */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'migrations')

/** The migration files, in order. */
async function migrationFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file)).sort()
}

class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = await migrationFiles(this.dir)
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      const text = await readFile(join(this.dir, file), 'utf8')
      migrations[file.replace(/\.sql$/, '')] = {
        // A simple-protocol query runs the whole file; Kysely wraps each migration in a transaction.
        up: async (db) => {
          await sql.raw(text).execute(db)
        },
      }
    }
    return migrations
  }
}

export interface MigrationStatus {
  name: string
  applied: boolean
  appliedAt: Date | null
}

function migratorFor(db: Kysely<Tables>): Migrator {
  return new Migrator({ db, provider: new SqlFileMigrationProvider(MIGRATIONS_DIR) })
}

/**
 * The migrations applied (name → when), read directly: Kysely's Migrator first introspects every
 * table of the database, which took most of a second of each start on PGlite with nothing to apply.
 */
async function appliedMigrations(db: Kysely<Tables>): Promise<Map<string, Date>> {
  const { rows } = await sql<{ present: boolean }>`select to_regclass('kysely_migration') is not null as present`.execute(db)
  if (!rows[0]?.present) return new Map()
  const applied = await sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration`.execute(db)
  return new Map(applied.rows.map((row) => [row.name, new Date(row.timestamp)]))
}

/** Applies every pending migration; returns the names applied now. */
export async function migrateToLatest(db: Kysely<Tables>): Promise<string[]> {
  const [files, applied] = await Promise.all([migrationFiles(MIGRATIONS_DIR), appliedMigrations(db)])
  // Exactly the files applied: nothing to do. Anything else (pending, or applied by a newer version)
  // goes through the Migrator, which takes its lock and reports a history it does not know.
  if (files.length === applied.size && files.every((file) => applied.has(file.replace(/\.sql$/, '')))) return []
  const { error, results } = await migratorFor(db).migrateToLatest()
  if (error) {
    const failed = results?.find((result: MigrationResult) => result.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`, { cause: error })
  }
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName)
}

export async function migrationStatus(db: Kysely<Tables>): Promise<MigrationStatus[]> {
  const [files, applied] = await Promise.all([migrationFiles(MIGRATIONS_DIR), appliedMigrations(db)])
  return files.map((file) => {
    const name = file.replace(/\.sql$/, '')
    const appliedAt = applied.get(name) ?? null
    return { name, applied: appliedAt !== null, appliedAt }
  })
}
